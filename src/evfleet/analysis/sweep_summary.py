"""The distribution of a sweep's results per strategy: savings, peak reduction and unmet energy.

Units as in the result table (``docs/sweep.md``): savings [%] and [MAD], peak reduction [%], energy [kWh].

Savings are summarised against each baseline and against the cheaper of the two per point (the headline, the rule
of :func:`evfleet.analysis.compare.baseline_savings`). Tables written before the ``timer`` baseline existed lack its
columns: their summaries have only the columns against ``uncontrolled``.
"""

from __future__ import annotations

import pandas as pd

from evfleet.analysis.bill import weakest_status

__all__ = ["BEST_COLUMNS", "UNCONTROLLED_COLUMNS", "cost_status", "summary_frame"]

#: Summary columns against ``uncontrolled`` (the summary's first columns, kept from before the timer baseline).
UNCONTROLLED_COLUMNS = (
    "savings_pct_min",
    "savings_pct_p25",
    "savings_pct_median",
    "savings_pct_p75",
    "savings_pct_max",
    "savings_mad_mean",
    "peak_reduction_pct_median",
    "peak_reduction_pct_min",
    "unmet_energy_kwh_mean",
    "unmet_energy_kwh_max",
)
#: Summary columns against ``timer`` and the cheaper baseline of each point (present when the table has them).
BEST_COLUMNS = (
    "savings_vs_timer_pct_median",
    "savings_vs_timer_mad_mean",
    "savings_vs_best_baseline_pct_min",
    "savings_vs_best_baseline_pct_p25",
    "savings_vs_best_baseline_pct_median",
    "savings_vs_best_baseline_pct_p75",
    "savings_vs_best_baseline_pct_max",
    "savings_vs_best_baseline_mad_mean",
    "timer_best_points",
    "nothing_to_do_points",
)


def cost_status(df: pd.DataFrame) -> str:
    """The status of the tariff values the table's MAD figures are built on: the weakest ``bill_status`` of its rows
    (:func:`evfleet.analysis.bill.weakest_status`; ``assumption`` for a table without it)."""
    if "bill_status" not in df or df.empty:
        return "assumption"
    return weakest_status(df["bill_status"].dropna().astype(str))


def _num(g: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(g[column], errors="coerce")


def summary_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Per strategy (and per mode/V2G when they vary): distribution of savings, peak reduction and unmet energy.

    Columns: the group keys, ``points``, :data:`UNCONTROLLED_COLUMNS`, then (when the table has the timer columns)
    :data:`BEST_COLUMNS`: ``timer_best_points`` counts the points whose cheaper baseline is ``timer``,
    ``nothing_to_do_points`` those where the strategy's lever never binds.
    """
    if df.empty:
        return pd.DataFrame()
    groups = ["strategy"] + [k for k in ("mode", "v2g") if k in df and df[k].nunique() > 1]
    has_best = "savings_vs_best_baseline_pct" in df
    out = []
    for key, g in df.groupby(groups, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        s = _num(g, "savings_pct")
        row = dict(zip(groups, key, strict=True))
        row.update(
            {
                "points": len(g),
                "savings_pct_min": s.min(),
                "savings_pct_p25": s.quantile(0.25),
                "savings_pct_median": s.median(),
                "savings_pct_p75": s.quantile(0.75),
                "savings_pct_max": s.max(),
                "savings_mad_mean": _num(g, "savings_mad").mean(),
                "peak_reduction_pct_median": _num(g, "peak_reduction_pct").median(),
                "peak_reduction_pct_min": _num(g, "peak_reduction_pct").min(),
                "unmet_energy_kwh_mean": _num(g, "unmet_energy_kwh").mean(),
                "unmet_energy_kwh_max": _num(g, "unmet_energy_kwh").max(),
            }
        )
        if has_best:
            b = _num(g, "savings_vs_best_baseline_pct")
            reasons = g["nothing_to_do_reason"].fillna("") if "nothing_to_do_reason" in g else pd.Series([], dtype=str)
            row.update(
                {
                    "savings_vs_timer_pct_median": _num(g, "savings_vs_timer_pct").median(),
                    "savings_vs_timer_mad_mean": _num(g, "savings_vs_timer_mad").mean(),
                    "savings_vs_best_baseline_pct_min": b.min(),
                    "savings_vs_best_baseline_pct_p25": b.quantile(0.25),
                    "savings_vs_best_baseline_pct_median": b.median(),
                    "savings_vs_best_baseline_pct_p75": b.quantile(0.75),
                    "savings_vs_best_baseline_pct_max": b.max(),
                    "savings_vs_best_baseline_mad_mean": _num(g, "savings_vs_best_baseline_mad").mean(),
                    "timer_best_points": int((g["best_baseline"] == "timer").sum()),
                    "nothing_to_do_points": int((reasons.astype(str) != "").sum()),
                }
            )
        out.append(row)
    return pd.DataFrame(out)
