"""The two-phase offline solve of an LP with V2G: the no-V2G optimum, then the full model started from it.

Units: power [kW], energy [kWh], objective [MAD or the strategy's unit], times [s].

(1) The same problem without discharging (``max_discharge_kw = 0``: every vehicle without a DC taper is plain,
merged into exact super-vehicles by :mod:`~evfleet.strategies.optim.aggregate`: a much smaller, faster LP). Its
optimum is a feasible point of the full model: charging only, from ``e0``, keeps every energy window (the V2G
floor is at most ``e0``), the ceilings, the targets (with the same unmet slack) and the site limits.
(2) The full model (one set of columns per vehicle, not merged), its simplex started from that point
(:func:`~evfleet.strategies.optim.warm.complete_start`; HiGHS turns it into a starting basis) with ``phase2_options``
(the primal simplex, ``simplex_strategy`` 4, keeps the feasible start feasible). Phase 2 is accepted only when its
duality gap certifies the optimum, else the full model is solved again cold with the dual simplex
(:func:`~evfleet.strategies.optim.highs.solve`): the result is the optimum of the full model, only found faster.

Measured at 2,000 vehicles x 96 steps with V2G (docs/benchmarks.md): peak shaving ~3.6 s of CPU instead of
~10.5 s cold; price optimisation ~0.5-0.6 s instead of ~1.6-1.9 s (the merged full model in one cold dual-simplex
solve). Phase 2 on the *merged* full model is slower (price optimisation: 5,400 primal iterations, 2.3 s, against
1,400 and 0.37 s unmerged), hence the plain full model.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np

from evfleet.problem import ChargingProblem
from evfleet.strategies.optim.aggregate import solve_merged
from evfleet.strategies.optim.highs import Solution, solve
from evfleet.strategies.optim.model import Objective, build_model
from evfleet.strategies.optim.warm import complete_start

__all__ = ["solve_two_phase"]


def solve_two_phase(
    problem: ChargingProblem,
    objective_of: Callable[[ChargingProblem], Objective],
    phase2_options: dict,
    time_limit_s: float = 600.0,
    options: dict | None = None,
) -> Solution:
    """The optimum of ``problem``'s full model under ``objective_of(problem)`` by the two phases of the module
    docstring. ``objective_of`` is called for the no-V2G problem too (the strategy's objective); ``options`` go to
    both HiGHS runs, ``phase2_options`` only to the warm-started one. The solution's ``build_s`` and ``solve_s``
    add up both phases [s]; its ``start`` says "warm" (certified) or "warm-rejected" (solved again cold)."""
    t0 = time.perf_counter()
    no_v2g = dataclasses.replace(problem, max_discharge_kw=np.zeros(problem.n_vehicles))
    obj1 = objective_of(no_v2g)
    first = solve_merged(no_v2g, obj1, time_limit_s=time_limit_s, options=options)
    t1 = time.perf_counter()
    model = build_model(problem, objective_of(problem))
    # the same slots in both problems (only the discharge bound differs): the phase-1 charging, no discharging
    x = np.zeros(model.n_col)
    cols = model.layout
    x[cols.span("ch")] = np.clip(first.charge_kw[model.slot_vehicle, model.slot_col], model.col_lower[cols.span("ch")],
                                 model.col_upper[cols.span("ch")])  # fmt: skip
    start = complete_start(model, x)
    t_map = time.perf_counter() - t1 - model.build_s
    sol = solve(model, time_limit_s=time_limit_s, options=options, start=start, warm_options=phase2_options)
    phase1_build = (t1 - t0) - first.solve_s
    return dataclasses.replace(sol, build_s=sol.build_s + phase1_build + t_map, solve_s=sol.solve_s + first.solve_s)
