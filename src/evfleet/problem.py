"""What a controller may know at planning time (:class:`ChargingProblem`) and what it returns (:class:`ChargingPlan`).

Units: power [kW] at the grid side (positive = charging/G2V, negative = discharging/V2G), energy [kWh] in the
battery, prices [MAD/kWh], frequency [Hz], ``dt_h`` [h]. Column ``k`` of a problem is absolute step ``t0 + k``.

In offline mode the problem holds every session of the scenario over the whole horizon (perfect foresight, also
of the grid frequency). In online mode the simulator builds, at each step, a problem with only the vehicles
connected now, their current energy, and forecasts of the site series and of the frequency over a receding
horizon (:mod:`evfleet.simulation.control`); the strategy's first column is applied.

This layer sits between the strategies and the inputs: strategies see this module, :mod:`evfleet.physics` and
``evfleet._common`` only. :func:`build_problem` reads a :class:`~evfleet.scenario.Scenario` (imported for type
checking only, so the strategies never load the scenario or input modules).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from evfleet._common.errors import InputError
from evfleet.physics import NOMINAL_HZ, VehicleLimits, charge_limit_kw, taper_cut_per_kwh

if TYPE_CHECKING:
    import pandas as pd

    from evfleet.scenario import Scenario

__all__ = [
    "BASE_LOAD_PF_DEFAULT",
    "ChargingPlan",
    "ChargingProblem",
    "base_reactive_kvar",
    "billing_terms",
    "build_problem",
    "cheapest_steps",
    "demand_in_kva",
    "offpeak_steps",
]

#: Displacement power factor of the non-EV load when ``site.electrical`` gives none (the grid-quality model's
#: default, :class:`evfleet.gridquality.site.SiteElectrical`).
BASE_LOAD_PF_DEFAULT = 0.9

#: Prices closer than this are the same price [MAD/kWh].
PRICE_TIE_MAD_PER_KWH = 1e-9


def cheapest_steps(price_mad_per_kwh: np.ndarray, tou_period: np.ndarray) -> np.ndarray:
    """Boolean per step: the steps of the cheapest tariff period (heures creuses).

    The cheapest period is the period name (``tou_period``, written from the tariff) whose mean import price over
    the steps given is lowest (every name within 1e-9 MAD/kWh of it if several tie). Without period names (``"-"``
    everywhere) it is the steps at the lowest import price.
    """
    price = np.asarray(price_mad_per_kwh, dtype=float)
    if price.size == 0:
        return np.zeros(0, dtype=bool)
    periods = np.asarray(tou_period).astype(str)
    if (periods != "-").any():
        names, inverse = np.unique(periods, return_inverse=True)
        mean = np.bincount(inverse, weights=price) / np.bincount(inverse)
        mean = np.where(names == "-", np.inf, mean)
        return (mean <= mean.min() + PRICE_TIE_MAD_PER_KWH)[inverse]
    return price <= price.min() + PRICE_TIE_MAD_PER_KWH


def offpeak_steps(scenario: Scenario) -> np.ndarray:
    """Boolean (T,): the scenario's heures-creuses steps (:func:`cheapest_steps` over the whole scenario)."""
    return cheapest_steps(scenario.price_import_mad_per_kwh, scenario.tou_period)


