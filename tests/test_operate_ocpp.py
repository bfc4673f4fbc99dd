"""The OCPP central system, message by message, with real ``ocpp`` library clients on 127.0.0.1 (1.6J and 2.0.1).

Covers: the Basic-auth handshake (security profile 1), BootNotification (Accepted / Pending / Rejected), Heartbeat,
StatusNotification, Authorize against the ID-token list (Accepted / Blocked / Expired / Invalid, group ids),
transactions (1.6 Start/StopTransaction, 2.0.1 TransactionEvent), MeterValues (power, energy, current per phase,
SoC), NotifyEVChargingNeeds, CallErrors for frames breaking the schema (the connection stays up), persistence.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from ocpp.v16 import call as c16
from ocpp.v201 import call as c201
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from evfleet.operate import db as T
from evfleet.operate.config import load_config
from evfleet.operate.db import OperateDB
from evfleet.operate.registry import Registry
from operate_helpers import PASSWORD, auth_header, client, csms_running, raw_exchange, run, station_body

NOW = lambda: datetime.now(UTC).isoformat()  # noqa: E731


def _boot16() -> c16.BootNotification:
    return c16.BootNotification(charge_point_vendor="ACME", charge_point_model="AC22", firmware_version="1.0")


def _boot201() -> c201.BootNotification:
    return c201.BootNotification(charging_station={"vendor_name": "ACME", "model": "AC22"}, reason="PowerUp")


async def _setup(reg: Registry) -> None:
    await reg.add_station(station_body("cp16", "1.6", n_evses=2))
    await reg.add_station(station_body("cp201", "2.0.1", n_evses=2))
    await reg.add_vehicle({"id": "bus-1", "model": "Tesla Model 3", "departure": "07:00", "target_soc": 0.9})
    await reg.add_token(
        {"id_token": "TOK-OK", "type": "ISO14443", "status": "Accepted", "group_id": "FLEET", "vehicle_id": "bus-1"}
    )
    await reg.add_token({"id_token": "TOK-BLOCKED", "status": "Blocked"})
    await reg.add_token({"id_token": "TOK-OLD", "status": "Accepted", "expiry": "2020-01-01T00:00:00Z"})


def test_unknown_station_or_wrong_password_is_refused_with_401(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="evfleet.operate")

    async def scenario():
        async with csms_running(tmp_path) as (reg, cs, port):
            await _setup(reg)
            for sid, password in (("nobody", PASSWORD), ("cp16", "wrong-password-123")):
                with pytest.raises(InvalidStatus) as info:
                    await connect(
                        f"ws://127.0.0.1:{port}/ocpp/{sid}",
                        subprotocols=["ocpp1.6"],
                        additional_headers=auth_header(sid, password),
                        open_timeout=5,
                    )
                assert info.value.response.status_code == 401
            with pytest.raises(InvalidStatus) as info:  # no credentials at all
                await connect(f"ws://127.0.0.1:{port}/ocpp/cp16", subprotocols=["ocpp1.6"], open_timeout=5)
            assert info.value.response.status_code == 401
            with pytest.raises(InvalidStatus) as info:  # a 1.6 station offering only 2.0.1
                await connect(
                    f"ws://127.0.0.1:{port}/ocpp/cp16",
                    subprotocols=["ocpp2.0.1"],
                    additional_headers=auth_header("cp16"),
                    open_timeout=5,
                )
            assert info.value.response.status_code == 400
            assert cs.refused == 3
            kinds = [a["kind"] for a in reg.alerts]
            assert kinds.count("auth_refused") == 3
            # the right password works
            async with client(port, "cp16") as cp:
                res = await cp.call(_boot16())
                assert res.status == "Accepted"

    run(scenario())
    text = caplog.text
    assert "unknown station" in text and "wrong password" in text
    assert "wrong-password-123" not in text and PASSWORD not in text


def test_boot_notification_accepted_pending_rejected_by_the_registry(tmp_path):
    async def scenario():
        async with csms_running(tmp_path, {"ocpp": {"heartbeat_interval_s": 120}}) as (reg, _cs, port):
            await reg.add_station(station_body("ok", "1.6"))
            await reg.add_station(station_body("wait", "2.0.1", registration="Pending"))
            await reg.add_station(station_body("no", "1.6", registration="Rejected"))
            async with client(port, "ok") as cp:
                res = await cp.call(_boot16())
                assert (res.status, res.interval) == ("Accepted", 120)
                datetime.fromisoformat(res.current_time.replace("Z", "+00:00"))
                hb = await cp.call(c16.Heartbeat())
                assert hb.current_time
            async with client(port, "wait", "2.0.1") as cp:
                res = await cp.call(_boot201())
                assert res.status == "Pending"
                # before an accepted boot any other message gets a SecurityError
                with pytest.raises(Exception) as info:
                    await cp.call(c201.Heartbeat(), suppress=False)
                assert "SecurityError" in type(info.value).__name__ or "Security" in str(info.value)
            async with client(port, "no") as cp:
                res = await cp.call(_boot16())
                assert res.status == "Rejected"
            st = reg.stations["ok"]
            assert (st.vendor, st.model, st.firmware) == ("ACME", "AC22", "1.0")
            reg.db.flush()
            rows = reg.db.read(sa.select(T.stations).where(T.stations.c.id == "ok"))
            assert rows[0]["boot_at"] and rows[0]["vendor"] == "ACME"

    run(scenario())


def test_authorize_against_the_id_token_list_16_and_201(tmp_path):
    async def scenario():
        async with csms_running(tmp_path) as (reg, _cs, port):
            await _setup(reg)
            async with client(port, "cp16") as cp:
                await cp.call(_boot16())
                res = await cp.call(c16.Authorize(id_tag="TOK-OK"))
                assert res.id_tag_info == {"status": "Accepted", "parent_id_tag": "FLEET"}
                for tag, status in (("TOK-BLOCKED", "Blocked"), ("TOK-OLD", "Expired"), ("NOPE", "Invalid")):
                    res = await cp.call(c16.Authorize(id_tag=tag))
                    assert res.id_tag_info["status"] == status, tag
            async with client(port, "cp201", "2.0.1") as cp:
                await cp.call(_boot201())
                res = await cp.call(c201.Authorize(id_token={"idToken": "TOK-OK", "type": "ISO14443"}))
                assert res.id_token_info["status"] == "Accepted"
                assert res.id_token_info["group_id_token"] == {"id_token": "FLEET", "type": "Central"}
                for tag, status in (("TOK-BLOCKED", "Blocked"), ("TOK-OLD", "Expired"), ("NOPE", "Invalid")):
                    res = await cp.call(c201.Authorize(id_token={"idToken": tag, "type": "ISO14443"}))
                    assert res.id_token_info["status"] == status, tag

    run(scenario())


def _mv16(power_w: float, energy_wh: float, soc: float | None = None) -> list[dict]:
    values = [
        {"value": str(power_w), "measurand": "Power.Active.Import", "unit": "W", "context": "Sample.Periodic"},
        {"value": str(energy_wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
    ]
    values += [{"value": "16.0", "measurand": "Current.Import", "unit": "A", "phase": p} for p in ("L1", "L2", "L3")]
    if soc is not None:
        values.append({"value": str(soc), "measurand": "SoC", "unit": "Percent"})
    return [{"timestamp": NOW(), "sampledValue": values}]


def test_transaction_and_meter_values_16(tmp_path):
    async def scenario():
        async with csms_running(tmp_path) as (reg, _cs, port):
            await _setup(reg)
            async with client(port, "cp16") as cp:
                await cp.call(_boot16())
                await cp.call(
                    c16.StatusNotification(connector_id=1, error_code="NoError", status="Preparing", timestamp=NOW())
                )
                assert reg.stations["cp16"].evses[1].connectors[1].status == "Preparing"
                res = await cp.call(
                    c16.StartTransaction(connector_id=1, id_tag="TOK-OK", meter_start=1000, timestamp=NOW())
                )
                assert res.id_tag_info["status"] == "Accepted"
                tx = res.transaction_id
                s = reg.sessions[str(tx)]
                assert s.vehicle_id == "bus-1" and s.battery_kwh == pytest.approx(57.5)
                assert s.needs_source == "schedule" and s.target_soc == 0.9  # the vehicle's own departure/target
                await cp.call(c16.MeterValues(connector_id=1, transaction_id=tx, meter_value=_mv16(11000, 3000)))
                evse = reg.stations["cp16"].evses[1]
                assert evse.measured_kw == pytest.approx(11.0)
                assert evse.current_a == {"L1": 16.0, "L2": 16.0, "L3": 16.0}
                assert s.energy_wh == pytest.approx(2000.0)
                assert s.soc_source == "estimate"
                assert s.soc == pytest.approx(0.3 + 0.92 * 2.0 / 57.5)
                await cp.call(c16.MeterValues(connector_id=1, transaction_id=tx, meter_value=_mv16(11000, 4000, 55)))
                assert s.soc == pytest.approx(0.55) and s.soc_source == "ev"
                # a second start on the other connector with a blocked token: refused, no session
                res2 = await cp.call(
                    c16.StartTransaction(connector_id=2, id_tag="TOK-BLOCKED", meter_start=0, timestamp=NOW())
                )
                assert res2.id_tag_info["status"] == "Blocked" and str(res2.transaction_id) not in reg.sessions
                stop = await cp.call(
                    c16.StopTransaction(meter_stop=5000, timestamp=NOW(), transaction_id=tx, id_tag="TOK-OK")
                )
                assert stop.id_tag_info["status"] == "Accepted"
                assert str(tx) not in reg.sessions and evse.session is None
            reg.db.flush()
            row = reg.db.read(sa.select(T.sessions).where(T.sessions.c.id == str(tx)))[0]
            assert row["state"] == "ended" and row["energy_wh"] == pytest.approx(4000.0)
            assert row["meter_stop_wh"] == 5000
            mv = reg.db.read(sa.select(T.meter_values).where(T.meter_values.c.transaction_id == str(tx)))
            assert {r["measurand"] for r in mv} == {
                "Power.Active.Import",
                "Energy.Active.Import.Register",
                "Current.Import",
                "SoC",
            }
            assert len(mv) == 5 + 6

    run(scenario())


def _mv201(power_w: float, energy_wh: float, soc: float | None = None) -> list[dict]:
    values = [
        {"value": power_w, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W"}},
        {"value": energy_wh / 1000, "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "kWh"}},
    ]
    if soc is not None:
        values.append({"value": soc, "measurand": "SoC", "unitOfMeasure": {"unit": "Percent"}})
    return [{"timestamp": NOW(), "sampledValue": values}]


def test_transaction_event_and_ev_charging_needs_201(tmp_path):
    async def scenario():
        async with csms_running(tmp_path) as (reg, _cs, port):
            await _setup(reg)
            async with client(port, "cp201", "2.0.1") as cp:
                await cp.call(_boot201())
                await cp.call(
                    c201.StatusNotification(timestamp=NOW(), connector_status="Occupied", evse_id=2, connector_id=2)
                )
                assert reg.stations["cp201"].evses[2].connectors[2].status == "Occupied"
                # cable first, token later (E02): the session exists from Started, the vehicle from the token
                base = {"timestamp": NOW(), "seq_no": 0, "transaction_info": {"transactionId": "T-1"}}
                res = await cp.call(
                    c201.TransactionEvent(
                        event_type="Started",
                        trigger_reason="CablePluggedIn",
                        evse={"id": 2, "connectorId": 2},
                        meter_value=_mv201(0, 10000),
                        **base,
                    )
                )
                assert res.id_token_info is None
                s = reg.sessions["T-1"]
                assert s.vehicle_id is None and s.meter_start_wh == pytest.approx(10000)
                res = await cp.call(
                    c201.TransactionEvent(
                        event_type="Updated",
                        trigger_reason="Authorized",
                        id_token={"idToken": "TOK-OK", "type": "ISO14443"},
                        **{**base, "seq_no": 1},
                    )
                )
                assert res.id_token_info["status"] == "Accepted"
                assert s.vehicle_id == "bus-1" and s.needs_source == "schedule"
                dep = (datetime.now(UTC) + timedelta(hours=5)).replace(microsecond=0)
                res = await cp.call(
                    c201.NotifyEVChargingNeeds(
                        evse_id=2,
                        charging_needs={
                            "requestedEnergyTransfer": "DC",
                            "departureTime": dep.isoformat().replace("+00:00", "Z"),
                            "dcChargingParameters": {
                                "evMaxCurrent": 125,
                                "evMaxVoltage": 400,
                                "energyAmount": 20000,
                                "evMaxPower": 11000,
                                "stateOfCharge": 40,
                                "evEnergyCapacity": 60000,
                            },
                        },
                    )
                )
                assert res.status == "Accepted"
                assert s.needs_source == "iso15118" and s.departure == dep
                assert s.battery_kwh == 60 and s.soc == pytest.approx(0.4)
                assert s.target_soc == pytest.approx(0.4 + 20 / 60)
                assert s.max_charge_kw == pytest.approx(11.0)
                await cp.call(c201.MeterValues(evse_id=2, meter_value=_mv201(7000, 12000, 45)))
                evse = reg.stations["cp201"].evses[2]
                assert evse.measured_kw == pytest.approx(7.0) and s.soc == pytest.approx(0.45)
                assert s.energy_wh == pytest.approx(2000)
                await cp.call(
                    c201.TransactionEvent(
                        event_type="Ended",
                        trigger_reason="EVCommunicationLost",
                        meter_value=_mv201(0, 13000),
                        **{
                            **base,
                            "seq_no": 2,
                            "transaction_info": {"transactionId": "T-1", "stoppedReason": "EVDisconnected"},
                        },
                    )
                )
                assert "T-1" not in reg.sessions
                # a notify for an EVSE without a transaction is rejected
                res = await cp.call(
                    c201.NotifyEVChargingNeeds(evse_id=1, charging_needs={"requestedEnergyTransfer": "DC"})
                )
                assert res.status == "Rejected"
            reg.db.flush()
            row = reg.db.read(sa.select(T.sessions).where(T.sessions.c.id == "T-1"))[0]
            assert row["state"] == "ended" and row["stop_reason"] == "EVDisconnected"
            assert row["needs_source"] == "iso15118" and row["energy_wh"] == pytest.approx(3000)

    run(scenario())


@pytest.mark.parametrize(
    ("version", "frame", "code"),
    [
        ("1.6", "this is not json", "FormationViolation"),
        ("2.0.1", "this is not json", "FormatViolation"),
        ("1.6", '[2,"a1","BootNotification",{"chargePointVendor":"x"}]', "ProtocolError"),
        ("1.6", '[2,"a2","Heartbeat",{"extra":1}]', "FormationViolation"),
        ("2.0.1", '[2,"a2","Heartbeat",{"extra":1}]', "FormatViolation"),
        (
            "1.6",
            '[2,"a3","StatusNotification",{"connectorId":"one","errorCode":"NoError","status":"Available"}]',
            "TypeConstraintViolation",
        ),
        ("2.0.1", '[2,"a3","MeterValues",{"evseId":"x","meterValue":[]}]', "TypeConstraintViolation"),
        ("1.6", '[2,"a4","NoSuchAction",{}]', "NotSupported"),
        ("1.6", '[2,"a5","GetConfiguration",{}]', "NotImplemented"),
        ("2.0.1", '[2,"a5","GetVariables",{"getVariableData":[]}]', "NotImplemented"),
        ("1.6", '[7,"a6","Heartbeat",{}]', "PropertyConstraintViolation"),
        ("1.6", '{"not":"a list"}', "ProtocolError"),
        ("1.6", '[2,"a7","Heartbeat",[]]', "TypeConstraintViolation"),
    ],
)
def test_a_frame_breaking_the_schema_gets_the_right_call_error_and_the_connection_stays_up(
    tmp_path, version, frame, code
):
    async def scenario():
        async with csms_running(tmp_path) as (reg, _cs, port):
            await _setup(reg)
            sid = "cp16" if version == "1.6" else "cp201"
            ws = await connect(
                f"ws://127.0.0.1:{port}/ocpp/{sid}",
                subprotocols=[f"ocpp{version}"],
                additional_headers=auth_header(sid),
                open_timeout=5,
            )
            try:
                boot = (
                    {"chargePointVendor": "ACME", "chargePointModel": "X"}
                    if version == "1.6"
                    else {"chargingStation": {"vendorName": "ACME", "model": "X"}, "reason": "PowerUp"}
                )
                ok = await raw_exchange(ws, json.dumps([2, "b0", "BootNotification", boot]))
                assert ok[0] == 3 and ok[2]["status"] == "Accepted"
                err = await raw_exchange(ws, frame)
                assert err[0] == 4 and err[2] == code, err
                expected_id = json.loads(frame)[1] if frame.startswith("[") else "-1"
                assert err[1] == expected_id
                ok = await raw_exchange(ws, '[2,"h1","Heartbeat",{}]')  # still served
                assert ok[:2] == [3, "h1"] and "currentTime" in ok[2]
            finally:
                await ws.close()
            assert any(a["kind"] == "bad_frame" for a in reg.alerts)

    run(scenario())


def test_everything_received_survives_a_restart(tmp_path):
    """Stations, tokens, vehicles, the active session and its energy come back from the store."""

    async def first():
        async with csms_running(tmp_path) as (reg, _cs, port):
            await _setup(reg)
            async with client(port, "cp16") as cp:
                await cp.call(_boot16())
                res = await cp.call(
                    c16.StartTransaction(connector_id=2, id_tag="TOK-OK", meter_start=500, timestamp=NOW())
                )
                await cp.call(
                    c16.MeterValues(connector_id=2, transaction_id=res.transaction_id, meter_value=_mv16(7000, 2500))
                )
                reg.flush_sessions()
            return res.transaction_id

    tx = run(first())

    async def second():
        cfg = load_config(data={})
        db = OperateDB(tmp_path / "operate.db")
        try:
            reg = Registry(cfg, db)
            reg.load()
            assert set(reg.stations) == {"cp16", "cp201"}
            assert reg.stations["cp16"].boot_at is not None
            assert set(reg.tokens) == {"TOK-OK", "TOK-BLOCKED", "TOK-OLD"}
            assert reg.vehicles["bus-1"].model == "Tesla Model 3"
            s = reg.sessions[str(tx)]
            assert reg.stations["cp16"].evses[2].session is s
            assert s.energy_wh == pytest.approx(2000) and s.vehicle_id == "bus-1"
            assert reg.next_transaction_id() == tx + 1  # transaction ids never repeat
            assert reg.check_station_password("cp16", PASSWORD)
            assert not reg.check_station_password("cp16", "nope-nope-nope")
        finally:
            db.close()

    run(second())
