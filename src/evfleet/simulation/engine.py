"""The simulator's engine: the physics state of one run, advanced one step at a time (``simulate`` and live mode).

Units: power [kW] grid side (positive = charging), energy [kWh] battery side, ``dt_h`` [h], frequency [Hz].

At step t, vectorised over all vehicles (the per-step physics of :mod:`evfleet.physics`):

1. setpoints are zero outside ``arrival_step <= t < departure_step``; with V2G off, negative setpoints are 0;
2. clipped to the power bounds: ``[-max_discharge_kw, max_charge_kw]``, the DC taper (when the scenario has the
   optional per-session fields ``taper_soc``/``taper_end_kw``), the SOC ceiling and the V2G floor;
3. with a frequency-containment band ``r`` (a :class:`~evfleet.problem.ChargingPlan` with ``reserve_kw``), the
   droop response to the *realised* frequency of the step is added, ``p + activation(f_t) * r``, within the same
   bounds (what the bounds cut is reported as ``fcr_cut_max_kw``, never hidden; so is a later cut of the setpoint
   of a vehicle whose battery the activation moved off its plan);
4. site protection: charging above ``import_limit_kw`` and discharging below ``-export_limit_kw`` are curtailed
   proportionally (``curtailed_kwh``, ``curtailed_export_kwh`` per vehicle); a step still beyond a limit (the
   base load alone exceeds it) is counted in ``over_limit_steps``;
5. the batteries are updated.

Every change to a setpoint by steps 1-2 and by the export-side protection of step 4 is counted (``clip_count``,
``clip_max_kw``), so a test can assert that an optimiser's schedule needed none; curtailment at the import limit is
counted apart, in ``curtailed_kwh`` (the uncontrolled baseline relies on it).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from evfleet._common.errors import InputError
from evfleet._common.tolerances import ENERGY_EPS_KWH, POWER_EPS_KW
from evfleet.inputs.charging_curve import taper_fields
from evfleet.inputs.frequency import synthetic_frequency
from evfleet.physics import (
    VehicleLimits,
    droop_activation,
    next_energy_kwh,
    power_bounds_kw,
    site_protection,
    taper_cut_per_kwh,
)
from evfleet.scenario import Scenario

__all__ = ["Engine", "RealisedFrequency"]


class RealisedFrequency:
    """The grid frequency a run meets, per step [Hz], and the droop activation of a reserved band [-1, 1].

    The scenario's ``frequency_hz`` series when it has one (``source`` ``"scenario"``), else the seeded synthetic
    signal of :func:`evfleet.inputs.frequency.synthetic_frequency` (``"synthetic_ou"``; the activation is then the
    mean of the 10-s samples' activations). Computed on first use only: a run without a reserve never needs it.
    ``seed`` is the synthetic signal's seed (the ``seed`` parameter of the ``grid_support`` strategy).
    """

    def __init__(self, scenario: Scenario, seed: object = 0) -> None:
        self._scenario = scenario
        self._seed = seed

    @cached_property
    def _signal(self) -> tuple[np.ndarray, np.ndarray, str]:
        sc = self._scenario
        if "frequency_hz" in sc.series:
            f = np.asarray(sc.series["frequency_hz"], dtype=float)
            return f, droop_activation(f), "scenario"
        try:
            seed = int(float(self._seed))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InputError(f"strategy parameter 'seed' must be an integer (value {self._seed!r})") from None
        f, a = synthetic_frequency(sc.n_steps, sc.step_minutes, seed)
        return f, a, "synthetic_ou"

    @property
    def frequency_hz(self) -> np.ndarray:
        """Mean frequency of each step [Hz] (T,)."""
        return self._signal[0]

    @property
    def activation(self) -> np.ndarray:
        """Mean droop activation of each step (T,), positive above 50 Hz (absorb more)."""
        return self._signal[1]

    @property
    def source(self) -> str:
        """``"scenario"`` or ``"synthetic_ou"``."""
        return self._signal[2]


class Engine:
    """Vectorised physics state of one run; ``step(t, setpoint_kw, reserve_kw)`` applies one step.

    ``e`` (N,) is the battery energy [kWh] at the start of the next step. Counters over the run: ``clip_count``
    and ``clip_max_kw`` (setpoints changed by the bounds or by export protection), ``curtailed_kwh`` /
    ``curtailed_export_kwh`` (N,) [kWh grid side] (charging / discharging removed by site protection),
    ``over_limit_steps``; with a reserve: ``reserve_planned``, ``fcr_up_kwh`` (delivered by lowering charge or
    discharging), ``fcr_down_kwh`` (absorbed), ``fcr_cut_max_kw`` and ``fcr_active`` (N,) (vehicles that
    delivered activation energy).
    """

    def __init__(self, scenario: Scenario, v2g: bool, frequency: RealisedFrequency | None = None) -> None:
        v = scenario.vehicles
        n = len(v)
        self.sc = scenario
        self.v2g = v2g
        self.dt_h = scenario.dt_h
        self.e = v.energy_arrival_kwh.copy()
        taper = taper_fields(v.extra, n)  # (knee SOC, end power [kW]) or None
        self.limits = VehicleLimits(
            max_charge_kw=v.max_charge_kw,
            max_discharge_kw=v.max_discharge_kw if v2g else np.zeros(n),
            energy_ceiling_kwh=v.energy_ceiling_kwh,
            energy_v2g_floor_kwh=v.energy_v2g_floor_kwh,
            charge_efficiency=v.charge_efficiency,
            discharge_efficiency=v.discharge_efficiency,
            taper=None if taper is None else taper_cut_per_kwh(v.max_charge_kw, taper[0], taper[1], v.battery_kwh),
        )
        self.frequency = frequency if frequency is not None else RealisedFrequency(scenario)
        self.net_base = scenario.base_load_kw - scenario.pv_kw
        self.clip_count = 0
        self.clip_max_kw = 0.0
        self.curtailed_kwh = np.zeros(n)
        self.curtailed_export_kwh = np.zeros(n)
        self.over_limit_steps = 0
        self.reserve_planned = False
        self.fcr_up_kwh = 0.0
        self.fcr_down_kwh = 0.0
        self.fcr_cut_max_kw = 0.0
        self._fcr_abs_kwh = np.zeros(n)

    @property
    def fcr_active(self) -> np.ndarray:
        """Vehicles that delivered frequency-response energy (N,) bool."""
        return self._fcr_abs_kwh > ENERGY_EPS_KWH

    def connected(self, t: int) -> np.ndarray:
        v = self.sc.vehicles
        return (v.arrival_step <= t) & (t < v.departure_step)

    def step(self, t: int, setpoint_kw: np.ndarray, reserve_kw: np.ndarray | None = None) -> tuple[np.ndarray, float]:
        """Apply ``setpoint_kw`` (N,) [kW] (and a reserve band ``reserve_kw`` (N,) [kW]) at step t.

        Returns the applied power (N,) and the site power [kW].
        """
        conn = self.connected(t)
        requested = np.where(conn, setpoint_kw, 0.0)
        p = requested
        if not self.v2g:
            p = np.maximum(p, 0.0)
        dt = self.dt_h
        lower, upper = power_bounds_kw(self.limits, self.e, dt)
        p = np.clip(p, lower, upper)
        changed_kw = np.abs(p - requested)
        perturbed = self.fcr_active
        if perturbed.any():
            # The battery of a vehicle that delivered reserve energy left the trajectory its (offline) plan assumed:
            # what the bounds cut of its setpoint is the reserve's doing, reported with the activation cuts.
            self.fcr_cut_max_kw = max(self.fcr_cut_max_kw, float(changed_kw[perturbed].max()))
            changed_kw = np.where(perturbed, 0.0, changed_kw)
        if reserve_kw is not None:
            self.reserve_planned = True
            band = np.where(conn, reserve_kw, 0.0)
            wanted = p + float(self.frequency.activation[t]) * band
            activated = np.clip(wanted, lower, upper)
            delivered = activated - p
            if delivered.size:
                self.fcr_cut_max_kw = max(self.fcr_cut_max_kw, float(np.abs(wanted - activated).max()))
            self.fcr_up_kwh += float(np.maximum(-delivered, 0.0).sum() * dt)
            self.fcr_down_kwh += float(np.maximum(delivered, 0.0).sum() * dt)
            self._fcr_abs_kwh += np.abs(delivered) * dt
            p = activated
        cut = site_protection(p, self.net_base[t], self.sc.import_limit_kw, self.sc.export_limit_kw)
        p = cut.power_kw
        changed_kw = changed_kw + cut.export_cut_kw  # import-side curtailment: counted in curtailed_kwh only
        worst = float(changed_kw.max()) if changed_kw.size else 0.0
        if worst > POWER_EPS_KW:
            self.clip_count += int((changed_kw > POWER_EPS_KW).sum())
            self.clip_max_kw = max(self.clip_max_kw, worst)
        self.curtailed_kwh += cut.import_cut_kw * dt
        self.curtailed_export_kwh += cut.export_cut_kw * dt
        if cut.over_limit:
            self.over_limit_steps += 1
        self.e = next_energy_kwh(self.e, p, dt, self.limits.charge_efficiency, self.limits.discharge_efficiency)
        return p, cut.site_kw
