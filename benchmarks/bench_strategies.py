"""Strategy benchmarks at depot scale: 2,000 vehicles x 96 steps (15 min), V2G on.

Prints (no assertions), each offline figure the median of ``--repeats`` runs (default 3) in wall time and in the
process's CPU time (``time.process_time``: the machine is shared, CPU time is the fairer figure), with the load
average from /proc/loadavg: offline price_optimization (the bill-optimising LP with its overrun term, in kVA for a
``kva`` tariff, plus the flat-period levelling: ``strategy.solve_problem``), peak_shaving and valley_filling as the
strategies run them offline (plain vehicles merged into exact super-vehicles, ``optim.aggregate``; with
``--compare-merge`` also with ``merge='off'``), grid support (its two LPs in the reduced band form of
``optim.band``; ``--compare-band`` also in the original form) and renewable integration offline, online re-plans
with 2,000 connected vehicles (price optimisation, peak shaving, valley filling, grid support, renewable
integration), load balancing over a whole day (full simulation), and the price-optimisation LP in
CVXPY solved by the same HiGHS, two ways: (1) *fair*: the same sparse model (variables only while connected: evfleet's
CSC matrix, bounds and costs, overrun term included) written as CVXPY expressions ``A @ x`` -- the PLAIN model, one
set of columns per vehicle, NOT the merged one: the ratio measures what evfleet's structure-exploiting solve gains
over a modelling layer fed the same sparse model; (2) the dense n x H model with masks (the ACN-Sim / EMHASS style,
without the overrun term), with HiGHS's defaults; and the ratios of total times (``--cvxpy-presolve-off`` gives CVXPY
evfleet's HiGHS options). Goals (issues 3 and 13): < 5 s, < 5 s, < 0.5 s, < 0.1 s, ratio >= 5 against the fair model.
The fleet: half the sessions on bidirectional chargers (the generator's default), EV2Gym's 2024 V2G-ready flags unless
``--sourced-v2g``.

Offline price optimisation with V2G solves in two phases (issue 13, ``optim/two_phase.py``: the no-V2G merged LP,
then the full LP started from its optimum, primal simplex, certified by the duality gap); the line
``two_phase=False`` times the path before it (the merged full LP in one cold dual-simplex solve), and the ratio of
the two is printed.

The online re-plans run consecutively in the simulator's receding loop (every vehicle connected, each keeping its
stay), warm-started from the previous re-plan and cold, median of the re-plans after the first, wall and CPU time;
``--only-online`` stops after them. The year of representative days (``evfleet year``) runs at ``--year-vehicles``
(500) vehicles offline (``--year-online``: online too); goal < 60 s.

Run: ``PYTHONPATH=src python benchmarks/bench_strategies.py [--vehicles 2000] [--skip-cvxpy] [--repeats 3]
[--only-online]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections.abc import Callable

import numpy as np

from evfleet.inputs.generate import generate_scenario
from evfleet.problem import build_problem
from evfleet.simulation.control import RecedingLoop, frequency_seed
from evfleet.simulation.engine import Engine, RealisedFrequency
from evfleet.simulation.simulate import SimulationOptions, simulate
from evfleet.strategies import get_strategy
from evfleet.strategies import peak_shaving as peak_shaving_module
from evfleet.strategies.grid_support import GridSupport
from evfleet.strategies.optim.highs import solve
from evfleet.strategies.optim.model import build_model, discharge_eligible

REPEATS = 3


def load() -> str:
    """The 1-minute load average (the machine is shared)."""
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float, object]:
    """Median wall time [s], median CPU time of this process [s] and the last result of ``fn`` over ``repeats``."""
    walls, cpus, out = [], [], None
    for _ in range(max(repeats, 1)):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus), out


def offline_problem(sc):
    v = sc.vehicles
    return build_problem(sc, np.arange(sc.n_vehicles), v.energy_arrival_kwh.copy(), 0, sc.n_steps, True)


def offline(sc, name: str, repeats: int = REPEATS, attrs: dict | None = None, **params) -> tuple[float, float, float]:
    """The strategy's offline solve as it runs it (``solve_problem``); (median wall [s], median CPU [s], objective).
    ``attrs``: strategy attributes set before the solve (e.g. ``{"two_phase": False}``, the path before issue 13)."""
    p = offline_problem(sc)

    def run():
        strat = get_strategy(name, **params)
        for key, value in (attrs or {}).items():
            setattr(strat, key, value)
        strat.start_run()
        return strat.solve_problem(p)

    wall, cpu, sol = timed(run, repeats)
    label = name + "".join(f" {k}={v}" for k, v in {**params, **(attrs or {})}.items())
    print(
        f"offline {label:34s} wall {wall:7.3f} s  cpu {cpu:7.3f} s  (median of {repeats}; last: build "
        f"{sol.build_s:.3f} s, HiGHS {sol.solve_s:.3f} s; {sol.n_col} variables, {sol.n_row} rows, objective "
        f"{sol.objective:.9g}; start {sol.start}, {sol.iterations} simplex iterations in the last HiGHS run; "
        f"load {load()})"
    )
    return wall, cpu, sol.objective


def cvxpy_sparse_price(sc, repeats: int = REPEATS) -> tuple[float, float, float]:
    """The fair comparison: evfleet's own sparse LP (same columns, rows, bounds, costs; the plain model, one set of
    columns per vehicle, not merged) as CVXPY expressions, solved by HiGHS through CVXPY; (median wall [s] from the
    problem to the solution, median CPU [s], objective)."""
    import cvxpy as cp
    import scipy.sparse as sp

    p = offline_problem(sc)
    strat = get_strategy("price_optimization")
    stats = {}

    def run() -> float:
        obj = strat.objective(p)
        m = build_model(p, obj)
        a = sp.csr_matrix(m.matrix)
        x = cp.Variable(m.n_col)
        cons = []
        eq = m.row_lower == m.row_upper
        lo_fin = ~eq & np.isfinite(m.row_lower)
        hi_fin = ~eq & np.isfinite(m.row_upper)
        if eq.any():
            cons.append(a[eq] @ x == m.row_lower[eq])
        if lo_fin.any():
            cons.append(a[lo_fin] @ x >= m.row_lower[lo_fin])
        if hi_fin.any():
            cons.append(a[hi_fin] @ x <= m.row_upper[hi_fin])
        lb_fin = np.isfinite(m.col_lower)
        ub_fin = np.isfinite(m.col_upper)
        cons.append(x[np.flatnonzero(lb_fin)] >= m.col_lower[lb_fin])
        cons.append(x[np.flatnonzero(ub_fin)] <= m.col_upper[ub_fin])
        prob = cp.Problem(cp.Minimize(m.cost @ x), cons)
        prob.solve(solver=cp.HIGHS)  # HiGHS defaults: CVXPY's best configuration (its reformulation needs presolve)
        stats["status"], stats["inside"] = prob.status, prob.solver_stats.solve_time or float("nan")
        return float(prob.value) - (obj.peak_cost or 0.0) * obj.peak_floor_kw

    wall, cpu, value = timed(run, repeats)
    print(f"cvxpy   price_optimization sparse (fair, plain model) wall {wall:7.3f} s  cpu {cpu:7.3f} s (median of "
          f"{repeats}; HiGHS inside {stats['inside']:.3f} s), status {stats['status']}, objective {value:.9g}; "
          f"load {load()}")  # fmt: skip
    return wall, cpu, float(value)


def online_replan(sc, name: str = "price_optimization", replans: int = 5) -> dict[str, float]:
    """Consecutive online re-plans with every vehicle connected (each keeping its stay length): the receding loop
    of the simulator (``RecedingLoop``, the engine applying each first step) over ``replans + 1`` steps, once with
    the warm start of LP re-plans from the previous one and once cold. Prints the median wall and CPU time of the
    re-plans after the first (the first has nothing to start from), and the largest difference between each
    warm-started re-plan's objective and a cold solve of the same model."""
    v = sc.vehicles
    n = sc.n_vehicles
    stay = np.minimum(v.departure_step - v.arrival_step, sc.n_steps)
    vehicles = dataclasses.replace(v, arrival_step=np.zeros(n, dtype=np.int64), departure_step=stay.astype(np.int64))
    sc_all = dataclasses.replace(sc, vehicles=vehicles)
    out: dict[str, float] = {}
    checks: list[tuple[object, float]] = []
    for warm in (True, False):
        strat = get_strategy(name)
        strat.warm_start_online = warm
        strat.start_run()
        wall, cpu = [], []
        if warm:
            solve_model = strat.solve_model

            def keep(model, online=False, _solve=solve_model):
                sol = _solve(model, online)
                checks.append((model, sol.objective))
                return sol

            strat.solve_model = keep
        engine = Engine(sc_all, True, RealisedFrequency(sc_all, frequency_seed(strat)))
        loop = RecedingLoop(sc_all, strat, engine, online=True, horizon_h=24.0)
        for t in range(replans + 1):
            w0, c0 = time.perf_counter(), time.process_time()
            setpoint, reserve = loop.plan(t)
            wall.append(time.perf_counter() - w0)
            cpu.append(time.process_time() - c0)
            engine.step(t, setpoint, reserve)
        label = "warm" if warm else "cold"
        if warm:
            n_warm = strat.start_counts.get("warm", 0)
        out[f"{label}_median_s"] = float(np.median(wall[1:]))
        out[f"{label}_cpu_median_s"] = float(np.median(cpu[1:]))
        print(f"online  {name:20s} re-plan with {n} connected vehicles, {label}: median {np.median(wall[1:]):.3f} s "
              f"(CPU {np.median(cpu[1:]):.3f} s) over re-plans 2-{replans + 1}; first {wall[0]:.3f} s; all "
              f"{[round(x, 3) for x in wall]}; starts {strat.start_counts}")  # fmt: skip
    diff = 0.0
    for model, obj in checks:  # each warm-started model solved again cold
        cold = solve(model, options={"presolve": "off"})
        diff = max(diff, abs(obj - cold.objective) / max(1.0, abs(cold.objective)))
    if not n_warm:  # a QP (HiPO) is never warm-started: both runs are cold, their ratio is only noise
        print(f"online  {name:20s} not warm-started (its model is not an LP): both runs solve cold")
        return out
    print(
        f"online  {name:20s} warm / cold median re-plan = {out['warm_median_s'] / out['cold_median_s']:.2f}x; "
        f"warm-started objectives = cold solves of the same models to {diff:.1e} relative"
    )
    return out


