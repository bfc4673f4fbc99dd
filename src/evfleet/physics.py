"""The pure per-step physics of a depot, one copy: the simulator's engine and the optimisers' projection use it.

Units: power [kW] at the grid side (positive = charging/G2V, negative = discharging/V2G), battery energy [kWh],
step length ``dt_h`` [h], state of charge as a fraction 0-1, frequency [Hz]. numpy and ``evfleet._common`` only,
so every layer may use it. Every function is vectorised over vehicles (arrays of length n).

Per vehicle, at a step whose battery energy at the start is ``e``:

* power bounds (:func:`power_bounds_kw`): ``lower <= p <= upper`` with
  ``upper = min(max_charge_kw, max(a + slope * e, 0), (ceiling - e) / (eta_c * dt))`` (the DC taper cut
  ``p <= a + slope * e`` of :func:`taper_cuts`, exact above the knee and slack below it, and the SOC ceiling) and
  ``lower = -min(max_discharge_kw, (e - v2g_floor) * eta_d / dt)`` (the V2G floor; ``max_discharge_kw = 0`` when
  V2G is off);
* site protection (:func:`site_protection`): if ``net_base + sum(p)`` exceeds ``import_limit_kw``, charging is
  curtailed proportionally; if it falls below ``-export_limit_kw``, discharging likewise (never silently
  exceeded: a step still beyond a limit is flagged);
* energy update (:func:`next_energy_kwh`): ``e' = e + eta_c * max(p, 0) * dt - max(-p, 0) * dt / eta_d``;
* frequency containment (:func:`droop_activation`): the activation in [-1, 1] of a reserved band at a frequency.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evfleet._common.tolerances import POWER_EPS_KW

__all__ = [
    "DEADBAND_HZ",
    "FULL_ACTIVATION_HZ",
    "NOMINAL_HZ",
    "SiteCut",
    "VehicleLimits",
    "charge_limit_kw",
    "droop_activation",
    "next_energy_kwh",
    "power_bounds_kw",
    "site_protection",
    "taper_cut_per_kwh",
    "taper_cuts",
]

#: Nominal grid frequency [Hz] (Continental Europe and Morocco).
NOMINAL_HZ = 50.0
#: FCR deadband [Hz]: no activation within +-10 mHz of the nominal frequency.
DEADBAND_HZ = 0.010
#: Deviation of full FCR activation [Hz] (+-200 mHz).
FULL_ACTIVATION_HZ = 0.200


def droop_activation(frequency_hz: np.ndarray | float) -> np.ndarray:
    """FCR activation in [-1, 1] for a frequency [Hz] (positive when above 50 Hz: absorb more).

    ENTSO-E FCR as traded (Continental Europe, regelleistung.net, see docs/strategies.md): linear in the deviation
    from 50.00 Hz, ``a = clip(df / 0.200, -1, 1)`` (50 % at 100 mHz, full at +-200 mHz), and 0 inside the
    +-10 mHz deadband (``|df| <= 0.010``): the line is not shifted by the deadband.
    """
    df = np.asarray(frequency_hz, dtype=float) - NOMINAL_HZ
    return np.where(np.abs(df) <= DEADBAND_HZ + 1e-12, 0.0, np.clip(df / FULL_ACTIVATION_HZ, -1.0, 1.0))


def taper_cuts(peak_kw: np.ndarray | float, taper_soc: np.ndarray | float,
               end_kw: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Coefficients ``(a, b)`` of the DC taper cut ``p <= a + b * soc`` [kW, kW per unit SOC].

    Together with ``p <= peak_kw`` it reproduces the charging curve of ``evfleet.inputs.charging_curve`` (flat at
    ``peak_kw`` [kW] to the knee ``taper_soc`` [0-1], linear to ``end_kw`` [kW] at SOC 1) exactly for
    ``0 <= soc <= 1``. With no taper (knee 1) the cut is ``p <= peak_kw`` (``b = 0``).
    """
    peak = np.asarray(peak_kw, dtype=float)
    knee = np.asarray(taper_soc, dtype=float)
    end = np.minimum(np.asarray(end_kw, dtype=float), peak)
    span = 1.0 - knee
    b = np.where(span > 1e-9, -(peak - end) / np.where(span > 1e-9, span, 1.0), 0.0)
    a = peak - b * knee
    return a, b


