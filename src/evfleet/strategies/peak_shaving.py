"""Peak shaving: minimise the peak of site import while every vehicle reaches its target (LP).

Units: power [kW], energy [kWh], prices [MAD/kWh].

Objective (``z`` the peak import [kW], ``w`` the cost tie-breaker [kW/MAD], default 1e-3)::

    min  z + w * (net cost as in price_optimization) + M * sum_i u_i
    s.t. imp_t <= z  for every column t,  plus the fleet model of :mod:`evfleet.strategies.optim.model`

With V2G, vehicles above their V2G floor discharge to shave base-load peaks (and recharge later). ``M`` defaults
to ``10 / (eta_min * dt) + 100 w`` per kWh: more than the largest peak reduction one kWh of unmet energy could
buy (one kWh moved out of one step lowers that step by at most ``1 / (eta * dt)`` kW).

Offline with V2G (``merge='plain'``), the LP is solved in two phases (:mod:`~evfleet.strategies.optim.two_phase`,
shared with price optimisation): (1) the same problem without discharging (every vehicle plain, merged by
:mod:`~evfleet.strategies.optim.aggregate`: a smaller, faster LP), whose optimum is a feasible point of the full
model; (2) the full model, its simplex started from that point (:mod:`~evfleet.strategies.optim.warm`). Phase 2 is
accepted only when its duality gap certifies the optimum (else it is solved again cold,
:func:`~evfleet.strategies.optim.highs.solve`): the result is the optimum of the full model, only found faster.
Phase 2 runs HiGHS's primal simplex (:data:`PHASE2_OPTIONS`), which keeps the feasible start feasible (2,000
vehicles x 96 steps, V2G: ~3.6 s of CPU; ~7.8 s with a dual-simplex phase 2, ~10.5 s in one cold phase;
docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from evfleet.strategies.base import ChargingProblem
from evfleet.strategies.optim.highs import Solution
from evfleet.strategies.optim.model import Objective, discharge_eligible
from evfleet.strategies.optim.receding import OptimizingStrategy, SolverParams, min_dt_eta
from evfleet.strategies.optim.two_phase import solve_two_phase
from evfleet.strategies.params import StrategyParams, param
from evfleet.strategies.price_optimization import price_objective

__all__ = ["PHASE2_OPTIONS", "PeakShaving", "PeakShavingParams"]

#: HiGHS options of phase 2 (the warm-started full model): the primal simplex (``simplex_strategy`` 4). The
#: phase-1 point is primal feasible in the full model and near its optimum: the primal simplex keeps it feasible
#: and needs ~800 iterations where the dual simplex takes ~7,000 from the same start (2,000 vehicles x 96 steps,
#: V2G; docs/benchmarks.md). A cold re-solve (a rejected certificate) runs with the dual simplex again.
PHASE2_OPTIONS: dict[str, int] = {"simplex_strategy": 4}


@dataclass(frozen=True)
class PeakShavingParams(SolverParams):
    """Parameters of :class:`PeakShaving` (and the solver parameters of :class:`SolverParams`)."""

    unmet_penalty: float | None = param(
        None, "M: penalty of a kWh left unmet at departure", "kW per kWh", gt=0.0,
        default_doc="10 / (eta_min dt) + 100 tie_breaker",
    )  # fmt: skip
    tie_breaker: float = param(1e-3, "w: weight of the net cost, breaks ties between equal peaks", "kW/MAD", ge=0.0)


class PeakShaving(OptimizingStrategy):
    """Minimum peak import, ties broken by net cost."""

    name = "peak_shaving"
    description = "LP: minimise the peak site import (min z, import_t <= z), small cost tie-breaker."
    params_class: ClassVar[type[StrategyParams]] = PeakShavingParams
    config: PeakShavingParams

    def objective(self, problem: ChargingProblem) -> Objective:
        w = self.config.tie_breaker
        dt, eta = min_dt_eta(problem)
        penalty = self.config.unmet_penalty
        if penalty is None:
            penalty = 10.0 / (eta * dt) + 100.0 * w
        obj = price_objective(problem, penalty, weight=w)
        obj.peak_cost = 1.0
        return obj

    def solve_problem(self, problem: ChargingProblem, online: bool = False) -> Solution:
        """Offline with discharging vehicles: the two-phase solve of the module docstring; else the base solve."""
        if online or self.config.merge != "plain" or not discharge_eligible(problem).any():
            return super().solve_problem(problem, online)
        options = {"presolve": self.config.presolve or self.presolve_offline}
        return solve_two_phase(problem, self.objective, PHASE2_OPTIONS, self.config.time_limit_s, options)
