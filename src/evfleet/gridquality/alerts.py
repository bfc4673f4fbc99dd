"""Alert thresholds and the event log of the power-quality indicators.

Each indicator maps to four states by three boundaries ``(b1, b2, b3)`` in the indicator's own unit:

* ``high`` indicators (TDD, voltage THD, unbalance, transformer loading): optimal ``v <= b1``, good ``v <= b2``,
  warning ``v <= b3``, critical above ``b3``;
* ``low`` indicators (power factor): optimal ``v >= b1``, good ``v >= b2``, warning ``v >= b3``, critical below;
* ``abs`` indicators (voltage deviation [%], frequency [Hz]): as ``high`` on ``|v - centre|``.

By default ``b3`` is the limit (the standard's or evfleet's flag level) and ``b1, b2`` are 50 % and 80 % of it;
the power factor defaults to (0.99, 0.97, 0.95) and frequency to (50, 100, 200) mHz. Every change of state is an
event ``(time, indicator, value, limit, state)`` where ``limit`` is the boundary crossed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError
from evfleet.gridquality.site import mapping_from_file

__all__ = ["EVENT_COLUMNS", "INDICATORS", "STATES", "Thresholds", "classify", "detect_events", "load_thresholds"]

STATES = ("optimal", "good", "warning", "critical")
#: Indicator -> (direction, unit) of the alert rules.
INDICATORS: dict[str, tuple[str, str]] = {
    "tdd_pct": ("high", "%"),
    "thd_v_pct": ("high", "%"),
    "pf": ("low", "-"),
    "unbalance_pct": ("high", "%"),
    "transformer_loading_pct": ("high", "%"),
    "voltage_deviation_pct": ("abs", "%"),
    "frequency_hz": ("abs", "Hz"),
}
EVENT_COLUMNS = ["time", "step", "indicator", "value", "limit", "state", "previous_state"]
DEFAULT_FRACTIONS = (0.5, 0.8, 1.0)


@dataclass(frozen=True)
class Thresholds:
    """Alert boundaries per indicator. ``levels`` overrides defaults: ``{indicator: (b1, b2, b3)}``.

    Units: as the indicator (``pf`` as a fraction; ``voltage_deviation_pct`` as |deviation| [%];
    ``frequency_hz`` as |deviation| [mHz]). ``fractions`` set the default ``b1, b2`` as fractions of the limit.
    """

    levels: Mapping[str, tuple[float, float, float]] = field(default_factory=dict)
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS

    def __post_init__(self) -> None:
        self.validate()

    def validate(self, origin: str = "") -> None:
        where = f"{origin}: " if origin else ""
        fr = self.fractions
        if len(fr) != 3 or not all(isinstance(x, int | float) for x in fr) or not 0 < fr[0] <= fr[1] <= fr[2]:
            raise InputError(f"{where}field 'fractions' must be 3 increasing numbers > 0 (value {fr!r})")
        for name, lv in self.levels.items():
            if name not in INDICATORS:
                raise InputError(f"{where}field 'levels.{name}' is not a known indicator; known: "
                                 f"{', '.join(INDICATORS)} (value {lv!r})")  # fmt: skip
            ok = isinstance(lv, list | tuple) and len(lv) == 3
            ok = ok and all(isinstance(x, int | float) and not isinstance(x, bool) and np.isfinite(x) for x in lv)
            if not ok:
                raise InputError(f"{where}field 'levels.{name}' must be 3 finite numbers (value {lv!r})")
            direction = INDICATORS[name][0]
            mono = lv[0] >= lv[1] >= lv[2] if direction == "low" else 0 <= lv[0] <= lv[1] <= lv[2]
            if not mono:
                order = "decreasing" if direction == "low" else "increasing and >= 0"
                raise InputError(f"{where}field 'levels.{name}' must be {order} (value {list(lv)!r})")

    def boundaries(self, limits: Mapping[str, float]) -> dict[str, tuple[float, float, float]]:
        """Boundaries of every indicator given the limits (``b3`` defaults to the limit)."""
        out: dict[str, tuple[float, float, float]] = {}
        for name, (_direction, _unit) in INDICATORS.items():
            if name in self.levels:
                out[name] = tuple(float(x) for x in self.levels[name])  # type: ignore[assignment]
            elif name == "pf":
                lim = limits["pf"]
                out[name] = (max(0.99, lim), max(0.97, lim), lim)
            elif name == "frequency_hz":
                band = limits["frequency_band_mhz"]
                out[name] = (0.25 * band, 0.5 * band, band)
            else:
                lim = limits[name]
                out[name] = (self.fractions[0] * lim, self.fractions[1] * lim, self.fractions[2] * lim)
        return out


def load_thresholds(path: str | Path) -> Thresholds:
    """Read :class:`Thresholds` from JSON/YAML: ``{"levels": {indicator: [b1, b2, b3]}, "fractions": [...]}``."""
    data = mapping_from_file(path)
    unknown = [k for k in data if k not in ("levels", "fractions")]
    if unknown:
        raise InputError(f"{path}: field '{unknown[0]}' is not a known field; known: levels, fractions "
                         f"(value {data[unknown[0]]!r})")  # fmt: skip
    levels = data.get("levels", {})
    if not isinstance(levels, Mapping):
        raise InputError(f"{path}: field 'levels' must be an object (value {levels!r})")
    fractions = data.get("fractions", DEFAULT_FRACTIONS)
    try:
        return Thresholds(levels={k: tuple(v) if isinstance(v, list) else v for k, v in levels.items()},
                          fractions=tuple(fractions) if isinstance(fractions, list) else fractions)  # fmt: skip
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from None


def _magnitude(name: str, values: np.ndarray, centre: float) -> np.ndarray:
    direction = INDICATORS[name][0]
    if direction != "abs":
        return values
    dev = np.abs(values - centre)
    return dev * 1000.0 if name == "frequency_hz" else dev  # frequency boundaries are in mHz


def classify(name: str, values: np.ndarray, bounds: tuple[float, float, float], centre: float = 0.0) -> np.ndarray:
    """State index per step (0 optimal, 1 good, 2 warning, 3 critical), vectorised."""
    v = _magnitude(name, np.asarray(values, dtype=float), centre)
    b = np.asarray(bounds, dtype=float)
    if INDICATORS[name][0] == "low":
        return (v[:, None] < b[None, :]).sum(axis=1)
    return (v[:, None] > b[None, :]).sum(axis=1)


def _limit_value(name: str, bound: np.ndarray, value: np.ndarray, centre: float) -> np.ndarray:
    direction = INDICATORS[name][0]
    if direction != "abs":
        return bound
    sign = np.where(value >= centre, 1.0, -1.0)
    return centre + sign * (bound / 1000.0 if name == "frequency_hz" else bound)


def detect_events(
    times: pd.DatetimeIndex,
    series: Mapping[str, np.ndarray],
    bounds: Mapping[str, tuple[float, float, float]],
    centres: Mapping[str, float] | None = None,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Events of every state change (the run is taken to start ``optimal``) and the state index per indicator.

    ``limit`` is the boundary crossed: the upper of the two states' boundaries, on the side of the value for
    ``abs`` indicators (e.g. 50.2 or 49.8 Hz).
    """
    centres = dict(centres or {})
    frames = []
    states: dict[str, np.ndarray] = {}
    for name in INDICATORS:
        if name not in series:
            continue
        vals = np.asarray(series[name], dtype=float)
        c = float(centres.get(name, 0.0))
        st = classify(name, vals, bounds[name], c)
        states[name] = st
        prev = np.concatenate([[0], st[:-1]])
        idx = np.flatnonzero(st != prev)
        if idx.size == 0:
            continue
        crossed = np.maximum(st[idx], prev[idx]) - 1
        b = np.asarray(bounds[name], dtype=float)[crossed]
        # For a return to a lower state the side is that of the previous value.
        ref_val = np.where(st[idx] >= prev[idx], vals[idx], vals[np.maximum(idx - 1, 0)])
        frames.append(
            pd.DataFrame(
                {
                    "time": times[idx],
                    "step": idx,
                    "indicator": name,
                    "value": vals[idx],
                    "limit": _limit_value(name, b, ref_val, c),
                    "state": np.asarray(STATES, dtype=object)[st[idx]],
                    "previous_state": np.asarray(STATES, dtype=object)[prev[idx]],
                }
            )
        )
    if frames:
        events = pd.concat(frames, ignore_index=True).sort_values(["step", "indicator"], kind="stable")
        events = events.reset_index(drop=True)
    else:
        events = pd.DataFrame({c: pd.Series(dtype=object) for c in EVENT_COLUMNS})
    return events[EVENT_COLUMNS], states
