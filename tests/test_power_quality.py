"""Grid quality: hand-calculated cases, IEEE 519 tables, summation law, unbalance, transformer, voltage, events."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evfleet.gridquality.alerts import Thresholds, classify, detect_events, load_thresholds
from evfleet.gridquality.assess import PER_STEP_COLUMNS, assess
from evfleet.gridquality.models import (
    nema_unbalance_pct,
    relative_ageing_rate,
    sum_harmonic,
    summation_exponent,
    transformer_thermal,
    voltage_deviation_pct,
)
from evfleet.gridquality.site import (
    ChargerType,
    SiteElectrical,
    load_ieee519_limits,
    load_site_electrical,
    load_spectra,
)
from evfleet.scenario import scenario_from_dict
from evfleet.simulation.simulate import RunResult, SimulationOptions
from factories import scenario_dict

V_PH = 230.0  # chosen so that a 6.9 kW single-phase charger draws exactly 30 A
LV_KV = V_PH * math.sqrt(3) / 1000.0
I_L_HAND = 30.0  # [A] the maximum demand current of the hand sites (a site input, never the run's)


def make_result(sc: Any, power_kw: np.ndarray, strategy: str = "test") -> RunResult:
    n, t = power_kw.shape
    return RunResult(
        scenario=sc,
        strategy=strategy,
        options=SimulationOptions(),
        power_kw=np.asarray(power_kw, dtype=float),
        soc=np.zeros((n, t + 1)),
        site_kw=sc.base_load_kw - sc.pv_kw + power_kw.sum(axis=0),
        requested_clip_count=0,
        requested_clip_max_kw=0.0,
        curtailed_kwh=np.zeros(n),
        site_over_limit_steps=0,
        unmet_kwh=np.zeros(n),
        unmet_reason=np.full(n, "", dtype=object),
        runtime_s=0.0,
    )


@pytest.fixture
def hand_spectra(tmp_path: Path) -> str:
    """A spectrum file with round numbers: h3 10 %, h7 5 %, h13 4 %, unity PF, no loading dependence."""
    zero = {"spectrum_pct": {}, "source": "assumption: test"}
    data = {
        "models": {
            "hand": {"spectrum_pct": {"3": 10.0, "7": 5.0, "13": 4.0}, "loading_exponent": 0.0,
                     "dpf_loading": [0.0, 1.0], "dpf": [1.0, 1.0], "q_sign": 1, "source": "assumption: test"},
            "hand_low": {"spectrum_pct": {"3": 10.0}, "loading_exponent": 1.0, "min_loading": 0.1,
                         "dpf_loading": [0.0, 0.5, 1.0], "dpf": [0.8, 0.8, 1.0], "q_sign": -1,
                         "source": "assumption: test"},
            "base_load": zero,
            "pv_inverter": zero,
        }
    }  # fmt: skip
    path = tmp_path / "spectra.json"
    path.write_text(json.dumps(data))
    return str(path)


def hand_site(spectra: str, **kw: Any) -> SiteElectrical:
    types = {
        "c1": ChargerType(6.9, 1, "AC", "hand"),
        "c3": ChargerType(20.7, 3, "AC", "hand"),
        "low": ChargerType(6.9, 1, "AC", "hand_low"),
    }
    kw.setdefault("pcc_side", "lv")
    kw.setdefault("max_demand_kva", I_L_HAND * 3 * V_PH / 1e3)  # I_L = 30 A: one 6.9 kW single-phase charger
    return SiteElectrical(lv_kv=LV_KV, transformer_kva=1000.0, charger_types=types, spectra_file=spectra, **kw)


def scenario_with(chargers: list[str], n_steps: int = 2, base: float = 0.0, phases: list[int] | None = None) -> Any:
    d = scenario_dict(n_steps=n_steps, step_minutes=15, vehicles=[{"max_charge_kw": 6.9} for _ in chargers],
                      base_load_kw=[base] * n_steps, import_limit_kw=500.0)  # fmt: skip
    d["vehicles"]["charger"] = chargers
    if phases is not None:
        d["vehicles"]["phase"] = phases
    for i, c in enumerate(chargers):
        if c == "c3":
            d["vehicles"]["max_charge_kw"][i] = 20.7
    return scenario_from_dict(d)


def impedance(el: SiteElectrical) -> tuple[float, float]:
    """R, X [Ω] by hand: MV network plus transformer, referred to the LV side."""
    v2 = (el.lv_kv * 1e3) ** 2
    z_mv = v2 / (el.mv_ssc_mva * 1e6)
    z_t = el.transformer_uk_pct / 100 * v2 / (el.transformer_kva * 1e3)
    r = z_mv / math.sqrt(1 + el.mv_x_r**2) + z_t / math.sqrt(1 + el.transformer_x_r**2)
    x = z_mv * el.mv_x_r / math.sqrt(1 + el.mv_x_r**2) + z_t * el.transformer_x_r / math.sqrt(1 + el.transformer_x_r**2)
    return r, x


# --- hand-calculated cases ----------------------------------------------------------------------------------------


def test_one_charger_hand_calculation(hand_spectra: str) -> None:
    el = hand_site(hand_spectra)
    sc = scenario_with(["c1"], phases=[1])
    rep = assess(make_result(sc, np.array([[6.9, 6.9]])), el)
    row = rep.per_step.iloc[0]
    i1 = 30.0  # 6900 W / 230 V
    ih = {3: 3.0, 7: 1.5, 13: 1.2}
    tdd = math.sqrt(sum(v**2 for v in ih.values())) / i1 * 100
    assert row["i_l1_a"] == pytest.approx(i1, abs=1e-6)
    assert row["i_l2_a"] == pytest.approx(0.0, abs=1e-9)
    assert row["tdd_pct"] == pytest.approx(tdd, abs=1e-6)
    assert row["thd_i_pct"] == pytest.approx(tdd, abs=1e-6)
    r, x = impedance(el)
    thd_v = math.sqrt(sum((i * math.hypot(r, h * x)) ** 2 for h, i in ih.items())) / V_PH * 100
    assert row["thd_v_pct"] == pytest.approx(thd_v, abs=1e-6)
    assert row["unbalance_pct"] == pytest.approx(200.0, abs=1e-6)  # (30, 0, 0): max dev 20 / mean 10
    assert row["pf"] == pytest.approx(1.0, abs=1e-9)
    assert row["q_kvar"] == pytest.approx(0.0, abs=1e-9)
    assert row["voltage_deviation_pct"] == pytest.approx(-r * 6900 / V_PH**2 * 100, abs=1e-6)
    i_rated = 1000e3 / (3 * V_PH)
    assert row["transformer_loading_pct"] == pytest.approx(100 * i1 / i_rated, abs=1e-6)
    spec = rep.spectrum.set_index("h")
    assert spec.loc[3, "current_pct_of_il"] == pytest.approx(10.0, abs=1e-6)
    assert spec.loc[7, "current_pct_of_il"] == pytest.approx(5.0, abs=1e-6)
    assert spec.loc[5, "current_pct_of_il"] == pytest.approx(0.0, abs=1e-12)
    # I_SC / I_L and the Table 2 limits chosen for it
    isc = V_PH / math.hypot(r, x)
    assert rep.summary["pq_isc_il_ratio"] == pytest.approx(isc / i1, rel=1e-9)
    lim = load_ieee519_limits()
    assert rep.summary["pq_tdd_pct_limit"] == lim.tdd_limit_pct(isc / i1)


def test_three_chargers_on_one_phase(hand_spectra: str) -> None:
    el = hand_site(hand_spectra, phase_assignment="single", max_demand_kva=90.0 * 3 * V_PH / 1e3)
    sc = scenario_with(["c1", "c1", "c1"])
    rep = assess(make_result(sc, np.full((3, 2), 6.9)), el)
    row = rep.per_step.iloc[0]
    # IEC 61000-3-6: h3 alpha 1 (linear), h7 alpha 1.4, h13 alpha 2
    ih = {3: 3 * 3.0, 7: 1.5 * 3 ** (1 / 1.4), 13: 1.2 * math.sqrt(3)}
    i1 = 90.0
    assert row["i_l1_a"] == pytest.approx(i1, abs=1e-6)
    assert row["tdd_pct"] == pytest.approx(math.sqrt(sum(v**2 for v in ih.values())) / i1 * 100, abs=1e-6)
    assert row["unbalance_pct"] == pytest.approx(200.0, abs=1e-6)
    spec = rep.spectrum.set_index("h")
    assert spec.loc[7, "current_a"] == pytest.approx(ih[7], abs=1e-6)
    assert spec.loc[13, "current_a"] == pytest.approx(ih[13], abs=1e-6)


def test_balanced_three_phase_allocations(hand_spectra: str) -> None:
    el = hand_site(hand_spectra)  # round robin puts the three single-phase chargers on L1, L2, L3
    one = assess(make_result(scenario_with(["c1"], phases=[1]), np.array([[6.9, 6.9]])), el)
    three = assess(make_result(scenario_with(["c1", "c1", "c1"]), np.full((3, 2), 6.9)), el)
    row = three.per_step.iloc[0]
    assert row["unbalance_pct"] == pytest.approx(0.0, abs=1e-9)
    for col in ("i_l1_a", "i_l2_a", "i_l3_a"):
        assert row[col] == pytest.approx(30.0, abs=1e-6)
    assert row["tdd_pct"] == pytest.approx(one.per_step.iloc[0]["tdd_pct"], abs=1e-6)
    # a three-phase charger of 3 x 6.9 kW draws the same 30 A per phase, balanced
    tp = assess(make_result(scenario_with(["c3"]), np.full((1, 2), 20.7)), el).per_step.iloc[0]
    assert tp["unbalance_pct"] == pytest.approx(0.0, abs=1e-9)
    assert tp["i_l3_a"] == pytest.approx(30.0, abs=1e-6)
    assert tp["tdd_pct"] == pytest.approx(one.per_step.iloc[0]["tdd_pct"], abs=1e-6)
    # base load adds to every phase: (30 + b, b, b) -> 200·c/(c + b) with c = 10 A, b per phase
    el1 = hand_site(hand_spectra, base_load_pf=1.0)
    base = assess(make_result(scenario_with(["c1"], base=6.9 * 3, phases=[2]), np.array([[6.9, 6.9]])), el1)
    assert base.per_step.iloc[0]["unbalance_pct"] == pytest.approx(200 * 10 / (10 + 30), abs=1e-6)


def test_tdd_equals_thd_at_full_load_and_rises_at_low_load(hand_spectra: str) -> None:
    el = hand_site(hand_spectra)
    sc = scenario_with(["low"], phases=[1])
    rep = assess(make_result(sc, np.array([[6.9, 0.69 * 2]])), el)  # full load, then 20 % load
    full, part = rep.per_step.iloc[0], rep.per_step.iloc[1]
    assert full["tdd_pct"] == pytest.approx(full["thd_i_pct"], abs=1e-9)
    # 20 % loading: spectrum x (0.2)^-1 = 50 % of the part-load fundamental
    assert part["thd_i_pct"] == pytest.approx(50.0, abs=1e-6)
    # fundamental at 20 %: S = P / dpf with dpf 0.8 -> I1 = 1380/0.8/230 = 7.5 A; TDD = 0.5·7.5/30
    assert part["tdd_pct"] == pytest.approx(100 * 0.5 * 7.5 / 30.0, abs=1e-6)
    # capacitive (q_sign -1) reactive power at part load: Q = -P·tan(acos 0.8)
    assert part["q_kvar"] == pytest.approx(-1.38 * 0.75, abs=1e-9)
    assert part["pf"] == pytest.approx(0.8, abs=1e-9)


def test_aggregation_reduces_distortion_for_alpha_above_one(hand_spectra: str) -> None:
    n = 16
    el = hand_site(hand_spectra, phase_assignment="single", max_demand_kva=n * 30.0 * 3 * V_PH / 1e3)
    rep = assess(make_result(scenario_with(["c1"] * n), np.full((n, 2), 6.9)), el)
    spec = rep.spectrum.set_index("h")
    # in % of I_L = n·30 A: h3 (alpha 1) unchanged, h7 reduced by n^(1/1.4 - 1), h13 by n^(-1/2)
    assert spec.loc[3, "current_pct_of_il"] == pytest.approx(10.0, abs=1e-6)
    assert spec.loc[7, "current_pct_of_il"] == pytest.approx(5.0 * n ** (1 / 1.4 - 1), abs=1e-6)
    assert spec.loc[13, "current_pct_of_il"] == pytest.approx(4.0 * n**-0.5, abs=1e-6)
    single = assess(make_result(scenario_with(["c1"]), np.full((1, 2), 6.9)), hand_site(hand_spectra))
    assert rep.summary["pq_tdd_pct_max"] < single.summary["pq_tdd_pct_max"]
    # the correlated bound (α = 1): every order is n times one charger's, 10 / 5 / 4 % of I_L
    corr = assess(make_result(scenario_with(["c1"] * n), np.full((n, 2), 6.9)),
                  el.with_changes(harmonic_summation="correlated")).spectrum.set_index("h")  # fmt: skip
    assert corr.loc[7, "current_pct_of_il"] == pytest.approx(5.0, abs=1e-6)
    assert corr.loc[13, "current_pct_of_il"] == pytest.approx(4.0, abs=1e-6)
    tdd_a1 = math.sqrt(10.0**2 + 5.0**2 + 4.0**2)
    assert rep.per_step["tdd_alpha1_pct"].iloc[0] == pytest.approx(tdd_a1, abs=1e-6)
    assert rep.summary["pq_tdd_alpha1_pct_p95"] == pytest.approx(tdd_a1, abs=1e-6)
    comp = rep.compliance.set_index("indicator")
    assert "summation: IEC TR 61000-3-6" in comp.loc["TDD p95 [%]", "clause"]
    assert comp.loc["TDD p95, other summation [%]", "status"] == "info"


def test_default_spectra_aggregate_below_single_charger() -> None:
    el = SiteElectrical(phase_assignment="single", transformer_kva=400.0)
    for n in (1, 4, 32):
        d = scenario_dict(n_steps=1, step_minutes=15, vehicles=[{"max_charge_kw": 11.0}] * n, import_limit_kw=500)
        d["vehicles"]["charger"] = ["ac11"] * n
        rep = assess(make_result(scenario_from_dict(d), np.full((n, 1), 11.0)), el)
        if n == 1:
            first = rep.per_step["thd_i_pct"].iloc[0]
            assert first == pytest.approx(el.spectra()["ac_3ph"].thd_full_load_pct, rel=1e-9)
        else:
            assert rep.per_step["thd_i_pct"].iloc[0] < first


def test_summation_helpers() -> None:
    assert summation_exponent(np.array([2, 4, 5, 10, 11, 50])).tolist() == [1.0, 1.0, 1.4, 1.4, 2.0, 2.0]
    assert sum_harmonic(np.array([3.0, 4.0]), 2.0) == pytest.approx(5.0)
    assert sum_harmonic(np.array([3.0, 4.0]), 1.0) == pytest.approx(7.0)


# --- IEEE 519 tables ------------------------------------------------------------------------------------------------

# IEEE 519-2014 Table 2 as in docs (odd harmonics % of I_L, bands h<11, 11-17, 17-23, 23-35, 35-50, then TDD)
TABLE2 = {
    10.0: [4.0, 2.0, 1.5, 0.6, 0.3, 5.0],
    35.0: [7.0, 3.5, 2.5, 1.0, 0.5, 8.0],
    75.0: [10.0, 4.5, 4.0, 1.5, 0.7, 12.0],
    500.0: [12.0, 5.5, 5.0, 2.0, 1.0, 15.0],
    2000.0: [15.0, 7.0, 6.0, 2.5, 1.4, 20.0],
}


@pytest.mark.parametrize("edition", ["2014", "2022"])
@pytest.mark.parametrize("ratio", list(TABLE2))
def test_ieee519_table2(ratio: float, edition: str) -> None:
    lim = load_ieee519_limits(edition)
    assert lim.edition == edition
    row = TABLE2[ratio]
    h = np.array([3, 9, 11, 15, 17, 21, 23, 33, 35, 49])
    expected = [row[0], row[0], row[1], row[1], row[2], row[2], row[3], row[3], row[4], row[4]]
    assert lim.current_limits_pct(ratio, h).tolist() == expected
    even_h = np.array([2, 4, 6, 8, 10, 12, 18, 24, 36, 50])
    odd_of = [row[0]] * 5 + [row[1], row[2], row[3], row[4], row[4]]
    # 2014: 25 % of the odd limit; 2022: 50 % for h <= 6, 100 % above
    factor = [0.25] * 10 if edition == "2014" else [0.5, 0.5, 0.5] + [1.0] * 7
    even = lim.current_limits_pct(ratio, even_h)
    np.testing.assert_allclose(even, [f * x for f, x in zip(factor, odd_of, strict=True)], rtol=0, atol=1e-6)
    assert lim.tdd_limit_pct(ratio) == row[5]


def test_ieee519_2022_even_limits_by_hand() -> None:
    """IEEE 519-2022 at I_SC/I_L = 75 (odd h < 11: 10 %, 11-17: 4.5 %): h2, h4, h6 = 5 %, h8 = 10 %, h12 = 4.5 %."""
    lim = load_ieee519_limits("2022")
    got = lim.current_limits_pct(75.0, np.array([2, 4, 6, 8, 10, 12, 16]))
    np.testing.assert_allclose(got, [5.0, 5.0, 5.0, 10.0, 10.0, 4.5, 4.5], rtol=0, atol=1e-6)
    assert lim.generation_share == pytest.approx(0.10, abs=1e-12) and "IEEE 1547" in lim.generation_text
    old = load_ieee519_limits("2014")
    np.testing.assert_allclose(old.current_limits_pct(75.0, np.array([2, 8, 12])), [2.5, 2.5, 1.125], atol=1e-6)
    assert old.generation_share is None
    with pytest.raises(ValueError, match="ieee519_edition"):
        load_ieee519_limits("1992")


def test_ieee519_row_edges_and_table1() -> None:
    lim = load_ieee519_limits()
    assert [lim.ratio_row(r) for r in (19.99, 20.0, 49.9, 50.0, 99.9, 100.0, 999.0, 1000.0)] == [0, 1, 1, 2, 2, 3, 3, 4]
    lv, mv = lim.voltage_limits(0.4), lim.voltage_limits(20.0)
    assert (lv["individual_pct"], lv["thd_pct"]) == (5.0, 8.0)
    assert (mv["individual_pct"], mv["thd_pct"]) == (3.0, 5.0)
    with pytest.raises(ValueError, match="69 kV"):
        lim.voltage_limits(132.0)


def test_shipped_spectra_are_labelled_and_cover_2_to_50() -> None:
    models = load_spectra()
    for name in ("ac_1ph", "ac_3ph", "dc", "base_load", "pv_inverter"):
        m = models[name]
        assert m.spectrum_pct.shape == (49,)
        assert m.source.startswith("assumption")
        assert (m.spectrum_pct > 0).all()
    assert models["ac_1ph"].spectrum_pct.argmax() == 1  # the 3rd harmonic dominates single-phase chargers


# --- unbalance, voltage, transformer, frequency ------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1e4), min_size=3, max_size=3), st.floats(0.01, 100))
def test_nema_unbalance_properties(phases: list[float], scale: float) -> None:
    a = np.array(phases)[:, None]
    u = nema_unbalance_pct(a)[0]
    assert 0.0 <= u <= 200.0 + 1e-9
    assert nema_unbalance_pct(a * scale)[0] == pytest.approx(u, rel=1e-9, abs=1e-9)
    assert nema_unbalance_pct(np.full((3, 1), phases[0]))[0] == pytest.approx(0.0, abs=1e-9)


def test_voltage_deviation_formula() -> None:
    # 100 kW + 50 kvar per phase on R = 0.01, X = 0.02 Ω: (1000 + 1000) / 230² = 3.78 %
    assert voltage_deviation_pct(100.0, 50.0, 0.01, 0.02, 230.0) == pytest.approx(-2000 / 230**2 * 100, abs=1e-9)
    assert voltage_deviation_pct(-100.0, 0.0, 0.01, 0.02, 230.0) > 0  # export raises the voltage


def test_transformer_thermal_reference_points() -> None:
    top, hot = transformer_thermal(np.ones(8), 0.25, ambient_c=20.0)
    assert hot == pytest.approx(np.full(8, 98.0))
    assert relative_ageing_rate(hot) == pytest.approx(np.ones(8))
    assert relative_ageing_rate(np.array([104.0]))[0] == pytest.approx(2.0)
    assert relative_ageing_rate(np.array([110.0]), "upgraded")[0] == pytest.approx(1.0)
    # step from no load to rated: top-oil rise reaches 1 - 1/e of the change after one oil time constant
    k = np.r_[0.0, np.ones(12)]
    top, _ = transformer_thermal(k, 0.25, ambient_c=0.0, oil_time_constant_min=180.0)
    start = 55.0 * (1 / 6) ** 0.8
    assert top[0] == pytest.approx(start)
    assert top[12] == pytest.approx(start + (55.0 - start) * (1 - math.exp(-1)), rel=1e-9)


def test_frequency_series_time_outside_band(hand_spectra: str) -> None:
    el = hand_site(hand_spectra)
    sc = scenario_with(["c1"], n_steps=4, phases=[1])
    f = np.array([50.0, 50.25, 49.85, 49.7])
    rep = assess(make_result(sc, np.full((1, 4), 6.9)), el, frequency_hz=f)
    assert rep.summary["pq_frequency_deviation_mhz_time_above_limit_h"] == pytest.approx(0.5)
    assert rep.per_step["frequency_deviation_mhz"].tolist() == pytest.approx([0.0, 250.0, -150.0, -300.0])
    ev = rep.events[rep.events["indicator"] == "frequency_hz"]
    assert ev["limit"].tolist() == pytest.approx([50.2, 50.2, 49.8])
    assert ev["state"].tolist() == ["critical", "warning", "critical"]


def test_grid_support_response_reported(hand_spectra: str) -> None:
    el = hand_site(hand_spectra)
    sc = scenario_with(["c1"], n_steps=6, phases=[1])
    f = np.array([50.0, 50.05, 49.95, 50.1, 49.9, 50.0])
    p = (6.9 / 2 + 30.0 * (f - 50.0))[None, :]  # 30 kW/Hz around half power
    rep = assess(make_result(sc, p, strategy="grid_support"), el, frequency_hz=f)
    assert rep.summary["pq_fleet_frequency_response_kw_per_hz"] == pytest.approx(30.0, rel=1e-9)
    plain = assess(make_result(sc, p), el, frequency_hz=f)
    assert plain.summary["pq_fleet_frequency_response_kw_per_hz"] is None


# --- alerts and events -------------------------------------------------------------------------------------------


def test_classify_and_events() -> None:
    assert classify("tdd_pct", np.array([1.0, 2.5, 4.0, 5.0, 5.1]), (2.5, 4.0, 5.0)).tolist() == [0, 0, 1, 2, 3]
    assert classify("pf", np.array([1.0, 0.98, 0.95, 0.94]), (0.99, 0.97, 0.95)).tolist() == [0, 1, 2, 3]
    times = np.array(np.arange(5), dtype="datetime64[h]")
    import pandas as pd

    idx = pd.DatetimeIndex(times)
    ev, states = detect_events(idx, {"tdd_pct": np.array([1.0, 6.0, 6.0, 3.0, 1.0])}, {"tdd_pct": (2.5, 4.0, 5.0)})
    assert states["tdd_pct"].tolist() == [0, 3, 3, 1, 0]
    assert ev["step"].tolist() == [1, 3, 4]
    assert ev["state"].tolist() == ["critical", "good", "optimal"]
    assert ev["previous_state"].tolist() == ["optimal", "critical", "good"]
    assert ev["limit"].tolist() == [5.0, 5.0, 2.5]


def test_every_state_change_is_an_event() -> None:
    from evfleet.inputs.generate import generate_scenario
    from evfleet.simulation.simulate import simulate

    sc = generate_scenario(vehicles=60, seed=2)
    rep = assess(simulate(sc, "uncontrolled"))
    assert list(rep.per_step.columns) == PER_STEP_COLUMNS
    assert len(rep.per_step) == sc.n_steps
    th = Thresholds().boundaries(
        {"tdd_pct": rep.summary["pq_tdd_pct_limit"], "thd_v_pct": 5.0, "pf": 0.95, "unbalance_pct": 3.0,
         "transformer_loading_pct": 100.0, "voltage_deviation_pct": 10.0, "frequency_band_mhz": 200.0,
         "vuf_pct": 2.0, "cable_drop_pct": 5.0})  # fmt: skip
    for name in ("tdd_pct", "vuf_pct", "transformer_loading_pct", "cable_drop_pct"):
        ev = rep.events[rep.events["indicator"] == name]
        s = classify(name, rep.per_step[name].to_numpy(), th[name])
        assert len(ev) == int((np.diff(np.r_[0, s]) != 0).sum())
    # the instantaneous PF and the current deviation from the mean raise no alert (information only)
    assert not rep.events["indicator"].isin(["pf", "unbalance_pct"]).any()
    comp = rep.compliance
    assert list(comp.columns) == ["indicator", "value", "limit", "status", "clause"]
    assert set(comp["status"]) <= {"pass", "fail", "info"}
    assert rep.summary["pq_compliant"] == (not (comp["status"] == "fail").any())
    assert list(rep.spectrum.columns[:3]) == ["h", "current_pct_of_il", "limit_pct"]
    assert rep.spectrum["h"].tolist() == list(range(2, 51))
    assert any("ASSUMPTION" in a.upper() for a in rep.assumptions)
    json.dumps(rep.summary, allow_nan=False)


def test_custom_thresholds_change_states(hand_spectra: str) -> None:
    el = hand_site(hand_spectra, phase_assignment="single")
    sc = scenario_with(["c1", "c1", "c1"], n_steps=2)
    res = make_result(sc, np.full((3, 2), 6.9))
    default = assess(res, el)
    assert (default.events["indicator"] == "unbalance_pct").sum() == 0  # information: no alert
    assert (default.events["indicator"] == "tdd_pct").sum() == 1  # TDD 35.6 % of I_L = 30 A: critical at once
    assert default.per_step["pq_state"].tolist() == ["critical", "critical"]
    loose = assess(res, el, {"vuf_pct": (250.0, 260.0, 270.0), "tdd_pct": (50.0, 60.0, 70.0),
                             "transformer_loading_pct": (250.0, 260.0, 270.0)})  # fmt: skip
    assert not loose.events["indicator"].isin(["vuf_pct", "tdd_pct"]).any()
    assert "critical" not in loose.per_step["pq_state"].tolist()


def test_balanced_phase_assignment_beats_round_robin() -> None:
    rng = np.random.default_rng(5)
    n, t = 30, 24
    arr = rng.integers(0, t - 6, n)
    dep = arr + rng.integers(2, 6, n)
    d = scenario_dict(n_steps=t, step_minutes=15, base_load_kw=[5.0] * t, import_limit_kw=500.0,
                      vehicles=[{"arrival_step": int(a), "departure_step": int(b), "max_charge_kw": 7.4}
                                for a, b in zip(arr, dep, strict=True)])  # fmt: skip
    d["vehicles"]["charger"] = ["ac7.4"] * n
    sc = scenario_from_dict(d)
    p = np.where((np.arange(t) >= arr[:, None]) & (np.arange(t) < dep[:, None]), 7.4, 0.0)
    rr = assess(make_result(sc, p), SiteElectrical(phase_assignment="round_robin"))
    bal = assess(make_result(sc, p), SiteElectrical(phase_assignment="balanced"))
    assert bal.summary["pq_unbalance_pct_max"] <= rr.summary["pq_unbalance_pct_max"] + 1e-9
    assert bal.per_step["unbalance_pct"].mean() < rr.per_step["unbalance_pct"].mean()


# --- bad input -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field", "value"),
    [
        ({"transformer_uk_pct": -1.0}, "transformer_uk_pct", "-1.0"),
        ({"pcc_side": "hv"}, "pcc_side", "'hv'"),
        ({"phase_assignment": "random"}, "phase_assignment", "'random'"),
        ({"phase_map": {"V0": 4}}, "phase_map.V0", "4"),
        ({"base_load_pf": 1.5}, "base_load_pf", "1.5"),
        ({"transformer_kva": 0.0}, "transformer_kva", "0.0"),
        ({"insulation": "paper"}, "insulation", "'paper'"),
    ],
)
def test_site_electrical_errors_name_field_and_value(kwargs: dict, field: str, value: str) -> None:
    with pytest.raises(ValueError, match=rf"'{field}'.*value {value}"):
        SiteElectrical(**kwargs)


def test_site_electrical_from_files(tmp_path: Path) -> None:
    good = tmp_path / "el.yaml"
    good.write_text("transformer_kva: 800\npcc_side: mv\ncharger_types:\n  ac7.4: {rated_kw: 7.2}\n")
    el = load_site_electrical(good)
    assert el.transformer_kva == 800 and el.pcc_side == "mv" and el.charger_types["ac7.4"].rated_kw == 7.2
    assert el.charger_types["ac7.4"].phases == 1
    roundtrip = tmp_path / "el.json"
    roundtrip.write_text(json.dumps(el.to_dict()))
    assert load_site_electrical(roundtrip) == el
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"transformer_kva": "big"}))
    with pytest.raises(ValueError, match=r"bad.json: field 'transformer_kva' must be a finite number \(value 'big'\)"):
        load_site_electrical(bad)
    bad.write_text(json.dumps({"transfomer_kva": 100}))
    with pytest.raises(ValueError, match="'transfomer_kva' is not a known field"):
        load_site_electrical(bad)
    bad.write_text(json.dumps({"charger_types": {"x": {"rated_kw": 5, "phases": 3}}}))
    with pytest.raises(ValueError, match=r"'charger_types.x.current' is required for a new charger type"):
        load_site_electrical(bad)
    bad.write_text(json.dumps({"charger_types": {"x": {"rated_kw": 5, "phases": 2, "current": "AC", "model": "dc"}}}))
    with pytest.raises(ValueError, match=r"'charger_types.x.phases' must be 1 or 3 \(value 2\)"):
        load_site_electrical(bad)
    with pytest.raises(FileNotFoundError):
        load_site_electrical(tmp_path / "missing.json")


def test_scenario_errors_name_field_and_value(hand_spectra: str) -> None:
    el = hand_site(hand_spectra)
    sc = scenario_with(["nope"])
    with pytest.raises(ValueError, match=r"'vehicles.charger\[0\]'.*value 'nope'"):
        assess(make_result(sc, np.zeros((1, 2))), el)
    sc = scenario_with(["c1"], phases=[7])
    with pytest.raises(ValueError, match=r"'vehicles.phase\[0\]'.*value 7"):
        assess(make_result(sc, np.zeros((1, 2))), el)
    sc = scenario_with(["c1"])
    with pytest.raises(ValueError, match="'frequency_hz'"):
        assess(make_result(sc, np.zeros((1, 2))), el, frequency_hz=np.array([50.0]))
    with pytest.raises(ValueError, match="'power_kw'"):
        assess(make_result(sc, np.full((1, 2), np.nan)), el)
    d = scenario_dict(n_steps=2, step_minutes=15)
    d["site"]["electrical"] = {"mv_kv": 200}
    with pytest.raises(ValueError, match=r"scenario site.electrical: field 'mv_kv' must be <= 69 \(value 200\)"):
        assess(make_result(scenario_from_dict(d), np.zeros((1, 2))))


def test_threshold_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"'levels.tdd_pct' must be increasing"):
        Thresholds(levels={"tdd_pct": (5.0, 4.0, 3.0)})
    with pytest.raises(ValueError, match=r"'levels.pf' must be decreasing"):
        Thresholds(levels={"pf": (0.9, 0.95, 0.99)})
    with pytest.raises(ValueError, match=r"'levels.thd' is not a known indicator"):
        Thresholds(levels={"thd": (1, 2, 3)})
    f = tmp_path / "th.json"
    f.write_text(json.dumps({"levels": {"unbalance_pct": [1, 2, "x"]}}))
    with pytest.raises(ValueError, match=r"th.json: field 'levels.unbalance_pct' must be 3 finite numbers"):
        load_thresholds(f)
    f.write_text(json.dumps({"levels": {"unbalance_pct": [1, 2, 4]}}))
    assert load_thresholds(f).levels["unbalance_pct"] == (1, 2, 4)


# --- invariants on random fleets -------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 12), st.integers(1, 6), st.integers(0, 2**31 - 1), st.booleans())
def test_invariants_on_random_fleets(n: int, t: int, seed: int, v2g: bool) -> None:
    rng = np.random.default_rng(seed)
    names = np.array(["ac7.4", "ac11", "ac22", "dc50", "dc150"])[rng.integers(0, 5, n)]
    rated = np.array([{"ac7.4": 7.4, "ac11": 11.0, "ac22": 22.0, "dc50": 50.0, "dc150": 150.0}[c] for c in names])
    d = scenario_dict(n_steps=t, step_minutes=15, vehicles=[{"max_charge_kw": float(r)} for r in rated],
                      base_load_kw=rng.uniform(0, 50, t).tolist(), pv_kw=rng.uniform(0, 30, t).tolist(),
                      import_limit_kw=400.0)  # fmt: skip
    d["vehicles"]["charger"] = names.tolist()
    sc = scenario_from_dict(d)
    lo = -1.0 if v2g else 0.0
    p = rng.uniform(lo, 1.0, (n, t)) * rated[:, None] * (rng.random((n, t)) < 0.7)
    rep = assess(make_result(sc, p), SiteElectrical(phase_assignment=str(rng.choice(["round_robin", "balanced"]))))
    ps = rep.per_step
    assert ps["p_kw"].to_numpy() == pytest.approx(sc.base_load_kw - sc.pv_kw + p.sum(axis=0), abs=1e-6)
    assert ((ps["pf"] >= 0) & (ps["pf"] <= 1 + 1e-12)).all()
    assert (ps["pf_true"] <= ps["pf"] + 1e-9).all()  # distortion can only lower the power factor
    assert ((ps["unbalance_pct"] >= 0) & (ps["unbalance_pct"] <= 200 + 1e-9)).all()
    assert (ps["tdd_pct"] >= 0).all() and (ps["thd_v_pct"] >= 0).all()
    # TDD <= THD wherever the worst phase carries at most I_L (always, since I_L is the run's maximum)
    assert (ps["tdd_pct"] <= ps["thd_i_pct"] + 1e-9).all()
    assert rep.summary["pq_events"] == len(rep.events)
    assert rep.spectrum["current_pct_of_il"].max() <= rep.summary["pq_tdd_pct_max"] + 1e-9
    json.dumps(rep.summary, allow_nan=False)


def test_charger_curves() -> None:
    from evfleet.gridquality.assess import charger_curves

    df = charger_curves(loading=np.array([0.2, 1.0]))
    one = df[(df["charger"] == "ac7.4")].set_index("loading")
    m = load_spectra()["ac_1ph"]
    assert one.loc[1.0, "thd_i_pct"] == pytest.approx(m.thd_full_load_pct)
    assert one.loc[0.2, "thd_i_pct"] == pytest.approx(m.thd_full_load_pct * 0.2**-0.8)
    assert one.loc[0.2, "dpf"] == pytest.approx(0.92)
    assert one.loc[0.2, "q_kvar_per_kw"] < 0  # capacitive at light load (assumed)
    # SAE J2894-1 targets (secondary source) are met by the assumed curves: > 0.90 full load, > 0.65 at 20 %
    assert (df[df["loading"] == 1.0]["pf_true"] > 0.90).all()
    assert (df[df["loading"] == 0.2]["pf_true"] > 0.65).all()
    with pytest.raises(ValueError, match="'loading'"):
        charger_curves(loading=np.array([0.0]))


def test_spectrum_at_and_flag_levels(hand_spectra: str) -> None:
    el = hand_site(hand_spectra, pf_limit=0.5, unbalance_limit_pct=200.0)
    sc = scenario_with(["low"], phases=[1])
    rep = assess(make_result(sc, np.array([[6.9, 1.38]])), el)
    worst = int(rep.per_step["tdd_pct"].idxmax())
    assert rep.spectrum_at(worst)["current_pct_of_il"].to_numpy() == pytest.approx(
        rep.spectrum["current_pct_of_il"].to_numpy()
    )
    assert rep.spectrum_at(1).set_index("h").loc[3, "current_pct_of_il"] == pytest.approx(100 * 0.5 * 7.5 / 30)
    with pytest.raises(ValueError, match=r"'step' must be within 0-1 \(value 2\)"):
        rep.spectrum_at(2)
    comp = rep.compliance.set_index("indicator")
    assert comp.loc["power factor min", "limit"] == 0.5 and comp.loc["power factor min", "status"] == "info"
    assert comp.loc["current unbalance max [%]", "status"] == "info"  # information, never a verdict
    assert rep.summary["pq_unbalance_pct_limit"] == 200.0
    assert rep.alert_bounds is not None and rep.alert_bounds["unbalance_pct"] == pytest.approx((100.0, 160.0, 200.0))
    assert rep.alert_bounds["pf"] == pytest.approx((0.99, 0.97, 0.5))


def test_impedance_mv_pcc_and_override() -> None:
    lv = SiteElectrical(transformer_kva=1000.0, pcc_side="lv")
    mv = SiteElectrical(transformer_kva=1000.0)  # the MV PCC is the default (an MT customer)
    assert mv.pcc_side == "mv" and SiteElectrical.from_mapping({"pcc": "lv"}).pcc_side == "lv"
    r_lv, x_lv = lv.impedance_ohm(1000.0)
    r_mv, x_mv = mv.impedance_ohm(1000.0)
    z_mv = 400.0**2 / 250e6
    assert math.hypot(r_mv, x_mv) == pytest.approx(z_mv)
    assert x_mv / r_mv == pytest.approx(10.0)
    assert math.hypot(r_lv - r_mv, x_lv - x_mv) == pytest.approx(0.06 * 400.0**2 / 1e6)
    over = SiteElectrical(transformer_kva=1000.0, pcc_ssc_mva=10.0, pcc_side="lv")
    r_o, x_o = over.impedance_ohm(1000.0)
    assert math.hypot(r_o, x_o) == pytest.approx(400.0**2 / 10e6)
    assert x_o / r_o == pytest.approx(x_lv / r_lv)
    assert mv.pcc_kv() == 20.0 and lv.pcc_kv() == 0.4
    assert SiteElectrical().rated_kva(1000.0) == 1250.0  # 1000 kW / 0.9 = 1111 kVA -> next standard rating


def test_phase_map_by_vehicle_name(hand_spectra: str) -> None:
    d = scenario_dict(n_steps=1, step_minutes=15, vehicles=[{"max_charge_kw": 6.9}] * 3, import_limit_kw=500.0)
    d["vehicles"]["charger"] = ["c1"] * 3
    d["vehicles"]["vehicle"] = ["EV-A", "EV-B", "EV-C"]
    sc = scenario_from_dict(d)
    el = hand_site(hand_spectra, phase_map={"EV-A": 3, "V1": 3, "EV-C": 2})  # by vehicle name or session id
    row = assess(make_result(sc, np.full((3, 1), 6.9)), el).per_step.iloc[0]
    assert (row["i_l1_a"], row["i_l2_a"], row["i_l3_a"]) == pytest.approx((0.0, 30.0, 60.0))


def test_voltage_event_limit_on_the_value_side() -> None:
    import pandas as pd

    idx = pd.date_range("2026-01-01", periods=4, freq="15min", tz="UTC")
    ev, _ = detect_events(idx, {"voltage_deviation_pct": np.array([0.0, -11.0, 12.0, 0.0])},
                          {"voltage_deviation_pct": (5.0, 8.0, 10.0)})  # fmt: skip
    assert ev["limit"].tolist() == [-10.0, 10.0]
    assert ev["state"].tolist() == ["critical", "optimal"]


def test_charger_inferred_from_power_limit() -> None:
    from evfleet.gridquality.layout import fleet_layout

    d = scenario_dict(n_steps=1, step_minutes=15, vehicles=[{"max_charge_kw": k} for k in (3.7, 7.4, 11.0, 20.0, 50.0,
                                                                                           120.0, 350.0)])  # fmt: skip
    sc = scenario_from_dict(d)
    lay = fleet_layout(sc, SiteElectrical(), np.zeros((7, 1)))
    assert lay.charger.tolist() == ["ac7.4", "ac7.4", "ac11", "ac22", "dc50", "dc150", "dc150"]
    assert lay.n_phases.tolist() == [1, 1, 3, 3, 3, 3, 3]
    assert lay.p_ref_kw.tolist() == [3.7, 7.4, 11.0, 20.0, 50.0, 150.0, 150.0]
    lay = fleet_layout(sc, SiteElectrical(default_charger="ac22"), np.zeros((7, 1)))
    assert set(lay.charger.tolist()) == {"ac22"}
