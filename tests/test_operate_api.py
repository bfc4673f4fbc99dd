"""The REST API against a running ``serve`` (in this process, free 127.0.0.1 ports) with httpx: the exact bodies of
issue #17, the site view, the operator's OCPP call (result, CallError, offline, schema error, timeout, unknown
station), the schedule CSV, the run store, accounts and roles, and that no secret is ever returned."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa

from evfleet._common.errors import InputError
from evfleet.operate.depot_sim import SimDepot
from evfleet.operate.server import check_bind
from operate_helpers import PASSWORD, run, server_running, until

STATION = {
    "id": "CP-1",
    "password": PASSWORD,
    "ocpp_version": "1.6",
    "max_power_kw": 44,
    "evses": [
        {"id": 1, "connectors": [1], "max_power_kw": 22, "phases": 3},
        {"id": 2, "connectors": [2], "max_power_kw": 22, "phases": 3},
    ],
}


def test_bodies_site_and_health(tmp_path):
    async def scenario():
        cfg = {"site": {"import_limit_kw": 100, "subscribed_power_kw": 80}}
        async with server_running(tmp_path, cfg) as srv:  # noqa: SIM117  (the client needs the server's port)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{srv.ports.api}", timeout=10) as api:
                assert (await api.get("/healthz")).status_code == 200
                r = await api.post("/api/v1/stations", json=STATION)
                assert r.status_code == 201, r.text
                assert PASSWORD not in r.text and "password" not in r.json()
                r = await api.post("/api/v1/stations", json={**STATION, "id": "CP-2", "ocpp_version": "3.0"})
                assert r.status_code == 422
                r = await api.post(
                    "/api/v1/id-tokens",
                    json={
                        "id_token": "TAG-1",
                        "type": "ISO14443",
                        "status": "Accepted",
                        "group_id": "FLEET",
                        "vehicle_id": "bus-7",
                    },
                )
                assert r.status_code == 201 and r.json()["group_id"] == "FLEET"
                r = await api.post(
                    "/api/v1/vehicles",
                    json={
                        "id": "bus-7",
                        "model": "Renault Zoe",
                        "id_token": "TAG-1",
                        "departure": "06:30",
                        "target_soc": 0.9,
                    },
                )
                assert r.status_code == 201, r.text
                r = await api.post("/api/v1/vehicles", json={"id": "x", "model": "No Such Car", "id_token": None})
                assert r.status_code == 422 and "unknown vehicle model" in r.text
                r = await api.post("/api/v1/vehicles", json={"id": "y", "model": "Renault Zoe", "target_soc": 90})
                assert r.status_code == 422 and "fraction" in r.text
                csv_text = "vehicle,departure,target\nbus-7,2030-01-02T06:00:00Z,0.95\n"
                r = await api.post("/api/v1/schedule/csv", content=csv_text, headers={"Content-Type": "text/csv"})
                assert r.status_code == 201 and r.json() == {"added": 1}
                r = await api.get("/api/v1/vehicles/bus-7")
                assert r.json()["schedule"][0]["source"] == "csv"
                site = (await api.get("/api/v1/site")).json()
                for key in ("import_kw", "import_limit_kw", "n_connected", "setpoints_kw"):
                    assert key in site
                assert site["import_limit_kw"] == 100 and site["limit_kw"] == 80 and site["n_connected"] == 0
                stations = (await api.get("/api/v1/stations")).json()
                assert [s["id"] for s in stations] == ["CP-1"] and stations[0]["online"] is False
                assert "password_hash" not in str(stations)
                conns = (await api.get("/api/v1/stations/CP-1/connectors")).json()
                assert [(c["evse_id"], c["connector_id"]) for c in conns] == [(1, 1), (2, 2)]
                assert (await api.get("/api/v1/stations/nope")).status_code == 404
                assert (await api.get("/api/v1/runs")).status_code == 200
                assert (await api.get("/api/v1/runs?live=true")).status_code == 200
                assert (await api.get("/api/v1/runs?live=maybe")).status_code == 422  # refused, never guessed
                assert (await api.get("/api/v1/scenarios/deadbeef")).status_code == 404
                assert (await api.get("/docs")).status_code == 200
                assert "/api/v1/stations/{station_id}/ocpp/{action}" in (await api.get("/openapi.json")).json()["paths"]

    run(scenario())


def test_the_operators_ocpp_call(tmp_path):
    async def scenario():
        cfg = {"ocpp": {"response_timeout_s": 1.5}, "control": {"interval_s": 3600}}
        async with server_running(tmp_path, cfg) as srv:
            depot = SimDepot(None, 2, f"ws://127.0.0.1:{srv.ports.ocpp}/ocpp", version="1.6")
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{srv.ports.api}", timeout=10) as api:
                for body in depot.bodies()["stations"]:
                    assert (await api.post("/api/v1/stations", json=body)).status_code == 201
                await depot.start()
                try:
                    await depot.wait_booted()
                    sid = depot.stations[0].id
                    r = await api.post(
                        f"/api/v1/stations/{sid}/ocpp/GetConfiguration", json={"key": ["HeartbeatInterval"]}
                    )
                    assert r.status_code == 200, r.text
                    assert r.json()["status"] == "CallResult" and "configurationKey" in r.json()["payload"]
                    r = await api.post(
                        f"/api/v1/stations/{sid}/ocpp/ChangeConfiguration",
                        json={"key": "HeartbeatInterval", "value": "60"},
                    )
                    assert r.json() == {"status": "CallResult", "payload": {"status": "Accepted"}}
                    r = await api.post(f"/api/v1/stations/{sid}/ocpp/UnlockConnector", json={"connectorId": 1})
                    assert r.status_code == 200 and r.json()["status"] == "CallError"
                    assert r.json()["payload"]["errorCode"] == "NotImplemented"
                    r = await api.post(f"/api/v1/stations/{sid}/ocpp/ChangeConfiguration", json={"key": 5})
                    assert r.status_code == 400 and r.json()["error"] == "schema"
                    r = await api.post("/api/v1/stations/ghost/ocpp/Reset", json={"type": "Soft"})
                    assert r.status_code == 404
                    depot.stations[1].silent = True
                    r = await api.post(
                        f"/api/v1/stations/{depot.stations[1].id}/ocpp/SetChargingProfile",
                        json={
                            "connectorId": 0,
                            "csChargingProfiles": {
                                "chargingProfileId": 9,
                                "stackLevel": 0,
                                "chargingProfilePurpose": "ChargePointMaxProfile",
                                "chargingProfileKind": "Absolute",
                                "chargingSchedule": {
                                    "chargingRateUnit": "W",
                                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 1000.0}],
                                },
                            },
                        },
                    )
                    assert r.status_code == 504 and r.json()["error"] == "timeout"
                finally:
                    await depot.stop()
                await until(lambda: not any(s.online for s in srv.registry.stations.values()))
                r = await api.post(f"/api/v1/stations/{sid}/ocpp/Reset", json={"type": "Soft"})
                assert r.status_code == 409 and r.json()["error"] == "offline"

    run(scenario())


def test_accounts_roles_and_tokens(tmp_path):
    async def scenario():
        cfg = {"auth": True, "users": [{"name": "root", "password": "root-password", "role": "admin"}]}
        async with server_running(tmp_path, cfg) as srv:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{srv.ports.api}", timeout=10) as api:
                assert (await api.get("/api/v1/stations")).status_code == 401
                assert (
                    await api.get("/api/v1/stations", headers={"Authorization": "Bearer evf_nope"})
                ).status_code == 401
                assert (await api.post("/api/v1/login", json={"name": "root", "password": "wrong"})).status_code == 401
                r = await api.post("/api/v1/login", json={"name": "root", "password": "root-password"})
                assert r.status_code == 200
                admin = {"Authorization": f"Bearer {r.json()['token']}"}
                r = await api.post(
                    "/api/v1/users", json={"name": "ann", "password": "ann-password", "role": "viewer"}, headers=admin
                )
                assert r.status_code == 201 and "password" not in r.text
                r = await api.post("/api/v1/tokens", json={"label": "ci", "user": "ann"}, headers=admin)
                viewer_token = r.json()["token"]
                viewer = {"Authorization": f"Bearer {viewer_token}"}
                assert (await api.get("/api/v1/site", headers=viewer)).status_code == 200
                assert (await api.post("/api/v1/stations", json=STATION, headers=viewer)).status_code == 403
                assert (await api.post("/api/v1/stations", json=STATION, headers=admin)).status_code == 201
                listing = await api.get("/api/v1/tokens", headers=admin)
                assert viewer_token not in listing.text and "token_hash" not in listing.text
                users = await api.get("/api/v1/users", headers=admin)
                assert "hash" not in users.text and "ann-password" not in users.text
                assert (await api.get("/api/v1/me", headers=viewer)).json() == {
                    "name": "ann",
                    "role": "viewer",
                    "auth": True,
                }
                tid = r.json()["token_id"]
                assert (await api.delete(f"/api/v1/tokens/{tid}", headers=admin)).status_code == 200
                assert (await api.get("/api/v1/site", headers=viewer)).status_code == 401
            rows = srv.db.read(sa.text("SELECT token_hash FROM op_api_tokens"))
            assert all(len(r["token_hash"]) == 64 for r in rows)

    run(scenario())


def test_binding_beyond_loopback_needs_auth():
    assert check_bind("127.0.0.1", auth=False).startswith("warning: auth is off")
    assert check_bind("::1", auth=False)
    assert check_bind("0.0.0.0", auth=True) is None
    with pytest.raises(InputError, match="needs accounts"):
        check_bind("0.0.0.0", auth=False)
    with pytest.raises(InputError, match="needs accounts"):
        check_bind("192.168.1.10", auth=False)
