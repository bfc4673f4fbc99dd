"""The REST API (FastAPI; OpenAPI at ``/docs``), versioned under ``/api/v1`` (``docs/operate.md`` lists every route).

With ``auth`` on, every ``/api/v1`` route except ``POST /api/v1/login`` needs ``Authorization: Bearer <token>``
(an API token, or the token ``login`` returns): viewers read, operators also act (fleet, schedule, ID tokens,
re-plans, OCPP calls), admins also manage stations and accounts. With ``auth`` off (only allowed on a loopback
address) every caller is an admin. Bad input answers 422 naming the field; no response ever carries a station
password, a password hash or an existing token.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import Body, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from evfleet._common.errors import InputError
from evfleet._common.jsonsafe import clean_json, json_default
from evfleet._common.version import __version__
from evfleet.operate import db as T
from evfleet.operate.accounts import Accounts, User
from evfleet.operate.control import Controller
from evfleet.operate.csms import CentralSystem, OperatorCallError
from evfleet.operate.registry import Registry
from evfleet.operate.security import role_allows
from evfleet.operate.views import connectors_view, setpoints_view, site_view
from evfleet.store import StoreError, open_store

__all__ = ["ApiContext", "create_app"]


@dataclass
class ApiContext:
    """What the API serves: the registry, the central system, the controller, the accounts, the run store."""

    registry: Registry
    csms: CentralSystem
    controller: Controller
    accounts: Accounts
    auth: bool = False
    runs_db: str | None = None
    call_timeout_s: float = 30.0


class EvseIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int = Field(ge=1)
    connectors: list[int] = Field(default_factory=lambda: [1])
    max_power_kw: float | None = Field(default=None, gt=0)
    phases: Literal[1, 2, 3] = 3


class StationIn(BaseModel):
    """``POST /api/v1/stations``; ``registration`` (Accepted/Pending/Rejected), ``charging_rate_unit`` (W/A) and
    ``voltage_v`` are optional."""

    model_config = ConfigDict(extra="allow")
    id: str
    password: str = Field(min_length=8, repr=False)
    ocpp_version: Literal["1.6", "2.0.1"] = "1.6"
    max_power_kw: float = Field(gt=0)
    evses: list[EvseIn]


class IdTokenIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    id_token: str
    type: str = "ISO14443"
    status: Literal["Accepted", "Blocked", "Expired", "Invalid"] = "Accepted"
    group_id: str | None = None
    vehicle_id: str | None = None


class VehicleIn(BaseModel):
    """``departure``: ``HH:MM`` (every day, site time) or an ISO 8601 time; ``target_soc`` 0-1."""

    model_config = ConfigDict(extra="allow")
    id: str
    model: str
    id_token: str | None = None
    departure: str | None = None
    target_soc: float | None = None


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    vehicle_id: str
    departure: str
    target_soc: float


class UserIn(BaseModel):
    name: str
    password: str = Field(min_length=8, repr=False)
    role: Literal["viewer", "operator", "admin"] = "viewer"


class LoginIn(BaseModel):
    name: str
    password: str = Field(repr=False)


class TokenIn(BaseModel):
    label: str | None = None
    user: str | None = None


def json_safe(data: Any) -> Any:
    """``data`` as strict JSON values (numpy, timestamps, non-finite floats handled)."""
    return json.loads(json.dumps(clean_json(data), default=json_default))


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(exclude_none=False)


def create_app(ctx: ApiContext) -> FastAPI:
    """The FastAPI application over ``ctx``."""
    app = FastAPI(
        title="evfleet operate API",
        version=__version__,
        description="The depot's stations, sessions, plan, site power, fleet, ID tokens and OCPP calls.",
    )
    reg, cs = ctx.registry, ctx.csms
    stale_s = reg.config.control.stale_after_s

    @app.exception_handler(InputError)
    async def _input_error(_request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc)})

    def user(request: Request) -> User:
        if not ctx.auth:
            return User("local", "admin")
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        found = ctx.accounts.user_of_token(token.strip()) if scheme.lower() == "bearer" and token else None
        if found is None:
            raise HTTPException(
                401, "a valid API token is required (Authorization: Bearer ...)", {"WWW-Authenticate": "Bearer"}
            )
        return found

    def need(role: str) -> Any:
        def check(u: User = Depends(user)) -> User:
            if not role_allows(u.role, role):
                raise HTTPException(403, f"needs the {role} role (you are {u.role})")
            return u

        return Depends(check)

    viewer, operator, admin = need("viewer"), need("operator"), need("admin")

    # -- health ---------------------------------------------------------------------------------------------

    @app.get("/healthz", tags=["health"])
    async def healthz() -> JSONResponse:
        """200 when both the OCPP and the API ports serve."""
        ocpp_ok = cs.server is not None and cs.server.is_serving()
        body = {"ocpp": ocpp_ok, "api": True, "stations_online": sum(s.online for s in reg.stations.values())}
        return JSONResponse(status_code=200 if ocpp_ok else 503, content=body)

    # -- stations -------------------------------------------------------------------------------------------

    @app.get("/api/v1/stations", tags=["stations"], dependencies=[viewer])
    async def list_stations() -> list[dict[str, Any]]:
        return [st.view(stale_s) for st in reg.stations.values()]

    @app.post("/api/v1/stations", tags=["stations"], status_code=201, dependencies=[admin])
    async def add_station(body: StationIn) -> dict[str, Any]:
        """Register (or re-register) a station; its password is stored hashed and never shown again."""
        st = await reg.add_station(_dump(body))
        return st.view(stale_s)

    @app.get("/api/v1/stations/{station_id}", tags=["stations"], dependencies=[viewer])
    async def get_station(station_id: str) -> dict[str, Any]:
        st = reg.stations.get(station_id)
        if st is None:
            raise HTTPException(404, f"no station {station_id!r}")
        return st.view(stale_s)

    @app.delete("/api/v1/stations/{station_id}", tags=["stations"], dependencies=[admin])
    async def delete_station(station_id: str) -> dict[str, Any]:
        try:
            await reg.remove_station(station_id)
        except KeyError:
            raise HTTPException(404, f"no station {station_id!r}") from None
        return {"deleted": station_id}

    @app.get("/api/v1/stations/{station_id}/connectors", tags=["stations"], dependencies=[viewer])
    async def station_connectors(station_id: str) -> list[dict[str, Any]]:
        st = reg.stations.get(station_id)
        if st is None:
            raise HTTPException(404, f"no station {station_id!r}")
        return _connectors([st])

    def _connectors(stations: list[Any]) -> list[dict[str, Any]]:
        return connectors_view(stations)

    @app.get("/api/v1/connectors", tags=["stations"], dependencies=[viewer])
    async def connectors() -> list[dict[str, Any]]:
        return _connectors(list(reg.stations.values()))

    @app.post("/api/v1/stations/{station_id}/ocpp/{action}", tags=["stations"], dependencies=[operator])
    async def ocpp_call(station_id: str, action: str, payload: Annotated[dict[str, Any], Body()]) -> JSONResponse:
        """Send ``action`` to the station with ``payload`` exactly as on the wire (camelCase).

        200 ``{"status": "CallResult", "payload": {...}}`` or
        ``{"status": "CallError", "payload": {"errorCode", ...}}``; 404 unknown station, 409 station offline,
        400 payload breaks the action's schema, 504 no answer in time."""
        try:
            kind, res = await cs.call(station_id, action, payload, ctx.call_timeout_s)
        except OperatorCallError as exc:
            code = {"not_found": 404, "offline": 409, "schema": 400, "timeout": 504}.get(exc.kind, 500)
            return JSONResponse(status_code=code, content={"error": exc.kind, "detail": str(exc)})
        return JSONResponse(status_code=200, content=json_safe({"status": kind, "payload": res}))

    # -- sessions and measurements ----------------------------------------------------------------------------

    @app.get("/api/v1/sessions", tags=["sessions"], dependencies=[viewer])
    async def sessions(
        state: Literal["active", "ended", "all"] = "active", limit: Annotated[int, Query(ge=1, le=10000)] = 500
    ) -> list[dict[str, Any]]:
        if state == "active":
            return [s.view() for s in list(reg.sessions.values())[:limit]]
        q = sa.select(T.sessions).order_by(T.sessions.c.started_at.desc()).limit(limit)
        if state == "ended":
            q = q.where(T.sessions.c.state == "ended")
        await asyncio.to_thread(reg.db.flush)
        return await asyncio.to_thread(reg.db.read, q)

    @app.get("/api/v1/sessions/{session_id}", tags=["sessions"], dependencies=[viewer])
    async def session(session_id: str) -> dict[str, Any]:
        s = reg.sessions.get(session_id)
        if s is not None:
            return s.view()
        await asyncio.to_thread(reg.db.flush)
        rows = await asyncio.to_thread(reg.db.read, sa.select(T.sessions).where(T.sessions.c.id == session_id))
        if not rows:
            raise HTTPException(404, f"no session {session_id!r}")
        return rows[0]

    @app.get("/api/v1/meter-values", tags=["sessions"], dependencies=[viewer])
    async def meter_values(
        station_id: str | None = None,
        evse_id: int | None = None,
        transaction_id: str | None = None,
        measurand: str | None = None,
        limit: Annotated[int, Query(ge=1, le=100000)] = 1000,
    ) -> list[dict[str, Any]]:
        """Newest first."""
        q = sa.select(T.meter_values).order_by(T.meter_values.c.id.desc()).limit(limit)
        for col, val in (
            (T.meter_values.c.station_id, station_id),
            (T.meter_values.c.evse_id, evse_id),
            (T.meter_values.c.transaction_id, transaction_id),
            (T.meter_values.c.measurand, measurand),
        ):
            if val is not None:
                q = q.where(col == val)
        await asyncio.to_thread(reg.db.flush)
        return await asyncio.to_thread(reg.db.read, q)

    # -- plan, site, alerts -----------------------------------------------------------------------------------

    @app.get("/api/v1/plan", tags=["control"], dependencies=[viewer])
    async def plan() -> dict[str, Any]:
        p = ctx.controller.plan
        out = p.view() if p is not None else {"at": None, "setpoints": []}
        out["cycles"] = ctx.controller.cycles
        out["last_cycle_s"] = ctx.controller.last_cycle_s
        return out

    @app.post("/api/v1/plan", tags=["control"], dependencies=[operator])
    async def replan() -> dict[str, Any]:
        """Run a control cycle now and return its plan."""
        p = await ctx.controller.cycle("api")
        return p.view()

    @app.get("/api/v1/setpoints", tags=["control"], dependencies=[viewer])
    async def setpoints() -> list[dict[str, Any]]:
        """Setpoint vs measured power [kW] per connected EVSE (negative: discharging, V2G)."""
        return setpoints_view(reg)

    @app.get("/api/v1/site", tags=["control"], dependencies=[viewer])
    async def site() -> dict[str, Any]:
        """Site power against its limits. ``import_kw``: base load forecast plus each connected EVSE's measured
        power (its setpoint when the measurement is stale); ``setpoints_kw``: station -> profile target (1.6:
        connector id, 2.0.1: EVSE id) -> kW."""
        return site_view(reg)

    @app.get("/api/v1/stats", tags=["control"], dependencies=[viewer])
    async def stats() -> dict[str, Any]:
        """Counters: rows written by the store, frames received, control cycles and their last duration."""
        return {
            "rows_written": reg.db.rows_written,
            "store_queue": reg.db.queue_size(),
            "frames_received": sum(link.frames_received for link in cs.links.values()),
            "connections": len(cs.links),
            "cycles": ctx.controller.cycles,
            "last_cycle_s": ctx.controller.last_cycle_s,
            "profiles_sent": ctx.controller.profiles_sent,
        }

    @app.get("/api/v1/alerts", tags=["control"], dependencies=[viewer])
    async def alerts(limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
        """Newest first."""
        return list(reversed(list(reg.alerts)))[:limit]

    # -- fleet --------------------------------------------------------------------------------------------------

    @app.get("/api/v1/vehicles", tags=["fleet"], dependencies=[viewer])
    async def vehicles() -> list[dict[str, Any]]:
        return [v.view() for v in reg.vehicles.values()]

    @app.post("/api/v1/vehicles", tags=["fleet"], status_code=201, dependencies=[operator])
    async def add_vehicle(body: VehicleIn) -> dict[str, Any]:
        return (await reg.add_vehicle(_dump(body))).view()

    @app.get("/api/v1/vehicles/{vehicle_id}", tags=["fleet"], dependencies=[viewer])
    async def vehicle(vehicle_id: str) -> dict[str, Any]:
        v = reg.vehicles.get(vehicle_id)
        if v is None:
            raise HTTPException(404, f"no vehicle {vehicle_id!r}")
        out = v.view()
        out["schedule"] = [
            {"departure": d.isoformat(), "target_soc": t, "source": s} for d, t, s in reg.schedule.get(vehicle_id, [])
        ]
        return out

    @app.get("/api/v1/schedule", tags=["fleet"], dependencies=[viewer])
    async def get_schedule() -> list[dict[str, Any]]:
        return [
            {"vehicle_id": vid, "departure": d.isoformat(), "target_soc": t, "source": s}
            for vid, entries in reg.schedule.items()
            for d, t, s in entries
        ]

    @app.post("/api/v1/schedule", tags=["fleet"], status_code=201, dependencies=[operator])
    async def add_schedule(body: list[ScheduleIn]) -> dict[str, Any]:
        """Departures of the fleet: ``[{"vehicle_id", "departure" (ISO 8601), "target_soc"}]``."""
        n = await reg.add_schedule([_dump(b) for b in body], "api")
        return {"added": n}

    @app.post("/api/v1/schedule/csv", tags=["fleet"], status_code=201, dependencies=[operator])
    async def import_schedule(request: Request) -> dict[str, Any]:
        """A CSV body with the columns ``vehicle,departure,target`` (ISO 8601 departure, target 0-1)."""
        text = (await request.body()).decode("utf-8-sig")
        return {"added": await reg.import_schedule_csv(text)}

    @app.get("/api/v1/id-tokens", tags=["fleet"], dependencies=[viewer])
    async def id_tokens() -> list[dict[str, Any]]:
        return [t.view() for t in reg.tokens.values()]

    @app.post("/api/v1/id-tokens", tags=["fleet"], status_code=201, dependencies=[operator])
    async def add_id_token(body: IdTokenIn) -> dict[str, Any]:
        return (await reg.add_token(_dump(body))).view()

    # -- the run store ----------------------------------------------------------------------------------------

    def _store_call(fn: Any) -> Any:
        try:
            with open_store(ctx.runs_db) as st:
                return json_safe(fn(st))
        except StoreError as exc:
            raise HTTPException(404, str(exc)) from None

    @app.get("/api/v1/runs", tags=["store"], dependencies=[viewer])
    async def runs(limit: Annotated[int, Query(ge=1, le=1000)] = 20, live: bool = False) -> Any:
        """Runs of the run store (``evfleet history``), newest first: the user's runs, or the dashboard's live
        chunks with ``?live=true``."""
        return await asyncio.to_thread(_store_call, lambda st: st.list_runs(limit=limit, live=live))

    @app.get("/api/v1/runs/{run_id}", tags=["store"], dependencies=[viewer])
    async def run(run_id: str) -> Any:
        return await asyncio.to_thread(_store_call, lambda st: st.get_run(run_id))

    @app.get("/api/v1/scenarios/{content_hash}", tags=["store"], dependencies=[viewer])
    async def scenario(content_hash: str) -> Any:
        """A stored scenario (the ``evfleet.scenario/1`` document) by its content hash (a run's ``scenario_hash``)."""
        return await asyncio.to_thread(_store_call, lambda st: st.scenario(content_hash).to_dict())

    # -- accounts ------------------------------------------------------------------------------------------------

    @app.post("/api/v1/login", tags=["accounts"])
    async def login(body: LoginIn) -> dict[str, Any]:
        """A new API token for a user's name and password (shown once)."""
        u = await ctx.accounts.login(body.name, body.password)
        if u is None:
            reg.alert("login_refused", f"login refused for user {body.name!r}")
            raise HTTPException(401, "wrong name or password")
        token_id, token = await ctx.accounts.new_token(u.name, "login")
        return {"token": token, "token_id": token_id, "user": u.name, "role": u.role}

    @app.get("/api/v1/me", tags=["accounts"])
    async def me(u: User = Depends(user)) -> dict[str, Any]:
        return {"name": u.name, "role": u.role, "auth": ctx.auth}

    @app.get("/api/v1/users", tags=["accounts"], dependencies=[admin])
    async def users() -> list[dict[str, Any]]:
        return ctx.accounts.list_users()

    @app.post("/api/v1/users", tags=["accounts"], status_code=201, dependencies=[admin])
    async def add_user(body: UserIn) -> dict[str, Any]:
        u = await ctx.accounts.add_user(body.name, body.password, body.role)
        return {"name": u.name, "role": u.role}

    @app.get("/api/v1/tokens", tags=["accounts"], dependencies=[admin])
    async def tokens() -> list[dict[str, Any]]:
        """Token ids, users and labels (never the tokens)."""
        return ctx.accounts.list_tokens()

    @app.post("/api/v1/tokens", tags=["accounts"], status_code=201)
    async def new_token(body: TokenIn, u: User = Depends(user)) -> dict[str, Any]:
        """A new API token for yourself (an admin may name another ``user``); shown once."""
        owner = body.user or u.name
        if owner != u.name and not role_allows(u.role, "admin"):
            raise HTTPException(403, "only an admin creates tokens for others")
        if owner not in ctx.accounts.users:
            raise HTTPException(422, f"unknown user {owner!r} (create it with POST /api/v1/users)")
        token_id, token = await ctx.accounts.new_token(owner, body.label)
        return {"token": token, "token_id": token_id, "user": owner}

    @app.delete("/api/v1/tokens/{token_id}", tags=["accounts"], dependencies=[admin])
    async def revoke(token_id: str) -> dict[str, Any]:
        if not await ctx.accounts.revoke_token(token_id):
            raise HTTPException(404, f"no token {token_id!r}")
        return {"revoked": token_id}

    return app
