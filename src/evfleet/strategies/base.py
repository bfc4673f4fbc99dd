"""The common strategy interface: a controller sees a ``ChargingProblem``, never the simulator.

Units: power [kW] at the grid side (positive = charging/G2V, negative = discharging/V2G), energy [kWh] in the
battery, prices [MAD/kWh], ``dt_h`` [h]. The problem and the plan a strategy returns are defined in
:mod:`evfleet.problem` (offline: the whole horizon with perfect foresight; online: the vehicles connected now and
forecasts over a receding horizon, the first column applied).
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from evfleet._common.errors import RunError
from evfleet.problem import ChargingPlan, ChargingProblem
from evfleet.strategies.params import NoParams, StrategyParams, parse_params
from evfleet.strategies.report import StrategyReport

__all__ = ["ChargingPlan", "ChargingProblem", "Strategy", "StrategyError", "StrategyParams", "StrategyReport"]


class StrategyError(RunError):
    """A strategy could not produce a schedule (e.g. a solver failure); the message names status and scenario."""


class Strategy(ABC):
    """A charging strategy. Subclasses set ``name`` and implement :meth:`schedule`.

    ``feedback = True`` marks a causal rule (no foresight): the simulator calls it at every step with the
    current state even in offline mode. ``params_class`` is the strategy's frozen parameter dataclass
    (:mod:`evfleet.strategies.params`): ``Strategy(**params)`` validates the keyword parameters into
    ``self.config`` (an unknown name or a bad value raises :class:`~evfleet._common.errors.InputError`), and
    ``self.params`` is the plain dict of all of them (``dataclasses.asdict``, what runs store).

    ``self.report`` (:class:`~evfleet.strategies.report.StrategyReport`) is what the strategy reports about the
    current run. A strategy keeps no state from one run to the next: the simulator calls :meth:`start_run` at the
    start of each run (call it yourself when you drive ``schedule``/``first_step`` by hand for a new run).
    """

    name: ClassVar[str] = ""
    feedback: ClassVar[bool] = False
    uses_solver: ClassVar[bool] = False
    description: ClassVar[str] = ""
    params_class: ClassVar[type[StrategyParams]] = NoParams

    def __init__(self, **params: Any) -> None:
        self.config: StrategyParams = parse_params(self.params_class, self.name or type(self).__name__, params)
        self.report: StrategyReport = StrategyReport()
        self.start_run()

    @property
    def params(self) -> dict[str, Any]:
        """Every parameter by name, defaults included (``None``: automatic); ``type(self)(**self.params)`` builds the
        same parameters. A new dict at each call (changing it does not change the strategy)."""
        return dataclasses.asdict(self.config)

    def start_run(self) -> None:
        """Begin a new run: a fresh report, nothing kept from a previous run. Subclasses reset their run state."""
        self.report = StrategyReport()

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
