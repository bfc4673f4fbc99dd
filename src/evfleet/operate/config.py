"""The depot file (``evfleet serve --config depot.yaml``): the site's limits, the control loop, defaults, security.

Every key is optional (defaults below); an unknown key or a bad value raises :class:`InputError` naming it. Units in
the names: power [kW], times [s] or [h], SOC fraction 0-1. See ``docs/operate.md`` for a complete example.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from evfleet._common.errors import InputError, InputFileNotFoundError

__all__ = ["ControlConfig", "DefaultsConfig", "DepotConfig", "OcppConfig", "SiteConfig", "load_config"]


@dataclass(frozen=True)
class SiteConfig:
    """The site: ``import_limit_kw`` (the connection), ``subscribed_power_kw`` (the contract; the lower one binds),
    ``base_load_kw`` (other load forecast), ``base_load_max_kw`` (its worst case, used by the fail-safe shares)."""

    name: str = "depot"
    import_limit_kw: float = 500.0
    subscribed_power_kw: float | None = None
    base_load_kw: float = 0.0
    base_load_max_kw: float | None = None
    export_limit_kw: float = 0.0  # what V2G may feed back to the grid (0: discharge only serves the site's load)
    timezone: str = "Africa/Casablanca"
    tariff: str | None = None

    @property
    def limit_kw(self) -> float:
        """The binding import limit [kW]: the lower of the connection and the subscribed power."""
        if self.subscribed_power_kw is None:
            return self.import_limit_kw
        return min(self.import_limit_kw, self.subscribed_power_kw)

    @property
    def worst_base_kw(self) -> float:
        return self.base_load_kw if self.base_load_max_kw is None else max(self.base_load_max_kw, self.base_load_kw)


@dataclass(frozen=True)
class ControlConfig:
    """The control loop: re-plan every ``interval_s`` and on every plug-in/plug-out with ``strategy`` (an online
    strategy of ``evfleet.strategies``) over ``horizon_h`` in steps of ``plan_step_minutes``."""

    interval_s: float = 60.0
    strategy: str = "load_balancing"
    plan_step_minutes: int = 15
    horizon_h: float = 24.0
    profile_timeout_s: float = 10.0
    stale_after_s: float = 180.0
    min_replan_gap_s: float = 1.0
    live_snapshot_s: float = 1.0  # how often the live view is written for the dashboard (0: never)


@dataclass(frozen=True)
class DefaultsConfig:
    """The per-site default rule, used when neither ISO 15118 nor the fleet's schedule gives the needs."""

    departure: str | None = "07:00"  # next occurrence of this local time ...
    dwell_h: float = 10.0  # ... or, when departure is None, arrival + dwell_h
    target_soc: float = 0.8
    soc_arrival: float = 0.3
    soc_min: float = 0.1
    battery_kwh: float = 60.0
    charge_efficiency: float = 0.92


@dataclass(frozen=True)
class OcppConfig:
    """OCPP: heartbeat interval sent at boot, TLS (security profile 2) files, the largest message accepted."""

    heartbeat_interval_s: int = 300
    tls_cert: str | None = None
    tls_key: str | None = None
    max_message_bytes: int = 65536
    response_timeout_s: float = 30.0
    pending_stations: tuple[str, ...] = ()


