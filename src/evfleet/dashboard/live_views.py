"""Views of the live mode (no Streamlit): KPI cards and fleet counts of a :class:`evfleet.simulation.live.LiveSnapshot`.

Units: power [kW], energy [kWh], money [MAD], counts [vehicles].
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from evfleet._common.tolerances import UNMET_TOL_KWH
from evfleet.dashboard.i18n import t
from evfleet.dashboard.l10n import fmt_number, fmt_pct, mad_scale
from evfleet.dashboard.views import LAYOUT, KpiCard, bucket_mean, downsample, local_naive, status_of, status_text
from evfleet.gridquality.records import Status

__all__ = ["fleet_counts_figure", "live_cards"]


def live_cards(snap: Any, lang: str) -> list[KpiCard]:
    """Cards of a live snapshot: site power now, cost so far, V2G energy so far, unmet energy so far."""
    limit = snap.scenario.import_limit_kw
    site = snap.site_kw
    ratio = site / limit if limit > 0 else None
    tot = snap.totals
    unmet_status = Status.OPTIMAL if tot["unmet_kwh"] <= UNMET_TOL_KWH else Status.WARNING
    div, unit = mad_scale(tot["cost_mad"])
    return [
        KpiCard(
            "site_now",
            t("card_site_now_kw", lang),
            fmt_number(site, lang),
            status_of(ratio, (0.7, 0.85, 1.0)),
            t("of_limit_short", lang, pct=fmt_pct(100 * ratio, lang, 2), limit=fmt_number(limit, lang))
            if ratio is not None
            else "",
        ),
        KpiCard("cost_so_far", t("card_cost_so_far", lang, unit=unit), fmt_number(tot["cost_mad"] / div, lang)),
        KpiCard("v2g_so_far", t("card_v2g_so_far_kwh", lang), fmt_number(tot["v2g_kwh"], lang)),
        KpiCard(
            "unmet",
            t("card_unmet_kwh", lang),
            fmt_number(tot["unmet_kwh"], lang),
            unmet_status,
            status_text(unmet_status, lang),
            t("help_unmet", lang),
        ),
    ]


# --- figures ---------------------------------------------------------------------------------------------------


def fleet_counts_figure(times: pd.DatetimeIndex, counts: Mapping[str, np.ndarray], lang: str,
                        height: int = 300) -> go.Figure:  # fmt: skip
    """Vehicles connected / charging / discharging over time (step lines)."""
    x = local_naive(pd.DatetimeIndex(times))
    k, idx = downsample(len(x))
    fig = go.Figure()
    styles = {"n_connected": ("connected", "#7f7f7f"), "n_charging": ("charging", "#2ca02c"),
              "n_discharging": ("discharging", "#d62728")}  # fmt: skip
    for key, (label, color) in styles.items():
        if key in counts:
            fig.add_trace(go.Scatter(x=x[idx], y=bucket_mean(counts[key], k), name=t(label, lang), mode="lines",
                                     line={"color": color, "shape": "hv", "width": 2}))  # fmt: skip
    fig.update_layout(**LAYOUT, height=height, title={"text": t("vehicles", lang), "x": 0},
                      yaxis_title=t("vehicles", lang))  # fmt: skip
    fig.update_layout(margin={"b": 110})
    fig.update_layout(legend={"y": -0.32})
    return fig
