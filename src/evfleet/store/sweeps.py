"""Keep a sweep in the run store: one ``sweep`` group holding the result table and its summary.

Units as in the result table (``docs/sweep.md``): money [MAD], power [kW], energy [kWh], savings [%], times [s].

A sweep's points keep only their KPI rows (per-vehicle traces stay on the workers), so the store gets one group of
kind ``sweep`` (id ``s...``) with no runs: ``options`` is the normalised spec and ``meta`` is
``{"format": "evfleet.sweep/1", "n_points", "out_dir", "evfleet_version", "summary": [per-strategy rows of
summary.md], "columns": [...], "rows": [[...], ...]}`` (the whole table, one list per point, non-finite numbers as
null). It lives in the database itself, so backups, restores and exports of the store carry it, and it is written in
one transaction like every other group. :func:`load_stored_sweep` gives the table back.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from evfleet._common.version import __version__
from evfleet.analysis.sweep_summary import summary_frame
from evfleet.store.runs import StoreError, open_store

__all__ = ["is_stored_sweep", "load_stored_sweep", "store_sweep", "stored_sweeps", "sweep_table"]

SWEEP_FORMAT = "evfleet.sweep/1"


def _cell(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def store_sweep(
    table: pd.DataFrame, spec: dict[str, Any], out_dir: str | Path, n_points: int, name: str, db: str | None = None
) -> str:
    """Store a sweep's table and summary as one ``sweep`` group; return its id (``s...``)."""

    columns = [str(c) for c in table.columns]
    rows = [[_cell(v) for v in rec] for rec in table.itertuples(index=False, name=None)]
    summary = [{k: _cell(v) for k, v in r.items()} for r in summary_frame(table).to_dict(orient="records")]
    meta = {
        "format": SWEEP_FORMAT,
        "n_points": int(n_points),
        "n_rows": len(rows),
        "out_dir": str(Path(out_dir).resolve()),
        "evfleet_version": __version__,
        "summary": summary,
        "columns": columns,
        "rows": rows,
    }
    json.dumps(meta, allow_nan=False)  # fail here, before the transaction, if anything is not plain JSON
    with open_store(db) as st:
        group_id, _ = st.save_group("sweep", name, {}, options=spec, meta=meta)
    return group_id


def is_stored_sweep(group: dict[str, Any]) -> bool:
    """True if a group (as returned by ``Store.get_group``) is a sweep stored by :func:`store_sweep`."""
    return group.get("kind") == "sweep" and (group.get("meta") or {}).get("format") == SWEEP_FORMAT


def sweep_table(group: dict[str, Any]) -> pd.DataFrame:
    """The result table held by a stored sweep group; raises ``StoreError`` if the group is not one."""

    if not is_stored_sweep(group):
        raise StoreError(f"{group.get('id')!r} is a {group.get('kind')} group, not a sweep stored by `evfleet sweep`")
    return pd.DataFrame(group["meta"]["rows"], columns=group["meta"]["columns"])


def load_stored_sweep(ident: str, db: str | None = None) -> pd.DataFrame:
    """The result table of a stored sweep (id or unique prefix); raises ``StoreError`` if it is not one."""

    with open_store(db) as st:
        return sweep_table(st.get_group(ident))


def stored_sweeps(db: str | None = None, limit: int | None = 50) -> list[dict[str, Any]]:
    """The sweeps kept in the store, newest first: ``id``, ``name``, ``created_at``, ``n_points``, ``n_rows``."""

    with open_store(db) as st:
        groups = [g for g in st.list_groups(limit=None) if g["kind"] == "sweep"]
    found: list[dict[str, Any]] = []
    for g in groups:
        meta = json.loads(g.get("meta_json") or "{}")
        if meta.get("format") != SWEEP_FORMAT:
            continue
        n_rows = meta.get("n_rows", len(meta.get("rows", [])))
        found.append(
            {
                "id": g["id"],
                "name": g["name"],
                "created_at": str(g["created_at"]),
                "n_points": meta.get("n_points"),
                "n_rows": n_rows,
            }
        )
        if limit is not None and len(found) >= limit:
            break
    return found