def year_representative(vehicles: int, mode: str = "offline") -> tuple[float, float]:
    """``evfleet year`` (:func:`evfleet.analysis.year.run_year`, the default strategies: price optimisation and
    both baselines on every representative day type) at ``vehicles`` vehicles; (wall s, CPU s)."""
    from evfleet.analysis.year import YearOptions, run_year
    from evfleet.inputs.generate import ScenarioParams

    w0, c0 = time.perf_counter(), time.process_time()
    res = run_year(ScenarioParams(vehicles=vehicles), YearOptions(mode=mode))
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    print(f"year    {len(res.day_types)} representative day types x {len(res.annual)} strategies, {vehicles} vehicles, "
          f"{mode}: {wall:.3f} s (CPU {cpu:.3f} s)")  # fmt: skip
    return wall, cpu


def load_balancing_day(sc) -> None:
    t0 = time.perf_counter()
    r = simulate(sc, "load_balancing", SimulationOptions(mode="offline"))
    t = time.perf_counter() - t0
    print(f"load_balancing whole day ({sc.n_steps} steps, {sc.n_vehicles} sessions, full simulation): {t:.3f} s "
          f"(clips {r.requested_clip_count})")  # fmt: skip


def cvxpy_price(sc, highs_options: dict | None = None) -> tuple[float, float]:
    import cvxpy as cp

    v = sc.vehicles
    p = build_problem(sc, np.arange(sc.n_vehicles), v.energy_arrival_kwh.copy(), 0, sc.n_steps, True)
    t0 = time.perf_counter()
    n, H, dt = p.n_vehicles, p.n_steps, p.dt_h
    conn = p.connected().astype(float)
    nb = p.base_load_kw - p.pv_kw
    elig = discharge_eligible(p)
    e0 = p.energy_kwh
    lo = np.where(elig, np.minimum(p.energy_v2g_floor_kwh, e0), np.minimum(p.energy_floor_kwh, e0))
    hi = np.maximum(p.energy_ceiling_kwh, e0)
    no_ch = (nb > p.import_limit_kw - 1e-9).astype(float)
    no_dis = (nb < -p.export_limit_kw + 1e-9).astype(float)
    ch_ub = conn * (1 - no_ch)[None, :] * p.max_charge_kw[:, None]
    dis_ub = conn * (1 - no_dis)[None, :] * (elig * p.max_discharge_kw)[:, None]
    ch = cp.Variable((n, H), nonneg=True)
    dis = cp.Variable((n, H), nonneg=True)
    e = cp.Variable((n, H))
    imp = cp.Variable(H, nonneg=True)
    exp = cp.Variable(H, nonneg=True)
    tgt = np.flatnonzero(p.departs_in_horizon & (p.departure > p.arrival))
    u = cp.Variable(len(tgt), nonneg=True)
    eta_c = p.charge_efficiency[:, None]
    eta_d = p.discharge_efficiency[:, None]
    e_prev = cp.hstack([cp.reshape(e0, (n, 1), order="C"), e[:, :-1]])
    cons = [
        ch <= ch_ub,
        dis <= dis_ub,
        e == e_prev + cp.multiply(eta_c * dt, ch) - cp.multiply(dt / eta_d, dis),
        e >= lo[:, None],
        e <= hi[:, None],
        imp - exp - cp.sum(ch - dis, axis=0) == nb,
        imp <= np.maximum(p.import_limit_kw, nb),
        exp <= np.maximum(p.export_limit_kw, -nb),
        e[tgt, p.departure[tgt] - 1] + u >= p.energy_target_kwh[tgt],
    ]
    pi = p.price_import_mad_per_kwh
    pe = np.minimum(p.price_export_mad_per_kwh, pi)
    cost = (pi * dt) @ imp - (pe * dt) @ exp + (p.degradation_mad_per_kwh + 1e-4) * dt * cp.sum(dis) + 100.0 * cp.sum(u)
    prob = cp.Problem(cp.Minimize(cost), cons)
    prob.solve(solver=cp.HIGHS, **(highs_options or {}))
    total = time.perf_counter() - t0
    solver_s = prob.solver_stats.solve_time or float("nan")
    print(f"cvxpy   price_optimization   total {total:7.3f} s (HiGHS inside {solver_s:.3f} s, options "
          f"{highs_options or 'default'}), status {prob.status}, objective {prob.value:.6g}")  # fmt: skip
    return total, float(prob.value)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vehicles", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=REPEATS, help="runs per offline figure (the median is printed)")
    ap.add_argument("--skip-cvxpy", action="store_true")
    ap.add_argument("--only-online", action="store_true", help="only the online re-plans")
    ap.add_argument("--year-vehicles", type=int, default=500, help="fleet of the year of representative days")
    ap.add_argument("--year-online", action="store_true", help="also the year in online mode (slow)")
    ap.add_argument("--skip-online", action="store_true", help="skip the online re-plans, load balancing and the year")
    ap.add_argument("--compare-merge", action="store_true", help="also time the offline LPs with merge='off'")
    ap.add_argument(
        "--compare-phase2",
        action="store_true",
        help="also time offline peak shaving with phase 2 on HiGHS's dual simplex (its default) instead of the primal",
    )
    ap.add_argument(
        "--compare-band",
        action="store_true",
        help="also time offline grid support in its original LP form (optim.band off; slow: minutes at 2,000)",
    )
    ap.add_argument(
        "--cvxpy-presolve-off",
        dest="cvxpy_options",
        action="store_const",
        const={"presolve": "off"},
        default=None,
        help="pass presolve='off' to HiGHS in the CVXPY model too (much slower: its dense model needs presolve)",
    )
    ap.add_argument(
        "--sourced-v2g",
        action="store_true",
        help="use the catalogue's sourced V2G flags (few V2G vehicles) instead of EV2Gym's 2024 V2G-ready fleet",
    )
    args = ap.parse_args()
    r = args.repeats
    # EV2Gym's Dutch mix keeps the documented what-if fleet (EV2Gym's 2024 V2G-ready models) comparable
    sc = generate_scenario(vehicles=args.vehicles, seed=args.seed, start="2026-01-15", fleet_mix="ev2gym_nl",
                           v2g_ready_2024=not args.sourced_v2g)  # fmt: skip
    n_v2g = int((sc.vehicles.max_discharge_kw > 0).sum())
    p = offline_problem(sc)
    print(f"scenario {sc.name}: {sc.n_vehicles} sessions x {sc.n_steps} steps, V2G on, {n_v2g} V2G-capable sessions "
          f"({int(discharge_eligible(p).sum())} may discharge); demand measured in "
          f"{'kVA' if p.demand_kva else 'kW'}, overrun {p.overrun_mad_per_kw:.4g} MAD/kW above "
          f"{p.called_power_floor_kw:.0f}; load {load()}")  # fmt: skip
    if not args.skip_online:
        if not args.only_online:
            load_balancing_day(sc)
        online_replan(sc)
        online_replan(sc, "peak_shaving")
        online_replan(sc, "valley_filling", replans=3)
        online_replan(sc, "grid_support", replans=3)
        online_replan(sc, "renewable_integration", replans=3)
    if args.only_online:
        return
    if not args.skip_online:
        year_representative(args.year_vehicles)
        if args.year_online:
            year_representative(args.year_vehicles, "online")
    w_lp, c_lp, obj = offline(sc, "price_optimization", r, tie_break="off")
    w_bill, c_bill, _ = offline(sc, "price_optimization", r)
    # the path before issue 13 (the merged full LP in one cold dual-simplex solve), as an A/B of the two-phase solve
    w_one, c_one, obj_one = offline(sc, "price_optimization", r, attrs={"two_phase": False}, tie_break="off")
    print(f"ratio one cold phase / two-phase price_optimization LP = {w_one / w_lp:.2f}x wall, {c_one / c_lp:.2f}x cpu "
          f"(objectives agree to {abs(obj_one - obj) / max(1.0, abs(obj)):.1e} relative)")  # fmt: skip
    offline(sc, "peak_shaving", r)
    if args.compare_phase2:
        saved, peak_shaving_module.PHASE2_OPTIONS = peak_shaving_module.PHASE2_OPTIONS, {}
        try:
            print("phase 2 on the dual simplex:", end=" ")
            offline(sc, "peak_shaving", r)
        finally:
            peak_shaving_module.PHASE2_OPTIONS = saved
    if args.compare_merge:
        offline(sc, "price_optimization", r, tie_break="off", merge="off")
        offline(sc, "peak_shaving", r, merge="off")
    w_vf, c_vf, obj_vf = offline(sc, "valley_filling", r)
    # the path before issue 16 (HiPO on the full QP), as an A/B of the relaxed, certified solve
    w_vf0, c_vf0, obj_vf0 = offline(sc, "valley_filling", r, attrs={"relaxed_offline": False})
    print(f"ratio full QP / relaxed valley_filling QP = {w_vf0 / w_vf:.2f}x wall, {c_vf0 / c_vf:.2f}x cpu "
          f"(objectives agree to {abs(obj_vf0 - obj_vf) / max(1.0, abs(obj_vf0)):.1e} relative)")  # fmt: skip
    offline(sc, "grid_support", r)
    offline(sc, "renewable_integration", r)
    if args.compare_band:
        GridSupport.band_reduction = False
        try:
            print("grid support in its original LP form (no band reduction):", end=" ")
            offline(sc, "grid_support", 1)
        finally:
            GridSupport.band_reduction = True
    if not args.skip_cvxpy:
        w_fair, c_fair, obj_fair = cvxpy_sparse_price(sc, r)
        print(f"ratio cvxpy sparse (fair) / evfleet LP = {w_fair / w_lp:.2f}x wall, {c_fair / c_lp:.2f}x cpu; "
              f"/ evfleet with levelling = {w_fair / w_bill:.2f}x wall, {c_fair / c_bill:.2f}x cpu "
              f"(objectives agree to {abs(obj_fair - obj) / abs(obj):.1e} relative)")  # fmt: skip
        # CVXPY as ACN-Sim / EMHASS call it (HiGHS defaults). That is CVXPY's best configuration: its dense model
        # relies on HiGHS's presolve (with presolve off, as evfleet runs, HiGHS takes 8 s at only 100 vehicles).
        total_cvx, obj_cvx = cvxpy_price(sc, args.cvxpy_options)
        print(f"ratio cvxpy dense (no overrun term) / evfleet LP = {total_cvx / w_lp:.2f}x wall "
              f"(its objective differs by the overrun term: {obj_cvx:.6g} vs {obj:.6g})")  # fmt: skip


if __name__ == "__main__":
    main()
