"""Live sessions in the run store: the dashboard's live mode keeps its history as rolling chunks.

Units: power [kW] (grid side, + = charging), SOC fraction 0-1, energy [kWh], money [MAD], steps of the scenario.

A live session is a group of kind ``live`` (id ``l...``) tied to one scenario. Each chunk covers steps
``[t0, t0 + k)`` and is stored like a run (status ``live-chunk``, label ``steps t0-t1``) in ONE transaction: the
per-step site rows (same columns as ``site.csv``), a Parquet trace of every vehicle's power (N, k) and SOC (N, k+1),
and a few chunk KPIs computed from those arrays. ``max_chunks`` keeps only the newest chunks (a rolling window).
"""

from __future__ import annotations

import os
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from evfleet._common.files import write_bytes_atomic
from evfleet._common.ids import new_id, utc_now
from evfleet._common.jsonsafe import clean_json, dumps
from evfleet._common.version import __version__
from evfleet.store import schema as S
from evfleet.store.engine import trace_file_path
from evfleet.store.rows import StoreError, rows_from_columns, trace_table_bytes

if TYPE_CHECKING:
    from evfleet.scenario import Scenario

__all__ = ["CHUNK_STATUS", "StoreLive", "window_step_columns"]

CHUNK_STATUS = "live-chunk"


def window_step_columns(
    scenario: Scenario, t0: int, power_kw: np.ndarray, site_kw: np.ndarray
) -> dict[str, np.ndarray]:
    """Per-step columns of ``site.csv`` for steps ``[t0, t0 + k)`` from a chunk's power (N, k) and site power (k,)."""
    k = power_kw.shape[1]
    t1 = t0 + k
    sl = slice(t0, t1)
    v = scenario.vehicles
    t = np.arange(t0, t1)
    conn = (v.arrival_step[:, None] <= t[None, :]) & (t[None, :] < v.departure_step[:, None])
    charging = (power_kw > 1e-6).sum(axis=0)
    discharging = (power_kw < -1e-6).sum(axis=0)
    connected = conn.sum(axis=0)
    cols: dict[str, np.ndarray] = {
        "time": np.asarray([x.isoformat() for x in scenario.times[sl]]),
        "step": t,
        "tou_period": scenario.tou_period[sl],
        "price_import_mad_per_kwh": scenario.price_import_mad_per_kwh[sl],
        "price_export_mad_per_kwh": scenario.price_export_mad_per_kwh[sl],
        "base_load_kw": scenario.base_load_kw[sl],
        "pv_kw": scenario.pv_kw[sl],
        "ev_kw": power_kw.sum(axis=0),
        "ev_charge_kw": np.maximum(power_kw, 0.0).sum(axis=0),
        "ev_discharge_kw": np.maximum(-power_kw, 0.0).sum(axis=0),
        "site_kw": np.asarray(site_kw, dtype=float),
        "import_limit_kw": np.full(k, scenario.import_limit_kw),
        "n_connected": connected,
        "n_charging": charging,
        "n_discharging": discharging,
        "n_idle": connected - charging - discharging,
    }
    if "frequency_hz" in scenario.series:
        cols["frequency_hz"] = scenario.series["frequency_hz"][sl]
    return cols


#: Retention of live sessions (docs/store.md): sessions older than this [days] are deleted ...
LIVE_MAX_AGE_DAYS = 7.0
#: ... and then the oldest ones until the live sessions' trace files total at most this [bytes].
LIVE_MAX_BYTES = 200 * 1024 * 1024
ENV_LIVE_MAX_AGE_DAYS = "EVFLEET_LIVE_MAX_AGE_DAYS"
ENV_LIVE_MAX_MB = "EVFLEET_LIVE_MAX_MB"


def live_retention() -> tuple[float, int]:
    """The retention rule in force: (maximum age [days], maximum total trace size [bytes]), from the environment
    (``EVFLEET_LIVE_MAX_AGE_DAYS``, ``EVFLEET_LIVE_MAX_MB``) or the defaults; a bad value raises naming it."""
    out = []
    for env, default, scale in ((ENV_LIVE_MAX_AGE_DAYS, LIVE_MAX_AGE_DAYS, 1.0), (ENV_LIVE_MAX_MB, None, 1.0)):
        raw = os.environ.get(env, "").strip()
        if not raw:
            out.append(default)
            continue
        try:
            value = float(raw) * scale
        except ValueError:
            raise StoreError(f"{env} must be a number (value {raw!r})") from None
        if not (np.isfinite(value) and value > 0):
            raise StoreError(f"{env} must be > 0 (value {raw!r})")
        out.append(value)
    age, mb = out
    return float(age), (LIVE_MAX_BYTES if mb is None else int(mb * 1024 * 1024))


