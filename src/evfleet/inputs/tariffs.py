"""Time-of-use electricity tariffs (ONEE, Morocco) as data files, the price series and billing terms they give.

Units: prices [MAD/kWh], power charge [MAD/kVA/year], fees [MAD/month], VAT [%], hours as half-open intervals
``[start_h, end_h)`` in local legal time (``time_posts: local``) or in GMT (``time_posts: gmt``).

A tariff file (JSON or YAML, ``format: evfleet.tariff/2``, ``/1`` still read) lists its periods (``creuses``,
``pleines``, ``pointe``, ...) with a price and a ``status`` (``sourced``, ``secondary``, ``inference`` or
``assumption``) and a note, the seasons (months) with the hours of each period, an export price, its sources and,
in ``/2``, the billing terms of :data:`BILLING_KEYS` (subscribed power, power charge, overrun, cos φ penalty,
fixed fees, VAT, time posts, distributor), each with a status in ``value_status``. See ``docs/tariffs.md``.
Shipped tariffs live in ``evfleet/data/tariffs``.

:meth:`Tariff.price_series` gives import prices **before VAT** (a tariff whose ``prices_include_vat`` is true is
divided by ``1 + vat_pct/100``): the scenario's price series and every cost KPI are before VAT (a company
recovers VAT); the bill adds VAT at the end (:mod:`evfleet.analysis.bill`).

References
----------
Arrêté n° 2451-14 of 21 July 2014 (ONEE tariffs); one.org.ma actualité id=2957 (30 Jan 2020, BT bi-horaire).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError
from evfleet._common.structured import read_structured_file

__all__ = [
    "BILLING_DEFAULTS",
    "BILLING_KEYS",
    "DEFAULT_TARIFF",
    "DISTRIBUTORS",
    "STATUS_ORDER",
    "Tariff",
    "TariffError",
    "list_tariffs",
    "load_tariff",
    "tariff_record",
    "tariff_to_dict",
]

DEFAULT_TARIFF = "onee_mt_general"
#: Value statuses, weakest first (the status of a figure built on several values is the weakest of them).
STATUS_ORDER = ("assumption", "inference", "secondary", "sourced")
_STATUSES = set(STATUS_ORDER)
FORMATS = ("evfleet.tariff/1", "evfleet.tariff/2")
#: Known distributors (``distributor``); ``other`` for any other contract.
DISTRIBUTORS = ("ONEE", "Lydec", "Redal", "Amendis", "Radeema", "Radeef", "Ramsa", "other")
#: The billing terms of ``evfleet.tariff/2`` (the scenario's ``tariff`` object carries them by these names).
BILLING_KEYS = (
    "subscribed_power_kva",
    "power_charge_mad_per_kva_year",
    "overrun_factor",
    "demand_measure",
    "cos_phi_threshold",
    "cos_phi_penalty_pct_per_hundredth",
    "fixed_fees_mad_per_month",
    "vat_pct",
    "prices_include_vat",
    "time_posts",
    "distributor",
)
#: Values of the billing terms a ``/1`` file (or a key left out of a ``/2`` file) gets: no power charge, no
#: overrun, no cos φ penalty, no fees, no VAT (all ``assumption``). ``subscribed_power_kva`` ``None``: the
#: scenario's import limit (kW taken as kVA) when a scenario is generated.
BILLING_DEFAULTS: dict[str, object] = {
    "subscribed_power_kva": None,
    "power_charge_mad_per_kva_year": 0.0,
    "overrun_factor": 0.0,
    "demand_measure": "kva",
    "cos_phi_threshold": 0.0,
    "cos_phi_penalty_pct_per_hundredth": 0.0,
    "fixed_fees_mad_per_month": 0.0,
    "vat_pct": 0.0,
    "prices_include_vat": False,
    "time_posts": "local",
    "distributor": "other",
}


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
    billing: dict = field(default_factory=lambda: dict(BILLING_DEFAULTS))
    value_status: dict = field(default_factory=dict)
    value_notes: dict = field(default_factory=dict)
    format: str = "evfleet.tariff/1"

    @property
    def vat_factor(self) -> float:
        """``1 + vat_pct/100`` if the tariff's prices include VAT, else 1 (divide a tariff price by it)."""
        return 1.0 + float(self.billing["vat_pct"]) / 100.0 if self.billing["prices_include_vat"] else 1.0

    @property
    def status(self) -> str:
        """The tariff's status: the weakest status of its energy prices and (``/2``) of its power charge; the
        status of each bill item is in :mod:`evfleet.analysis.bill`."""
        found = [str(spec.get("status", "assumption")) for spec in self.periods.values()]
        if self.format != "evfleet.tariff/1":
            found.append(self.value_status.get("power_charge_mad_per_kva_year", "assumption"))
        return min(found, key=STATUS_ORDER.index) if found else "assumption"

    @property
    def energy_price_status(self) -> str:
        """The weakest status of the energy prices."""
        found = [str(spec.get("status", "assumption")) for spec in self.periods.values()]
        return min(found, key=STATUS_ORDER.index) if found else "assumption"

    def billing_record(self, subscribed_power_kva: float | None = None) -> dict:
        """The scenario's ``tariff`` object: id, name, format, status, every :data:`BILLING_KEYS` value (as in the
        file; ``subscribed_power_kva`` replaced when given), ``value_status`` and ``value_notes`` of each key."""
        values = dict(self.billing)
        status = {k: self.value_status.get(k, "assumption") for k in BILLING_KEYS}
        notes = {k: self.value_notes[k] for k in BILLING_KEYS if k in self.value_notes}
        if subscribed_power_kva is not None:
            values["subscribed_power_kva"] = float(subscribed_power_kva)
        rec: dict = {"id": self.id, "name": self.name, "format": self.format, "status": self.status,
                     "energy_price_status": self.energy_price_status}  # fmt: skip
        rec.update(values)
        rec["export_price_mad_per_kwh"] = float(self.export_price_mad_per_kwh)
        rec["value_status"] = status
        rec["value_notes"] = notes
        return rec

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
        if self.billing.get("time_posts") == "gmt":  # hours defined in GMT: they move with legal time (Ramadan)
            times = times.tz_convert("UTC")
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
        """(import price [MAD/kWh] before VAT, export price [MAD/kWh], period name) at each time step start."""
        periods = self.periods_at(times)
        lut = {p: self.price_of(p) / self.vat_factor for p in self.periods}
        imp = np.array([lut[p] for p in periods], dtype=float) if len(periods) else np.zeros(0)
        exp = np.full(len(times), float(self.export_price_mad_per_kwh))
        return imp, exp, periods

    def to_dict(self) -> dict:
        """The tariff as written in its file."""
        return dict(self.raw)


