"""History of the run store by day or by month: energy, cost, peak, unmet energy and V2G, runs and live sessions apart.

Units: energy [kWh], power [kW], money [MAD]; days and months are the site's local calendar (the local date of each
stored step's ``time``).

Rules (``docs/store.md``, "History by day and month"):

- **runs** are the user's stored runs (``evfleet run``, comparisons, sweeps, imports of run directories): every run
  that is not a live chunk. When several stored runs repeat the same simulation (same scenario hash, strategy,
  mode, options and strategy parameters), only the newest counts, so re-running a command does not double a day.
- **live** rows come from the dashboard's live sessions (stored chunks, a step stored twice counts once: the newer
  chunk wins). They are never mixed with runs: each row has its ``source``.
- Per row (period x source x strategy): ``energy_charged_kwh`` (EV charging, sum of ``ev_charge_kw`` x dt),
  ``v2g_energy_kwh`` (EV discharge), ``import_energy_kwh``, ``import_cost_mad`` (import x import price),
  ``export_revenue_mad`` (export x export price), ``net_energy_cost_mad`` (import cost - export revenue; no battery
  degradation, which is not stored per step), ``peak_import_kw`` (largest import of one step), ``unmet_energy_kwh``
  (energy missing at departure of the sessions that departed in the period: runs from their stored per-session
  summaries, live sessions from the stored SOC traces), ``n_runs`` (runs or live sessions that contributed) and
  ``steps`` (steps of ``dt`` summed), ``cost_status`` (the weakest ``bill_status`` of the runs counted: the status
  of the tariff values the MAD columns are built on).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from evfleet._common.errors import InputError
from evfleet.analysis.bill import weakest_status
from evfleet.store import schema as S
from evfleet.store.live import CHUNK_STATUS

if TYPE_CHECKING:
    from evfleet.store.runs import Store

__all__ = ["HISTORY_COLUMNS", "HISTORY_PERIODS", "HISTORY_SOURCES", "history_by_period", "live_sessions"]

HISTORY_PERIODS = ("day", "month")
HISTORY_SOURCES = ("runs", "live")
#: Columns of the history table (and of ``evfleet history --by day|month --csv FILE``), in order.
HISTORY_COLUMNS = [
    "period",
    "source",
    "strategy",
    "n_runs",
    "steps",
    "energy_charged_kwh",
    "v2g_energy_kwh",
    "import_energy_kwh",
    "import_cost_mad",
    "export_revenue_mad",
    "net_energy_cost_mad",
    "peak_import_kw",
    "unmet_energy_kwh",
    "cost_status",
]
_PERIOD_CHARS = {"day": 10, "month": 7}


def _runs_frame(store: Store, live: bool) -> pd.DataFrame:
    """Runs to count: user runs (newest of each identical simulation) or live chunks."""
    q = sa.select(
        S.runs.c.id,
        S.runs.c.scenario_hash,
        S.runs.c.strategy,
        S.runs.c.mode,
        S.runs.c.options_json,
        S.runs.c.strategy_params_json,
        S.runs.c.started_at,
        S.runs.c.status,
        S.runs.c.group_id,
        S.runs.c.kpis_json,
        S.scenarios.c.step_minutes,
    ).join(S.scenarios, S.runs.c.scenario_hash == S.scenarios.c.hash)
    q = q.where(S.runs.c.status == CHUNK_STATUS) if live else q.where(S.runs.c.status != CHUNK_STATUS)
    with store.reader.connect() as conn:
        df = pd.DataFrame([dict(r._mapping) for r in conn.execute(q)])
    if df.empty:
        return df
    if not live:
        df = df.sort_values(["started_at", "id"], ascending=False, kind="stable")
        df = df.drop_duplicates(["scenario_hash", "strategy", "mode", "options_json", "strategy_params_json"])
    return df.reset_index(drop=True)


def _steps(store: Store, run_ids: list[str]) -> pd.DataFrame:
    cols = [
        S.site_steps.c[c]
        for c in (
            "run_id",
            "step",
            "time",
            "site_kw",
            "ev_charge_kw",
            "ev_discharge_kw",
            "price_import_mad_per_kwh",
            "price_export_mad_per_kwh",
        )
    ]
    frames = []
    with store.reader.connect() as conn:
        for i in range(0, len(run_ids), 500):
            rows = conn.execute(sa.select(*cols).where(S.site_steps.c.run_id.in_(run_ids[i : i + 500])))
            frames.append(pd.DataFrame(rows.fetchall(), columns=[c.name for c in cols]))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[c.name for c in cols])


def _unmet_runs(store: Store, run_ids: list[str], chars: int) -> pd.DataFrame:
    """(run_id, period, unmet_energy_kwh) from the stored per-session summaries (by local departure date)."""
    v = S.vehicle_summaries.c
    frames = []
    with store.reader.connect() as conn:
        for i in range(0, len(run_ids), 500):
            rows = conn.execute(
                sa.select(v.run_id, v.departure_time, v.unmet_kwh).where(v.run_id.in_(run_ids[i : i + 500]))
            )
            frames.append(pd.DataFrame(rows.fetchall(), columns=["run_id", "departure_time", "unmet_kwh"]))
    df = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["run_id", "departure_time", "unmet_kwh"])
    )
    df["period"] = df["departure_time"].astype(str).str[:chars]
    return df.groupby(["run_id", "period"], as_index=False)["unmet_kwh"].sum()


def _unmet_live(store: Store, chunks: pd.DataFrame, chars: int) -> pd.DataFrame:
    """(run_id, period, unmet_kwh) of the sessions that departed inside each live chunk, from its SOC trace."""
    out: list[dict[str, Any]] = []
    scenarios: dict[str, Any] = {}
    with store.reader.connect() as conn:
        kpis = dict(
            conn.execute(sa.select(S.runs.c.id, S.runs.c.kpis_json).where(S.runs.c.id.in_(list(chunks["id"])))).all()
        )
    for row in chunks.itertuples(index=False):
        sc = scenarios.get(row.scenario_hash)
        if sc is None:
            sc = scenarios[row.scenario_hash] = store.scenario(row.scenario_hash)
        k = json.loads(kpis[row.id])
        t0, n = int(k.get("chunk_t0", 0)), int(k.get("chunk_steps", 0))
        veh = sc.vehicles
        dep = np.asarray(veh.departure_step)
        leaving = np.flatnonzero((dep > t0) & (dep <= t0 + n))
        if leaving.size == 0:
            continue
        try:
            soc = store.trace(row.id)["soc"]
        except Exception:  # a chunk whose trace is gone counts no unmet energy (store check reports it)
            continue
        at_dep = soc[leaving, dep[leaving] - t0]
        short = np.maximum(np.asarray(veh.soc_target)[leaving] - at_dep, 0.0) * np.asarray(veh.battery_kwh)[leaving]
        times = sc.times[np.minimum(dep[leaving], sc.n_steps - 1)]
        periods = pd.Series([x.isoformat()[:chars] for x in times])
        for period, value in pd.Series(short).groupby(periods.values).sum().items():
            out.append({"run_id": row.id, "period": period, "unmet_kwh": float(value)})
    return pd.DataFrame(out, columns=["run_id", "period", "unmet_kwh"])


def _bill_status(kpis_json: str) -> str:
    """A stored run's ``bill_status`` KPI (``assumption`` when it has none, e.g. a live chunk)."""
    try:
        return str(json.loads(kpis_json).get("bill_status", "assumption"))
    except (ValueError, AttributeError):
        return "assumption"


