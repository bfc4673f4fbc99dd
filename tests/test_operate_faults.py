"""Faults: kill -9 of ``evfleet serve`` with the simulated depot running (the site stays within its limit on the
fail-safe profiles), restart in the middle of a depot day (sessions recovered from the store, profiles re-sent),
a station disconnecting and reconnecting, a flood of malformed and oversized frames from one station while another
is served, stale meter values and a clock-skewed station."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from ocpp.v16 import call as c16
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from evfleet.operate.depot_sim import SimDepot, SimEV, register_depot
from operate_helpers import auth_header, client, csms_running, run, server_running, station_body, until

SITE = {"import_limit_kw": 60.0, "base_load_kw": 5.0, "base_load_max_kw": 10.0}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_serve(tmp_path, ocpp_port: int, api_port: int) -> subprocess.Popen:
    cfg = tmp_path / "depot.yaml"
    cfg.write_text(yaml.safe_dump({"site": SITE, "control": {"interval_s": 2, "min_replan_gap_s": 0.1}}))
    log = open(tmp_path / f"serve-{time.time_ns()}.log", "w")  # noqa: SIM115 (closed with the process)
    cmd = [sys.executable, "-m", "evfleet.cli", "serve", "--config", str(cfg), "--db", str(tmp_path / "op.db")]
    cmd += ["--ocpp-port", str(ocpp_port), "--api-port", str(api_port), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    proc._log = log  # type: ignore[attr-defined]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            if proc.poll() is not None:
                break
        time.sleep(0.3)
    _kill(proc)
    raise RuntimeError(f"serve did not start: {(tmp_path / 'depot.yaml').read_text()}")


def _kill(proc: subprocess.Popen) -> None:
    """kill -9 (idempotent) and close its log."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    if not proc._log.closed:  # type: ignore[attr-defined]
        proc._log.close()  # type: ignore[attr-defined]


def _get(api_port: int, path: str) -> object:
    with urllib.request.urlopen(f"http://127.0.0.1:{api_port}{path}", timeout=10) as r:
        return json.loads(r.read())


def _ev(i: int) -> SimEV:
    return SimEV(f"V{i}", f"TOK-V{i}", 60.0, 0.2, 1.0, 22.0, 10**9, 0.9)


@pytest.mark.slow
def test_kill_9_keeps_the_site_within_its_limit_and_a_restart_recovers_the_sessions(tmp_path):
    ocpp_port, api_port = _free_port(), _free_port()
    proc = _start_serve(tmp_path, ocpp_port, api_port)

    async def scenario():
        nonlocal proc
        depot = SimDepot(None, 3, f"ws://127.0.0.1:{ocpp_port}/ocpp", version="1.6", meter_interval_s=0.3, tick_s=0.1)
        await asyncio.to_thread(register_depot, depot, f"http://127.0.0.1:{api_port}")
        for i in range(6):
            body = json.dumps({"id_token": f"TOK-V{i}", "status": "Accepted"}).encode()
            req = urllib.request.Request(
                f"http://127.0.0.1:{api_port}/api/v1/id-tokens", body, {"Content-Type": "application/json"}
            )
            await asyncio.to_thread(lambda r=req: urllib.request.urlopen(r, timeout=10).read())
        await depot.start()
        runner = asyncio.create_task(depot.run(120))
        try:
            await depot.wait_booted(60)
            await until(lambda: all(st.station_max_kw is not None for st in depot.stations), 30)
            assert sum(st.station_max_kw for st in depot.stations) <= 60 - 10
            conns = [(st, c) for st in depot.stations for c in st.connectors]
            for k, (st, c) in enumerate(conns[:3]):
                depot.plug(st, c, _ev(k))
            await until(lambda: all(c.tx_profile_kw is not None for _st, c in conns[:3]), 30)
            # kill -9 the central system: the stations keep their profiles
            _kill(proc)
            await until(lambda: not any(st.online for st in depot.stations), 30)
            t_kill = depot.history[-1][0]
            for k, (st, c) in enumerate(conns[3:], start=3):  # new vehicles arrive while evfleet is down
                depot.plug(st, c, _ev(k))
            await asyncio.sleep(2.0)
            after = [p for t, p in depot.history if t > t_kill]
            demand = 6 * 22.0
            assert demand > 60  # without profiles the site would be far over its limit
            assert max(after) <= 60 - 10 + 1e-6  # on the fail-safe profiles: within limit - worst base load
            assert max(after) > 30  # and the vehicles do charge
            # restart in the middle of the day: sessions come back from the store, profiles are re-sent
            for _st, c in conns:
                c.tx_profile_kw = None
            proc = await asyncio.to_thread(_start_serve, tmp_path, ocpp_port, api_port)
            await until(lambda: all(st.online for st in depot.stations), 60)
            await until(lambda: all(c.tx_profile_kw is not None for _st, c in conns), 60)
            sessions = await asyncio.to_thread(_get, api_port, "/api/v1/sessions")
            assert len(sessions) == 6
            assert {s["id_token"] for s in sessions} == {f"TOK-V{i}" for i in range(6)}
            site = await asyncio.to_thread(_get, api_port, "/api/v1/site")
            assert site["n_connected"] == 6 and site["stations_online"] == 3
            total = sum(c.tx_profile_kw for _st, c in conns)
            assert total <= 55 + 1e-6
        finally:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
            await depot.stop()

    try:
        run(scenario(), timeout=300)
    finally:
        _kill(proc)


