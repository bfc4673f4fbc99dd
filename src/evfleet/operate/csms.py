"""The OCPP central system: OCPP-J 1.6 and 2.0.1 over WebSocket, on the ``ocpp`` library (mobilityhouse).

Stations connect to ``ws(s)://HOST:PORT/ocpp/{station_id}`` offering the subprotocol of their registered version
(``ocpp1.6`` or ``ocpp2.0.1``). The handshake enforces OCPP security profile 1 (HTTP Basic auth: user = station
id, password checked against its argon2 hash) and, with a certificate and key, profile 2 (TLS): an unknown station
or a wrong password gets HTTP 401 and an alert (the password is never logged). A frame that is not valid OCPP-J or
breaks the action's JSON schema gets the CallError the version defines (1.6: ``FormationViolation``,
``OccurenceConstraintViolation``; 2.0.1: ``FormatViolation``, ``OccurrenceConstraintViolation``; both:
``ProtocolError``, ``TypeConstraintViolation``, ``PropertyConstraintViolation``, ``NotImplemented``,
``NotSupported``, ``SecurityError`` before an accepted boot) and the connection stays up; a station sending more
than ``MAX_ERRORS_PER_MINUTE`` bad frames is disconnected (policy violation, 1008) so that one broken or hostile
station cannot starve the others; a frame larger than ``ocpp.max_message_bytes`` closes its connection (1009).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import json
import logging
import re
import ssl
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from ocpp import messages as ocpp_messages
from ocpp.charge_point import camel_to_snake_case, remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.exceptions import NotImplementedError as OcppNotImplementedError
from ocpp.exceptions import NotSupportedError, OCPPError, SecurityError, TypeConstraintViolationError
from ocpp.messages import Call, CallError, MessageType, unpack, validate_payload
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed, NegotiationError

from evfleet.operate.registry import Evse, Registry, Station, iso, parse_time
from evfleet.operate.schemas import validate_call
from evfleet.operate.security import parse_basic_auth

__all__ = ["MAX_ERRORS_PER_MINUTE", "CentralSystem", "OperatorCallError", "StationLink"]

LOG = logging.getLogger("evfleet.operate.csms")
WIRE_LOG = logging.getLogger("evfleet.operate.ocpp")  # the ocpp library's per-message log (INFO: frames)

MAX_ERRORS_PER_MINUTE = 120
CLOCK_SKEW_ALERT_S = 60.0
_PATH = re.compile(r"^/ocpp/([^/?#]+)/?$")
# 1.6 spells two error codes differently from 2.0.1 (OCPP-J 1.6 section 4.2.3).
_CODES_16 = {"FormatViolation": "FormationViolation", "OccurrenceConstraintViolation": "OccurenceConstraintViolation"}


class OperatorCallError(Exception):
    """An operator's call could not be made: ``kind`` is offline, schema, timeout or not_found."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _now() -> datetime:
    return datetime.now(UTC)