def history_by_period(store: Store, by: str = "day", source: str = "runs") -> pd.DataFrame:
    """The history table (:data:`HISTORY_COLUMNS`), newest period first, of ``source`` ``"runs"`` or ``"live"``.

    ``by`` is ``"day"`` or ``"month"`` (local calendar). See the module docstring for the definitions.
    """
    if by not in HISTORY_PERIODS:
        raise InputError(f"option '--by' must be one of {', '.join(HISTORY_PERIODS)} (value {by!r})")
    if source not in HISTORY_SOURCES:
        raise InputError(f"field 'source' must be one of {', '.join(HISTORY_SOURCES)} (value {source!r})")
    live = source == "live"
    chars = _PERIOD_CHARS[by]
    runs = _runs_frame(store, live)
    if runs.empty:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    steps = _steps(store, list(runs["id"]))
    if steps.empty:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    steps = steps.merge(runs[["id", "strategy", "group_id", "step_minutes"]], left_on="run_id", right_on="id")
    if live:  # a step stored by two chunks of one session: the newer chunk wins
        order = runs.set_index("id")["started_at"]
        steps["_at"] = steps["run_id"].map(order)
        steps = steps.sort_values(["_at", "run_id"], kind="stable").drop_duplicates(["group_id", "step"], keep="last")
    dt = steps["step_minutes"].astype(float) / 60.0
    imp = steps["site_kw"].clip(lower=0.0)
    exp = (-steps["site_kw"]).clip(lower=0.0)
    steps = steps.assign(
        period=steps["time"].astype(str).str[:chars],
        energy_charged_kwh=steps["ev_charge_kw"] * dt,
        v2g_energy_kwh=steps["ev_discharge_kw"] * dt,
        import_energy_kwh=imp * dt,
        import_cost_mad=imp * steps["price_import_mad_per_kwh"] * dt,
        export_revenue_mad=exp * steps["price_export_mad_per_kwh"] * dt,
        import_kw=imp,
        unit=steps["group_id"] if live else steps["run_id"],
    )
    keys = ["period", "strategy"]
    sums = ["energy_charged_kwh", "v2g_energy_kwh", "import_energy_kwh", "import_cost_mad", "export_revenue_mad"]
    g = steps.groupby(keys, as_index=False).agg(
        **{c: (c, "sum") for c in sums},
        peak_import_kw=("import_kw", "max"),
        steps=("step", "size"),
        n_runs=("unit", "nunique"),
    )
    unmet = _unmet_live(store, runs, chars) if live else _unmet_runs(store, list(runs["id"]), chars)
    if not unmet.empty:
        unmet = unmet.merge(runs[["id", "strategy"]], left_on="run_id", right_on="id")
        u = unmet.groupby(keys, as_index=False)["unmet_kwh"].sum()
        g = g.merge(u, on=keys, how="left")
    else:
        g["unmet_kwh"] = 0.0
    g["unmet_energy_kwh"] = g.pop("unmet_kwh").fillna(0.0)
    g["net_energy_cost_mad"] = g["import_cost_mad"] - g["export_revenue_mad"]
    g["source"] = source
    status = runs.set_index("id")["kpis_json"].map(_bill_status)
    run_status = steps.groupby(keys)["run_id"].agg(lambda ids: weakest_status(status[i] for i in set(ids)))
    g["cost_status"] = [run_status[(p, s)] for p, s in zip(g["period"], g["strategy"], strict=True)]
    g = g.sort_values(["period", "strategy"], ascending=[False, True], kind="stable").reset_index(drop=True)
    return g[HISTORY_COLUMNS]


