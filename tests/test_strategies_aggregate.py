"""The exact aggregation of plain vehicles (strategies/optim/aggregate.py): same optimum, feasible disaggregation.

Random scenarios whose plain vehicles share a few windows and charger sizes (so that groups form), solved with the
vehicles merged and with one set of columns per vehicle: the objectives agree, and the per-vehicle setpoints of
the merged solve respect every vehicle's bounds, window, energy ceiling and target (with the reported unmet
energy) and sum to each super-vehicle's profile.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evfleet.inputs.generate import generate_scenario
from evfleet.problem import ChargingProblem, build_problem
from evfleet.strategies import get_strategy
from evfleet.strategies.optim.aggregate import aggregate_plain, charge_upper_kw, disaggregate
from evfleet.strategies.optim.highs import solve
from evfleet.strategies.optim.model import build_model

KINDS = ["price_optimization", "peak_shaving", "renewable_integration"]


def clustered_problem(n: int, seed: int, limit_factor: float, v2g: bool, n_windows: int) -> ChargingProblem:
    """A generated problem whose vehicles share ``n_windows`` windows and two charger sizes (groups form)."""
    sc = generate_scenario(
        vehicles=n, seed=seed, start="2026-01-15", step_minutes=60, bidirectional_share=0.3, v2g_ready_2024=True
    )
    sc = sc.replace(import_limit_kw=sc.import_limit_kw * limit_factor)
    v = sc.vehicles
    p = build_problem(sc, np.arange(n), v.energy_arrival_kwh.copy(), 0, sc.n_steps, v2g)
    rng = np.random.default_rng(seed)
    H = p.n_steps
    starts = rng.integers(0, H // 2, n_windows)
    stays = rng.integers(2, H // 2, n_windows)
    w = rng.integers(0, n_windows, n)
    arrival = starts[w]
    departure = np.minimum(starts[w] + stays[w], H)
    cmax = np.where(rng.random(n) < 0.5, 7.4, 11.0)
    e0 = p.energy_kwh
    # small energy needs (a few steps at full power, some at the ceiling, some unreachable)
    target = np.minimum(e0 + rng.uniform(-2.0, 40.0, n), p.battery_kwh)
    ceiling = np.maximum(np.minimum(target + rng.uniform(-3.0, 10.0, n), p.battery_kwh), e0 * 0.0)
    return dataclasses.replace(
        p,
        arrival=arrival.astype(np.int64),
        departure=departure.astype(np.int64),
        departs_in_horizon=rng.random(n) < 0.9,
        max_charge_kw=cmax,
        charge_efficiency=np.full(n, 0.92),
        energy_target_kwh=target,
        energy_ceiling_kwh=ceiling,
        taper_soc=None,
        taper_end_kw=None,
    )


def check_disaggregation(p: ChargingProblem, obj, merged_sol) -> None:
    """Every vehicle's bounds, window, ceiling and target hold; members sum to their super-vehicle."""
    ch = merged_sol.charge_kw
    upper = charge_upper_kw(p)
    assert (ch >= -1e-9).all()
    assert (ch <= upper + 1e-7).all()  # within max_charge_kw, 0 outside the window and on no-charge columns
    dt = p.dt_h
    e = p.energy_kwh[:, None] + np.cumsum(
        (p.charge_efficiency[:, None] * ch - merged_sol.discharge_kw / p.discharge_efficiency[:, None]) * dt, axis=1
    )
    hi = np.maximum(p.energy_ceiling_kwh, p.energy_kwh)
    assert (e <= hi[:, None] + 1e-6).all()  # SOC ceiling at every step
    assert (e >= np.minimum(p.energy_v2g_floor_kwh, p.energy_kwh)[:, None] - 1e-6).all()
    dep = p.departs_in_horizon
    assert (e[dep, -1] + merged_sol.unmet_kwh[dep] >= p.energy_target_kwh[dep] - 1e-6).all()  # target or unmet


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(6, 30),
    seed=st.integers(0, 10_000),
    limit=st.sampled_from([0.1, 0.3, 1.0]),
    v2g=st.booleans(),
    n_windows=st.integers(1, 4),
    kind=st.sampled_from(KINDS),
)
def test_merged_model_has_the_plain_optimum_and_a_feasible_split(
    n: int, seed: int, limit: float, v2g: bool, n_windows: int, kind: str
) -> None:
    check_merged_against_plain(clustered_problem(n, seed, limit, v2g, n_windows), kind)


