"""A run directory: writing its outputs (``kpis.json``, ``trace.npz``, ``site.csv``, ``vehicles.csv``,
``events.csv``, ``scenario.json``) and reading a run back from them (:func:`load_run`).

A public format (see docs/cli.md); ``events.csv`` and the grid columns come from :mod:`evfleet.gridquality.assess`.

Units as in the column names: power [kW], energy [kWh], prices [MAD/kWh], SOC fraction 0-1.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError, InputFileNotFoundError
from evfleet._common.files import write_files_atomic
from evfleet._common.text import csv_read_cell, csv_safe_frame
from evfleet.analysis.kpis import compute_kpis, step_table_columns
from evfleet.gridquality.assess import assess
from evfleet.results.alert_files import events_with_alerts, run_alerts
from evfleet.results.pq_files import events_table, merge_site_columns
from evfleet.scenario import load_scenario
from evfleet.simulation.simulate import RunResult, SimulationOptions
from evfleet.strategies.report import StrategyReport

__all__ = ["LOADED_VEHICLE_COLUMNS", "load_run", "site_table", "vehicle_table", "write_run_outputs"]

#: Columns of ``vehicles.csv`` that :func:`load_run` reads (every run written by :func:`write_run_outputs` has them).
LOADED_VEHICLE_COLUMNS = ("id", "unmet_kwh", "unmet_reason")


def site_table(result: RunResult) -> pd.DataFrame:
    """One row per step (see :func:`evfleet.analysis.kpis.step_table_columns`)."""
    return pd.DataFrame(step_table_columns(result))


def vehicle_table(result: RunResult) -> pd.DataFrame:
    """One row per plug-in session: id, model, times, SOC in/out, energy, unmet energy and its reason."""
    sc = result.scenario
    v = sc.vehicles
    n = sc.n_vehicles
    dt = sc.dt_h
    times = sc.times
    end = times[-1] + pd.Timedelta(minutes=sc.step_minutes) if sc.n_steps else sc.start
    all_times = times.append(pd.DatetimeIndex([end]))
    p = result.power_kw
    data: dict[str, Any] = {
        "id": v.id,
        "model": v.model,
        "arrival_step": v.arrival_step,
        "departure_step": v.departure_step,
        "arrival_time": [t.isoformat() for t in all_times[v.arrival_step]],
        "departure_time": [t.isoformat() for t in all_times[v.departure_step]],
        "battery_kwh": v.battery_kwh,
        "soc_arrival": v.soc_arrival,
        "soc_departure": result.soc[np.arange(n), v.departure_step],
        "soc_target": v.soc_target,
        "energy_charged_kwh": np.maximum(p, 0.0).sum(axis=1) * dt,
        "energy_discharged_kwh": np.maximum(-p, 0.0).sum(axis=1) * dt,
        "unmet_kwh": result.unmet_kwh,
        "unmet_reason": result.unmet_reason,
        "max_charge_kw": v.max_charge_kw,
        "max_discharge_kw": v.max_discharge_kw,
    }
    for key in ("vehicle", "charger"):
        if key in v.extra:
            data[key] = v.extra[key]
    return pd.DataFrame(data)


def write_run_outputs(
    result: RunResult,
    out_dir: str | Path,
    kpis: dict | None = None,
    *,
    power_quality: bool = True,
    electrical: Any = None,
    thresholds: Any = None,
    alerts: Any = True,
) -> dict[str, Path]:
    """Write the run's output files into ``out_dir`` (created if needed); return their paths.

    With ``power_quality`` (default) the grid-quality assessment (:func:`evfleet.gridquality.assess.assess`, model
    estimates) adds ``events.csv``, its per-step columns to ``site.csv`` and its ``pq_*`` KPIs to ``kpis.json``;
    it is computed before anything is written, so a failure leaves no partial run. ``kpis`` is not modified.
    ``alerts``: the operator alerts (:func:`evfleet.results.alert_files.run_alerts` when True, none when False, or
    a list of :class:`~evfleet.analysis.alerts.OperatorAlert`) are added to ``events.csv`` as their own category
    (``events.csv`` is then written even without the grid-quality assessment when there is any alert).
    """
    out = Path(out_dir)
    kpis = compute_kpis(result) if kpis is None else kpis
    site = site_table(result)
    events = None
    if power_quality:
        report = assess(result, electrical, thresholds)
        site = merge_site_columns(site, report)
        kpis = {**kpis, **report.summary}
        events = events_table(report)
    op_alerts = run_alerts(result) if alerts is True else list(alerts or [])
    if events is not None or op_alerts:
        events = events_with_alerts(events, op_alerts)
    # Everything is serialised first (a NaN or a bad field fails here, before any file exists), then written all
    # or nothing: a failed run leaves no partial output directory behind.
    trace = io.BytesIO()
    np.savez_compressed(
        trace,
        power_kw=result.power_kw,
        soc=result.soc,
        site_kw=result.site_kw,
        vehicle_id=np.asarray(result.scenario.vehicles.id, dtype=str),
    )
    files = {
        "kpis.json": (json.dumps(kpis, indent=2, allow_nan=False) + "\n").encode("utf-8"),
        "trace.npz": trace.getvalue(),
        "site.csv": csv_safe_frame(site).to_csv(index=False).encode("utf-8"),
        "vehicles.csv": csv_safe_frame(vehicle_table(result)).to_csv(index=False).encode("utf-8"),
        "scenario.json": result.scenario.to_json().encode("utf-8"),
    }
    if events is not None:
        files["events.csv"] = csv_safe_frame(events).to_csv(index=False).encode("utf-8")
    written = write_files_atomic(out, files)
    return {name.split(".")[0]: path for name, path in written.items()}


def _read_vehicles(path: Path, vehicle_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``unmet_kwh`` [kWh] and ``unmet_reason`` per session from a run's ``vehicles.csv`` (checked)."""
    if not path.exists():
        raise InputFileNotFoundError(f"{path}: file not found (is {path.parent} a directory written by `evfleet run`?)")
    try:
        df = pd.read_csv(
            path, dtype={"id": str, "unmet_reason": str}, keep_default_na=False, na_values={"unmet_kwh": [""]}
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: not a readable CSV: {exc}") from exc
    for col in LOADED_VEHICLE_COLUMNS:
        if col not in df.columns:
            raise InputError(f"{path}: column '{col}' is required (columns {', '.join(map(str, df.columns))})")
    if len(df) != len(vehicle_ids):
        raise InputError(f"{path}: must have one row per session of scenario.json ({len(vehicle_ids)}) "
                         f"(value {len(df)} rows)")  # fmt: skip
    ids = np.array([csv_read_cell(x) for x in df["id"].astype(str)], dtype=str)  # formula-safe cells read back
    bad = np.flatnonzero(ids != vehicle_ids.astype(str))
    if bad.size:
        i = int(bad[0])
        raise InputError(f"{path}: field 'id[{i}]' must be the session id of scenario.json, {vehicle_ids[i]!r} "
                         f"(value {ids[i]!r})")  # fmt: skip
    unmet = pd.to_numeric(df["unmet_kwh"], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(unmet) | (unmet < 0))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"{path}: field 'unmet_kwh[{i}]' must be a number >= 0 kWh (value {df['unmet_kwh'].iloc[i]!r})"
        )
    return unmet, df["unmet_reason"].to_numpy(dtype=object)