@dataclass(frozen=True, eq=False)
class ChargingProblem:
    """What a controller may know at planning time (arrays of length n vehicles or H columns).

    ``arrival``/``departure`` are relative column indices (0 <= arrival < departure <= H): vehicle i may draw power
    in columns ``arrival[i] <= k < departure[i]``. A departure beyond the horizon is clipped to H, with
    ``departs_in_horizon[i]`` False: its target then does not bind inside this problem.
    ``energy_kwh`` is the battery energy at ``arrival`` (the current energy for a connected vehicle);
    ``energy_arrival_kwh`` the energy the vehicle arrived with [kWh].

    ``frequency_forecast_hz`` (H,) is the grid frequency the controller may expect [Hz]: the realised series in
    offline mode (perfect foresight), the nominal 50 Hz in online mode (see :mod:`evfleet.simulation.control`).
    The simulator, not the strategy, applies the activation of a reserved band with the realised frequency.

    ``step_minutes`` and ``times`` (H timestamps, the start of each column) describe the window. ``taper_soc``
    [0-1] and ``taper_end_kw`` [kW] (n,) are the DC charging curve when the scenario has one
    (``docs/catalog.md``). ``col_dt_h`` (H,) [h] and ``block_edges`` (H + 1,) are set by online move blocking
    (:func:`evfleet.strategies.optim.receding.block_problem`): column j covers the original columns
    ``block_edges[j] <= k < block_edges[j + 1]``; ``None`` means every column is one step of ``dt_h``.
    ``offpeak`` (H,) bool marks the heures-creuses columns (the tariff's cheapest period over the whole scenario,
    :func:`offpeak_steps`); ``None`` when the problem was not built from a scenario.
    ``overrun_mad_per_kw`` [MAD/kW] is what the bill charges per kW of called power above
    ``called_power_floor_kw`` [kW] = max(subscribed power, the month's called power so far) (the tariff's
    dépassement over the run, :func:`billing_terms`; 0: no overrun term). ``demand_kva`` True when the tariff
    measures the called power in kVA (``demand_measure: kva``): the called power of column k is then
    ``sqrt(P_k^2 + Q_k^2)`` with ``reactive_kvar`` (H,) [kvar] the site's reactive power that no schedule changes,
    the base load's (:func:`base_reactive_kvar`; the chargers' own Q is not modelled: see docs/strategies.md).
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
    step_minutes: int
    times: pd.DatetimeIndex
    energy_arrival_kwh: np.ndarray
    frequency_forecast_hz: np.ndarray
    scenario_name: str = ""
    taper_soc: np.ndarray | None = None
    taper_end_kw: np.ndarray | None = None
    col_dt_h: np.ndarray | None = None
    block_edges: np.ndarray | None = None
    offpeak: np.ndarray | None = None
    overrun_mad_per_kw: float = 0.0
    called_power_floor_kw: float = 0.0
    demand_kva: bool = False
    reactive_kvar: np.ndarray | None = None

    @property
    def n_vehicles(self) -> int:
        return len(self.vehicle_index)

    def connected(self) -> np.ndarray:
        """Boolean (n, H): vehicle i may draw power at column k."""
        k = np.arange(self.n_steps)
        return (k[None, :] >= self.arrival[:, None]) & (k[None, :] < self.departure[:, None])

    def column_dt_h(self) -> np.ndarray:
        """Length of each column [h] (H,): ``col_dt_h`` under move blocking, else ``dt_h`` everywhere."""
        if self.col_dt_h is None:
            return np.full(self.n_steps, self.dt_h)
        return np.asarray(self.col_dt_h, dtype=float)

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
        if self.taper_soc is None or self.taper_end_kw is None:
            return None
        return taper_cut_per_kwh(self.max_charge_kw, self.taper_soc, self.taper_end_kw, self.battery_kwh)

    def charge_limit_kw(self, energy_kwh: np.ndarray) -> np.ndarray:
        """Charging power limit [kW] at battery energy ``energy_kwh`` (power limit and DC taper)."""
        return charge_limit_kw(self.max_charge_kw, energy_kwh, self.taper_cut())

    def limits(self) -> VehicleLimits:
        """The vehicles' physical limits for :func:`evfleet.physics.power_bounds_kw` (the simulator's).

        The ceiling is ``max(energy_ceiling_kwh, energy_kwh)``: a battery above its ceiling is not charged further.
        """
        return VehicleLimits(
            max_charge_kw=self.max_charge_kw,
            max_discharge_kw=self.max_discharge_kw,
            energy_ceiling_kwh=np.maximum(self.energy_ceiling_kwh, self.energy_kwh),
            energy_v2g_floor_kwh=self.energy_v2g_floor_kwh,
            charge_efficiency=self.charge_efficiency,
            discharge_efficiency=self.discharge_efficiency,
            taper=self.taper_cut(),
        )

    def reachable_energy_kwh(self) -> np.ndarray:
        """Highest battery energy reachable by departure at full power, within the ceiling [kWh]."""
        stay_h = (self.departure - self.arrival) * self.dt_h
        return np.minimum(
            self.energy_ceiling_kwh, self.energy_kwh + self.charge_efficiency * self.max_charge_kw * stay_h
        )


@dataclass(frozen=True, eq=False)
class ChargingPlan:
    """A strategy's answer: setpoints [kW] and, for a frequency-containment reserve, the band it holds [kW].

    ``setpoint_kw`` has shape (n, H) for a whole horizon or (n,) for one step. ``reserve_kw`` (same shape, >= 0)
    is the symmetric band around the setpoint; the simulator applies ``setpoint + activation(f) * reserve`` with
    the realised frequency ``f`` of the step, within the physics. ``None``: no reserve.
    """

    setpoint_kw: np.ndarray
    reserve_kw: np.ndarray | None = None


def billing_terms(scenario: Scenario, called_so_far_kw: float = 0.0) -> tuple[float, float]:
    """(overrun cost per kW of called power [MAD/kW], called-power floor [kW]) of the scenario's ``tariff`` object.

    The bill's overrun (``docs/tariffs.md``) over the run of D days: ``overrun_factor · Pf/12 · D/(365/12)`` per kVA
    above ``max(subscribed_power_kva, called_power_so_far_kva, called_so_far_kw)``; ``Pf`` is the power charge
    before VAT. With a ``kva`` tariff the optimiser measures the called power in kVA with the base load's reactive
    power (:attr:`ChargingProblem.demand_kva`). ``(0, 0)`` without billing terms.
    """
    raw = scenario.extra.get("tariff")
    if not isinstance(raw, Mapping):
        return 0.0, 0.0
    try:
        vat = 1.0 + float(raw.get("vat_pct", 0.0)) / 100.0 if raw.get("prices_include_vat") is True else 1.0
        rate_month = float(raw.get("power_charge_mad_per_kva_year", 0.0)) / vat / 12.0
        days = scenario.n_steps * scenario.dt_h / 24.0
        cost = float(raw.get("overrun_factor", 0.0)) * rate_month * days / (365.0 / 12.0)
        sub = raw.get("subscribed_power_kva")
        floor = float(sub) if sub is not None else float(scenario.import_limit_kw)
        floor = max(floor, float(raw.get("called_power_so_far_kva", 0.0) or 0.0), float(called_so_far_kw))
    except (TypeError, ValueError):
        return 0.0, 0.0
    return (cost, floor) if np.isfinite(cost) and np.isfinite(floor) and cost > 0 else (0.0, 0.0)


def demand_in_kva(scenario: Scenario) -> bool:
    """True when the scenario's ``tariff`` measures the called power in kVA (``demand_measure: kva``)."""
    raw = scenario.extra.get("tariff")
    return isinstance(raw, Mapping) and str(raw.get("demand_measure", "kw")).lower() == "kva"


