"""Files of the power-quality assessment: ``events.csv``, grid columns of ``site.csv``, ``pq_*`` KPIs.

Units as in the column names (see ``docs/grid-quality.md``): [%], [kW], [kvar], [kVA], [A], [°C], [Hz], [mHz].
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from evfleet._common.errors import InputError
from evfleet._common.files import write_csv_atomic, write_json_atomic
from evfleet.gridquality.alerts import EVENT_COLUMNS, Event, events_from_rows
from evfleet.gridquality.assess import PER_STEP_COLUMNS, PowerQualityReport
from evfleet.results.alert_files import events_with_alerts, split_events

__all__ = [
    "SITE_CSV_COLUMNS",
    "event_table",
    "events_table",
    "merge_site_columns",
    "report_events",
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


def report_events(report: PowerQualityReport) -> list[Event]:
    """The report's events as :class:`~evfleet.gridquality.alerts.Event` records (its ``events`` table, checked)."""
    return events_from_rows(report.events, "PowerQualityReport.events")


def event_table(events: Sequence[Event]) -> pd.DataFrame:
    """``events.csv`` rows of ``events`` (:meth:`Event.to_row`: time as ISO-8601 text with its UTC offset)."""
    return pd.DataFrame([e.to_row() for e in events], columns=EVENT_COLUMNS)


def events_table(report: PowerQualityReport) -> pd.DataFrame:
    """``events.csv`` rows of a report's events (:func:`event_table` of :func:`report_events`)."""
    return event_table(report_events(report))


def write_power_quality_files(report: PowerQualityReport, out_dir: str | Path) -> dict[str, Path]:
    """Write ``events.csv`` (keeping its operator alerts), update ``site.csv`` and ``kpis.json`` of a run directory."""

    out = Path(out_dir)
    site_path, kpi_path, ev_path = out / "site.csv", out / "kpis.json", out / "events.csv"
    site = pd.read_csv(site_path)
    kpis = json.loads(kpi_path.read_text(encoding="utf-8"))
    kpis = {k: v for k, v in kpis.items() if not k.startswith("pq_")}
    kpis.update(report.summary)
    site = merge_site_columns(site, report)
    alerts = []  # the operator alerts already in events.csv are kept (their own category)
    if ev_path.exists():
        try:
            _grid, alerts = split_events(
                pd.read_csv(ev_path, keep_default_na=False, na_values={"value": [""], "limit": [""]})
            )
        except pd.errors.EmptyDataError:
            alerts = []
    write_csv_atomic(events_with_alerts(events_table(report), alerts), ev_path)
    write_csv_atomic(site, site_path)
    write_json_atomic(kpi_path, kpis)
    return {"events": ev_path, "site": site_path, "kpis": kpi_path}
