"""Benchmark of the grid-quality assessment: all indicators for 2,000 vehicles x 96 steps (goal: well under 0.5 s).

Prints the wall time of :func:`evfleet.gridquality.assess.assess` (median of repeats; scenario generation and the
simulation excluded) with every charger type present: the whole assessment (charger layout, both harmonic
summations, voltage unbalance, billed cos φ, LV cables, alerts), for the default placement by the charger layout's
wiring and for the ``balanced`` placement (which adds a one-off greedy assignment of the 1-phase chargers), plus
the ratio to the goal.

Run: ``python benchmarks/bench_power_quality.py``.
"""

from __future__ import annotations

import statistics
import time

from evfleet.gridquality.assess import assess
from evfleet.gridquality.site import SiteElectrical
from evfleet.inputs.generate import generate_scenario
from evfleet.simulation.simulate import simulate

GOAL_S = 0.5
MIX = {"ac7.4": 0.2, "ac11": 0.4, "ac22": 0.2, "dc50": 0.1, "dc150": 0.1}


def bench(n: int, step_minutes: int, repeats: int, el: SiteElectrical, label: str) -> None:
    sc = generate_scenario(vehicles=n, seed=1, start="2026-06-15", step_minutes=step_minutes, charger_mix=MIX)
    result = simulate(sc, "uncontrolled")
    assess(result, el)  # warm-up (file caches)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        rep = assess(result, el)
        times.append(time.perf_counter() - t0)
    wall = statistics.median(times)
    print(
        f"{sc.n_vehicles} sessions x {sc.n_steps} steps ({step_minutes} min), {label}: assess {wall:.3f} s "
        f"(median of {repeats}, min {min(times):.3f}), {wall / GOAL_S:.2f}x the {GOAL_S} s goal, "
        f"{sc.n_vehicles * sc.n_steps / wall:,.0f} vehicle-steps/s; TDD max {rep.summary['pq_tdd_pct_max']:.2f} %, "
        f"{len(rep.events)} events"
    )


def main() -> None:
    bench(2000, 15, 9, SiteElectrical(), "wiring phases (charger layout)")
    bench(2000, 15, 5, SiteElectrical(phase_assignment="balanced"), "balanced phases")
    bench(2000, 15, 5, SiteElectrical(harmonic_summation="correlated", capacitor_bank_step_kvar=50.0,
                                      capacitor_bank_steps=10), "correlated summation, capacitor bank")  # fmt: skip
    bench(2000, 5, 3, SiteElectrical(), "wiring phases (charger layout)")


if __name__ == "__main__":
    main()
