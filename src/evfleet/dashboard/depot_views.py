"""Views of the real depot's live snapshot (no Streamlit): KPI cards, tables and the setpoint figure.

The snapshot is what ``evfleet serve`` writes for the dashboard (:func:`evfleet.operate.views.depot_snapshot`, the
functions behind the REST API): ``site`` (as ``GET /api/v1/site``), ``stations`` (with EVSEs), ``sessions``,
``setpoints``, ``alerts``, ``plan``, ``stats``. Nothing is computed here beyond formatting. Units: kW, %.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from evfleet.dashboard import depot_i18n  # noqa: F401  (registers the texts)
from evfleet.dashboard.i18n import fmt_num, t
from evfleet.dashboard.views import LAYOUT, KpiCard, status_of
from evfleet.gridquality.records import Status

__all__ = ["alerts_table", "depot_cards", "sessions_table", "setpoints_figure", "stations_table"]


def depot_cards(data: dict[str, Any], lang: str) -> list[KpiCard]:
    """Site power vs limit, headroom, stations online, vehicles connected, stale meter values."""
    s = data.get("site") or {}
    limit = s.get("limit_kw") or 0.0
    imp = s.get("import_kw") or 0.0
    ratio = imp / limit if limit > 0 else None
    stale = int(s.get("n_stale_measurements") or 0)
    online, total = int(s.get("stations_online") or 0), int(s.get("stations") or 0)
    site_status = Status.CRITICAL if s.get("over_limit") else status_of(ratio, (0.7, 0.85, 1.0))
    return [
        KpiCard(
            "depot_site_power",
            t("depot_site_power", lang),
            f"{fmt_num(imp, lang, 1)} kW",
            site_status,
            t("of_limit", lang, limit=f"{fmt_num(limit, lang)} kW"),
        ),
        KpiCard("depot_headroom", t("depot_headroom", lang), f"{fmt_num(s.get('headroom_kw'), lang, 1)} kW"),
        KpiCard(
            "depot_stations_online",
            t("depot_stations_online", lang),
            f"{online} / {total}",
            Status.OPTIMAL if online == total else Status.WARNING,
        ),
        KpiCard("depot_connected", t("depot_connected", lang), str(int(s.get("n_connected") or 0))),
        KpiCard(
            "depot_stale_meters",
            t("depot_stale_meters", lang),
            str(stale),
            Status.OPTIMAL if stale == 0 else Status.WARNING,
        ),
    ]


def stations_table(data: dict[str, Any], lang: str) -> pd.DataFrame:
    """One row per EVSE: station, online, EVSE, connector status, session, setpoint, measured, profile status."""
    rows = []
    for st in data.get("stations") or []:
        for e in st.get("evses") or []:
            statuses = ", ".join(c.get("status") or "" for c in e.get("connectors") or [])
            rows.append(
                {
                    t("depot_col_station", lang): st.get("id"),
                    t("depot_col_online", lang): bool(st.get("online")),
                    t("depot_col_evse", lang): e.get("id"),
                    t("depot_col_status", lang): statuses,
                    t("depot_col_session", lang): e.get("session_id"),
                    t("depot_col_setpoint_kw", lang): e.get("setpoint_kw"),
                    t("depot_col_measured_kw", lang): e.get("measured_kw"),
                    t("depot_col_profile", lang): e.get("failed") or e.get("profile_status"),
                    t("depot_col_failsafe_kw", lang): st.get("default_profile_kw"),
                }
            )
    return pd.DataFrame(rows)


def sessions_table(data: dict[str, Any], lang: str) -> pd.DataFrame:
    """One row per active session: station, EVSE, vehicle, SOC and its source, departure, target and its source."""
    rows = []
    for s in data.get("sessions") or []:
        soc, target = s.get("soc"), s.get("target_soc")
        rows.append(
            {
                t("depot_col_station", lang): s.get("station_id"),
                t("depot_col_evse", lang): s.get("evse_id"),
                t("depot_col_vehicle", lang): s.get("vehicle_id") or s.get("id_token"),
                t("depot_col_soc", lang): round(100 * soc, 1) if soc is not None else None,
                t("depot_col_soc_source", lang): s.get("soc_source"),
                t("depot_col_departure", lang): s.get("departure"),
                t("depot_col_target", lang): round(100 * target, 1) if target is not None else None,
                t("depot_col_needs_source", lang): s.get("needs_source"),
            }
        )
    return pd.DataFrame(rows)


def alerts_table(data: dict[str, Any], lang: str) -> pd.DataFrame:
    """The newest alerts: time, level, kind, station, message (as text, never Markdown)."""
    rows = [
        {
            t("depot_col_time", lang): a.get("at"),
            t("depot_col_kind", lang): a.get("kind"),
            t("depot_col_station", lang): a.get("station_id"),
            t("depot_col_message", lang): a.get("message"),
        }
        for a in data.get("alerts") or []
    ]
    return pd.DataFrame(rows)


def setpoints_figure(data: dict[str, Any], lang: str, height: int = 320, max_bars: int = 60) -> go.Figure:
    """Setpoint vs measured power per connected EVSE (the first ``max_bars``; negative: V2G discharge), and the
    site's import against its limit in the title."""
    pts = (data.get("setpoints") or [])[:max_bars]
    labels = [f"{p.get('station_id')}/{p.get('evse_id')}" for p in pts]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=labels, y=[p.get("setpoint_kw") for p in pts], name=t("depot_setpoint", lang),
                         marker_color="#1f77b4"))  # fmt: skip
    fig.add_trace(go.Bar(x=labels, y=[p.get("measured_kw") for p in pts], name=t("depot_measured", lang),
                         marker_color="#2ca02c"))  # fmt: skip
    s = data.get("site") or {}
    title = (
        f"{t('depot_setpoints', lang)} · {t('depot_site_power', lang)} {fmt_num(s.get('import_kw'), lang, 1)} / "
        f"{fmt_num(s.get('limit_kw'), lang)} kW ({t('depot_limit', lang)})"
    )
    fig.update_layout(**LAYOUT, height=height, barmode="group", title={"text": title, "x": 0}, yaxis_title="kW")
    return fig
