"""The depot's state: stations, EVSEs, connectors, ID tokens, vehicles, schedule, sessions, measurements, alerts.

One :class:`Registry` holds it in memory (the control loop and the API read it without touching the disk) and
mirrors every change into the operate store (:mod:`evfleet.operate.db`), from which :meth:`Registry.load` rebuilds
it after a restart. Units: power [kW] (meter values in W are converted), energy [Wh] as metered, SOC fraction 0-1,
times timezone-aware UTC ``datetime``.

A session's needs (departure, target SOC) come, in order of preference, from ISO 15118 (``iso15118``, 2.0.1
NotifyEVChargingNeeds), from the fleet's schedule (``schedule``: an entry of the schedule, else the vehicle's own
departure/target), or from the site's default rule (``default``); the source is recorded with the session. Its SOC
is the EV's reported SoC when there is one (``ev``), else the arrival estimate plus the metered energy.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from evfleet._common.errors import InputError
from evfleet.inputs.catalog import load_catalog, normalise_model_name
from evfleet.operate import db as T
from evfleet.operate.config import DepotConfig, parse_hhmm
from evfleet.operate.security import PasswordCheck, hash_password

__all__ = [
    "OCPP_VERSIONS",
    "TOKEN_STATUSES",
    "Connector",
    "Evse",
    "IdToken",
    "Registry",
    "Session",
    "Station",
    "Vehicle",
    "VehicleModel",
    "iso",
    "parse_time",
]

LOG = logging.getLogger("evfleet.operate")

OCPP_VERSIONS = ("1.6", "2.0.1")
TOKEN_STATUSES = ("Accepted", "Blocked", "Expired", "Invalid")
REGISTRATIONS = ("Accepted", "Pending", "Rejected")
_MAX_ALERTS = 1000


def iso(t: datetime | None) -> str | None:
    """ISO 8601 UTC text of ``t`` (seconds, ``Z``), or None."""
    if t is None:
        return None
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def parse_time(text: Any, name: str = "time") -> datetime:
    """A timezone-aware datetime from ISO 8601 text (``Z`` or an offset; naive text is taken as UTC)."""
    if isinstance(text, datetime):
        return text if text.tzinfo else text.replace(tzinfo=UTC)
    try:
        t = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"field {name!r} must be an ISO 8601 time (value {text!r})") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


@dataclass(frozen=True)
class VehicleModel:
    """A catalogue model: battery [kWh], AC/DC charge limits [kW], V2G capability."""

    model: str
    battery_kwh: float
    ac_charge_kw: float
    dc_charge_kw: float
    v2g: bool
    ac_discharge_kw: float = 0.0
    dc_discharge_kw: float = 0.0


@dataclass
class Connector:
    station_id: str
    evse_id: int
    connector_id: int
    status: str = "Unknown"
    error_code: str | None = None
    status_at: str | None = None


@dataclass
class Session:
    """A transaction (``id`` is the OCPP transaction id as text)."""

    id: str
    station_id: str
    evse_id: int
    connector_id: int
    id_token: str | None
    vehicle_id: str | None
    started_at: datetime
    state: str = "active"
    stopped_at: datetime | None = None
    meter_start_wh: float | None = None
    meter_wh: float | None = None  # the latest energy register
    meter_stop_wh: float | None = None
    soc_arrival: float = 0.3
    soc_arrival_source: str = "default"
    soc_ev: float | None = None  # the EV's latest reported SoC (fraction)
    departure: datetime | None = None
    target_soc: float = 0.8
    needs_source: str = "default"
    ev_max_power_kw: float | None = None
    stop_reason: str | None = None
    battery_kwh: float = 60.0
    max_charge_kw: float = 22.0
    v2g: bool = False
    max_discharge_kw: float = 0.0  # > 0 only for a V2G vehicle on a bidirectional 2.0.1 EVSE (apply_vehicle)
    charge_efficiency: float = 0.92
    dirty: bool = False  # changed since it was last written (meter values update it often)

    @property
    def energy_wh(self) -> float:
        """Energy delivered so far [Wh] (energy register minus its value at the start)."""
        if self.meter_wh is None or self.meter_start_wh is None:
            return 0.0
        return max(self.meter_wh - self.meter_start_wh, 0.0)

    @property
    def soc(self) -> float:
        """Current SOC: the EV's reported SoC, else the arrival estimate plus the metered energy (fraction)."""
        if self.soc_ev is not None:
            return self.soc_ev
        soc = self.soc_arrival + self.charge_efficiency * self.energy_wh / 1000.0 / self.battery_kwh
        return min(max(soc, 0.0), 1.0)

    @property
    def soc_source(self) -> str:
        return "ev" if self.soc_ev is not None else "estimate"

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "station_id": self.station_id,
            "evse_id": self.evse_id,
            "connector_id": self.connector_id,
            "id_token": self.id_token,
            "vehicle_id": self.vehicle_id,
            "state": self.state,
            "started_at": iso(self.started_at),
            "stopped_at": iso(self.stopped_at),
            "meter_start_wh": self.meter_start_wh,
            "meter_stop_wh": self.meter_stop_wh,
            "energy_wh": self.energy_wh,
            "soc_arrival": self.soc_arrival,
            "soc_arrival_source": self.soc_arrival_source,
            "soc": self.soc,
            "departure": iso(self.departure),
            "target_soc": self.target_soc,
            "needs_source": self.needs_source,
            "ev_max_power_kw": self.ev_max_power_kw,
            "stop_reason": self.stop_reason,
        }

    def view(self) -> dict[str, Any]:
        out = self.row()
        out["soc_source"] = self.soc_source
        out["battery_kwh"] = self.battery_kwh
        out["max_charge_kw"] = self.max_charge_kw
        out["v2g"] = self.v2g
        out["max_discharge_kw"] = self.max_discharge_kw
        return out


