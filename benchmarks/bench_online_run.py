"""Cost of one dashboard run in online mode (receding horizon), outside the dashboard: where its time goes.

Run: ``PYTHONPATH=src python benchmarks/bench_online_run.py [--vehicles 2000] [--strategy price_optimization]
[--v2g 1]``. Generates the dashboard's scenario for that fleet size (``evfleet.dashboard.state.scenario_params``),
then simulates it offline and online in this process (wall and CPU time [s], ``time.process_time``), the online
run under ``cProfile``: the number of re-plans and the time [s] in HiGHS (``highspy`` ``run``), in the levelling of
flat periods, in building the models, and the rest (simulation, forecasts, bookkeeping). Then the same online run
twice in a fresh worker process as the dashboard's background uses (``spawn``; the worker's own CPU time from
``/proc``, Linux; this script's imports are repeated in the worker when it starts, so neither run pays for them).
Prints the load average: on a shared machine the wall times depend on it, the CPU times much less.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing
import os
import pstats
import time
from concurrent.futures import ProcessPoolExecutor

from evfleet.dashboard import solver_process, state
from evfleet.simulation.simulate import SimulationOptions, simulate

#: profile entries summed into each reported part: (file name suffix, function name)
PARTS = {
    "highs_run_s": [("~", "<built-in method highspy._core.run>")],
    "levelling_s": [("optim/level.py", "level_flat_periods")],
    "model_build_s": [("optim/model.py", "build_model")],
}


def _cum(stats: pstats.Stats, entries: list[tuple[str, str]]) -> float:
    total = 0.0
    for (path, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if any(path.endswith(p) and func == f for p, f in entries):
            total += ct
    return total


def _calls(stats: pstats.Stats, suffix: str, func: str) -> int:
    return sum(v[1] for (p, _l, f), v in stats.stats.items() if p.endswith(suffix) and f == func)  # type: ignore[attr-defined]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vehicles", type=int, default=2000)
    ap.add_argument("--strategy", default="price_optimization")
    ap.add_argument("--v2g", type=int, choices=[0, 1], default=1)
    args = ap.parse_args()
    v2g = bool(args.v2g)
    params = state.scenario_params(args.vehicles)
    key = state._params_key(params)
    sc = state._generated(key, json.dumps(params, default=str))
    out: dict = {"vehicles": args.vehicles, "strategy": args.strategy, "v2g": v2g, "load_before": os.getloadavg()}
    t0, c0 = time.perf_counter(), time.process_time()
    simulate(sc, args.strategy, SimulationOptions(mode="offline", v2g=v2g))
    out["offline"] = {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}
    prof = cProfile.Profile()
    t0, c0 = time.perf_counter(), time.process_time()
    prof.enable()
    simulate(sc, args.strategy, SimulationOptions(mode="online", v2g=v2g))
    prof.disable()
    online = {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}
    stats = pstats.Stats(prof)
    parts = {name: _cum(stats, entries) for name, entries in PARTS.items()}
    total = sum(v[3] for (p, _l, f), v in stats.stats.items() if f == "simulate" and p.endswith("simulate.py"))  # type: ignore[attr-defined]
    parts["rest_s"] = total - sum(parts.values())
    online["replans"] = _calls(stats, "optim/receding.py", "plan_first_step")
    online["steps"] = sc.n_steps
    online["profiled_s"] = total
    online.update(parts)
    out["online_in_process"] = online
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        pool.submit(int, 0).result()
        pid = next(iter(pool._processes))  # type: ignore[attr-defined]
        path = solver_process._class_path(args.strategy)
        runs = []
        for _ in range(2):
            cpu0, t0 = solver_process._cpu_s(pid), time.perf_counter()
            pool.submit(solver_process._simulate, sc, args.strategy, path, "online", v2g).result()
            cpu1 = solver_process._cpu_s(pid)
            runs.append({"wall_s": time.perf_counter() - t0,
                         "worker_cpu_s": None if cpu0 is None or cpu1 is None else cpu1 - cpu0})  # fmt: skip
        out["online_in_worker"] = runs
    out["load_after"] = os.getloadavg()
    print(json.dumps(out, indent=1, default=float))


if __name__ == "__main__":
    main()