class StationLink:
    """What both versions' handlers share: framing errors, the operator's raw call, clock skew, state updates."""

    _ocpp_version: str
    station: Station
    csms: CentralSystem

    def _init_link(self, station: Station, connection: ServerConnection, csms: CentralSystem) -> None:
        self.station = station
        self.csms = csms
        self.registry = csms.registry
        self.connection = connection
        self._errors: deque[float] = deque()
        self._after_tasks: set[asyncio.Future[Any]] = set()
        self.frames_received = 0

    # -- framing ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        while True:
            message = await self.connection.recv()
            self.frames_received += 1
            self.station.last_seen_at = iso(self.registry.clock())
            await self.route_message(message)

    def _code(self, error: OCPPError) -> str:
        if self._ocpp_version == "1.6":
            return _CODES_16.get(error.code, error.code)
        return error.code

    async def _send_error(self, unique_id: str, error: OCPPError) -> None:
        details = {k: v for k, v in (error.details or {}).items() if k == "cause" and isinstance(v, str)}
        frame = CallError(unique_id, self._code(error), error.description or "", details).to_json()
        await self._send(frame)  # type: ignore[attr-defined]

    async def _count_error(self, what: str) -> None:
        now = time.monotonic()
        self._errors.append(now)
        while self._errors and self._errors[0] < now - 60.0:
            self._errors.popleft()
        if len(self._errors) == 1 or len(self._errors) % 50 == 0:
            self.registry.alert("bad_frame", f"{what} ({len(self._errors)} in the last minute)", self.station.id)
        if len(self._errors) > MAX_ERRORS_PER_MINUTE:
            self.registry.alert(
                "flood", f"more than {MAX_ERRORS_PER_MINUTE} bad frames a minute: disconnected", self.station.id
            )
            await self.connection.close(1008, "too many malformed frames")

    async def route_message(self, raw_msg: str | bytes) -> None:
        try:
            msg = unpack(raw_msg)
        except OCPPError as error:
            await self._count_error(f"unparsable frame: {error.description}")
            await self._send_error(_guess_id(raw_msg), error)
            return
        if msg.message_type_id == MessageType.Call:
            if (
                not isinstance(msg.unique_id, str)
                or not isinstance(msg.action, str)
                or not isinstance(msg.payload, dict)
            ):
                await self._count_error("malformed call")
                err = TypeConstraintViolationError(details={"cause": "unique id, action or payload of the wrong type"})
                await self._send_error(str(msg.unique_id), err)
                return
            if msg.action != "BootNotification" and not (
                self.station.registration == "Accepted" and self.station.boot_at
            ):
                await self._send_error(msg.unique_id, SecurityError("The station has no accepted boot."))
                return
            try:
                await self._handle_call(msg)  # type: ignore[attr-defined]
            except OCPPError as error:
                await self._count_error(f"{msg.action}: {error.code}")
                await self._send_error(msg.unique_id, error)
        elif msg.message_type_id in (MessageType.CallResult, MessageType.CallError):
            self._response_queue.put_nowait(msg)  # type: ignore[attr-defined]

    async def _handle_call(self, msg: Call) -> None:
        """Answer a station's call: the ``ocpp`` library's ``ChargePoint._handle_call`` without its redundant work
        (measured in ``benchmarks/bench_ocpp.py``, ``docs/operate.md``). The call's payload is schema-checked
        **once** (:func:`evfleet.operate.schemas.validate_call`: a compiled check, the library's own on a failure).
        The answer, which evfleet builds from the library's typed ``call_result`` dataclasses, is not re-validated
        on every frame (the tests' stations are ``ocpp`` library clients, which check every answer against its
        schema). Key case conversion is memoised per key (the library's own rules) and handler signatures are read
        once per handler function."""
        handlers = self.route_map.get(msg.action)  # type: ignore[attr-defined]
        if handlers is None or "_on_action" not in handlers:
            _raise_unknown_action(msg.action, self._ocpp_version)
        if not handlers.get("_skip_schema_validation", False):
            await validate_call(msg, self._ocpp_version)  # compiled check, the library's for the CallError
        kwargs = _to_snake(msg.payload)
        handler = handlers["_on_action"]
        try:
            response = handler(**kwargs, call_unique_id=msg.unique_id) if _wants_id(handler) else handler(**kwargs)
            if inspect.isawaitable(response):
                response = await response
        except Exception as error:  # a handler's bug: InternalError to the station, the connection stays up
            LOG.exception("station %s: error while handling %s", self.station.id, msg.action)
            await self._send(msg.create_call_error(error).to_json())  # type: ignore[attr-defined]
            return
        payload = _to_camel(remove_nones(serialize_as_dict(response)))
        await self._send(msg.create_call_result(payload).to_json())  # type: ignore[attr-defined]
        after_handler = handlers.get("_after_action")
        if after_handler is not None:
            done = (
                after_handler(**kwargs, call_unique_id=msg.unique_id)
                if _wants_id(after_handler)
                else after_handler(**kwargs)
            )
            if inspect.isawaitable(done):
                task = asyncio.ensure_future(done)
                self._after_tasks.add(task)
                task.add_done_callback(self._after_tasks.discard)

    # -- central-system initiated calls ----------------------------------------------------------------

    async def raw_call(self, action: str, payload: dict[str, Any], timeout_s: float) -> tuple[str, dict[str, Any]]:
        """Send ``action`` with the camelCase ``payload`` (schema-checked first); return ``("CallResult", payload)``
        or ``("CallError", {"errorCode", "errorDescription", "errorDetails"})``. Raise :class:`OperatorCallError`
        (``schema``: the payload breaks the schema; ``timeout``; ``offline``: the connection closed)."""
        call = Call(unique_id=str(uuid.uuid4()), action=action, payload=payload)
        try:
            await validate_payload(call, self._ocpp_version)
        except OCPPError as error:
            raise OperatorCallError("schema", f"{action}: {error.code}: {_cause(error)}") from None
        async with self._call_lock:  # type: ignore[attr-defined]  # one outstanding call per direction (OCPP-J)
            try:
                await self._send(call.to_json())  # type: ignore[attr-defined]
            except ConnectionClosed:
                raise OperatorCallError("offline", f"{action}: station {self.station.id} disconnected") from None
            answer = asyncio.ensure_future(self._get_specific_response(call.unique_id, timeout_s))  # type: ignore[attr-defined]
            closed = asyncio.ensure_future(self.connection.wait_closed())
            try:
                await asyncio.wait({answer, closed}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
            finally:
                closed.cancel()
                if not answer.done():
                    answer.cancel()
            if answer.done() and not answer.cancelled() and answer.exception() is None:
                response = answer.result()
            elif self.connection.state.name in ("CLOSING", "CLOSED"):
                raise OperatorCallError("offline", f"{action}: station {self.station.id} disconnected")
            else:
                raise OperatorCallError("timeout", f"{action}: no answer from {self.station.id} in {timeout_s} s")
        if response.message_type_id == MessageType.CallError:
            return "CallError", {
                "errorCode": response.error_code,
                "errorDescription": response.error_description,
                "errorDetails": response.error_details,
            }
        return "CallResult", response.payload

    def close_soon(self) -> None:
        asyncio.get_running_loop().create_task(self.connection.close(1000, "station removed"))

    # -- shared handler helpers ------------------------------------------------------------------------

    def _note_time(self, timestamp: str | None) -> None:
        """Estimate the station's clock skew from a message timestamp; alert once above ``CLOCK_SKEW_ALERT_S``."""
        if not timestamp:
            return
        try:
            skew = (parse_time(timestamp) - self.registry.clock()).total_seconds()
        except Exception:
            return
        was = self.station.clock_skew_s
        self.station.clock_skew_s = round(skew, 3)
        if abs(skew) > CLOCK_SKEW_ALERT_S and (was is None or abs(was) <= CLOCK_SKEW_ALERT_S):
            self.registry.alert(
                "clock_skew",
                f"station clock is {skew:+.0f} s off; its timestamps are kept but evfleet uses its own clock",
                self.station.id,
            )

    def _boot(self, vendor: str | None, model: str | None, serial: str | None, firmware: str | None) -> str:
        st = self.station
        status = st.registration
        if st.id in self.csms.registry.config.ocpp.pending_stations and status == "Accepted":
            status = "Pending"
        st.vendor, st.model, st.serial, st.firmware = vendor, model, serial, firmware
        if status == "Accepted":
            st.boot_at = iso(self.registry.clock())
            st.booted = True
        self.registry.persist_station(st)
        LOG.info("station %s booted (%s %s): %s", st.id, vendor, model, status)
        return status

    def _interval(self, status: str) -> int:
        return self.registry.config.ocpp.heartbeat_interval_s if status == "Accepted" else 60

    def _after_boot(self) -> None:
        if self.station.booted:
            self.registry.emit("boot", self.station)

    def _tx_started(self) -> None:
        self.registry.emit("replan", "plug_in")


def _raise_unknown_action(action: str, version: str) -> None:
    """``NotImplemented`` for an action of the version without a handler, ``NotSupported`` for an unknown one."""
    known = Action16 if version == "1.6" else Action201
    try:
        known(action)
    except ValueError:
        raise NotSupportedError(details={"cause": f"{action} not supported by OCPP{version}."}) from None
    raise OcppNotImplementedError(details={"cause": f"No handler for {action} registered."})


@functools.lru_cache(maxsize=4096)
def _snake_key(key: str) -> str:
    return next(iter(camel_to_snake_case({key: None})))


@functools.lru_cache(maxsize=4096)
def _camel_key(key: str) -> str:
    return next(iter(snake_to_camel_case({key: None})))


def _to_snake(data: Any) -> Any:
    """``camel_to_snake_case`` of the ``ocpp`` library, memoised per key."""
    if isinstance(data, dict):
        return {_snake_key(k): _to_snake(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_to_snake(v) for v in data]
    return data


def _to_camel(data: Any) -> Any:
    """``snake_to_camel_case`` of the ``ocpp`` library, memoised per key."""
    if isinstance(data, dict):
        return {_camel_key(k): _to_camel(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_to_camel(v) for v in data]
    return data


def _wants_id(handler: Callable[..., Any]) -> bool:
    """Whether a handler takes ``call_unique_id`` (read once per handler function, not per station)."""
    return _function_wants_id(getattr(handler, "__func__", handler))


@functools.lru_cache(maxsize=512)
def _function_wants_id(fn: Callable[..., Any]) -> bool:
    return "call_unique_id" in inspect.signature(fn).parameters


def _guess_id(raw: str | bytes) -> str:
    """The unique id of a frame that failed to parse, when it can be found; else ``"-1"`` (OCPP-J 2.0.1 4.2.3)."""
    with contextlib.suppress(Exception):
        data = json.loads(raw)
        if isinstance(data, list) and len(data) > 1 and isinstance(data[1], str) and len(data[1]) <= 36:
            return data[1]
    return "-1"


def _cause(error: OCPPError) -> str:
    cause = (error.details or {}).get("cause")
    return str(cause)[:300] if cause else (error.description or error.code)


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class Link16(StationLink, ChargePoint16):
    """OCPP 1.6J handlers (Core, Smart Charging)."""

    def __init__(self, station: Station, connection: ServerConnection, csms: CentralSystem) -> None:
        ChargePoint16.__init__(self, station.id, connection, csms.config.ocpp.response_timeout_s, WIRE_LOG)
        self._init_link(station, connection, csms)

    def _evse(self, connector_id: int) -> Evse | None:
        return self.station.evse_of_connector(connector_id)

    def _tag_info(self, id_tag: str | None) -> dict[str, Any]:
        status, tok = self.registry.authorize(id_tag)
        info: dict[str, Any] = {"status": status}
        if tok is not None and tok.group_id:
            info["parent_id_tag"] = tok.group_id
        if tok is not None and tok.expiry:
            info["expiry_date"] = tok.expiry
        return info

    @on("BootNotification")
    def on_boot(self, charge_point_vendor: str, charge_point_model: str, **kw: Any) -> Any:
        status = self._boot(
            charge_point_vendor, charge_point_model, kw.get("charge_point_serial_number"), kw.get("firmware_version")
        )
        return result16.BootNotification(
            current_time=iso(self.registry.clock()), interval=self._interval(status), status=status
        )

    @after("BootNotification")
    def after_boot(self, **kw: Any) -> None:
        self._after_boot()

    @on("Heartbeat")
    def on_heartbeat(self, **kw: Any) -> Any:
        return result16.Heartbeat(current_time=iso(self.registry.clock()))

    @on("StatusNotification")
    def on_status(self, connector_id: int, error_code: str, status: str, **kw: Any) -> Any:
        self._note_time(kw.get("timestamp"))
        at = kw.get("timestamp") or iso(self.registry.clock())
        if connector_id == 0:
            LOG.info("station %s: %s (%s)", self.station.id, status, error_code)
        else:
            evse = self._evse(connector_id)
            if evse is None:
                self.registry.alert(
                    "unknown_connector", f"StatusNotification for connector {connector_id}", self.station.id
                )
            else:
                self.registry.set_connector_status(self.station, evse.id, connector_id, status, error_code, at)
                if error_code != "NoError" or status == "Faulted":
                    self.registry.alert(
                        "connector_fault", f"connector {connector_id}: {status} {error_code}", self.station.id
                    )
        return result16.StatusNotification()

    @on("Authorize")
    def on_authorize(self, id_tag: str, **kw: Any) -> Any:
        return result16.Authorize(id_tag_info=self._tag_info(id_tag))

    @on("StartTransaction")
    async def on_start_transaction(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **kw: Any
    ) -> Any:
        self._note_time(timestamp)
        info = self._tag_info(id_tag)
        tx = self.registry.next_transaction_id()
        evse = self._evse(connector_id)
        if evse is None:
            self.registry.alert("unknown_connector", f"StartTransaction on connector {connector_id}", self.station.id)
        elif info["status"] == "Accepted":
            await self.registry.start_session(
                self.station, evse, connector_id, str(tx), id_tag, float(meter_start), self.registry.clock()
            )
        else:
            self.registry.alert(
                "token_refused", f"StartTransaction refused: id token is {info['status']}", self.station.id
            )
        return result16.StartTransaction(transaction_id=tx, id_tag_info=info)

    @after("StartTransaction")
    def after_start_transaction(self, **kw: Any) -> None:
        self._tx_started()

    @on("StopTransaction")
    async def on_stop_transaction(self, meter_stop: int, timestamp: str, transaction_id: int, **kw: Any) -> Any:
        self._note_time(timestamp)
        s = self.registry.sessions.get(str(transaction_id))
        if s is not None:
            evse = self.station.evses.get(s.evse_id)
            if evse is not None and kw.get("transaction_data"):
                self.registry.record_meter_values(self.station, evse, s.connector_id, s.id, kw["transaction_data"])
            await self.registry.stop_session(s, float(meter_stop), kw.get("reason") or "Local")
        id_tag = kw.get("id_tag")
        return result16.StopTransaction(id_tag_info=self._tag_info(id_tag) if id_tag else None)

    @on("MeterValues")
    def on_meter_values(self, connector_id: int, meter_value: list[dict[str, Any]], **kw: Any) -> Any:
        evse = self._evse(connector_id) if connector_id else None
        if evse is not None:
            if meter_value:
                self._note_time(meter_value[-1].get("timestamp"))
            tx = kw.get("transaction_id")
            self.registry.record_meter_values(
                self.station, evse, connector_id, str(tx) if tx is not None else None, meter_value
            )
        return result16.MeterValues()

    @on("DataTransfer")
    def on_data_transfer(self, vendor_id: str, **kw: Any) -> Any:
        return result16.DataTransfer(status="UnknownVendorId")

    @on("DiagnosticsStatusNotification")
    def on_diagnostics(self, **kw: Any) -> Any:
        return result16.DiagnosticsStatusNotification()

    @on("FirmwareStatusNotification")
    def on_firmware(self, **kw: Any) -> Any:
        return result16.FirmwareStatusNotification()


class Link201(StationLink, ChargePoint201):
    """OCPP 2.0.1 handlers (Provisioning, Authorization, Transactions, Meter values, Smart charging)."""

    def __init__(self, station: Station, connection: ServerConnection, csms: CentralSystem) -> None:
        ChargePoint201.__init__(self, station.id, connection, csms.config.ocpp.response_timeout_s, WIRE_LOG)
        self._init_link(station, connection, csms)

    def _token_info(self, id_token: dict[str, Any] | None) -> dict[str, Any]:
        status, tok = self.registry.authorize((id_token or {}).get("id_token"))
        info: dict[str, Any] = {"status": status}
        if tok is not None and tok.group_id:
            info["group_id_token"] = {"id_token": tok.group_id, "type": "Central"}
        if tok is not None and tok.expiry:
            info["cache_expiry_date_time"] = tok.expiry
        return info

    @on("BootNotification")
    def on_boot(self, charging_station: dict[str, Any], reason: str, **kw: Any) -> Any:
        cs = charging_station
        status = self._boot(cs.get("vendor_name"), cs.get("model"), cs.get("serial_number"), cs.get("firmware_version"))
        return result201.BootNotification(
            current_time=iso(self.registry.clock()), interval=self._interval(status), status=status
        )

    @after("BootNotification")
    def after_boot(self, **kw: Any) -> None:
        self._after_boot()

    @on("Heartbeat")
    def on_heartbeat(self, **kw: Any) -> Any:
        return result201.Heartbeat(current_time=iso(self.registry.clock()))

    @on("StatusNotification")
    def on_status(self, timestamp: str, connector_status: str, evse_id: int, connector_id: int, **kw: Any) -> Any:
        self._note_time(timestamp)
        if (
            self.registry.set_connector_status(self.station, evse_id, connector_id, connector_status, None, timestamp)
            is None
        ):
            self.registry.alert("unknown_evse", f"StatusNotification for EVSE {evse_id}", self.station.id)
        elif connector_status == "Faulted":
            self.registry.alert("connector_fault", f"EVSE {evse_id} connector {connector_id}: Faulted", self.station.id)
        return result201.StatusNotification()

    @on("Authorize")
    def on_authorize(self, id_token: dict[str, Any], **kw: Any) -> Any:
        return result201.Authorize(id_token_info=self._token_info(id_token))

    @on("TransactionEvent")
    async def on_transaction_event(
        self,
        event_type: str,
        timestamp: str,
        trigger_reason: str,
        seq_no: int,
        transaction_info: dict[str, Any],
        **kw: Any,
    ) -> Any:
        self._note_time(timestamp)
        tx = str(transaction_info["transaction_id"])
        id_token = kw.get("id_token")
        evse_info = kw.get("evse") or {}
        s = self.registry.sessions.get(tx)
        evse = self.station.evses.get(evse_info["id"]) if "id" in evse_info else None
        if evse is None and s is not None:
            evse = self.station.evses.get(s.evse_id)
        token_info = self._token_info(id_token) if id_token else None
        if event_type in ("Started", "Updated") and s is None:
            if evse is None:
                self.registry.alert(
                    "unknown_evse", f"TransactionEvent {event_type} without a known EVSE", self.station.id
                )
            elif token_info is None or token_info["status"] == "Accepted":
                meter_start = _energy_register(kw.get("meter_value"))
                s = await self.registry.start_session(
                    self.station,
                    evse,
                    int(evse_info.get("connector_id", 1)),
                    tx,
                    (id_token or {}).get("id_token"),
                    meter_start,
                    self.registry.clock(),
                )
                self._tx_started()
        elif s is not None and id_token and s.id_token is None and token_info and token_info["status"] == "Accepted":
            s.id_token = id_token.get("id_token")
            tok = self.registry.tokens.get(s.id_token)
            s.vehicle_id = tok.vehicle_id if tok else None
            if evse is not None:
                self.registry.apply_vehicle(s, evse)
            self.registry.resolve_needs(s)
            self.registry.update_session_id(s)
            self._tx_started()
        if token_info is not None and token_info["status"] != "Accepted":
            self.registry.alert(
                "token_refused", f"transaction {tx}: id token is {token_info['status']}", self.station.id
            )
        if evse is not None and kw.get("meter_value"):
            self.registry.record_meter_values(
                self.station, evse, int(evse_info.get("connector_id", 0)) or None, tx, kw["meter_value"]
            )
        if event_type == "Ended" and s is not None:
            reason = transaction_info.get("stopped_reason") or trigger_reason
            await self.registry.stop_session(s, _energy_register(kw.get("meter_value")) or s.meter_wh, reason)
        return result201.TransactionEvent(id_token_info=token_info)

    @on("MeterValues")
    def on_meter_values(self, evse_id: int, meter_value: list[dict[str, Any]], **kw: Any) -> Any:
        evse = self.station.evses.get(evse_id)
        if evse is not None:
            if meter_value:
                self._note_time(meter_value[-1].get("timestamp"))
            tx = evse.session.id if evse.session is not None else None
            self.registry.record_meter_values(self.station, evse, None, tx, meter_value)
        return result201.MeterValues()

    @on("NotifyEVChargingNeeds")
    def on_ev_charging_needs(self, evse_id: int, charging_needs: dict[str, Any], **kw: Any) -> Any:
        evse = self.station.evses.get(evse_id)
        if evse is None or evse.session is None:
            return result201.NotifyEVChargingNeeds(status="Rejected")
        ac = charging_needs.get("ac_charging_parameters") or {}
        dc = charging_needs.get("dc_charging_parameters") or {}
        dep = charging_needs.get("departure_time")
        energy = ac.get("energy_amount", dc.get("energy_amount"))
        max_kw = None
        if dc.get("ev_max_power"):
            max_kw = float(dc["ev_max_power"]) / 1000.0
        elif ac.get("ev_max_current"):
            max_kw = float(ac["ev_max_current"]) * evse.phases * self.station.voltage_v / 1000.0
        soc = dc.get("state_of_charge")
        capacity = dc.get("ev_energy_capacity")
        self.registry.set_ev_needs(
            evse.session,
            parse_time(dep, "departureTime") if dep else None,
            _float(energy),
            max_kw,
            soc / 100.0 if soc is not None else None,
            float(capacity) / 1000.0 if capacity else None,
        )
        return result201.NotifyEVChargingNeeds(status="Accepted")

    @after("NotifyEVChargingNeeds")
    def after_ev_charging_needs(self, **kw: Any) -> None:
        self.registry.emit("replan", "ev_charging_needs")

    @on("NotifyEVChargingSchedule")
    def on_ev_charging_schedule(
        self, time_base: str, evse_id: int, charging_schedule: dict[str, Any], **kw: Any
    ) -> Any:
        """K15/K17: the EV's own schedule within evfleet's profile (ISO 15118): kept in the EVSE's view."""
        evse = self.station.evses.get(evse_id)
        if evse is None or evse.session is None:
            return result201.NotifyEVChargingSchedule(status="Rejected")
        periods = charging_schedule.get("charging_schedule_period") or []
        evse.ev_schedule = {
            "time_base": time_base,
            "charging_rate_unit": charging_schedule.get("charging_rate_unit"),
            "periods": [{"start_period": p.get("start_period"), "limit": p.get("limit")} for p in periods][:48],
        }
        return result201.NotifyEVChargingSchedule(status="Accepted")

    @on("ReportChargingProfiles")
    def on_report_charging_profiles(
        self,
        request_id: int,
        charging_limit_source: str,
        evse_id: int,
        charging_profile: list[dict[str, Any]],
        **kw: Any,
    ) -> Any:
        """K09: the answer to GetChargingProfiles, in one or more reports: kept in the station's view."""
        reports = self.station.reported_profiles
        if reports.get("request_id") != request_id:
            reports.clear()
            reports.update({"request_id": request_id, "profiles": []})
        for p in charging_profile:
            reports["profiles"].append(
                {
                    "evse_id": evse_id,
                    "source": charging_limit_source,
                    "id": p.get("id"),
                    "stack_level": p.get("stack_level"),
                    "purpose": p.get("charging_profile_purpose"),
                    "kind": p.get("charging_profile_kind"),
                }
            )
        reports["complete"] = not kw.get("tbc", False)
        return result201.ReportChargingProfiles()

    @on("NotifyChargingLimit")
    def on_notify_charging_limit(self, charging_limit: dict[str, Any], **kw: Any) -> Any:
        """K11-K12: a limit set on the station by another source (EMS, SO, ...): an alert (evfleet's plan does
        not know it; the station enforces the lower of both)."""
        source = charging_limit.get("charging_limit_source")
        self.registry.alert(
            "external_limit",
            f"a charging limit from {source} is set on the station (EVSE {kw.get('evse_id', 'all')}); "
            "the station applies the lower of it and evfleet's profiles",
            self.station.id,
        )
        return result201.NotifyChargingLimit()

    @on("ClearedChargingLimit")
    def on_cleared_charging_limit(self, charging_limit_source: str, **kw: Any) -> Any:
        """K13: the external limit is gone."""
        self.registry.alert(
            "external_limit_cleared", f"the charging limit from {charging_limit_source} is cleared", self.station.id,
            level="info",
        )  # fmt: skip
        return result201.ClearedChargingLimit()

    @on("DataTransfer")
    def on_data_transfer(self, vendor_id: str, **kw: Any) -> Any:
        return result201.DataTransfer(status="UnknownVendorId")

    @on("NotifyEvent")
    def on_notify_event(self, **kw: Any) -> Any:
        return result201.NotifyEvent()

    @on("NotifyReport")
    def on_notify_report(self, **kw: Any) -> Any:
        return result201.NotifyReport()

    @on("SecurityEventNotification")
    def on_security_event(self, **kw: Any) -> Any:
        return result201.SecurityEventNotification()

    @on("FirmwareStatusNotification")
    def on_firmware(self, **kw: Any) -> Any:
        return result201.FirmwareStatusNotification()


def _energy_register(meter_value: list[dict[str, Any]] | None) -> float | None:
    """The last ``Energy.Active.Import.Register`` [Wh] in a 2.0.1 meter value list, or None."""
    found = None
    for mv in meter_value or []:
        for sv in mv.get("sampled_value") or []:
            if (
                sv.get("measurand") or "Energy.Active.Import.Register"
            ) == "Energy.Active.Import.Register" and not sv.get("phase"):
                uom = sv.get("unit_of_measure") or {}
                value = float(sv["value"]) * 10.0 ** (uom.get("multiplier") or 0)
                found = value * 1000.0 if uom.get("unit") == "kWh" else value
    return found


class CentralSystem:
    """The OCPP WebSocket server over ``registry``: :meth:`start` binds it, :meth:`stop` closes it."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.config = registry.config
        self.server: Server | None = None
        self.links: dict[str, StationLink] = {}
        self.refused = 0
        ocpp_messages.ASYNC_VALIDATION = False  # validate in the event loop: no thread hop per frame (faster)

    def ssl_context(self) -> ssl.SSLContext | None:
        """Security profile 2: TLS with the configured certificate and key."""
        o = self.config.ocpp
        if not o.tls_cert:
            return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(o.tls_cert, o.tls_key)
        return ctx

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0: a free port); return the port."""
        self.server = await serve(
            self._handler,
            host,
            port,
            subprotocols=["ocpp2.0.1", "ocpp1.6"],  # type: ignore[list-item]
            select_subprotocol=self._select_subprotocol,
            process_request=self._process_request,
            ssl=self.ssl_context(),
            max_size=self.config.ocpp.max_message_bytes,
            compression=None,  # no permessage-deflate: OCPP frames are small and compressing them cost ~10% CPU
            ping_interval=30,
            ping_timeout=30,
            close_timeout=5,
            logger=logging.getLogger("evfleet.operate.websockets"),
        )
        sock = next(iter(self.server.sockets))
        return int(sock.getsockname()[1])

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 10)
            self.server = None

    def _refuse(self, connection: ServerConnection, station_id: str | None, why: str) -> Any:
        self.refused += 1
        self.registry.alert("auth_refused", f"connection refused: {why}", station_id)
        response = connection.respond(HTTPStatus.UNAUTHORIZED, "Unauthorized\n")
        response.headers["WWW-Authenticate"] = 'Basic realm="evfleet", charset="UTF-8"'
        return response

    async def _process_request(self, connection: ServerConnection, request: Any) -> Any:
        match = _PATH.match(request.path)
        if match is None:
            return connection.respond(HTTPStatus.NOT_FOUND, "OCPP endpoint is /ocpp/{station_id}\n")
        sid = unquote(match.group(1))
        st = self.registry.stations.get(sid)
        if st is None:
            return self._refuse(connection, sid, "unknown station")
        creds = parse_basic_auth(request.headers.get("Authorization"))
        if creds is None:
            return self._refuse(connection, sid, "no HTTP Basic credentials")
        if creds[0] != sid:
            return self._refuse(connection, sid, "the Basic auth user is not the station id")
        ok = await asyncio.get_running_loop().run_in_executor(None, self.registry.check_station_password, sid, creds[1])
        if not ok:
            return self._refuse(connection, sid, "wrong password")
        connection.station_id = sid  # type: ignore[attr-defined]
        return None

    def _select_subprotocol(self, connection: ServerConnection, subprotocols: Any) -> Any:
        st = self.registry.stations.get(getattr(connection, "station_id", ""))
        want = f"ocpp{st.ocpp_version}" if st else None
        if want is None or want not in subprotocols:
            raise NegotiationError(f"station is registered for {want}; offered {list(subprotocols)}")
        return want

    async def _handler(self, connection: ServerConnection) -> None:
        sid = connection.station_id  # type: ignore[attr-defined]
        st = self.registry.stations.get(sid)
        if st is None:
            await connection.close(1008, "unknown station")
            return
        old = self.links.get(sid)
        if old is not None:  # a reconnect: the new connection replaces the old one
            with contextlib.suppress(Exception):
                await old.connection.close(1000, "replaced by a new connection")
        link_cls: Callable[..., StationLink] = Link16 if connection.subprotocol == "ocpp1.6" else Link201
        link = link_cls(st, connection, self)
        self.links[sid] = link
        st.link, st.online = link, True
        self.registry.emit("online", st)
        LOG.info("station %s connected (%s)", sid, connection.subprotocol)
        try:
            await link.start()
        except ConnectionClosed:
            pass
        finally:
            if self.links.get(sid) is link:
                del self.links[sid]
                st.link, st.online = None, False
                self.registry.emit("offline", st)
                LOG.info("station %s disconnected", sid)

    async def call(self, station_id: str, action: str, payload: dict[str, Any], timeout_s: float) -> tuple[str, Any]:
        """The operator's call: ``action`` with the camelCase ``payload`` to a connected station."""
        st = self.registry.stations.get(station_id)
        if st is None:
            raise OperatorCallError("not_found", f"no station {station_id!r}")
        link = self.links.get(station_id)
        if link is None:
            raise OperatorCallError("offline", f"station {station_id} is offline")
        return await link.raw_call(action, payload, timeout_s)
