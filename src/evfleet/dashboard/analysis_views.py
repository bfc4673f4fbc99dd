"""Views of the Strategies, Grid-quality and Economics pages (no Streamlit).

Units: money [MAD], power [kW], energy [kWh], harmonic currents [% of I_L], PF [-], unbalance [%].
Grid-quality figures are model estimates and say so in their titles (the model and standard come from the
power-quality report's ``assumptions``/``clause``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from evfleet.dashboard.i18n import (
    clause_text,
    event_indicator_label,
    indicator_label,
    mode_label,
    strategy_label,
    t,
    verdict_label,
)
from evfleet.dashboard.l10n import fmt_datetime, fmt_number
from evfleet.dashboard.views import (
    LAYOUT,
    PALETTE,
    PERIOD_COLORS,
    bucket_mean,
    compliance_level,
    downsample,
    local_naive,
    period_label,
)
from evfleet.gridquality.records import Status

__all__ = [
    "COMPARISON_HEADERS",
    "COMPLIANCE_HEADERS",
    "LEVEL_BACKGROUNDS",
    "cashflow_figure",
    "comparison_figure",
    "compliance_frame",
    "cost_by_period_figure",
    "events_frame",
    "filter_events",
    "pf_unbalance_figure",
    "spectrum_figure",
]

#: comparison table column -> i18n key of its header.
COMPARISON_HEADERS = {
    "strategy": "cmp_strategy",
    "mode": "cmp_mode",
    "net_cost_mad": "cmp_net_cost",
    "savings_mad": "cmp_savings",
    "savings_pct": "cmp_savings_pct",
    "savings_vs_timer_mad": "cmp_savings_timer",
    "savings_vs_best_baseline_pct": "cmp_savings_best_pct",
    "peak_import_kw": "cmp_peak",
    "load_factor": "cmp_load_factor",
    "v2g_energy_kwh": "cmp_v2g_kwh",
    "v2g_value_mad": "cmp_v2g_mad",
    "unmet_energy_kwh": "cmp_unmet",
    "nothing_to_do_reason": "cmp_nothing",
    "runtime_s": "cmp_runtime",
}
COMPLIANCE_HEADERS = {
    "indicator": "col_indicator",
    "value": "col_value",
    "limit": "col_limit",
    "status": "col_status",
    "clause": "col_clause",
}


def comparison_figure(table: pd.DataFrame, lang: str, height: int | None = None) -> go.Figure:
    """2x2 horizontal bars per strategy: net cost, savings, peak import, V2G energy (grouped by mode when both
    shown). The strategy names read horizontally on the left column only (shared y axes), so no name is rotated
    into the panel below it at 1280 px; the height grows with the number of bars."""
    panels = (
        ("net_cost_mad", "cmp_net_cost"),
        ("savings_mad", "cmp_savings"),
        ("peak_import_kw", "cmp_peak"),
        ("v2g_energy_kwh", "cmp_v2g_kwh"),
    )
    modes = list(dict.fromkeys(table["mode"].tolist())) if "mode" in table else ["offline"]
    n_bars = len(dict.fromkeys(table["strategy"].tolist())) * len(modes)
    if height is None:
        height = int(min(max(260 + 2 * 22 * n_bars, 420), 1100))
    # ~90 px between the rows: the upper panels' tick labels, then the lower panels' titles
    fig = make_subplots(rows=2, cols=2, subplot_titles=[t(k, lang) for _, k in panels],
                        vertical_spacing=min(0.3, 90 / height), horizontal_spacing=0.06,
                        shared_yaxes=True)  # fmt: skip
    for j, mode in enumerate(modes):
        sub = table[table["mode"] == mode] if "mode" in table else table
        labels = [strategy_label(x, lang) for x in sub["strategy"]]
        for i, (col, _) in enumerate(panels):
            fig.add_trace(
                go.Bar(
                    y=labels,
                    x=sub[col],
                    orientation="h",
                    name=mode_label(mode, lang),
                    legendgroup=mode,
                    showlegend=i == 0,
                    marker={"color": PALETTE[j % len(PALETTE)]},
                    hovertemplate="%{y}: %{x:,.3s}<extra>" + mode_label(mode, lang) + "</extra>",
                ),
                row=i // 2 + 1,
                col=i % 2 + 1,
            )
    layout = {**LAYOUT, "hovermode": "closest"}
    fig.update_layout(**layout, height=height, barmode="group")
    fig.update_yaxes(autorange="reversed")  # the table's order, top to bottom
    return fig


def compliance_frame(report: Any, lang: str = "en") -> pd.DataFrame:
    """The report's compliance table (columns of :data:`COMPLIANCE_HEADERS`) with ``level``, the
    :class:`~evfleet.gridquality.records.Status` of each row's status (:func:`~.views.compliance_level`), used for
    the cell colours. In French the indicator, status and clause are translated (values stay numbers)."""
    comp = report.compliance.copy()
    cols = [c for c in COMPLIANCE_HEADERS if c in comp.columns]
    out = comp[cols].reset_index(drop=True)
    out["level"] = [compliance_level(s) for s in comp["status"]]
    if lang != "en":
        if "indicator" in out:
            out["indicator"] = [indicator_label(x, lang) for x in out["indicator"]]
        if "status" in out:
            out["status"] = [verdict_label(str(x), lang) for x in out["status"]]
        if "clause" in out:
            out["clause"] = [clause_text(x, lang) for x in out["clause"]]
    return out


#: status level -> background colour of a status cell (light tints: the text stays readable)
LEVEL_BACKGROUNDS: dict[Status, str] = {
    Status.OPTIMAL: "#d4edda",
    Status.GOOD: "#d6e9f8",
    Status.WARNING: "#ffe8c2",
    Status.CRITICAL: "#f8d0d0",
    Status.NA: "",
}


def events_frame(events: pd.DataFrame, tz: str, lang: str = "en") -> pd.DataFrame:
    """Events with their time as local wall-clock text (the table would show UTC otherwise), in ``lang``: the
    indicator in words, the states translated, the values as locale text (French)."""
    out = events.copy()
    if "time" in out and len(out):
        times = pd.DatetimeIndex(pd.to_datetime(out["time"]))
        times = times.tz_convert(tz) if times.tz is not None else times
        out["time"] = [fmt_datetime(x, lang) for x in times]
    if lang != "en" and len(out):
        if "indicator" in out:
            out["indicator"] = [event_indicator_label(str(x), lang) for x in out["indicator"]]
        for col in ("state", "previous_state"):
            if col in out:
                out[col] = [verdict_label(str(x), lang) for x in out[col]]
        for col in ("value", "limit"):
            if col in out:
                out[col] = [fmt_number(x, lang) for x in out[col]]
    return out


def spectrum_figure(spectrum: pd.DataFrame, lang: str, source: str = "", height: int = 340) -> go.Figure:
    """Harmonic current at the PCC [% of I_L] per order h, bars, against the IEEE 519 limit (red markers)."""
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=spectrum["h"],
            y=spectrum["current_pct_of_il"],
            name=t("model_estimate", lang),
            marker={"color": "#1f77b4"},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=spectrum["h"],
            y=spectrum["limit_pct"],
            name=t("limit", lang) + " IEEE 519",
            mode="markers",
            marker={"symbol": "line-ew-open", "size": 16, "color": "#d62728", "line": {"width": 3}},
        )
    )
    title = f"{t('spectrum', lang)}<br><sup>{t('model_estimate', lang)}</sup>"  # two lines: fits half a page
    layout = {**LAYOUT, "hovermode": "closest"}
    fig.update_layout(
        **layout,
        height=height,
        title={"text": title, "x": 0},
        # odd orders carry the current: ticks on 1, 3, 5, ...; the axis starts at order 1 (never at 0)
        xaxis={
            "title": t("harmonic_order", lang),
            "tick0": 1,
            "dtick": 2,
            "range": [0.5, float(spectrum["h"].max()) + 0.5] if len(spectrum) else [0.5, 50.5],
        },
        yaxis_title=t("pct_il", lang),
    )
    fig.update_layout(margin={"t": 75})
    return fig


def pf_unbalance_figure(
    per_step: pd.DataFrame,
    times: pd.DatetimeIndex,
    lang: str,
    pf_limit: float | None = None,
    unbalance_limit: float | None = 2.0,
    height: int = 420,
) -> go.Figure:
    """PF (top, a chart: the billed cos φ is the compliance figure) and the voltage unbalance factor [%] (bottom,
    ``vuf_pct``, EN 50160 limit 2 % dashed; the current deviation ``unbalance_pct`` of older reports otherwise)."""
    ub_col = "vuf_pct" if "vuf_pct" in per_step else "unbalance_pct"
    x = local_naive(pd.DatetimeIndex(times))
    k, idx = downsample(len(x))
    x = x[idx]
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=[t("pf", lang), t("unbalance", lang) + " (%)"],
    )
    if "pf" in per_step:
        fig.add_trace(
            go.Scatter(
                x=x,
                y=bucket_mean(per_step["pf"].to_numpy(float), k),
                name=t("pf", lang),
                mode="lines",
                line={"color": "#1f77b4"},
            ),
            row=1,
            col=1,
        )
        if pf_limit is not None:
            fig.add_hline(y=pf_limit, line_dash="dash", line_color="#d62728", row=1, col=1)
    if ub_col in per_step:
        fig.add_trace(
            go.Scatter(
                x=x,
                y=bucket_mean(per_step[ub_col].to_numpy(float), k),
                name=t("unbalance", lang),
                mode="lines",
                line={"color": "#ff7f0e"},
            ),
            row=2,
            col=1,
        )
        if unbalance_limit is not None:
            fig.add_hline(y=unbalance_limit, line_dash="dash", line_color="#d62728", row=2, col=1)
    fig.update_layout(
        **LAYOUT,
        height=height,
        title={"text": f"{t('pf_unbalance', lang)}<br><sup>{t('model_estimate', lang)}</sup>", "x": 0},
    )
    fig.update_layout(margin={"b": 110, "t": 90})
    return fig


def filter_events(events: pd.DataFrame, indicators: Sequence[str] | None, states: Sequence[str] | None) -> pd.DataFrame:
    """Events whose indicator and state are among the chosen ones (``None``/empty = all)."""
    mask = np.ones(len(events), dtype=bool)
    if indicators:
        mask &= events["indicator"].isin(list(indicators)).to_numpy()
    if states:
        mask &= events["state"].isin(list(states)).to_numpy()
    return events[mask].reset_index(drop=True)


def cost_by_period_figure(table: pd.DataFrame, lang: str, strategy: str, height: int = 340) -> go.Figure:
    """Import cost [MAD] per tariff period, this strategy vs the uncontrolled baseline (when present)."""
    labels = [period_label(p, lang) for p in table["period"]]
    fig = go.Figure()
    if "baseline_import_cost_mad" in table:
        fig.add_trace(
            go.Bar(x=labels, y=table["baseline_import_cost_mad"], name=t("baseline", lang), marker={"color": "#bbbbbb"})
        )
    colors = [PERIOD_COLORS.get(p, "#1f77b4") for p in table["period"]]
    fig.add_trace(
        go.Bar(
            x=labels,
            y=table["import_cost_mad"],
            name=f"{t('this_strategy', lang)} ({strategy_label(strategy, lang)})",
            marker={"color": colors},
        )
    )
    layout = {**LAYOUT, "hovermode": "closest"}
    fig.update_layout(
        **layout, height=height, barmode="group", title={"text": t("cost_by_period", lang), "x": 0}, yaxis_title="MAD"
    )
    fig.update_layout(margin={"b": 110})
    return fig


def cashflow_figure(cashflow: pd.DataFrame, lang: str, payback_months: float | None, height: int = 340) -> go.Figure:
    """Cumulative cash flow [MAD] per year (simple and discounted), with the payback point."""
    fig = go.Figure()
    cum = cashflow["cumulative_mad"].to_numpy(float)
    fig.add_trace(
        go.Bar(
            x=cashflow["year"],
            y=cum,
            name=t("cumulative_cashflow", lang),
            marker={"color": np.where(cum < 0, "#d62728", "#2ca02c")},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=cashflow["year"],
            y=cashflow["discounted_cumulative_mad"],
            name=t("npv", lang),
            mode="lines+markers",
            line={"color": "#1f77b4"},
        )
    )
    if payback_months is not None and payback_months / 12 <= cashflow["year"].max():
        fig.add_vline(
            x=payback_months / 12,
            line_dash="dash",
            line_color="#333",
            annotation_text=f"{t('payback', lang)}{' :' if lang == 'fr' else ':'} {fmt_number(payback_months, lang)} "
            f"{t('months', lang)}",
        )
    layout = {**LAYOUT, "hovermode": "closest"}
    fig.update_layout(
        **layout,
        height=height,
        title={"text": t("cumulative_cashflow", lang), "x": 0},
        xaxis_title=t("year", lang),
        yaxis_title="MAD",
    )
    fig.update_layout(margin={"b": 110})
    return fig