def live_sessions(store: Store, limit: int | None = 20) -> list[dict[str, Any]]:
    """Live sessions, newest first: id, created, name, scenario, chunks, steps stored and totals of their chunks."""
    chunk_kpis = sa.select(S.runs.c.group_id, S.runs.c.kpis_json, S.runs.c.finished_at).where(
        S.runs.c.status == CHUNK_STATUS
    )
    q = (
        sa.select(
            S.groups.c.id,
            S.groups.c.name,
            S.groups.c.created_at,
            S.scenarios.c.name.label("scenario"),
            S.scenarios.c.n_vehicles,
        )
        .join(S.scenarios, S.groups.c.scenario_hash == S.scenarios.c.hash, isouter=True)
        .where(S.groups.c.kind == "live")
        .order_by(S.groups.c.created_at.desc(), S.groups.c.id)
    )
    if limit is not None:
        q = q.limit(int(limit))
    with store.reader.connect() as conn:
        groups = [dict(r._mapping) for r in conn.execute(q)]
        ids = [g["id"] for g in groups]
        chunks = conn.execute(chunk_kpis.where(S.runs.c.group_id.in_(ids))).all() if ids else []
    per: dict[str, list[tuple[dict[str, Any], str]]] = {}
    for gid, text, finished in chunks:
        per.setdefault(gid, []).append((json.loads(text), finished))
    out = []
    for g in groups:
        ks = per.get(g["id"], [])
        out.append(
            {
                **g,
                "chunks": len(ks),
                "steps": sum(int(k.get("chunk_steps", 0)) for k, _ in ks),
                "last_chunk_at": max((f for _, f in ks), default=None),
                "energy_charged_kwh": sum(float(k.get("energy_charged_kwh", 0.0)) for k, _ in ks),
                "v2g_energy_kwh": sum(float(k.get("energy_discharged_kwh", 0.0)) for k, _ in ks),
                "import_cost_mad": sum(float(k.get("import_cost_mad", 0.0)) for k, _ in ks),
                "peak_import_kw": max((float(k.get("peak_import_kw", 0.0)) for k, _ in ks), default=None),
            }
        )
    return out
