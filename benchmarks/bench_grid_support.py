"""Grid support offline, the reduced band form (``strategies/optim/band.py``) against the original LP form, A/B.

Prints (no assertions), for each mode in ``--modes`` in the given order (alternate them: the machine is shared),
the wall and CPU time (``time.process_time``) of ``GridSupport.solve_problem`` on the whole day, its objective and
the 1-min load average. ``old`` sets ``GridSupport.band_reduction = False`` (the original LPs; minutes at 2,000
vehicles); ``new`` is the default. ``--online`` adds the online re-plans of ``bench_strategies.online_replan``.
The steps of issue 16's second round, each switched off alone from ``new``: ``-group`` (lazy rows added one by
one, ``LazyBandSolver.grouped``), ``-taper`` (the plain DC taper cuts in the core, ``band.LAZY_TAPER``),
``-ceiling`` (target and ceiling as two rows, ``band.MERGE_CEILING``), ``-warm`` (the first LP from the slack
basis, ``GridSupport.band_warm_start``); ``reduced0`` switches all four off (the reduced form before them).
``--rounds`` prints every HiGHS run of the reduced LPs (the lazy-row rounds: iterations, CPU, rows).

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
from evfleet.strategies.optim import band

#: the switches of the steps: mode -> (grouped, LAZY_TAPER, MERGE_CEILING, band_warm_start)
STEPS = {
    "new": (True, True, True, True),
    "old": (True, True, True, True),
    "reduced0": (False, False, False, False),
    "-group": (False, True, True, True),
    "-taper": (True, False, True, True),
    "-ceiling": (True, True, False, True),
    "-warm": (True, True, True, False),
}


class _TimedHighs:
    """A HiGHS instance that records each ``run`` (simplex iterations, CPU [s], rows) in ``log``."""

    def __init__(self, h, log: list) -> None:
        self._h, self._log = h, log

    def __getattr__(self, name: str):
        return getattr(self._h, name)

    def run(self):
        c0 = time.process_time()
        out = self._h.run()
        self._log.append((int(self._h.getInfo().simplex_iteration_count), time.process_time() - c0,
                          self._h.getNumRow()))  # fmt: skip
        return out


def time_rounds(log: list) -> None:
    """Record every HiGHS run of the lazy band solver (the rounds) in ``log``."""
    init = band.LazyBandSolver.__init__

    def timed_init(self, *args, **kwargs) -> None:
        init(self, *args, **kwargs)
        self.h = _TimedHighs(self.h, log)

    band.LazyBandSolver.__init__ = timed_init


def set_mode(mode: str) -> None:
    """Set the class and module switches of ``mode`` (see the module docstring)."""
    grouped, taper, ceiling, warm = STEPS[mode]
    GridSupport.band_reduction = mode != "old"
    band.LazyBandSolver.grouped = grouped
    band.LAZY_TAPER = taper
    band.MERGE_CEILING = ceiling
    GridSupport.band_warm_start = warm


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vehicles", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--fleet", choices=("default", "bench"), default="default")
    ap.add_argument(
        "--modes", default="new,old,new", help="comma-separated modes (" + ", ".join(STEPS) + "), run in this order"
    )
    ap.add_argument("--online", action="store_true", help="also the online re-plans (new form)")
    ap.add_argument("--start", default="2026-01-15", help="scenario start date ('default': generate_scenario's, "
                    "the dashboard's)")  # fmt: skip
    ap.add_argument("--rounds", action="store_true", help="print each HiGHS run of the reduced LPs")
    args = ap.parse_args()
    rounds: list = []
    if args.rounds:
        time_rounds(rounds)
    kw = {"fleet_mix": "ev2gym_nl", "v2g_ready_2024": True} if args.fleet == "bench" else {}
    if args.start != "default":
        kw["start"] = args.start
    sc = generate_scenario(vehicles=args.vehicles, seed=args.seed, **kw)
    p = offline_problem(sc)
    for mode in args.modes.split(","):
        set_mode(mode)
        strat = get_strategy("grid_support")
        strat.start_run()
        w0, c0 = time.perf_counter(), time.process_time()
        sol = strat.solve_problem(p)
        print(f"offline grid_support {mode} {args.vehicles} vehicles ({args.fleet} fleet): wall "
              f"{time.perf_counter() - w0:.2f} s cpu {time.process_time() - c0:.2f} s objective "
              f"{sol.objective:.12g} (start {sol.start}) load {load()}", flush=True)  # fmt: skip
        if args.rounds:
            print("  HiGHS runs (iterations, CPU s, rows):", [(i, round(c, 3), r) for i, c, r in rounds])
            rounds.clear()
    set_mode("new")
    if args.online:
        online_replan(sc, "grid_support", replans=3)


if __name__ == "__main__":
    main()
