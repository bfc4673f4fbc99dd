"""Pure views of the Plan page and of the operator alerts (no Streamlit): tables and figures from plain data.

The plan comes from :func:`evfleet.results.plan.build_plan` and the alerts from
:func:`evfleet.results.alert_files.run_alerts`; nothing is computed here but formatting.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from evfleet.analysis.alerts import OperatorAlert
from evfleet.dashboard.i18n import STRINGS, fmt_num, t
from evfleet.dashboard.views import LAYOUT, KpiCard

__all__ = [
    "ALERT_HEADERS",
    "CHARGER_HEADERS",
    "MODEL_CARD_KEYS",
    "VEHICLE_HEADERS",
    "alert_summary",
    "alerts_table",
    "charger_plan_table",
    "model_estimate_cards",
    "setpoint_figure",
    "short_reason_label",
    "vehicle_plan_table",
]

VEHICLE_HEADERS = {
    "id": "col_session", "model": "col_model", "connector": "col_connector", "arrival": "col_arrival",
    "departure": "col_departure", "target_pct": "col_target_pct", "expected_pct": "col_expected_pct",
    "energy_kwh": "col_energy_kwh", "unmet_kwh": "col_short_kwh", "why": "col_why",
}  # fmt: skip
CHARGER_HEADERS = {
    "connector": "col_connector", "type": "col_type", "rating_kw": "col_rating_kw", "phase": "col_phase",
    "n_sessions": "col_sessions", "energy_kwh": "col_energy_kwh", "peak_kw": "col_peak_kw",
    "utilisation_pct": "col_utilisation_pct",
}  # fmt: skip
ALERT_HEADERS = {
    "time": "col_time", "severity": "col_severity", "kind": "col_alert", "object": "col_object",
    "quantity": "col_quantity", "limit": "col_limit", "why": "col_why", "action": "col_action",
}  # fmt: skip
_SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def _local(text: str, tz: str) -> str:
    return pd.Timestamp(text).tz_convert(tz).strftime("%d/%m %H:%M")


def short_reason_label(reason: str, lang: str) -> str:
    """Why a vehicle falls short, in ``lang`` (the reason code itself when it has no text)."""
    return t(f"short_{reason}", lang) if f"short_{reason}" in STRINGS else reason


def vehicle_plan_table(vehicles: pd.DataFrame, tz: str, lang: str) -> pd.DataFrame:
    """One row per session (:data:`VEHICLE_HEADERS` columns, headers still the column names)."""
    reason = vehicles["short_reason"].astype(str)
    return pd.DataFrame(
        {
            "id": vehicles["id"],
            "model": vehicles["model"],
            "connector": vehicles["connector"],
            "arrival": [_local(x, tz) for x in vehicles["arrival_time"]],
            "departure": [_local(x, tz) for x in vehicles["departure_time"]],
            "target_pct": 100.0 * vehicles["soc_target"].to_numpy(),
            "expected_pct": 100.0 * vehicles["soc_departure_expected"].to_numpy(),
            "energy_kwh": vehicles["energy_charged_kwh"].to_numpy(),
            "unmet_kwh": vehicles["unmet_kwh"].to_numpy(),
            "why": [short_reason_label(r, lang) if r else "" for r in reason],
        }
    )


def charger_plan_table(chargers: pd.DataFrame) -> pd.DataFrame:
    """One row per connector (:data:`CHARGER_HEADERS` columns)."""
    return chargers[list(CHARGER_HEADERS)].copy()


def setpoint_figure(
    times: pd.DatetimeIndex, power_kw: np.ndarray, lang: str, title: str, rating_kw: float | None = None
) -> go.Figure:
    """Setpoint [kW] per step as a step line (charging > 0, V2G < 0), with the connector's rating when given."""
    fig = go.Figure(
        go.Scatter(
            x=times,
            y=np.asarray(power_kw, dtype=float),
            mode="lines",
            line={"shape": "hv", "width": 2},
            name=t("setpoint_kw", lang),
            fill="tozeroy",
        )
    )
    if rating_kw is not None:
        fig.add_hline(y=float(rating_kw), line_dash="dash", line_color="#d62728", annotation_text=t("rating", lang))
    fig.update_layout(**LAYOUT, height=280, title={"text": title, "x": 0}, yaxis_title="kW", showlegend=False)
    return fig


def _alert_why(a: OperatorAlert, lang: str) -> str:
    if a.kind == "vehicle_not_ready":
        code = a.reason.split(":", 1)[0]
        return short_reason_label(code, lang)
    return t(f"why_{a.kind}", lang)


def _alert_action(a: OperatorAlert, lang: str) -> str:
    if a.kind == "vehicle_not_ready":
        code = a.reason.split(":", 1)[0]
        key = f"short_action_{code}"
        return t(key, lang) if key in STRINGS else a.action
    return t(f"action_{a.kind}", lang)


def alerts_table(alerts: Sequence[OperatorAlert], tz: str, lang: str) -> pd.DataFrame:
    """The alerts, most severe first then by time (:data:`ALERT_HEADERS` columns), texts in ``lang``."""
    ordered = sorted(alerts, key=lambda a: (_SEVERITY_ORDER[a.severity], a.step, a.kind, a.object))
    return pd.DataFrame(
        {
            "time": [a.time.tz_convert(tz).strftime("%d/%m %H:%M") for a in ordered],
            "severity": [t(f"severity_{a.severity}", lang) for a in ordered],
            "kind": [t(f"alert_{a.kind}", lang) for a in ordered],
            "object": [a.object for a in ordered],
            "quantity": [_qty(a.value, a.unit, lang) for a in ordered],
            "limit": [_qty(a.limit, a.unit, lang) for a in ordered],
            "why": [_alert_why(a, lang) for a in ordered],
            "action": [_alert_action(a, lang) for a in ordered],
        },
        columns=list(ALERT_HEADERS),
    )


def _qty(x: float, unit: str, lang: str) -> str:
    return f"{fmt_num(x, lang, 1)} {unit}".strip()


#: Overview cards built on the grid-quality model: shown without alarm colours (their states are on their page).
MODEL_CARD_KEYS = ("transformer_loading", "tdd", "pf", "unbalance")


def model_estimate_cards(cards: Sequence[KpiCard], lang: str) -> list[KpiCard]:
    """``cards`` with the grid-quality model's cards made neutral (no status colour, "model estimate" under the
    value): the Overview's first screen colours only what the operator can act on."""
    return [
        dataclasses.replace(c, status=None, detail=t("model_estimate_card", lang)) if c.key in MODEL_CARD_KEYS else c
        for c in cards
    ]


def alert_summary(alerts: Sequence[OperatorAlert], lang: str) -> dict[str, Any]:
    """Counts by kind (translated label -> count) and by severity."""
    kinds: dict[str, int] = {}
    sev = {"critical": 0, "warning": 0, "info": 0}
    for a in alerts:
        label = t(f"alert_{a.kind}", lang)
        kinds[label] = kinds.get(label, 0) + 1
        sev[a.severity] += 1
    return {"kinds": kinds, "severity": sev}
