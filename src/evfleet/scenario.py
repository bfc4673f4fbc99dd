"""The Scenario: one immutable description of a charging problem, and its JSON file format.

Units: power [kW], energy [kWh], prices [MAD/kWh], SOC as a fraction 0-1, time as step indices of
``step_minutes`` minutes from ``start`` (timezone-aware, Africa/Casablanca by default).

A scenario holds fleet arrays of length N (one entry per plug-in session) and site series of length T. Its file
format ``evfleet.scenario/1`` is a public interface documented in ``docs/model.md``; loading validates every field
and names the first offending field, index and value.
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
]

FORMAT = "evfleet.scenario/1"
DEFAULT_TZ = "Africa/Casablanca"
REQUIRED_SERIES = ("price_import_mad_per_kwh", "price_export_mad_per_kwh", "base_load_kw", "pv_kw")
REQUIRED_VEHICLE_FIELDS = (
    "id",
    "model",
    "arrival_step",
    "departure_step",
    "battery_kwh",
    "soc_arrival",
    "soc_target",
    "soc_min",
    "soc_max",
    "max_charge_kw",
    "max_discharge_kw",
    "charge_efficiency",
    "discharge_efficiency",
)
_INT_FIELDS = ("arrival_step", "departure_step")
_STR_FIELDS = ("id", "model")
_FLOAT_FIELDS = tuple(f for f in REQUIRED_VEHICLE_FIELDS if f not in _INT_FIELDS + _STR_FIELDS)


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
            vehicles[name] = [str(x) for x in arr] if name in _STR_FIELDS else arr.tolist()
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
            elif key in REQUIRED_SERIES or key in data["series"] or key in ("tou_period", "frequency_hz"):
                data["series"][key] = _to_list(np.asarray(value))
            else:
                data[key] = value
        return scenario_from_dict(data)


def _to_list(arr: Any) -> list:
    arr = np.asarray(arr)
    if arr.dtype.kind in "OUS":
        return [str(x) for x in arr]
    return arr.tolist()


def _err(field_name: str, index: int | None, value: Any, what: str, origin: str = "") -> ScenarioError:
    where = f"{origin}: " if origin else ""
    at = f"[{index}]" if index is not None else ""
    return ScenarioError(f"{where}field '{field_name}{at}' {what} (value {value!r})")


def _num_array(values: Any, name: str, n: int, origin: str, integer: bool = False) -> np.ndarray:
    if not isinstance(values, list | tuple | np.ndarray):
        raise _err(name, None, type(values).__name__, "must be a list", origin)
    if len(values) != n:
        raise _err(name, None, len(values), f"must have length {n}", origin)
    for i, x in enumerate(values):
        ok = isinstance(x, int | float | np.integer | np.floating) and not isinstance(x, bool)
        if not ok or not np.isfinite(x) or (integer and float(x) != int(x)):
            raise _err(name, i, x, "must be a finite " + ("integer" if integer else "number"), origin)
    return np.asarray(values, dtype=np.int64 if integer else float)


def _first_bad(mask: np.ndarray) -> int | None:
    idx = np.flatnonzero(mask)
    return int(idx[0]) if idx.size else None


def scenario_from_dict(data: Mapping[str, Any], origin: str = "") -> Scenario:
    """Validate a mapping of format ``evfleet.scenario/1`` and build a :class:`Scenario`.

    Raises :class:`ScenarioError` naming the first offending field, index and value.
    """
    if not isinstance(data, Mapping):
        raise _err("<root>", None, type(data).__name__, "must be a JSON object", origin)
    if data.get("format") != FORMAT:
        raise _err("format", None, data.get("format"), f"must be {FORMAT!r}", origin)
    for key in (
        "name",
        "start",
        "step_minutes",
        "n_steps",
        "site",
        "degradation_mad_per_kwh",
        "series",
        "vehicles",
    ):
        if key not in data:
            raise _err(key, None, None, "is required", origin)
    try:
        start = pd.Timestamp(data["start"])
    except (ValueError, TypeError):
        raise _err("start", None, data["start"], "is not an ISO-8601 time", origin) from None
    if start.tzinfo is None:
        raise _err("start", None, data["start"], "must carry a UTC offset (e.g. +01:00)", origin)
    step_minutes = data["step_minutes"]
    if not isinstance(step_minutes, int) or isinstance(step_minutes, bool) or not 1 <= step_minutes <= 1440:
        raise _err("step_minutes", None, step_minutes, "must be an integer within 1-1440", origin)
    n_steps = data["n_steps"]
    if not isinstance(n_steps, int) or isinstance(n_steps, bool) or n_steps < 1:
        raise _err("n_steps", None, n_steps, "must be an integer >= 1", origin)
    site = data["site"]
    if not isinstance(site, Mapping):
        raise _err("site", None, site, "must be an object", origin)
    limits = {}
    for key in ("import_limit_kw", "export_limit_kw"):
        val = site.get(key)
        if not isinstance(val, int | float) or isinstance(val, bool) or not np.isfinite(val) or val < 0:
            raise _err(f"site.{key}", None, val, "must be a number >= 0", origin)
        limits[key] = float(val)
    deg = data["degradation_mad_per_kwh"]
    if not isinstance(deg, int | float) or isinstance(deg, bool) or not np.isfinite(deg) or deg < 0:
        raise _err("degradation_mad_per_kwh", None, deg, "must be a number >= 0", origin)

    raw_series = data["series"]
    if not isinstance(raw_series, Mapping):
        raise _err("series", None, raw_series, "must be an object", origin)
    series: dict[str, np.ndarray] = {}
    for key in REQUIRED_SERIES:
        if key not in raw_series:
            raise _err(f"series.{key}", None, None, "is required", origin)
    for key, values in raw_series.items():
        if key == "tou_period":
            if not isinstance(values, list) or len(values) != n_steps:
                raise _err("series.tou_period", None, values if not isinstance(values, list) else len(values),
                           f"must be a list of {n_steps} names", origin)  # fmt: skip
            series[key] = _frozen(np.asarray([str(x) for x in values], dtype=object))
            continue
        arr = _num_array(values, f"series.{key}", n_steps, origin)
        series[key] = _frozen(arr)
    for key in ("base_load_kw", "pv_kw"):
        bad = _first_bad(series[key] < 0)
        if bad is not None:
            raise _err(f"series.{key}", bad, float(series[key][bad]), "must be >= 0", origin)
    if "frequency_hz" in series:
        bad = _first_bad((series["frequency_hz"] < 45) | (series["frequency_hz"] > 55))
        if bad is not None:
            raise _err(
                "series.frequency_hz",
                bad,
                float(series["frequency_hz"][bad]),
                "must be within 45-55 Hz",
                origin,
            )

    raw_v = data["vehicles"]
    if not isinstance(raw_v, Mapping):
        raise _err("vehicles", None, raw_v, "must be an object", origin)
    for key in REQUIRED_VEHICLE_FIELDS:
        if key not in raw_v:
            raise _err(f"vehicles.{key}", None, None, "is required", origin)
    ids = raw_v["id"]
    if not isinstance(ids, list):
        raise _err("vehicles.id", None, type(ids).__name__, "must be a list", origin)
    n = len(ids)
    cols: dict[str, np.ndarray] = {}
    for key in _STR_FIELDS:
        vals = raw_v[key]
        if not isinstance(vals, list) or len(vals) != n:
            raise _err(f"vehicles.{key}", None, len(vals) if isinstance(vals, list) else vals, f"must have length {n}",
                       origin)  # fmt: skip
        for i, x in enumerate(vals):
            if not isinstance(x, str) or not x:
                raise _err(f"vehicles.{key}", i, x, "must be a non-empty string", origin)
        cols[key] = np.asarray(vals, dtype=object)
    seen: dict[str, int] = {}
    for i, x in enumerate(cols["id"]):
        if x in seen:
            raise _err("vehicles.id", i, x, f"duplicates vehicles.id[{seen[x]}]", origin)
        seen[x] = i
    for key in _INT_FIELDS:
        cols[key] = _num_array(raw_v[key], f"vehicles.{key}", n, origin, integer=True)
    for key in _FLOAT_FIELDS:
        cols[key] = _num_array(raw_v[key], f"vehicles.{key}", n, origin)

    def check(mask: np.ndarray, key: str, what: str) -> None:
        bad = _first_bad(mask)
        if bad is not None:
            val = cols[key][bad]
            raise _err(f"vehicles.{key}", bad, val.item() if hasattr(val, "item") else val, what, origin)

    check(cols["arrival_step"] < 0, "arrival_step", "must be >= 0")
    check(cols["departure_step"] > n_steps, "departure_step", f"must be <= n_steps ({n_steps})")
    check(cols["departure_step"] <= cols["arrival_step"], "departure_step", "must be > arrival_step")
    check(cols["battery_kwh"] <= 0, "battery_kwh", "must be > 0")
    for key in ("soc_arrival", "soc_target", "soc_min", "soc_max"):
        check((cols[key] < 0) | (cols[key] > 1), key, "must be within 0-1 (a fraction, not %)")
    check(cols["soc_min"] > cols["soc_max"], "soc_min", "must be <= soc_max")
    check(cols["soc_target"] > cols["soc_max"], "soc_target", "must be <= soc_max")
    check(cols["max_charge_kw"] < 0, "max_charge_kw", "must be >= 0")
    check(cols["max_discharge_kw"] < 0, "max_discharge_kw", "must be >= 0")
    for key in ("charge_efficiency", "discharge_efficiency"):
        check((cols[key] <= 0) | (cols[key] > 1), key, "must be within (0, 1]")

    extra_v: dict[str, np.ndarray] = {}
    for key, vals in raw_v.items():
        if key in REQUIRED_VEHICLE_FIELDS:
            continue
        if not isinstance(vals, list) or len(vals) != n:
            raise _err(f"vehicles.{key}", None, len(vals) if isinstance(vals, list) else vals, f"must have length {n}",
                       origin)  # fmt: skip
        arr = np.asarray(vals)
        extra_v[key] = _frozen(arr if arr.dtype.kind in "biuf" else np.asarray([str(x) for x in vals], dtype=object))

    vehicles = Vehicles(**{k: _frozen(v) for k, v in cols.items()}, extra=extra_v)
    known = {"format", "name", "start", "step_minutes", "n_steps", "site", "degradation_mad_per_kwh", "series",
             "vehicles"}  # fmt: skip
    extra = {k: v for k, v in data.items() if k not in known}
    tz = extra.get("timezone", DEFAULT_TZ)
    try:
        pd.Timestamp("2020-01-01", tz=tz)
    except Exception:
        raise _err("timezone", None, tz, "is not a known IANA time zone", origin) from None
    site_extra = {k: v for k, v in site.items() if k not in ("import_limit_kw", "export_limit_kw")}
    return Scenario(
        name=str(data["name"]),
        start=start,
        step_minutes=int(step_minutes),
        n_steps=int(n_steps),
        import_limit_kw=limits["import_limit_kw"],
        export_limit_kw=limits["export_limit_kw"],
        degradation_mad_per_kwh=float(deg),
        series=series,
        vehicles=vehicles,
        site_extra=site_extra,
        extra=extra,
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
    """Write ``scenario`` as JSON (atomically: a temporary file renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(scenario.to_json(), encoding="utf-8")
    tmp.replace(path)
    return path
