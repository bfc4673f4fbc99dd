"""`evfleet run` end to end at depot scale: total wall time, the strategy's solve and everything else (issue 13).

Prints (no assertions), median of ``--repeats`` runs of ``python -m evfleet.cli run SCENARIO --out DIR --strategy S``
in a fresh process each (a temporary run store): the total wall time and the child's CPU time, the simulation's
``runtime_s`` and the strategy's ``strategy_build_s + strategy_solve_s`` (from ``kpis.json``), and the overhead
outside the solve (total - build - solve) and outside the simulation (total - runtime_s). Goal: overhead outside
the solve <= 1 s at 500 vehicles. The same with ``--no-store``, and the bare import of the CLI (``python -c
"import evfleet.cli"``), to show where the rest goes. The machine's load (``/proc/loadavg``) is printed: on a shared
machine, compare CPU times.

Run: ``PYTHONPATH=src python benchmarks/bench_cli.py [--vehicles 500] [--strategy price_optimization]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _child_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run ``cmd``; (wall seconds, CPU seconds of the child)."""
    c0, w0 = _child_cpu_s(), time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - w0, _child_cpu_s() - c0


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vehicles", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--strategy", default="price_optimization")
    ap.add_argument("--mode", default="offline")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "EVFLEET_DB": str(Path(tmp) / "runs.db")}
        # as an installed evfleet runs: with bytecode caching (a sandbox's PYTHONDONTWRITEBYTECODE=1 recompiles
        # every module at each start, ~0.2-0.4 s); the scenario command below warms the cache
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        scen = Path(tmp) / "scenario.json"
        subprocess.run([py, "-m", "evfleet.cli", "scenario", "new", "--out", str(scen), "--vehicles",
                        str(args.vehicles), "--seed", str(args.seed), "--start", "2026-01-15"], check=True, env=env,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        print(f"evfleet run, {args.vehicles} vehicles, {args.strategy}, {args.mode}; load {loadavg()}")
        for store in (True, False):
            rows = []
            for k in range(args.repeats):
                out = Path(tmp) / f"run-{store}-{k}"
                cmd = [py, "-m", "evfleet.cli", "run", str(scen), "--out", str(out), "--strategy", args.strategy,
                       "--mode", args.mode, "--quiet"] + ([] if store else ["--no-store"])  # fmt: skip
                wall, cpu = timed(cmd, env)
                kpis = json.loads((out / "kpis.json").read_text())
                solve = float(kpis.get("strategy_build_s") or 0.0) + float(kpis.get("strategy_solve_s") or 0.0)
                rows.append((wall, cpu, float(kpis["runtime_s"]), solve))
            wall, cpu, sim, solve = np.median(np.array(rows), axis=0)
            label = "with the run store" if store else "--no-store"
            print(f"  {label:18s} total {wall:6.3f} s (CPU {cpu:6.3f} s)  simulation {sim:6.3f} s  build+solve "
                  f"{solve:6.3f} s  outside the solve {wall - solve:6.3f} s  outside the simulation {wall - sim:6.3f} s"
                  f"  (median of {args.repeats}; all totals {[round(r[0], 3) for r in rows]})")  # fmt: skip
        imports = [timed([py, "-c", "import evfleet.cli"], env) for _ in range(args.repeats)]
        w, c = np.median(np.array(imports), axis=0)
        print(f"  import evfleet.cli  {w:6.3f} s (CPU {c:6.3f} s); load {loadavg()}")


if __name__ == "__main__":
    main()
