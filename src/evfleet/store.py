"""The run store: every run, comparison, imported dataset and grid-quality event, kept in a database.

Units are those of the stored columns: power [kW], energy [kWh], prices [MAD/kWh], SOC fraction 0-1; bookkeeping
times are ISO 8601 UTC text, series times the site's local time with its UTC offset.

Where: a SQLite database in WAL mode at ``platformdirs.user_data_path("evfleet") / "evfleet.db"`` by default,
or the path / SQLAlchemy URL given by ``--db`` or the ``EVFLEET_DB`` environment variable (``postgresql+psycopg://``
URLs work for a team server). Per-vehicle traces (power and SOC of every vehicle at every step) are written as
zstd-compressed Parquet files in a directory next to the database (``<db stem>-traces/``, or ``EVFLEET_TRACE_DIR``)
and referenced from the database by relative path and SHA-256 checksum.

Guarantees (see ``docs/store.md``): the schema is versioned by the Alembic migrations shipped in
``evfleet/migrations``; a database written by a newer evfleet is refused with a clear error and left untouched;
a run (or a whole comparison) is written in one transaction, its trace file is complete and fsynced before that
transaction commits, so killing the process at any moment leaves every committed run intact and no partial run.

References: SQLite WAL mode and ``BEGIN IMMEDIATE`` (https://sqlite.org/wal.html, https://sqlite.org/lang_transaction.html);
Alembic (https://alembic.sqlalchemy.org); Apache Parquet (https://parquet.apache.org).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from evfleet import __version__
from evfleet import store_schema as S

if TYPE_CHECKING:
    from evfleet.compare import Comparison
    from evfleet.scenario import Scenario
    from evfleet.simulate import RunResult

__all__ = [
    "ENV_DB",
    "ENV_TRACE_DIR",
    "DbLocation",
    "SchemaTooNewError",
    "Store",
    "StoreError",
    "default_db_path",
    "open_store",
    "resolve_location",
    "store_comparison",
    "store_run",
    "utc_now",
]

ENV_DB = "EVFLEET_DB"
ENV_TRACE_DIR = "EVFLEET_TRACE_DIR"
TRACE_FORMAT = "parquet-zstd/1"
_SQLITE_BUSY_TIMEOUT_S = 60.0


class StoreError(ValueError):
    """A store operation failed on user input (unknown id, bad location, damaged file); nothing was changed."""


class SchemaTooNewError(StoreError):
    """The database was written by a newer evfleet (unknown schema revision); it is left untouched."""


def utc_now() -> str:
    """The current UTC time as ISO 8601 text with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:11]


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, allow_nan=False, sort_keys=False, default=_json_default)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, pd.Timestamp | datetime):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _clean_json(data: Any) -> Any:
    """Replace non-finite floats by ``None`` so the JSON is strict."""
    if isinstance(data, Mapping):
        return {str(k): _clean_json(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_clean_json(v) for v in data]
    if isinstance(data, float | np.floating):
        return float(data) if np.isfinite(data) else None
    if isinstance(data, np.integer | np.bool_):
        return data.item()
    return data


# --- location ---------------------------------------------------------------------------------------------------


def default_db_path() -> Path:
    """``<user data dir>/evfleet.db`` (platformdirs; e.g. ``~/.local/share/evfleet/evfleet.db`` on Linux)."""
    import platformdirs

    return platformdirs.user_data_path("evfleet", appauthor=False) / "evfleet.db"


@dataclass(frozen=True)
class DbLocation:
    """Where the store lives: a SQLAlchemy ``url``, the trace directory, and the SQLite file (if any)."""

    url: str
    trace_dir: Path
    sqlite_path: Path | None

    @property
    def display(self) -> str:
        """The location as shown to users (password hidden)."""
        if self.sqlite_path is not None:
            return str(self.sqlite_path)
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)


def resolve_location(
    db: str | os.PathLike[str] | None = None, trace_dir: str | os.PathLike[str] | None = None
) -> DbLocation:
    """Resolve ``db`` (a path or SQLAlchemy URL), else ``$EVFLEET_DB``, else the default path."""
    text = str(db) if db not in (None, "") else os.environ.get(ENV_DB, "")
    env_traces = os.environ.get(ENV_TRACE_DIR, "")
    if not text:
        path: Path | None = default_db_path()
        url = f"sqlite:///{path}"
    elif "://" in text:
        try:
            parsed = sa.engine.make_url(text)
        except sa.exc.ArgumentError as exc:
            raise StoreError(f"option '--db': not a database URL (value {text!r}): {exc}") from None
        url = text
        if parsed.get_backend_name() == "sqlite":
            if not parsed.database or parsed.database == ":memory:":
                raise StoreError(f"option '--db': an in-memory SQLite database cannot keep runs (value {text!r})")
            path = Path(parsed.database).expanduser().resolve()
            url = parsed.set(database=str(path)).render_as_string(hide_password=False)
        else:
            path = None
    else:
        path = Path(text).expanduser().resolve()
        url = f"sqlite:///{path}"
    if trace_dir not in (None, ""):
        traces = Path(str(trace_dir)).expanduser().resolve()
    elif env_traces:
        traces = Path(env_traces).expanduser().resolve()
    elif path is not None:
        traces = path.parent / f"{path.stem}-traces"
    else:
        parsed = sa.engine.make_url(url)
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{parsed.host or 'local'}_{parsed.port or ''}_{parsed.database or ''}")
        traces = default_db_path().parent / "traces" / slug
    return DbLocation(url=url, trace_dir=traces, sqlite_path=path)


