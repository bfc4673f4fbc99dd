"""The common strategy interface: a controller sees a ``ChargingProblem``, never the simulator.

Units: power [kW] at the grid side (positive = charging/G2V, negative = discharging/V2G), energy [kWh] in the
battery, prices [MAD/kWh], ``dt_h`` [h]. The problem and the plan a strategy returns are defined in
:mod:`evfleet.problem` (offline: the whole horizon with perfect foresight; online: the vehicles connected now and
forecasts over a receding horizon, the first column applied).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from evfleet._common.errors import RunError
from evfleet.problem import ChargingPlan, ChargingProblem

__all__ = ["ChargingPlan", "ChargingProblem", "Strategy", "StrategyError"]


class StrategyError(RunError):
    """A strategy could not produce a schedule (e.g. a solver failure); the message names status and scenario."""


class Strategy(ABC):
    """A charging strategy. Subclasses set ``name`` and implement :meth:`schedule`.

    ``feedback = True`` marks a causal rule (no foresight): the simulator calls it at every step with the
    current state even in offline mode. ``params`` are strategy-specific options.
    """

    name: ClassVar[str] = ""
    feedback: ClassVar[bool] = False
    uses_solver: ClassVar[bool] = False
    description: ClassVar[str] = ""

    def __init__(self, **params: Any) -> None:
        self.params = dict(params)
        self.report: dict[str, Any] = {}

    @abstractmethod
    def schedule(self, problem: ChargingProblem) -> np.ndarray:
        """Power setpoints [kW] of shape (n, H) for ``problem``; 0 outside each vehicle's connection."""

    def first_step(self, problem: ChargingProblem) -> np.ndarray:
        """Setpoints [kW] for the first column only (n,). Override for a faster online step."""
        return self.schedule(problem)[:, 0]

    def plan(self, problem: ChargingProblem) -> ChargingPlan:
        """Setpoints (n, H) [kW] and, for a frequency reserve, its band (n, H) [kW]. Default: :meth:`schedule`."""
        return ChargingPlan(np.asarray(self.schedule(problem), dtype=float))

    def plan_first_step(self, problem: ChargingProblem) -> ChargingPlan:
        """Setpoints (n,) [kW] (and a reserve band) for the first column. Default: :meth:`first_step`."""
        return ChargingPlan(np.asarray(self.first_step(problem), dtype=float))
