"""The control loop and the fail-safe profiles against a simulated depot on 127.0.0.1 (OCPP 1.6J and 2.0.1).

What is checked: the default profile at boot (ChargePointMaxProfile / ChargingStationMaxProfile) caps every station
at its safe share and the shares fit in the site's room; the TxProfiles of a cycle respect the site limit, each
station's and each EVSE's limit (K01/K08-K10 and 1.6 smart charging: SetChargingProfile with the transaction, in W
or A, with the number of phases); the stations then really draw no more; a rejected profile or a silent station is
marked, counted at its last measured power and the others re-planned; the sizing functions.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from evfleet.operate.config import load_config
from evfleet.operate.control import default_profile_payload, limit_in_unit, tx_profile_payload
from evfleet.operate.depot_sim import SimDepot, SimEV
from evfleet.operate.planning import enforce_limits, safe_shares_kw
from evfleet.operate.registry import Evse, Session, Station
from operate_helpers import register_sim, run, server_running, until

SITE = {"import_limit_kw": 60.0, "base_load_kw": 5.0, "base_load_max_kw": 10.0}
CONTROL = {"interval_s": 3600, "min_replan_gap_s": 0.05, "profile_timeout_s": 2.0}
# departures 10 h after plug-in, not at the next 07:00 local: what a test checks must not depend on the hour it runs;
# the near departure (the default 07:00 at 04:42 local, where the plan once left 19 kW unused) has its own case
DWELL = {"departure": None, "dwell_h": 10.0}


def _ev(i: int, max_kw: float = 22.0) -> SimEV:
    return SimEV(f"EV{i}", f"TOK-EV{i}", 60.0, 0.2, 1.0, max_kw, 10**9, 0.9)


def _plug_all(depot: SimDepot) -> None:
    k = 0
    for st in depot.stations:
        for c in st.connectors:
            depot.plug(st, c, _ev(k))
            k += 1


async def _depot(srv, version: str, n: int = 3, meter_s: float = 0.3) -> SimDepot:
    depot = SimDepot(
        None,
        n,
        f"ws://127.0.0.1:{srv.ports.ocpp}/ocpp",
        version=version,
        speed=60,
        meter_interval_s=meter_s,
        tick_s=0.1,
    )
    await register_sim(srv.registry, depot)
    for i in range(n * 2):
        await srv.registry.add_token({"id_token": f"TOK-EV{i}", "status": "Accepted"})
    return depot


def _clock_from(local_hh_mm: str):
    """A clock running from today's ``local_hh_mm`` (site time) on, at the wall clock's pace."""
    tz = ZoneInfo("Africa/Casablanca")
    h, m = map(int, local_hh_mm.split(":"))
    start = datetime.now(UTC)
    at = start.astimezone(tz).replace(hour=h, minute=m, second=0, microsecond=0).astimezone(UTC)
    return lambda: at + (datetime.now(UTC) - start)


@pytest.mark.parametrize(
    ("version", "defaults", "local_time"),
    [
        ("1.6", DWELL, None),
        ("2.0.1", DWELL, None),
        # the default departure (the next 07:00 local) 2.3 h away: the plan failed here from 04:35 local (36 kW); 1.6
        # only, as a 2.0.1 EV of the simulator sends its own departure (ISO 15118) and the default rule does not apply
        ("1.6", None, "04:42"),
    ],
)
def test_profiles_respect_site_station_and_evse_limits_and_stations_obey(tmp_path, version, defaults, local_time):
    async def scenario():
        async with server_running(tmp_path, {"site": SITE, "control": CONTROL, "defaults": defaults}) as srv:
            if local_time is not None:
                srv.registry.clock = _clock_from(local_time)
            depot = await _depot(srv, version)
            await depot.start()
            runner = asyncio.create_task(depot.run(60))
            try:
                await depot.wait_booted()
                # the fail-safe profile: each station capped at its share of limit - worst base load
                await until(lambda: all(st.station_max_kw is not None for st in depot.stations))
                caps = [st.station_max_kw for st in depot.stations]
                assert caps == pytest.approx([16.6] * 3)  # 44 * 50 / 132, rounded down to 0.1 kW
                assert sum(caps) <= 60 - 10
                _plug_all(depot)
                await until(lambda: all(c.tx_profile_kw is not None for st in depot.stations for c in st.connectors))
                await until(lambda: srv.controller.plan is not None and srv.controller.plan.n_vehicles == 6)
                await asyncio.sleep(1.0)
                plan = srv.controller.plan
                sp = plan.setpoints_kw
                assert len(sp) == 6 and not plan.fixed_kw
                if local_time is not None:  # the case meant: every departure less than 2.5 h away
                    now = srv.registry.clock()
                    left_h = [
                        (e.session.departure - now).total_seconds() / 3600 for _s, e in srv.registry.connected_evses()
                    ]
                    assert all(0 < h < 2.5 for h in left_h), left_h
                assert sum(sp.values()) <= 60 - 5 + 1e-9  # the site: limit minus the base load forecast
                assert all(0 <= v <= 22 for v in sp.values())  # each EVSE
                for st in depot.stations:  # each station: its maximum and its fail-safe cap
                    assert sum(v for (sid, _e), v in sp.items() if sid == st.id) <= 16.6 + 1e-9
                profiles = [c.tx_profile_kw for st in depot.stations for c in st.connectors]
                assert sum(profiles) <= 55 + 1e-6
                # what the stations draw, tick by tick, from now on
                t_mark = depot.history[-1][0]
                await asyncio.sleep(1.0)
                drawn = [p for t, p in depot.history if t > t_mark]
                assert drawn and max(drawn) <= 55 + 1e-6
                assert max(drawn) > 40  # and the plan uses the room (load balancing: nobody starved)
                # the API's site view agrees
                site = srv.controller.plan.view()
                assert site["planned_ev_kw"] <= 55 + 1e-6
            finally:
                runner.cancel()
                await asyncio.gather(runner, return_exceptions=True)
                await depot.stop()

    run(scenario(), timeout=90)


def test_a_rejected_profile_is_marked_counted_at_its_measured_power_and_the_rest_replanned(tmp_path):
    async def scenario():
        async with server_running(tmp_path, {"site": SITE, "control": CONTROL}) as srv:
            depot = await _depot(srv, "1.6")
            await depot.start()
            runner = asyncio.create_task(depot.run(60))
            try:
                await depot.wait_booted()
                await until(lambda: all(st.station_max_kw is not None for st in depot.stations))
                bad = depot.stations[0]
                bad.answer = "Rejected"
                _plug_all(depot)
                reg = srv.registry
                await until(lambda: all(reg.stations[bad.id].evses[e].failed == "Rejected" for e in (1, 2)))
                await until(lambda: all(reg.stations[bad.id].evses[e].measured_kw for e in (1, 2)))
                # its meters may first report the draw of before its fail-safe cap applied: wait for a capped reading
                await until(lambda: sum(reg.stations[bad.id].evses[e].measured_kw for e in (1, 2)) <= 16.9, timeout=30)
                before = srv.controller.plan  # a plan made before the capped readings must not be the one checked
                srv.controller.request_replan("test")
                await until(
                    lambda: (
                        srv.controller.plan is not before
                        and srv.controller.plan is not None
                        and len(srv.controller.plan.fixed_kw) == 2
                    )
                )
                plan = srv.controller.plan
                fixed = sum(plan.fixed_kw.values())
                assert fixed == pytest.approx(16.6, abs=0.3)  # the bad station draws its fail-safe cap
                assert fixed + sum(plan.setpoints_kw.values()) <= 55 + 1e-6
                assert any(a["kind"] == "profile_failed" and a["station_id"] == bad.id for a in reg.alerts)
                # the station accepts again: the mark clears at the next cycle
                bad.answer = "Accepted"
                srv.controller.request_replan("test")
                await until(lambda: all(reg.stations[bad.id].evses[e].failed is None for e in (1, 2)))
            finally:
                runner.cancel()
                await asyncio.gather(runner, return_exceptions=True)
                await depot.stop()

    run(scenario(), timeout=90)


def test_a_station_that_stops_answering_is_marked_and_the_others_keep_their_profiles(tmp_path):
    async def scenario():
        cfg = {"site": SITE, "control": {**CONTROL, "profile_timeout_s": 1.0}}
        async with server_running(tmp_path, cfg) as srv:
            depot = await _depot(srv, "2.0.1")
            await depot.start()
            runner = asyncio.create_task(depot.run(60))
            try:
                await depot.wait_booted()
                await until(lambda: all(st.station_max_kw is not None for st in depot.stations))
                _plug_all(depot)
                reg = srv.registry
                await until(lambda: len(reg.sessions) == 6)
                await until(lambda: all(c.tx_profile_kw is not None for st in depot.stations for c in st.connectors))
                hung = depot.stations[2]
                hung.silent = True
                srv.controller.request_replan("test")
                await until(
                    lambda: any(e.failed == "Timeout" for e in reg.stations[hung.id].evses.values()), timeout=30
                )
                assert any(a["kind"] == "profile_failed" for a in reg.alerts)
                others = [c.tx_profile_kw for st in depot.stations[:2] for c in st.connectors]
                assert all(p is not None for p in others)
            finally:
                runner.cancel()
                await asyncio.gather(runner, return_exceptions=True)
                await depot.stop()

    run(scenario(), timeout=90)


def test_enforce_limits_cuts_per_evse_station_and_site():
    p = enforce_limits(
        np.array([30.0, 30.0, 10.0, -5.0]),
        evse_max_kw=np.array([22.0, 22.0, 22.0, 22.0]),
        station_of=np.array([0, 0, 1, 1]),
        station_room_kw=np.array([40.0, 50.0]),
        site_room_kw=45.0,
    )
    assert p[3] == 0 and (p <= 22).all()
    assert p[:2].sum() <= 40 + 1e-9
    assert p.sum() <= 45 + 1e-9 and p.sum() >= 44.7


def test_safe_shares_fit_in_the_site_room():
    cfg = load_config(data={"site": {"import_limit_kw": 100, "base_load_kw": 10, "base_load_max_kw": 20}})
    stations = [Station(f"s{i}", "x", "1.6", kw) for i, kw in enumerate((22.0, 44.0, 150.0))]
    shares = safe_shares_kw(cfg, stations)
    assert sum(shares.values()) <= 80
    assert shares["s2"] / shares["s0"] == pytest.approx(150 / 22, rel=0.02)
    small = safe_shares_kw(cfg, stations[:1])
    assert small == {"s0": 22.0}  # never above the station's own maximum


def test_profile_payloads_in_w_and_a_with_phases():
    st = Station("a", "x", "1.6", 44.0, charging_rate_unit="A")
    evse = Evse("a", 2, 22.0, 3)
    st.evses[2] = evse
    evse.session = Session("17", "a", 2, 2, None, None, started_at=None)  # type: ignore[arg-type]
    p = tx_profile_payload(st, evse, 11.0)
    prof = p["csChargingProfiles"]
    assert p["connectorId"] == 2 and prof["transactionId"] == 17 and prof["chargingProfilePurpose"] == "TxProfile"
    period = prof["chargingSchedule"]["chargingSchedulePeriod"][0]
    assert prof["chargingSchedule"]["chargingRateUnit"] == "A"
    assert period == {"startPeriod": 0, "limit": 15.9, "numberPhases": 3}  # 11 kW / (230 V x 3), rounded down
    assert limit_in_unit(11.0, "W", 3, 230) == 11000.0
    st2 = Station("b", "x", "2.0.1", 44.0)
    st2.evses[1] = Evse("b", 1, 22.0, 1)
    d = default_profile_payload(st2, 16.6)
    assert d["evseId"] == 0
    cp = d["chargingProfile"]
    assert cp["chargingProfilePurpose"] == "ChargingStationMaxProfile" and cp["chargingProfileKind"] == "Absolute"
    assert cp["chargingSchedule"][0]["chargingSchedulePeriod"][0] == {
        "startPeriod": 0,
        "limit": 16600.0,
        "numberPhases": 1,
    }