def _check(cond: bool, origin: str, field_name: str, value: object, what: str) -> None:
    if not cond:
        shown = repr(value)
        shown = shown if len(shown) <= 200 else shown[:200] + "..."
        raise TariffError(f"{origin}: field {field_name!r} {what} (value {shown})")


def tariff_from_dict(data: dict, origin: str = "<tariff>") -> Tariff:
    """Validate a tariff mapping and build a :class:`Tariff`."""
    _check(isinstance(data, dict), origin, "<root>", type(data).__name__, "must be an object")
    _check(
        data.get("format") in FORMATS,
        origin,
        "format",
        data.get("format"),
        "must be 'evfleet.tariff/1' or 'evfleet.tariff/2'",
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
        _check(isinstance(spec, dict), origin, f"periods.{name}", spec, "must be an object")
        price = spec.get("price_mad_per_kwh")
        _check(_is_number(price) and price >= 0, origin, f"periods.{name}.price_mad_per_kwh", price,
               "must be a finite number >= 0")  # fmt: skip
        status = spec.get("status", "assumption")
        _check(
            isinstance(status, str) and status in _STATUSES,
            origin,
            f"periods.{name}.status",
            status,
            f"must be one of {sorted(_STATUSES)}",
        )
    default = data.get("default_period", next(iter(periods)))
    _check(isinstance(default, str) and default in periods, origin, "default_period", default,
           "must name one of the periods")  # fmt: skip
    seasons = data.get("seasons", {}) or {}
    _check(isinstance(seasons, dict), origin, "seasons", seasons, "must be an object of named seasons")
    for sname, season in seasons.items():
        _check(isinstance(season, dict), origin, f"seasons.{sname}", season, "must be an object")
        months = season.get("months", [])
        _check(
            isinstance(months, list) and all(_is_int(m) and 1 <= m <= 12 for m in months),
            origin,
            f"seasons.{sname}.months",
            months,
            "must be a list of months 1-12",
        )
        hours = season.get("hours") or {}
        _check(isinstance(hours, dict), origin, f"seasons.{sname}.hours", hours, "must be an object period -> spans")
        for period, spans in hours.items():
            _check(period in periods, origin, f"seasons.{sname}.hours", period, "names an unknown period")
            _check(isinstance(spans, list), origin, f"seasons.{sname}.hours.{period}", spans, "must be a list")
            for span in spans:
                ok = (
                    isinstance(span, list)
                    and len(span) == 2
                    and all(_is_number(x) for x in span)
                    and 0 <= span[0] < span[1] <= 24
                )
                _check(
                    ok,
                    origin,
                    f"seasons.{sname}.hours.{period}",
                    span,
                    "must be [start_h, end_h) within 0-24",
                )
    if data["format"] == "evfleet.tariff/2":  # a month in two seasons would give it two sets of hours
        seen: dict[int, str] = {}
        for sname, season in seasons.items():
            for m in season.get("months", []):
                _check(m not in seen, origin, f"seasons.{sname}.months", m, f"is also in season {seen.get(m)!r}")
                seen[m] = sname
    exp = data.get("export_price_mad_per_kwh", 0.0)
    _check(_is_number(exp) and exp >= 0, origin, "export_price_mad_per_kwh", exp, "must be a finite number >= 0")
    dem = data.get("demand_charge_mad_per_kw", 0.0)
    _check(_is_number(dem) and dem >= 0, origin, "demand_charge_mad_per_kw", dem, "must be a finite number >= 0")
    sources = data.get("sources", [])
    _check(isinstance(sources, list) and all(isinstance(s, str) for s in sources), origin, "sources", sources,
           "must be a list of texts")  # fmt: skip
    _check(isinstance(data["id"], str) and data["id"].strip() != "", origin, "id", data["id"], "must be a text")
    _check(isinstance(data["name"], str), origin, "name", data["name"], "must be a text")
    billing, value_status, value_notes = _billing(data, origin)
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
        billing=billing,
        value_status=value_status,
        value_notes=value_notes,
        format=str(data["format"]),
    )