@dataclass(frozen=True)
class DepotConfig:
    """The whole depot file; ``stations``, ``id_tokens``, ``vehicles`` and ``users`` are registered at start
    (the same bodies as the REST API's POSTs)."""

    site: SiteConfig = field(default_factory=SiteConfig)
    control: ControlConfig = field(default_factory=ControlConfig)
    defaults: DefaultsConfig = field(default_factory=DefaultsConfig)
    ocpp: OcppConfig = field(default_factory=OcppConfig)
    auth: bool = False
    store: str | None = None
    stations: tuple[dict[str, Any], ...] = ()
    id_tokens: tuple[dict[str, Any], ...] = ()
    vehicles: tuple[dict[str, Any], ...] = ()
    users: tuple[dict[str, Any], ...] = ()

    def validate(self) -> DepotConfig:
        s, c, d = self.site, self.control, self.defaults
        _check(s.import_limit_kw > 0, "site.import_limit_kw", s.import_limit_kw, "must be > 0")
        _check(
            s.subscribed_power_kw is None or s.subscribed_power_kw > 0,
            "site.subscribed_power_kw",
            s.subscribed_power_kw,
            "must be > 0",
        )
        _check(s.base_load_kw >= 0, "site.base_load_kw", s.base_load_kw, "must be >= 0")
        _check(s.export_limit_kw >= 0, "site.export_limit_kw", s.export_limit_kw, "must be >= 0")
        _check(s.worst_base_kw < s.limit_kw, "site.base_load_max_kw", s.worst_base_kw, "must be below the limit")
        _check(c.interval_s >= 1, "control.interval_s", c.interval_s, "must be >= 1")
        _check(1 <= c.plan_step_minutes <= 60, "control.plan_step_minutes", c.plan_step_minutes, "must be 1-60")
        _check(c.horizon_h > 0, "control.horizon_h", c.horizon_h, "must be > 0")
        _check(c.profile_timeout_s > 0, "control.profile_timeout_s", c.profile_timeout_s, "must be > 0")
        for name in ("target_soc", "soc_arrival", "soc_min"):
            val = getattr(d, name)
            _check(0 <= val <= 1, f"defaults.{name}", val, "must be within 0-1 (a fraction, not %)")
        _check(d.battery_kwh > 0, "defaults.battery_kwh", d.battery_kwh, "must be > 0")
        _check(0 < d.charge_efficiency <= 1, "defaults.charge_efficiency", d.charge_efficiency, "must be in (0, 1]")
        if d.departure is not None:
            parse_hhmm(d.departure, "defaults.departure")
        _check(
            (self.ocpp.tls_cert is None) == (self.ocpp.tls_key is None),
            "ocpp.tls_cert",
            self.ocpp.tls_cert,
            "needs ocpp.tls_key too (and the reverse)",
        )
        return self


def _check(ok: bool, name: str, value: Any, what: str, origin: str = "depot file") -> None:
    if not ok:
        raise InputError(f"{origin}: field {name!r} {what} (value {value!r})")


def parse_hhmm(text: str, name: str) -> tuple[int, int]:
    """(hour, minute) of ``"HH:MM"``; raise naming ``name``."""
    try:
        hh, mm = str(text).split(":")
        h, m = int(hh), int(mm)
    except ValueError:
        raise InputError(f"field {name!r} must be HH:MM (value {text!r})") from None
    if not (0 <= h < 24 and 0 <= m < 60):
        raise InputError(f"field {name!r} must be HH:MM (value {text!r})")
    return h, m


def _section(cls: type, data: Any, name: str) -> Any:
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise InputError(f"depot file: section {name!r} must be a mapping (value {data!r})")
    names = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in names:
            raise InputError(f"depot file: unknown field '{name}.{key}' (known: {', '.join(names)})")
    kwargs = {}
    for key, val in data.items():
        default = names[key].default
        if isinstance(default, tuple):
            val = tuple(val or ())
        elif isinstance(default, float) and isinstance(val, int) and not isinstance(val, bool):
            val = float(val)
        kwargs[key] = val
    return cls(**kwargs)


def load_config(path: str | Path | None = None, data: dict[str, Any] | None = None) -> DepotConfig:
    """The depot configuration from a YAML file (or an already parsed mapping); defaults when both are None."""
    if path is not None:
        p = Path(path)
        if not p.exists():
            raise InputFileNotFoundError(f"depot file {p} does not exist")
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise InputError(f"depot file {p}: not valid YAML: {exc}") from None
    data = dict(data or {})
    if not isinstance(data, dict):
        raise InputError("depot file: the top level must be a mapping")
    known = {f.name for f in dataclasses.fields(DepotConfig)}
    for key in data:
        if key not in known:
            raise InputError(f"depot file: unknown field {key!r} (known: {', '.join(sorted(known))})")
    cfg = DepotConfig(
        site=_section(SiteConfig, data.get("site"), "site"),
        control=_section(ControlConfig, data.get("control"), "control"),
        defaults=_section(DefaultsConfig, data.get("defaults"), "defaults"),
        ocpp=_section(OcppConfig, data.get("ocpp"), "ocpp"),
        auth=bool(data.get("auth", False)),
        store=data.get("store"),
        stations=tuple(data.get("stations") or ()),
        id_tokens=tuple(data.get("id_tokens") or ()),
        vehicles=tuple(data.get("vehicles") or ()),
        users=tuple(data.get("users") or ()),
    )
    return cfg.validate()
