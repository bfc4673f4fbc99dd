"""Time-of-use electricity tariffs (ONEE, Morocco) as data files, and the price series they give.

Units: prices [MAD/kWh], demand charge [MAD/kW], hours in local legal time (Africa/Casablanca) as
half-open intervals ``[start_h, end_h)``.

A tariff file (JSON or YAML, ``format: evfleet.tariff/1``) lists its periods (``creuses``, ``pleines``,
``pointe``, ...) with a price and a ``status`` (``sourced``, ``inference`` or ``assumption``) and a note, the
seasons (months) with the hours of each period, an export price, an optional demand charge and its sources.
See ``docs/tariffs.md``. Shipped tariffs live in ``evfleet/data/tariffs``.

References
----------
Arrêté n° 2451-14 of 21 July 2014 (ONEE tariffs); one.org.ma actualité id=2957 (30 Jan 2020, BT bi-horaire).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError
from evfleet._common.structured import read_structured_file

__all__ = ["DEFAULT_TARIFF", "Tariff", "TariffError", "list_tariffs", "load_tariff"]

DEFAULT_TARIFF = "onee_mt_trihoraire"
_STATUSES = {"sourced", "inference", "assumption"}


class TariffError(InputError):
    """A tariff file is invalid; the message names the file, field and value."""


@dataclass(frozen=True)
class Tariff:
    """A time-of-use tariff. Prices in [MAD/kWh]; ``seasons`` map a name to months and period hours."""

    id: str
    name: str
    periods: dict[str, dict]
    seasons: dict[str, dict]
    default_period: str
    export_price_mad_per_kwh: float = 0.0
    demand_charge_mad_per_kw: float = 0.0
    sources: tuple[str, ...] = ()
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def period_names(self) -> list[str]:
        """Period names, cheapest first."""
        return sorted(self.periods, key=lambda p: self.periods[p]["price_mad_per_kwh"])

    def price_of(self, period: str) -> float:
        """Import price of ``period`` [MAD/kWh]."""
        return float(self.periods[period]["price_mad_per_kwh"])

    def periods_at(self, times: pd.DatetimeIndex) -> np.ndarray:
        """Period name at each local time (array of str, length len(times))."""
        if times.tz is None:
            raise TariffError("times must be timezone-aware (e.g. Africa/Casablanca)")
        hour = times.hour.to_numpy() + times.minute.to_numpy() / 60.0
        month = times.month.to_numpy()
        out = np.full(len(times), self.default_period, dtype=object)
        for season in self.seasons.values():
            in_season = np.isin(month, season["months"])
            for period, spans in season.get("hours", {}).items():
                for start_h, end_h in spans:
                    out[in_season & (hour >= start_h) & (hour < end_h)] = period
        return out.astype(str)

    def price_series(self, times: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(import price [MAD/kWh], export price [MAD/kWh], period name) at each time step start."""
        periods = self.periods_at(times)
        lut = {p: self.price_of(p) for p in self.periods}
        imp = np.array([lut[p] for p in periods], dtype=float) if len(periods) else np.zeros(0)
        exp = np.full(len(times), float(self.export_price_mad_per_kwh))
        return imp, exp, periods

    def to_dict(self) -> dict:
        """The tariff as written in its file."""
        return dict(self.raw)


def _check(cond: bool, origin: str, field_name: str, value: object, what: str) -> None:
    if not cond:
        raise TariffError(f"{origin}: field {field_name!r} {what} (value {value!r})")


def tariff_from_dict(data: dict, origin: str = "<tariff>") -> Tariff:
    """Validate a tariff mapping and build a :class:`Tariff`."""
    _check(isinstance(data, dict), origin, "<root>", type(data).__name__, "must be an object")
    _check(
        data.get("format") == "evfleet.tariff/1",
        origin,
        "format",
        data.get("format"),
        "must be 'evfleet.tariff/1'",
    )
    for key in ("id", "name", "periods"):
        _check(key in data, origin, key, None, "is required")
    periods = data["periods"]
    _check(
        isinstance(periods, dict) and len(periods) > 0,
        origin,
        "periods",
        periods,
        "must be a non-empty object",
    )
    for name, spec in periods.items():
        price = spec.get("price_mad_per_kwh") if isinstance(spec, dict) else None
        _check(
            isinstance(price, int | float) and np.isfinite(price) and price >= 0,
            origin,
            f"periods.{name}.price_mad_per_kwh",
            price,
            "must be a number >= 0",
        )
        status = spec.get("status", "assumption")
        _check(
            status in _STATUSES,
            origin,
            f"periods.{name}.status",
            status,
            f"must be one of {sorted(_STATUSES)}",
        )
    default = data.get("default_period", next(iter(periods)))
    _check(default in periods, origin, "default_period", default, "must name one of the periods")
    seasons = data.get("seasons", {}) or {}
    for sname, season in seasons.items():
        months = season.get("months", [])
        _check(
            isinstance(months, list) and all(isinstance(m, int) and 1 <= m <= 12 for m in months),
            origin,
            f"seasons.{sname}.months",
            months,
            "must be a list of months 1-12",
        )
        for period, spans in (season.get("hours") or {}).items():
            _check(period in periods, origin, f"seasons.{sname}.hours", period, "names an unknown period")
            for span in spans:
                ok = isinstance(span, list) and len(span) == 2 and 0 <= span[0] < span[1] <= 24
                _check(
                    ok,
                    origin,
                    f"seasons.{sname}.hours.{period}",
                    span,
                    "must be [start_h, end_h) within 0-24",
                )
    exp = data.get("export_price_mad_per_kwh", 0.0)
    _check(isinstance(exp, int | float) and exp >= 0, origin, "export_price_mad_per_kwh", exp, "must be >= 0")
    dem = data.get("demand_charge_mad_per_kw", 0.0)
    _check(isinstance(dem, int | float) and dem >= 0, origin, "demand_charge_mad_per_kw", dem, "must be >= 0")
    return Tariff(
        id=str(data["id"]),
        name=str(data["name"]),
        periods={k: dict(v) for k, v in periods.items()},
        seasons={k: dict(v) for k, v in seasons.items()},
        default_period=default,
        export_price_mad_per_kwh=float(exp),
        demand_charge_mad_per_kw=float(dem),
        sources=tuple(data.get("sources", [])),
        raw=data,
    )


def _shipped_dir() -> Path:
    return Path(str(resources.files("evfleet").joinpath("data", "tariffs")))


def list_tariffs() -> list[str]:
    """Ids of the shipped tariffs."""
    return sorted(p.stem for p in _shipped_dir().glob("*.json"))


def load_tariff(name_or_path: str | Path = DEFAULT_TARIFF) -> Tariff:
    """Load a shipped tariff by id, or a user's tariff file (.json / .yaml / .yml)."""
    path = Path(name_or_path)
    if not path.suffix:
        shipped = _shipped_dir() / f"{name_or_path}.json"
        if not shipped.exists():
            raise TariffError(f"unknown tariff {str(name_or_path)!r}; shipped tariffs: {', '.join(list_tariffs())}")
        path = shipped
    if not path.exists():
        raise TariffError(f"{path}: file not found")
    try:
        data = read_structured_file(path)
    except InputError as exc:
        raise TariffError(str(exc)) from None
    return tariff_from_dict(data, str(path))
