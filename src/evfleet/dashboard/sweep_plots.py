"""Figures of a sweep for the HTML report and the dashboard: savings per strategy as box plots (Plotly).

Units: savings [%] of a baseline's net cost (the cheaper of uncontrolled and timer per point, timer, or
uncontrolled), or [MAD]; peak reduction [%] against uncontrolled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from evfleet._common.errors import InputError, InputFileNotFoundError
from evfleet.dashboard.i18n import STRINGS, strategy_label, t

__all__ = ["SWEEP_METRICS", "load_sweep", "savings_boxplot"]

_LABELS = {
    "savings_vs_best_baseline_pct": "savings vs the cheaper baseline [%]",
    "savings_vs_best_baseline_mad": "savings vs the cheaper baseline [MAD]",
    "savings_vs_timer_pct": "savings vs timer [%]",
    "savings_pct": "savings vs uncontrolled [%]",
    "savings_mad": "savings vs uncontrolled [MAD]",
    "peak_reduction_pct": "peak reduction vs uncontrolled [%]",
    "unmet_energy_kwh": "unmet energy [kWh]",
}
#: the metrics the dashboard offers, headline (against the cheaper baseline) first
SWEEP_METRICS = (
    "savings_vs_best_baseline_pct",
    "savings_vs_best_baseline_mad",
    "savings_vs_timer_pct",
    "savings_pct",
    "savings_mad",
    "peak_reduction_pct",
)


def load_sweep(out_dir: str | Path) -> pd.DataFrame:
    """The result table of a sweep directory (``DIR/results.parquet``)."""
    path = Path(out_dir) / "results.parquet"
    if not path.is_file():
        raise InputFileNotFoundError(f"no sweep results in {out_dir} (missing results.parquet)")
    return pd.read_parquet(path)


def _label(column: str, lang: str) -> str:
    key = f"sweep_axis_{column}"
    return t(key, lang) if key in STRINGS else column


def savings_boxplot(table: pd.DataFrame, column: str = "savings_pct", by_v2g: bool = True, lang: str = "en") -> Any:
    """A Plotly figure: one box per strategy (split by V2G on/off when it varies) of ``column`` over the points;
    titles, legends and strategy names in ``lang`` (the identifiers stay in the table)."""
    import plotly.graph_objects as go

    if column not in table:
        raise InputError(f"column {column!r} is not in the sweep table; known: {', '.join(_LABELS)}")
    fig = go.Figure()
    split = by_v2g and "v2g" in table and table["v2g"].nunique() > 1
    groups = table.groupby("v2g", sort=True) if split else [(None, table)]
    for v2g, g in groups:
        fig.add_trace(
            go.Box(
                x=[strategy_label(x, lang) for x in g["strategy"]],
                y=pd.to_numeric(g[column], errors="coerce"),
                name=t("sweep_all_points" if v2g is None else "sweep_v2g_on" if v2g else "sweep_v2g_off", lang),
                boxpoints="all",
                jitter=0.3,
                pointpos=0,
            )
        )
    fig.update_layout(
        boxmode="group" if split else "overlay",
        yaxis_title=_label(column, lang),
        xaxis_title=t("strategy", lang),
        title=t("sweep_title", lang, label=_label(column, lang), n=len(table)),
        template="plotly_white",
    )
    return fig
