"""Benchmark of the core engine: uncontrolled runs at 2,000 vehicles.

Prints wall time (median of repeats, scenario generation/loading excluded), vehicle-steps per second, the ratio to
EV2Gym 2.0.0's reference rate (3.5 s for one 112-step episode at 2,000 chargers, i.e. 64,000 vehicle-steps/s,
as measured and reported in issue #2 on this kind of machine) and the process's peak resident memory.

Run: ``python benchmarks/bench_engine.py`` (or ``make bench``).
"""

from __future__ import annotations

import resource
import statistics
import sys
import time

from evfleet.inputs.generate import generate_scenario
from evfleet.simulation.simulate import simulate

EV2GYM_VEHICLE_STEPS_PER_S = 2000 * 112 / 3.5


def bench(n: int, step_minutes: int, repeats: int) -> None:
    t0 = time.perf_counter()
    sc = generate_scenario(vehicles=n, seed=1, start="2026-06-15", step_minutes=step_minutes)
    gen_s = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        simulate(sc, "uncontrolled")
        times.append(time.perf_counter() - t0)
    wall = statistics.median(times)
    rate = sc.n_vehicles * sc.n_steps / wall
    print(
        f"{sc.n_vehicles} sessions x {sc.n_steps} steps ({step_minutes} min): run {wall:.3f} s (median of {repeats}), "
        f"{rate:,.0f} vehicle-steps/s, {rate / EV2GYM_VEHICLE_STEPS_PER_S:.1f}x EV2Gym's rate; "
        f"scenario generation {gen_s:.2f} s"
    )


def main() -> None:
    bench(2000, 15, repeats=7)
    bench(2000, 1, repeats=3)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform != "darwin" else 1024**2)
    print(f"peak resident memory: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
