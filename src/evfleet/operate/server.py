"""``evfleet serve``: the operate store, the registry, the OCPP central system, the control loop and the REST API
in one asyncio process (one event loop; the store's writer is its one extra thread).

Start order: open the store and rebuild the registry from it (sessions recovered), register what the depot file
lists, bind the OCPP port, start the control loop, bind the API port. A station that reconnects gets its fail-safe
profile and its transactions' profiles again. Ctrl+C / SIGTERM stops the API, the loop and the OCPP server, and
commits what is queued.

Binding: the default is 127.0.0.1 with auth off (a warning says so); binding any other address needs ``auth: true``
in the depot file (:func:`check_bind`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import uvicorn

from evfleet._common.errors import InputError
from evfleet.operate import db as T
from evfleet.operate.accounts import Accounts
from evfleet.operate.api import ApiContext, create_app
from evfleet.operate.config import DepotConfig
from evfleet.operate.control import Controller
from evfleet.operate.csms import CentralSystem
from evfleet.operate.db import OperateDB
from evfleet.operate.registry import Registry, iso
from evfleet.operate.security import role_allows
from evfleet.operate.views import depot_snapshot
from evfleet.store.engine import default_db_path

__all__ = ["OperateServer", "check_bind", "default_operate_db", "is_loopback", "serve_until_stopped"]

LOG = logging.getLogger("evfleet.operate")


def default_operate_db() -> Path:
    """``operate.db`` beside the default run store (platformdirs user data directory)."""
    return default_db_path().with_name("operate.db")


def is_loopback(host: str) -> bool:
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, auth: bool) -> str | None:
    """Refuse a non-loopback ``host`` without auth; return the warning for loopback without auth (or None)."""
    if not host or any(c.isspace() for c in host):
        raise InputError(f"option '--host' must be a host name or address (value {host!r})")
    if not is_loopback(host) and not auth:
        raise InputError(
            f"option '--host': binding {host} (not this machine only) needs accounts: set 'auth: true' in the "
            "depot file and create an admin (users:) first"
        )
    if not auth:
        return (
            f"warning: auth is off: anyone on this machine can use the API at {host} (set 'auth: true' in the depot "
            "file to require tokens)"
        )
    return None


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InputError(f"option '--api-port': cannot bind {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class _ApiServer(uvicorn.Server):
    """uvicorn without its own signal handling (``run_server`` handles SIGINT/SIGTERM for the whole process)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Ports:
    ocpp: int
    api: int


