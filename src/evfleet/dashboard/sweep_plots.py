"""Figures of a sweep for the HTML report and the dashboard: savings per strategy as box plots (Plotly).

Units: savings [%] of the uncontrolled baseline's net cost, or [MAD]; peak reduction [%].
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from evfleet._common.errors import InputError, InputFileNotFoundError

__all__ = ["load_sweep", "savings_boxplot"]

_LABELS = {
    "savings_pct": "savings vs uncontrolled [%]",
    "savings_mad": "savings vs uncontrolled [MAD]",
    "peak_reduction_pct": "peak reduction vs uncontrolled [%]",
    "unmet_energy_kwh": "unmet energy [kWh]",
}


def load_sweep(out_dir: str | Path) -> pd.DataFrame:
    """The result table of a sweep directory (``DIR/results.parquet``)."""
    path = Path(out_dir) / "results.parquet"
    if not path.is_file():
        raise InputFileNotFoundError(f"no sweep results in {out_dir} (missing results.parquet)")
    return pd.read_parquet(path)


def savings_boxplot(table: pd.DataFrame, column: str = "savings_pct", by_v2g: bool = True) -> Any:
    """A Plotly figure: one box per strategy (split by V2G on/off when it varies) of ``column`` over the points."""
    import plotly.graph_objects as go

    if column not in table:
        raise InputError(f"column {column!r} is not in the sweep table; known: {', '.join(_LABELS)}")
    fig = go.Figure()
    split = by_v2g and "v2g" in table and table["v2g"].nunique() > 1
    groups = table.groupby("v2g", sort=True) if split else [(None, table)]
    for v2g, g in groups:
        fig.add_trace(
            go.Box(
                x=g["strategy"],
                y=pd.to_numeric(g[column], errors="coerce"),
                name="all points" if v2g is None else ("V2G on" if v2g else "V2G off"),
                boxpoints="all",
                jitter=0.3,
                pointpos=0,
            )
        )
    fig.update_layout(
        boxmode="group" if split else "overlay",
        yaxis_title=_LABELS.get(column, column),
        xaxis_title="strategy",
        title=f"Sweep: {_LABELS.get(column, column)} over {len(table)} points",
        template="plotly_white",
    )
    return fig
