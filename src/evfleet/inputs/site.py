"""Site: grid connection limits, base load profile and PV production profile.

Units: power [kW], PV peak [kWp], irradiance [W/m²], angles [degrees], temperature [°C].

The PV profile is a clear-sky estimate (an upper bound: a cloudless sky) computed offline with pvlib:
Ineichen clear-sky irradiance with the Linke turbidity climatology pvlib ships, transposed to the array plane
(isotropic sky), PVWatts DC model with a Faiman cell temperature, and a flat inverter/system efficiency.

References
----------
Holmgren, Hansen, Mikofski, "pvlib python", JOSS 3(29):884 (2018), doi:10.21105/joss.00884.
Ineichen & Perez, Solar Energy 73(3):151-157 (2002). Dobos, "PVWatts Version 5 Manual", NREL/TP-6A20-62641 (2014).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError

__all__ = ["BASE_LOAD_SHAPES", "CASABLANCA", "SiteLocation", "base_load_profile_kw", "pv_profile_kw"]


@dataclass(frozen=True)
class SiteLocation:
    """Geographic location of a site: latitude/longitude [degrees], altitude [m], IANA time zone."""

    latitude: float
    longitude: float
    altitude_m: float
    tz: str
    name: str = ""


#: Casablanca, Morocco (default site).
CASABLANCA = SiteLocation(33.5731, -7.5898, 50.0, "Africa/Casablanca", "Casablanca")

#: Hourly base-load shapes (fraction of the peak, local hour 0..23). ASSUMPTION: typical shapes of a depot with
#: workshop and offices (``depot``), an office building (``workplace``); not measured data. Users can load their
#: own series.
# fmt: off
BASE_LOAD_SHAPES: dict[str, np.ndarray] = {
    "depot": np.array([0.35, 0.33, 0.32, 0.32, 0.33, 0.40, 0.55, 0.75, 0.90, 0.95, 1.00, 1.00,
                       0.95, 0.95, 1.00, 0.98, 0.92, 0.85, 0.80, 0.72, 0.60, 0.50, 0.42, 0.38]),
    "workplace": np.array([0.25, 0.25, 0.25, 0.25, 0.25, 0.30, 0.45, 0.70, 0.92, 1.00, 1.00, 0.98,
                           0.90, 0.95, 1.00, 0.97, 0.90, 0.75, 0.55, 0.40, 0.32, 0.28, 0.26, 0.25]),
}
# fmt: on


def base_load_profile_kw(times: pd.DatetimeIndex, peak_kw: float, shape: str = "depot") -> np.ndarray:
    """Base (non-EV) site load at each local time [kW], linearly interpolated between hourly shape points."""
    if peak_kw < 0:
        raise InputError(f"base_load peak_kw must be >= 0 (value {peak_kw!r})")
    if shape not in BASE_LOAD_SHAPES:
        raise InputError(f"unknown base-load shape {shape!r}; known: {', '.join(BASE_LOAD_SHAPES)}")
    prof = BASE_LOAD_SHAPES[shape]
    hour = times.hour.to_numpy() + times.minute.to_numpy() / 60.0
    xp = np.arange(25, dtype=float)
    fp = np.append(prof, prof[0])
    return peak_kw * np.interp(hour, xp, fp)


def pv_profile_kw(
    times: pd.DatetimeIndex,
    step_minutes: int,
    pv_kwp: float,
    location: SiteLocation = CASABLANCA,
    tilt_deg: float = 30.0,
    azimuth_deg: float = 180.0,
    system_efficiency: float = 0.86,
    temp_air_c: float = 20.0,
) -> np.ndarray:
    """Clear-sky PV AC power averaged over each step [kW] for an array of ``pv_kwp`` kWp.

    ``system_efficiency`` lumps inverter, wiring and soiling losses (assumption 0.86, PVWatts default losses
    14 %); ``temp_air_c`` is a constant ambient temperature (assumption).
    """
    if pv_kwp < 0:
        raise InputError(f"pv_kwp must be >= 0 (value {pv_kwp!r})")
    n = len(times)
    if pv_kwp == 0 or n == 0:
        return np.zeros(n)
    import pvlib  # imported lazily: it is the slowest import of the package

    # Evaluate at sub-step points (every <= 5 min) and average over each step.
    sub = max(1, int(np.ceil(step_minutes / 5)))
    offsets = (np.arange(sub) + 0.5) * step_minutes / sub
    sub_times = times.repeat(sub) + pd.to_timedelta(np.tile(offsets, n), unit="min")
    loc = pvlib.location.Location(location.latitude, location.longitude, location.tz, location.altitude_m)
    clear = loc.get_clearsky(sub_times, model="ineichen")
    sun = loc.get_solarposition(sub_times)
    poa = pvlib.irradiance.get_total_irradiance(
        tilt_deg,
        azimuth_deg,
        sun["apparent_zenith"],
        sun["azimuth"],
        clear["dni"],
        clear["ghi"],
        clear["dhi"],
    )["poa_global"].fillna(0.0)
    temp_cell = pvlib.temperature.faiman(poa, temp_air_c, wind_speed=1.0)
    dc_kw = pvlib.pvsystem.pvwatts_dc(poa, temp_cell, pv_kwp, gamma_pdc=-0.004)
    ac_kw = np.clip(np.asarray(dc_kw, dtype=float) * system_efficiency, 0.0, pv_kwp)
    return ac_kw.reshape(n, sub).mean(axis=1)