def _billing(data: dict, origin: str) -> tuple[dict, dict, dict]:
    """The billing terms of a ``/2`` file (defaults for a ``/1`` file), their statuses and notes, validated."""
    out = dict(BILLING_DEFAULTS)
    if data["format"] == "evfleet.tariff/1":
        for key in BILLING_KEYS:
            _check(key not in data, origin, key, data.get(key), "needs format 'evfleet.tariff/2'")
        return out, {}, {}
    for key in BILLING_KEYS:
        if key in data:
            out[key] = data[key]
    check_billing(out, origin)
    status = data.get("value_status", {}) or {}
    _check(isinstance(status, dict), origin, "value_status", status, "must be an object key -> status")
    for key, st in status.items():
        _check(key in BILLING_KEYS, origin, f"value_status.{key}", key, f"must name one of {', '.join(BILLING_KEYS)}")
        _check(isinstance(st, str) and st in _STATUSES, origin, f"value_status.{key}", st,
               f"must be one of {sorted(_STATUSES)}")  # fmt: skip
    notes = data.get("value_notes", {}) or {}
    _check(isinstance(notes, dict) and all(isinstance(v, str) for v in notes.values()), origin, "value_notes", notes,
           "must be an object key -> text")  # fmt: skip
    return {k: (float(v) if _is_number(v) else v) for k, v in out.items()}, dict(status), dict(notes)


