"""The operate store: stations, EVSEs, connectors, sessions, meter values, tokens, vehicles, accounts in SQLite.

The central system keeps its own SQLite file (default ``operate.db`` beside the run store, ``--db`` /
``store:`` in the depot file), with its own tables (``METADATA``, created on first open) so that it can write
2,000 meter values per second without touching the run store's migrations. SQLite runs in WAL mode; every write
goes through one writer thread (:class:`OperateDB`) that commits in batches (every ``flush_interval_s`` or
``batch_rows`` rows, whichever comes first). A caller that must know its record is on disk before it answers the
station (a transaction start or stop, a registration) awaits :meth:`OperateDB.write_durable`; meter values are
queued (:meth:`OperateDB.write`) and land within one flush interval. Times are ISO 8601 UTC text; power [W] and
energy [Wh] as the stations report them, limits [kW].
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from evfleet._common.errors import InputError, RunError

__all__ = [
    "METADATA",
    "OperateDB",
    "alerts",
    "api_tokens",
    "connectors",
    "evses",
    "id_tokens",
    "live",
    "meter_values",
    "profiles",
    "requests",
    "schedule",
    "sessions",
    "stations",
    "users",
    "vehicles",
]

METADATA = sa.MetaData()

stations = sa.Table(
    "op_stations",
    METADATA,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("ocpp_version", sa.String(8), nullable=False),
    sa.Column("max_power_kw", sa.Float, nullable=False),
    sa.Column("registration", sa.String(16), nullable=False, default="Accepted"),
    sa.Column("charging_rate_unit", sa.String(1), nullable=False, default="W"),
    sa.Column("voltage_v", sa.Float, nullable=False, default=230.0),
    sa.Column("vendor", sa.Text),
    sa.Column("model", sa.Text),
    sa.Column("serial", sa.Text),
    sa.Column("firmware", sa.Text),
    sa.Column("boot_at", sa.String(40)),
    sa.Column("last_seen_at", sa.String(40)),
    sa.Column("created_at", sa.String(40), nullable=False),
)

evses = sa.Table(
    "op_evses",
    METADATA,
    sa.Column("station_id", sa.String(64), primary_key=True),
    sa.Column("evse_id", sa.Integer, primary_key=True),
    sa.Column("max_power_kw", sa.Float, nullable=False),
    sa.Column("phases", sa.Integer, nullable=False, default=3),
    sa.Column("bidirectional", sa.Boolean, nullable=False, default=False),  # declared V2X (discharge) capable
)

#: Columns added after a table's first release: (table, column, SQL type and default), added to older stores.
_ADDED_COLUMNS = (("op_evses", "bidirectional", "BOOLEAN NOT NULL DEFAULT 0"),)

connectors = sa.Table(
    "op_connectors",
    METADATA,
    sa.Column("station_id", sa.String(64), primary_key=True),
    sa.Column("evse_id", sa.Integer, primary_key=True),
    sa.Column("connector_id", sa.Integer, primary_key=True),
    sa.Column("status", sa.String(24), nullable=False, default="Unknown"),
    sa.Column("error_code", sa.String(40)),
    sa.Column("status_at", sa.String(40)),
)

id_tokens = sa.Table(
    "op_id_tokens",
    METADATA,
    sa.Column("id_token", sa.String(64), primary_key=True),
    sa.Column("type", sa.String(24), nullable=False, default="ISO14443"),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("group_id", sa.String(64)),
    sa.Column("vehicle_id", sa.String(64)),
    sa.Column("expiry", sa.String(40)),
)

vehicles = sa.Table(
    "op_vehicles",
    METADATA,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("id_token", sa.String(64)),
    sa.Column("departure", sa.String(40)),  # "HH:MM" (daily, site time) or an ISO 8601 time
    sa.Column("target_soc", sa.Float),
)

schedule = sa.Table(
    "op_schedule",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("vehicle_id", sa.String(64), nullable=False, index=True),
    sa.Column("departure", sa.String(40), nullable=False),  # ISO 8601 UTC
    sa.Column("target_soc", sa.Float, nullable=False),
    sa.Column("source", sa.String(16), nullable=False),  # api | csv
    sa.Column("created_at", sa.String(40), nullable=False),
)

sessions = sa.Table(
    "op_sessions",
    METADATA,
    sa.Column("id", sa.String(64), primary_key=True),  # the OCPP transaction id (text)
    sa.Column("station_id", sa.String(64), nullable=False, index=True),
    sa.Column("evse_id", sa.Integer, nullable=False),
    sa.Column("connector_id", sa.Integer, nullable=False),
    sa.Column("id_token", sa.String(64)),
    sa.Column("vehicle_id", sa.String(64)),
    sa.Column("state", sa.String(12), nullable=False),  # active | ended
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("stopped_at", sa.String(40)),
    sa.Column("meter_start_wh", sa.Float),
    sa.Column("meter_stop_wh", sa.Float),
    sa.Column("energy_wh", sa.Float),
    sa.Column("soc_arrival", sa.Float),
    sa.Column("soc_arrival_source", sa.String(16)),  # ev | iso15118 | default
    sa.Column("soc", sa.Float),
    sa.Column("departure", sa.String(40)),
    sa.Column("target_soc", sa.Float),
    sa.Column("needs_source", sa.String(16)),  # iso15118 | schedule | vehicle | default
    sa.Column("ev_max_power_kw", sa.Float),
    sa.Column("stop_reason", sa.String(40)),
)

meter_values = sa.Table(
    "op_meter_values",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("station_id", sa.String(64), nullable=False),
    sa.Column("evse_id", sa.Integer, nullable=False),
    sa.Column("connector_id", sa.Integer),
    sa.Column("transaction_id", sa.String(64), index=True),
    sa.Column("timestamp", sa.String(40), nullable=False),
    sa.Column("measurand", sa.String(48), nullable=False),
    sa.Column("phase", sa.String(8)),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("unit", sa.String(12)),
    sa.Column("context", sa.String(32)),
    sa.Column("received_at", sa.String(40), nullable=False),
    sa.Index("ix_op_meter_station_evse", "station_id", "evse_id"),
)

profiles = sa.Table(
    "op_profiles",
    METADATA,
    sa.Column("station_id", sa.String(64), primary_key=True),
    sa.Column("evse_id", sa.Integer, primary_key=True),  # 0: the station-wide (fail-safe) profile
    sa.Column("purpose", sa.String(32), primary_key=True),
    sa.Column("limit_kw", sa.Float, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("sent_at", sa.String(40), nullable=False),
)

alerts = sa.Table(
    "op_alerts",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("level", sa.String(8), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("station_id", sa.String(64)),
    sa.Column("message", sa.Text, nullable=False),
)

live = sa.Table(  # the depot's live view (evfleet.operate.views.depot_snapshot), one row, for the dashboard
    "op_live",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("snapshot", sa.Text, nullable=False),  # JSON
)

requests = sa.Table(  # what a dashboard user asked the running server to do (polled by evfleet serve)
    "op_requests",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("user", sa.String(64), nullable=False),
    sa.Column("role", sa.String(12), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("done_at", sa.String(40)),
)

users = sa.Table(
    "op_users",
    METADATA,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("role", sa.String(12), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
)

api_tokens = sa.Table(
    "op_api_tokens",
    METADATA,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),  # sha256 of the token
    sa.Column("user", sa.String(64), nullable=False),
    sa.Column("label", sa.Text),
    sa.Column("created_at", sa.String(40), nullable=False),
)

_STOP = object()


class OperateDB:
    """The operate store at ``path`` (a SQLite file), with one writer thread committing in batches.

    ``write(fn)`` queues ``fn(conn)`` (run in the writer's next transaction); ``write_durable(fn)`` awaits its
    commit; ``insert_many(table, rows)`` queues rows for one batched ``executemany``. Reads (``read``) use their
    own connection and see what is committed.
    """

    def __init__(self, path: str | Path, flush_interval_s: float = 0.1, batch_rows: int = 5000) -> None:
        self.path = Path(path).expanduser().resolve()
        if self.path.is_dir():
            raise InputError(f"option 'db': {self.path} is a folder, expected a SQLite file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(f"sqlite:///{self.path}", connect_args={"timeout": 30.0})

        @sa.event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a commit survives a crash of the process
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        METADATA.create_all(self.engine)
        with self.engine.begin() as conn:  # a store made by an earlier evfleet: add the newer columns
            for table, column, decl in _ADDED_COLUMNS:
                have = {r[1] for r in conn.exec_driver_sql(f"PRAGMA table_info({table})")}
                if column not in have:
                    conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
        self.flush_interval_s = flush_interval_s
        self.batch_rows = batch_rows
        self._queue: queue.Queue[Any] = queue.Queue()
        self._error: BaseException | None = None
        self.rows_written = 0
        self._thread = threading.Thread(target=self._run, name="evfleet-operate-db", daemon=True)
        self._thread.start()

    # -- writing -------------------------------------------------------------------------------------------

    def write(self, fn: Callable[[sa.Connection], Any], urgent: bool = False) -> Future[Any]:
        """Queue ``fn(conn)`` for the writer's next transaction; return a future set after the commit. ``urgent``:
        commit as soon as what is queued now is written (someone waits), instead of after the flush interval."""
        fut: Future[Any] = Future()
        self._queue.put(("urgent" if urgent else "fn", fn, fut))
        return fut

    def insert_many(self, table: sa.Table, rows: list[Mapping[str, Any]]) -> None:
        """Queue ``rows`` for insertion into ``table`` (batched with other queued rows of the same table)."""
        if rows:
            self._queue.put(("rows", table, rows))

    async def write_durable(self, fn: Callable[[sa.Connection], Any], timeout_s: float = 30.0) -> Any:
        """Run ``fn(conn)`` in the writer and wait until it is committed; return its result."""
        fut = self.write(fn, urgent=True)
        return await asyncio.wait_for(asyncio.wrap_future(fut), timeout_s)

    def upsert(self, table: sa.Table, row: Mapping[str, Any]) -> Future[Any]:
        """Queue an insert-or-replace of ``row`` (SQLite ``INSERT OR REPLACE``)."""
        stmt = table.insert().prefix_with("OR REPLACE")
        return self.write(lambda conn: conn.execute(stmt, [dict(row)]))

    def queue_size(self) -> int:
        """Writes waiting for the writer thread."""
        return self._queue.qsize()

    def flush(self, timeout_s: float = 30.0) -> None:
        """Block until everything queued so far is committed."""
        self.write(lambda conn: None, urgent=True).result(timeout=timeout_s)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            deadline = time.monotonic() + self.flush_interval_s
            n_rows = 0
            stop = False
            urgent = item[0] == "urgent"
            while n_rows < self.batch_rows:
                left = deadline - time.monotonic()
                if left <= 0 and not urgent:
                    break
                try:
                    nxt = self._queue.get_nowait() if urgent else self._queue.get(timeout=left)
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.append(nxt)
                urgent = urgent or nxt[0] == "urgent"
                if nxt[0] == "rows":
                    n_rows += len(nxt[2])

            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[Any]) -> None:
        futures: list[tuple[Future[Any], Any]] = []
        try:
            with self.engine.begin() as conn:
                pending: dict[sa.Table, list[Mapping[str, Any]]] = {}
                for kind, a, b in batch:
                    if kind == "rows":
                        pending.setdefault(a, []).extend(b)
                        continue
                    for table, rows in pending.items():  # keep the order of writes to a table
                        conn.execute(table.insert(), rows)
                        self.rows_written += len(rows)
                    pending = {}
                    futures.append((b, a(conn)))  # "fn" and "urgent"
                for table, rows in pending.items():
                    conn.execute(table.insert(), rows)
                    self.rows_written += len(rows)
        except BaseException as exc:  # a failed batch fails every waiter; the writer keeps running
            self._error = exc
            for kind, _a, b in batch:
                if kind != "rows" and not b.done():
                    b.set_exception(RunError(f"operate store write failed: {exc}"))
            return
        for fut, result in futures:
            if not fut.done():
                fut.set_result(result)

    # -- reading -------------------------------------------------------------------------------------------

    def read(self, stmt: sa.Executable) -> list[dict[str, Any]]:
        """Rows of ``stmt`` as dicts (committed data only)."""
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    def read_all(self, tables: Iterable[sa.Table]) -> dict[str, list[dict[str, Any]]]:
        """Every row of each table, by table name."""
        with self.engine.connect() as conn:
            return {t.name: [dict(r._mapping) for r in conn.execute(sa.select(t))] for t in tables}

    def close(self) -> None:
        """Commit what is queued, stop the writer and release the file."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout=60)
        with contextlib.suppress(Exception):
            self.engine.dispose()
