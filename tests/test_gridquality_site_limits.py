"""Grid quality as an engineer signs it (issue 14): hand cases to 1e-6 of every new quantity, site-defined limits
invariant across strategies, 1-phase vehicles on 3-phase chargers, FCR activation as traded."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from evfleet.gridquality import models
from evfleet.gridquality.assess import assess, tariff_contract
from evfleet.gridquality.site import SiteElectrical
from evfleet.physics import droop_activation
from evfleet.scenario import scenario_from_dict
from evfleet.simulation.simulate import simulate
from factories import scenario_dict
from test_power_quality import make_result

A = complex(-0.5, math.sqrt(3) / 2)


# --- sequence components and voltage unbalance -------------------------------------------------------------------


def test_sequence_components_of_known_currents() -> None:
    """Ia = 100∠0°, Ib = 0, Ic = 0: I0 = I1 = I2 = 100/3; a balanced set has only I1."""
    i0, i1, i2 = models.sequence_components(np.array([[100.0 + 0j], [0j], [0j]]))
    for x in (i0, i1, i2):
        assert x[0] == pytest.approx(100.0 / 3.0, abs=1e-6)
    bal = np.array([[50.0 + 0j], [50.0 * A**2], [50.0 * A]])
    i0, i1, i2 = models.sequence_components(bal)
    assert abs(i0[0]) == pytest.approx(0.0, abs=1e-9) and abs(i2[0]) == pytest.approx(0.0, abs=1e-9)
    assert i1[0] == pytest.approx(50.0, abs=1e-6)
    # (Ia, Ib, Ic) = (10, 20∠-120°, 0): I2 = (10 + a²·a²·20)/3 = (10 + 20 a)/3 = (0 + j 17.3205)/3
    i0, i1, i2 = models.sequence_components(np.array([[10.0 + 0j], [20.0 * A**2], [0j]]))
    assert i2[0] == pytest.approx(complex(0.0, 20 * math.sqrt(3) / 2 / 3), abs=1e-6)
    assert i1[0] == pytest.approx(10.0, abs=1e-6)


def test_phase_phasors_and_vuf_by_hand() -> None:
    """One 23 kW single-phase load on L1 at 230 V (100 A): I1 = I2 = 100/3 A; with Z = 0.01 + j0.03 Ω,
    VUF = |Z|·33.333 / |230 - Z·33.333| = 1.054093 / 229.668844 = 0.458962 %."""
    ph = models.phase_current_phasors(np.array([[23.0], [0.0], [0.0]]), np.zeros((3, 1)), 230.0)
    assert ph[0, 0] == pytest.approx(100.0, abs=1e-9) and abs(ph[1, 0]) == pytest.approx(0.0, abs=1e-12)
    _, i1, i2 = models.sequence_components(ph)
    z = complex(0.01, 0.03)
    want = 100 * abs(z) * (100 / 3) / abs(230 - z * 100 / 3)
    got = models.voltage_unbalance_factor_pct(i1, i2, 0.01, 0.03, 230.0)
    assert got[0] == pytest.approx(want, abs=1e-6)
    assert want == pytest.approx(0.458962, abs=1e-6)
    # a load on L2 is rotated by -120°: I_L2 = 100∠-120° (unity PF)
    ph2 = models.phase_current_phasors(np.array([[0.0], [23.0], [0.0]]), np.zeros((3, 1)), 230.0)
    assert ph2[1, 0] == pytest.approx(100.0 * A**2, abs=1e-9)


def test_neutral_current_of_balanced_third_harmonics() -> None:
    """Balanced fundamentals cancel in the neutral; balanced 3rd harmonics add: I_N = 3 x phase h3."""
    bal = np.array([[50.0 + 0j], [50.0 * A**2], [50.0 * A]])
    h = np.arange(2, 51)
    ih = np.zeros((3, 1, h.size))
    ih[:, 0, 1] = 7.0  # h3 of 7 A on each phase
    ih[:, 0, 3] = 4.0  # h5 (positive/negative sequence: cancels)
    assert models.neutral_current_a(bal, ih, h)[0] == pytest.approx(21.0, abs=1e-6)
    ih[:, 0, 7] = 2.0  # h9, also triplen
    assert models.neutral_current_a(bal, ih, h)[0] == pytest.approx(math.hypot(21.0, 6.0), abs=1e-6)


# --- capacitor bank, billed cos φ --------------------------------------------------------------------------------


def test_capacitor_bank_steps_by_hand() -> None:
    q = np.array([-10.0, 0.0, 49.9, 50.0, 250.0, 800.0])
    n = models.capacitor_bank_steps(q, 50.0, 5)
    assert n.tolist() == [0, 0, 0, 1, 5, 5]
    assert (q - n * 50.0).tolist() == pytest.approx([-10.0, 0.0, 49.9, 0.0, 0.0, 550.0], abs=1e-6)
    assert models.capacitor_bank_steps(q, 0.0, 5).tolist() == [0] * 6


def test_billed_cos_phi_by_hand() -> None:
    """kWh = (100 + 300)·0.25 = 100, kvarh = (75 + 0)·0.25 = 18.75 (capacitive -50 not counted)."""
    cos, kwh, kvarh = models.billed_cos_phi(np.array([100.0, 300.0, -20.0]), np.array([75.0, -50.0, 0.0]), 0.25)
    assert (kwh, kvarh) == pytest.approx((100.0, 18.75), abs=1e-9)
    assert cos == pytest.approx(100.0 / math.hypot(100.0, 18.75), abs=1e-6)
    assert models.billed_cos_phi(np.zeros(2), np.zeros(2), 0.25)[0] == 1.0


def test_capacitor_bank_in_the_assessment_and_the_contract_threshold() -> None:
    """A 100 kW base load at PF 0.8 (75 kvar): billed cos φ 0.8; a 2 x 30 kvar bank leaves 15 kvar."""
    d = scenario_dict(n_steps=4, step_minutes=15, vehicles=[{"max_charge_kw": 11.0}], base_load_kw=[100.0] * 4,
                      import_limit_kw=500.0)  # fmt: skip
    sc = scenario_from_dict(d)
    res = make_result(sc, np.zeros((1, 4)))
    plain = assess(res, SiteElectrical(base_load_pf=0.8, transformer_kva=400.0))
    assert plain.summary["pq_cos_phi_billed"] == pytest.approx(0.8, abs=1e-6)
    assert plain.summary["pq_cos_phi_threshold"] == 0.8
    bank = assess(res, SiteElectrical(base_load_pf=0.8, transformer_kva=400.0, capacitor_bank_step_kvar=30.0,
                                      capacitor_bank_steps=2))  # fmt: skip
    assert bank.per_step["capacitor_steps"].tolist() == [2, 2, 2, 2]
    assert bank.per_step["q_kvar"].to_numpy() == pytest.approx(np.full(4, 15.0), abs=1e-6)
    assert bank.summary["pq_cos_phi_billed"] == pytest.approx(100.0 / math.hypot(100.0, 15.0), abs=1e-6)
    assert bank.summary["pq_cos_phi_billed_no_bank"] == pytest.approx(0.8, abs=1e-6)
    comp = bank.compliance.set_index("indicator")
    assert comp.loc["billed cos φ", "status"] == "pass"
    # the tariff's threshold when the scenario carries one (evfleet.tariff/2), else 0.8
    d["tariff"] = {"id": "x", "subscribed_power_kva": 250.0, "cos_phi_threshold": 0.9}
    sc2 = scenario_from_dict(d)
    assert tariff_contract(sc2) == (250.0, 0.9)
    strict = assess(make_result(sc2, np.zeros((1, 4))), SiteElectrical(base_load_pf=0.8, transformer_kva=400.0))
    row = strict.compliance.set_index("indicator").loc["billed cos φ"]
    assert row["limit"] == 0.9 and row["status"] == "fail" and "tariff" in row["clause"]
    assert strict.summary["pq_max_demand_kva"] == 250.0


# --- LV cables ----------------------------------------------------------------------------------------------------


def test_cable_voltage_drop_by_hand() -> None:
    """100 m of 95 mm² Cu: R = 0.0225·100/95 = 23.684 mΩ, X = 8 mΩ; balanced 30 kW + 10 kvar per phase at 230 V:
    ΔU = (R·30e3 + X·10e3)/230² = 1.494379 %; no neutral current."""
    r, x = models.cable_impedance_ohm(100.0, 95.0, 0.0225, 0.08e-3)
    assert (r, x) == pytest.approx((0.0225 * 100 / 95, 0.008), abs=1e-12)
    drop = models.cable_voltage_drop_pct(np.full((3, 1), 30.0), np.full((3, 1), 10.0), np.zeros(1), r, x, 230.0)
    want = 100 * (r * 30e3 + x * 10e3) / 230.0**2
    assert drop[:, 0] == pytest.approx([want] * 3, abs=1e-6)
    assert want == pytest.approx(1.494379, abs=1e-6)
    # a single-phase 7 kW on L1 (30.4348 A, neutral the same): line + neutral drop = 2 R P / V²
    one = models.cable_voltage_drop_pct(np.array([[7.0], [0.0], [0.0]]), np.zeros((3, 1)), np.array([7e3 / 230]), r,
                                        x, 230.0)  # fmt: skip
    assert one[0, 0] == pytest.approx(200 * r * 7e3 / 230.0**2, abs=1e-6)


def test_cable_drop_in_the_assessment() -> None:
    """One 3-phase 22 kW session on one feeder of 150 m x 16 mm² Al: drop = R·P/3 / V² with R = 0.036·150/16."""
    d = scenario_dict(n_steps=1, step_minutes=15, vehicles=[{"max_charge_kw": 22.0}], import_limit_kw=100.0)
    d["vehicles"]["charger"] = ["ac22"]
    d["vehicles"]["onboard_phases"] = [3]
    sc = scenario_from_dict(d)
    el = SiteElectrical(transformer_kva=100.0, feeders=({"length_m": 150.0, "cross_section_mm2": 16.0,
                                                         "material": "al"},))  # fmt: skip
    rep = assess(make_result(sc, np.array([[22.0]])), el)
    v_ph = 400 / math.sqrt(3)
    r, x = 0.036 * 150 / 16, 0.08e-3 * 150
    q = rep.per_step["q_kvar"].iloc[0]  # the charger's own reactive power (base load 0)
    want = 100 * (r * 22e3 / 3 + x * q * 1e3 / 3) / v_ph**2
    assert rep.per_step["cable_drop_pct"].iloc[0] == pytest.approx(want, abs=1e-6)
    assert rep.compliance.set_index("indicator").loc["LV cable voltage drop max [%]", "limit"] == 5.0
    with pytest.raises(ValueError, match="feeders"):
        SiteElectrical(feeders=({"length_m": 10, "colour": "red"},))


# --- phases ------------------------------------------------------------------------------------------------------


def _single_vehicle_scenario(onboard: list[int], chargers: list[str]) -> Any:
    d = scenario_dict(n_steps=1, step_minutes=15, vehicles=[{"max_charge_kw": 7.0}] * len(onboard),
                      import_limit_kw=200.0)  # fmt: skip
    d["vehicles"]["charger"] = chargers
    d["vehicles"]["onboard_phases"] = onboard
    return scenario_from_dict(d)


def test_single_phase_vehicle_on_three_phase_charger_loads_one_phase() -> None:
    el = SiteElectrical(transformer_kva=250.0)
    one = assess(make_result(_single_vehicle_scenario([1], ["ac22"]), np.array([[7.0]])), el).per_step.iloc[0]
    three = assess(make_result(_single_vehicle_scenario([3], ["ac22"]), np.array([[7.0]])), el).per_step.iloc[0]
    assert one["i_l1_a"] > 0 and one["i_l2_a"] == pytest.approx(0.0, abs=1e-9) and one["i_l3_a"] == 0.0
    assert three["i_l1_a"] == pytest.approx(three["i_l2_a"]) == pytest.approx(three["i_l3_a"])
    assert one["vuf_pct"] > 0 and three["vuf_pct"] == pytest.approx(0.0, abs=1e-9)
    # three such vehicles on three 3-phase chargers: the default rotation wires their L1 to L1, L2, L3
    rot = assess(make_result(_single_vehicle_scenario([1, 1, 1], ["ac22"] * 3), np.full((3, 1), 7.0)), el)
    row = rot.per_step.iloc[0]
    assert row["i_l1_a"] == pytest.approx(row["i_l2_a"]) == pytest.approx(row["i_l3_a"])
    flat = assess(make_result(_single_vehicle_scenario([1, 1, 1], ["ac22"] * 3), np.full((3, 1), 7.0)),
                  el.with_changes(three_phase_rotation=False)).per_step.iloc[0]  # fmt: skip
    assert flat["i_l2_a"] == pytest.approx(0.0, abs=1e-9) and flat["i_l1_a"] == pytest.approx(3 * one["i_l1_a"])


def test_onboard_phases_from_the_catalogue() -> None:
    from evfleet.gridquality.layout import onboard_phases

    d = scenario_dict(n_steps=1, step_minutes=15, vehicles=[{"max_charge_kw": 3.6}, {"max_charge_kw": 11.0}],
                      import_limit_kw=100.0)  # fmt: skip
    d["vehicles"]["model"] = ["Nissan Leaf", "Tesla Model 3"]
    ph, src = onboard_phases(scenario_from_dict(d))
    assert ph.tolist() == [1, 3] and "catalogue" in src


# --- site limits invariant across strategies ---------------------------------------------------------------------


def test_limits_are_the_sites_under_every_strategy() -> None:
    from evfleet.inputs.generate import generate_scenario

    sc = generate_scenario(vehicles=40, seed=7, start="2026-06-15")
    keys = ("pq_i_l_a", "pq_isc_il_ratio", "pq_tdd_pct_limit", "pq_max_demand_kva", "pq_ieee519_edition")
    seen = {}
    for strategy in ("uncontrolled", "peak_shaving", "price_optimization", "valley_filling"):
        rep = assess(simulate(sc, strategy))
        seen[strategy] = (*(rep.summary[k] for k in keys), tuple(rep.harmonic_limits_pct))
        assert "IEEE 519-2022" in rep.compliance.set_index("indicator").loc["TDD p95 [%]", "clause"]
    assert len(set(seen.values())) == 1, seen
    rep = assess(simulate(sc, "uncontrolled"))
    # MV PCC: I_L = S / (sqrt(3) 20 kV) with S the tariff contract's subscribed power (generated scenarios carry it)
    s_kva = rep.summary["pq_max_demand_kva"]
    assert s_kva == pytest.approx(sc.extra["tariff"]["subscribed_power_kva"])
    assert rep.summary["pq_i_l_a"] == pytest.approx(s_kva / (math.sqrt(3) * 20.0), rel=1e-12)
    assert rep.summary["pq_isc_il_ratio"] == pytest.approx(250e3 / s_kva, rel=1e-9)


# --- FCR activation ----------------------------------------------------------------------------------------------


FCR_CASES = [(5, 0.0), (-5, 0.0), (10, 0.0), (-10, 0.0), (100, 0.5), (-100, -0.5), (200, 1.0), (-200, -1.0),
             (300, 1.0), (-300, -1.0), (11, 0.055)]  # fmt: skip


@pytest.mark.parametrize(("mhz", "want"), FCR_CASES)
def test_fcr_activation_as_traded(mhz: float, want: float) -> None:
    """Δf / 200 mHz, 0 inside the ±10 mHz deadband (not shifted), saturated beyond ±200 mHz."""
    assert float(droop_activation(50.0 + mhz / 1000.0)) == pytest.approx(want, abs=1e-6)


def test_phases_follow_the_physical_charger() -> None:
    """Two sessions one after the other share the default layout's first ac7.4 charger (wired L1): both load L1;
    a third, overlapping, gets the second charger (L2). Given ``site.chargers`` with a phase are obeyed."""
    d = scenario_dict(n_steps=4, step_minutes=15, vehicles=[{"max_charge_kw": 7.4}] * 3, import_limit_kw=100.0)
    d["vehicles"]["arrival_step"] = [0, 2, 0]
    d["vehicles"]["departure_step"] = [2, 4, 4]
    d["vehicles"]["charger"] = ["ac7.4"] * 3
    sc = scenario_from_dict(d)
    el = SiteElectrical(transformer_kva=100.0)
    p = np.array([[7.4, 7.4, 0, 0], [0, 0, 7.4, 7.4], [3.0, 3.0, 3.0, 3.0]])
    ps = assess(make_result(sc, p), el).per_step
    assert (ps["i_l1_a"] > 0).all() and (ps["i_l2_a"] > 0).all() and (ps["i_l3_a"] == 0).all()
    assert ps["i_l1_a"].iloc[0] == pytest.approx(ps["i_l1_a"].iloc[3])  # the second session on the same charger
    d["site"]["chargers"] = [{"charger_id": "A", "type": "ac7.4", "phase": "L3"},
                             {"charger_id": "B", "type": "ac7.4", "phase": "L3"}]  # fmt: skip
    ps = assess(make_result(scenario_from_dict(d), p), el).per_step
    assert (ps["i_l1_a"] == 0).all() and (ps["i_l2_a"] == 0).all() and (ps["i_l3_a"] > 0).all()


def test_default_depot_raises_no_alarm_from_a_metric_artefact() -> None:
    """The default depot (500 vehicles, uncontrolled): no warning or critical alert; the instantaneous PF and the
    current deviation are information; every alert indicator names the clause of its limit."""
    from evfleet.gridquality.alerts import ALERT_INDICATORS
    from evfleet.inputs.generate import generate_scenario

    rep = assess(simulate(generate_scenario(seed=0, start="2026-06-15"), "uncontrolled"))
    assert not rep.events["state"].isin(["warning", "critical"]).any(), rep.events
    assert set(rep.events["indicator"]) <= set(ALERT_INDICATORS)
    assert set(rep.per_step["pq_state"]) <= {"optimal", "good"}
    comp = rep.compliance.set_index("indicator")
    assert comp.loc["power factor min", "status"] == "info" and comp.loc["power factor min", "value"] < 0.6
    assert comp.loc["billed cos φ", "status"] == "pass" and comp.loc["billed cos φ", "value"] > 0.95
    assert comp.loc["current unbalance max [%]", "status"] == "info"
    assert rep.summary["pq_compliant"] and rep.summary["pq_pcc"] == "mv"
    assert rep.summary["pq_generation_note"]  # PV 200 kWp on this depot: above 10 % of the average load
    assert rep.alert_clauses is not None and all(rep.alert_clauses[k] for k in ALERT_INDICATORS)
    assert "EN 50160" in rep.alert_clauses["vuf_pct"] and "IEEE 519-2022" in rep.alert_clauses["tdd_pct"]