# --- engine and migrations --------------------------------------------------------------------------------------


def _migrations_dir() -> Path:
    return Path(str(resources.files("evfleet").joinpath("migrations")))


def _alembic_config(connection: sa.engine.Connection | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_migrations_dir()))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def known_revisions() -> list[str]:
    """Schema revisions this evfleet knows, oldest first."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def _make_engine(loc: DbLocation) -> sa.Engine:
    if loc.sqlite_path is None:
        return sa.create_engine(loc.url, pool_pre_ping=True)
    loc.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(loc.url, connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_S})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")  # a committed run survives a power cut too
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(_SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.engine.Connection) -> None:
        # Take the write lock at the start: two writers queue instead of failing with "database is locked".
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _current_revision(conn: sa.engine.Connection) -> str | None:
    insp = sa.inspect(conn)
    names = set(insp.get_table_names())
    if "alembic_version" not in names:
        if names & {"runs", "scenarios"}:
            raise StoreError("the database has evfleet-like tables but no schema version; refusing to touch it")
        return None
    rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).fetchall()
    if len(rows) != 1:
        raise StoreError(f"the database's schema version table is damaged ({len(rows)} rows); refusing to touch it")
    return str(rows[0][0])


def _migrate(engine: sa.Engine, loc: DbLocation) -> str:
    """Upgrade the schema to :data:`SCHEMA_HEAD` in one transaction; refuse newer schemas. Return the revision."""
    from alembic import command

    known = known_revisions()
    with engine.begin() as conn:
        current = _current_revision(conn)
        if current is not None and current not in known:
            raise SchemaTooNewError(
                f"the database {loc.display} has schema revision {current!r}, which this evfleet {__version__} "
                f"does not know (it knows up to {known[-1]!r}): it was written by a newer evfleet. Upgrade evfleet, "
                "or use another database with --db / EVFLEET_DB. The database was not modified."
            )
        if current != known[-1]:
            command.upgrade(_alembic_config(conn), "head")
    return known[-1]


# --- trace files ------------------------------------------------------------------------------------------------


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_bytes_durably(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file, fsync it, rename it to ``path`` and fsync the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def trace_table_bytes(vehicle_id: np.ndarray, power_kw: np.ndarray, soc: np.ndarray) -> bytes:
    """Parquet bytes (zstd) of a per-vehicle trace: ``vehicle_id``, ``power_kw`` (T,) and ``soc`` (T+1,) per row."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = power_kw.shape[1]
    power = pa.FixedSizeListArray.from_arrays(pa.array(np.ascontiguousarray(power_kw, dtype=float).ravel()), t)
    socs = pa.FixedSizeListArray.from_arrays(pa.array(np.ascontiguousarray(soc, dtype=float).ravel()), t + 1)
    table = pa.table(
        {"vehicle_id": pa.array([str(x) for x in vehicle_id], pa.string()), "power_kw": power, "soc": socs}
    )
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def read_trace_bytes(data: bytes) -> dict[str, np.ndarray]:
    """Inverse of :func:`trace_table_bytes`: ``vehicle_id`` (N,), ``power_kw`` (N, T), ``soc`` (N, T+1)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(pa.BufferReader(data))
    n = table.num_rows
    out: dict[str, np.ndarray] = {"vehicle_id": np.asarray(table.column("vehicle_id").to_pylist(), dtype=object)}
    for name in ("power_kw", "soc"):
        col = table.column(name).combine_chunks()
        width = col.type.list_size
        out[name] = col.flatten().to_numpy(zero_copy_only=False).reshape(n, width)
    return out


# --- events -----------------------------------------------------------------------------------------------------

_EVENT_ALIASES = {
    "step": ("step",),
    "time": ("time", "timestamp", "start", "start_time"),
    "kind": ("kind", "type", "event", "metric", "quantity"),
    "severity": ("severity", "level", "status"),
    "value": ("value", "measured", "max_value"),
    "limit_value": ("limit", "limit_value", "threshold"),
    "unit": ("unit", "units"),
    "standard": ("standard", "reference", "norm"),
}


def normalise_events(events: pd.DataFrame | Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """Grid-quality events as rows of the ``grid_events`` table; unknown columns are kept in ``detail_json``.

    Accepts the ``events.csv`` of the grid-quality module (or any table with a ``kind``/``type`` column).
    """
    if events is None:
        return []
    frame = events if isinstance(events, pd.DataFrame) else pd.DataFrame(list(events))
    if frame.empty:
        return []
    records = frame.to_dict(orient="records")
    cols = list(frame.columns)
    mapping: dict[str, str] = {}
    for target, aliases in _EVENT_ALIASES.items():
        for alias in aliases:
            if alias in cols and alias not in mapping.values():
                mapping[target] = alias
                break
    if "kind" not in mapping:
        raise StoreError(f"grid-quality events need a 'kind' (or 'type') column; columns: {', '.join(map(str, cols))}")
    out = []
    for seq, rec in enumerate(records):
        rec = _clean_json(rec)
        row: dict[str, Any] = {"seq": seq, "detail_json": _dumps(rec)}
        for target in _EVENT_ALIASES:
            val = rec.get(mapping[target]) if target in mapping else None
            if target in ("value", "limit_value"):
                try:
                    val = None if val is None or val == "" else float(val)
                except (TypeError, ValueError):
                    val = None
                if val is not None and not np.isfinite(val):
                    val = None
            elif target == "step":
                try:
                    val = None if val is None or val == "" else int(val)
                except (TypeError, ValueError):
                    val = None
            elif val is not None:
                val = str(val)
            row[target] = val
        row["kind"] = row["kind"] or "unknown"
        out.append(row)
    return out


# --- the store --------------------------------------------------------------------------------------------------


def _rows_from_columns(columns: Mapping[str, Any], n: int, names: list[str]) -> list[dict[str, Any]]:
    lists: dict[str, list] = {}
    for name in names:
        if name in columns:
            arr = np.asarray(columns[name])
            lists[name] = [str(x) for x in arr] if arr.dtype.kind in "OUS" else arr.tolist()
        else:
            lists[name] = [None] * n
    return [dict(zip(names, vals, strict=True)) for vals in zip(*(lists[k] for k in names), strict=True)]


class Store:
    """An open run store. Create with :func:`open_store`; use as a context manager or call :meth:`close`."""

    def __init__(self, location: DbLocation) -> None:
        self.location = location
        self.engine = _make_engine(location)
        try:
            self.revision = _migrate(self.engine, location)
        except Exception:
            self.engine.dispose()
            raise

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    @property
    def trace_dir(self) -> Path:
        return self.location.trace_dir

    @property
    def is_sqlite(self) -> bool:
        return self.location.sqlite_path is not None

    # -- writing ---------------------------------------------------------------------------------------------

    def _ensure_scenario(self, conn: sa.engine.Connection, scenario: Scenario) -> str:
        h = scenario.content_hash
        exists = conn.execute(sa.select(S.scenarios.c.hash).where(S.scenarios.c.hash == h)).first()
        if exists is None:
            stmt = self._insert_ignore(S.scenarios, ["hash"])
            conn.execute(
                stmt,
                {
                    "hash": h,
                    "name": scenario.name,
                    "start": scenario.start.isoformat(),
                    "step_minutes": int(scenario.step_minutes),
                    "n_steps": int(scenario.n_steps),
                    "n_vehicles": int(scenario.n_vehicles),
                    "created_at": utc_now(),
                    "scenario_json": scenario.to_json(),
                },
            )
        return h

    def _insert_ignore(self, table: sa.Table, keys: list[str]) -> Any:
        name = self.engine.dialect.name
        if name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert

            return insert(table).on_conflict_do_nothing(index_elements=keys)
        if name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table).on_conflict_do_nothing(index_elements=keys)
        return sa.insert(table)

    def _write_trace(self, run_id: str, result: RunResult) -> tuple[Path, dict[str, Any]]:
        data = trace_table_bytes(result.scenario.vehicles.id, result.power_kw, result.soc)
        rel = f"{run_id}.parquet"
        path = self.trace_dir / rel
        write_bytes_durably(path, data)
        meta = {
            "run_id": run_id,
            "path": rel,
            "sha256": hashlib.sha256(data).hexdigest(),
            "size_bytes": len(data),
            "format": TRACE_FORMAT,
        }
        return path, meta

    def _insert_run(
        self,
        conn: sa.engine.Connection,
        run_id: str,
        result: RunResult,
        kpis: Mapping[str, Any],
        trace_meta: Mapping[str, Any],
        *,
        started_at: str,
        finished_at: str,
        source: str,
        label: str | None,
        group_id: str | None,
        events: pd.DataFrame | Iterable[Mapping[str, Any]] | None,
        status: str = "completed",
    ) -> None:
        from dataclasses import asdict

        from evfleet.kpis import step_table_columns
        from evfleet.results import vehicle_table

        sc = result.scenario
        h = self._ensure_scenario(conn, sc)
        conn.execute(
            sa.insert(S.runs),
            {
                "id": run_id,
                "scenario_hash": h,
                "strategy": str(result.strategy),
                "mode": str(result.options.mode),
                "options_json": _dumps(_clean_json(asdict(result.options))),
                "strategy_params_json": _dumps(_clean_json(dict(result.strategy_params))),
                "evfleet_version": __version__,
                "started_at": started_at,
                "finished_at": finished_at,
                "status": status,
                "source": source,
                "label": label,
                "kpis_json": _dumps(_clean_json(dict(kpis))),
                "group_id": group_id,
            },
        )
        step_cols = step_table_columns(result)
        step_rows = _rows_from_columns(step_cols, sc.n_steps, S.SITE_STEP_COLUMNS)
        for r in step_rows:
            r["run_id"] = run_id
        if step_rows:
            conn.execute(sa.insert(S.site_steps), step_rows)
        vt = vehicle_table(result)
        vcols = {c: vt[c].to_numpy() for c in vt.columns}
        vrows = _rows_from_columns(vcols, len(vt), S.VEHICLE_COLUMNS)
        for i, r in enumerate(vrows):
            r["run_id"] = run_id
            r["idx"] = i
        if vrows:
            conn.execute(sa.insert(S.vehicle_summaries), vrows)
        ev_rows = normalise_events(events)
        for r in ev_rows:
            r["run_id"] = run_id
        if ev_rows:
            conn.execute(sa.insert(S.events), ev_rows)
        conn.execute(sa.insert(S.traces), dict(trace_meta))

    def save_run(
        self,
        result: RunResult,
        kpis: Mapping[str, Any] | None = None,
        *,
        started_at: str | None = None,
        finished_at: str | None = None,
        source: str = "run",
        label: str | None = None,
        events: pd.DataFrame | Iterable[Mapping[str, Any]] | None = None,
        group_id: str | None = None,
    ) -> str:
        """Store one run (scenario once by hash, KPIs, site series, vehicle summaries, events, trace); return its id.

        Everything lands in one transaction; the trace file is written (fsynced) first and removed again if the
        transaction fails.
        """
        from evfleet.kpis import compute_kpis

        kpis = compute_kpis(result) if kpis is None else kpis
        finished = finished_at or utc_now()
        started = started_at or finished
        run_id = _new_id("r")
        path, meta = self._write_trace(run_id, result)
        try:
            with self.engine.begin() as conn:
                self._insert_run(
                    conn,
                    run_id,
                    result,
                    kpis,
                    meta,
                    started_at=started,
                    finished_at=finished,
                    source=source,
                    label=label,
                    group_id=group_id,
                    events=events,
                )
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return run_id

    def save_group(
        self,
        kind: str,
        name: str,
        results: Mapping[str, RunResult],
        kpis: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        options: Mapping[str, Any] | None = None,
        meta: Mapping[str, Any] | None = None,
        started_at: str | None = None,
        finished_at: str | None = None,
        events: Mapping[str, Any] | None = None,
    ) -> tuple[str, dict[str, str]]:
        """Store a comparison/sweep: a group row and one run per key of ``results``, all in ONE transaction.

        Return ``(group_id, {key: run_id})``.
        """
        from evfleet.kpis import compute_kpis

        if kind not in ("comparison", "sweep", "live"):
            raise StoreError(f"group kind must be comparison, sweep or live (value {kind!r})")
        finished = finished_at or utc_now()
        started = started_at or finished
        group_id = _new_id({"comparison": "c", "sweep": "s", "live": "l"}[kind])
        run_ids: dict[str, str] = {}
        written: list[Path] = []
        metas = {}
        try:
            for key, result in results.items():
                run_id = _new_id("r")
                path, tmeta = self._write_trace(run_id, result)
                written.append(path)
                run_ids[key] = run_id
                metas[key] = tmeta
            scenario_hashes = {r.scenario.content_hash for r in results.values()}
            with self.engine.begin() as conn:
                conn.execute(
                    sa.insert(S.groups),
                    {
                        "id": group_id,
                        "kind": kind,
                        "name": name,
                        "created_at": finished,
                        "scenario_hash": next(iter(scenario_hashes)) if len(scenario_hashes) == 1 else None,
                        "options_json": _dumps(_clean_json(dict(options or {}))),
                        "meta_json": _dumps(_clean_json(dict(meta or {}))),
                    },
                )
                for key, result in results.items():
                    k = kpis[key] if kpis is not None and key in kpis else compute_kpis(result)
                    self._insert_run(
                        conn,
                        run_ids[key],
                        result,
                        k,
                        metas[key],
                        started_at=started,
                        finished_at=finished,
                        source=kind,
                        label=str(key),
                        group_id=group_id,
                        events=(events or {}).get(key),
                    )
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
        return group_id, run_ids

    def save_import(self, kind: str, name: str, source_file: str, source_sha256: str, payload: Any, n_rows: int) -> str:
        """Store a validated imported dataset (fleet, series, tariff or catalogue) in one transaction; return its id."""
        if kind not in ("fleet", "series", "tariff", "catalog"):
            raise StoreError(f"import kind must be fleet, series, tariff or catalog (value {kind!r})")
        import_id = _new_id("i")
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(S.imports),
                {
                    "id": import_id,
                    "kind": kind,
                    "name": name,
                    "source_file": source_file,
                    "source_sha256": source_sha256,
                    "imported_at": utc_now(),
                    "n_rows": int(n_rows),
                    "payload_json": _dumps(_clean_json(payload)),
                },
            )
        return import_id

    # -- reading ---------------------------------------------------------------------------------------------

    def resolve_id(self, ident: str) -> tuple[str, str]:
        """``(kind, full_id)`` for a run (``r...``), group (``c...``/``s...``/``l...``) or import (``i...``) id.

        A unique prefix of at least 3 characters is accepted (like git); raise :class:`StoreError` otherwise.
        """
        ident = str(ident).strip()
        if len(ident) < 3:
            raise StoreError(f"id {ident!r} is too short: give at least 3 characters (see `evfleet history`)")
        tables = {
            "r": (S.runs, "run"),
            "c": (S.groups, "group"),
            "s": (S.groups, "group"),
            "l": (S.groups, "group"),
            "i": (S.imports, "import"),
        }
        if ident[0] not in tables:
            raise StoreError(f"unknown id {ident!r}: run ids start with 'r', comparisons with 'c', imports with 'i'")
        table, kind = tables[ident[0]]
        pattern = ident.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self.engine.connect() as conn:
            ids = [
                r[0] for r in conn.execute(sa.select(table.c.id).where(table.c.id.like(pattern, escape="\\")).limit(3))
            ]
        if not ids:
            raise StoreError(f"no {kind} with id {ident!r} in {self.location.display} (see `evfleet history`)")
        if len(ids) > 1:
            raise StoreError(f"id {ident!r} is ambiguous: matches {', '.join(ids)}")
        return kind, ids[0]

    def run_id(self, ident: str) -> str:
        """The full id of run ``ident`` (a unique prefix is enough)."""
        kind, full = self.resolve_id(ident)
        if kind != "run":
            raise StoreError(f"{ident!r} is a {kind} id, not a run id")
        return full

    def list_runs(self, limit: int | None = 20, group_id: str | None = None) -> list[dict[str, Any]]:
        """Newest runs first: id, started, strategy, mode, status, scenario name and a few KPIs."""
        q = (
            sa.select(S.runs, S.scenarios.c.name.label("scenario"), S.scenarios.c.n_vehicles)
            .join(S.scenarios, S.runs.c.scenario_hash == S.scenarios.c.hash)
            .order_by(S.runs.c.started_at.desc(), S.runs.c.id)
        )
        if group_id is not None:
            q = q.where(S.runs.c.group_id == group_id).order_by(None).order_by(S.runs.c.started_at, S.runs.c.label)
        if limit is not None:
            q = q.limit(int(limit))
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
        for r in rows:
            r["kpis"] = json.loads(r.pop("kpis_json"))
        return rows

    def list_groups(self, limit: int | None = 20) -> list[dict[str, Any]]:
        """Newest comparisons/sweeps/live sessions first, with their number of runs."""
        n_runs = (
            sa.select(sa.func.count()).select_from(S.runs).where(S.runs.c.group_id == S.groups.c.id).scalar_subquery()
        )
        q = sa.select(S.groups, n_runs.label("n_runs")).order_by(S.groups.c.created_at.desc(), S.groups.c.id)
        if limit is not None:
            q = q.limit(int(limit))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def get_run(self, ident: str) -> dict[str, Any]:
        """Run metadata and KPIs (``options``, ``strategy_params``, ``kpis`` decoded from JSON)."""
        run_id = self.run_id(ident)
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(S.runs, S.scenarios.c.name.label("scenario"))
                .join(S.scenarios, S.runs.c.scenario_hash == S.scenarios.c.hash)
                .where(S.runs.c.id == run_id)
            ).first()
            trace = conn.execute(sa.select(S.traces).where(S.traces.c.run_id == run_id)).first()
            n_events = conn.execute(
                sa.select(sa.func.count()).select_from(S.events).where(S.events.c.run_id == run_id)
            ).scalar_one()
        assert row is not None
        out = dict(row._mapping)
        out["options"] = json.loads(out.pop("options_json"))
        out["strategy_params"] = json.loads(out.pop("strategy_params_json"))
        out["kpis"] = json.loads(out.pop("kpis_json"))
        out["trace"] = dict(trace._mapping) if trace is not None else None
        out["n_events"] = int(n_events)
        return out

    def get_group(self, ident: str) -> dict[str, Any]:
        """A comparison/sweep/live group: metadata and its runs (``runs``, oldest first)."""
        kind, gid = self.resolve_id(ident)
        if kind != "group":
            raise StoreError(f"{ident!r} is a {kind} id, not a comparison/sweep id")
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(S.groups).where(S.groups.c.id == gid)).first()
        assert row is not None
        out = dict(row._mapping)
        out["options"] = json.loads(out.pop("options_json"))
        out["meta"] = json.loads(out.pop("meta_json"))
        out["runs"] = self.list_runs(limit=None, group_id=gid)
        return out

    def scenario(self, content_hash: str) -> Scenario:
        """The stored scenario with this content hash (checked against the hash)."""
        from evfleet.scenario import scenario_from_dict

        with self.engine.connect() as conn:
            text = conn.execute(
                sa.select(S.scenarios.c.scenario_json).where(S.scenarios.c.hash == content_hash)
            ).scalar_one_or_none()
        if text is None:
            raise StoreError(f"no scenario with hash {content_hash!r}")
        sc = scenario_from_dict(json.loads(text), origin=f"stored scenario {content_hash[:12]}")
        if sc.content_hash != content_hash:
            raise StoreError(
                f"stored scenario {content_hash[:12]} does not match its hash (got {sc.content_hash[:12]})"
            )
        return sc

    def site_steps(self, ident: str) -> pd.DataFrame:
        """The run's per-step site series, with the columns and order of ``site.csv``."""
        run_id = self.run_id(ident)
        cols = [S.site_steps.c[name] for name in S.SITE_STEP_COLUMNS]
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(*cols).where(S.site_steps.c.run_id == run_id).order_by(S.site_steps.c.step))
            df = pd.DataFrame(rows.fetchall(), columns=S.SITE_STEP_COLUMNS)
        if df["frequency_hz"].isna().all():
            df = df.drop(columns=["frequency_hz"])
        return _typed(df)

    def vehicle_summaries(self, ident: str) -> pd.DataFrame:
        """The run's per-session summaries, with the columns and order of ``vehicles.csv``."""
        run_id = self.run_id(ident)
        cols = [S.vehicle_summaries.c[name] for name in S.VEHICLE_COLUMNS]
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(*cols).where(S.vehicle_summaries.c.run_id == run_id).order_by(S.vehicle_summaries.c.idx)
            )
            df = pd.DataFrame(rows.fetchall(), columns=S.VEHICLE_COLUMNS)
        for opt in ("vehicle", "charger"):
            if df[opt].isna().all():
                df = df.drop(columns=[opt])
        return _typed(df)

    def events(self, ident: str) -> pd.DataFrame:
        """The run's grid-quality events as they were given (original columns), in their original order."""
        run_id = self.run_id(ident)
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(S.events.c.detail_json).where(S.events.c.run_id == run_id).order_by(S.events.c.seq)
            ).fetchall()
        return pd.DataFrame([json.loads(r[0]) for r in rows])

    def trace(self, ident: str) -> dict[str, np.ndarray]:
        """The run's per-vehicle trace: ``vehicle_id`` (N,), ``power_kw`` (N, T) [kW], ``soc`` (N, T+1) [0-1].

        The file's SHA-256 is checked against the database; a mismatch or a missing file raises :class:`StoreError`.
        """
        return read_trace_bytes(self.trace_file_bytes(ident))

    def trace_file_bytes(self, ident: str) -> bytes:
        """The raw (checked) Parquet bytes of the run's trace file."""
        run_id = self.run_id(ident)
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(S.traces).where(S.traces.c.run_id == run_id)).first()
        if row is None:
            raise StoreError(f"run {run_id} has no trace")
        path = self.trace_dir / row.path
        if not path.exists():
            raise StoreError(f"trace file of run {run_id} is missing: {path}")
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest != row.sha256:
            raise StoreError(f"trace file {path} is damaged: sha256 {digest[:16]}... != stored {row.sha256[:16]}...")
        return data

    def list_imports(self, limit: int | None = 20) -> list[dict[str, Any]]:
        """Imported datasets, newest first (without their payload)."""
        cols = [c for c in S.imports.c if c.name != "payload_json"]
        q = sa.select(*cols).order_by(S.imports.c.imported_at.desc())
        if limit is not None:
            q = q.limit(int(limit))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def get_import(self, ident: str) -> dict[str, Any]:
        """An imported dataset with its decoded ``payload``."""
        kind, iid = self.resolve_id(ident)
        if kind != "import":
            raise StoreError(f"{ident!r} is a {kind} id, not an import id")
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(S.imports).where(S.imports.c.id == iid)).first()
        assert row is not None
        out = dict(row._mapping)
        out["payload"] = json.loads(out.pop("payload_json"))
        return out

    def catalog_additions(self) -> pd.DataFrame | None:
        """All imported catalogue rows merged (later imports override earlier ones), or ``None``."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(S.imports.c.payload_json)
                .where(S.imports.c.kind == "catalog")
                .order_by(S.imports.c.imported_at)
            ).fetchall()
        if not rows:
            return None
        from evfleet.catalog import CATALOG_COLUMNS, merge_catalog

        out = pd.DataFrame(columns=list(CATALOG_COLUMNS))
        for (text,) in rows:
            extra = pd.DataFrame(json.loads(text)["rows"], columns=list(CATALOG_COLUMNS))
            out = extra if out.empty else merge_catalog(out, extra)
        return out

    # -- deleting ----------------------------------------------------------------------------------------------

    def delete_run(self, ident: str) -> str:
        """Delete a run (its steps, vehicles, events and trace); a scenario no run uses any more is dropped too."""
        run_id = self.run_id(ident)
        with self.engine.begin() as conn:
            trace = conn.execute(sa.select(S.traces.c.path).where(S.traces.c.run_id == run_id)).scalar_one_or_none()
            h = conn.execute(sa.select(S.runs.c.scenario_hash).where(S.runs.c.id == run_id)).scalar_one()
            for table in (S.traces, S.events, S.vehicle_summaries, S.site_steps):
                conn.execute(sa.delete(table).where(table.c.run_id == run_id))
            conn.execute(sa.delete(S.runs).where(S.runs.c.id == run_id))
            self._drop_unused_scenario(conn, h)
        if trace is not None:
            (self.trace_dir / trace).unlink(missing_ok=True)
        return run_id

    def delete_group(self, ident: str) -> tuple[str, list[str]]:
        """Delete a comparison/sweep and all its runs; return ``(group_id, run_ids)``."""
        group = self.get_group(ident)
        run_ids = [r["id"] for r in group["runs"]]
        paths = []
        with self.engine.begin() as conn:
            hashes = set()
            for run_id in run_ids:
                trace = conn.execute(sa.select(S.traces.c.path).where(S.traces.c.run_id == run_id)).scalar_one_or_none()
                if trace is not None:
                    paths.append(self.trace_dir / trace)
                hashes.add(conn.execute(sa.select(S.runs.c.scenario_hash).where(S.runs.c.id == run_id)).scalar_one())
                for table in (S.traces, S.events, S.vehicle_summaries, S.site_steps):
                    conn.execute(sa.delete(table).where(table.c.run_id == run_id))
                conn.execute(sa.delete(S.runs).where(S.runs.c.id == run_id))
            conn.execute(sa.delete(S.groups).where(S.groups.c.id == group["id"]))
            for h in hashes:
                self._drop_unused_scenario(conn, h)
        for p in paths:
            p.unlink(missing_ok=True)
        return group["id"], run_ids

    def delete_import(self, ident: str) -> str:
        """Delete an imported dataset."""
        kind, iid = self.resolve_id(ident)
        if kind != "import":
            raise StoreError(f"{ident!r} is a {kind} id, not an import id")
        with self.engine.begin() as conn:
            conn.execute(sa.delete(S.imports).where(S.imports.c.id == iid))
        return iid

    @staticmethod
    def _drop_unused_scenario(conn: sa.engine.Connection, content_hash: str) -> None:
        used = conn.execute(sa.select(S.runs.c.id).where(S.runs.c.scenario_hash == content_hash).limit(1)).first()
        if used is None:
            conn.execute(sa.delete(S.scenarios).where(S.scenarios.c.hash == content_hash))

    # -- checking ----------------------------------------------------------------------------------------------

    def verify(self) -> list[str]:
        """Consistency problems (empty list = consistent): SQLite integrity and foreign keys, every run complete
        (one site row per step, one summary per session, a trace whose checksum matches)."""
        problems: list[str] = []
        with self.engine.connect() as conn:
            if self.is_sqlite:
                res = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").fetchall()]
                if res != ["ok"]:
                    problems.append(f"integrity_check: {res[:3]}")
                fk = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if fk:
                    problems.append(f"foreign_key_check: {len(fk)} dangling rows")
            q = sa.select(
                S.runs.c.id,
                S.scenarios.c.n_steps,
                S.scenarios.c.n_vehicles,
                sa.select(sa.func.count())
                .select_from(S.site_steps)
                .where(S.site_steps.c.run_id == S.runs.c.id)
                .scalar_subquery()
                .label("steps"),
                sa.select(sa.func.count())
                .select_from(S.vehicle_summaries)
                .where(S.vehicle_summaries.c.run_id == S.runs.c.id)
                .scalar_subquery()
                .label("vehicles"),
            ).join(S.scenarios, S.runs.c.scenario_hash == S.scenarios.c.hash)
            for row in conn.execute(q):
                if row.steps != row.n_steps:
                    problems.append(f"run {row.id}: {row.steps} site steps, expected {row.n_steps}")
                if row.vehicles != row.n_vehicles:
                    problems.append(f"run {row.id}: {row.vehicles} vehicle rows, expected {row.n_vehicles}")
            run_ids = [r[0] for r in conn.execute(sa.select(S.runs.c.id))]
            traced = {r[0] for r in conn.execute(sa.select(S.traces.c.run_id))}
        for run_id in run_ids:
            if run_id not in traced:
                problems.append(f"run {run_id}: no trace row")
                continue
            try:
                self.trace_file_bytes(run_id)
            except StoreError as exc:
                problems.append(str(exc))
        return problems

    def orphan_trace_files(self) -> list[Path]:
        """Trace files no committed run references (left by a process killed between file write and commit)."""
        if not self.trace_dir.exists():
            return []
        with self.engine.connect() as conn:
            known = {r[0] for r in conn.execute(sa.select(S.traces.c.path))}
        return sorted(p for p in self.trace_dir.iterdir() if p.name not in known)

    @property
    def stats(self) -> dict[str, int]:
        """Row counts of the main tables."""
        with self.engine.connect() as conn:
            return {
                t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
                for t in (S.scenarios, S.runs, S.groups, S.imports, S.events)
            }


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """Give DB columns the dtypes the in-memory tables have (int64 / float64 / str)."""
    for col in df.columns:
        ser = df[col]
        if ser.dtype == object and ser.map(lambda x: isinstance(x, int | float) and not isinstance(x, bool)).all():
            df[col] = pd.to_numeric(ser)
    return df


def open_store(db: str | os.PathLike[str] | None = None, trace_dir: str | os.PathLike[str] | None = None) -> Store:
    """Open (creating or upgrading if needed) the store at ``db`` / ``$EVFLEET_DB`` / the default location."""
    return Store(resolve_location(db, trace_dir))


def store_run(
    result: RunResult,
    kpis: Mapping[str, Any] | None = None,
    *,
    db: str | os.PathLike[str] | None = None,
    started_at: str | None = None,
    finished_at: str | None = None,
    source: str = "run",
    label: str | None = None,
    events: pd.DataFrame | Iterable[Mapping[str, Any]] | None = None,
) -> str:
    """Store one run in the store at ``db`` (default location if ``None``) and return its run id.

    For ``evfleet run`` and any caller holding a :class:`~evfleet.simulate.RunResult`; ``events`` are grid-quality
    events (e.g. the rows of ``events.csv``). One transaction: either the whole run lands or nothing does.
    """
    with open_store(db) as st:
        return st.save_run(
            result, kpis, started_at=started_at, finished_at=finished_at, source=source, label=label, events=events
        )


def store_comparison(
    comparison: Comparison,
    *,
    db: str | os.PathLike[str] | None = None,
    name: str | None = None,
    kind: str = "comparison",
    started_at: str | None = None,
    finished_at: str | None = None,
    meta: Mapping[str, Any] | None = None,
    events: Mapping[str, Any] | None = None,
) -> tuple[str, dict[str, str]]:
    """Store an :class:`evfleet.compare.Comparison` (every strategy's run plus the group) in ONE transaction.

    Return ``(comparison_id, {strategy: run_id})``. ``events`` maps strategy -> grid-quality events.
    """
    from dataclasses import asdict

    sc = comparison.scenario
    with open_store(db) as st:
        return st.save_group(
            kind,
            name or f"{sc.name}: {', '.join(comparison.results)}",
            comparison.results,
            comparison.kpis,
            options=asdict(comparison.options),
            meta=dict(meta or {}),
            started_at=started_at,
            finished_at=finished_at,
            events=events,
        )


def run_events_from_dir(out_dir: str | os.PathLike[str], since_utc: str) -> pd.DataFrame | None:
    """The grid-quality ``events.csv`` a run wrote into ``out_dir`` (``None`` if absent or older than the run)."""
    path = Path(out_dir) / "events.csv"
    if not path.exists():
        return None
    written = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    if written < datetime.fromisoformat(since_utc).replace(microsecond=0):
        return None  # left over from an earlier run in the same directory
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return None
