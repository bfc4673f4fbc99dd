"""Shared pieces of the run store: errors, JSON helpers, durable file writes, trace files, grid-quality events.

Units: power [kW] (grid side, + = charging), SOC fraction 0-1. Trace files are Apache Parquet
(https://parquet.apache.org) with zstd compression.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "TRACE_FORMAT",
    "SchemaTooNewError",
    "StoreError",
    "normalise_events",
    "read_trace_bytes",
    "trace_table_bytes",
    "utc_now",
    "write_bytes_durably",
]

TRACE_FORMAT = "parquet-zstd/1"


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
    "kind": ("kind", "type", "indicator", "event", "metric", "quantity"),
    "severity": ("severity", "state", "level", "status"),
    "value": ("value", "measured", "max_value"),
    "limit_value": ("limit", "limit_value", "threshold"),
    "unit": ("unit", "units"),
    "standard": ("standard", "reference", "norm"),
}


def normalise_events(events: pd.DataFrame | Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """Grid-quality events as rows of the ``grid_events`` table; unknown columns are kept in ``detail_json``.

    Accepts the ``events.csv`` of the grid-quality module (or any table with a ``kind``/``type``/``indicator`` column).
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
        raise StoreError(
            f"grid-quality events need a 'kind' (or 'type'/'indicator') column; columns: {', '.join(map(str, cols))}"
        )
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
