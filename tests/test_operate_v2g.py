"""V2G setpoints: negative TxProfile limits where the vehicle (catalogue), the EVSE (declared bidirectional) and the
protocol (OCPP 2.0.1) allow; clamped at 0 everywhere else (OCPP 1.6, charge-only EVSEs, vehicles without V2G)."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as hs

from evfleet.operate.control import limit_in_unit, tx_profile_payload
from evfleet.operate.depot_sim import SimDepot, SimEV
from evfleet.operate.planning import enforce_limits
from operate_helpers import csms_running, run, server_running, station_body, until

V2G_MODEL = "Renault 5 E-Tech"  # catalogue: V2G, 11 kW AC discharge
PLAIN_MODEL = "Tesla Model 3"  # catalogue: no V2G


class AskDischarge:
    """A stand-in online strategy asking every vehicle for ``kw`` (negative: discharge); the control loop's job is
    to keep what the hardware and the protocol allow."""

    name = "ask_discharge"

    def __init__(self, kw: float) -> None:
        self.kw = kw
        self.seen_v2g: list[bool] = []

    def first_step(self, problem: Any) -> np.ndarray:
        self.seen_v2g.append(bool(problem.v2g))
        return np.full(problem.n_vehicles, self.kw)


@settings(max_examples=200, deadline=None)
@given(
    raw=hs.lists(hs.floats(-50, 50), min_size=1, max_size=12),
    dis=hs.lists(hs.floats(0, 30), min_size=12, max_size=12),
    site_room=hs.floats(0, 200),
    export_room=hs.floats(0, 100),
)
def test_limits_with_discharge(raw, dis, site_room, export_room):
    n = len(raw)
    p_raw = np.array(raw)
    max_dis = np.array(dis[:n])
    evse_max = np.full(n, 22.0)
    station_of = np.arange(n) % 3
    station_room = np.array([30.0, 40.0, 50.0])
    p = enforce_limits(p_raw, evse_max, station_of, station_room, site_room, max_dis, export_room)
    assert np.all(p >= -max_dis - 1e-9) and np.all(p <= evse_max + 1e-9)
    charge = np.maximum(p, 0)
    assert charge.sum() <= site_room + 1e-6  # charging fits without counting on any discharge
    assert np.all(np.bincount(station_of, weights=charge, minlength=3) <= station_room + 1e-6)
    assert -np.minimum(p, 0).sum() <= export_room + charge.sum() + 1e-6  # the site never exports above its room
    assert np.all(np.sign(p) * np.sign(p_raw) >= 0)  # a cut never turns a charge into a discharge or back
    # without discharge capabilities nothing is negative
    assert np.all(enforce_limits(p_raw, evse_max, station_of, station_room, site_room) >= 0)


def test_only_a_v2g_vehicle_on_a_bidirectional_2_0_1_evse_may_discharge(tmp_path):
    async def scenario():
        async with csms_running(tmp_path) as (reg, _cs, _port):
            await reg.add_station(station_body("bidi201", "2.0.1", n_evses=1, bidirectional=True))
            await reg.add_station(station_body("plain201", "2.0.1", n_evses=1))
            await reg.add_station(station_body("bidi16", "1.6", n_evses=1, bidirectional=True))
            await reg.add_vehicle({"id": "r5", "model": V2G_MODEL})
            await reg.add_vehicle({"id": "m3", "model": PLAIN_MODEL})
            await reg.add_token({"id_token": "T-R5", "status": "Accepted", "vehicle_id": "r5"})
            await reg.add_token({"id_token": "T-M3", "status": "Accepted", "vehicle_id": "m3"})
            now = reg.clock()
            cases = [("bidi201", "T-R5", 11.0), ("plain201", "T-R5", 0.0), ("bidi16", "T-R5", 0.0)]
            out = {}
            for k, (sid, tok, _want) in enumerate(cases):
                st = reg.stations[sid]
                s = await reg.start_session(st, st.evses[1], 1, str(100 + k), tok, 0.0, now)
                out[sid] = s.max_discharge_kw
            assert out == {sid: want for sid, _tok, want in cases}
            assert reg.stations["bidi201"].view(180)["evses"][0]["bidirectional"] is True
            # the wire: 2.0.1 negative limit on a bidirectional EVSE, 0 elsewhere (1.6 has no discharge)
            pay = tx_profile_payload(reg.stations["bidi201"], reg.stations["bidi201"].evses[1], -7.5)
            assert pay["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"][0]["limit"] == -7500.0
            pay = tx_profile_payload(reg.stations["bidi16"], reg.stations["bidi16"].evses[1], -7.5)
            assert pay["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 0.0
            assert limit_in_unit(-7.5, "A", 3, 230.0, signed=True) == -10.8  # 7,500 W / (3 x 230 V), towards 0
        # a restart keeps the declaration
        async with csms_running(tmp_path) as (reg, _cs, _port):
            assert reg.stations["bidi201"].evses[1].bidirectional is True
            assert reg.stations["plain201"].evses[1].bidirectional is False

    run(scenario())


def test_the_loop_discharges_v2g_vehicles_on_bidirectional_stations_only(tmp_path):
    cfg = {
        "site": {"import_limit_kw": 100, "base_load_kw": 12, "base_load_max_kw": 20, "export_limit_kw": 0},
        "control": {"interval_s": 3600, "min_replan_gap_s": 0.05},
    }

    async def scenario():
        async with server_running(tmp_path, cfg) as srv:
            reg = srv.registry
            depot = SimDepot(
                None, 2, f"ws://127.0.0.1:{srv.ports.ocpp}/ocpp", version="2.0.1", meter_interval_s=0.3, tick_s=0.1,
                bidirectional=True, iso15118=False,
            )  # fmt: skip
            bidi, plain = depot.stations
            plain.bidirectional = False
            for body in depot.bodies()["stations"]:
                await reg.add_station(body)
            for i, model in enumerate([V2G_MODEL, V2G_MODEL, V2G_MODEL, PLAIN_MODEL]):
                await reg.add_vehicle({"id": f"V{i}", "model": model})
                await reg.add_token({"id_token": f"TOK-V{i}", "status": "Accepted", "vehicle_id": f"V{i}"})
            ask = AskDischarge(-8.0)
            srv.controller.strategy = ask
            await depot.start()
            runner = asyncio.create_task(depot.run(60))
            try:
                await depot.wait_booted(30)
                slots = [(bidi, bidi.connectors[0]), (bidi, bidi.connectors[1]), (plain, plain.connectors[0]),
                         (plain, plain.connectors[1])]  # fmt: skip
                models_v2g = [True, True, True, False]
                for i, (st, c) in enumerate(slots):
                    ev = SimEV(f"V{i}", f"TOK-V{i}", 52.0, 0.7, 1.0, 11.0, 10**9, 0.8, 0.9,
                               max_discharge_kw=11.0 if models_v2g[i] else 0.0)  # fmt: skip
                    depot.plug(st, c, ev)
                await until(lambda: all(c.tx_profile_kw is not None for _st, c in slots), 30)
                await until(lambda: len(reg.sessions) == 4 and all(s.vehicle_id for s in reg.sessions.values()))
                await srv.controller.cycle("test")
                await until(lambda: all(c.tx_profile_kw is not None for _st, c in slots), 30)
                # bidirectional 2.0.1 station, V2G vehicles: discharging, within the export room (base load 12 kW)
                assert bidi.connectors[0].tx_profile_kw < 0 and bidi.connectors[1].tx_profile_kw < 0
                assert -(bidi.connectors[0].tx_profile_kw + bidi.connectors[1].tx_profile_kw) <= 12 + 1e-6
                # charge-only station: clamped at 0, although the vehicle could and the strategy asked
                assert plain.connectors[0].tx_profile_kw == 0.0 and plain.connectors[1].tx_profile_kw == 0.0
                assert ask.seen_v2g[-1] is True
                # the station feeds back; evfleet measures a negative power (Power.Active.Export)
                await until(lambda: (reg.stations[bidi.id].evses[1].measured_kw or 0) < -1, 30)
                assert bidi.connectors[0].export_wh > 0 and plain.connectors[0].export_wh == 0
                setpoints = {
                    (s["station_id"], s["evse_id"]): s["setpoint_kw"] for s in srv.controller.plan.view()["setpoints"]
                }
                assert setpoints[(bidi.id, 1)] < 0 and setpoints[(plain.id, 1)] == 0
            finally:
                runner.cancel()
                await asyncio.gather(runner, return_exceptions=True)
                await depot.stop()

    run(scenario(), timeout=120)
