"""Read side of the run store (mixed into :class:`evfleet.store.runs.Store`): ids, listings, runs, series, traces.

Units as stored: power [kW], energy [kWh], prices [MAD/kWh], SOC fraction 0-1.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from evfleet._common.errors import InputError
from evfleet.analysis.bill import check_bill_dict, run_bill
from evfleet.inputs.catalog import CATALOG_COLUMNS, merge_catalog
from evfleet.scenario import scenario_from_dict
from evfleet.store import schema as S
from evfleet.store.engine import trace_file_path
from evfleet.store.rows import StoreError, read_trace_bytes

if TYPE_CHECKING:
    from evfleet.scenario import Scenario
    from evfleet.store.engine import DbLocation

__all__ = ["StoreQueries", "stored_bill"]


class StoreQueries:
    """Queries of an open store (needs ``engine``, ``location`` and ``trace_dir`` from :class:`Store`)."""

    engine: sa.Engine
    reader: sa.Engine
    location: DbLocation

    @property
    def trace_dir(self) -> Any:
        return self.location.trace_dir

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
        with self.reader.connect() as conn:
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

    def list_runs(
        self, limit: int | None = 20, group_id: str | None = None, live: bool | None = None
    ) -> list[dict[str, Any]]:
        """Newest runs first: id, started, strategy, mode, status, scenario name and a few KPIs.

        ``live``: ``None`` every run, ``False`` the user's runs only (no live chunks), ``True`` live chunks only.
        """
        q = (
            sa.select(S.runs, S.scenarios.c.name.label("scenario"), S.scenarios.c.n_vehicles)
            .join(S.scenarios, S.runs.c.scenario_hash == S.scenarios.c.hash)
            .order_by(S.runs.c.started_at.desc(), S.runs.c.id)
        )
        if live is not None:
            q = q.where(S.runs.c.status == "live-chunk") if live else q.where(S.runs.c.status != "live-chunk")
        if group_id is not None:
            q = q.where(S.runs.c.group_id == group_id).order_by(None).order_by(S.runs.c.started_at, S.runs.c.label)
        if limit is not None:
            q = q.limit(int(limit))
        with self.reader.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
        for r in rows:
            r["kpis"] = json.loads(r.pop("kpis_json"))
            r.pop("site_columns_json", None)
            r.pop("bill_json", None)
        return rows

    def list_groups(self, limit: int | None = 20) -> list[dict[str, Any]]:
        """Newest comparisons/sweeps/live sessions first, with their number of runs."""
        n_runs = (
            sa.select(sa.func.count()).select_from(S.runs).where(S.runs.c.group_id == S.groups.c.id).scalar_subquery()
        )
        q = sa.select(S.groups, n_runs.label("n_runs")).order_by(S.groups.c.created_at.desc(), S.groups.c.id)
        if limit is not None:
            q = q.limit(int(limit))
        with self.reader.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def get_run(self, ident: str) -> dict[str, Any]:
        """Run metadata and KPIs (``options``, ``strategy_params``, ``kpis`` decoded from JSON)."""
        run_id = self.run_id(ident)
        with self.reader.connect() as conn:
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
        columns = out.pop("site_columns_json", None)
        out["site_columns"] = json.loads(columns) if columns else None
        bill = out.pop("bill_json", None)
        out["bill"] = stored_bill(bill, run_id) if bill else None  # as stored (None: stored before revision 0004)
        out["trace"] = dict(trace._mapping) if trace is not None else None
        out["n_events"] = int(n_events)
        return out

    def get_group(self, ident: str) -> dict[str, Any]:
        """A comparison/sweep/live group: metadata and its runs (``runs``, oldest first)."""
        kind, gid = self.resolve_id(ident)
        if kind != "group":
            raise StoreError(f"{ident!r} is a {kind} id, not a comparison/sweep id")
        with self.reader.connect() as conn:
            row = conn.execute(sa.select(S.groups).where(S.groups.c.id == gid)).first()
        assert row is not None
        out = dict(row._mapping)
        out["options"] = json.loads(out.pop("options_json"))
        out["meta"] = json.loads(out.pop("meta_json"))
        out["runs"] = self.list_runs(limit=None, group_id=gid)
        return out

    def scenario(self, content_hash: str) -> Scenario:
        """The stored scenario with this content hash (checked against the hash)."""

        with self.reader.connect() as conn:
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
        names = [*S.SITE_STEP_COLUMNS, "extra_json"]
        cols = [S.site_steps.c[name] for name in names]
        with self.reader.connect() as conn:
            rows = conn.execute(sa.select(*cols).where(S.site_steps.c.run_id == run_id).order_by(S.site_steps.c.step))
            df = pd.DataFrame(rows.fetchall(), columns=names)
            order_json = conn.execute(
                sa.select(S.runs.c.site_columns_json).where(S.runs.c.id == run_id)
            ).scalar_one_or_none()
        extra = df.pop("extra_json")
        if extra.notna().any():
            extra_df = pd.DataFrame([json.loads(x) if x else {} for x in extra], index=df.index)
            df = pd.concat([df, _typed(extra_df)], axis=1)
        if order_json:
            df = df[json.loads(order_json)]
        elif df["frequency_hz"].isna().all():
            df = df.drop(columns=["frequency_hz"])
        return _typed(df)

    def vehicle_summaries(self, ident: str) -> pd.DataFrame:
        """The run's per-session summaries, with the columns and order of ``vehicles.csv``."""
        run_id = self.run_id(ident)
        cols = [S.vehicle_summaries.c[name] for name in S.VEHICLE_COLUMNS]
        with self.reader.connect() as conn:
            rows = conn.execute(
                sa.select(*cols).where(S.vehicle_summaries.c.run_id == run_id).order_by(S.vehicle_summaries.c.idx)
            )
            df = pd.DataFrame(rows.fetchall(), columns=S.VEHICLE_COLUMNS)
        for opt in ("vehicle", "charger"):
            if df[opt].isna().all():
                df = df.drop(columns=[opt])
        return _typed(df)

    def events(self, ident: str) -> pd.DataFrame:
        """The run's grid-quality events as ``events.csv`` rows (``EVENT_COLUMNS``), in their original order.

        Runs stored before events were checked keep the columns they were given.
        """
        run_id = self.run_id(ident)
        with self.reader.connect() as conn:
            rows = conn.execute(
                sa.select(S.events.c.detail_json).where(S.events.c.run_id == run_id).order_by(S.events.c.seq)
            ).fetchall()
        return pd.DataFrame([json.loads(r[0]) for r in rows])

    def bill(self, ident: str) -> dict[str, Any]:
        """The run's ``bill.json`` object [MAD]: as stored with the run, or, for a run stored before the store kept
        bills (revision 0004), billed now from its stored scenario, site series (``site_kw``, and ``q_kvar`` when
        the run's ``site.csv`` had it, else the grid-quality model's kvar from the stored trace) and trace."""
        run_id = self.run_id(ident)
        with self.reader.connect() as conn:
            row = conn.execute(
                sa.select(S.runs.c.bill_json, S.runs.c.scenario_hash).where(S.runs.c.id == run_id)
            ).first()
        assert row is not None
        if row.bill_json:
            return stored_bill(row.bill_json, run_id)
        sc = self.scenario(row.scenario_hash)
        site = self.site_steps(run_id)
        if len(site) != sc.n_steps:
            raise StoreError(f"run {run_id} has {len(site)} stored steps, its scenario {sc.n_steps}: cannot bill it")
        power = self.trace(run_id)["power_kw"]
        q = site["q_kvar"].to_numpy(dtype=float) if "q_kvar" in site else None
        result = _Billable(sc, power, site["site_kw"].to_numpy(dtype=float))
        return run_bill(result, q_kvar=q if q is not None and np.isfinite(q).all() else None).to_dict()

    def trace(self, ident: str) -> dict[str, np.ndarray]:
        """The run's per-vehicle trace: ``vehicle_id`` (N,), ``power_kw`` (N, T) [kW], ``soc`` (N, T+1) [0-1].

        The file's SHA-256 is checked against the database; a mismatch or a missing file raises :class:`StoreError`.
        """
        return read_trace_bytes(self.trace_file_bytes(ident))

    def trace_file_bytes(self, ident: str) -> bytes:
        """The raw (checked) Parquet bytes of the run's trace file."""
        run_id = self.run_id(ident)
        with self.reader.connect() as conn:
            row = conn.execute(sa.select(S.traces).where(S.traces.c.run_id == run_id)).first()
        if row is None:
            raise StoreError(f"run {run_id} has no trace")
        path = trace_file_path(self.trace_dir, row.path)
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
        with self.reader.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def get_import(self, ident: str) -> dict[str, Any]:
        """An imported dataset with its decoded ``payload``."""
        kind, iid = self.resolve_id(ident)
        if kind != "import":
            raise StoreError(f"{ident!r} is a {kind} id, not an import id")
        with self.reader.connect() as conn:
            row = conn.execute(sa.select(S.imports).where(S.imports.c.id == iid)).first()
        assert row is not None
        out = dict(row._mapping)
        out["payload"] = json.loads(out.pop("payload_json"))
        return out

    def catalog_additions(self) -> pd.DataFrame | None:
        """All imported catalogue rows merged (later imports override earlier ones), or ``None``."""
        with self.reader.connect() as conn:
            rows = conn.execute(
                sa.select(S.imports.c.payload_json)
                .where(S.imports.c.kind == "catalog")
                .order_by(S.imports.c.imported_at)
            ).fetchall()
        if not rows:
            return None

        out = pd.DataFrame(columns=list(CATALOG_COLUMNS))
        for (text,) in rows:
            extra = pd.DataFrame(json.loads(text)["rows"], columns=list(CATALOG_COLUMNS))
            out = extra if out.empty else merge_catalog(out, extra)
        return out


def stored_bill(text: str, run_id: str) -> dict[str, Any]:
    """The ``bill.json`` object stored as ``text`` with run ``run_id``; a damaged (or crafted) one raises
    :class:`StoreError` naming the run and the field."""
    origin = f"stored bill of run {run_id}"
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise StoreError(f"{origin}: not valid JSON ({exc})") from None
    try:
        return check_bill_dict(data, origin)
    except InputError as exc:
        raise StoreError(str(exc)) from None


class _Billable:
    """What :func:`evfleet.analysis.bill.run_bill` reads of a run: scenario, power (N, T) [kW], site power (T,) [kW]."""

    def __init__(self, scenario: Scenario, power_kw: np.ndarray, site_kw: np.ndarray) -> None:
        self.scenario = scenario
        self.power_kw = power_kw
        self.site_kw = site_kw


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """Give DB columns the dtypes the in-memory tables have (int64 / float64 / str)."""
    for col in df.columns:
        ser = df[col]
        if ser.dtype == object and ser.map(lambda x: isinstance(x, int | float) and not isinstance(x, bool)).all():
            df[col] = pd.to_numeric(ser)
    return df
