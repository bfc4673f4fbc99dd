"""Operator alerts in ``events.csv``: next to the grid-quality events, as their own category.

``events.csv`` keeps the grid-quality columns (:data:`~evfleet.gridquality.alerts.EVENT_COLUMNS`, unchanged) and
adds :data:`ADDED_COLUMNS`: ``category`` (``grid_quality`` or ``operator``), ``kind`` (``state_change`` for a
grid-quality event, else the alert kind of :data:`evfleet.analysis.alerts.ALERT_KINDS`), ``object``, ``unit``,
``reason``, ``action`` (for a grid-quality row: ``model estimate: <indicator> <previous> -> <state>`` and a
pointer to the grid-quality page). An operator row also fills the grid columns: ``indicator`` = its kind,
``value`` = its quantity, ``limit``, ``state`` = its severity (``info``/``warning``/``critical``),
``previous_state`` empty. Rows are sorted by step (grid-quality events first within a step).
:func:`split_events` reads the file back into the grid-quality rows (exactly ``EVENT_COLUMNS``) and the
:class:`~evfleet.analysis.alerts.OperatorAlert` records; a file written before operator alerts existed (no
``category`` column) is all grid-quality rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from evfleet.analysis.alerts import OperatorAlert, operator_alerts
from evfleet.gridquality.alerts import EVENT_COLUMNS, INDICATORS
from evfleet.inputs.chargers import charger_layout
from evfleet.simulation.simulate import RunResult, simulate

__all__ = [
    "ADDED_COLUMNS",
    "EVENTS_CSV_COLUMNS",
    "GRID_CATEGORY",
    "OPERATOR_CATEGORY",
    "events_with_alerts",
    "run_alerts",
    "split_events",
]

ADDED_COLUMNS = ["category", "kind", "object", "unit", "reason", "action"]
#: Columns of ``events.csv``, in order.
EVENTS_CSV_COLUMNS = EVENT_COLUMNS + ADDED_COLUMNS
GRID_CATEGORY = "grid_quality"
OPERATOR_CATEGORY = "operator"


def run_alerts(result: RunResult, baseline: RunResult | None = None) -> list[OperatorAlert]:
    """The operator alerts of ``result`` (:func:`~evfleet.analysis.alerts.operator_alerts`) with its charger layout
    and, unless given, the uncontrolled baseline of the same scenario and options (simulated here; a rule, fast)."""
    if baseline is None and result.strategy != "uncontrolled":
        baseline = simulate(result.scenario, "uncontrolled", result.options)
    return operator_alerts(result, charger_layout(result.scenario), baseline)


def events_with_alerts(grid_events: pd.DataFrame | None, alerts: Sequence[OperatorAlert]) -> pd.DataFrame:
    """The ``events.csv`` table (:data:`EVENTS_CSV_COLUMNS`): grid-quality rows (``EVENT_COLUMNS``, time as text)
    and the operator alerts, sorted by step."""
    frames = []
    if grid_events is not None and len(grid_events):
        g = grid_events[EVENT_COLUMNS].copy()
        g["category"] = GRID_CATEGORY
        g["kind"] = "state_change"
        g["object"] = "site"
        # the indicator's unit ("" for the power factor, a ratio: "-" would be a formula-guarded cell)
        g["unit"] = [INDICATORS[str(i)][1].strip("-") if str(i) in INDICATORS else "" for i in g["indicator"]]
        g["reason"] = [f"model estimate: {i} {p} -> {st}" for i, p, st in
                       zip(g["indicator"], g["previous_state"], g["state"], strict=True)]  # fmt: skip
        g["action"] = "see the grid-quality page (model estimates, not measurements)"
        frames.append(g)
    if alerts:
        rows = [a.to_row() for a in alerts]
        o = pd.DataFrame(
            {
                "time": [r["time"] for r in rows],
                "step": [r["step"] for r in rows],
                "indicator": [r["kind"] for r in rows],
                "value": [r["value"] for r in rows],
                "limit": [r["limit"] for r in rows],
                "state": [r["severity"] for r in rows],
                "previous_state": "",
                "category": OPERATOR_CATEGORY,
                "kind": [r["kind"] for r in rows],
                "object": [r["object"] for r in rows],
                "unit": [r["unit"] for r in rows],
                "reason": [r["reason"] for r in rows],
                "action": [r["action"] for r in rows],
            }
        )
        frames.append(o)
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in EVENTS_CSV_COLUMNS})
    df = pd.concat(frames, ignore_index=True)[EVENTS_CSV_COLUMNS]
    return df.sort_values("step", kind="stable").reset_index(drop=True)


def split_events(df: pd.DataFrame) -> tuple[pd.DataFrame, list[OperatorAlert]]:
    """(grid-quality rows with exactly ``EVENT_COLUMNS``, operator alerts) of an ``events.csv`` table."""
    if "category" not in df.columns:
        return df, []
    cat = df["category"].fillna(GRID_CATEGORY).astype(str)
    op = cat == OPERATOR_CATEGORY
    grid = df.loc[~op, [c for c in EVENT_COLUMNS if c in df.columns]].reset_index(drop=True)
    alerts = []
    for i, rec in enumerate(df.loc[op].to_dict(orient="records")):
        rec = {**rec, "severity": rec.get("state")}
        alerts.append(OperatorAlert.from_row(rec, f"events[operator {i}]"))
    return grid, alerts
