"""A simulated depot: N emulated charging stations (OCPP 1.6J or 2.0.1 clients on the ``ocpp`` library).

``evfleet depot-sim --stations N --csms ws://HOST:PORT/ocpp --scenario FILE`` boots N stations, plugs the
scenario's vehicles in at their arrival times (scenario time runs ``--speed`` times faster than the wall clock),
lets each one draw what its profiles allow, as a real charger does (the lowest of the EVSE's rating, the vehicle's
limit, its TxProfile, else the TxDefaultProfile; the station total at most its ChargePointMaxProfile /
ChargingStationMaxProfile), reports meter values (power, energy register, current per phase, SoC) and unplugs at
departure. Stations reconnect by themselves when the central system goes away; while it is away they keep
applying their last profiles (that is what the fail-safe profile is for), start and stop transactions locally and
report them when the connection is back.

Time compression: energy follows scenario time (a vehicle charging at P kW for one wall second at speed S gains
``P * S / 3600`` kWh) while the messages carry wall-clock timestamps, and 2.0.1 stations report departure times
(ISO 15118 ``NotifyEVChargingNeeds``) mapped onto the wall clock. Units: power [kW], energy [kWh]/[Wh], SOC 0-1.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from evfleet._common.errors import InputError
from evfleet.scenario import Scenario

__all__ = ["SimConnector", "SimDepot", "SimEV", "SimStation", "register_depot"]

LOG = logging.getLogger("evfleet.operate.depot_sim")
VOLTAGE_V = 230.0


def _ts(skew_s: float = 0.0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=skew_s)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class SimEV:
    """A plugged vehicle: battery [kWh], SOC, the SOC at which it stops, its charge limit [kW], its stay [s]."""

    vehicle_id: str
    id_token: str
    battery_kwh: float
    soc: float
    soc_max: float
    max_kw: float
    departure_sim_s: float
    target_soc: float
    efficiency: float = 0.92
    refused: bool = False
    max_discharge_kw: float = 0.0  # V2G: what it can feed back [kW] (0: charge only)
    soc_min: float = 0.1  # it never discharges below this SOC


@dataclass
class SimConnector:
    """One EVSE with one connector (1.6: connector id = EVSE id)."""

    evse_id: int
    max_kw: float
    phases: int = 3
    ev: SimEV | None = None
    tx_id: str | None = None  # the transaction id the central system knows (1.6: its integer as text)
    local_tx: int = 0
    tx_profile_kw: float | None = None
    tx_default_kw: float | None = None
    meter_wh: float = 0.0
    export_wh: float = 0.0  # energy fed back (V2G) [Wh]
    power_kw: float = 0.0  # negative while discharging
    started_reported: bool = False


@dataclass
class SimStation:
    """An emulated station; ``answer`` is what it says to SetChargingProfile (``Accepted``, ``Rejected``) and
    ``silent`` makes it stop answering the central system (a hung station)."""

    id: str
    version: str
    password: str
    url: str
    connectors: list[SimConnector]
    max_kw: float
    station_max_kw: float | None = None
    tx_default_kw: float | None = None
    answer: str = "Accepted"
    silent: bool = False
    clock_skew_s: float = 0.0
    bidirectional: bool = False  # V2X capable (2.0.1): a negative TxProfile limit is a discharge setpoint
    online: bool = False
    booted: bool = False
    boot_status: str | None = None
    profiles_received: int = 0
    cp: Any = None
    ws: ClientConnection | None = None
    pending: list[Any] = field(default_factory=list)  # transaction messages waiting for the connection
    connects: int = 0
    skip_validation: bool = False  # benchmarks: do not schema-check this emulator's own frames (the server does)
    _task: asyncio.Task[Any] | None = None

    # -- physics -------------------------------------------------------------------------------------------

    def allowed_kw(self) -> np.ndarray:
        """What each connector may draw now [kW], as a charger applies its profiles."""
        lim = np.zeros(len(self.connectors))
        for i, c in enumerate(self.connectors):
            if c.ev is None or c.ev.refused or c.ev.soc >= c.ev.soc_max - 1e-9:
                continue
            p = min(c.max_kw, c.ev.max_kw)
            prof = c.tx_profile_kw if c.tx_profile_kw is not None else c.tx_default_kw
            if prof is None:
                prof = self.tx_default_kw
            if prof is not None and prof < 0:  # a discharge setpoint (only installed on a bidirectional station)
                can = min(c.max_kw, c.ev.max_discharge_kw)
                lim[i] = max(prof, -can) if (c.ev.soc - c.ev.soc_min) * c.ev.battery_kwh > 1e-6 else 0.0
                continue
            if prof is not None:
                p = min(p, prof)
            room = (c.ev.soc_max - c.ev.soc) * c.ev.battery_kwh
            lim[i] = max(p, 0.0) if room > 1e-6 else 0.0
        total = np.maximum(lim, 0.0).sum()
        if self.station_max_kw is not None and total > self.station_max_kw:
            lim = np.where(lim > 0, lim * self.station_max_kw / total, lim)
        return lim

    def step(self, dt_real_s: float, speed: float) -> float:
        """Advance the batteries by ``dt_real_s`` wall seconds; return the station's power [kW]."""
        lim = self.allowed_kw()
        dt_h = dt_real_s * speed / 3600.0
        for c, p in zip(self.connectors, lim, strict=True):
            c.power_kw = float(p)
            if c.ev is not None and p > 0:
                e = p * dt_h
                c.meter_wh += e * 1000.0
                c.ev.soc = min(c.ev.soc + c.ev.efficiency * e / c.ev.battery_kwh, c.ev.soc_max)
            elif c.ev is not None and p < 0:
                e = -p * dt_h  # fed back [kWh]; the battery gives e / efficiency
                c.export_wh += e * 1000.0
                c.ev.soc = max(c.ev.soc - e / c.ev.efficiency / c.ev.battery_kwh, c.ev.soc_min)
        return float(lim.sum())

    # -- profiles --------------------------------------------------------------------------------------------

    def to_kw(self, limit: Any, unit: str, phases: int | None) -> float:
        value = float(limit)
        return value / 1000.0 if unit == "W" else value * VOLTAGE_V * (phases or 3) / 1000.0

    def install(self, target_id: int, purpose: str, kw: float, tx_id: Any) -> str:
        """Install a profile the way a charger does; return the SetChargingProfile status."""
        self.profiles_received += 1
        if self.answer != "Accepted":
            return self.answer
        if purpose in ("ChargePointMaxProfile", "ChargingStationMaxProfile"):
            if target_id != 0:
                return "Rejected"
            self.station_max_kw = kw
            return "Accepted"
        if purpose == "TxDefaultProfile":
            if target_id == 0:
                self.tx_default_kw = kw
            else:
                conn = self.connector(target_id)
                if conn is None:
                    return "Rejected"
                conn.tx_default_kw = kw
            return "Accepted"
        if kw < 0 and not (self.bidirectional and self.version == "2.0.1" and purpose == "TxProfile"):
            return "Rejected"  # a charge-only station: a negative limit makes no sense to it
        if purpose == "TxProfile":
            conn = self.connector(target_id)
            if conn is None or conn.ev is None:
                return "Rejected"  # 1.6 / K01.FR.09: a TxProfile needs an active transaction
            if conn.tx_id is None and tx_id is not None and conn.started_reported:
                conn.tx_id = str(tx_id)  # the profile overtook the StartTransaction answer
            if tx_id is not None and str(tx_id) != conn.tx_id:
                return "Rejected"
            conn.tx_profile_kw = kw
            return "Accepted"
        return "Rejected"

    def composite_kw(self, evse_id: int) -> float | None:
        """The limit the station applies on ``evse_id`` now [kW] (its profiles combined; None: no profile),
        what it answers to GetCompositeSchedule (1.6, 2.0.1 K08)."""
        c = self.connector(evse_id)
        limits = [self.station_max_kw] if self.station_max_kw is not None else []
        if c is not None:
            prof = c.tx_profile_kw if c.tx_profile_kw is not None else c.tx_default_kw
            prof = self.tx_default_kw if prof is None else prof
            limits += [prof] if prof is not None else []
        return min(limits) if limits else None

    def connector(self, evse_id: int) -> SimConnector | None:
        return next((c for c in self.connectors if c.evse_id == evse_id), None)

    # -- messages ----------------------------------------------------------------------------------------------

    async def call(self, payload: Any) -> Any:
        """A call to the central system; None when offline or when it fails (logged)."""
        if self.cp is None or not self.online:
            return None
        try:
            return await self.cp.call(payload, skip_schema_validation=self.skip_validation)
        except (ConnectionClosed, TimeoutError, OSError):
            return None
        except Exception as exc:  # a CallError or a schema error: a real charger logs and goes on
            LOG.warning("station %s: %s failed: %s", self.id, type(payload).__name__, exc)
            return None

    def meter_payload(self, c: SimConnector) -> Any:
        amps = abs(c.power_kw) * 1000.0 / (VOLTAGE_V * c.phases) if c.phases else 0.0
        soc = None if c.ev is None else round(c.ev.soc * 100.0, 1)
        if self.version == "1.6":
            values = [
                {"value": f"{c.power_kw * 1000:.1f}", "measurand": "Power.Active.Import", "unit": "W"},
                {"value": f"{c.meter_wh:.1f}", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
            ]
            values += [
                {"value": f"{amps:.1f}", "measurand": "Current.Import", "unit": "A", "phase": f"L{k + 1}"}
                for k in range(c.phases)
            ]
            if soc is not None:
                values.append({"value": f"{soc}", "measurand": "SoC", "unit": "Percent", "location": "EV"})
            mv = [{"timestamp": _ts(self.clock_skew_s), "sampledValue": values}]
            tx = int(c.tx_id) if c.tx_id and c.tx_id.isdigit() else None
            return call16.MeterValues(connector_id=c.evse_id, meter_value=mv, transaction_id=tx)
        values = [
            {"value": round(c.power_kw * 1000, 1), "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W"}},
            {
                "value": round(c.meter_wh, 1),
                "measurand": "Energy.Active.Import.Register",
                "unitOfMeasure": {"unit": "Wh"},
            },
        ]
        if self.bidirectional:
            values[0]["value"] = round(max(c.power_kw, 0.0) * 1000, 1)
            values.append(
                {
                    "value": round(max(-c.power_kw, 0.0) * 1000, 1),
                    "measurand": "Power.Active.Export",
                    "unitOfMeasure": {"unit": "W"},
                }
            )
        values += [
            {
                "value": round(amps, 1),
                "measurand": "Current.Import",
                "phase": f"L{k + 1}",
                "unitOfMeasure": {"unit": "A"},
            }
            for k in range(c.phases)
        ]
        if soc is not None:
            values.append({"value": soc, "measurand": "SoC", "unitOfMeasure": {"unit": "Percent"}, "location": "EV"})
        return call201.MeterValues(
            evse_id=c.evse_id, meter_value=[{"timestamp": _ts(self.clock_skew_s), "sampledValue": values}]
        )

    async def send_meter_values(self) -> None:
        for c in self.connectors:
            if c.ev is not None and c.started_reported:
                await self.call(self.meter_payload(c))

    async def report_start(self, c: SimConnector, depot: SimDepot) -> None:
        ev = c.ev
        if ev is None or c.started_reported or not self.online:
            return
        c.started_reported = True
        if self.version == "1.6":
            await self.call(
                call16.StatusNotification(
                    connector_id=c.evse_id, error_code="NoError", status="Preparing", timestamp=_ts(self.clock_skew_s)
                )
            )
            res = await self.call(
                call16.StartTransaction(
                    connector_id=c.evse_id,
                    id_tag=ev.id_token,
                    meter_start=int(c.meter_wh),
                    timestamp=_ts(self.clock_skew_s),
                )
            )
            if res is None:
                c.started_reported = False
                return
            if res.id_tag_info.get("status") != "Accepted":
                ev.refused = True
                await self.call(
                    call16.StopTransaction(
                        meter_stop=int(c.meter_wh),
                        timestamp=_ts(self.clock_skew_s),
                        transaction_id=res.transaction_id,
                        reason="DeAuthorized",
                    )
                )
                return
            c.tx_id = str(res.transaction_id)
            await self.call(
                call16.StatusNotification(
                    connector_id=c.evse_id, error_code="NoError", status="Charging", timestamp=_ts(self.clock_skew_s)
                )
            )
        else:
            await self.call(
                call201.StatusNotification(
                    timestamp=_ts(self.clock_skew_s), connector_status="Occupied", evse_id=c.evse_id, connector_id=1
                )
            )
            c.local_tx += 1
            tx = f"{self.id}-{c.evse_id}-{c.local_tx}"
            c.tx_id = tx
            res = await self.call(
                call201.TransactionEvent(
                    event_type="Started",
                    timestamp=_ts(self.clock_skew_s),
                    trigger_reason="Authorized",
                    seq_no=0,
                    transaction_info={"transactionId": tx, "chargingState": "Charging"},
                    evse={"id": c.evse_id, "connectorId": 1},
                    id_token={"idToken": ev.id_token, "type": "ISO14443"},
                    meter_value=[
                        {
                            "timestamp": _ts(self.clock_skew_s),
                            "sampledValue": [
                                {
                                    "value": round(c.meter_wh, 1),
                                    "measurand": "Energy.Active.Import.Register",
                                    "unitOfMeasure": {"unit": "Wh"},
                                    "context": "Transaction.Begin",
                                }
                            ],
                        }
                    ],
                )
            )
            if res is None:
                c.started_reported, c.tx_id = False, None
                return
            if (res.id_token_info or {}).get("status", "Accepted") != "Accepted":
                ev.refused = True
                return
            if depot.iso15118:
                dep = datetime.now(UTC) + timedelta(seconds=max(ev.departure_sim_s - depot.sim_now(), 0) / depot.speed)
                need_wh = max(ev.target_soc - ev.soc, 0.0) * ev.battery_kwh * 1000.0
                await self.call(
                    call201.NotifyEVChargingNeeds(
                        evse_id=c.evse_id,
                        charging_needs={
                            "requestedEnergyTransfer": "AC_three_phase",
                            "departureTime": dep.isoformat(timespec="seconds").replace("+00:00", "Z"),
                            "acChargingParameters": {
                                "energyAmount": int(need_wh),
                                "evMinCurrent": 6,
                                "evMaxCurrent": int(ev.max_kw * 1000 / (VOLTAGE_V * c.phases)),
                                "evMaxVoltage": 400,
                            },
                        },
                    )
                )

    async def report_stop(self, c: SimConnector, tx_id: str | None, meter_wh: float) -> None:
        if tx_id is None:
            return
        if self.version == "1.6":
            msgs: list[Any] = [
                call16.StopTransaction(
                    meter_stop=int(meter_wh),
                    timestamp=_ts(self.clock_skew_s),
                    transaction_id=int(tx_id),
                    reason="EVDisconnected",
                ),
                call16.StatusNotification(
                    connector_id=c.evse_id, error_code="NoError", status="Available", timestamp=_ts(self.clock_skew_s)
                ),
            ]
        else:
            msgs = [
                call201.TransactionEvent(
                    event_type="Ended",
                    timestamp=_ts(self.clock_skew_s),
                    trigger_reason="EVCommunicationLost",
                    seq_no=1,
                    transaction_info={"transactionId": tx_id, "stoppedReason": "EVDisconnected"},
                    evse={"id": c.evse_id, "connectorId": 1},
                    meter_value=[
                        {
                            "timestamp": _ts(self.clock_skew_s),
                            "sampledValue": [
                                {
                                    "value": round(meter_wh, 1),
                                    "measurand": "Energy.Active.Import.Register",
                                    "unitOfMeasure": {"unit": "Wh"},
                                    "context": "Transaction.End",
                                }
                            ],
                        }
                    ],
                ),
                call201.StatusNotification(
                    timestamp=_ts(self.clock_skew_s), connector_status="Available", evse_id=c.evse_id, connector_id=1
                ),
            ]
        for m in msgs:
            if self.online and await self.call(m) is not None:
                continue
            self.pending.append(m)

    # -- connection --------------------------------------------------------------------------------------------

    async def run(self, depot: SimDepot) -> None:
        """Connect, boot, serve; reconnect with a bounded back-off until cancelled."""
        backoff = 0.2
        while True:
            try:
                token = base64.b64encode(f"{self.id}:{self.password}".encode()).decode()
                ws = await connect(
                    f"{self.url.rstrip('/')}/{self.id}",
                    subprotocols=[f"ocpp{self.version}"],  # type: ignore[list-item]
                    additional_headers={"Authorization": f"Basic {token}"},
                    open_timeout=10,
                    max_size=2**20,
                    ssl=depot.ssl,
                )
            except (OSError, InvalidHandshake, InvalidStatus, TimeoutError) as exc:
                LOG.debug("station %s: cannot connect: %s", self.id, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            backoff = 0.2
            self.ws, self.connects = ws, self.connects + 1
            cls = _SimCP16 if self.version == "1.6" else _SimCP201
            self.cp = cls(self.id, ws, response_timeout=depot.response_timeout_s)
            self.cp.station = self
            serve = asyncio.create_task(self.cp.start())
            self.online = True
            try:
                await self._after_connect(depot)
                await serve
            except ConnectionClosed:
                pass
            finally:
                self.online = False
                serve.cancel()
                with contextlib.suppress(BaseException):
                    await serve
                with contextlib.suppress(Exception):
                    await ws.close()
                self.cp = None

    async def _after_connect(self, depot: SimDepot) -> None:
        if not self.booted:
            if self.version == "1.6":
                res = await self.call(
                    call16.BootNotification(
                        charge_point_vendor="evfleet", charge_point_model="depot-sim", firmware_version="1"
                    )
                )
            else:
                res = await self.call(
                    call201.BootNotification(
                        charging_station={"vendorName": "evfleet", "model": "depot-sim"}, reason="PowerUp"
                    )
                )
            if res is None:
                return
            self.boot_status = res.status
            if res.status != "Accepted":
                return
            self.booted = True
        for c in self.connectors:
            status = "Charging" if c.ev is not None else "Available"
            if self.version == "1.6":
                await self.call(
                    call16.StatusNotification(
                        connector_id=c.evse_id, error_code="NoError", status=status, timestamp=_ts(self.clock_skew_s)
                    )
                )
            else:
                await self.call(
                    call201.StatusNotification(
                        timestamp=_ts(self.clock_skew_s),
                        connector_status="Occupied" if c.ev is not None else "Available",
                        evse_id=c.evse_id,
                        connector_id=1,
                    )
                )
        pending, self.pending = self.pending, []
        for m in pending:
            if await self.call(m) is None:
                self.pending.append(m)
        for c in self.connectors:
            if c.ev is not None and not c.started_reported:
                await self.report_start(c, depot)


def _profile_kw(st: SimStation, schedule: Any, version: str) -> float:
    sched = schedule[0] if isinstance(schedule, list) else schedule
    period = sched["charging_schedule_period"][0]
    return st.to_kw(period["limit"], sched["charging_rate_unit"], period.get("number_phases"))


class _SimCP16(ChargePoint16):
    station: SimStation

    @on("SetChargingProfile")
    async def on_set_charging_profile(self, connector_id: int, cs_charging_profiles: dict[str, Any], **kw: Any) -> Any:
        if self.station.silent:
            await asyncio.Event().wait()  # a hung station: never answers
        p = cs_charging_profiles
        kw_limit = _profile_kw(self.station, p["charging_schedule"], "1.6")
        status = self.station.install(connector_id, p["charging_profile_purpose"], kw_limit, p.get("transaction_id"))
        return result16.SetChargingProfile(status=status)

    @on("ClearChargingProfile")
    def on_clear_charging_profile(self, **kw: Any) -> Any:
        self.station.station_max_kw = None
        self.station.tx_default_kw = None
        for c in self.station.connectors:
            c.tx_profile_kw = c.tx_default_kw = None
        return result16.ClearChargingProfile(status="Accepted")

    @on("GetConfiguration")
    def on_get_configuration(self, **kw: Any) -> Any:
        return result16.GetConfiguration(
            configuration_key=[
                {"key": "ChargingScheduleAllowedChargingRateUnit", "readonly": True, "value": "Current,Power"},
                {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
            ]
        )

    @on("ChangeConfiguration")
    def on_change_configuration(self, key: str, value: str, **kw: Any) -> Any:
        return result16.ChangeConfiguration(status="Accepted")

    @on("TriggerMessage")
    def on_trigger_message(self, requested_message: str, **kw: Any) -> Any:
        return result16.TriggerMessage(status="Accepted" if requested_message == "MeterValues" else "NotImplemented")

    @on("RemoteStopTransaction")
    def on_remote_stop(self, transaction_id: int, **kw: Any) -> Any:
        known = any(c.tx_id == str(transaction_id) for c in self.station.connectors)
        return result16.RemoteStopTransaction(status="Accepted" if known else "Rejected")

    @on("Reset")
    def on_reset(self, type: str, **kw: Any) -> Any:
        return result16.Reset(status="Accepted")

    @on("GetCompositeSchedule")
    def on_get_composite_schedule(self, connector_id: int, duration: int, **kw: Any) -> Any:
        limit = self.station.composite_kw(connector_id)
        if limit is None or (connector_id and self.station.connector(connector_id) is None):
            return result16.GetCompositeSchedule(status="Rejected")
        return result16.GetCompositeSchedule(
            status="Accepted",
            connector_id=connector_id,
            schedule_start=_ts(self.station.clock_skew_s),
            charging_schedule={
                "duration": duration,
                "charging_rate_unit": "W",
                "charging_schedule_period": [{"start_period": 0, "limit": round(limit * 1000.0, 1)}],
            },
        )


class _SimCP201(ChargePoint201):
    station: SimStation

    @on("SetChargingProfile")
    async def on_set_charging_profile(self, evse_id: int, charging_profile: dict[str, Any], **kw: Any) -> Any:
        if self.station.silent:
            await asyncio.Event().wait()
        p = charging_profile
        kw_limit = _profile_kw(self.station, p["charging_schedule"], "2.0.1")
        status = self.station.install(evse_id, p["charging_profile_purpose"], kw_limit, p.get("transaction_id"))
        if status == "Accepted":  # K01: a profile with the same id replaces the earlier one
            self.profiles = {k: v for k, v in getattr(self, "profiles", {}).items() if k[1] != p["id"]}
            self.profiles[(evse_id, p["id"])] = p
        return result201.SetChargingProfile(status=status)

    @on("GetCompositeSchedule")
    def on_get_composite_schedule(self, duration: int, evse_id: int, **kw: Any) -> Any:
        limit = self.station.composite_kw(evse_id)
        if limit is None or (evse_id and self.station.connector(evse_id) is None):
            return result201.GetCompositeSchedule(status="Rejected")
        return result201.GetCompositeSchedule(
            status="Accepted",
            schedule={
                "evse_id": evse_id,
                "duration": duration,
                "schedule_start": _ts(self.station.clock_skew_s),
                "charging_rate_unit": "W",
                "charging_schedule_period": [{"start_period": 0, "limit": round(limit * 1000.0, 1)}],
            },
        )

    @on("GetChargingProfiles")
    def on_get_charging_profiles(self, request_id: int, charging_profile: dict[str, Any], **kw: Any) -> Any:
        found = self._matching(kw.get("evse_id"), charging_profile)
        return result201.GetChargingProfiles(status="Accepted" if found else "NoProfiles")

    @after("GetChargingProfiles")
    async def after_get_charging_profiles(self, request_id: int, charging_profile: dict[str, Any], **kw: Any) -> None:
        found = self._matching(kw.get("evse_id"), charging_profile)
        by_evse: dict[int, list[dict[str, Any]]] = {}
        for (evse_id, _pid), p in found:
            by_evse.setdefault(evse_id, []).append(p)
        items = list(by_evse.items())
        for k, (evse_id, profiles) in enumerate(items):  # K09: one report per EVSE, tbc on all but the last
            await self.station.call(
                call201.ReportChargingProfiles(
                    request_id=request_id, charging_limit_source="CSO", evse_id=evse_id,
                    charging_profile=profiles, tbc=k < len(items) - 1,
                )
            )  # fmt: skip

    def _matching(self, evse_id: int | None, criterion: dict[str, Any]) -> list[tuple[tuple[int, int], Any]]:
        ids = criterion.get("charging_profile_id")
        purpose = criterion.get("charging_profile_purpose")
        return [
            (k, p)
            for k, p in getattr(self, "profiles", {}).items()
            if (evse_id is None or k[0] == evse_id)
            and (not ids or p["id"] in ids)
            and (purpose is None or p["charging_profile_purpose"] == purpose)
        ]

    @on("ClearChargingProfile")
    def on_clear_charging_profile(self, **kw: Any) -> Any:
        self.station.station_max_kw = None
        for c in self.station.connectors:
            c.tx_profile_kw = c.tx_default_kw = None
        self.profiles = {}  # K10: cleared
        return result201.ClearChargingProfile(status="Accepted")

    @on("GetVariables")
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **kw: Any) -> Any:
        out = []
        for d in get_variable_data:
            known = d["component"].get("name") == "SmartChargingCtrlr" and d["variable"].get("name") == "RateUnit"
            out.append(
                {
                    "attribute_status": "Accepted" if known else "UnknownVariable",
                    "attribute_value": "A,W" if known else None,
                    "component": d["component"],
                    "variable": d["variable"],
                }
            )
        return result201.GetVariables(get_variable_result=[{k: v for k, v in r.items() if v is not None} for r in out])

    @on("SetVariables")
    def on_set_variables(self, set_variable_data: list[dict[str, Any]], **kw: Any) -> Any:
        return result201.SetVariables(
            set_variable_result=[
                {"attribute_status": "Accepted", "component": d["component"], "variable": d["variable"]}
                for d in set_variable_data
            ]
        )

    @on("TriggerMessage")
    def on_trigger_message(self, requested_message: str, **kw: Any) -> Any:
        return result201.TriggerMessage(status="Accepted" if requested_message == "MeterValues" else "NotImplemented")

    @on("RequestStopTransaction")
    def on_request_stop(self, transaction_id: str, **kw: Any) -> Any:
        known = any(c.tx_id == transaction_id for c in self.station.connectors)
        return result201.RequestStopTransaction(status="Accepted" if known else "Rejected")

    @on("Reset")
    def on_reset(self, type: str, **kw: Any) -> Any:
        return result201.Reset(status="Accepted")


class SimDepot:
    """N simulated stations replaying ``scenario``'s sessions (see module docstring).

    ``history`` keeps (wall time [s since start], site EV power [kW]) per tick, ``skipped`` the sessions that found
    no free connector."""

    def __init__(
        self,
        scenario: Scenario | None,
        n_stations: int,
        csms_url: str,
        version: str = "1.6",
        evses_per_station: int = 2,
        evse_kw: float = 22.0,
        speed: float = 60.0,
        password: str = "depot-sim-password",
        meter_interval_s: float = 10.0,
        tick_s: float = 0.5,
        iso15118: bool = True,
        id_prefix: str = "SIM",
        ssl: Any = None,
        response_timeout_s: float = 30.0,
        bidirectional: bool = False,
    ) -> None:
        if n_stations < 1:
            raise InputError(f"option '--stations' must be >= 1 (value {n_stations})")
        if version not in ("1.6", "2.0.1"):
            raise InputError(f"option '--ocpp' must be 1.6 or 2.0.1 (value {version!r})")
        if speed <= 0:
            raise InputError(f"option '--speed' must be > 0 (value {speed})")
        self.scenario = scenario
        self.speed = speed
        self.meter_interval_s = meter_interval_s
        self.tick_s = tick_s
        self.iso15118 = iso15118 and version == "2.0.1"
        self.ssl = ssl
        self.response_timeout_s = response_timeout_s
        self.stations = [
            SimStation(
                id=f"{id_prefix}-{k + 1:04d}",
                version=version,
                password=password,
                url=csms_url,
                connectors=[SimConnector(evse_id=j + 1, max_kw=evse_kw) for j in range(evses_per_station)],
                max_kw=evse_kw * evses_per_station,
                bidirectional=bidirectional,
            )
            for k in range(n_stations)
        ]
        self.history: list[tuple[float, float]] = []
        self.skipped = 0
        self.plugged = 0
        self.unplugged = 0
        self._t_start = time.monotonic()
        self._sim_t0 = 0.0
        self._next_session = 0
        self._order: np.ndarray = np.zeros(0, dtype=np.int64)
        self._rr = 0
        self._manual: list[tuple[SimStation, SimConnector]] = []
        if scenario is not None:
            v = scenario.vehicles
            step_s = scenario.step_minutes * 60.0
            self._arr_s = v.arrival_step * step_s
            self._dep_s = v.departure_step * step_s
            self._order = np.argsort(self._arr_s, kind="stable")
            self._sim_t0 = float(self._arr_s.min()) if len(v) else 0.0

    def sim_now(self) -> float:
        """Scenario time [s from the scenario's start]."""
        return self._sim_t0 + (time.monotonic() - self._t_start) * self.speed

    def site_kw(self) -> float:
        return float(sum(c.power_kw for st in self.stations for c in st.connectors))

    def bodies(self) -> dict[str, list[dict[str, Any]]]:
        """The REST bodies registering this depot: stations, vehicles and ID tokens (``register_depot``)."""
        stations = [
            {
                "id": st.id,
                "password": st.password,
                "ocpp_version": st.version,
                "max_power_kw": st.max_kw,
                "bidirectional": st.bidirectional,
                "evses": [
                    {"id": c.evse_id, "connectors": [c.evse_id], "max_power_kw": c.max_kw, "phases": c.phases}
                    for c in st.connectors
                ],
            }
            for st in self.stations
        ]
        vehicles, tokens = [], []
        if self.scenario is not None:
            v = self.scenario.vehicles
            seen: set[str] = set()
            for i in range(len(v)):
                vid = str(v.extra["vehicle"][i]) if "vehicle" in v.extra else str(v.id[i])
                if vid in seen:
                    continue
                seen.add(vid)
                tokens.append({"id_token": _token(vid), "type": "ISO14443", "status": "Accepted", "vehicle_id": vid})
                vehicles.append({"id": vid, "model": str(v.model[i]), "id_token": _token(vid)})
        return {"stations": stations, "vehicles": vehicles, "id_tokens": tokens}

    def _free_connector(self) -> tuple[SimStation, SimConnector] | None:
        n = len(self.stations)
        for k in range(n):
            st = self.stations[(self._rr + k) % n]
            for c in st.connectors:
                if c.ev is None:
                    self._rr = (self._rr + k + 1) % n
                    return st, c
        return None

    def _arrivals(self, now_s: float) -> list[tuple[SimStation, SimConnector]]:
        out = []
        if self.scenario is None:
            return out
        v = self.scenario.vehicles
        while self._next_session < len(self._order) and self._arr_s[self._order[self._next_session]] <= now_s:
            i = int(self._order[self._next_session])
            self._next_session += 1
            if self._dep_s[i] <= now_s:
                continue
            slot = self._free_connector()
            if slot is None:
                self.skipped += 1
                continue
            st, c = slot
            vid = str(v.extra["vehicle"][i]) if "vehicle" in v.extra else str(v.id[i])
            c.ev = SimEV(
                vehicle_id=vid,
                id_token=_token(vid),
                battery_kwh=float(v.battery_kwh[i]),
                soc=float(v.soc_arrival[i]),
                soc_max=float(max(v.soc_max[i], v.soc_arrival[i])),
                max_kw=float(v.max_charge_kw[i]),
                departure_sim_s=float(self._dep_s[i]),
                target_soc=float(v.soc_target[i]),
                efficiency=float(v.charge_efficiency[i]),
                max_discharge_kw=float(v.max_discharge_kw[i]),
                soc_min=float(min(v.soc_min[i], v.soc_arrival[i])),
            )
            c.tx_id, c.tx_profile_kw, c.started_reported = None, None, False
            self.plugged += 1
            out.append((st, c))
        return out

    def plug(self, st: SimStation, c: SimConnector, ev: SimEV) -> None:
        """Plug ``ev`` into ``c`` by hand (tests); it is reported at the next tick."""
        c.ev, c.tx_id, c.tx_profile_kw, c.started_reported = ev, None, None, False
        self.plugged += 1
        self._manual.append((st, c))

    def _departures(self, now_s: float) -> list[tuple[SimStation, SimConnector, str | None, float]]:
        out = []
        for st in self.stations:
            for c in st.connectors:
                if c.ev is not None and c.ev.departure_sim_s <= now_s:
                    out.append((st, c, c.tx_id, c.meter_wh))
                    c.ev, c.tx_id, c.tx_profile_kw, c.started_reported, c.power_kw = None, None, None, False, 0.0
                    self.unplugged += 1
        return out

    async def start(self) -> None:
        """Start the stations' connections (returns at once)."""
        for st in self.stations:
            st._task = asyncio.create_task(st.run(self))

    async def wait_booted(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not all(st.booted for st in self.stations):
            if time.monotonic() > deadline:
                missing = [st.id for st in self.stations if not st.booted]
                raise TimeoutError(f"stations not booted after {timeout_s} s: {missing[:5]}")
            await asyncio.sleep(0.05)

    async def run(self, duration_s: float | None = None, report_every_s: float | None = None) -> None:
        """Tick the depot (arrivals, physics, meter values, departures) for ``duration_s`` wall seconds (None: until
        every session of the scenario has departed)."""
        tasks: set[asyncio.Task[Any]] = set()

        def spawn(coro: Any) -> None:
            t = asyncio.create_task(coro)
            tasks.add(t)
            t.add_done_callback(tasks.discard)

        t_end = None if duration_s is None else time.monotonic() + duration_s
        last_tick = time.monotonic()
        last_meter = last_tick
        last_report = last_tick
        try:
            while True:
                now = time.monotonic()
                if t_end is not None and now >= t_end:
                    break
                sim = self.sim_now()
                for st, c in self._arrivals(sim) + self._manual:
                    spawn(st.report_start(c, self))
                self._manual = []
                for st, c, tx, meter in self._departures(sim):
                    spawn(st.report_stop(c, tx, meter))
                total = sum(st.step(now - last_tick, self.speed) for st in self.stations)
                last_tick = now
                self.history.append((now - self._t_start, total))
                if now - last_meter >= self.meter_interval_s:
                    last_meter = now
                    for st in self.stations:
                        if st.online:
                            spawn(st.send_meter_values())
                if report_every_s and now - last_report >= report_every_s:
                    last_report = now
                    online = sum(st.online for st in self.stations)
                    plugged = sum(c.ev is not None for st in self.stations for c in st.connectors)
                    print(
                        f"depot-sim: sim {self.sim_now() / 3600:5.2f} h  online {online}/{len(self.stations)}  "
                        f"plugged {plugged}  power {total:8.1f} kW  skipped {self.skipped}",
                        flush=True,
                    )
                if (
                    duration_s is None
                    and self._next_session >= len(self._order)
                    and not any(c.ev is not None for st in self.stations for c in st.connectors)
                ):
                    break
                await asyncio.sleep(self.tick_s)
        finally:
            for t in list(tasks):
                t.cancel()
            for t in list(tasks):
                with contextlib.suppress(BaseException):
                    await t

    async def stop(self) -> None:
        for st in self.stations:
            if st._task is not None:
                st._task.cancel()
        for st in self.stations:
            if st._task is not None:
                with contextlib.suppress(BaseException):
                    await st._task
                st._task = None


def _token(vehicle_id: str) -> str:
    return f"TOK-{vehicle_id}"[:36]


def register_depot(
    depot: SimDepot, api_url: str, api_token: str | None = None, timeout_s: float = 30.0
) -> dict[str, int]:
    """Register the depot's stations, vehicles and ID tokens with the REST API at ``api_url``; return the counts."""
    counts = {}
    bodies = depot.bodies()
    for kind, path in (("stations", "stations"), ("vehicles", "vehicles"), ("id_tokens", "id-tokens")):
        for body in bodies[kind]:
            req = urllib.request.Request(
                f"{api_url.rstrip('/')}/api/v1/{path}",
                data=json.dumps(body).encode(),
                headers={
                    "Content-Type": "application/json",
                    **({"Authorization": f"Bearer {api_token}"} if api_token else {}),
                },
                method="POST",
            )
            with urllib.request.urlopen(req, timeout=timeout_s) as resp:
                resp.read()
        counts[kind] = len(bodies[kind])
    return counts