@dataclass
class Evse:
    """An EVSE: its limits, connectors, active session, last measurement and setpoint."""

    station_id: str
    id: int
    max_power_kw: float
    phases: int
    bidirectional: bool = False  # declared V2X capable: takes a negative TxProfile limit as a discharge (2.0.1)
    connectors: dict[int, Connector] = field(default_factory=dict)
    session: Session | None = None
    measured_kw: float | None = None
    measured_at: float | None = None  # time.monotonic() of the last power measurement
    current_a: dict[str, float] = field(default_factory=dict)
    setpoint_kw: float | None = None
    profile_status: str | None = None
    failed: str | None = None  # why the last profile did not take (Rejected, Timeout, ...), else None
    ev_schedule: dict[str, Any] | None = None  # the EV's own schedule (2.0.1 NotifyEVChargingSchedule, K15/K17)

    def is_stale(self, stale_after_s: float, now_mono: float | None = None) -> bool:
        if self.measured_at is None:
            return True
        return (now_mono if now_mono is not None else time.monotonic()) - self.measured_at > stale_after_s

    def view(self, stale_after_s: float) -> dict[str, Any]:
        return {
            "id": self.id,
            "max_power_kw": self.max_power_kw,
            "phases": self.phases,
            "bidirectional": self.bidirectional,
            "connectors": [
                {"id": c.connector_id, "status": c.status, "error_code": c.error_code, "status_at": c.status_at}
                for c in self.connectors.values()
            ],
            "session_id": self.session.id if self.session else None,
            "measured_kw": self.measured_kw,
            "measurement_stale": self.session is not None and self.is_stale(stale_after_s),
            "current_a": dict(self.current_a),
            "setpoint_kw": self.setpoint_kw,
            "profile_status": self.profile_status,
            "failed": self.failed,
            "ev_schedule": self.ev_schedule,
        }


@dataclass
class Station:
    """A registered charging station. ``link`` is its live OCPP connection (None when offline)."""

    id: str
    password_hash: str
    ocpp_version: str
    max_power_kw: float
    registration: str = "Accepted"
    charging_rate_unit: str = "W"
    voltage_v: float = 230.0
    evses: dict[int, Evse] = field(default_factory=dict)
    vendor: str | None = None
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None
    boot_at: str | None = None
    last_seen_at: str | None = None
    created_at: str | None = None
    online: bool = False
    booted: bool = False
    link: Any = None
    clock_skew_s: float | None = None
    default_profile_kw: float | None = None
    default_profile_status: str | None = None
    reported_profiles: dict[str, Any] = field(default_factory=dict)  # 2.0.1 ReportChargingProfiles (K09)

    def evse_of_connector(self, connector_id: int) -> Evse | None:
        """The EVSE holding 1.6 connector ``connector_id`` (connector ids are unique in a 1.6 station)."""
        for evse in self.evses.values():
            if connector_id in evse.connectors:
                return evse
        return None

    def view(self, stale_after_s: float) -> dict[str, Any]:
        return {
            "id": self.id,
            "ocpp_version": self.ocpp_version,
            "max_power_kw": self.max_power_kw,
            "registration": self.registration,
            "charging_rate_unit": self.charging_rate_unit,
            "voltage_v": self.voltage_v,
            "online": self.online,
            "booted": self.booted,
            "vendor": self.vendor,
            "model": self.model,
            "serial": self.serial,
            "firmware": self.firmware,
            "boot_at": self.boot_at,
            "last_seen_at": self.last_seen_at,
            "clock_skew_s": self.clock_skew_s,
            "default_profile_kw": self.default_profile_kw,
            "default_profile_status": self.default_profile_status,
            "reported_profiles": self.reported_profiles or None,
            "evses": [e.view(stale_after_s) for e in self.evses.values()],
        }


@dataclass
class IdToken:
    id_token: str
    type: str = "ISO14443"
    status: str = "Accepted"
    group_id: str | None = None
    vehicle_id: str | None = None
    expiry: str | None = None

    def view(self) -> dict[str, Any]:
        return {
            "id_token": self.id_token,
            "type": self.type,
            "status": self.status,
            "group_id": self.group_id,
            "vehicle_id": self.vehicle_id,
            "expiry": self.expiry,
        }


@dataclass
class Vehicle:
    id: str
    model: str
    id_token: str | None = None
    departure: str | None = None  # "HH:MM" daily (site time) or ISO 8601
    target_soc: float | None = None

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model": self.model,
            "id_token": self.id_token,
            "departure": self.departure,
            "target_soc": self.target_soc,
        }


