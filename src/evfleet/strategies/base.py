"""The common strategy interface: a controller sees a :class:`ChargingProblem`, never the simulator.

Units: power [kW] at the grid side (positive = charging/G2V, negative = discharging/V2G), energy [kWh] in the
battery, prices [MAD/kWh], ``dt_h`` [h]. Column ``k`` of a problem is absolute step ``t0 + k``.

In offline mode the problem holds every session of the scenario over the whole horizon (perfect foresight).
In online mode the simulator builds, at each step, a problem with only the vehicles connected now, their current
energy, and forecasts of the site series over a receding horizon; the strategy's first column is applied.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from evfleet._common.errors import RunError
from evfleet.inputs.charging_curve import taper_cuts
from evfleet.strategies.params import NoParams, StrategyParams, parse_params
from evfleet.strategies.report import StrategyReport

__all__ = ["ChargingProblem", "Strategy", "StrategyError", "StrategyParams", "StrategyReport"]


class StrategyError(RunError):
    """A strategy could not produce a schedule (e.g. a solver failure); the message names status and scenario."""


@dataclass(frozen=True, eq=False)
class ChargingProblem:
    """What a controller may know at planning time (arrays of length n vehicles or H steps).

    ``arrival``/``departure`` are relative step indices (0 <= arrival < departure <= H): vehicle i may draw power
    in columns ``arrival[i] <= k < departure[i]``. A departure beyond the horizon is clipped to H, with
    ``departs_in_horizon[i]`` False: its target then does not bind inside this problem.
    ``energy_kwh`` is the battery energy at ``arrival`` (the current energy for a connected vehicle).
    """

    dt_h: float
    t0: int
    n_steps: int
    vehicle_index: np.ndarray
    arrival: np.ndarray
    departure: np.ndarray
    departs_in_horizon: np.ndarray
    battery_kwh: np.ndarray
    energy_kwh: np.ndarray
    energy_target_kwh: np.ndarray
    energy_floor_kwh: np.ndarray
    energy_v2g_floor_kwh: np.ndarray
    energy_ceiling_kwh: np.ndarray
    max_charge_kw: np.ndarray
    max_discharge_kw: np.ndarray
    charge_efficiency: np.ndarray
    discharge_efficiency: np.ndarray
    base_load_kw: np.ndarray
    pv_kw: np.ndarray
    price_import_mad_per_kwh: np.ndarray
    price_export_mad_per_kwh: np.ndarray
    tou_period: np.ndarray
    import_limit_kw: float
    export_limit_kw: float
    degradation_mad_per_kwh: float
    v2g: bool
    frequency_hz: np.ndarray | None = None
    scenario_name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_vehicles(self) -> int:
        return len(self.vehicle_index)

    def connected(self) -> np.ndarray:
        """Boolean (n, H): vehicle i may draw power at column k."""
        k = np.arange(self.n_steps)
        return (k[None, :] >= self.arrival[:, None]) & (k[None, :] < self.departure[:, None])

    def net_base_kw(self) -> np.ndarray:
        """Site load without EVs [kW]: base load minus PV (H,)."""
        return self.base_load_kw - self.pv_kw

    def required_energy_kwh(self) -> np.ndarray:
        """Battery energy still needed by departure [kWh] (0 where the departure is beyond the horizon)."""
        need = np.maximum(self.energy_target_kwh - self.energy_kwh, 0.0)
        return np.where(self.departs_in_horizon, need, 0.0)

    def taper_cut(self) -> tuple[np.ndarray, np.ndarray] | None:
        """DC charging-curve cut ``p <= a + slope * e`` per vehicle ([kW], [kW/kWh]), or ``None`` without a curve.

        Exact above the knee and slack below it (``docs/catalog.md``); the simulator applies the same cut.
        """
        if "taper_soc" not in self.extra or "taper_end_kw" not in self.extra:
            return None

        a, b = taper_cuts(self.max_charge_kw, self.extra["taper_soc"], self.extra["taper_end_kw"])
        return a, b / self.battery_kwh

    def charge_limit_kw(self, energy_kwh: np.ndarray) -> np.ndarray:
        """Charging power limit [kW] at battery energy ``energy_kwh`` (power limit and DC taper)."""
        cut = self.taper_cut()
        if cut is None:
            return self.max_charge_kw
        return np.minimum(self.max_charge_kw, np.maximum(cut[0] + cut[1] * energy_kwh, 0.0))

    def reachable_energy_kwh(self) -> np.ndarray:
        """Highest battery energy reachable by departure at full power, within the ceiling [kWh]."""
        stay_h = (self.departure - self.arrival) * self.dt_h
        return np.minimum(
            self.energy_ceiling_kwh, self.energy_kwh + self.charge_efficiency * self.max_charge_kw * stay_h
        )


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
