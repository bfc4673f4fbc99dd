"""Renewable integration: maximise PV self-consumption, minimise grid import plus PV export (LP).

Units: power [kW], energy [kWh], prices [MAD/kWh].

Objective (``w`` a cost tie-breaker [kWh/MAD], default 1e-3)::

    min  sum_t (imp_t + exp_t) * dt + w * (net cost as in price_optimization) + M * sum_i u_i

subject to the fleet model of :mod:`evfleet.strategies.optim.model`. Charging moves under the PV bell; with V2G,
vehicles that stay store midday surplus and return it when the site imports again (the evening peak): each kWh
stored instead of exported removes 1 kWh of export and ``eta_c * eta_d`` kWh of later import. ``M`` defaults
to ``10 / eta_min + 100 w`` per kWh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from evfleet.strategies.base import ChargingProblem
from evfleet.strategies.optim.model import Objective, col_dt
from evfleet.strategies.optim.receding import OptimizingStrategy, SolverParams, min_dt_eta
from evfleet.strategies.params import StrategyParams, param
from evfleet.strategies.price_optimization import price_objective

__all__ = ["RenewableIntegration", "RenewableIntegrationParams"]


@dataclass(frozen=True)
class RenewableIntegrationParams(SolverParams):
    """Parameters of :class:`RenewableIntegration` (and the solver parameters of :class:`SolverParams`)."""

    unmet_penalty: float | None = param(
        None, "M: penalty of a kWh left unmet at departure", "kWh of grid exchange per kWh", gt=0.0,
        default_doc="10 / eta_min + 100 tie_breaker",
    )  # fmt: skip
    tie_breaker: float = param(1e-3, "w: weight of the net cost, breaks ties between equal grid exchanges",
                               "kWh/MAD", ge=0.0)  # fmt: skip


class RenewableIntegration(OptimizingStrategy):
    """Minimum grid exchange (import + PV export), ties broken by net cost."""

    name = "renewable_integration"
    description = "LP: maximise PV self-consumption (minimise grid import + export); V2G shifts PV to the evening."
    params_class: ClassVar[type[StrategyParams]] = RenewableIntegrationParams
    config: RenewableIntegrationParams

    def objective(self, problem: ChargingProblem) -> Objective:
        w = self.config.tie_breaker
        _, eta = min_dt_eta(problem)
        penalty = self.config.unmet_penalty
        if penalty is None:
            penalty = 10.0 / eta + 100.0 * w
        obj = price_objective(problem, penalty, weight=w)
        dt = col_dt(problem)
        obj.import_cost = obj.import_cost + dt
        obj.export_cost = obj.export_cost + dt
        return obj
