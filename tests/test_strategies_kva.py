"""The bill-optimising LP prices the called power in kVA when the tariff does (``demand_measure: kva``).

The LP's called power is ``z >= sqrt(imp_t^2 + Q_t^2)`` through outer tangent cuts (relative error at most
``1/cos(span/2K) - 1`` < 0.1 %), ``Q_t`` the base load's reactive power. On a site at low cos φ the LP's kVA is the
bill's within that error, and the bill is no higher than the one of the kW-measured LP.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from evfleet.analysis.bill import bill_from_series, bill_params
from evfleet.inputs.generate import generate_scenario
from evfleet.problem import BASE_LOAD_PF_DEFAULT, build_problem
from evfleet.scenario import scenario_from_dict
from evfleet.simulation.control import RecedingLoop
from evfleet.simulation.engine import Engine
from evfleet.strategies import get_strategy
from evfleet.strategies.optim.model import KVA_CUT_REL_ERROR, kva_cut_angles


def kva_scenario(n: int, seed: int, pf: float, share: float):
    sc = generate_scenario(vehicles=n, seed=seed, start="2026-01-15", step_minutes=60)
    data = sc.to_dict()
    data["tariff"]["demand_measure"] = "kva"
    data["tariff"]["subscribed_power_kva"] = share * sc.import_limit_kw
    data["site"]["electrical"] = {"base_load_pf": pf}
    return scenario_from_dict(data)


def problem_of(sc, v2g: bool = False):
    v = sc.vehicles
    return build_problem(sc, np.arange(sc.n_vehicles), v.energy_arrival_kwh.copy(), 0, sc.n_steps, v2g)


def bill_of(sc, p, plan: np.ndarray):
    site = p.base_load_kw - p.pv_kw + plan.sum(axis=0)
    q = p.reactive_kvar if p.reactive_kvar is not None else np.zeros(p.n_steps)
    return bill_from_series(site, q, p.price_import_mad_per_kwh, p.price_export_mad_per_kwh, p.dt_h, bill_params(sc),
                            subscribed_default_kva=float(sc.import_limit_kw))  # fmt: skip


def test_cut_error_bound() -> None:
    for q in (np.array([1.0, 2.0]), np.array([-1.0, 2.0])):
        angles, err = kva_cut_angles(q)
        assert err < KVA_CUT_REL_ERROR
        assert len(angles) == (18 if (q >= 0).all() else 36)
        rng = np.random.default_rng(0)
        th = rng.uniform(0 if (q >= 0).all() else -np.pi / 2, np.pi / 2, 10_000)
        best = np.max(np.cos(th[:, None] - angles[None, :]), axis=1)  # cut value of a unit vector
        assert (1.0 / best - 1.0).max() <= err + 1e-12


def test_problem_carries_the_base_reactive_power() -> None:
    sc = kva_scenario(8, 1, 0.6, 0.3)
    p = problem_of(sc)
    assert p.demand_kva
    assert p.reactive_kvar == pytest.approx(p.base_load_kw * 0.8 / 0.6)
    sc_default = generate_scenario(vehicles=4, seed=1, start="2026-01-15", step_minutes=60)
    p0 = problem_of(sc_default)
    tan = np.sqrt(1 - BASE_LOAD_PF_DEFAULT**2) / BASE_LOAD_PF_DEFAULT
    assert (not p0.demand_kva) or p0.reactive_kvar == pytest.approx(p0.base_load_kw * tan)


@pytest.mark.parametrize(("seed", "share", "v2g"), [(1, 0.2, False), (3, 0.3, True), (7, 0.15, False)])
def test_lp_prices_the_billed_kva(seed: int, share: float, v2g: bool) -> None:
    sc = kva_scenario(14, seed, 0.6, share)
    p = problem_of(sc, v2g)
    assert p.overrun_mad_per_kw > 0 and p.demand_kva
    kva = get_strategy("price_optimization")
    plan = kva.schedule(p)
    bill = bill_of(sc, p, plan)
    obj = kva.objective(p)
    assert obj.peak_reactive_kvar is not None
    # the LP's z from its objective: overrun cost times (z - floor) on top of the energy terms
    site = p.base_load_kw - p.pv_kw + plan.sum(axis=0)
    imp, exp = np.maximum(site, 0), np.maximum(-site, 0)
    pe = np.minimum(p.price_export_mad_per_kwh, p.price_import_mad_per_kwh)
    energy = float(((p.price_import_mad_per_kwh * imp - pe * exp) * p.dt_h).sum())
    dis = np.maximum(-plan, 0).sum() * p.dt_h * (p.degradation_mad_per_kwh + 1e-4)
    unmet = 100.0 * kva.report.solve.planned_unmet_kwh
    z_lp = p.called_power_floor_kw + (kva.report.solve.objective - energy - dis - unmet) / p.overrun_mad_per_kw
    _, err = kva_cut_angles(p.reactive_kvar)
    if bill.called_power_kva > p.called_power_floor_kw + 1e-6:  # the overrun binds: z is the called power
        assert bill.called_power_kva >= z_lp - 1e-4
        assert bill.called_power_kva <= z_lp * (1.0 + err) + 1e-4
    # no higher bill than the LP that measures the called power in kW
    kw = get_strategy("price_optimization")
    p_kw = dataclasses.replace(p, demand_kva=False)
    bill_kw = bill_of(sc, p, kw.schedule(p_kw))
    assert bill.overrun_mad <= bill_kw.overrun_mad + 1e-6 + err * bill.overrun_mad
    assert bill.total_excl_vat_mad <= bill_kw.total_excl_vat_mad + 1e-6 + err * bill.overrun_mad


def test_kva_matters_at_low_cos_phi() -> None:
    """Flat price, a base load alternating 10 / 50 kW at cos φ 0.6 and one vehicle needing 100 kWh in 4 h: the
    kW-measured LP levels the active power (55 kW everywhere) and calls 86.4 kVA at the 50 kW steps; the kVA LP
    charges in the 10 kW steps, calls the least S with sum_t clip(sqrt(S^2 - Q_t^2) - base_t, 0, 60) = 100 kWh
    (83.3 kVA: the base load's own at the 50 kW steps) and pays less."""
    from factories import scenario_dict

    base = [10.0, 50.0, 10.0, 50.0]
    veh = [{"battery_kwh": 200.0, "soc_arrival": 0.3, "soc_target": 0.8, "soc_max": 0.9, "max_charge_kw": 60.0}]
    data = scenario_dict(n_steps=4, vehicles=veh, price=[1.0] * 4, base_load_kw=base, import_limit_kw=200.0,
                         export_limit_kw=0.0)  # fmt: skip
    tariff = generate_scenario(vehicles=2, seed=1, start="2026-01-15").to_dict()["tariff"]
    data["tariff"] = {**tariff, "demand_measure": "kva", "subscribed_power_kva": 20.0}
    data.setdefault("site", {})["electrical"] = {"base_load_pf": 0.6}
    sc = scenario_from_dict(data)
    p = problem_of(sc)
    assert p.demand_kva and p.overrun_mad_per_kw > 0
    strat = get_strategy("price_optimization")
    bill = bill_of(sc, p, strat.schedule(p))
    bill_kw = bill_of(sc, p, get_strategy("price_optimization").schedule(dataclasses.replace(p, demand_kva=False)))
    q = np.array(base) * 0.8 / 0.6
    s_kw = np.hypot(55.0, q).max()
    assert bill_kw.called_power_kva == pytest.approx(s_kw, rel=1e-6)
    # the kVA optimum S: sum_t (sqrt(S^2 - Q_t^2) - base_t) = 100 kWh, by bisection
    lo, hi = float(np.hypot(base, q).max()), 200.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        ev = np.clip(np.sqrt(np.maximum(mid**2 - q**2, 0)) - np.array(base), 0.0, 60.0)
        lo, hi = (mid, hi) if ev.sum() < 100.0 else (lo, mid)
    _, err = kva_cut_angles(q)
    assert lo <= bill.called_power_kva <= lo * (1 + err) + 1e-6
    assert bill.called_power_kva < s_kw - 3.0
    assert bill.total_excl_vat_mad < bill_kw.total_excl_vat_mad
    assert bill.energy_mad == pytest.approx(bill_kw.energy_mad, rel=1e-9)  # flat price: same energy cost


def test_online_called_power_so_far_is_measured_in_kva() -> None:
    """Online, the overrun's floor (the month's called power so far) is kVA with a kva tariff, as the bill has it."""
    sc = kva_scenario(8, 3, 0.6, 0.3)
    strat = get_strategy("uncontrolled")
    strat.start_run()
    engine = Engine(sc, v2g=False)
    loop = RecedingLoop(sc, strat, engine, online=True, horizon_h=24.0)
    q = sc.base_load_kw * 0.8 / 0.6
    expected = 0.0
    for t in range(6):
        _, site_kw = loop.step(t)
        if site_kw > 0:
            expected = max(expected, float(np.hypot(site_kw, q[t])))
        else:
            expected = max(expected, float(site_kw))
        assert loop.called_kw == pytest.approx(expected)
    assert loop.called_kw > 0.0  # the base load was imported, so kVA > kW at pf 0.6
