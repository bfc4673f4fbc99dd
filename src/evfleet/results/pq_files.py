"""Files of the power-quality assessment: ``events.csv``, grid columns of ``site.csv``, ``pq_*`` KPIs, run loading.

Units as in the column names (see ``docs/grid-quality.md``): [%], [kW], [kvar], [kVA], [A], [°C], [Hz], [mHz].
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError, InputFileNotFoundError
from evfleet._common.files import write_csv_atomic, write_json_atomic
from evfleet.gridquality.assess import PER_STEP_COLUMNS, PowerQualityReport
from evfleet.scenario import load_scenario
from evfleet.simulation.simulate import RunResult, SimulationOptions
from evfleet.strategies.report import StrategyReport

__all__ = [
    "SITE_CSV_COLUMNS",
    "events_table",
    "load_frequency_csv",
    "load_run",
    "merge_site_columns",
    "write_power_quality_files",
]

#: Per-step columns added to ``site.csv`` (``frequency_hz``: the series assessed, equal to the scenario's when it
#: has one).
SITE_CSV_COLUMNS = [c for c in PER_STEP_COLUMNS if c not in ("time", "step", "p_kw")]


def merge_site_columns(site: pd.DataFrame, report: PowerQualityReport) -> pd.DataFrame:
    """``site`` with the grid-quality columns appended (replacing older ones of the same name)."""
    out = site.drop(columns=[c for c in SITE_CSV_COLUMNS if c in site.columns])
    if len(out) != len(report.per_step):
        raise InputError(f"field 'site.csv rows' must equal the run's {len(report.per_step)} steps (value {len(out)})")
    for col in SITE_CSV_COLUMNS:
        out[col] = report.per_step[col].to_numpy()
    return out


def events_table(report: PowerQualityReport) -> pd.DataFrame:
    """``events.csv`` rows: time as ISO-8601 text with its UTC offset."""
    ev = report.events.copy()
    ev["time"] = [pd.Timestamp(t).isoformat() for t in ev["time"]]
    return ev


def write_power_quality_files(report: PowerQualityReport, out_dir: str | Path) -> dict[str, Path]:
    """Write ``events.csv`` and update ``site.csv`` and ``kpis.json`` of an existing run directory."""

    out = Path(out_dir)
    site_path, kpi_path, ev_path = out / "site.csv", out / "kpis.json", out / "events.csv"
    site = pd.read_csv(site_path)
    kpis = json.loads(kpi_path.read_text(encoding="utf-8"))
    kpis = {k: v for k, v in kpis.items() if not k.startswith("pq_")}
    kpis.update(report.summary)
    site = merge_site_columns(site, report)
    write_csv_atomic(events_table(report), ev_path)
    write_csv_atomic(site, site_path)
    write_json_atomic(kpi_path, kpis)
    return {"events": ev_path, "site": site_path, "kpis": kpi_path}


def load_frequency_csv(path: str | Path, n_steps: int) -> np.ndarray:
    """A frequency series [Hz] from a CSV with a ``frequency_hz`` column of ``n_steps`` rows (45-55 Hz)."""
    p = Path(path)
    if not p.exists():
        raise InputFileNotFoundError(f"{p}: file not found")
    try:
        df = pd.read_csv(p)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: not a readable CSV: {exc}") from exc
    if "frequency_hz" not in df.columns:
        raise InputError(f"{p}: field 'frequency_hz' is required (value columns {list(df.columns)!r})")
    f = pd.to_numeric(df["frequency_hz"], errors="coerce").to_numpy(dtype=float)
    if len(f) != n_steps:
        raise InputError(f"{p}: field 'frequency_hz' must have {n_steps} rows, one per step (value {len(f)})")
    bad = np.flatnonzero(~np.isfinite(f) | (f < 45) | (f > 55))
    if bad.size:
        i = int(bad[0])
        raise InputError(f"{p}: field 'frequency_hz[{i}]' must be a number within 45-55 Hz "
                         f"(value {df['frequency_hz'].iloc[i]!r})")  # fmt: skip
    return f


def load_run(run_dir: str | Path) -> Any:
    """Rebuild a :class:`~evfleet.simulation.simulate.RunResult` from a run directory written by ``evfleet run``.

    Reads ``scenario.json``, ``trace.npz`` (``power_kw``, ``soc``, ``site_kw``, ``vehicle_id``) and, when present,
    ``kpis.json`` (strategy name, mode, v2g, ``strategy_*`` report keys). Fields not stored are left empty.
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
    if "vehicle_id" in trace and not np.array_equal(trace["vehicle_id"].astype(str), sc.vehicles.id.astype(str)):
        raise InputError(f"{d / 'trace.npz'}: field 'vehicle_id' does not match scenario.json (value differs)")
    kpis: dict[str, Any] = {}
    if (d / "kpis.json").exists():
        try:
            kpis = json.loads((d / "kpis.json").read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"{d / 'kpis.json'}: not valid JSON: {exc}") from exc
    mode = kpis.get("mode", "offline")
    opts = SimulationOptions(mode=mode if mode in ("offline", "online") else "offline", v2g=bool(kpis.get("v2g", True)))
    reported = {k[len("strategy_") :]: v for k, v in kpis.items() if k.startswith("strategy_")}
    try:
        report = StrategyReport.from_dict(reported)
    except (InputError, TypeError) as exc:
        raise InputError(f"{d / 'kpis.json'}: the strategy_* KPIs are not a strategy report: {exc}") from exc
    n = sc.n_vehicles
    return RunResult(
        scenario=sc,
        strategy=str(kpis.get("strategy", "unknown")),
        options=opts,
        power_kw=power,
        soc=np.asarray(trace["soc"], dtype=float),
        site_kw=np.asarray(trace["site_kw"], dtype=float),
        requested_clip_count=int(kpis.get("setpoints_clipped", 0) or 0),
        requested_clip_max_kw=0.0,
        curtailed_kwh=np.zeros(n),
        site_over_limit_steps=int(kpis.get("site_over_limit_steps", 0) or 0),
        unmet_kwh=np.zeros(n),
        unmet_reason=np.full(n, "", dtype=object),
        runtime_s=float(kpis.get("runtime_s", 0.0) or 0.0),
        strategy_report=report,
    )
