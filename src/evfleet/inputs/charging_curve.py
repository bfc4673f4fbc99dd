"""DC charging curve: power limit versus state of charge, in a linear-representable form.

Units: power [kW] (grid side, like ``max_charge_kw``), state of charge ``soc`` as a fraction 0-1.

Model (per vehicle, documented in ``docs/catalog.md``): the DC charging power is flat at the peak ``peak_kw``
up to a knee ``taper_soc`` and then falls linearly to ``end_kw`` at ``soc = 1``::

    limit(soc) = peak_kw                                                   for soc <= taper_soc
    limit(soc) = peak_kw - (peak_kw - end_kw) * (soc - taper_soc) / (1 - taper_soc)   for soc >  taper_soc

Because ``end_kw <= peak_kw`` the limit is the minimum of two affine functions of ``soc``, so an optimiser can
impose it with two linear cuts ``p <= peak_kw`` and ``p <= a + b * soc`` (see :func:`evfleet.physics.taper_cuts`,
re-exported here); with battery energy ``e`` [kWh] and capacity ``B`` [kWh], ``soc = e / B``. The simulator
applies it with the SOC at the start of each step (an explicit discretisation).

The generic curve (knee 0.8, end 20 % of peak) is an assumption: the knee is the middle of the 0.7-0.9 transition
SOC range of EV2Gym's charging model (Orfanoudakis et al., 2024, itself after the ACN-Sim two-stage model); the
end fraction is not sourced. Per-model knees with a source are in the catalogue (``dc_taper_soc`` and its source
column).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from evfleet._common.errors import InputError
from evfleet.physics import taper_cuts

__all__ = [
    "GENERIC_END_FRAC",
    "GENERIC_TAPER_SOC",
    "dc_limit_kw",
    "session_taper",
    "taper_cuts",
    "taper_fields",
]

#: Knee SOC of the generic DC curve [fraction] (assumption: middle of EV2Gym's 0.7-0.9 transition range).
GENERIC_TAPER_SOC = 0.8
#: Power at 100 % SOC as a fraction of the peak in the generic curve [fraction] (assumption, no source).
GENERIC_END_FRAC = 0.2


def dc_limit_kw(soc: np.ndarray | float, peak_kw: np.ndarray | float, taper_soc: np.ndarray | float,
                end_kw: np.ndarray | float) -> np.ndarray:  # fmt: skip
    """DC charging limit [kW] at ``soc`` (vectorised): flat to ``taper_soc``, linear to ``end_kw`` at SOC 1.

    ``peak_kw`` [kW], ``taper_soc`` [fraction 0-1], ``end_kw`` [kW] (<= ``peak_kw``). A knee of 1 means no taper.
    """
    soc = np.asarray(soc, dtype=float)
    peak = np.asarray(peak_kw, dtype=float)
    knee = np.asarray(taper_soc, dtype=float)
    end = np.minimum(np.asarray(end_kw, dtype=float), peak)
    span = 1.0 - knee
    safe = np.where(span > 1e-9, span, 1.0)
    line = peak - (peak - end) * (soc - knee) / safe
    return np.where((soc > knee) & (span > 1e-9), np.minimum(peak, line), peak)


def session_taper(vehicle_peak_kw: np.ndarray, charger_kw: np.ndarray, taper_soc: np.ndarray,
                  end_frac: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Knee and end power of a session's limit ``min(charger_kw, vehicle curve)`` [fraction, kW].

    The vehicle curve is flat at ``vehicle_peak_kw`` to ``taper_soc`` and falls to ``end_frac * vehicle_peak_kw``
    at SOC 1. A charger weaker than the vehicle moves the knee to where the vehicle line meets the charger power;
    when the charger never exceeds the vehicle line the knee is 1 (no taper) and the end power is the session's
    maximum.
    """
    peak = np.asarray(vehicle_peak_kw, dtype=float)
    charger = np.asarray(charger_kw, dtype=float)
    knee = np.clip(np.asarray(taper_soc, dtype=float), 0.0, 1.0)
    end = np.clip(np.asarray(end_frac, dtype=float), 0.0, 1.0) * peak
    cap = np.minimum(peak, charger)
    drop = peak - end
    with np.errstate(divide="ignore", invalid="ignore"):
        knee_eff = np.where(drop > 1e-9, knee + (peak - cap) * (1.0 - knee) / np.where(drop > 1e-9, drop, 1.0), 1.0)
    tapers = knee_eff < 1.0 - 1e-9
    return np.where(tapers, knee_eff, 1.0), np.where(tapers, end, cap)


def taper_fields(vehicles_extra: Mapping[str, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The optional per-session ``taper_soc`` and ``taper_end_kw`` arrays of a scenario, validated, or ``None``.

    Raises ``ValueError`` naming the field, index and value when an entry is out of range.
    """
    if "taper_soc" not in vehicles_extra or "taper_end_kw" not in vehicles_extra:
        return None
    out = []
    for name, lo, hi in (("taper_soc", 0.0, 1.0), ("taper_end_kw", 0.0, np.inf)):
        raw = np.asarray(vehicles_extra[name])
        try:
            arr = raw.astype(float)
        except (TypeError, ValueError):
            raise InputError(f"field 'vehicles.{name}' must hold numbers (value {raw[:3].tolist()!r}...)") from None
        if arr.shape != (n,):
            raise InputError(f"field 'vehicles.{name}' must have length {n} (value {arr.shape[0]})")
        bad = np.flatnonzero(~np.isfinite(arr) | (arr < lo) | (arr > hi))
        if bad.size:
            i = int(bad[0])
            raise InputError(f"field 'vehicles.{name}[{i}]' must be within {lo:g}-{hi:g} (value {float(arr[i])!r})")
        out.append(arr)
    return out[0], out[1]
