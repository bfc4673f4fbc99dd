"""Grid support offline, the reduced band form (``strategies/optim/band.py``) against the original LP form, A/B.

Prints (no assertions), for each mode in ``--modes`` in the given order (alternate them: the machine is shared),
the wall and CPU time (``time.process_time``) of ``GridSupport.solve_problem`` on the whole day, its objective and
the 1-min load average. ``old`` sets ``GridSupport.band_reduction = False`` (the original LPs; minutes at 2,000
vehicles); ``new`` is the default. ``--online`` adds the online re-plans of ``bench_strategies.online_replan``.

Run: ``PYTHONPATH=src python benchmarks/bench_grid_support.py --vehicles 500 --modes old,new,old,new
[--fleet bench] [--online]`` (``--fleet bench``: the V2G-ready fleet of ``bench_strategies.py``).
"""

from __future__ import annotations

import argparse
import time

from bench_strategies import load, offline_problem, online_replan

from evfleet.inputs.generate import generate_scenario
from evfleet.strategies import get_strategy
from evfleet.strategies.grid_support import GridSupport


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vehicles", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--fleet", choices=("default", "bench"), default="default")
    ap.add_argument("--modes", default="new,old,new", help="comma-separated 'new'/'old', run in this order")
    ap.add_argument("--online", action="store_true", help="also the online re-plans (new form)")
    args = ap.parse_args()
    kw = {"fleet_mix": "ev2gym_nl", "v2g_ready_2024": True} if args.fleet == "bench" else {}
    sc = generate_scenario(vehicles=args.vehicles, seed=args.seed, start="2026-01-15", **kw)
    p = offline_problem(sc)
    for mode in args.modes.split(","):
        GridSupport.band_reduction = mode == "new"
        strat = get_strategy("grid_support")
        strat.start_run()
        w0, c0 = time.perf_counter(), time.process_time()
        sol = strat.solve_problem(p)
        print(f"offline grid_support {mode} {args.vehicles} vehicles ({args.fleet} fleet): wall "
              f"{time.perf_counter() - w0:.2f} s cpu {time.process_time() - c0:.2f} s objective "
              f"{sol.objective:.10g} load {load()}", flush=True)  # fmt: skip
    GridSupport.band_reduction = True
    if args.online:
        online_replan(sc, "grid_support", replans=3)


if __name__ == "__main__":
    main()