def test_the_qp_is_not_merged() -> None:
    """Valley filling (QP) keeps one set of columns per vehicle (HiPO fails on some merged models)."""
    p = clustered_problem(24, 4, 0.3, False, 3)
    assert aggregate_plain(p, get_strategy("peak_shaving").objective(p)) is not None
    assert aggregate_plain(p, get_strategy("valley_filling").objective(p)) is None


def check_merged_against_plain(p: ChargingProblem, kind: str) -> None:
    obj = get_strategy(kind).objective(p)
    agg = aggregate_plain(p, obj)
    plain = solve(build_model(p, obj))
    if agg is None:  # nothing merges (e.g. every vehicle discharges): the merged path is the plain model
        return
    assert agg.n_groups < agg.members.size
    sol_agg = solve(build_model(agg.problem, obj))
    merged, ok = disaggregate(p, agg, sol_agg)
    assert ok
    assert merged.objective == pytest.approx(plain.objective, rel=1e-6, abs=1e-6)
    check_disaggregation(p, obj, merged)
    # the members of every group sum to their super-vehicle's profile
    n_keep = len(agg.keep)
    sums = np.zeros((agg.n_groups, p.n_steps))
    np.add.at(sums, agg.group, merged.charge_kw[agg.members])
    assert np.allclose(sums, np.maximum(sol_agg.charge_kw[n_keep:], 0.0), atol=1e-6)
    # the kept vehicles keep their setpoints, the site flows are the merged model's
    assert np.allclose(merged.power_kw[agg.keep], sol_agg.power_kw[:n_keep])
    site = p.base_load_kw - p.pv_kw + merged.power_kw.sum(axis=0)
    assert np.allclose(site, merged.import_kw - merged.export_kw, atol=1e-5)


@pytest.mark.parametrize("kind", ["price_optimization", "peak_shaving"])
def test_strategies_merge_offline_and_match_the_unmerged_strategy(kind: str) -> None:
    p = clustered_problem(40, 5, 0.3, True, 3)
    merged = get_strategy(kind)
    merged.schedule(p)
    off = get_strategy(kind, merge="off")
    off.schedule(p)
    assert aggregate_plain(p, merged.objective(p)) is not None
    assert merged.report.solve.n_variables < off.report.solve.n_variables
    assert merged.report.solve.objective == pytest.approx(off.report.solve.objective, rel=1e-7, abs=1e-7)


def test_the_bin_rule_is_needed() -> None:
    """Vehicles of one 3-step window needing 2 steps and 0.2 step of energy (q = one step at full power): merged
    naively (k times the power, the summed energies) the LP could charge the cheap step at k times full power,
    which no split allows (a vehicle takes at most q per step). The rule merges only needs in one bin [jq, (j+1)q],
    and the merged optimum equals the plain one."""
    p = clustered_problem(6, 1, 1.0, False, 1)
    H = p.n_steps
    q = 0.92 * 11.0 * p.dt_h  # one step at full power [kWh]
    e0 = np.full(6, 10.0)
    need = np.array([2.0, 0.2, 2.0, 0.2, 0.5, 0.6]) * q
    p = dataclasses.replace(
        p,
        arrival=np.zeros(6, dtype=np.int64),
        departure=np.full(6, 3, dtype=np.int64),
        departs_in_horizon=np.ones(6, dtype=bool),
        max_charge_kw=np.full(6, 11.0),
        energy_kwh=e0,
        energy_target_kwh=e0 + need,
        energy_ceiling_kwh=e0 + need,
        price_import_mad_per_kwh=np.r_[0.5, 2.0, 1.5, np.full(H - 3, 1.0)],
    )
    obj = get_strategy("price_optimization").objective(p)
    agg = aggregate_plain(p, obj)
    assert agg is not None
    # the 2-step vehicles merge together; 0.2, 0.2, 0.5 and 0.6 steps share the bin [0, q]: 2 groups
    assert agg.n_groups == 2
    assert agg.group[0] == agg.group[2] != agg.group[1] == agg.group[3] == agg.group[4] == agg.group[5]
    merged, ok = disaggregate(p, agg, solve(build_model(agg.problem, obj)))
    assert ok
    assert merged.objective == pytest.approx(solve(build_model(p, obj)).objective, rel=1e-9)