class StoreLive:
    """Live-session methods of :class:`evfleet.store.runs.Store`."""

    engine: sa.Engine

    def prune_live_sessions(
        self,
        max_age_days: float | None = None,
        max_total_bytes: int | None = None,
        keep: tuple[str, ...] = (),
        now: datetime | None = None,
    ) -> list[str]:
        """Apply the live-session retention rule; return the ids of the deleted sessions.

        A live session whose newest chunk is older than ``max_age_days`` [days] is deleted; then, oldest first, live
        sessions are deleted while the trace files of all live sessions total more than ``max_total_bytes``. The
        sessions in ``keep`` (e.g. the one being recorded) are never deleted. Defaults: :func:`live_retention`.
        User runs, comparisons and sweeps are never touched.
        """
        age_days, total_max = live_retention()
        age_days = age_days if max_age_days is None else float(max_age_days)
        total_max = total_max if max_total_bytes is None else int(max_total_bytes)
        now = now or datetime.now(UTC)
        last = sa.func.max(sa.func.coalesce(S.runs.c.finished_at, S.runs.c.started_at))
        q = (
            sa.select(
                S.groups.c.id,
                S.groups.c.created_at,
                last.label("last"),
                sa.func.coalesce(sa.func.sum(S.traces.c.size_bytes), 0).label("bytes"),
            )
            .select_from(S.groups)
            .outerjoin(S.runs, S.runs.c.group_id == S.groups.c.id)
            .outerjoin(S.traces, S.traces.c.run_id == S.runs.c.id)
            .where(S.groups.c.kind == "live")
            .group_by(S.groups.c.id, S.groups.c.created_at)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        sessions = sorted(((r.last or r.created_at), r.id, int(r.bytes)) for r in rows)
        cutoff = now - timedelta(days=age_days)
        doomed = [sid for when, sid, _ in sessions if sid not in keep and datetime.fromisoformat(when) < cutoff]
        total = sum(b for _, sid, b in sessions if sid not in doomed)
        for _, sid, size in sessions:  # oldest first
            if total <= total_max:
                break
            if sid in keep or sid in doomed:
                continue
            doomed.append(sid)
            total -= size
        for sid in doomed:
            self.delete_group(sid)  # type: ignore[attr-defined]
        return doomed

    def start_live_session(
        self,
        scenario: Scenario,
        *,
        name: str = "live",
        options: Any = None,
        meta: dict[str, Any] | None = None,
    ) -> str:
        """Create a live session for ``scenario`` (stored once by hash); return its id (``l...``)."""
        opts = asdict(options) if options is not None and hasattr(options, "__dataclass_fields__") else options
        session_id = new_id("l")
        with self.engine.begin() as conn:
            h = self._ensure_scenario(conn, scenario)  # type: ignore[attr-defined]
            conn.execute(
                sa.insert(S.groups),
                {
                    "id": session_id,
                    "kind": "live",
                    "name": name,
                    "created_at": utc_now(),
                    "scenario_hash": h,
                    "options_json": dumps(clean_json(dict(opts or {}))),
                    "meta_json": dumps(clean_json(dict(meta or {}))),
                },
            )
        return session_id

    def save_live_chunk(
        self,
        session_id: str,
        scenario: Scenario,
        t0: int,
        power_kw: np.ndarray,
        soc: np.ndarray,
        site_kw: np.ndarray,
        *,
        strategy: str = "live",
        max_chunks: int | None = None,
    ) -> str:
        """Store steps ``[t0, t0 + k)`` of a live session in one transaction; return the chunk's run id.

        ``power_kw`` (N, k) [kW], ``soc`` (N, k+1) [0-1], ``site_kw`` (k,) [kW]. With ``max_chunks`` the oldest
        chunks beyond that number are deleted in the same transaction (rolling history).
        """

        group = self.get_group(session_id)  # type: ignore[attr-defined]
        if group["kind"] != "live":
            raise StoreError(f"{session_id!r} is a {group['kind']}, not a live session")
        if group["scenario_hash"] != scenario.content_hash:
            raise StoreError(f"live session {group['id']} belongs to another scenario ({group['scenario_hash'][:12]})")
        power_kw = np.asarray(power_kw, dtype=float)
        soc = np.asarray(soc, dtype=float)
        site_kw = np.asarray(site_kw, dtype=float)
        n = scenario.n_vehicles
        if power_kw.ndim != 2 or power_kw.shape[0] != n or power_kw.shape[1] < 1:
            raise StoreError(f"power_kw must have shape ({n}, k>=1) (value {power_kw.shape})")
        k = power_kw.shape[1]
        if soc.shape != (n, k + 1) or site_kw.shape != (k,):
            raise StoreError(f"soc must be ({n}, {k + 1}) and site_kw ({k},) (values {soc.shape}, {site_kw.shape})")
        if not 0 <= int(t0) <= scenario.n_steps - k:
            raise StoreError(f"t0 must be within 0-{scenario.n_steps - k} for a chunk of {k} steps (value {t0})")
        if max_chunks is not None and max_chunks < 1:
            raise StoreError(f"max_chunks must be >= 1 (value {max_chunks})")
        t0 = int(t0)
        dt = scenario.dt_h
        sl = slice(t0, t0 + k)
        imp = np.maximum(site_kw, 0.0)
        kpis = {
            "chunk_t0": t0,
            "chunk_steps": k,
            "energy_charged_kwh": float(np.maximum(power_kw, 0.0).sum() * dt),
            "energy_discharged_kwh": float(np.maximum(-power_kw, 0.0).sum() * dt),
            "import_energy_kwh": float(imp.sum() * dt),
            "import_cost_mad": float((imp * scenario.price_import_mad_per_kwh[sl]).sum() * dt),
            "peak_import_kw": float(imp.max()),
        }
        run_id = new_id("r")
        data = trace_table_bytes(scenario.vehicles.id, power_kw, soc)
        rel = f"{run_id}.parquet"
        path = trace_file_path(self.trace_dir, rel)  # type: ignore[attr-defined]
        write_bytes_atomic(path, data)
        import hashlib

        rows = rows_from_columns(window_step_columns(scenario, t0, power_kw, site_kw), k, S.SITE_STEP_COLUMNS)
        for r in rows:
            r["run_id"] = run_id
        now = utc_now()
        dropped: list[Any] = []
        try:
            with self.engine.begin() as conn:
                self._ensure_scenario(conn, scenario)  # type: ignore[attr-defined]
                conn.execute(
                    sa.insert(S.runs),
                    {
                        "id": run_id,
                        "scenario_hash": scenario.content_hash,
                        "strategy": strategy,
                        "mode": "live",
                        "options_json": dumps(group["options"]),
                        "strategy_params_json": "{}",
                        "evfleet_version": __version__,
                        "started_at": now,
                        "finished_at": now,
                        "status": CHUNK_STATUS,
                        "source": "live",
                        "label": f"steps {t0}-{t0 + k - 1}",
                        "kpis_json": dumps(kpis),
                        "group_id": group["id"],
                    },
                )
                conn.execute(sa.insert(S.site_steps), rows)
                conn.execute(
                    sa.insert(S.traces),
                    {"run_id": run_id, "path": rel, "sha256": hashlib.sha256(data).hexdigest(),
                     "size_bytes": len(data), "format": "parquet-zstd/1"},
                )  # fmt: skip
                if max_chunks is not None:
                    ids = conn.execute(
                        sa.select(S.runs.c.id)
                        .where(S.runs.c.group_id == group["id"])
                        .order_by(S.runs.c.started_at.desc(), S.runs.c.id.desc())
                    ).scalars()
                    dropped = list(ids)[max_chunks:]
                    dropped = [self._delete_run_rows(conn, old)[0] for old in dropped]  # type: ignore[attr-defined]
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        for old_path in dropped:
            if old_path is not None:
                trace_file_path(self.trace_dir, old_path).unlink(missing_ok=True)  # type: ignore[attr-defined]
        return run_id

    def live_history(self, session_id: str) -> pd.DataFrame:
        """Every stored step of a live session, by step (a step stored twice: the newer chunk wins)."""
        group = self.get_group(session_id)  # type: ignore[attr-defined]
        frames = [self.site_steps(r["id"]) for r in sorted(group["runs"], key=lambda r: (r["started_at"], r["id"]))]  # type: ignore[attr-defined]
        if not frames:
            return pd.DataFrame(columns=S.SITE_STEP_COLUMNS)
        df = pd.concat(frames, ignore_index=True)
        return df.drop_duplicates("step", keep="last").sort_values("step", kind="stable").reset_index(drop=True)