def test_a_station_that_disconnects_and_reconnects_gets_its_profiles_again(tmp_path):
    async def scenario():
        cfg = {"site": SITE, "control": {"interval_s": 3600, "min_replan_gap_s": 0.05}}
        async with server_running(tmp_path, cfg) as srv:
            depot = SimDepot(
                None, 1, f"ws://127.0.0.1:{srv.ports.ocpp}/ocpp", version="2.0.1", meter_interval_s=0.3, tick_s=0.1
            )
            bodies = depot.bodies()
            await srv.registry.add_station(bodies["stations"][0])
            await srv.registry.add_token({"id_token": "TOK-V0", "status": "Accepted"})
            await depot.start()
            runner = asyncio.create_task(depot.run(60))
            try:
                await depot.wait_booted()
                st = depot.stations[0]
                depot.plug(st, st.connectors[0], _ev(0))
                await until(lambda: st.connectors[0].tx_profile_kw is not None)
                st.station_max_kw = None
                st.connectors[0].tx_profile_kw = None
                await st.ws.close()  # the network drops; the station reconnects by itself
                await until(lambda: st.connects >= 2 and st.online)
                await until(lambda: st.station_max_kw is not None and st.connectors[0].tx_profile_kw is not None)
                assert len(srv.registry.sessions) == 1  # the same session, not a new one
            finally:
                runner.cancel()
                await asyncio.gather(runner, return_exceptions=True)
                await depot.stop()

    run(scenario())


def test_a_flood_of_bad_frames_from_one_station_does_not_stop_the_others(tmp_path):
    async def scenario():
        async with csms_running(tmp_path, {"ocpp": {"max_message_bytes": 4096}}) as (reg, _cs, port):
            await reg.add_station(station_body("bad", "1.6"))
            await reg.add_station(station_body("good", "1.6"))
            await reg.add_station(station_body("big", "1.6"))
            ws = await connect(
                f"ws://127.0.0.1:{port}/ocpp/bad",
                subprotocols=["ocpp1.6"],
                additional_headers=auth_header("bad"),
                open_timeout=5,
            )

            async def flood() -> int:
                frames = [
                    "garbage",
                    "[2]",
                    '[2,"x","Heartbeat",{"a":1}]',
                    '[2,"y","NoSuch",{}]',
                    "[2,5,7,[]]",
                    '{"a":[1]}',
                ]
                sent = 0
                with pytest.raises(ConnectionClosed) as info:
                    for i in range(2000):
                        await ws.send(frames[i % len(frames)])
                        sent += 1
                        if i % 20 == 0:
                            await asyncio.sleep(0)
                    for _ in range(5000):
                        await asyncio.wait_for(ws.recv(), 10)
                assert info.value.rcvd is not None and info.value.rcvd.code == 1008
                return sent

            async def good() -> int:
                n = 0
                async with client(port, "good") as cp:
                    res = await cp.call(c16.BootNotification(charge_point_vendor="A", charge_point_model="B"))
                    assert res.status == "Accepted"
                    for _ in range(50):
                        await cp.call(c16.Heartbeat())
                        n += 1
                return n

            sent, served = await asyncio.gather(flood(), good())
            assert served == 50 and sent > 120
            assert any(a["kind"] == "flood" and a["station_id"] == "bad" for a in reg.alerts)
            # an oversized frame closes only that connection (1009); the next connection works
            big = await connect(
                f"ws://127.0.0.1:{port}/ocpp/big",
                subprotocols=["ocpp1.6"],
                additional_headers=auth_header("big"),
                open_timeout=5,
            )
            await big.send('[2,"z","DataTransfer",{"vendorId":"v","data":"' + "x" * 10000 + '"}]')
            with pytest.raises(ConnectionClosed) as info:
                await asyncio.wait_for(big.recv(), 10)
            assert info.value.rcvd is not None and info.value.rcvd.code == 1009
            async with client(port, "big") as cp:
                assert (await cp.call(c16.Heartbeat())) is not None or True

    run(scenario())


def test_stale_meter_values_and_a_clock_skewed_station(tmp_path):
    async def scenario():
        cfg = {"control": {"stale_after_s": 0.5, "interval_s": 3600}}
        async with server_running(tmp_path, cfg) as srv:
            reg = srv.registry
            await reg.add_station(station_body("skew", "1.6"))
            await reg.add_token({"id_token": "T", "status": "Accepted"})
            async with client(srv.ports.ocpp, "skew") as cp:
                await cp.call(c16.BootNotification(charge_point_vendor="A", charge_point_model="B"))
                late = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
                await cp.call(
                    c16.StatusNotification(connector_id=1, error_code="NoError", status="Preparing", timestamp=late)
                )
                assert reg.stations["skew"].clock_skew_s == pytest.approx(-7200, abs=5)
                assert any(a["kind"] == "clock_skew" for a in reg.alerts)
                res = await cp.call(c16.StartTransaction(connector_id=1, id_tag="T", meter_start=0, timestamp=late))
                s = reg.sessions[str(res.transaction_id)]
                # evfleet's own clock decides: the session started now, not two hours ago
                assert abs((s.started_at - datetime.now(UTC)).total_seconds()) < 5
                mv = [
                    {
                        "timestamp": late,
                        "sampledValue": [{"value": "7000", "measurand": "Power.Active.Import", "unit": "W"}],
                    }
                ]
                await cp.call(c16.MeterValues(connector_id=1, transaction_id=res.transaction_id, meter_value=mv))
                evse = reg.stations["skew"].evses[1]
                assert evse.measured_kw == 7.0 and not evse.is_stale(0.5)
                await asyncio.sleep(0.7)
                async with __import__("httpx").AsyncClient(base_url=f"http://127.0.0.1:{srv.ports.api}") as api:
                    site = (await api.get("/api/v1/site")).json()
                assert site["n_stale_measurements"] == 1
                station = reg.stations["skew"].view(0.5)
                assert station["evses"][0]["measurement_stale"] is True

    run(scenario())
