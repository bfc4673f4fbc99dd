"""Views of the operator's-console pages (no Streamlit): the history chart.

Units: money [MAD], power [kW].
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from evfleet.dashboard.i18n import strategy_label, t
from evfleet.dashboard.l10n import fmt_period
from evfleet.dashboard.views import LAYOUT, PALETTE

__all__ = ["history_figure"]


def history_figure(table: pd.DataFrame, lang: str, title: str, height: int = 360) -> go.Figure:
    """Net energy cost (bars, MAD) and peak import (markers, kW, right axis) per period and strategy.

    ``table`` has the columns of :data:`evfleet.store.history.HISTORY_COLUMNS`.
    """
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    df = table.sort_values("period", kind="stable")
    for i, (strategy, g) in enumerate(df.groupby("strategy", sort=True)):
        color = PALETTE[i % len(PALETTE)]
        name = strategy_label(strategy, lang)
        fig.add_trace(
            go.Bar(
                x=[fmt_period(p, lang) for p in g["period"]],
                y=g["net_energy_cost_mad"],
                name=f"{name} · MAD",
                marker_color=color,
                legendgroup=strategy,
            ),
            secondary_y=False,
        )
        fig.add_trace(
            go.Scatter(
                x=[fmt_period(p, lang) for p in g["period"]],
                y=g["peak_import_kw"],
                name=f"{name} · kW",
                mode="markers+lines",
                line={"color": color, "dash": "dot"},
                legendgroup=strategy,
            ),
            secondary_y=True,
        )
    fig.update_layout(**{**LAYOUT, "height": height, "title": title, "barmode": "group"})
    fig.update_xaxes(type="category")
    fig.update_yaxes(title_text=t("hist_cost", lang), secondary_y=False)
    fig.update_yaxes(title_text=t("hist_peak", lang), secondary_y=True)
    return fig