def _num(body: Mapping[str, Any], key: str, what: str, *, required: bool = True, default: Any = None) -> Any:
    val = body.get(key, default)
    if val is None:
        if required:
            raise InputError(f"{what}: field {key!r} is required")
        return None
    if isinstance(val, bool) or not isinstance(val, int | float) or not math.isfinite(val):
        raise InputError(f"{what}: field {key!r} must be a number (value {val!r})")
    return float(val)


class Registry:
    """The depot's state in memory, mirrored into ``db`` (see module docstring)."""

    def __init__(self, config: DepotConfig, db: T.OperateDB, clock: Callable[[], datetime] | None = None) -> None:
        self.config = config
        self.db = db
        self.clock = clock or (lambda: datetime.now(UTC))
        self.tz = ZoneInfo(config.site.timezone)
        self.stations: dict[str, Station] = {}
        self.tokens: dict[str, IdToken] = {}
        self.vehicles: dict[str, Vehicle] = {}
        self.schedule: dict[str, list[tuple[datetime, float, str]]] = {}
        self.sessions: dict[str, Session] = {}  # active sessions by id
        self.alerts: deque[dict[str, Any]] = deque(maxlen=_MAX_ALERTS)
        self.passwords = PasswordCheck()
        self._tx_counter = itertools.count(1)
        self._models: dict[str, VehicleModel] | None = None
        self.listeners: list[Callable[[str, Any], None]] = []  # (event, payload): plug-in/out, boot, ...

    # -- events ------------------------------------------------------------------------------------------

    def emit(self, event: str, payload: Any = None) -> None:
        for fn in list(self.listeners):
            fn(event, payload)

    def alert(self, kind: str, message: str, station_id: str | None = None, level: str = "warning") -> None:
        """Record an alert (kept in memory for the API and in the store); never includes secrets."""
        row = {"at": iso(self.clock()), "level": level, "kind": kind, "station_id": station_id, "message": message}
        self.alerts.append(row)
        (LOG.error if level == "error" else LOG.warning)(
            "%s: %s%s", kind, f"{station_id}: " if station_id else "", message
        )
        self.db.insert_many(T.alerts, [row])

    # -- the catalogue -----------------------------------------------------------------------------------

    def models(self) -> dict[str, VehicleModel]:
        if self._models is None:
            cat = load_catalog()
            self._models = {
                str(r.model).lower(): VehicleModel(
                    str(r.model),
                    float(r.battery_kwh),
                    float(r.ac_charge_kw),
                    float(r.dc_charge_kw),
                    bool(r.v2g),
                    float(r.ac_discharge_kw),
                    float(r.dc_discharge_kw),
                )
                for r in cat.itertuples()
            }
        return self._models

    def model(self, name: str) -> VehicleModel:
        """The catalogue entry of ``name``; raise :class:`InputError` for an unknown model."""
        key = normalise_model_name(str(name)).lower()
        found = self.models().get(key)
        if found is None:
            raise InputError(f"unknown vehicle model {name!r} (see `evfleet catalog` for the known models)")
        return found

    # -- loading -----------------------------------------------------------------------------------------

    def load(self) -> None:
        """Rebuild the state from the store (stations, tokens, vehicles, schedule, active sessions, profiles)."""
        rows = self.db.read_all(
            [T.stations, T.evses, T.connectors, T.id_tokens, T.vehicles, T.schedule, T.profiles, T.alerts]
        )
        for r in rows["op_stations"]:
            st = Station(
                id=r["id"],
                password_hash=r["password_hash"],
                ocpp_version=r["ocpp_version"],
                max_power_kw=r["max_power_kw"],
                registration=r["registration"],
                charging_rate_unit=r["charging_rate_unit"],
                voltage_v=r["voltage_v"],
                vendor=r["vendor"],
                model=r["model"],
                serial=r["serial"],
                firmware=r["firmware"],
                boot_at=r["boot_at"],
                last_seen_at=r["last_seen_at"],
                created_at=r["created_at"],
            )
            self.stations[st.id] = st
        for r in rows["op_evses"]:
            st = self.stations.get(r["station_id"])
            if st is not None:
                st.evses[r["evse_id"]] = Evse(
                    st.id, r["evse_id"], r["max_power_kw"], r["phases"], bool(r.get("bidirectional"))
                )
        for r in rows["op_connectors"]:
            st = self.stations.get(r["station_id"])
            evse = st.evses.get(r["evse_id"]) if st else None
            if evse is not None:
                evse.connectors[r["connector_id"]] = Connector(
                    st.id, evse.id, r["connector_id"], r["status"], r["error_code"], r["status_at"]
                )
        for r in rows["op_profiles"]:
            st = self.stations.get(r["station_id"])
            if st is None:
                continue
            if r["evse_id"] == 0:
                st.default_profile_kw, st.default_profile_status = r["limit_kw"], r["status"]
            elif r["evse_id"] in st.evses:
                st.evses[r["evse_id"]].setpoint_kw = r["limit_kw"]
                st.evses[r["evse_id"]].profile_status = r["status"]
        for r in rows["op_id_tokens"]:
            self.tokens[r["id_token"]] = IdToken(**r)
        for r in rows["op_vehicles"]:
            self.vehicles[r["id"]] = Vehicle(**r)
        for r in rows["op_schedule"]:
            self.schedule.setdefault(r["vehicle_id"], []).append(
                (parse_time(r["departure"]), float(r["target_soc"]), r["source"])
            )
        for entries in self.schedule.values():
            entries.sort()
        self.alerts.extend(rows["op_alerts"][-_MAX_ALERTS:])
        max_tx = 0
        for r in self.db.read(sa.select(T.sessions)):
            if r["id"].isdigit():
                max_tx = max(max_tx, int(r["id"]))
            if r["state"] != "active":
                continue
            st = self.stations.get(r["station_id"])
            evse = st.evses.get(r["evse_id"]) if st else None
            if evse is None:
                continue
            s = Session(
                id=r["id"],
                station_id=r["station_id"],
                evse_id=r["evse_id"],
                connector_id=r["connector_id"],
                id_token=r["id_token"],
                vehicle_id=r["vehicle_id"],
                started_at=parse_time(r["started_at"]),
                meter_start_wh=r["meter_start_wh"],
                meter_wh=(r["meter_start_wh"] or 0.0) + (r["energy_wh"] or 0.0),
                soc_arrival=r["soc_arrival"] if r["soc_arrival"] is not None else self.config.defaults.soc_arrival,
                soc_arrival_source=r["soc_arrival_source"] or "default",
                departure=parse_time(r["departure"]) if r["departure"] else None,
                target_soc=r["target_soc"] if r["target_soc"] is not None else self.config.defaults.target_soc,
                needs_source=r["needs_source"] or "default",
                ev_max_power_kw=r["ev_max_power_kw"],
            )
            if r["soc_arrival_source"] == "ev" and r["soc"] is not None:
                s.soc_ev = r["soc"]
            self.apply_vehicle(s, evse)
            evse.session = s
            self.sessions[s.id] = s
        self._tx_counter = itertools.count(max_tx + 1)

    # -- stations ----------------------------------------------------------------------------------------

    def station_from_body(self, body: Mapping[str, Any]) -> tuple[Station, list[dict[str, Any]]]:
        """Validate a ``POST /api/v1/stations`` body; return the station and its EVSE rows (not yet stored)."""
        what = "station"
        sid = body.get("id")
        if not isinstance(sid, str) or not sid or len(sid) > 64 or "/" in sid or ":" in sid:
            raise InputError(f"{what}: field 'id' must be a non-empty text of at most 64 characters without '/' or ':'")
        password = body.get("password")
        if not isinstance(password, str) or len(password) < 8:
            raise InputError(f"station {sid}: field 'password' must be a text of at least 8 characters")
        version = body.get("ocpp_version", "1.6")
        if version not in OCPP_VERSIONS:
            raise InputError(f"station {sid}: field 'ocpp_version' must be one of {OCPP_VERSIONS} (value {version!r})")
        max_kw = _num(body, "max_power_kw", f"station {sid}")
        if max_kw <= 0:
            raise InputError(f"station {sid}: field 'max_power_kw' must be > 0 (value {max_kw!r})")
        registration = body.get("registration", "Accepted")
        if registration not in REGISTRATIONS:
            raise InputError(f"station {sid}: field 'registration' must be one of {REGISTRATIONS}")
        unit = body.get("charging_rate_unit", "W")
        if unit not in ("W", "A"):
            raise InputError(f"station {sid}: field 'charging_rate_unit' must be 'W' or 'A' (value {unit!r})")
        voltage = _num(body, "voltage_v", f"station {sid}", required=False, default=230.0)
        bidi = body.get("bidirectional", False)
        if not isinstance(bidi, bool):
            raise InputError(f"station {sid}: field 'bidirectional' must be true or false (value {bidi!r})")
        evses_body = body.get("evses")
        if not isinstance(evses_body, list) or not evses_body:
            raise InputError(f"station {sid}: field 'evses' must be a non-empty list")
        evse_rows: list[dict[str, Any]] = []
        seen_conn: set[int] = set()
        for i, e in enumerate(evses_body):
            w = f"station {sid}: evses[{i}]"
            if not isinstance(e, Mapping):
                raise InputError(f"{w} must be a mapping")
            eid = e.get("id")
            if not isinstance(eid, int) or isinstance(eid, bool) or eid < 1:
                raise InputError(f"{w}: field 'id' must be an integer >= 1 (value {eid!r})")
            conns = e.get("connectors", [1])
            if not isinstance(conns, list) or not conns or not all(isinstance(c, int) and c >= 1 for c in conns):
                raise InputError(f"{w}: field 'connectors' must be a non-empty list of integers >= 1 (value {conns!r})")
            if version == "1.6" and seen_conn & set(conns):
                raise InputError(f"{w}: OCPP 1.6 connector ids must be unique in the station (value {conns!r})")
            seen_conn |= set(conns)
            ekw = _num(e, "max_power_kw", w, required=False, default=max_kw)
            if ekw <= 0:
                raise InputError(f"{w}: field 'max_power_kw' must be > 0 (value {ekw!r})")
            phases = e.get("phases", 3)
            if phases not in (1, 2, 3):
                raise InputError(f"{w}: field 'phases' must be 1, 2 or 3 (value {phases!r})")
            ebidi = e.get("bidirectional", bidi)
            if not isinstance(ebidi, bool):
                raise InputError(f"{w}: field 'bidirectional' must be true or false (value {ebidi!r})")
            evse_rows.append(
                {
                    "station_id": sid,
                    "evse_id": eid,
                    "max_power_kw": ekw,
                    "phases": phases,
                    "bidirectional": ebidi,
                    "conns": conns,
                }
            )
        if len({r["evse_id"] for r in evse_rows}) != len(evse_rows):
            raise InputError(f"station {sid}: EVSE ids must be unique")
        old = self.stations.get(sid)
        if old is not None and self.passwords.check(sid, old.password_hash, password):
            pw_hash = old.password_hash  # the same password: keep its hash (argon2 is deliberately slow)
        else:
            pw_hash = hash_password(password)
        st = Station(
            id=sid,
            password_hash=pw_hash,
            ocpp_version=version,
            max_power_kw=max_kw,
            registration=registration,
            charging_rate_unit=unit,
            voltage_v=voltage,
            created_at=iso(self.clock()),
        )
        return st, evse_rows

    async def add_station(self, body: Mapping[str, Any]) -> Station:
        """Register (or re-register) a station from its API body; stored before it returns."""
        st, evse_rows = await asyncio.get_running_loop().run_in_executor(None, self.station_from_body, body)
        old = self.stations.get(st.id)
        for r in evse_rows:
            evse = Evse(st.id, r["evse_id"], r["max_power_kw"], r["phases"], r["bidirectional"])
            for c in r["conns"]:
                prev = old.evses.get(r["evse_id"]).connectors.get(c) if old and r["evse_id"] in old.evses else None
                evse.connectors[c] = prev or Connector(st.id, r["evse_id"], c)
            if old and r["evse_id"] in old.evses:
                prev_evse = old.evses[r["evse_id"]]
                evse.session, evse.measured_kw, evse.measured_at = (
                    prev_evse.session,
                    prev_evse.measured_kw,
                    prev_evse.measured_at,
                )
            st.evses[evse.id] = evse
        if old is not None:
            st.online, st.booted, st.link, st.clock_skew_s = old.online, old.booted, old.link, old.clock_skew_s
            st.vendor, st.model, st.serial, st.firmware = old.vendor, old.model, old.serial, old.firmware
            st.created_at = old.created_at
        if old is None or old.password_hash != st.password_hash:
            self.passwords.forget(st.id)
        row = {c.name: getattr(st, c.name) for c in T.stations.columns}

        def write(conn: sa.Connection) -> None:
            conn.execute(T.stations.insert().prefix_with("OR REPLACE"), [row])
            conn.execute(sa.delete(T.evses).where(T.evses.c.station_id == st.id))
            conn.execute(sa.delete(T.connectors).where(T.connectors.c.station_id == st.id))
            conn.execute(
                T.evses.insert(),
                [{k: v for k, v in r.items() if k != "conns"} for r in evse_rows],
            )
            conn.execute(
                T.connectors.insert(),
                [
                    {
                        "station_id": st.id,
                        "evse_id": e.id,
                        "connector_id": c.connector_id,
                        "status": c.status,
                        "error_code": c.error_code,
                        "status_at": c.status_at,
                    }
                    for e in st.evses.values()
                    for c in e.connectors.values()
                ],
            )

        await self.db.write_durable(write)
        self.stations[st.id] = st
        self.emit("station", st.id)
        return st

    async def remove_station(self, station_id: str) -> None:
        if station_id not in self.stations:
            raise KeyError(station_id)

        def write(conn: sa.Connection) -> None:
            for t in (T.stations, T.evses, T.connectors, T.profiles):
                col = t.c.id if t is T.stations else t.c.station_id
                conn.execute(sa.delete(t).where(col == station_id))

        await self.db.write_durable(write)
        st = self.stations.pop(station_id)
        for evse in st.evses.values():
            if evse.session is not None:
                self.sessions.pop(evse.session.id, None)
        if st.link is not None:
            st.link.close_soon()
        self.emit("station", station_id)

    def check_station_password(self, station_id: str, password: str) -> bool:
        st = self.stations.get(station_id)
        if st is None:
            return False
        return self.passwords.check(station_id, st.password_hash, password)

    def persist_station(self, st: Station) -> None:
        row = {c.name: getattr(st, c.name) for c in T.stations.columns}
        self.db.upsert(T.stations, row)

    def set_connector_status(
        self, st: Station, evse_id: int, connector_id: int, status: str, error_code: str | None, at: str | None
    ) -> Connector | None:
        evse = st.evses.get(evse_id)
        if evse is None:
            return None
        conn = evse.connectors.get(connector_id)
        if conn is None:
            conn = evse.connectors[connector_id] = Connector(st.id, evse_id, connector_id)
        conn.status, conn.error_code, conn.status_at = status, error_code, at
        self.db.upsert(
            T.connectors,
            {
                "station_id": st.id,
                "evse_id": evse_id,
                "connector_id": connector_id,
                "status": status,
                "error_code": error_code,
                "status_at": at,
            },
        )
        return conn

    def record_profile(self, st: Station, evse_id: int, purpose: str, limit_kw: float, status: str) -> None:
        self.db.upsert(
            T.profiles,
            {
                "station_id": st.id,
                "evse_id": evse_id,
                "purpose": purpose,
                "limit_kw": limit_kw,
                "status": status,
                "sent_at": iso(self.clock()),
            },
        )

    # -- tokens, vehicles, schedule ----------------------------------------------------------------------

    async def add_token(self, body: Mapping[str, Any]) -> IdToken:
        tok = body.get("id_token")
        if not isinstance(tok, str) or not tok or len(tok) > 36:
            raise InputError("id token: field 'id_token' must be a non-empty text of at most 36 characters")
        status = body.get("status", "Accepted")
        if status not in TOKEN_STATUSES:
            raise InputError(f"id token {tok}: field 'status' must be one of {TOKEN_STATUSES} (value {status!r})")
        expiry = body.get("expiry")
        if expiry is not None:
            expiry = iso(parse_time(expiry, "expiry"))
        t = IdToken(
            id_token=tok,
            type=str(body.get("type") or "ISO14443"),
            status=status,
            group_id=body.get("group_id"),
            vehicle_id=body.get("vehicle_id"),
            expiry=expiry,
        )
        await self.db.write_durable(lambda c: c.execute(T.id_tokens.insert().prefix_with("OR REPLACE"), [t.view()]))
        self.tokens[tok] = t
        return t

    def authorize(self, id_token: str | None) -> tuple[str, IdToken | None]:
        """(status, token) of ``id_token`` against the list: unknown is Invalid, a passed expiry is Expired."""
        if not id_token:
            return "Invalid", None
        t = self.tokens.get(id_token)
        if t is None:
            return "Invalid", None
        if t.status == "Accepted" and t.expiry and parse_time(t.expiry) <= self.clock():
            return "Expired", t
        return t.status, t

    async def add_vehicle(self, body: Mapping[str, Any]) -> Vehicle:
        vid = body.get("id")
        if not isinstance(vid, str) or not vid:
            raise InputError("vehicle: field 'id' must be a non-empty text")
        model = body.get("model")
        if not isinstance(model, str):
            raise InputError(f"vehicle {vid}: field 'model' is required (a catalogue model)")
        model = self.model(model).model
        dep = body.get("departure")
        if dep is not None:
            dep = str(dep)
            if ":" in dep and len(dep) <= 5:
                parse_hhmm(dep, "departure")
            else:
                dep = iso(parse_time(dep, "departure"))
        target = _num(body, "target_soc", f"vehicle {vid}", required=False)
        if target is not None and not 0 < target <= 1:
            raise InputError(
                f"vehicle {vid}: field 'target_soc' must be within 0-1 (a fraction, not %) (value {target})"
            )
        v = Vehicle(vid, model, body.get("id_token"), dep, target)

        def write(conn: sa.Connection) -> None:
            conn.execute(T.vehicles.insert().prefix_with("OR REPLACE"), [v.view()])
            if v.id_token and v.id_token in self.tokens:
                conn.execute(sa.update(T.id_tokens).where(T.id_tokens.c.id_token == v.id_token).values(vehicle_id=vid))

        await self.db.write_durable(write)
        self.vehicles[vid] = v
        if v.id_token and v.id_token in self.tokens:
            self.tokens[v.id_token].vehicle_id = vid
        return v

    async def add_schedule(self, entries: Iterable[Mapping[str, Any]], source: str) -> int:
        """Add departures (``vehicle``/``vehicle_id``, ``departure``, ``target``/``target_soc``); return how many."""
        rows = []
        for i, e in enumerate(entries):
            w = f"schedule[{i}]"
            vid = e.get("vehicle_id", e.get("vehicle"))
            if vid not in self.vehicles:
                raise InputError(f"{w}: unknown vehicle {vid!r} (register it with POST /api/v1/vehicles)")
            dep = parse_time(e.get("departure"), f"{w}.departure")
            target = e.get("target_soc", e.get("target"))
            try:
                target = float(target)
            except (TypeError, ValueError):
                raise InputError(f"{w}: field 'target_soc' must be a number (value {target!r})") from None
            if target > 1:
                raise InputError(f"{w}: field 'target_soc' must be within 0-1 (a fraction, not %) (value {target})")
            rows.append(
                {
                    "vehicle_id": vid,
                    "departure": iso(dep),
                    "target_soc": target,
                    "source": source,
                    "created_at": iso(self.clock()),
                }
            )
        if rows:
            await self.db.write_durable(lambda c: c.execute(T.schedule.insert(), rows))
        for r in rows:
            self.schedule.setdefault(r["vehicle_id"], []).append((parse_time(r["departure"]), r["target_soc"], source))
            self.schedule[r["vehicle_id"]].sort()
        return len(rows)

    async def import_schedule_csv(self, text: str) -> int:
        """Import a schedule CSV with columns ``vehicle,departure,target`` (ISO 8601 departure, target 0-1)."""
        reader = csv.DictReader(io.StringIO(text))
        cols = set(reader.fieldnames or [])
        if not {"vehicle", "departure", "target"} <= cols:
            raise InputError(f"schedule CSV: columns must include vehicle, departure, target (found {sorted(cols)})")
        return await self.add_schedule(list(reader), "csv")

    # -- sessions ----------------------------------------------------------------------------------------

    def next_transaction_id(self) -> int:
        return next(self._tx_counter)

    def apply_vehicle(self, s: Session, evse: Evse) -> None:
        """Battery, charge limit and V2G capability of the session's vehicle (catalogue), or the defaults."""
        d = self.config.defaults
        s.charge_efficiency = d.charge_efficiency
        v = self.vehicles.get(s.vehicle_id) if s.vehicle_id else None
        if v is not None:
            m = self.model(v.model)
            s.battery_kwh = m.battery_kwh
            limit = m.ac_charge_kw if evse.phases and evse.max_power_kw <= 50 else max(m.dc_charge_kw, m.ac_charge_kw)
            s.max_charge_kw = min(limit, evse.max_power_kw) if limit > 0 else evse.max_power_kw
            s.v2g = m.v2g
            dc = evse.max_power_kw > 50
            dis = m.dc_discharge_kw if dc else m.ac_discharge_kw
            st = self.stations.get(evse.station_id)
            # V2G only where the vehicle (catalogue), the EVSE (declared bidirectional) and the protocol allow:
            # OCPP 1.6 has no way to ask for a discharge, so its sessions are charge-only (clamped at 0)
            can = m.v2g and evse.bidirectional and st is not None and st.ocpp_version == "2.0.1" and dis > 0
            s.max_discharge_kw = min(dis, evse.max_power_kw) if can else 0.0
        else:
            s.battery_kwh, s.max_charge_kw, s.v2g = d.battery_kwh, evse.max_power_kw, False
            s.max_discharge_kw = 0.0
        if s.ev_max_power_kw:
            s.max_charge_kw = min(s.max_charge_kw, s.ev_max_power_kw)

    def resolve_needs(self, s: Session) -> None:
        """Departure and target of ``s`` unless ISO 15118 gave them: the schedule, the vehicle, the default rule."""
        if s.needs_source == "iso15118":
            return
        now = self.clock()
        v = self.vehicles.get(s.vehicle_id) if s.vehicle_id else None
        if v is not None:
            for dep, target, _src in self.schedule.get(v.id, []):
                if dep > now:
                    s.departure, s.target_soc, s.needs_source = dep, target, "schedule"
                    return
            if v.departure:
                s.departure = self._next_departure(v.departure, now)
                s.target_soc = v.target_soc if v.target_soc is not None else self.config.defaults.target_soc
                s.needs_source = "schedule"
                return
        d = self.config.defaults
        s.departure = (
            self._next_departure(d.departure, now) if d.departure else s.started_at + timedelta(hours=d.dwell_h)
        )
        if s.departure <= now:
            s.departure = now + timedelta(hours=d.dwell_h)
        s.target_soc = v.target_soc if v is not None and v.target_soc is not None else d.target_soc
        s.needs_source = "default"

    def _next_departure(self, text: str, now: datetime) -> datetime:
        if ":" in text and len(text) <= 5:
            h, m = parse_hhmm(text, "departure")
            local = now.astimezone(self.tz)
            dep = local.replace(hour=h, minute=m, second=0, microsecond=0)
            if dep <= local:
                dep += timedelta(days=1)
            return dep.astimezone(UTC)
        dep = parse_time(text)
        return dep if dep > now else now + timedelta(hours=self.config.defaults.dwell_h)

    async def start_session(
        self,
        st: Station,
        evse: Evse,
        connector_id: int,
        tx_id: str,
        id_token: str | None,
        meter_start_wh: float | None,
        started_at: datetime,
    ) -> Session:
        """A new active session on ``evse`` (an open one there is closed first); stored before it returns."""
        if evse.session is not None and evse.session.id != tx_id:
            await self.stop_session(evse.session, evse.session.meter_wh, "Replaced")
        if tx_id in self.sessions:
            return self.sessions[tx_id]
        tok = self.tokens.get(id_token) if id_token else None
        vid = tok.vehicle_id if tok else None
        if vid is None and id_token:
            vid = next((v.id for v in self.vehicles.values() if v.id_token == id_token), None)
        d = self.config.defaults
        s = Session(
            id=tx_id,
            station_id=st.id,
            evse_id=evse.id,
            connector_id=connector_id,
            id_token=id_token,
            vehicle_id=vid,
            started_at=started_at,
            meter_start_wh=meter_start_wh,
            meter_wh=meter_start_wh,
            soc_arrival=d.soc_arrival,
            target_soc=d.target_soc,
            ev_max_power_kw=None,
        )
        self.apply_vehicle(s, evse)
        self.resolve_needs(s)
        await self.db.write_durable(lambda c: c.execute(T.sessions.insert().prefix_with("OR REPLACE"), [s.row()]))
        evse.session = s
        self.sessions[s.id] = s
        self.emit("plug_in", s)
        return s

    def update_session_id(self, s: Session) -> None:
        """Queue the session's current fields for the store (SOC, energy, needs)."""
        self.db.upsert(T.sessions, s.row())

    async def stop_session(self, s: Session, meter_stop_wh: float | None, reason: str | None) -> None:
        s.state = "ended"
        s.stopped_at = self.clock()
        if meter_stop_wh is not None:
            s.meter_wh = s.meter_stop_wh = meter_stop_wh
        s.stop_reason = reason
        await self.db.write_durable(lambda c: c.execute(T.sessions.insert().prefix_with("OR REPLACE"), [s.row()]))
        self.sessions.pop(s.id, None)
        st = self.stations.get(s.station_id)
        if st is not None:
            evse = st.evses.get(s.evse_id)
            if evse is not None and evse.session is s:
                evse.session = None
                evse.measured_kw = 0.0
                evse.setpoint_kw = None
                evse.ev_schedule = None
        self.emit("plug_out", s)

    def set_ev_needs(
        self,
        s: Session,
        departure: datetime | None,
        energy_wh: float | None,
        max_power_kw: float | None,
        soc: float | None,
        capacity_kwh: float | None,
    ) -> None:
        """ISO 15118 charging needs of ``s`` (2.0.1 NotifyEVChargingNeeds): they take precedence."""
        if capacity_kwh and capacity_kwh > 0:
            s.battery_kwh = capacity_kwh
        if soc is not None:
            s.soc_ev = soc
            if s.energy_wh == 0:
                s.soc_arrival, s.soc_arrival_source = soc, "iso15118"
        if departure is not None:
            s.departure = departure
        if energy_wh is not None:
            s.target_soc = min(1.0, s.soc + energy_wh / 1000.0 / s.battery_kwh)
        if max_power_kw:
            s.ev_max_power_kw = max_power_kw
            s.max_charge_kw = min(s.max_charge_kw, max_power_kw)
        if departure is not None or energy_wh is not None:
            s.needs_source = "iso15118"
        self.update_session_id(s)

    # -- meter values ------------------------------------------------------------------------------------

    def record_meter_values(
        self,
        st: Station,
        evse: Evse,
        connector_id: int | None,
        tx_id: str | None,
        meter_values: list[dict[str, Any]],
    ) -> None:
        """Keep every sampled value (store) and update the EVSE's power and the session's energy and SOC.

        ``meter_values``: the snake_case ``meter_value`` list of 1.6 MeterValues/Start/StopTransaction or 2.0.1
        MeterValues/TransactionEvent. Power in W or kW, energy in Wh or kWh (2.0.1 ``unit_of_measure`` with its
        ``multiplier``), current per phase [A], SoC [%].
        """
        now_iso = iso(self.clock())
        rows: list[dict[str, Any]] = []
        s = evse.session
        power_w: float | None = None
        export_w: float | None = None  # Power.Active.Export: what a discharging (V2G) EVSE feeds back
        phase_power: dict[str, float] = {}
        for mv in meter_values:
            ts = mv.get("timestamp") or now_iso
            for sv in mv.get("sampled_value") or []:
                try:
                    value = float(sv.get("value"))
                except (TypeError, ValueError):
                    continue
                if not math.isfinite(value):
                    continue
                measurand = sv.get("measurand") or "Energy.Active.Import.Register"
                uom = sv.get("unit_of_measure") or {}
                unit = sv.get("unit") or uom.get("unit")
                mult = uom.get("multiplier") or 0
                if mult:
                    value *= 10.0**mult
                phase = sv.get("phase")
                rows.append(
                    {
                        "station_id": st.id,
                        "evse_id": evse.id,
                        "connector_id": connector_id,
                        "transaction_id": tx_id,
                        "timestamp": ts,
                        "measurand": measurand,
                        "phase": phase,
                        "value": value,
                        "unit": unit,
                        "context": sv.get("context"),
                        "received_at": now_iso,
                    }
                )
                if measurand == "Power.Active.Import":
                    w = value * 1000.0 if unit == "kW" else value
                    if phase:
                        phase_power[phase] = w
                    else:
                        power_w = w
                elif measurand == "Power.Active.Export" and not phase:
                    export_w = value * 1000.0 if unit == "kW" else value
                elif measurand == "Energy.Active.Import.Register" and not phase:
                    wh = value * 1000.0 if unit == "kWh" else value
                    if s is not None:
                        if s.meter_start_wh is None:
                            s.meter_start_wh = wh
                        s.meter_wh = wh
                elif measurand == "Current.Import" and phase:
                    evse.current_a[phase] = value
                elif measurand == "SoC" and s is not None and 0 <= value <= 100:
                    s.soc_ev = value / 100.0
                    if s.soc_arrival_source == "default":
                        s.soc_arrival = max(s.soc_ev - s.charge_efficiency * s.energy_wh / 1000 / s.battery_kwh, 0.0)
                        s.soc_arrival_source = "ev"
        if power_w is None and phase_power:
            power_w = sum(phase_power.values())
        if export_w:
            power_w = (power_w or 0.0) - export_w  # net [W]: negative while the EV discharges
        if power_w is not None:
            evse.measured_kw = power_w / 1000.0
            evse.measured_at = time.monotonic()
        self.db.insert_many(T.meter_values, rows)
        if s is not None and rows:
            s.dirty = True  # written by flush_sessions (not on every sample)

    def flush_sessions(self) -> None:
        """Queue the changed sessions' SOC and energy for the store (called by the control loop)."""
        rows = []
        for s in self.sessions.values():
            if s.dirty:
                rows.append(s.row())
                s.dirty = False
        if rows:
            stmt = T.sessions.insert().prefix_with("OR REPLACE")
            self.db.write(lambda c: c.execute(stmt, rows))

    # -- views -------------------------------------------------------------------------------------------

    def connected_evses(self) -> list[tuple[Station, Evse]]:
        """EVSEs with an active session, in a stable order."""
        return [(st, e) for st in self.stations.values() for e in st.evses.values() if e.session is not None]
