"""The Scenario: one immutable description of a charging problem, and its JSON file format.

Units: power [kW], energy [kWh], prices [MAD/kWh], SOC as a fraction 0-1, time as step indices of
``step_minutes`` minutes from ``start`` (timezone-aware, Africa/Casablanca by default).

A scenario holds fleet arrays of length N (one entry per plug-in session) and site series of length T. Its file
format ``evfleet.scenario/1`` is a public interface documented in ``docs/model.md``; loading validates every field
by looping over the field table of :mod:`evfleet.scenario_schema` and names the first offending field, index and
value.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError
from evfleet._common.files import write_text_atomic
from evfleet.scenario_schema import (
    CHARGER_TYPES,
    DEFAULT_TZ,
    FORMAT,
    MAX_SESSION_STEPS,
    MAX_SESSIONS,
    MAX_TEXT_CHARS,
    Field,
    column_fields,
    cross_rules_after,
    field_for,
    fields_in,
)

__all__ = [
    "FORMAT",
    "REQUIRED_SERIES",
    "REQUIRED_VEHICLE_FIELDS",
    "Scenario",
    "ScenarioError",
    "Vehicles",
    "load_scenario",
    "save_scenario",
    "scenario_from_dict",
    "unknown_charger",
]

#: The named columns of the Scenario (required array fields of the table), in table order.
REQUIRED_SERIES = tuple(f.key for f in column_fields("series"))
REQUIRED_VEHICLE_FIELDS = tuple(f.key for f in column_fields("vehicles"))
_TEXT_COLUMNS = tuple(f.key for f in column_fields("vehicles") if f.kind == "strings")
_SERIES_KEYS = tuple(f.key for f in fields_in("series"))


class ScenarioError(InputError):
    """The scenario is invalid; the message names the field, index and value."""


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Vehicles:
    """Plug-in sessions as a struct of arrays (length N each).

    ``arrival_step``/``departure_step`` [step index]: connected for ``arrival_step <= t < departure_step``.
    ``battery_kwh`` [kWh]; ``soc_*`` [fraction 0-1]; ``max_charge_kw``/``max_discharge_kw`` [kW, grid side];
    efficiencies [fraction]. ``extra`` holds optional per-session fields (``vehicle``, ``charger``, ...).
    """

    id: np.ndarray
    model: np.ndarray
    arrival_step: np.ndarray
    departure_step: np.ndarray
    battery_kwh: np.ndarray
    soc_arrival: np.ndarray
    soc_target: np.ndarray
    soc_min: np.ndarray
    soc_max: np.ndarray
    max_charge_kw: np.ndarray
    max_discharge_kw: np.ndarray
    charge_efficiency: np.ndarray
    discharge_efficiency: np.ndarray
    extra: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.id)

    @property
    def energy_arrival_kwh(self) -> np.ndarray:
        """Battery energy at arrival [kWh]."""
        return self.soc_arrival * self.battery_kwh

    @property
    def energy_target_kwh(self) -> np.ndarray:
        """Battery energy wanted at departure [kWh]."""
        return self.soc_target * self.battery_kwh

    @property
    def energy_floor_kwh(self) -> np.ndarray:
        """Lowest allowed battery energy [kWh]: ``min(soc_min, soc_arrival) * battery_kwh``."""
        return np.minimum(self.soc_min, self.soc_arrival) * self.battery_kwh

    @property
    def energy_v2g_floor_kwh(self) -> np.ndarray:
        """Energy below which V2G never discharges [kWh]: ``soc_min * battery_kwh``."""
        return self.soc_min * self.battery_kwh

    @property
    def energy_ceiling_kwh(self) -> np.ndarray:
        """Highest allowed battery energy [kWh]: ``max(soc_max, soc_arrival) * battery_kwh``."""
        return np.maximum(self.soc_max, self.soc_arrival) * self.battery_kwh


@dataclass(frozen=True, eq=False)
class Scenario:
    """Everything a strategy and the simulator need. Immutable: arrays are read-only.

    ``series`` maps names to arrays of length ``n_steps`` (the four required series plus optional ones such as
    ``tou_period`` or ``frequency_hz``); ``extra`` keeps optional top-level fields (e.g. ``timezone``, ``meta``)
    so that a file round-trips unchanged.
    """

    name: str
    start: pd.Timestamp
    step_minutes: int
    n_steps: int
    import_limit_kw: float
    export_limit_kw: float
    degradation_mad_per_kwh: float
    series: Mapping[str, np.ndarray]
    vehicles: Vehicles
    site_extra: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def dt_h(self) -> float:
        """Step length [h]."""
        return self.step_minutes / 60.0

    @property
    def n_vehicles(self) -> int:
        """Number of plug-in sessions N."""
        return len(self.vehicles)

    @property
    def timezone(self) -> str:
        """IANA time zone of the site."""
        return str(self.extra.get("timezone", DEFAULT_TZ))

    @cached_property
    def times(self) -> pd.DatetimeIndex:
        """Start time of each step, timezone-aware (local time of the site)."""
        return pd.date_range(self.start, periods=self.n_steps, freq=f"{self.step_minutes}min").tz_convert(self.timezone)

    @property
    def price_import_mad_per_kwh(self) -> np.ndarray:
        return self.series["price_import_mad_per_kwh"]

    @property
    def price_export_mad_per_kwh(self) -> np.ndarray:
        return self.series["price_export_mad_per_kwh"]

    @property
    def base_load_kw(self) -> np.ndarray:
        return self.series["base_load_kw"]

    @property
    def pv_kw(self) -> np.ndarray:
        return self.series["pv_kw"]

    @property
    def tou_period(self) -> np.ndarray:
        """Tariff period name per step (``"-"`` when the scenario has no ``tou_period`` series)."""
        if "tou_period" in self.series:
            return self.series["tou_period"]
        return np.full(self.n_steps, "-", dtype=object)

    def to_dict(self) -> dict:
        """The scenario as the JSON-ready mapping of format ``evfleet.scenario/1``."""
        v = self.vehicles
        vehicles: dict[str, list] = {}
        for name in REQUIRED_VEHICLE_FIELDS:
            arr = getattr(v, name)
            vehicles[name] = [str(x) for x in arr] if name in _TEXT_COLUMNS else arr.tolist()
        for name, arr in v.extra.items():
            vehicles[name] = _to_list(arr)
        series = {name: _to_list(arr) for name, arr in self.series.items()}
        site = {
            "import_limit_kw": float(self.import_limit_kw),
            "export_limit_kw": float(self.export_limit_kw),
        }
        site.update(self.site_extra)
        out: dict[str, Any] = {
            "format": FORMAT,
            "name": self.name,
            "start": self.start.isoformat(),
            "step_minutes": int(self.step_minutes),
            "n_steps": int(self.n_steps),
            "site": site,
            "degradation_mad_per_kwh": float(self.degradation_mad_per_kwh),
            "series": series,
            "vehicles": vehicles,
        }
        out.update(self.extra)
        return out

    def to_json(self) -> str:
        """Canonical JSON text (compact, keys in format order)."""
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False, allow_nan=False) + "\n"

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON (content address of the scenario)."""
        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()

    def replace(self, **changes: Any) -> Scenario:
        """A validated copy with some top-level fields, series or site limits changed."""
        data = self.to_dict()
        for key, value in changes.items():
            if key in ("import_limit_kw", "export_limit_kw"):
                data["site"][key] = value
            elif key in _SERIES_KEYS or key in data["series"]:
                data["series"][key] = _to_list(np.asarray(value))
            else:
                data[key] = value
        return scenario_from_dict(data)


