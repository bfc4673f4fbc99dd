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
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from evfleet._common.files import write_bytes_atomic
from evfleet._common.ids import new_id, utc_now
from evfleet._common.jsonsafe import clean_json, dumps
from evfleet._common.version import __version__
from evfleet.analysis.bill import run_bill
from evfleet.analysis.kpis import compute_kpis
from evfleet.results.run_files import vehicle_table
from evfleet.store import schema as S
from evfleet.store.engine import (
    ENV_DB,
    ENV_TRACE_DIR,
    DbLocation,
    default_db_path,
    known_revisions,
    make_engine,
    migrate,
    resolve_location,
    trace_file_path,
)
from evfleet.store.live import CHUNK_STATUS, StoreLive
from evfleet.store.queries import StoreQueries, stored_bill
from evfleet.store.rows import (
    TRACE_FORMAT,
    SchemaTooNewError,
    StoreError,
    normalise_events,
    read_trace_bytes,
    rows_from_columns,
    site_step_rows,
    trace_table_bytes,
)

if TYPE_CHECKING:
    from evfleet.analysis.compare import Comparison
    from evfleet.gridquality.alerts import Event
    from evfleet.scenario import Scenario
    from evfleet.simulation.simulate import RunResult

__all__ = [
    "ENV_DB",
    "ENV_TRACE_DIR",
    "TRACE_FORMAT",
    "DbLocation",
    "SchemaTooNewError",
    "Store",
    "StoreError",
    "default_db_path",
    "known_revisions",
    "normalise_events",
    "open_store",
    "read_trace_bytes",
    "resolve_location",
    "run_bill_of",
    "run_outputs_from_dir",
    "store_comparison",
    "store_group",
    "store_run",
    "trace_table_bytes",
]

# --- the store --------------------------------------------------------------------------------------------------


