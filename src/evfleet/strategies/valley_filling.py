"""Valley filling: flatten the site load curve, minimise the sum of squared site power (QP).

Units: power [kW], energy [kWh], prices [MAD/kWh].

Objective (``s_t = imp_t - exp_t`` the site power [kW], ``S`` a scale [kW] = max(import limit, export limit,
max |net base load|), ``w`` a cost tie-breaker [1/MAD], default 1e-6)::

    min  sum_t (s_t / S)^2 + w * (net cost as in price_optimization) + M * sum_i u_i

subject to the fleet model of :mod:`evfleet.strategies.optim.model`. The minimiser fills the valleys of the base
load (the night) first, the classic valley-filling solution (Gan, Topcu & Low, "Optimal decentralized protocol
for electric vehicle charging", IEEE Trans. Power Syst. 28(2), 2013). The square is exact: the model is a convex
QP with a diagonal Hessian on the site power, solved to optimality (relative gap 1e-8) by HiGHS's interior-point
QP solver HiPO (see :func:`evfleet.strategies.optim.highs.solve`). ``M`` defaults to ``20 / (S * eta_min * dt) +
100 w`` per kWh (above the objective's marginal value of a kWh). A charge cost ``earliness * t / H`` per kWh
(default 1e-6) prefers earlier charging among equally flat plans.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from evfleet.strategies.base import ChargingProblem
from evfleet.strategies.optim.highs import Solution
from evfleet.strategies.optim.model import Objective
from evfleet.strategies.optim.receding import OptimizingStrategy, SolverParams, min_dt_eta
from evfleet.strategies.optim.relaxed import solve_relaxed
from evfleet.strategies.params import StrategyParams, param
from evfleet.strategies.price_optimization import price_objective

__all__ = ["ValleyFilling", "ValleyFillingParams", "site_scale_kw"]


@dataclass(frozen=True)
class ValleyFillingParams(SolverParams):
    """Parameters of :class:`ValleyFilling` (and the solver parameters of :class:`SolverParams`)."""

    unmet_penalty: float | None = param(
        None, "M: penalty of a kWh left unmet at departure", "1/kWh", gt=0.0,
        default_doc="20 / (S eta_min dt) + 100 tie_breaker",
    )  # fmt: skip
    tie_breaker: float = param(1e-6, "w: weight of the net cost, breaks ties between equally flat plans", "1/MAD",
                               ge=0.0)  # fmt: skip
    earliness: float = param(
        1e-6, "cost of a kWh charged at the end of the horizon (t/H of it at column t): prefer earlier charging",
        "1/kWh", ge=0.0,
    )  # fmt: skip


def site_scale_kw(problem: ChargingProblem) -> float:
    """Normalising scale of site power [kW]."""
    net = problem.base_load_kw - problem.pv_kw
    return float(max(problem.import_limit_kw, problem.export_limit_kw, np.abs(net).max(initial=0.0), 1.0))


class ValleyFilling(OptimizingStrategy):
    """Least-squares flat site load curve (QP), ties broken by net cost."""

    name = "valley_filling"
    description = "QP: minimise sum of squared site power (flatten the load curve, fill the night valley)."
    params_class: ClassVar[type[StrategyParams]] = ValleyFillingParams
    config: ValleyFillingParams
    #: Offline (``merge`` "plain"), solve the QP on the relaxed model of :mod:`~evfleet.strategies.optim.relaxed`
    #: (no DC taper rows, plain vehicles merged) and certify its solution on the full model (else the full model
    #: is solved): 2,000 vehicles ~1.4x less CPU, same optimum (docs/benchmarks.md). False: the full model.
    relaxed_offline: bool = True

    def solve_problem(self, problem: ChargingProblem, online: bool = False) -> Solution:
        if online or self.config.merge != "plain" or not self.relaxed_offline:
            return super().solve_problem(problem, online)
        presolve = self.config.presolve or self.presolve_offline
        return solve_relaxed(
            problem, self.objective(problem), time_limit_s=self.config.time_limit_s, options={"presolve": presolve}
        )

    def objective(self, problem: ChargingProblem) -> Objective:
        w = self.config.tie_breaker
        scale = site_scale_kw(problem)
        dt, eta = min_dt_eta(problem)
        penalty = self.config.unmet_penalty
        if penalty is None:
            penalty = 20.0 / (scale * eta * dt) + 100.0 * w
        obj = price_objective(problem, penalty, weight=w)
        obj.site_quadratic = 1.0 / scale**2
        # Where the site curve is already flat (e.g. at the import limit) the timing of charging is a tie; break
        # it towards earlier charging (1e-6 per kWh over the horizon) so that a receding-horizon controller does
        # not keep deferring and pile the load up before the morning departures.
        obj.charge_cost = self.config.earliness * np.arange(problem.n_steps) / max(problem.n_steps, 1)
        return obj
