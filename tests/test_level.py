"""The flat-period levelling (issue 13): its projections against independent references, its invariants and its
secondary objective against the previous algorithm (30 plain-step FISTA iterations from the LP's schedule)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from evfleet.inputs.generate import generate_scenario
from evfleet.problem import build_problem
from evfleet.strategies import get_strategy
from evfleet.strategies.optim import level
from evfleet.strategies.optim.aggregate import charge_upper_kw
from evfleet.strategies.optim.level import flat_windows, level_flat_periods, project_box_sum, project_box_sum_newton
from evfleet.strategies.optim.model import kva_cut_value, kva_import_cap_kw


def _bisect_reference(y, w, u, target) -> np.ndarray:
    """One group's projection ``clip(y - mu w, 0, u)`` summing to ``target``, by 200 bisections of ``mu`` and an
    exact solve on the final segment (plain Python: independent of both vectorised projections)."""
    lo, hi = float(np.min((y - u) / w)), float(np.max(y / w))
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if np.clip(y - mid * w, 0, u).sum() > target:
            lo = mid
        else:
            hi = mid
    return np.clip(y - 0.5 * (lo + hi) * w, 0, u)


def _random_groups(seed: int):
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 12, size=40)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    m = int(counts.sum())
    y = rng.normal(0, 20, m)
    u = rng.choice([3.7, 7.4, 11.0, 22.0], m) * (rng.random(m) > 0.1)
    w = rng.choice([1.0, 0.5, 0.25, 0.1], m)
    cap = np.add.reduceat(u, starts)
    target = cap * rng.choice([0.0, 0.3, 0.7, 1.0], len(counts))
    return y, w, u, starts, counts, target


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("newton_steps", [0, 30])
def test_projections_agree_with_bisection(seed: int, newton_steps: int, monkeypatch) -> None:
    """Newton (30 steps) and the exact weighted sort (0 Newton steps: the fallback) give the reference projection."""
    monkeypatch.setattr(level, "NEWTON_STEPS", newton_steps)
    y, w, u, starts, counts, target = _random_groups(seed)
    x, _ = project_box_sum_newton(y, w, u, starts, target, np.zeros(len(starts)))
    g = np.repeat(np.arange(len(starts)), counts)
    x_sort = project_box_sum(y, u, g, target, len(starts), w)
    assert np.all(x >= 0) and np.all(x <= u)
    assert np.add.reduceat(x, starts) == pytest.approx(target, abs=1e-9)
    for k, s in enumerate(starts):
        sl = slice(s, s + counts[k])
        ref = _bisect_reference(y[sl], w[sl], u[sl], target[k])
        assert x[sl] == pytest.approx(ref, abs=1e-7)
        assert x_sort[sl] == pytest.approx(ref, abs=1e-7)


def _previous_levelling(problem, upper, sol, cap):
    """The algorithm before (main at 951c40d): 30 FISTA iterations, step 1 / max entries per column, from the LP's
    schedule, each projection by the exact sort; its secondary objective, None where a window broke a check."""
    wid = flat_windows(problem, sol.import_kw)
    n_win = int(wid.max()) + 1
    in_win = wid >= 0
    w_safe = np.where(in_win, wid, 0)
    tapered = np.zeros(problem.n_vehicles, dtype=bool)
    if problem.taper_cut() is not None:
        tapered = np.asarray(problem.taper_cut()[1]) != 0
    dis_in = np.zeros((problem.n_vehicles, n_win))
    np.add.at(dis_in, (slice(None), w_safe[in_win]), sol.discharge_kw[:, in_win])
    ch_in = np.zeros((problem.n_vehicles, n_win))
    np.add.at(ch_in, (slice(None), w_safe[in_win]), sol.charge_kw[:, in_win])
    movable = (dis_in <= 1e-9) & ~tapered[:, None] & (ch_in > 1e-9)
    vi, tt = np.nonzero((upper > 1e-12) & in_win[None, :])
    keep = movable[vi, w_safe[tt]]
    vi, tt = vi[keep], tt[keep]
    _, g = np.unique(vi * n_win + w_safe[tt], return_inverse=True)
    ng = int(g.max()) + 1
    u, x0 = upper[vi, tt], sol.charge_kw[vi, tt]
    target = np.bincount(g, x0, minlength=ng)
    H = problem.n_steps
    fixed = sol.import_kw - sol.export_kw - np.bincount(tt, x0, minlength=H)
    step = 1.0 / int(np.bincount(tt, minlength=H).max())
    x, x_prev, k = x0.copy(), x0.copy(), 1.0
    for _ in range(30):
        k_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * k**2))
        y = x + ((k - 1.0) / k_next) * (x - x_prev)
        total = fixed + np.bincount(tt, y, minlength=H)
        x_prev, x, k = x, project_box_sum(y - step * total[tt], u, g, target, ng), k_next
    site = fixed + np.bincount(tt, x, minlength=H)
    top = float(sol.import_kw.max()) + 1e-6 if cap is None else cap + 1e-6
    if np.any(in_win & ((site < -1e-9) | (site > top))):
        return None  # a window kept the LP's schedule: not comparable column by column
    return 0.5 * float((site[in_win] ** 2).sum())


@pytest.mark.parametrize(("n", "seed", "v2g"), [(20, 1, True), (60, 5, True), (150, 8, False), (150, 16, True)])
def test_levelling_keeps_the_bill_and_levels_no_worse_than_before(n: int, seed: int, v2g: bool) -> None:
    """Every vehicle's energy, the window imports (>= 0, no new peak) and so the bill are the LP's; the secondary
    objective 1/2 sum imp^2 over the flat windows is no worse than the previous algorithm's (to 1e-12 relative)."""
    sc = generate_scenario(vehicles=n, seed=seed, start="2026-01-15", fleet_mix="ev2gym_nl", v2g_ready_2024=True)
    p = build_problem(sc, np.arange(sc.n_vehicles), sc.vehicles.energy_arrival_kwh.copy(), 0, sc.n_steps, v2g)
    strat = get_strategy("price_optimization", tie_break="off")
    strat.start_run()
    sol = strat.solve_problem(p)
    obj = strat.objective(p)
    cap = None
    if obj.peak_reactive_kvar is not None:
        q = obj.peak_reactive_kvar
        cap = kva_import_cap_kw(kva_cut_value(sol.import_kw, q), q)
    upper = charge_upper_kw(p)
    out = level_flat_periods(p, upper, dataclasses.replace(sol), import_cap_kw=cap)
    in_win = flat_windows(p, sol.import_kw) >= 0
    assert in_win.any()
    assert out.charge_kw.sum(axis=1) == pytest.approx(sol.charge_kw.sum(axis=1), abs=1e-8)
    assert np.array_equal(out.discharge_kw, sol.discharge_kw)
    assert np.all(out.charge_kw >= -1e-12) and np.all(out.charge_kw <= upper + 1e-9)
    assert out.import_kw.min() >= 0.0
    assert out.import_kw.max() <= sol.import_kw.max() + 1e-6
    if cap is not None:
        assert np.all(out.import_kw[in_win] <= cap[in_win] + 1e-6)
    price = p.price_import_mad_per_kwh
    assert float((price * out.import_kw).sum()) == pytest.approx(float((price * sol.import_kw).sum()), rel=1e-12)
    site = p.base_load_kw - p.pv_kw + out.power_kw.sum(axis=0)
    assert out.import_kw[in_win] == pytest.approx(np.maximum(site, 0)[in_win], abs=1e-6)
    before = _previous_levelling(p, upper, sol, cap)
    lp_secondary = 0.5 * float((sol.import_kw[in_win] ** 2).sum())
    new_secondary = 0.5 * float((out.import_kw[in_win] ** 2).sum())
    assert new_secondary < lp_secondary
    if before is not None:
        assert new_secondary <= before * (1 + 1e-12)