class OperateServer:
    """The whole central system; ``await start()`` then ``await wait()``; ``await stop()`` (idempotent)."""

    def __init__(
        self,
        config: DepotConfig,
        db_path: str | Path | None = None,
        host: str = "127.0.0.1",
        ocpp_port: int = 9000,
        api_port: int = 8000,
        runs_db: str | None = None,
    ) -> None:
        self.config = config
        self.host = host
        self.ocpp_port = ocpp_port
        self.api_port = api_port
        self.runs_db = runs_db
        self.db_path = Path(db_path or config.store or default_operate_db())
        self.warning = check_bind(host, config.auth)
        self.db: OperateDB | None = None
        self.registry: Registry | None = None
        self.csms: CentralSystem | None = None
        self.controller: Controller | None = None
        self.accounts: Accounts | None = None
        self.ports: Ports | None = None
        self._api: _ApiServer | None = None
        self._tasks: list[asyncio.Task[Any]] = []

    async def start(self) -> Ports:
        self.db = OperateDB(self.db_path)
        reg = self.registry = Registry(self.config, self.db)
        reg.load()
        self.accounts = Accounts(self.db)
        await self._register_config()
        if self.config.auth and not any(u["role"] == "admin" for u in self.accounts.users.values()):
            raise InputError("depot file: 'auth: true' needs at least one admin in 'users:' (name, password, role)")
        self.csms = CentralSystem(reg)
        self.controller = Controller(reg, self.csms)
        ocpp_port = await self.csms.start(self.host, self.ocpp_port)
        self._tasks.append(asyncio.create_task(self.controller.run(), name="evfleet-control"))
        if self.config.control.live_snapshot_s > 0:
            self._tasks.append(asyncio.create_task(self._live_loop(), name="evfleet-live"))
        app = create_app(
            ApiContext(
                reg,
                self.csms,
                self.controller,
                self.accounts,
                auth=self.config.auth,
                runs_db=self.runs_db,
                call_timeout_s=self.config.ocpp.response_timeout_s,
            )
        )
        sock = _bind(self.host, self.api_port)
        api_port = int(sock.getsockname()[1])
        cfg = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=5)
        self._api = _ApiServer(cfg)
        self._tasks.append(asyncio.create_task(self._api.serve(sockets=[sock]), name="evfleet-api"))
        for _ in range(200):
            if self._api.started:
                break
            await asyncio.sleep(0.02)
        self.ports = Ports(ocpp_port, api_port)
        if reg.sessions:
            LOG.info("recovered %d active session(s) from the store", len(reg.sessions))
        return self.ports

    async def _register_config(self) -> None:
        reg, acc = self.registry, self.accounts
        assert reg is not None and acc is not None
        for k in range(0, len(self.config.stations), 64):  # hashed in the executor, stored in shared commits
            await asyncio.gather(*(reg.add_station(b) for b in self.config.stations[k : k + 64]))
        for body in self.config.vehicles:
            await reg.add_vehicle(body)
        await asyncio.gather(*(reg.add_token(b) for b in self.config.id_tokens))
        for body in self.config.users:
            if body.get("name") not in acc.users:
                await acc.add_user(body.get("name"), body.get("password"), body.get("role", "viewer"))

    def write_live_snapshot(self) -> None:
        """Queue the live view (:func:`evfleet.operate.views.depot_snapshot`) for the store's ``op_live`` row."""
        reg, ctl = self.registry, self.controller
        assert reg is not None and ctl is not None and self.db is not None
        plan = ctl.plan.view() if ctl.plan is not None else {}
        plan.pop("setpoints", None)  # per EVSE in the snapshot's own "setpoints"
        stats = {"cycles": ctl.cycles, "last_cycle_s": ctl.last_cycle_s, "profiles_sent": ctl.profiles_sent}
        row = {"id": 1, "at": iso(reg.clock()), "snapshot": depot_snapshot(reg, plan, stats)}
        self.db.write(lambda c: c.execute(T.live.insert().prefix_with("OR REPLACE"), [row]))

    async def handle_requests(self) -> int:
        """Carry out what dashboard users asked (``op_requests``): ``replan`` from an operator or an admin; a
        request from a viewer is refused (an alert). Return how many were handled."""
        assert self.db is not None and self.registry is not None and self.controller is not None
        q = sa.select(T.requests).where(T.requests.c.done_at.is_(None)).order_by(T.requests.c.id)
        rows = await asyncio.to_thread(self.db.read, q)
        for r in rows:
            if r["action"] == "replan" and role_allows(r["role"], "operator"):
                self.controller.request_replan(f"dashboard:{r['user']}")
            else:
                self.registry.alert("request_refused", f"dashboard request {r['action']!r} by {r['user']} refused")
            done = iso(self.registry.clock())
            self.db.write(
                lambda c, i=r["id"], d=done: c.execute(
                    sa.update(T.requests).where(T.requests.c.id == i).values(done_at=d)
                )
            )
        return len(rows)

    async def _live_loop(self) -> None:
        """Every ``control.live_snapshot_s``: the live view for the dashboard, and the dashboard's requests. The
        pause is at least 9 times the time the view took to build, so that it never takes more than a tenth of the
        server's time (a large depot's view is then written less often; its age is shown on the page)."""
        period = self.config.control.live_snapshot_s
        while True:
            t0 = time.perf_counter()
            try:
                self.write_live_snapshot()
                await self.handle_requests()
            except Exception:  # the live view must never stop the server
                LOG.exception("live snapshot failed")
            await asyncio.sleep(max(period, 9.0 * (time.perf_counter() - t0)))

    async def wait(self) -> None:
        """Until the API or the control loop stops (Ctrl+C, SIGTERM, a crash)."""
        await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)

    def request_stop(self) -> None:
        if self._api is not None:
            self._api.should_exit = True

    async def stop(self) -> None:
        if self._api is not None:
            self._api.should_exit = True
        if self.controller is not None:
            await self.controller.stop()
        for task in self._tasks:
            if task.get_name() in ("evfleet-control", "evfleet-live"):
                task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, 10)
        self._tasks = []
        if self.csms is not None:
            await self.csms.stop()
        if self.registry is not None:
            self.registry.flush_sessions()
        if self.db is not None:
            self.db.close()
            self.db = None


async def serve_until_stopped(server: OperateServer, on_ready: Any = None) -> None:
    """Start ``server``, call ``on_ready(ports)``, run until SIGINT/SIGTERM (or a task ends), then stop it."""
    loop = asyncio.get_running_loop()
    await server.start()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, server.request_stop)
    try:
        if on_ready is not None:
            on_ready(server.ports)
        await server.wait()
    finally:
        await server.stop()
