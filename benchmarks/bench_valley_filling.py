"""Offline valley filling: the relaxed, certified QP (issue 16) against the full QP, alternately (A/B).

Prints (no assertions), per run, one fresh process each (``--pairs`` pairs, old then new): the CPU time
(``time.process_time``, the fairer figure on a shared machine), the wall time, the build and HiGHS times, the
objective, how the solve started (``relaxed`` when certified, ``relaxed-rejected: <reason>`` after a fallback,
``cold`` for the full QP) and the load average. "old" is ``ValleyFilling.relaxed_offline = False`` (HiPO on the
full model, the path before issue 16), "new" the default. The problem is the offline benchmark problem of
``bench_strategies.offline_problem`` (every vehicle of the generated depot over the whole horizon)::

    PYTHONPATH=src python benchmarks/bench_valley_filling.py --vehicles 2000 --seed 1 --pairs 3
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path


def one(vehicles: int, seed: int, variant: str) -> None:
    """Solve once in this process and print the figures."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_strategies import offline_problem

    from evfleet.inputs.generate import generate_scenario
    from evfleet.strategies import get_strategy

    p = offline_problem(generate_scenario(vehicles=vehicles, seed=seed))
    strat = get_strategy("valley_filling")
    strat.relaxed_offline = variant == "new"
    strat.start_run()
    w, c = time.perf_counter(), time.process_time()
    sol = strat.solve_problem(p)
    cpu, wall = time.process_time() - c, time.perf_counter() - w
    print(
        f"{variant}  vehicles {vehicles} seed {seed}  cpu {cpu:.2f} s  wall {wall:.2f} s  build {sol.build_s:.2f} s"
        f"  HiGHS {sol.solve_s:.2f} s  objective {sol.objective:.10g}  start {sol.start}"
        f"  load {os.getloadavg()[0]:.2f}",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vehicles", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pairs", type=int, default=3, help="old/new pairs, alternately")
    ap.add_argument("--one", choices=("old", "new"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        one(args.vehicles, args.seed, args.one)
        return
    for _ in range(args.pairs):
        for variant in ("old", "new"):
            cmd = [sys.executable, __file__, "--vehicles", str(args.vehicles), "--seed", str(args.seed)]
            subprocess.run([*cmd, "--one", variant], check=True)


if __name__ == "__main__":
    main()
