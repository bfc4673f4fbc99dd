"""OCPP 2.0.1 smart-charging functional requirements (block K) and their 1.6 counterparts, message by message,
against the simulated depot on 127.0.0.1. The requirement each assertion checks is named next to it.

K01 SetChargingProfile; K08 GetCompositeSchedule; K09 GetChargingProfiles / ReportChargingProfiles; K10
ClearChargingProfile; K11-K13 external charging limits (NotifyChargingLimit, ClearedChargingLimit); K15 ISO 15118
charging needs -> profile, NotifyEVChargingSchedule; K16 renegotiation by the CSMS; K17 renegotiation by the EV.
1.6: SetChargingProfile (TxProfile with transactionId, ChargePointMaxProfile on connector 0), GetCompositeSchedule,
ClearChargingProfile. Operator calls go through the same path as ``POST /api/v1/stations/{id}/ocpp/{Action}``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from ocpp.v201 import call as c201

from evfleet.operate.csms import OperatorCallError
from evfleet.operate.depot_sim import SimDepot, SimEV
from operate_helpers import register_sim, run, server_running, until

CFG = {
    "site": {"import_limit_kw": 60.0, "base_load_kw": 5.0, "base_load_max_kw": 10.0},
    "control": {"interval_s": 3600, "min_replan_gap_s": 0.05, "profile_timeout_s": 5.0},
}


def _ev(i: int) -> SimEV:
    return SimEV(f"EV{i}", f"TOK-EV{i}", 60.0, 0.2, 1.0, 22.0, 10**9, 0.9)


async def _start(srv, version: str, iso15118: bool = False) -> tuple[SimDepot, asyncio.Task]:
    depot = SimDepot(None, 1, f"ws://127.0.0.1:{srv.ports.ocpp}/ocpp", version=version, meter_interval_s=0.3,
                     tick_s=0.1, iso15118=iso15118, speed=60)  # fmt: skip
    await register_sim(srv.registry, depot)
    for i in range(2):
        await srv.registry.add_token({"id_token": f"TOK-EV{i}", "status": "Accepted"})
    await depot.start()
    runner = asyncio.create_task(depot.run(120))
    await depot.wait_booted(30)
    return depot, runner


async def _stop(depot: SimDepot, runner: asyncio.Task) -> None:
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    await depot.stop()


def test_k01_k08_k09_k10_201(tmp_path):
    async def scenario():
        async with server_running(tmp_path, CFG) as srv:
            depot, runner = await _start(srv, "2.0.1")
            try:
                st = depot.stations[0]
                cp = lambda: st.cp  # noqa: E731
                await until(lambda: st.station_max_kw is not None)
                # K01: a ChargingStationMaxProfile only on evseId 0, and the fail-safe cap within the room
                assert (0, 1) in cp().profiles
                assert cp().profiles[(0, 1)]["charging_profile_purpose"] == "ChargingStationMaxProfile"
                assert st.station_max_kw <= 60 - 10 + 1e-6
                depot.plug(st, st.connectors[0], _ev(0))
                await until(lambda: st.connectors[0].tx_profile_kw is not None)
                tx = st.connectors[0].tx_id
                prof = cp().profiles[(1, 1001)]
                # K01: a TxProfile names its transaction; it is set on the EVSE of that transaction
                assert prof["charging_profile_purpose"] == "TxProfile" and prof["transaction_id"] == tx
                # K01: in the station's rate unit (W here), with its number of phases
                period = prof["charging_schedule"][0]["charging_schedule_period"][0]
                assert prof["charging_schedule"][0]["charging_rate_unit"] == "W" and period["number_phases"] == 3
                # K16: the CSMS renegotiates with a new profile of the same id (K01: it replaces the old one)
                n = st.profiles_received
                await srv.controller.cycle("test")
                assert st.profiles_received > n and sum(1 for k in cp().profiles if k[0] == 1) == 1
                # K08: the composite schedule the station applies is evfleet's setpoint (min with the station cap)
                kind, res = await srv.csms.call(st.id, "GetCompositeSchedule", {"duration": 3600, "evseId": 1}, 10)
                assert kind == "CallResult" and res["status"] == "Accepted"
                limit_w = res["schedule"]["chargingSchedulePeriod"][0]["limit"]
                evse = srv.registry.stations[st.id].evses[1]
                assert limit_w == pytest.approx(min(evse.setpoint_kw, st.station_max_kw) * 1000.0)
                # K09: GetChargingProfiles is answered Accepted, the profiles come in ReportChargingProfiles
                kind, res = await srv.csms.call(
                    st.id, "GetChargingProfiles", {"requestId": 7, "chargingProfile": {}}, 10
                )
                assert kind == "CallResult" and res["status"] == "Accepted"
                reg_st = srv.registry.stations[st.id]
                await until(lambda: reg_st.reported_profiles.get("complete"))
                rep = reg_st.reported_profiles
                assert rep["request_id"] == 7
                assert {(p["evse_id"], p["id"], p["purpose"]) for p in rep["profiles"]} == {
                    (0, 1, "ChargingStationMaxProfile"),
                    (1, 1001, "TxProfile"),
                }
                # K10: ClearChargingProfile; the station then reports none (K09: NoProfiles)
                kind, res = await srv.csms.call(st.id, "ClearChargingProfile", {"chargingProfileId": 1001}, 10)
                assert kind == "CallResult" and res["status"] == "Accepted"
                kind, res = await srv.csms.call(
                    st.id, "GetChargingProfiles", {"requestId": 8, "chargingProfile": {}}, 10
                )
                assert res["status"] == "NoProfiles"
                # a payload breaking the schema is refused before it reaches the station (400 in the API)
                with pytest.raises(OperatorCallError) as info:
                    await srv.csms.call(st.id, "GetCompositeSchedule", {"duration": "long"}, 10)
                assert info.value.kind == "schema"
            finally:
                await _stop(depot, runner)

    run(scenario(), timeout=120)


def test_k11_k13_k15_k17_201(tmp_path):
    async def scenario():
        async with server_running(tmp_path, CFG) as srv:
            depot, runner = await _start(srv, "2.0.1", iso15118=True)
            try:
                st = depot.stations[0]
                depot.plug(st, st.connectors[0], _ev(0))
                reg = srv.registry
                await until(lambda: any(s.needs_source == "iso15118" for s in reg.sessions.values()))
                # K15: after NotifyEVChargingNeeds the CSMS sends a TxProfile for the transaction
                await until(lambda: st.connectors[0].tx_profile_kw is not None)
                s = next(iter(reg.sessions.values()))
                # K17: the EV renegotiates (new needs): accepted, re-planned, a new profile follows
                n = st.profiles_received
                dep = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
                res = await st.cp.call(
                    c201.NotifyEVChargingNeeds(
                        evse_id=1,
                        charging_needs={
                            "requestedEnergyTransfer": "AC_three_phase",
                            "departureTime": dep.isoformat().replace("+00:00", "Z"),
                            "acChargingParameters": {
                                "energyAmount": 30000,
                                "evMinCurrent": 6,
                                "evMaxCurrent": 16,
                                "evMaxVoltage": 400,
                            },
                        },
                    )
                )
                assert res.status == "Accepted"
                await until(lambda: st.profiles_received > n)
                assert s.departure == dep and s.max_charge_kw == pytest.approx(16 * 3 * 230 / 1000)
                assert srv.controller.plan.setpoints_kw[(st.id, 1)] <= s.max_charge_kw + 1e-9
                # K15: the EV's own schedule (NotifyEVChargingSchedule) is accepted and kept
                res = await st.cp.call(
                    c201.NotifyEVChargingSchedule(
                        time_base=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                        evse_id=1,
                        charging_schedule={
                            "id": 1,
                            "chargingRateUnit": "W",
                            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 9000.0}],
                        },
                    )
                )
                assert res.status == "Accepted"
                assert reg.stations[st.id].evses[1].view(180)["ev_schedule"]["periods"][0]["limit"] == 9000.0
                res = await st.cp.call(
                    c201.NotifyEVChargingSchedule(
                        time_base="2026-01-01T00:00:00Z",
                        evse_id=2,
                        charging_schedule={
                            "id": 1,
                            "chargingRateUnit": "W",
                            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 1000.0}],
                        },
                    )
                )
                assert res.status == "Rejected"  # no transaction on EVSE 2
                # K12/K13: an external limit set on the station and its clearing are reported (alerts)
                await st.cp.call(c201.NotifyChargingLimit(charging_limit={"chargingLimitSource": "SO"}, evse_id=1))
                await st.cp.call(c201.ClearedChargingLimit(charging_limit_source="SO", evse_id=1))
                kinds = [a["kind"] for a in reg.alerts]
                assert "external_limit" in kinds and "external_limit_cleared" in kinds
            finally:
                await _stop(depot, runner)

    run(scenario(), timeout=120)


def test_16_smart_charging_counterparts(tmp_path):
    async def scenario():
        async with server_running(tmp_path, CFG) as srv:
            depot, runner = await _start(srv, "1.6")
            try:
                st = depot.stations[0]
                await until(lambda: st.station_max_kw is not None)  # ChargePointMaxProfile on connector 0
                depot.plug(st, st.connectors[1], _ev(0))
                await until(lambda: st.connectors[1].tx_profile_kw is not None)
                evse = srv.registry.stations[st.id].evses[2]
                # GetCompositeSchedule (1.6 smart charging): what the connector applies
                kind, res = await srv.csms.call(st.id, "GetCompositeSchedule", {"connectorId": 2, "duration": 600}, 10)
                assert kind == "CallResult" and res["status"] == "Accepted" and res["connectorId"] == 2
                limit_w = float(res["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"])
                assert limit_w == pytest.approx(min(evse.setpoint_kw, st.station_max_kw) * 1000.0)
                kind, res = await srv.csms.call(st.id, "GetCompositeSchedule", {"connectorId": 9, "duration": 60}, 10)
                assert res["status"] == "Rejected"  # an unknown connector
                kind, res = await srv.csms.call(st.id, "ClearChargingProfile", {"id": 1002}, 10)
                assert kind == "CallResult" and res["status"] == "Accepted"
            finally:
                await _stop(depot, runner)

    run(scenario(), timeout=120)
