"""Peak shaving: minimise the peak of site import while every vehicle reaches its target (LP).

Units: power [kW], energy [kWh], prices [MAD/kWh].

Objective (``z`` the peak import [kW], ``w`` the cost tie-breaker [kW/MAD], default 1e-3)::

    min  z + w * (net cost as in price_optimization) + M * sum_i u_i
    s.t. imp_t <= z  for every column t,  plus the fleet model of :mod:`evfleet.strategies.optim.model`

With V2G, vehicles above their V2G floor discharge to shave base-load peaks (and recharge later). ``M`` defaults
to ``10 / (eta_min * dt) + 100 w`` per kWh: more than the largest peak reduction one kWh of unmet energy could
buy (one kWh moved out of one step lowers that step by at most ``1 / (eta * dt)`` kW).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from evfleet.strategies.base import ChargingProblem
from evfleet.strategies.optim.model import Objective
from evfleet.strategies.optim.receding import OptimizingStrategy, SolverParams, min_dt_eta
from evfleet.strategies.params import StrategyParams, param
from evfleet.strategies.price_optimization import price_objective

__all__ = ["PeakShaving", "PeakShavingParams"]


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
