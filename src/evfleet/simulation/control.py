"""The receding-horizon control loop, one copy for ``simulate`` (online mode and causal rules) and live mode.

Units: power [kW] grid side, energy [kWh], ``horizon_h`` [h], frequency [Hz].

At each step t, :meth:`RecedingLoop.plan` builds the :class:`~evfleet.problem.ChargingProblem` of the vehicles
connected now (their current battery energy from the engine) over ``h = min(T - t, horizon, last departure - t)``
steps, asks the strategy for its first step (:meth:`~evfleet.strategies.base.Strategy.plan_first_step`) and
:meth:`RecedingLoop.step` applies it in the :class:`~evfleet.simulation.engine.Engine`.

What the strategy may know (the forecasts):

* base load and PV: in online mode an optimising strategy gets forecasts with multiplicative noise of relative
  standard deviation ``forecast_noise`` growing with the square root of the lead time, the current step known
  exactly (``forecast_noise = 0``: perfect forecasts); causal rules (``feedback = True``) and offline mode get the
  scenario's series;
* grid frequency (``frequency_forecast_hz``): in online mode the *nominal* 50 Hz forecast at every lead, including
  the current step. The activation of a reserve follows the frequency within the step, which is not known when
  the setpoint is chosen, and the correlation time of the frequency deviation (about 2 min) is far below a step,
  so the nominal value is the forecast of a step's mean. Offline, perfect foresight of the scenario's series (the
  nominal value when it has none). The realised frequency only enters through the engine.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from evfleet.physics import NOMINAL_HZ
from evfleet.problem import base_reactive_kvar, build_problem, demand_in_kva
from evfleet.scenario import Scenario
from evfleet.simulation.engine import Engine
from evfleet.strategies import Strategy

__all__ = ["RecedingLoop", "forecast_series", "frequency_seed"]


def forecast_series(series: np.ndarray, t0: int, n: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    """Forecast of ``series[t0 : t0 + n]`` (a non-negative site series [kW]) with relative noise ``noise``.

    The error grows with the square root of the lead in steps; the first step is known exactly. ``noise <= 0``
    returns the window itself (and draws nothing from ``rng``).
    """
    window = series[t0 : t0 + n]
    if noise <= 0:
        return window
    lead = np.sqrt(np.arange(n))
    return np.maximum(window * (1.0 + noise * lead / max(lead[-1], 1.0) * rng.standard_normal(n)), 0.0)


def frequency_seed(strategy: Strategy) -> object:
    """Seed of the synthetic frequency a run assumes when the scenario has none: the strategy's ``seed`` parameter.

    (The ``grid_support`` strategy documents it; the grid-quality assessment uses the same convention.) Default 0.
    """
    params = getattr(strategy, "params", None)
    if isinstance(params, Mapping):
        return params.get("seed", 0)
    return getattr(params, "seed", 0)


class RecedingLoop:
    """Per-step closed-loop control of one scenario: plan the connected vehicles, apply the first step.

    ``online`` selects the forecasts (see the module docstring); ``horizon_h`` [h] caps the look-ahead;
    ``forecast_noise`` and ``rng`` drive the base-load and PV forecast noise of optimising strategies online.
    """

    def __init__(
        self,
        scenario: Scenario,
        strategy: Strategy,
        engine: Engine,
        *,
        online: bool,
        horizon_h: float,
        forecast_noise: float = 0.0,
        rng: np.random.Generator | None = None,
    ) -> None:
        self.scenario = scenario
        self.strategy = strategy
        self.engine = engine
        self.online = bool(online)
        self.horizon_steps = max(1, round(horizon_h / scenario.dt_h))
        self.forecast_noise = float(forecast_noise)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.called_kw = 0.0  # the month's called power so far [kVA with a kva tariff, else kW]
        # a kva tariff calls sqrt(P^2 + Q^2) over import steps, Q the base load's (as the LP and the bill measure it)
        self._reactive_kvar = base_reactive_kvar(scenario, scenario.base_load_kw) if demand_in_kva(scenario) else None

    def plan(self, t: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Setpoints (N,) [kW] for step t and the reserve band (N,) [kW], or ``None`` without a reserve."""
        sc, eng, strat = self.scenario, self.engine, self.strategy
        n = sc.n_vehicles
        setpoint = np.zeros(n)
        reserve = None
        idx = np.flatnonzero(eng.connected(t))
        if not idx.size:
            return setpoint, reserve
        dep_max = int(sc.vehicles.departure_step[idx].max())
        h = int(min(sc.n_steps - t, max(1, min(self.horizon_steps, dep_max - t))))
        base_fc = pv_fc = None
        if self.online and not strat.feedback:
            base_fc = forecast_series(sc.base_load_kw, t, h, self.forecast_noise, self.rng)
            pv_fc = forecast_series(sc.pv_kw, t, h, self.forecast_noise, self.rng)
        freq_fc = np.full(h, NOMINAL_HZ) if self.online else None
        problem = build_problem(sc, idx, eng.e[idx], t, h, eng.v2g, base_fc, pv_fc, freq_fc, self.called_kw)
        out = strat.plan_first_step(problem)
        setpoint[idx] = out.setpoint_kw
        if out.reserve_kw is not None:
            reserve = np.zeros(n)
            reserve[idx] = out.reserve_kw
        return setpoint, reserve

    def step(self, t: int) -> tuple[np.ndarray, float]:
        """Plan and apply step t: the applied power (N,) [kW] and the site power [kW]."""
        setpoint, reserve = self.plan(t)
        power, site_kw = self.engine.step(t, setpoint, reserve)
        called = float(site_kw)
        if self._reactive_kvar is not None and called > 0.0:
            called = float(np.hypot(called, self._reactive_kvar[t]))
        self.called_kw = max(self.called_kw, called)  # the called power so far (the overrun's floor)
        return power, site_kw