def base_reactive_kvar(scenario: Scenario, base_load_kw: np.ndarray) -> np.ndarray:
    """Reactive power of the non-EV load [kvar] (H,): ``base · tan(acos(PF_base))`` (lagging), ``PF_base`` the
    scenario's ``site.electrical.base_load_pf`` (default :data:`BASE_LOAD_PF_DEFAULT`): the same term as the
    grid-quality model's (:func:`evfleet.gridquality.reactive.site_reactive_kvar`). PV runs at unity PF there.

    Raises :class:`~evfleet._common.errors.InputError` naming ``base_load_pf`` outside (0, 1].
    """
    raw = getattr(scenario, "site_extra", {}).get("electrical")
    pf = raw.get("base_load_pf", BASE_LOAD_PF_DEFAULT) if isinstance(raw, Mapping) else BASE_LOAD_PF_DEFAULT
    try:
        pf = float(pf)
    except (TypeError, ValueError):
        pf = float("nan")
    if not (0.0 < pf <= 1.0):
        raise InputError(f"site.electrical.base_load_pf: {raw.get('base_load_pf')!r} is not in (0, 1]")
    return np.asarray(base_load_kw, dtype=float) * (np.sqrt(1.0 - pf**2) / pf)


def build_problem(
    scenario: Scenario,
    idx: np.ndarray,
    energy_kwh: np.ndarray,
    t0: int,
    n_steps: int,
    v2g: bool,
    base_load_kw: np.ndarray | None = None,
    pv_kw: np.ndarray | None = None,
    frequency_forecast_hz: np.ndarray | None = None,
    called_so_far_kw: float = 0.0,
) -> ChargingProblem:
    """The :class:`ChargingProblem` for vehicles ``idx`` with battery energy ``energy_kwh`` [kWh] from step ``t0``.

    ``called_so_far_kw`` [kW] is the site's largest import already realised (online: the steps before ``t0``); the
    overrun term prices only called power above it and the subscribed power (:func:`billing_terms`).

    ``base_load_kw``/``pv_kw``/``frequency_forecast_hz`` override the scenario's series over the window
    (forecasts). Without an override the frequency is the scenario's ``frequency_hz`` series (perfect foresight),
    or the nominal 50 Hz when the scenario has none.
    """
    v = scenario.vehicles
    t1 = t0 + n_steps
    arrival = np.maximum(v.arrival_step[idx] - t0, 0)
    dep_abs = v.departure_step[idx]
    departure = np.minimum(dep_abs - t0, n_steps)
    s = scenario.series
    if frequency_forecast_hz is None:
        frequency_forecast_hz = (
            np.asarray(s["frequency_hz"][t0:t1], dtype=float) if "frequency_hz" in s else np.full(n_steps, NOMINAL_HZ)
        )
    # DC-curve fields when present: limit p <= max_charge_kw - (max_charge_kw - taper_end_kw)
    # * (soc - taper_soc) / (1 - taper_soc) above the knee (docs/catalog.md).
    taper = {k: np.asarray(v.extra[k], dtype=float)[idx] for k in ("taper_soc", "taper_end_kw") if k in v.extra}
    overrun, floor = billing_terms(scenario, called_so_far_kw)
    kva = overrun > 0 and demand_in_kva(scenario)
    base = s["base_load_kw"][t0:t1] if base_load_kw is None else base_load_kw
    return ChargingProblem(
        dt_h=scenario.dt_h,
        t0=t0,
        n_steps=n_steps,
        vehicle_index=idx,
        arrival=arrival,
        departure=departure,
        departs_in_horizon=dep_abs <= t1,
        battery_kwh=v.battery_kwh[idx],
        energy_kwh=energy_kwh,
        energy_target_kwh=v.energy_target_kwh[idx],
        energy_floor_kwh=v.energy_floor_kwh[idx],
        energy_v2g_floor_kwh=v.energy_v2g_floor_kwh[idx],
        energy_ceiling_kwh=v.energy_ceiling_kwh[idx],
        max_charge_kw=v.max_charge_kw[idx],
        max_discharge_kw=v.max_discharge_kw[idx] if v2g else np.zeros(len(idx)),
        charge_efficiency=v.charge_efficiency[idx],
        discharge_efficiency=v.discharge_efficiency[idx],
        base_load_kw=base,
        pv_kw=s["pv_kw"][t0:t1] if pv_kw is None else pv_kw,
        price_import_mad_per_kwh=s["price_import_mad_per_kwh"][t0:t1],
        price_export_mad_per_kwh=s["price_export_mad_per_kwh"][t0:t1],
        tou_period=scenario.tou_period[t0:t1],
        import_limit_kw=scenario.import_limit_kw,
        export_limit_kw=scenario.export_limit_kw,
        degradation_mad_per_kwh=scenario.degradation_mad_per_kwh,
        v2g=v2g,
        step_minutes=scenario.step_minutes,
        times=scenario.times[t0:t1],
        energy_arrival_kwh=v.energy_arrival_kwh[idx],
        frequency_forecast_hz=frequency_forecast_hz,
        scenario_name=scenario.name,
        taper_soc=taper.get("taper_soc") if len(taper) == 2 else None,
        taper_end_kw=taper.get("taper_end_kw") if len(taper) == 2 else None,
        offpeak=offpeak_steps(scenario)[t0:t1],
        overrun_mad_per_kw=overrun,
        called_power_floor_kw=floor,
        demand_kva=kva,
        reactive_kvar=base_reactive_kvar(scenario, base) if kva else None,
    )
