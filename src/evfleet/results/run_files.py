"""Writing a run's outputs: ``kpis.json``, ``trace.npz``, ``site.csv``, ``vehicles.csv``, ``events.csv``.

A public format (see docs); ``events.csv`` and the grid columns come from :mod:`evfleet.gridquality.assess`.

Units as in the column names: power [kW], energy [kWh], prices [MAD/kWh], SOC fraction 0-1.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evfleet._common.files import write_files_atomic
from evfleet._common.text import csv_safe_frame
from evfleet.analysis.kpis import compute_kpis, step_table_columns
from evfleet.gridquality.assess import assess
from evfleet.results.pq_files import events_table, merge_site_columns
from evfleet.simulation.simulate import RunResult

__all__ = ["site_table", "vehicle_table", "write_run_outputs"]


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
) -> dict[str, Path]:
    """Write the run's output files into ``out_dir`` (created if needed); return their paths.

    With ``power_quality`` (default) the grid-quality assessment (:func:`evfleet.gridquality.assess.assess`, model
    estimates) adds ``events.csv``, its per-step columns to ``site.csv`` and its ``pq_*`` KPIs to ``kpis.json``;
    it is computed before anything is written, so a failure leaves no partial run. ``kpis`` is not modified.
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
