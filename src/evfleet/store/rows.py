"""Shared pieces of the run store: errors, JSON helpers, durable file writes, trace files, grid-quality events.

Units: power [kW] (grid side, + = charging), SOC fraction 0-1. Trace files are Apache Parquet
(https://parquet.apache.org) with zstd compression.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError
from evfleet._common.jsonsafe import clean_json, dumps
from evfleet.analysis.kpis import step_table_columns
from evfleet.gridquality.alerts import Event, events_from_rows
from evfleet.results.alert_files import GRID_CATEGORY, OPERATOR_CATEGORY, split_events
from evfleet.simulation.simulate import RunResult
from evfleet.store import schema as S

__all__ = [
    "TRACE_FORMAT",
    "SchemaTooNewError",
    "StoreError",
    "normalise_events",
    "read_trace_bytes",
    "rows_from_columns",
    "site_step_rows",
    "trace_table_bytes",
]

TRACE_FORMAT = "parquet-zstd/1"


class StoreError(InputError):
    """A store operation failed on user input (unknown id, bad location, damaged file); nothing was changed."""


class SchemaTooNewError(StoreError):
    """The database was written by a newer evfleet (unknown schema revision); it is left untouched."""


# --- trace files ------------------------------------------------------------------------------------------------


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


def normalise_events(
    events: pd.DataFrame | Iterable[Event | Mapping[str, Any]] | None,
) -> list[dict[str, Any]]:
    """Grid-quality events as rows of the ``grid_events`` table (``detail_json``: the ``events.csv`` row).

    Takes :class:`~evfleet.gridquality.alerts.Event` records as the alert code produced them, or ``events.csv``
    rows (a DataFrame or mappings) with exactly its columns (:data:`~evfleet.gridquality.alerts.EVENT_COLUMNS`):
    an unknown or missing column or a bad value raises :class:`StoreError` naming it. Stored columns: ``kind`` =
    indicator, ``severity`` = state, ``value``, ``limit_value`` = limit, ``unit`` (the indicator's), ``standard``
    empty. A table with the operator alerts' added columns (``category`` ...) keeps its operator rows too
    (``kind`` = alert kind, ``severity`` = its severity).
    """
    if events is None:
        return []
    if isinstance(events, pd.DataFrame) and "category" in events.columns:
        return _normalise_with_alerts(events)
    try:
        if isinstance(events, pd.DataFrame):
            no_table = events.empty and len(events.columns) == 0
            records = [] if no_table else events_from_rows(events, "events")
        else:
            records = [e if isinstance(e, Event) else Event.from_row(e, f"events[{i}]") for i, e in enumerate(events)]
    except InputError as exc:
        raise StoreError(str(exc)) from None
    return [
        {
            "seq": seq,
            "step": e.step,
            "time": e.time.isoformat(),
            "kind": e.indicator,
            "severity": e.state.value,
            "value": e.value if np.isfinite(e.value) else None,
            "limit_value": e.limit if np.isfinite(e.limit) else None,
            "unit": e.unit,
            "standard": None,
            "detail_json": dumps(clean_json(e.to_row())),
        }
        for seq, e in enumerate(records)
    ]


def _normalise_with_alerts(events: pd.DataFrame) -> list[dict[str, Any]]:
    """``events.csv`` rows with operator alerts (:mod:`evfleet.results.alert_files`): grid-quality rows checked as
    :class:`Event`, operator rows as :class:`~evfleet.analysis.alerts.OperatorAlert`; ``detail_json`` is the whole
    row, so the run's events read back as the file."""
    try:
        grid, alerts = split_events(events)
        grid_events = events_from_rows(grid, "events") if len(grid) else []
    except InputError as exc:
        raise StoreError(str(exc)) from None
    is_op = (events["category"].fillna(GRID_CATEGORY).astype(str) == OPERATOR_CATEGORY).to_numpy()
    records = events.to_dict(orient="records")
    out: list[dict[str, Any]] = []
    gi = oi = 0
    for seq, (op, rec) in enumerate(zip(is_op.tolist(), records, strict=True)):
        if op:
            a = alerts[oi]
            oi += 1
            kind, severity, value, limit, unit = a.kind, a.severity, a.value, a.limit, a.unit
            time, step = a.time, a.step
        else:
            e = grid_events[gi]
            gi += 1
            kind, severity, value, limit, unit = e.indicator, e.state.value, e.value, e.limit, e.unit
            time, step = e.time, e.step
        out.append(
            {
                "seq": seq,
                "step": step,
                "time": time.isoformat(),
                "kind": kind,
                "severity": severity,
                "value": value if np.isfinite(value) else None,
                "limit_value": limit if np.isfinite(limit) else None,
                "unit": unit,
                "standard": None,
                "detail_json": dumps(clean_json(rec)),
            }
        )
    return out


def site_step_rows(
    result: RunResult, site: pd.DataFrame | None = None
) -> tuple[list[dict[str, Any]], list[str] | None]:
    """Rows of ``site_steps`` for a run, and the column order to keep (``None``: the default ``site.csv`` order).

    Without ``site`` the rows are :func:`.kpis.step_table_columns`. With ``site`` (the run's ``site.csv`` as
    written, e.g. with the grid-quality columns), its values are stored as given: columns of the fixed schema in their
    columns, any other column in ``extra_json``; fixed columns it lacks are computed from the result.
    """

    n = result.scenario.n_steps
    cols: dict[str, Any] = dict(step_table_columns(result))
    order: list[str] | None = None
    extras: dict[str, Any] = {}
    if site is not None:
        if len(site) != n:
            raise StoreError(f"the site table must have one row per step ({n}) (value {len(site)} rows)")
        order = [str(c) for c in site.columns]
        if len(set(order)) != len(order):
            raise StoreError(f"the site table has duplicate columns (value {order})")
        for c in site.columns:
            if c in S.SITE_STEP_COLUMNS:
                cols[str(c)] = site[c].to_numpy()
            else:
                extras[str(c)] = site[c]
    rows = rows_from_columns(cols, n, S.SITE_STEP_COLUMNS)
    if extras:
        records = pd.DataFrame(extras).to_dict(orient="records")
        for r, e in zip(rows, records, strict=True):
            r["extra_json"] = dumps(clean_json(e))
    else:
        for r in rows:
            r["extra_json"] = None
    return rows, order


def rows_from_columns(columns: Mapping[str, Any], n: int, names: list[str]) -> list[dict[str, Any]]:
    """``n`` row dicts with keys ``names`` from per-column arrays (a missing column gives ``None``)."""
    lists: dict[str, list] = {}
    for name in names:
        if name in columns:
            arr = np.asarray(columns[name])
            lists[name] = [str(x) for x in arr] if arr.dtype.kind in "OUS" else arr.tolist()
        else:
            lists[name] = [None] * n
    return [dict(zip(names, vals, strict=True)) for vals in zip(*(lists[k] for k in names), strict=True)]
