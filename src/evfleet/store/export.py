"""Export a stored run, comparison or imported dataset as CSV, Parquet or JSON.

Units as in the column names (power [kW], energy [kWh], prices [MAD/kWh], SOC fraction 0-1). Values are written
exactly as stored (floats round-trip: shortest repr in CSV/JSON, float64 in Parquet). File layouts are documented
in ``docs/store.md``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evfleet._common.files import write_bytes_atomic
from evfleet._common.jsonsafe import clean_json
from evfleet._common.text import csv_safe_frame
from evfleet.analysis.compare import BASELINE, comparison_table
from evfleet.inputs.importers import fleet_to_csv, series_to_csv
from evfleet.store.rows import StoreError
from evfleet.store.runs import Store

__all__ = ["EXPORT_FORMATS", "export"]

EXPORT_FORMATS = ("csv", "parquet", "json")
RUN_EXPORT_FORMAT = "evfleet.run-export/1"


def _run_meta(store: Store, run_id: str) -> dict[str, Any]:
    run = store.get_run(run_id)
    run.pop("trace", None)
    run["bill"] = store.bill(run_id)  # as stored; a run stored before bills were kept is billed from its series
    return clean_json(run)


def _write_text(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def _trace_frame(trace: dict[str, np.ndarray], name: str) -> pd.DataFrame:
    """Wide table: one row per step, one column per vehicle id (``step`` first)."""
    arr = trace[name]
    frame = pd.DataFrame(arr.T, columns=[str(v) for v in trace["vehicle_id"]])
    frame.insert(0, "step", np.arange(arr.shape[1]))
    return frame


def _export_run(store: Store, run_id: str, fmt: str, out: Path) -> list[Path]:
    meta = _run_meta(store, run_id)
    site = store.site_steps(run_id)
    vehicles = store.vehicle_summaries(run_id)
    events = store.events(run_id)
    trace = store.trace(run_id)
    scenario_json = store.scenario(meta["scenario_hash"]).to_json()
    written: list[Path] = []
    if fmt == "json":
        doc = {
            "format": RUN_EXPORT_FORMAT,
            "run": meta,
            "site": site.to_dict(orient="list"),
            "vehicles": vehicles.to_dict(orient="list"),
            "events": events.to_dict(orient="records"),
            "trace": {
                "vehicle_id": [str(v) for v in trace["vehicle_id"]],
                "power_kw": trace["power_kw"].tolist(),
                "soc": trace["soc"].tolist(),
            },
            "scenario": json.loads(scenario_json),
        }
        _write_text(out, json.dumps(clean_json(doc), ensure_ascii=False, allow_nan=False) + "\n")
        return [out]
    out.mkdir(parents=True, exist_ok=True)
    _write_text(out / "run.json", json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    _write_text(out / "kpis.json", json.dumps(meta["kpis"], indent=2, allow_nan=False) + "\n")
    _write_text(out / "bill.json", json.dumps(meta["bill"], indent=2, allow_nan=False) + "\n")
    _write_text(out / "scenario.json", scenario_json)
    written += [out / "run.json", out / "kpis.json", out / "bill.json", out / "scenario.json"]
    if fmt == "csv":
        tables = {
            "site": site,
            "vehicles": vehicles,
            "power_kw": _trace_frame(trace, "power_kw"),
            "soc": _trace_frame(trace, "soc"),
        }
        if not events.empty:
            tables["events"] = events
        for name, df in tables.items():
            _write_text(out / f"{name}.csv", csv_safe_frame(df).to_csv(index=False))
            written.append(out / f"{name}.csv")
    else:
        for name, df in (("site", site), ("vehicles", vehicles), ("events", events)):
            if name == "events" and df.empty:
                continue
            df.to_parquet(out / f"{name}.parquet", index=False, compression="zstd")
            written.append(out / f"{name}.parquet")
        write_bytes_atomic(out / "trace.parquet", store.trace_file_bytes(run_id))
        written.append(out / "trace.parquet")
    return written


def _export_group(store: Store, group_id: str, fmt: str, out: Path) -> list[Path]:

    group = store.get_group(group_id)
    kpis = {r["label"] or r["strategy"]: r["kpis"] for r in group["runs"]}
    table = (
        comparison_table(kpis) if BASELINE in kpis else pd.DataFrame([{"strategy": k, **v} for k, v in kpis.items()])
    )
    if fmt == "json":
        doc = {
            "format": "evfleet.comparison-export/1",
            "group": {k: v for k, v in group.items() if k != "runs"},
            "comparison": table.to_dict(orient="records"),
            "runs": {r["label"] or r["strategy"]: {"id": r["id"], "kpis": r["kpis"]} for r in group["runs"]},
        }
        _write_text(out, json.dumps(clean_json(doc), ensure_ascii=False, allow_nan=False, default=str) + "\n")
        return [out]
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if fmt == "csv":
        _write_text(out / "comparison.csv", csv_safe_frame(table).to_csv(index=False))
        written.append(out / "comparison.csv")
    else:
        table.to_parquet(out / "comparison.parquet", index=False)
        written.append(out / "comparison.parquet")
    for r in group["runs"]:
        written += _export_run(store, r["id"], fmt, out / (r["label"] or r["id"]))
    return written


def _export_import(store: Store, import_id: str, fmt: str, out: Path) -> list[Path]:

    rec = store.get_import(import_id)
    payload = rec["payload"]
    if fmt == "json":
        _write_text(out, json.dumps(clean_json(rec), indent=2, ensure_ascii=False, default=str) + "\n")
        return [out]
    kind = rec["kind"]
    if kind == "fleet":
        text = fleet_to_csv(payload)
    elif kind == "series":
        text = series_to_csv(payload)
    elif kind == "catalog":
        text = csv_safe_frame(pd.DataFrame(payload["rows"])).to_csv(index=False)
    else:
        raise StoreError(f"a {kind} import exports as json only (it is a nested document)")
    if fmt == "csv":
        _write_text(out, text)
    else:
        import io

        pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False).to_parquet(out, index=False)
    return [out]


def export(store: Store, ident: str, fmt: str, out: str | Path) -> list[Path]:
    """Export a run / comparison / import to ``out`` in ``fmt`` (csv, parquet or json); return the written files.

    Runs: ``json`` writes one file (its ``run.bill`` the run's bill); ``csv`` and ``parquet`` write a directory
    (``run.json``, ``kpis.json``, ``bill.json``, ``scenario.json``, site, vehicles, trace, events). Imports: one
    file (the normalised dataset).
    """
    if fmt not in EXPORT_FORMATS:
        raise StoreError(f"option '--format' must be one of {', '.join(EXPORT_FORMATS)} (value {fmt!r})")
    out = Path(out)
    kind, full = store.resolve_id(ident)
    if kind == "run":
        return _export_run(store, full, fmt, out)
    if kind == "group":
        return _export_group(store, full, fmt, out)
    return _export_import(store, full, fmt, out)