class Store(StoreQueries, StoreLive):
    """An open run store. Create with :func:`open_store`; use as a context manager or call :meth:`close`."""

    def __init__(self, location: DbLocation) -> None:
        self.location = location
        self.engine = make_engine(location, write=True)
        self.reader = make_engine(location, write=False) if location.sqlite_path is not None else self.engine
        try:
            self.revision = migrate(self.engine, self.reader, location)
        except sa.exc.DatabaseError as exc:  # a --db that is not a database (or a damaged one): bad input
            self.close()
            if location.sqlite_path is not None:
                raise StoreError(
                    f"{location.display}: not an evfleet store (SQLite says: {exc.orig}); give another --db"
                ) from None
            raise StoreError(f"cannot open the store {location.display}: {exc.orig}") from None
        except Exception:
            self.close()
            raise

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()
        self.reader.dispose()

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
        path = trace_file_path(self.trace_dir, rel)
        write_bytes_atomic(path, data)
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
        event_rows: list[dict[str, Any]],
        site_rows: tuple[list[dict[str, Any]], list[str] | None],
        status: str = "completed",
        bill: Mapping[str, Any] | None = None,
    ) -> None:
        from dataclasses import asdict

        sc = result.scenario
        h = self._ensure_scenario(conn, sc)
        conn.execute(
            sa.insert(S.runs),
            {
                "id": run_id,
                "scenario_hash": h,
                "strategy": str(result.strategy),
                "mode": str(result.options.mode),
                "options_json": dumps(clean_json(asdict(result.options))),
                "strategy_params_json": dumps(clean_json(dict(result.strategy_params))),
                "evfleet_version": __version__,
                "started_at": started_at,
                "finished_at": finished_at,
                "status": status,
                "source": source,
                "label": label,
                "kpis_json": dumps(clean_json(dict(kpis))),
                "group_id": group_id,
                "site_columns_json": dumps(site_rows[1]) if site_rows[1] is not None else None,
                "bill_json": dumps(clean_json(dict(bill))) if bill is not None else None,
            },
        )
        step_rows = [dict(r) for r in site_rows[0]]
        for r in step_rows:
            r["run_id"] = run_id
        if step_rows:
            conn.execute(sa.insert(S.site_steps), step_rows)
        vt = vehicle_table(result)
        vcols = {c: vt[c].to_numpy() for c in vt.columns}
        vrows = rows_from_columns(vcols, len(vt), S.VEHICLE_COLUMNS)
        for i, r in enumerate(vrows):
            r["run_id"] = run_id
            r["idx"] = i
        if vrows:
            conn.execute(sa.insert(S.vehicle_summaries), vrows)
        ev_rows = [dict(r) for r in event_rows]
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
        events: pd.DataFrame | Iterable[Event | Mapping[str, Any]] | None = None,
        group_id: str | None = None,
        site: pd.DataFrame | None = None,
        bill: Mapping[str, Any] | None = None,
    ) -> str:
        """Store one run (scenario once by hash, KPIs, bill, site series, vehicle summaries, events, trace); return
        its id.

        Everything lands in one transaction; the trace file is written (fsynced) first and removed again if the
        transaction fails. ``site`` is the run's ``site.csv`` table as written (default: computed from ``result``);
        columns beyond the fixed schema (e.g. grid-quality estimates) are kept, and so is the column order.
        ``bill`` is the run's ``bill.json`` object (default: :func:`run_bill_of` the result and ``site``).
        """

        kpis = compute_kpis(result) if kpis is None else kpis
        bill = run_bill_of(result, site) if bill is None else bill
        finished = finished_at or utc_now()
        started = started_at or finished
        event_rows = normalise_events(events)  # validated before anything is written
        site_rows = site_step_rows(result, site)
        run_id = new_id("r")
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
                    event_rows=event_rows,
                    site_rows=site_rows,
                    bill=bill,
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
        sites: Mapping[str, pd.DataFrame] | None = None,
        bills: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> tuple[str, dict[str, str]]:
        """Store a comparison/sweep: a group row and one run per key of ``results``, all in ONE transaction.

        Return ``(group_id, {key: run_id})``. ``bills`` maps a key to its run's ``bill.json`` object (default:
        :func:`run_bill_of` each result and its site table).
        """

        if kind not in ("comparison", "sweep", "live"):
            raise StoreError(f"group kind must be comparison, sweep or live (value {kind!r})")
        finished = finished_at or utc_now()
        started = started_at or finished
        group_id = new_id({"comparison": "c", "sweep": "s", "live": "l"}[kind])
        event_rows = {key: normalise_events((events or {}).get(key)) for key in results}
        site_rows = {key: site_step_rows(r, (sites or {}).get(key)) for key, r in results.items()}
        run_bills = {
            key: (bills or {}).get(key) or run_bill_of(r, (sites or {}).get(key)) for key, r in results.items()
        }
        run_ids: dict[str, str] = {}
        written: list[Path] = []
        metas = {}
        try:
            for key, result in results.items():
                run_id = new_id("r")
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
                        "options_json": dumps(clean_json(dict(options or {}))),
                        "meta_json": dumps(clean_json(dict(meta or {}))),
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
                        event_rows=event_rows[key],
                        site_rows=site_rows[key],
                        bill=run_bills[key],
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
        import_id = new_id("i")
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
                    "payload_json": dumps(clean_json(payload)),
                },
            )
        return import_id

    # -- deleting ----------------------------------------------------------------------------------------------

    @staticmethod
    def _delete_run_rows(conn: sa.engine.Connection, run_id: str) -> tuple[str | None, str]:
        """Delete one run's rows inside ``conn``'s transaction; return (trace path, scenario hash)."""
        trace = conn.execute(sa.select(S.traces.c.path).where(S.traces.c.run_id == run_id)).scalar_one_or_none()
        h = conn.execute(sa.select(S.runs.c.scenario_hash).where(S.runs.c.id == run_id)).scalar_one()
        for table in (S.traces, S.events, S.vehicle_summaries, S.site_steps):
            conn.execute(sa.delete(table).where(table.c.run_id == run_id))
        conn.execute(sa.delete(S.runs).where(S.runs.c.id == run_id))
        return trace, h

    def delete_run(self, ident: str) -> str:
        """Delete a run (its steps, vehicles, events and trace); a scenario nothing uses any more is dropped too."""
        run_id = self.run_id(ident)
        with self.engine.begin() as conn:
            trace, h = self._delete_run_rows(conn, run_id)
            self._drop_unused_scenario(conn, h)
        if trace is not None:
            trace_file_path(self.trace_dir, trace).unlink(missing_ok=True)
        return run_id

    def delete_group(self, ident: str) -> tuple[str, list[str]]:
        """Delete a comparison/sweep/live session and all its runs; return ``(group_id, run_ids)``."""
        group = self.get_group(ident)
        run_ids = [r["id"] for r in group["runs"]]
        paths = []
        with self.engine.begin() as conn:
            hashes = {group["scenario_hash"]} - {None}
            for run_id in run_ids:
                trace, h = self._delete_run_rows(conn, run_id)
                hashes.add(h)
                if trace is not None:
                    paths.append(trace_file_path(self.trace_dir, trace))
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
        held = conn.execute(sa.select(S.groups.c.id).where(S.groups.c.scenario_hash == content_hash).limit(1)).first()
        if used is None and held is None:
            conn.execute(sa.delete(S.scenarios).where(S.scenarios.c.hash == content_hash))

    # -- checking ----------------------------------------------------------------------------------------------

    def verify(self) -> list[str]:
        """Consistency problems (empty list = consistent): SQLite integrity and foreign keys, every run complete
        (one site row per step, one summary per session, a trace whose checksum matches)."""
        problems: list[str] = []
        with self.reader.connect() as conn:
            if self.is_sqlite:
                res = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").fetchall()]
                if res != ["ok"]:
                    problems.append(f"integrity_check: {res[:3]}")
                fk = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if fk:
                    problems.append(f"foreign_key_check: {len(fk)} dangling rows")
            q = sa.select(
                S.runs.c.id,
                S.runs.c.status,
                S.runs.c.kpis_json,
                S.runs.c.bill_json,
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
                want_steps, want_vehicles = row.n_steps, row.n_vehicles
                if row.status == CHUNK_STATUS:  # a live chunk: its own steps, no per-session summaries
                    want_steps, want_vehicles = json.loads(row.kpis_json)["chunk_steps"], 0
                if row.steps != want_steps:
                    problems.append(f"run {row.id}: {row.steps} site steps, expected {want_steps}")
                if row.vehicles != want_vehicles:
                    problems.append(f"run {row.id}: {row.vehicles} vehicle rows, expected {want_vehicles}")
                if row.bill_json is not None:
                    try:
                        stored_bill(row.bill_json, row.id)
                    except StoreError as exc:
                        problems.append(str(exc))
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
        with self.reader.connect() as conn:
            known = {r[0] for r in conn.execute(sa.select(S.traces.c.path))}
        return sorted(p for p in self.trace_dir.iterdir() if p.name not in known)

    def clean_orphan_trace_files(self, min_age_s: float = 3600.0) -> int:
        """Delete orphan trace files older than ``min_age_s`` [s] (younger ones may belong to a write in progress
        in another process); return how many were deleted."""
        import time

        now = time.time()
        count = 0
        for path in self.orphan_trace_files():
            try:
                if now - path.stat().st_mtime >= min_age_s:
                    path.unlink()
                    count += 1
            except FileNotFoundError:
                continue
        return count

    @property
    def stats(self) -> dict[str, int]:
        """Row counts of the main tables."""
        with self.reader.connect() as conn:
            return {
                t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
                for t in (S.scenarios, S.runs, S.groups, S.imports, S.events)
            }


def run_bill_of(result: RunResult, site: pd.DataFrame | None = None) -> dict[str, Any]:
    """The ``bill.json`` object of ``result`` (:func:`evfleet.analysis.bill.run_bill`), with the site's kvar of the
    run's ``site.csv`` (its ``q_kvar`` column, the one ``evfleet run`` billed) when ``site`` has it, else of the
    grid-quality model's default site."""
    q = None
    if site is not None and "q_kvar" in site and len(site) == result.scenario.n_steps:
        q = pd.to_numeric(site["q_kvar"], errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(q).all():
            q = None
    return run_bill(result, q_kvar=q).to_dict()


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
    events: pd.DataFrame | Iterable[Event | Mapping[str, Any]] | None = None,
    site: pd.DataFrame | None = None,
    bill: Mapping[str, Any] | None = None,
) -> str:
    """Store one run in the store at ``db`` (default location if ``None``) and return its run id.

    For ``evfleet run`` and any caller holding a :class:`.RunResult`; ``events`` are grid-quality
    :class:`~evfleet.gridquality.alerts.Event` records or the rows of ``events.csv`` (exactly its columns, see
    :func:`~evfleet.store.rows.normalise_events`); ``site`` the ``site.csv`` table as written (default: computed
    from the result); ``bill`` its ``bill.json`` (default: billed from the result and ``site``). One transaction:
    either the whole run lands or nothing does.
    """
    with open_store(db) as st:
        return st.save_run(
            result,
            kpis,
            started_at=started_at,
            finished_at=finished_at,
            source=source,
            label=label,
            events=events,
            site=site,
            bill=bill,
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
    sites: Mapping[str, pd.DataFrame] | None = None,
) -> tuple[str, dict[str, str]]:
    """Store an :class:`evfleet.analysis.compare.Comparison` (every strategy's run plus the group) in ONE transaction.

    Return ``(comparison_id, {strategy: run_id})``. ``events`` maps strategy -> grid-quality events; ``sites`` maps
    strategy -> the ``site.csv`` table as written.
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
            sites=sites,
        )


def store_group(
    kind: str,
    name: str,
    results: Mapping[str, RunResult],
    kpis: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    db: str | os.PathLike[str] | None = None,
    options: Mapping[str, Any] | None = None,
    meta: Mapping[str, Any] | None = None,
    events: Mapping[str, Any] | None = None,
    sites: Mapping[str, pd.DataFrame] | None = None,
) -> tuple[str, dict[str, str]]:
    """Store a sweep (``kind="sweep"``) or comparison: ``results`` keyed by point/strategy label, ONE transaction.

    Return ``(group_id, {label: run_id})``; ``meta`` can hold the sweep's parameters per label.
    """
    with open_store(db) as st:
        return st.save_group(kind, name, results, kpis, options=options, meta=meta, events=events, sites=sites)


def run_outputs_from_dir(out_dir: str | os.PathLike[str], since_utc: str) -> dict[str, Any]:
    """What a run wrote into ``out_dir`` (files older than ``since_utc`` are left out as leftovers of earlier runs).

    Returns ``kpis`` (``kpis.json``, e.g. with the grid-quality ``pq_*`` KPIs), ``bill`` (``bill.json``), ``site``
    (``site.csv``; pandas 3 reads floats back exactly) and ``events`` (``events.csv``); a missing or stale file
    gives ``None``.
    """
    out = Path(out_dir)
    since = datetime.fromisoformat(since_utc).replace(microsecond=0)

    def fresh(name: str) -> Path | None:
        path = out / name
        if not path.exists() or datetime.fromtimestamp(path.stat().st_mtime, tz=UTC) < since:
            return None
        return path

    found: dict[str, Any] = {"kpis": None, "bill": None, "site": None, "events": None}
    for key, name in (("kpis", "kpis.json"), ("bill", "bill.json")):
        if (p := fresh(name)) is not None:
            found[key] = json.loads(p.read_text(encoding="utf-8"))
    for key, name in (("site", "site.csv"), ("events", "events.csv")):
        if (p := fresh(name)) is not None:
            try:
                found[key] = pd.read_csv(p)
            except pd.errors.EmptyDataError:
                found[key] = None
    return found
