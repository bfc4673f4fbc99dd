"""Shared helpers of the operate tests: a central system on a free 127.0.0.1 port, ``ocpp`` library clients."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from ocpp.routing import on
from ocpp.v16 import ChargePoint as CP16
from ocpp.v16 import call_result as r16
from ocpp.v201 import ChargePoint as CP201
from ocpp.v201 import call_result as r201
from websockets.asyncio.client import ClientConnection, connect

from evfleet.operate.config import load_config
from evfleet.operate.csms import CentralSystem
from evfleet.operate.db import OperateDB
from evfleet.operate.registry import Registry

PASSWORD = "s3cret-password"


def run(coro: Any, timeout: float = 60.0) -> Any:
    """Run ``coro`` in a fresh event loop with a bound (no test can hang)."""

    async def bounded() -> Any:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


def station_body(sid: str, version: str = "1.6", n_evses: int = 1, max_kw: float = 22.0, **extra: Any) -> dict:
    body = {
        "id": sid,
        "password": PASSWORD,
        "ocpp_version": version,
        "max_power_kw": max_kw * n_evses,
        "evses": [{"id": i + 1, "connectors": [i + 1], "max_power_kw": max_kw, "phases": 3} for i in range(n_evses)],
    }
    body.update(extra)
    return body


@contextlib.asynccontextmanager
async def csms_running(
    tmp_path: Path, config: dict | None = None
) -> AsyncIterator[tuple[Registry, CentralSystem, int]]:
    """A registry on a fresh store in ``tmp_path`` and the OCPP server on a free port; closed on exit."""
    cfg = load_config(data=config or {})
    db = OperateDB(tmp_path / "operate.db")
    reg = Registry(cfg, db)
    reg.load()
    cs = CentralSystem(reg)
    port = await cs.start("127.0.0.1", 0)
    try:
        yield reg, cs, port
    finally:
        await cs.stop()
        db.close()


def auth_header(sid: str, password: str = PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{sid}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class Client16(CP16):
    """An OCPP 1.6 client that accepts (or rejects) every SetChargingProfile and records it."""

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.profiles: list[dict] = []
        self.answer = "Accepted"

    @on("SetChargingProfile")
    def on_set_charging_profile(self, connector_id: int, cs_charging_profiles: dict, **kw: Any) -> Any:
        self.profiles.append({"connector_id": connector_id, **cs_charging_profiles})
        return r16.SetChargingProfile(status=self.answer)

    @on("GetConfiguration")
    def on_get_configuration(self, **kw: Any) -> Any:
        return r16.GetConfiguration(
            configuration_key=[{"key": "ChargingScheduleAllowedChargingRateUnit", "readonly": True, "value": "Power"}]
        )

    @on("ClearChargingProfile")
    def on_clear(self, **kw: Any) -> Any:
        return r16.ClearChargingProfile(status="Accepted")


class Client201(CP201):
    """An OCPP 2.0.1 client that accepts (or rejects) every SetChargingProfile and records it."""

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.profiles: list[dict] = []
        self.answer = "Accepted"

    @on("SetChargingProfile")
    def on_set_charging_profile(self, evse_id: int, charging_profile: dict, **kw: Any) -> Any:
        self.profiles.append({"evse_id": evse_id, **charging_profile})
        return r201.SetChargingProfile(status=self.answer)

    @on("GetVariables")
    def on_get_variables(self, get_variable_data: list, **kw: Any) -> Any:
        return r201.GetVariables(
            get_variable_result=[
                {
                    "attribute_status": "Accepted",
                    "attribute_value": "W",
                    "component": d["component"],
                    "variable": d["variable"],
                }
                for d in get_variable_data
            ]
        )


@contextlib.asynccontextmanager
async def client(
    port: int, sid: str, version: str = "1.6", password: str = PASSWORD, cls: type | None = None
) -> AsyncIterator[Any]:
    """A connected ``ocpp`` library client (its receive loop running); closed on exit."""
    ws: ClientConnection = await connect(
        f"ws://127.0.0.1:{port}/ocpp/{sid}",
        subprotocols=[f"ocpp{version}"],  # type: ignore[list-item]
        additional_headers=auth_header(sid, password),
        open_timeout=10,
    )
    klass = cls or (Client16 if version == "1.6" else Client201)
    cp = klass(sid, ws, response_timeout=10)
    task = asyncio.create_task(cp.start())
    try:
        yield cp
    finally:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        await ws.close()


async def raw_exchange(ws: ClientConnection, frame: str, timeout: float = 5.0) -> list:
    """Send a raw frame and return the next frame received (parsed JSON)."""
    import json

    await ws.send(frame)
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


@contextlib.asynccontextmanager
async def server_running(tmp_path: Path, config: dict | None = None, db_name: str = "operate.db") -> AsyncIterator[Any]:
    """The whole ``evfleet serve`` (store, registry, OCPP, control loop, API) in this event loop, on free ports."""
    from evfleet.operate.server import OperateServer

    srv = OperateServer(load_config(data=config or {}), tmp_path / db_name, "127.0.0.1", 0, 0)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


async def register_sim(reg: Registry, depot: Any) -> None:
    """Register a SimDepot's stations, vehicles and tokens directly in the registry."""
    bodies = depot.bodies()
    for b in bodies["stations"]:
        await reg.add_station(b)
    for b in bodies["vehicles"]:
        await reg.add_vehicle(b)
    for b in bodies["id_tokens"]:
        await reg.add_token(b)


async def until(cond: Any, timeout: float = 20.0, step: float = 0.05) -> None:
    """Wait until ``cond()`` is true (bounded)."""
    import time

    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(step)
