"""Charging strategies: one module each, one common interface (:class:`~evfleet.strategies.base.Strategy`).

The registry loads a strategy's module on first lookup, so importing this package (or the simulator) does not
import HiGHS or the optimising strategies; listing the names imports nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import Any

from evfleet._common.errors import InputError
from evfleet.problem import ChargingPlan, ChargingProblem
from evfleet.strategies.base import Strategy, StrategyError
from evfleet.strategies.params import StrategyParams
from evfleet.strategies.report import StrategyReport

__all__ = [
    "REGISTRY",
    "ChargingPlan",
    "ChargingProblem",
    "Strategy",
    "StrategyError",
    "StrategyParams",
    "StrategyRegistry",
    "StrategyReport",
    "get_strategy",
    "strategy_names",
]


class StrategyRegistry(MutableMapping[str, type[Strategy]]):
    """CLI name -> strategy class, in registration order; a class given as ``"module:Class"`` loads on first use."""

    def __init__(self, entries: dict[str, str | type[Strategy]]) -> None:
        self._entries: dict[str, str | type[Strategy]] = dict(entries)

    def __getitem__(self, name: str) -> type[Strategy]:
        entry = self._entries[name]
        if isinstance(entry, str):
            module, _, attr = entry.partition(":")
            entry = getattr(importlib.import_module(module), attr)
            self._entries[name] = entry
        return entry

    def __setitem__(self, name: str, cls: str | type[Strategy]) -> None:
        self._entries[name] = cls

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __repr__(self) -> str:
        return f"StrategyRegistry({list(self._entries)!r})"


#: CLI name -> strategy class. Add a strategy by adding its module and one line here (the class's ``name``).
REGISTRY: StrategyRegistry = StrategyRegistry(
    {
        "uncontrolled": "evfleet.strategies.uncontrolled:Uncontrolled",
        "timer": "evfleet.strategies.timer:Timer",
        "load_balancing": "evfleet.strategies.load_balancing:LoadBalancing",
        "peak_shaving": "evfleet.strategies.peak_shaving:PeakShaving",
        "valley_filling": "evfleet.strategies.valley_filling:ValleyFilling",
        "price_optimization": "evfleet.strategies.price_optimization:PriceOptimization",
        "grid_support": "evfleet.strategies.grid_support:GridSupport",
        "renewable_integration": "evfleet.strategies.renewable_integration:RenewableIntegration",
    }
)


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