def _kpi_count(kpis: dict[str, Any], key: str, path: Path) -> int:
    value = kpis.get(key, 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or not float(value).is_integer():
        raise InputError(f"{path}: field '{key}' must be a count >= 0 (value {value!r})")
    return int(value)


def load_run(run_dir: str | Path) -> RunResult:
    """Rebuild a :class:`~evfleet.simulation.simulate.RunResult` from a run directory written by ``evfleet run``.

    Reads ``scenario.json``, ``trace.npz`` (``power_kw``, ``soc``, ``site_kw``, ``vehicle_id``), ``vehicles.csv``
    (``unmet_kwh`` [kWh] and ``unmet_reason`` per session) and, when present, ``kpis.json`` (strategy name, mode,
    v2g, counts of clipped setpoints and of steps over a site limit, runtime, ``strategy_*`` report keys). A
    missing or malformed file raises :class:`~evfleet._common.errors.InputError` (or ``InputFileNotFoundError``)
    naming it. Not stored per session, so NaN when the run had any (0 when ``kpis.json`` says there was none):
    ``curtailed_kwh`` (``kpis.json`` holds only the total ``curtailed_energy_kwh``) and ``requested_clip_max_kw``;
    ``strategy_params`` is empty.
    """

    d = Path(run_dir)
    if not d.is_dir():
        raise InputFileNotFoundError(f"{d}: run directory not found")
    for name in ("scenario.json", "trace.npz"):
        if not (d / name).exists():
            raise InputFileNotFoundError(f"{d / name}: file not found (is {d} a directory written by `evfleet run`?)")
    sc = load_scenario(d / "scenario.json")
    try:
        with np.load(d / "trace.npz", allow_pickle=False) as z:
            trace = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise InputError(f"{d / 'trace.npz'}: not a readable trace: {exc}") from exc
    for key in ("power_kw", "soc", "site_kw"):
        if key not in trace:
            raise InputError(f"{d / 'trace.npz'}: field '{key}' is required (value missing)")
    power = np.asarray(trace["power_kw"], dtype=float)
    if power.shape != (sc.n_vehicles, sc.n_steps):
        raise InputError(f"{d / 'trace.npz'}: field 'power_kw' must have shape {(sc.n_vehicles, sc.n_steps)} "
                         f"(value {power.shape})")  # fmt: skip
    for key, shape in (("soc", (sc.n_vehicles, sc.n_steps + 1)), ("site_kw", (sc.n_steps,))):
        if np.shape(trace[key]) != shape:
            raise InputError(f"{d / 'trace.npz'}: field '{key}' must have shape {shape} (value {np.shape(trace[key])})")
    if "vehicle_id" in trace and not np.array_equal(trace["vehicle_id"].astype(str), sc.vehicles.id.astype(str)):
        raise InputError(f"{d / 'trace.npz'}: field 'vehicle_id' does not match scenario.json (value differs)")
    unmet, reason = _read_vehicles(d / "vehicles.csv", np.asarray(sc.vehicles.id))
    kpi_path = d / "kpis.json"
    kpis: dict[str, Any] = {}
    if kpi_path.exists():
        try:
            kpis = json.loads(kpi_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"{kpi_path}: not valid JSON: {exc}") from exc
        if not isinstance(kpis, dict):
            raise InputError(f"{kpi_path}: must be a JSON object (value {type(kpis).__name__})")
    mode = kpis.get("mode", "offline")
    opts = SimulationOptions(mode=mode if mode in ("offline", "online") else "offline", v2g=bool(kpis.get("v2g", True)))
    reported = {k[len("strategy_") :]: v for k, v in kpis.items() if k.startswith("strategy_")}
    try:
        report = StrategyReport.from_dict(reported)
    except (InputError, TypeError) as exc:
        raise InputError(f"{kpi_path}: the strategy_* KPIs are not a strategy report: {exc}") from exc
    n = sc.n_vehicles
    clips = _kpi_count(kpis, "setpoints_clipped", kpi_path)
    curtailed_total = kpis.get("curtailed_energy_kwh")
    no_curtailment = (
        isinstance(curtailed_total, int | float) and not isinstance(curtailed_total, bool) and curtailed_total == 0
    )
    export_total = kpis.get("curtailed_export_kwh")
    no_export_cut = isinstance(export_total, int | float) and not isinstance(export_total, bool) and export_total == 0
    return RunResult(
        scenario=sc,
        strategy=str(kpis.get("strategy", "unknown")),
        options=opts,
        power_kw=power,
        soc=np.asarray(trace["soc"], dtype=float),
        site_kw=np.asarray(trace["site_kw"], dtype=float),
        requested_clip_count=clips,
        requested_clip_max_kw=0.0 if clips == 0 and "setpoints_clipped" in kpis else float("nan"),
        curtailed_kwh=np.zeros(n) if no_curtailment else np.full(n, np.nan),
        curtailed_export_kwh=np.zeros(n) if no_export_cut else np.full(n, np.nan),
        site_over_limit_steps=_kpi_count(kpis, "site_over_limit_steps", kpi_path),
        unmet_kwh=unmet,
        unmet_reason=reason,
        runtime_s=float(kpis.get("runtime_s", 0.0) or 0.0),
        strategy_report=report,
    )