def test_a_missed_split_falls_back_to_the_plain_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never a silent approximation: if a split missed its energies, the plain model is solved instead."""
    from evfleet.strategies.optim import aggregate

    p = clustered_problem(30, 2, 0.3, False, 2)
    obj = get_strategy("price_optimization").objective(p)
    merged = aggregate.solve_merged(p, obj)
    plain = solve(build_model(p, obj))
    assert merged.n_col < plain.n_col
    monkeypatch.setattr(aggregate, "disaggregate", lambda problem, agg, sol: (sol, False))
    fallback = aggregate.solve_merged(p, obj)
    assert fallback.n_col == plain.n_col
    assert fallback.objective == pytest.approx(plain.objective, rel=1e-9)


@pytest.mark.parametrize("seed", [3, 4])
def test_two_phase_peak_shaving_is_the_cold_optimum(seed: int) -> None:
    """Offline peak shaving with V2G starts the full LP from the no-V2G optimum: same optimum as a cold solve."""
    p = clustered_problem(30, seed, 0.3, True, 3)
    strat = get_strategy("peak_shaving")
    from evfleet.strategies.optim.model import discharge_eligible

    assert discharge_eligible(p).any()  # the two-phase path runs
    sol = strat.solve_problem(p)
    assert sol.start in ("warm", "warm-rejected")  # phase 2 started from phase 1 (or was re-solved cold)
    cold = get_strategy("peak_shaving", merge="off").solve_problem(p)
    assert cold.start == "cold"
    assert sol.objective == pytest.approx(cold.objective, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("seed", [3, 5])
def test_phase2_primal_simplex_is_the_cold_optimum(seed: int) -> None:
    """Phase 2 with its options (the primal simplex) from the phase-1 point: the cold dual-simplex optimum."""
    from evfleet.strategies.optim.warm import WarmStart, start_values
    from evfleet.strategies.peak_shaving import PHASE2_OPTIONS

    p = clustered_problem(30, seed, 0.3, True, 3)
    strat = get_strategy("peak_shaving")
    no_v2g = dataclasses.replace(p, max_discharge_kw=np.zeros(p.n_vehicles))
    plain = build_model(no_v2g, strat.objective(no_v2g))
    first = solve(plain, options={"presolve": "off"})
    model = build_model(p, strat.objective(p))
    start = start_values(WarmStart(plain, first.x), model)
    warm = solve(model, options={"presolve": "off"}, start=start, warm_options=PHASE2_OPTIONS)
    cold = solve(model, options={"presolve": "off"})
    assert warm.start == "warm"
    assert warm.objective == pytest.approx(cold.objective, rel=1e-9, abs=1e-9)
    assert warm.objective <= first.objective + 1e-9  # V2G can only lower the optimum of the no-V2G model


def test_rejected_phase2_is_solved_cold_with_the_dual_simplex(monkeypatch) -> None:
    """A failed certificate re-solves cold with the options as before ``warm_options`` (not the primal simplex)."""
    import highspy

    from evfleet.strategies.optim import highs

    calls: list[tuple[str, object]] = []

    class Spy(highspy.Highs):
        def setOptionValue(self, key, value):
            calls.append((key, value))
            return super().setOptionValue(key, value)

    p = clustered_problem(30, 4, 0.3, True, 3)
    cold = get_strategy("peak_shaving", merge="off").solve_problem(p)
    monkeypatch.setattr(highspy, "Highs", Spy)
    monkeypatch.setattr(highs, "duality_gap", lambda *a: (1.0, 0.0, 0.0))  # every certificate fails
    sol = get_strategy("peak_shaving").solve_problem(p)
    assert sol.start == "warm-rejected"
    assert sol.objective == pytest.approx(cold.objective, rel=1e-9, abs=1e-9)
    strategy_calls = [v for k, v in calls if k == "simplex_strategy"]
    assert strategy_calls[-2:] == [4, 1]  # primal for the warm run, HiGHS's default (dual) again for the cold one
