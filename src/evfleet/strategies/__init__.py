"""Charging strategies: one module each, one common interface (:class:`~evfleet.strategies.base.Strategy`)."""

from __future__ import annotations

from typing import Any

from evfleet._common.errors import InputError
from evfleet.strategies.base import ChargingProblem, Strategy, StrategyError
from evfleet.strategies.grid_support import GridSupport
from evfleet.strategies.load_balancing import LoadBalancing
from evfleet.strategies.params import StrategyParams
from evfleet.strategies.peak_shaving import PeakShaving
from evfleet.strategies.price_optimization import PriceOptimization
from evfleet.strategies.renewable_integration import RenewableIntegration
from evfleet.strategies.report import StrategyReport
from evfleet.strategies.uncontrolled import Uncontrolled
from evfleet.strategies.valley_filling import ValleyFilling

__all__ = [
    "REGISTRY",
    "ChargingProblem",
    "Strategy",
    "StrategyError",
    "StrategyParams",
    "StrategyReport",
    "get_strategy",
    "strategy_names",
]

#: CLI name -> strategy class. Add a strategy by adding its module and one line here.
REGISTRY: dict[str, type[Strategy]] = {
    Uncontrolled.name: Uncontrolled,
    LoadBalancing.name: LoadBalancing,
    PeakShaving.name: PeakShaving,
    ValleyFilling.name: ValleyFilling,
    PriceOptimization.name: PriceOptimization,
    GridSupport.name: GridSupport,
    RenewableIntegration.name: RenewableIntegration,
}


def strategy_names() -> list[str]:
    """Registered strategy names, baseline first."""
    return list(REGISTRY)


def get_strategy(name: str, **params: Any) -> Strategy:
    """A new strategy instance by CLI name with keyword ``params`` (validated by its parameter dataclass).

    Raises :class:`~evfleet._common.errors.InputError` (a ``ValueError``) naming an unknown strategy, an unknown
    parameter (listing the valid ones) or a bad value.
    """
    if name not in REGISTRY:
        raise InputError(f"unknown strategy {name!r}; known: {', '.join(REGISTRY)}")
    return REGISTRY[name](**params)