def taper_cut_per_kwh(max_charge_kw: np.ndarray, taper_soc: np.ndarray, taper_end_kw: np.ndarray,
                      battery_kwh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The taper cut in battery energy: ``p <= a + slope * e`` with ``a`` [kW] and ``slope`` [kW/kWh]."""
    a, b = taper_cuts(max_charge_kw, taper_soc, taper_end_kw)
    return a, b / np.asarray(battery_kwh, dtype=float)


def charge_limit_kw(max_charge_kw: np.ndarray, energy_kwh: np.ndarray,
                    taper: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:  # fmt: skip
    """Charging power limit [kW] at battery energy ``energy_kwh`` [kWh]: the power limit and the DC taper cut."""
    if taper is None:
        return max_charge_kw
    return np.minimum(max_charge_kw, np.maximum(taper[0] + taper[1] * energy_kwh, 0.0))


@dataclass(frozen=True, eq=False)
class VehicleLimits:
    """The per-vehicle physical limits (arrays of length n) that bound the power at a step.

    ``max_discharge_kw`` is 0 for a vehicle that may not discharge (V2G off). ``energy_ceiling_kwh`` stops
    charging, ``energy_v2g_floor_kwh`` stops discharging [kWh]. ``taper`` is the DC cut ``(a [kW], slope
    [kW/kWh])`` of :func:`taper_cut_per_kwh`, or ``None`` without a charging curve.
    """

    max_charge_kw: np.ndarray
    max_discharge_kw: np.ndarray
    energy_ceiling_kwh: np.ndarray
    energy_v2g_floor_kwh: np.ndarray
    charge_efficiency: np.ndarray
    discharge_efficiency: np.ndarray
    taper: tuple[np.ndarray, np.ndarray] | None = None


def power_bounds_kw(limits: VehicleLimits, energy_kwh: np.ndarray, dt_h: float) -> tuple[np.ndarray, np.ndarray]:
    """Power bounds ``(lower, upper)`` [kW] of each vehicle over a step of ``dt_h`` [h] from ``energy_kwh``.

    ``lower <= 0 <= upper``: power limits, DC taper, SOC ceiling, V2G floor (see the module docstring).
    """
    e = energy_kwh
    charge_room_kw = np.maximum(limits.energy_ceiling_kwh - e, 0.0) / (limits.charge_efficiency * dt_h)
    discharge_room_kw = np.maximum(e - limits.energy_v2g_floor_kwh, 0.0) * limits.discharge_efficiency / dt_h
    upper = np.minimum(charge_limit_kw(limits.max_charge_kw, e, limits.taper), charge_room_kw)
    lower = -np.minimum(limits.max_discharge_kw, discharge_room_kw)
    return lower, np.maximum(upper, lower)


def next_energy_kwh(energy_kwh: np.ndarray, power_kw: np.ndarray, dt_h: float | np.ndarray,
                    charge_efficiency: np.ndarray, discharge_efficiency: np.ndarray) -> np.ndarray:  # fmt: skip
    """Battery energy [kWh] after a step of ``dt_h`` [h] at grid-side power ``power_kw`` [kW]."""
    return (
        energy_kwh
        + charge_efficiency * np.maximum(power_kw, 0.0) * dt_h
        - np.maximum(-power_kw, 0.0) * dt_h / discharge_efficiency
    )


@dataclass(frozen=True, eq=False)
class SiteCut:
    """The outcome of :func:`site_protection` at one step.

    ``power_kw`` (n,) after protection [kW]; ``site_kw`` the site power [kW]; ``import_cut_kw`` /
    ``export_cut_kw`` (n,) the charging / discharging power removed per vehicle [kW] (>= 0); ``over_limit`` True
    when the site is still beyond a limit (the base load alone exceeds it).
    """

    power_kw: np.ndarray
    site_kw: float
    import_cut_kw: np.ndarray
    export_cut_kw: np.ndarray
    over_limit: bool


def site_protection(power_kw: np.ndarray, net_base_kw: float, import_limit_kw: float,
                    export_limit_kw: float) -> SiteCut:  # fmt: skip
    """Curtail charging above ``import_limit_kw`` and discharging below ``-export_limit_kw``, proportionally [kW].

    ``net_base_kw`` is base load minus PV at the step. A tolerance of ``POWER_EPS_KW`` applies to both limits.
    """
    p = power_kw
    zero = np.zeros_like(p)
    site = net_base_kw + p.sum()
    import_cut, export_cut = zero, zero
    over = False
    if site > import_limit_kw + POWER_EPS_KW:
        pos = np.maximum(p, 0.0)
        total = pos.sum()
        if total > 0:
            factor = max(0.0, 1.0 - (site - import_limit_kw) / total)
            import_cut = pos * (1.0 - factor)
            p = p - import_cut
            site = net_base_kw + p.sum()
        over = bool(site > import_limit_kw + POWER_EPS_KW)
    elif site < -export_limit_kw - POWER_EPS_KW:
        neg = np.maximum(-p, 0.0)
        total = neg.sum()
        if total > 0:
            factor = max(0.0, 1.0 - (-export_limit_kw - site) / total)
            export_cut = neg * (1.0 - factor)
            p = p + export_cut
            site = net_base_kw + p.sum()
        over = bool(site < -export_limit_kw - POWER_EPS_KW)
    return SiteCut(p, float(site), import_cut, export_cut, over)