def _to_list(arr: Any) -> list:
    arr = np.asarray(arr)
    if arr.dtype.kind in "OUS":
        return [str(x) for x in arr]
    return arr.tolist()


# --- validation, driven by the field table (evfleet.scenario_schema.FIELDS) -----------------------------------------


def _err(field_name: str, index: int | None, value: Any, what: str, origin: str = "") -> ScenarioError:
    where = f"{origin}: " if origin else ""
    at = f"[{index}]" if index is not None else ""
    return ScenarioError(f"{where}field '{field_name}{at}' {what} (value {value!r})")


def _first_bad(mask: np.ndarray) -> int | None:
    idx = np.flatnonzero(mask)
    return int(idx[0]) if idx.size else None


def _require(raw: Mapping[str, Any], section: str, origin: str) -> None:
    """Every required field of ``section`` is present (the first missing one in table order is named)."""
    for f in fields_in(section):
        if f.required and f.key not in raw:
            raise _err(f.path, None, None, "is required", origin)


# One value. ``refs`` holds the top-level values read so far (a range may refer to ``n_steps``).


def _read_time(f: Field, value: Any, origin: str) -> pd.Timestamp:
    """An ISO-8601 time with a UTC offset."""
    try:
        time = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise _err(f.path, None, value, "is not an ISO-8601 time", origin) from None
    if time.tzinfo is None:
        raise _err(f.path, None, value, "must carry a UTC offset (e.g. +01:00)", origin)
    return time


