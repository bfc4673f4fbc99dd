"""Sweep throughput: points per minute for a 200-vehicle day, plain loop vs Dask on 1 and 2 local workers.

Each point generates a 200-vehicle, 1-day scenario (15-min steps), runs the strategy and its uncontrolled
baseline and computes the KPIs: the real :func:`evfleet.batch.sweep.run_sweep` path, checkpoint writes included.

- plain loop: ``run_sweep(..., client=None)`` in this process;
- Dask: ``run_sweep(..., client=Client(LocalCluster(n_workers=k, threads_per_worker=1, processes=True)))``; the
  cluster is started and the workers warmed up (imports and one point each) before the clock starts.

Reported: points/min, speed-up of 2 workers over 1, and the overhead per task of Dask on 1 worker versus the plain
loop ((T_dask1 - T_loop) / points). Run on an otherwise idle machine; other load on the 2 cores shows directly in
the speed-up, and as in-task wall time well above the task's CPU time.

    python benchmarks/bench_sweep.py [--points 24] [--strategy price_optimization] [--vehicles 200]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from evfleet.batch import sweep as sweep_mod
from evfleet.batch.spec import parse_spec
from evfleet.batch.sweep import run_sweep
from evfleet.strategies import REGISTRY


def _spec(strategy: str, vehicles: int, seeds: range) -> object:
    return parse_spec(
        {
            "base": {"vehicles": vehicles, "days": 1, "start": "2026-06-01", "strategy": strategy},
            "grid": {"seed": list(seeds)},
        }
    )


def _timed(spec: object, client: object) -> tuple[float, float, float]:
    """(wall time of the sweep [s], mean wall time inside one task [s], mean CPU time of one task [s])."""
    out = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    try:
        sweep_mod._BASELINE_CACHE.clear()
        t0 = time.perf_counter()
        outcome = run_sweep(spec, out, client=client, progress=False)
        elapsed = time.perf_counter() - t0
        if outcome.errors or outcome.n_run != len(outcome.table):
            raise RuntimeError(f"benchmark sweep failed: {outcome.errors[:1]}")
        t = outcome.table
        return elapsed, float(t["point_runtime_s"].mean()), float(t["point_cpu_s"].mean())
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _dask(k: int, spec: object, warm: object) -> tuple[float, float, float]:
    from evfleet.batch.cluster import dask_client

    with dask_client(workers=k) as client:  # the local cluster `evfleet sweep --workers k` runs on
        _timed(warm, client)  # one point per worker: first-call caches (catalogue, tariff, pvlib)
        return _timed(spec, client)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = "price_optimization" if "price_optimization" in REGISTRY else "uncontrolled"
    ap.add_argument("--points", type=int, default=24)
    ap.add_argument("--vehicles", type=int, default=200)
    ap.add_argument("--strategy", default=default, choices=list(REGISTRY))
    args = ap.parse_args()
    n = args.points
    spec = _spec(args.strategy, args.vehicles, range(1000, 1000 + n))
    warm = _spec(args.strategy, args.vehicles, range(2))
    print(f"{n} points: {args.vehicles} vehicles x 1 day (96 steps), strategy {args.strategy} + uncontrolled baseline")
    print(f"cores usable: {len(os.sched_getaffinity(0))}, load average before: {os.getloadavg()[0]:.2f}")

    _timed(warm, None)  # warm the in-process caches
    t_loop, in_loop, cpu_loop = _timed(spec, None)
    t1, in1, cpu1 = _dask(1, spec, warm)
    t2, in2, cpu2 = _dask(2, spec, warm)
    for label, t, inside, cpu in (("plain loop     ", t_loop, in_loop, cpu_loop), ("Dask, 1 worker ", t1, in1, cpu1),
                                  ("Dask, 2 workers", t2, in2, cpu2)):  # fmt: skip
        print(
            f"{label}: {t:7.2f} s  {60.0 * n / t:8.1f} points/min  "
            f"(in-task wall {1000 * inside:.0f} ms, CPU {1000 * cpu:.0f} ms per point)"
        )
    print(f"speed-up 2 vs 1 worker: {t1 / t2:.2f}x  (goal >= 1.7x)")
    print(f"speed-up 2 workers vs plain loop: {t_loop / t2:.2f}x")
    print(f"Dask overhead per task vs plain loop (1 worker): {1000 * (t1 - t_loop) / n:+.1f} ms")
    print(f"  of which outside the task (scheduling, transfer, checkpoint): {1000 * (t1 / n - in1):+.1f} ms")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