def test_levelling_never_lifts_a_column_above_the_import_limit() -> None:
    """A flat window at the site's import limit (limit at 20 % of the default, 60-min steps): the levelled plan
    stays within the limit, so the simulator delivers it whole (the even-spread start of an unconverged FISTA went
    above it and the breaker cut 0.006 kWh: found by test_strategies_sim's hypothesis test)."""
    from evfleet.simulation.simulate import SimulationOptions, simulate

    sc = generate_scenario(vehicles=15, seed=0, start="2026-01-15", step_minutes=60, v2g_ready_2024=True)
    sc = sc.replace(import_limit_kw=sc.import_limit_kw * 0.2)
    p = build_problem(sc, np.arange(sc.n_vehicles), sc.vehicles.energy_arrival_kwh.copy(), 0, sc.n_steps, False)
    strat = get_strategy("price_optimization", tie_break="off")
    strat.start_run()
    sol = strat.solve_problem(p)
    assert np.any(np.abs(sol.import_kw - p.import_limit_kw) <= 1e-6)  # the limit binds somewhere
    out = level_flat_periods(p, charge_upper_kw(p), dataclasses.replace(sol))
    site = p.base_load_kw - p.pv_kw + out.power_kw.sum(axis=0)
    assert np.all(site <= np.maximum(p.import_limit_kw, sol.import_kw) + 1e-6)
    assert out.charge_kw.sum(axis=1) == pytest.approx(sol.charge_kw.sum(axis=1), abs=1e-8)
    runs = {tb: simulate(sc, "price_optimization", SimulationOptions(mode="offline", v2g=False), tie_break=tb)
            for tb in ("off", "level")}  # fmt: skip
    assert runs["level"].power_kw.sum() == pytest.approx(runs["off"].power_kw.sum(), abs=1e-8)