def _read_integer(f: Field, value: Any, origin: str, refs: Mapping[str, Any]) -> int:
    """An int (not a bool) within the field's range."""
    if not isinstance(value, int) or isinstance(value, bool) or (f.rule and f.rule.violated(value, refs)):
        raise _err(f.path, None, value, _must_be("an integer", f, refs), origin)
    return int(value)


def _read_number(f: Field, value: Any, origin: str, refs: Mapping[str, Any]) -> float:
    """A finite int or float (not a bool) within the field's range, as a float."""
    number = isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value)
    if not number or (f.rule and f.rule.violated(value, refs)):
        raise _err(f.path, None, value, _must_be("a number", f, refs), origin)
    return float(value)


def _must_be(noun: str, f: Field, refs: Mapping[str, Any]) -> str:
    """``must be an integer within 1-1440``: the noun, then the field's range."""
    return f"must be {noun} {f.rule.describe(refs)}" if f.rule is not None else f"must be {noun}"


def _read_object(f: Field, value: Any, origin: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _err(f.path, None, value, "must be an object", origin)
    return value


def _check_zone(f: Field, value: Any, origin: str) -> None:
    try:
        pd.Timestamp("2020-01-01", tz=value)
    except Exception:
        raise _err(f.path, None, value, "is not a known IANA time zone", origin) from None


# Arrays of length n (T per step, N per session), named ``name`` (the path, with the key for a ``*`` row).


def _all_plain_numbers(values: Any, integer: bool) -> bool:
    """Vectorised: every element is a finite int or float (a whole number below 2**53 if ``integer``).

    ``False`` only means "look element by element": :func:`_first_bad_number` decides."""
    if isinstance(values, np.ndarray):
        if values.ndim != 1 or values.dtype.kind not in "iuf":
            return False
        arr = values.astype(float)
    else:
        if not set(map(type, values)) <= {int, float}:
            return False
        try:
            arr = np.asarray(values, dtype=float)
        except OverflowError:
            return False
    ok = np.isfinite(arr)
    if integer:
        ok &= (arr == np.trunc(arr)) & (np.abs(arr) < 2.0**53)
    return bool(ok.all())


def _first_bad_number(values: Any, integer: bool) -> tuple[int, Any] | None:
    """Index and value of the first element that is not a finite number (a whole number if ``integer``)."""
    for i, x in enumerate(values):
        ok = isinstance(x, int | float | np.integer | np.floating) and not isinstance(x, bool)
        if not ok or not np.isfinite(x) or (integer and float(x) != int(x)):
            return i, x
    return None


def _read_numbers(values: Any, name: str, n: int, origin: str, integer: bool = False) -> np.ndarray:
    """``n`` finite numbers (whole numbers if ``integer``) as a float (int64) array."""
    if not isinstance(values, list | tuple | np.ndarray):
        raise _err(name, None, type(values).__name__, "must be a list", origin)
    if len(values) != n:
        raise _err(name, None, len(values), f"must have length {n}", origin)
    if not _all_plain_numbers(values, integer):
        bad = _first_bad_number(values, integer)
        if bad is not None:
            raise _err(name, bad[0], bad[1], "must be a finite " + ("integer" if integer else "number"), origin)
    return np.asarray(values, dtype=np.int64 if integer else float)


def _read_integers(values: Any, name: str, n: int, origin: str) -> np.ndarray:
    return _read_numbers(values, name, n, origin, integer=True)


def _read_strings(values: Any, name: str, n: int, origin: str) -> np.ndarray:
    """``n`` non-empty strings as an object array."""
    if not isinstance(values, list) or len(values) != n:
        raise _err(name, None, len(values) if isinstance(values, list) else values, f"must have length {n}", origin)
    if not (set(map(type, values)) <= {str} and all(values)):
        for i, x in enumerate(values):
            if not isinstance(x, str) or not x:
                raise _err(name, i, x, "must be a non-empty string", origin)
    for i, x in enumerate(values):
        if not _plain_text(x):
            raise _err(name, i, x[:80], f"must be at most {MAX_TEXT_CHARS} characters, no control characters", origin)
    return np.asarray(values, dtype=object)


def _plain_text(x: str) -> bool:
    """At most :data:`MAX_TEXT_CHARS` characters and no control character (a name is shown on terminals and pages)."""
    return len(x) <= MAX_TEXT_CHARS and x.isprintable()


def _read_names(values: Any, name: str, n: int, origin: str) -> np.ndarray:
    """``n`` values of any type, kept as text (an object array of str)."""
    if not isinstance(values, list) or len(values) != n:
        raise _err(name, None, values if not isinstance(values, list) else len(values), f"must be a list of {n} names",
                   origin)  # fmt: skip
    return np.asarray([str(x) for x in values], dtype=object)


def _read_values(values: Any, name: str, n: int, origin: str) -> np.ndarray:
    """``n`` values of any type: a numeric or bool array if they are all numbers, else kept as text."""
    if not isinstance(values, list) or len(values) != n:
        raise _err(name, None, len(values) if isinstance(values, list) else values, f"must have length {n}", origin)
    arr = np.asarray(values)
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        i = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise _err(name, i, values[i], "must be a finite number (or text)", origin)
    return arr if arr.dtype.kind in "biuf" else np.asarray([str(x) for x in values], dtype=object)


_READ_ARRAY = {
    "numbers": _read_numbers,
    "integers": _read_integers,
    "strings": _read_strings,
    "names": _read_names,
    "values": _read_values,
}


def _check_unique(values: np.ndarray, name: str, origin: str) -> None:
    """No value repeats an earlier one (the first repeat and the index of its first occurrence are named)."""
    i = _first_bad(pd.Series(values, dtype=object).duplicated(keep="first").to_numpy())
    if i is not None:
        j = int(np.flatnonzero(values[:i] == values[i])[0])
        raise _err(name, i, values[i], f"duplicates {name}[{j}]", origin)


def _check_rules(section: str, cols: Mapping[str, np.ndarray], refs: Mapping[str, Any], origin: str) -> None:
    """The ranges of the section's columns in table order, each followed by the cross-field rules it completes."""
    for f in fields_in(section):
        if f.key not in cols:
            continue
        if f.rule is not None:
            _raise_first(f.rule.violated(cols[f.key], refs), f.path, cols[f.key], f"must be {f.rule.describe(refs)}",
                         origin)  # fmt: skip
        for rule in cross_rules_after(f.path):
            values, other = cols[rule.field.rpartition(".")[2]], cols[rule.other.rpartition(".")[2]]
            _raise_first(rule.violated(values, other), rule.field, values, f"must be {rule.describe()}", origin)


def _raise_first(mask: np.ndarray, name: str, values: np.ndarray, what: str, origin: str) -> None:
    bad = _first_bad(mask)
    if bad is not None:
        raise _err(name, bad, values[bad].item(), what, origin)


# The three objects. A missing site limit is read as null and named by the number check, not as "is required".


def _read_site(raw: Mapping[str, Any], refs: Mapping[str, Any], origin: str) -> tuple[dict[str, float], dict]:
    """The site limits [kW] and the other site keys (kept as they are)."""
    limits = {f.key: _read_number(f, raw.get(f.key), origin, refs) for f in fields_in("site") if f.required}
    for f in fields_in("site"):  # the optional numbers (latitude, longitude) are checked when given, kept as given
        if not f.required and f.key in raw:
            _read_number(f, raw[f.key], origin, refs)
    return limits, {k: v for k, v in raw.items() if k not in limits}


def _read_series(raw: Mapping[str, Any], refs: Mapping[str, Any], origin: str) -> dict[str, np.ndarray]:
    """Every series [T], in the file's order (a key without a row of its own is read by the ``series.*`` row)."""
    _require(raw, "series", origin)
    n_steps = refs["n_steps"]
    series = {key: _frozen(_READ_ARRAY[field_for("series", key).kind](values, f"series.{key}", n_steps, origin))
              for key, values in raw.items()}  # fmt: skip
    _check_rules("series", series, refs, origin)
    return series


def _read_vehicles(raw: Mapping[str, Any], refs: Mapping[str, Any], origin: str) -> Vehicles:
    """The sessions [N]: N is the length of ``vehicles.id``; the ids are checked for repeats before the numbers are
    read, the ranges and cross-field rules once every column is read; other keys are kept in ``extra``."""
    _require(raw, "vehicles", origin)
    columns = column_fields("vehicles")
    ids = raw[columns[0].key]
    if not isinstance(ids, list):
        raise _err(columns[0].path, None, type(ids).__name__, "must be a list", origin)
    n = len(ids)
    if n > MAX_SESSIONS or n * int(refs["n_steps"]) > MAX_SESSION_STEPS:
        raise _err(columns[0].path, None, n, f"must list at most {MAX_SESSIONS:,} sessions and at most "
                   f"{MAX_SESSION_STEPS:,} sessions x steps (n_steps {refs['n_steps']})", origin)  # fmt: skip
    text = [f for f in columns if f.kind == "strings"]
    cols = {f.key: _read_strings(raw[f.key], f.path, n, origin) for f in text}
    for f in text:
        if f.unique:
            _check_unique(cols[f.key], f.path, origin)
    for f in columns:
        if f.kind != "strings":
            cols[f.key] = _READ_ARRAY[f.kind](raw[f.key], f.path, n, origin)
    _check_rules("vehicles", cols, refs, origin)
    extra = {key: _frozen(_read_values(values, f"vehicles.{key}", n, origin))
             for key, values in raw.items() if key not in cols}  # fmt: skip
    if "charger" in extra:
        _check_chargers(raw["charger"], origin)
    return Vehicles(**{k: _frozen(v) for k, v in cols.items()}, extra=extra)


def _check_chargers(values: list[Any], origin: str) -> None:
    """Every ``vehicles.charger`` is the name of a charger type: a non-empty text (one of
    :data:`evfleet.scenario_schema.CHARGER_TYPES`, or a type a grid site file defines)."""
    i = _first_bad(np.asarray([not (isinstance(x, str) and x.strip()) for x in values], dtype=bool))
    if i is not None:
        raise _err("vehicles.charger", i, values[i], "must be the name of a charger type (a text, e.g. "
                   f"{', '.join(CHARGER_TYPES)})", origin)  # fmt: skip


def unknown_charger(scenario_vehicles_extra: Mapping[str, Any], known: Any = CHARGER_TYPES) -> str | None:
    """The first message naming a ``vehicles.charger`` that is not in ``known`` (None if all are)."""
    if "charger" not in scenario_vehicles_extra:
        return None
    names = np.asarray(scenario_vehicles_extra["charger"], dtype=object)
    i = _first_bad(~pd.Series(names, dtype=object).isin(list(known)).to_numpy())
    if i is None:
        return None
    return f"field 'vehicles.charger[{i}]' must be a known charger type ({', '.join(known)}) (value {names[i]!r})"


_READ_OBJECT = {"site": _read_site, "series": _read_series, "vehicles": _read_vehicles}


def scenario_from_dict(data: Mapping[str, Any], origin: str = "") -> Scenario:
    """Validate a mapping of format ``evfleet.scenario/1`` and build a :class:`Scenario`.

    The checks follow the field table :data:`evfleet.scenario_schema.FIELDS` row by row; raises
    :class:`ScenarioError` naming the first offending field, index and value.
    """
    if not isinstance(data, Mapping):
        raise _err("<root>", None, type(data).__name__, "must be a JSON object", origin)
    if data.get("format") != FORMAT:
        raise _err("format", None, data.get("format"), f"must be {FORMAT!r}", origin)
    _require(data, "", origin)
    got: dict[str, Any] = {}  # the top-level values read so far, in table order
    for f in fields_in(""):
        value = data.get(f.key)
        if f.kind == "time":
            got[f.key] = _read_time(f, value, origin)
        elif f.kind == "integer":
            got[f.key] = _read_integer(f, value, origin, got)
        elif f.kind == "number":
            got[f.key] = _read_number(f, value, origin, got)
        elif f.kind == "object":
            got[f.key] = _READ_OBJECT[f.key](_read_object(f, value, origin), got, origin)
        elif f.kind == "zone":
            _check_zone(f, data.get(f.key, DEFAULT_TZ), origin)
    name = data.get("name")
    if not isinstance(name, str) or not _plain_text(name):
        shown = name[:80] if isinstance(name, str) else name
        raise _err("name", None, shown, f"must be a text of at most {MAX_TEXT_CHARS} characters, no control "
                   "characters", origin)  # fmt: skip
    limits, site_extra = got["site"]
    required = {f.key for f in fields_in("") if f.required}  # Scenario attributes; the rest is kept in ``extra``
    return Scenario(
        name=str(data["name"]),
        start=got["start"],
        step_minutes=got["step_minutes"],
        n_steps=got["n_steps"],
        import_limit_kw=limits["import_limit_kw"],
        export_limit_kw=limits["export_limit_kw"],
        degradation_mad_per_kwh=got["degradation_mad_per_kwh"],
        series=got["series"],
        vehicles=got["vehicles"],
        site_extra=site_extra,
        extra={k: v for k, v in data.items() if k not in required},
    )


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario JSON file."""
    path = Path(path)
    if not path.exists():
        raise ScenarioError(f"{path}: file not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: not valid JSON: {exc}") from exc
    return scenario_from_dict(data, origin=str(path))


def save_scenario(scenario: Scenario, path: str | Path) -> Path:
    """Write ``scenario`` as JSON (atomically and durably: serialised first, a temporary file renamed into place)."""
    return write_text_atomic(path, scenario.to_json())
