"""The flat-period levelling (``optim.level.level_flat_periods``, issue 13): its CPU time and its secondary objective
``1/2 sum imp^2`` over the flat windows, against the previous algorithm (main at 951c40d: 30 FISTA iterations with
the plain step ``1 / max entries per column`` from the LP's schedule, each projection by the exact sort; rewritten
here as a reference, without the final checks of the module, which it does not need for its secondary objective).

Prints (no assertions): on the bench scenario (``bench_strategies.py``'s: 2,000 sessions x 96 steps, seed 1, V2G,
kVA cuts) the median CPU time (``time.process_time``) of ``--repeats`` runs of each, alternated, with the load
average; then, with ``--depots N``, the relative difference of the secondary objectives (new - previous) / previous
on N generated depots (seeds 0..N-1, 20-400 vehicles, V2G on or off), and whether the bill's invariants held.

    PYTHONPATH=src python benchmarks/bench_level.py --repeats 5 --depots 40
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from evfleet.inputs.generate import generate_scenario
from evfleet.problem import build_problem
from evfleet.strategies import get_strategy
from evfleet.strategies.optim.aggregate import charge_upper_kw
from evfleet.strategies.optim.level import flat_windows, level_flat_periods, project_box_sum
from evfleet.strategies.optim.model import kva_cut_value, kva_import_cap_kw


def load() -> str:
    """The 1-minute load average (the machine is shared)."""
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def previous_levelling(problem, upper: np.ndarray, sol) -> np.ndarray:
    """The previous algorithm's site load (H,) [kW] (module docstring)."""
    n, H = problem.n_vehicles, problem.n_steps
    wid = flat_windows(problem, sol.import_kw)
    n_win = int(wid.max()) + 1
    in_win = wid >= 0
    w_safe = np.where(in_win, wid, 0)
    tapered = np.zeros(n, dtype=bool)
    if problem.taper_cut() is not None:
        tapered = np.asarray(problem.taper_cut()[1]) != 0
    dis_in = np.zeros((n, n_win))
    np.add.at(dis_in, (slice(None), w_safe[in_win]), sol.discharge_kw[:, in_win])
    ch_in = np.zeros((n, n_win))
    np.add.at(ch_in, (slice(None), w_safe[in_win]), sol.charge_kw[:, in_win])
    movable = (dis_in <= 1e-9) & ~tapered[:, None] & (ch_in > 1e-9)
    vi, tt = np.nonzero((upper > 1e-12) & in_win[None, :])
    keep = movable[vi, w_safe[tt]]
    vi, tt = vi[keep], tt[keep]
    _, g = np.unique(vi * n_win + w_safe[tt], return_inverse=True)
    ng = int(g.max()) + 1
    u, x0 = upper[vi, tt], sol.charge_kw[vi, tt]
    target = np.bincount(g, x0, minlength=ng)
    fixed = sol.import_kw - sol.export_kw - np.bincount(tt, x0, minlength=H)
    step = 1.0 / int(np.bincount(tt, minlength=H).max())
    x, x_prev, k = x0.copy(), x0.copy(), 1.0
    for _ in range(30):
        k_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * k**2))
        y = x + ((k - 1.0) / k_next) * (x - x_prev)
        total = fixed + np.bincount(tt, y, minlength=H)
        x_prev, x, k = x, project_box_sum(y - step * total[tt], u, g, target, ng), k_next
    return fixed + np.bincount(tt, x, minlength=H)


def lp_solution(sc, v2g: bool):
    """The problem, the LP solution (``tie_break='off'``), the charging bound and the kVA cap of ``sc``."""
    p = build_problem(sc, np.arange(sc.n_vehicles), sc.vehicles.energy_arrival_kwh.copy(), 0, sc.n_steps, v2g)
    strat = get_strategy("price_optimization", tie_break="off")
    strat.start_run()
    sol = strat.solve_problem(p)
    q = strat.objective(p).peak_reactive_kvar
    cap = None
    if q is not None:  # as PriceOptimization.solve_problem
        cap = kva_import_cap_kw(kva_cut_value(sol.import_kw, q), q)
    return p, sol, charge_upper_kw(p), cap


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vehicles", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--depots", type=int, default=0, help="also compare on this many generated depots")
    args = ap.parse_args()
    sc = generate_scenario(vehicles=args.vehicles, seed=1, start="2026-01-15", fleet_mix="ev2gym_nl",
                           v2g_ready_2024=True)  # fmt: skip
    p, sol, upper, cap = lp_solution(sc, True)
    win = flat_windows(p, sol.import_kw) >= 0
    cpu = {"previous": [], "new": []}
    for _ in range(max(args.repeats, 1)):
        c0 = time.process_time()
        site_old = previous_levelling(p, upper, sol)
        cpu["previous"].append(time.process_time() - c0)
        c0 = time.process_time()
        out = level_flat_periods(p, upper, sol, import_cap_kw=cap)
        cpu["new"].append(time.process_time() - c0)
    sec_old = 0.5 * float((np.maximum(site_old, 0)[win] ** 2).sum())
    sec_new = 0.5 * float((out.import_kw[win] ** 2).sum())
    print(f"{args.vehicles} vehicles: levelling CPU previous {statistics.median(cpu['previous']):.4f} s, new "
          f"{statistics.median(cpu['new']):.4f} s (median of {args.repeats}, alternated; load {load()}); secondary "
          f"objective LP {0.5 * float((sol.import_kw[win] ** 2).sum()):.4f}, previous {sec_old:.4f}, new "
          f"{sec_new:.4f} kW^2; peak LP {sol.import_kw.max():.2f}, new {out.import_kw.max():.2f} kW")  # fmt: skip
    worst, held = -np.inf, True
    for seed in range(args.depots):
        rng = np.random.default_rng(seed)
        n = int(rng.choice([20, 60, 150, 400]))
        sc = generate_scenario(vehicles=n, seed=seed, start="2026-01-15", fleet_mix="ev2gym_nl",
                               v2g_ready_2024=bool(rng.integers(2)))  # fmt: skip
        p, sol, upper, cap = lp_solution(sc, bool(rng.integers(2)))
        win = flat_windows(p, sol.import_kw) >= 0
        if not win.any():
            continue
        out = level_flat_periods(p, upper, sol, import_cap_kw=cap)
        old = 0.5 * float((np.maximum(previous_levelling(p, upper, sol), 0)[win] ** 2).sum())
        rel = (0.5 * float((out.import_kw[win] ** 2).sum()) - old) / max(old, 1.0)
        worst = max(worst, rel)
        held &= bool(np.abs(out.charge_kw.sum(1) - sol.charge_kw.sum(1)).max() < 1e-8)
        held &= bool(out.import_kw.min() >= 0 and out.import_kw.max() <= sol.import_kw.max() + 1e-6)
        print(f"depot seed {seed}: {n} vehicles, (new - previous) / previous secondary {rel:+.2e}")
    if args.depots:
        print(f"worst (new - previous) / previous over {args.depots} depots: {worst:+.2e}; energies and peaks kept: "
              f"{held}")  # fmt: skip


if __name__ == "__main__":
    main()