def check_billing(values: dict, origin: str = "<tariff>") -> None:
    """Validate the :data:`BILLING_KEYS` values of ``values`` (a tariff file or a scenario's ``tariff`` object);
    raise :class:`TariffError` naming the field and value of the first problem."""
    sub = values.get("subscribed_power_kva")
    _check(sub is None or (_is_number(sub) and sub > 0), origin, "subscribed_power_kva", sub,
           "must be a number > 0 kVA or null")  # fmt: skip
    for key in ("power_charge_mad_per_kva_year", "overrun_factor", "cos_phi_penalty_pct_per_hundredth",
                "fixed_fees_mad_per_month"):  # fmt: skip
        v = values.get(key, BILLING_DEFAULTS[key])
        _check(_is_number(v) and v >= 0, origin, key, v, "must be a finite number >= 0")
    v = values.get("cos_phi_threshold", 0.0)
    _check(_is_number(v) and 0 <= v <= 1, origin, "cos_phi_threshold", v, "must be a number within 0-1")
    v = values.get("vat_pct", 0.0)
    _check(_is_number(v) and 0 <= v <= 100, origin, "vat_pct", v, "must be a number within 0-100 (%)")
    v = values.get("prices_include_vat", False)
    _check(isinstance(v, bool), origin, "prices_include_vat", v, "must be true or false")
    v = values.get("demand_measure", "kva")
    _check(v in ("kva", "kw"), origin, "demand_measure", v, "must be 'kva' or 'kw'")
    v = values.get("time_posts", "local")
    _check(v in ("local", "gmt"), origin, "time_posts", v, "must be 'local' or 'gmt'")
    v = values.get("distributor", "other")
    _check(isinstance(v, str) and v in DISTRIBUTORS, origin, "distributor", v,
           f"must be one of {', '.join(DISTRIBUTORS)}")  # fmt: skip


def _is_number(x: object) -> bool:
    """A finite real number (``true``/``false`` are not prices)."""
    return isinstance(x, int | float) and not isinstance(x, bool) and bool(np.isfinite(x))


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


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


def tariff_to_dict(tariff: Tariff) -> dict:
    """The tariff as an ``evfleet.tariff/2`` mapping that :func:`tariff_from_dict` (and ``--tariff FILE``) reads
    back: the file's other keys (notes, sources, ...) kept, every :data:`BILLING_KEYS` value written (a ``/1``
    tariff gets the billing defaults, status ``assumption``), with ``value_status`` for each and ``value_notes``."""
    out = copy.deepcopy(dict(tariff.raw))
    out.update(
        format="evfleet.tariff/2",
        id=tariff.id,
        name=tariff.name,
        default_period=tariff.default_period,
        periods=copy.deepcopy(tariff.periods),
        seasons=copy.deepcopy(tariff.seasons),
        export_price_mad_per_kwh=float(tariff.export_price_mad_per_kwh),
        sources=list(tariff.sources),
    )
    for key in BILLING_KEYS:
        out[key] = tariff.billing[key]
    out["value_status"] = {k: tariff.value_status.get(k, "assumption") for k in BILLING_KEYS}
    out["value_notes"] = {k: tariff.value_notes[k] for k in BILLING_KEYS if k in tariff.value_notes}
    return out


def tariff_record(tariff: Tariff, subscribed_power_kva: float | None, import_limit_kw: float) -> dict:
    """The scenario's ``tariff`` object (:meth:`Tariff.billing_record`): the subscribed power is the one given, else
    the tariff's, else the import limit [kW taken as kVA] (an assumption, noted in ``value_notes``)."""
    sub = subscribed_power_kva if subscribed_power_kva is not None else tariff.billing.get("subscribed_power_kva")
    rec = tariff.billing_record(float(sub) if sub is not None else float(import_limit_kw))
    if subscribed_power_kva is not None:
        rec["value_status"]["subscribed_power_kva"] = "assumption"
        rec["value_notes"]["subscribed_power_kva"] = "given when the scenario was made (a contract input)"
    elif tariff.billing.get("subscribed_power_kva") is None:
        rec["value_status"]["subscribed_power_kva"] = "assumption"
        rec["value_notes"]["subscribed_power_kva"] = "the import limit, kW taken as kVA (set your contract's value)"
    return rec
