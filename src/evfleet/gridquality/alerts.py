"""Alert thresholds and the event log of the power-quality indicators.

Each indicator maps to four states by three boundaries ``(b1, b2, b3)`` in the indicator's own unit:

* ``high`` indicators (TDD, voltage THD, unbalance, transformer loading): optimal ``v <= b1``, good ``v <= b2``,
  warning ``v <= b3``, critical above ``b3``;
* ``low`` indicators (power factor): optimal ``v >= b1``, good ``v >= b2``, warning ``v >= b3``, critical below;
* ``abs`` indicators (voltage deviation [%], frequency [Hz]): as ``high`` on ``|v - centre|``.

By default ``b3`` is the limit (the standard's or evfleet's flag level) and ``b1, b2`` are 50 % and 80 % of it;
the power factor defaults to (0.99, 0.97, 0.95) and frequency to (50, 100, 200) mHz. Every change of state is an
:class:`Event` ``(time, step, indicator, value, limit, state, previous_state)`` where ``limit`` is the boundary
crossed; ``events.csv`` holds one row per event (:meth:`Event.to_row`) and is read back by
:func:`events_from_rows` (exactly those columns).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError
from evfleet.gridquality.records import ALERT_STATES, Status, check_columns
from evfleet.gridquality.site import mapping_from_file

__all__ = [
    "ALERT_INDICATORS",
    "EVENT_COLUMNS",
    "INDICATORS",
    "STATES",
    "Event",
    "Thresholds",
    "classify",
    "detect_events",
    "events_frame",
    "events_from_rows",
    "find_events",
    "load_thresholds",
]

#: Alert state words by state index (the values of :data:`~evfleet.gridquality.records.ALERT_STATES`).
STATES = tuple(s.value for s in ALERT_STATES)
#: Indicator -> (direction, unit) of the alert rules.
INDICATORS: dict[str, tuple[str, str]] = {
    "tdd_pct": ("high", "%"),
    "thd_v_pct": ("high", "%"),
    "pf": ("low", "-"),
    "unbalance_pct": ("high", "%"),
    "transformer_loading_pct": ("high", "%"),
    "voltage_deviation_pct": ("abs", "%"),
    "frequency_hz": ("abs", "Hz"),
    "vuf_pct": ("high", "%"),
    "cable_drop_pct": ("high", "%"),
}
#: The indicators that raise alerts (events, ``pq_state``): quantities with a standard's or a contract's limit.
#: ``pf`` (the instantaneous PF: a chart; the billed cos φ is a period figure) and ``unbalance_pct`` (current
#: deviation from the mean: information) stay known words, e.g. to read older ``events.csv`` files, but raise none.
ALERT_INDICATORS: tuple[str, ...] = ("tdd_pct", "thd_v_pct", "vuf_pct", "transformer_loading_pct",
                                     "voltage_deviation_pct", "cable_drop_pct", "frequency_hz")  # fmt: skip
#: Columns of ``events.csv`` and of ``PowerQualityReport.events``, in order (the fields of :class:`Event`).
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
            if name not in limits and name not in self.levels and name not in ("pf", "frequency_hz"):
                continue
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


@dataclass(frozen=True)
class Event:
    """One change of alert state of one indicator (a row of ``events.csv``).

    ``time``: start of the step ``step``; ``value``: the indicator's value at that step and ``limit`` the boundary
    crossed, both in the indicator's :attr:`unit` (Hz for frequency, % for voltage deviation); ``state``: the new
    state, ``previous_state`` the one before (the run starts ``optimal``).
    """

    time: pd.Timestamp
    step: int
    indicator: str
    value: float
    limit: float
    state: Status
    previous_state: Status

    def __post_init__(self) -> None:
        if self.indicator not in INDICATORS:
            raise InputError(f"field 'indicator' is not a known alert indicator; known: {', '.join(INDICATORS)} "
                             f"(value {self.indicator!r})")  # fmt: skip
        for name in ("state", "previous_state"):
            # the exact word is accepted and stored as its Status
            object.__setattr__(self, name, _alert_state(getattr(self, name), name))
        if self.step < 0:
            raise InputError(f"field 'step' must be >= 0 (value {self.step!r})")

    @property
    def unit(self) -> str:
        """Unit of ``value`` and ``limit`` (``-`` for the power factor)."""
        return INDICATORS[self.indicator][1]

    def to_row(self) -> dict[str, Any]:
        """The ``events.csv`` row: :data:`EVENT_COLUMNS`, time as ISO-8601 text with its UTC offset."""
        return {
            "time": self.time.isoformat(),
            "step": self.step,
            "indicator": self.indicator,
            "value": self.value,
            "limit": self.limit,
            "state": self.state.value,
            "previous_state": self.previous_state.value,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any], where: str = "events") -> Event:
        """An event from a row with exactly the :data:`EVENT_COLUMNS` (e.g. of ``events.csv``).

        Raises :class:`InputError` naming ``where`` and the unknown, missing or bad column.
        """
        check_columns(row.keys(), EVENT_COLUMNS, where)
        raw_time = row["time"]
        time = pd.NaT
        if isinstance(raw_time, str | datetime):
            try:
                time = pd.Timestamp(raw_time)
            except ValueError:
                time = pd.NaT
        if pd.isna(time):
            raise InputError(f"field '{where}.time' must be an ISO-8601 time (value {raw_time!r})")
        step = row["step"]
        if isinstance(step, Real) and not isinstance(step, bool) and float(step).is_integer():
            step = int(step)
        if not isinstance(step, Integral) or isinstance(step, bool):
            raise InputError(f"field '{where}.step' must be an integer step index (value {row['step']!r})")
        if step < 0:
            raise InputError(f"field '{where}.step' must be >= 0 (value {row['step']!r})")
        indicator = row["indicator"]
        if not isinstance(indicator, str) or indicator not in INDICATORS:
            raise InputError(f"field '{where}.indicator' is not a known alert indicator; known: "
                             f"{', '.join(INDICATORS)} (value {indicator!r})")  # fmt: skip
        nums = {}
        for key in ("value", "limit"):
            x = row[key]
            if not isinstance(x, Real) or isinstance(x, bool):
                raise InputError(f"field '{where}.{key}' must be a number (value {x!r})")
            nums[key] = float(x)
        return cls(time, int(step), indicator, nums["value"], nums["limit"],
                   _alert_state(row["state"], f"{where}.state"),
                   _alert_state(row["previous_state"], f"{where}.previous_state"))  # fmt: skip


def _alert_state(word: Any, where: str) -> Status:
    """The alert state named ``word`` exactly (one of :data:`STATES`)."""
    if isinstance(word, str) and word in STATES:
        return Status(word)
    raise InputError(f"field '{where}' must be one of {', '.join(STATES)} (value {word!r})")


def events_from_rows(rows: pd.DataFrame | Iterable[Mapping[str, Any]], where: str = "events") -> list[Event]:
    """Events from ``events.csv`` rows (a DataFrame or mappings) with exactly the :data:`EVENT_COLUMNS`.

    Strict: an unknown or missing column, or a bad value, raises :class:`InputError` naming ``where``, the row and
    the column; nothing is guessed.
    """
    if isinstance(rows, pd.DataFrame):
        check_columns(rows.columns, EVENT_COLUMNS, where)
        records: list[Mapping[str, Any]] = rows.to_dict(orient="records")
    else:
        records = list(rows)
    return [Event.from_row(rec, f"{where}[{i}]") for i, rec in enumerate(records)]


def events_frame(events: Sequence[Event]) -> pd.DataFrame:
    """The events as a table (:data:`EVENT_COLUMNS`; ``time`` as timestamps), in their order."""
    if not events:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in EVENT_COLUMNS})
    return pd.DataFrame(
        {
            "time": pd.DatetimeIndex([e.time for e in events]),
            "step": np.array([e.step for e in events], dtype=np.int64),
            "indicator": [e.indicator for e in events],
            "value": np.array([e.value for e in events], dtype=float),
            "limit": np.array([e.limit for e in events], dtype=float),
            "state": [e.state.value for e in events],
            "previous_state": [e.previous_state.value for e in events],
        }
    )[EVENT_COLUMNS]


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


def find_events(
    times: pd.DatetimeIndex,
    series: Mapping[str, np.ndarray],
    bounds: Mapping[str, tuple[float, float, float]],
    centres: Mapping[str, float] | None = None,
) -> tuple[list[Event], dict[str, np.ndarray]]:
    """The :class:`Event` of every state change (the run is taken to start ``optimal``), sorted by step then
    indicator, and the state index per indicator and step.

    ``limit`` is the boundary crossed: the upper of the two states' boundaries, on the side of the value for
    ``abs`` indicators (e.g. 50.2 or 49.8 Hz).
    """
    centres = dict(centres or {})
    events: list[Event] = []
    states: dict[str, np.ndarray] = {}
    for name in INDICATORS:
        if name not in series or name not in bounds:
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
        limits = _limit_value(name, b, ref_val, c)
        events += [
            Event(times[i], i, name, v, lim, ALERT_STATES[s_new], ALERT_STATES[s_old])
            for i, v, lim, s_new, s_old in zip(
                idx.tolist(), vals[idx].tolist(), limits.tolist(), st[idx].tolist(), prev[idx].tolist(), strict=True
            )
        ]
    events.sort(key=lambda e: (e.step, e.indicator))
    return events, states


def detect_events(
    times: pd.DatetimeIndex,
    series: Mapping[str, np.ndarray],
    bounds: Mapping[str, tuple[float, float, float]],
    centres: Mapping[str, float] | None = None,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """:func:`find_events` as a table (:func:`events_frame`, the ``PowerQualityReport.events`` frame)."""
    events, states = find_events(times, series, bounds, centres)
    return events_frame(events), states
