"""Timer charging (the second baseline): each vehicle starts at full power when heures creuses begin.

Units: power [kW] grid side, energy [kWh] battery side, ``dt_h`` [h].

This is what a depot does with a plain timer on its chargers and no energy-management system:

* **Heures creuses** are the steps of the tariff's cheapest period: the period name of each step
  (``tou_period``, from the tariff) whose mean import price over the whole scenario is lowest (several names if
  they tie; :func:`evfleet.problem.offpeak_steps`, given to the strategy as ``problem.offpeak``). Without period
  names (``"-"`` everywhere), the steps at the lowest import price.
* **Start**: vehicle ``i`` starts at full power at the first heures-creuses column at or after its arrival (a
  vehicle plugged in during heures creuses starts on arrival) and then charges at full power until its target,
  whether or not heures creuses have ended (the timer only switches the charger on).
* A vehicle whose stay holds no heures-creuses column: with ``fallback = "arrival"`` (default) it charges from
  arrival (the driver overrides the timer); with ``fallback = "none"`` it is not charged.
* **Breaker**: the timer knows nothing of the site limit. The site's import limit acts as a current-limiting main
  protection would: the simulator's site protection curtails every charging vehicle by the same factor so that the
  site import equals the limit (``curtailed_energy_kwh``); it never trips. Curtailed vehicles keep charging at the
  next steps until their target.
* Never discharges.

As a causal rule (``feedback = True``) it is called at every step; it keeps no state: a connected vehicle has
started when it has already charged (``energy_kwh > energy_arrival_kwh``), when column 0 is in heures creuses, or
when its fallback applies (no heures-creuses column left before its departure).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evfleet._common.tolerances import ENERGY_TOL_KWH
from evfleet.problem import cheapest_steps
from evfleet.strategies.base import ChargingProblem, Strategy
from evfleet.strategies.params import StrategyParams, param

__all__ = ["Timer", "TimerParams", "next_offpeak_column", "offpeak_mask"]


@dataclass(frozen=True)
class TimerParams(StrategyParams):
    """Parameters of :class:`Timer`."""

    fallback: str = param(
        "arrival",
        "a vehicle whose stay holds no heures-creuses step: 'arrival' charges it from arrival (driver override), "
        "'none' leaves it uncharged",
        choices=("arrival", "none"),
    )


def offpeak_mask(problem: ChargingProblem) -> np.ndarray:
    """Boolean (H,): the heures-creuses columns: ``problem.offpeak`` (the scenario's cheapest tariff period), or,
    for a problem not built from a scenario, :func:`~evfleet.problem.cheapest_steps` of its own columns."""
    if problem.offpeak is not None:
        return np.asarray(problem.offpeak, dtype=bool)
    return cheapest_steps(problem.price_import_mad_per_kwh, problem.tou_period)


def next_offpeak_column(mask: np.ndarray) -> np.ndarray:
    """(H + 1,): for each column k the first heures-creuses column >= k (H when there is none)."""
    h = len(mask)
    idx = np.where(mask, np.arange(h), h)
    nxt = np.minimum.accumulate(idx[::-1])[::-1] if h else idx
    return np.concatenate([nxt, [h]]).astype(np.int64)


class Timer(Strategy):
    """Full power from the first heures-creuses step at or after arrival until the target (see module doc)."""

    name = "timer"
    feedback = True
    description = (
        "Each vehicle starts at full power at the first heures-creuses (cheapest period) step, or on arrival if "
        "later; the site limit curtails like a breaker."
    )
    params_class = TimerParams

    def start_columns(self, problem: ChargingProblem) -> np.ndarray:
        """Column (n,) at which each vehicle's charger switches on; ``H`` for a vehicle never switched on."""
        h = problem.n_steps
        nxt = next_offpeak_column(offpeak_mask(problem))
        arrival = np.clip(problem.arrival, 0, h)
        start = nxt[arrival]
        none_in_stay = (start >= problem.departure) & problem.departs_in_horizon
        if self.config.fallback == "arrival":
            return np.where(none_in_stay, arrival, start)
        return np.where(none_in_stay, h, start)

    def first_step(self, problem: ChargingProblem) -> np.ndarray:
        h = problem.n_steps
        mask = offpeak_mask(problem)
        nxt = next_offpeak_column(mask)
        connected = problem.arrival <= 0
        charged_before = problem.energy_kwh > problem.energy_arrival_kwh + ENERGY_TOL_KWH
        in_offpeak = bool(mask[0]) if h else False
        # no heures-creuses column left before a departure inside the window: the fallback applies now
        no_offpeak_left = (nxt[0] >= problem.departure) & problem.departs_in_horizon
        on = charged_before | in_offpeak
        if self.config.fallback == "arrival":
            on = on | no_offpeak_left
        need_kwh = np.maximum(problem.energy_target_kwh - problem.energy_kwh, 0.0)
        limit_kw = problem.charge_limit_kw(problem.energy_kwh)  # power limit and DC taper
        p_kw = np.minimum(limit_kw, need_kwh / (problem.charge_efficiency * problem.dt_h))
        return np.where(connected & on, p_kw, 0.0)

    def schedule(self, problem: ChargingProblem) -> np.ndarray:
        # Closed form as for the uncontrolled baseline, counted from the start column instead of arrival
        # (no DC taper and no site limit: the simulator applies both).
        start = self.start_columns(problem)
        cap_kwh = problem.charge_efficiency * problem.max_charge_kw * problem.dt_h
        need_kwh = np.maximum(problem.energy_target_kwh - problem.energy_kwh, 0.0)
        k = np.arange(problem.n_steps)[None, :] - start[:, None]  # steps since the charger switched on
        with np.errstate(divide="ignore", invalid="ignore"):
            done_before = np.where(cap_kwh[:, None] > 0, k * cap_kwh[:, None], np.inf)
        frac = np.clip((need_kwh[:, None] - done_before) / np.where(cap_kwh > 0, cap_kwh, 1.0)[:, None], 0.0, 1.0)
        p = np.where(k >= 0, frac * problem.max_charge_kw[:, None], 0.0)
        return np.where(problem.connected(), p, 0.0)
