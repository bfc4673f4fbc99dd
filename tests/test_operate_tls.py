"""OCPP security profile 2 (TLS + HTTP Basic auth) with a throwaway self-signed certificate, on 127.0.0.1.

The certificate is made by the ``openssl`` command line for each test run (the ``cryptography`` package is not a
dependency); it is its own CA, which the clients trust. Checks: a real ``ocpp`` client boots over
``wss://127.0.0.1``; an unknown station and a wrong password are still refused at the handshake (HTTP 401) over
TLS; a client that does not trust the certificate, or speaks plain ``ws://`` to the TLS port, does not get in; the
depot simulator over TLS gets its fail-safe profile and charges by its TxProfile.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from ocpp.v16 import call as c16
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidMessage, InvalidStatus

from evfleet.operate.depot_sim import SimDepot, SimEV
from operate_helpers import Client16, auth_header, csms_running, register_sim, run, server_running, station_body, until

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command line")


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (valid one day) and its key, made by ``openssl``."""
    crt, key = tmp_path / "csms.crt", tmp_path / "csms.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(crt),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return crt, key


def _client_ssl(ca: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def test_a_real_client_boots_over_wss_and_bad_credentials_are_still_refused(tmp_path, cert):
    crt, key = cert
    cfg = {"ocpp": {"tls_cert": str(crt), "tls_key": str(key)}}

    async def scenario():
        async with csms_running(tmp_path, cfg) as (reg, _cs, port):
            await reg.add_station(station_body("cp-tls", "1.6"))
            url = f"wss://127.0.0.1:{port}/ocpp/cp-tls"
            ws = await connect(
                url, subprotocols=["ocpp1.6"], additional_headers=auth_header("cp-tls"), ssl=_client_ssl(crt),
                open_timeout=10,
            )  # fmt: skip
            assert ws.request is not None
            cp = Client16("cp-tls", ws, response_timeout=10)
            task = asyncio.create_task(cp.start())
            try:
                res = await cp.call(c16.BootNotification(charge_point_vendor="ACME", charge_point_model="TLS"))
                assert res.status == "Accepted"
                await until(lambda: reg.stations["cp-tls"].online and reg.stations["cp-tls"].booted)
                hb = await cp.call(c16.Heartbeat())
                assert hb.current_time
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                await ws.close()
            refused_before = _cs.refused
            for sid, password in (("cp-tls", "wrong-password-123"), ("nobody", "s3cret-password")):
                with pytest.raises(InvalidStatus) as info:
                    await connect(
                        f"wss://127.0.0.1:{port}/ocpp/{sid}", subprotocols=["ocpp1.6"],
                        additional_headers=auth_header(sid, password), ssl=_client_ssl(crt), open_timeout=10,
                    )  # fmt: skip
                assert info.value.response.status_code == 401
            assert _cs.refused == refused_before + 2
            assert [a["kind"] for a in list(reg.alerts)[-2:]] == ["auth_refused", "auth_refused"]
            # a client that does not trust the certificate does not get in
            with pytest.raises(ssl.SSLCertVerificationError):
                await connect(
                    url, subprotocols=["ocpp1.6"], additional_headers=auth_header("cp-tls"),
                    ssl=ssl.create_default_context(), open_timeout=10,
                )  # fmt: skip
            # nor does plain ws:// on the TLS port (the handshake never completes)
            with pytest.raises((InvalidMessage, OSError, TimeoutError, EOFError)):
                await connect(
                    f"ws://127.0.0.1:{port}/ocpp/cp-tls", subprotocols=["ocpp1.6"],
                    additional_headers=auth_header("cp-tls"), open_timeout=5,
                )  # fmt: skip

    run(scenario())


def test_the_depot_simulator_charges_over_tls(tmp_path, cert):
    crt, key = cert
    cfg = {
        "site": {"import_limit_kw": 60, "base_load_kw": 5, "base_load_max_kw": 10},
        "control": {"interval_s": 3600, "min_replan_gap_s": 0.05},
        "ocpp": {"tls_cert": str(crt), "tls_key": str(key)},
    }

    async def scenario():
        async with server_running(tmp_path, cfg) as srv:
            depot = SimDepot(
                None, 2, f"wss://127.0.0.1:{srv.ports.ocpp}/ocpp", version="2.0.1", meter_interval_s=0.3, tick_s=0.1,
                ssl=_client_ssl(crt),
            )  # fmt: skip
            await register_sim(srv.registry, depot)
            await srv.registry.add_token({"id_token": "TOK-V0", "status": "Accepted"})
            await depot.start()
            runner = asyncio.create_task(depot.run(60))
            try:
                await depot.wait_booted(30)
                await until(lambda: all(st.station_max_kw is not None for st in depot.stations), 30)
                assert sum(st.station_max_kw for st in depot.stations) <= 60 - 10 + 1e-6
                st = depot.stations[0]
                depot.plug(st, st.connectors[0], SimEV("V0", "TOK-V0", 60.0, 0.2, 1.0, 22.0, 10**9, 0.9))
                await until(lambda: st.connectors[0].tx_profile_kw is not None, 30)
                await until(lambda: (srv.registry.stations[st.id].evses[1].measured_kw or 0) > 0, 30)
            finally:
                runner.cancel()
                await asyncio.gather(runner, return_exceptions=True)
                await depot.stop()

    run(scenario(), timeout=120)
