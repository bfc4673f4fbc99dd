"""The distribution of a sweep's results per strategy: savings, peak reduction and unmet energy.

Units as in the result table (``docs/sweep.md``): savings [%] and [MAD], peak reduction [%], energy [kWh].
"""

from __future__ import annotations

import pandas as pd

__all__ = ["summary_frame"]


def summary_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Per strategy (and per mode/V2G when they vary): distribution of savings, peak reduction and unmet energy."""
    if df.empty:
        return pd.DataFrame()
    groups = ["strategy"] + [k for k in ("mode", "v2g") if k in df and df[k].nunique() > 1]
    out = []
    for key, g in df.groupby(groups, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        s = pd.to_numeric(g["savings_pct"], errors="coerce")
        row = dict(zip(groups, key, strict=True))
        row.update(
            {
                "points": len(g),
                "savings_pct_min": s.min(),
                "savings_pct_p25": s.quantile(0.25),
                "savings_pct_median": s.median(),
                "savings_pct_p75": s.quantile(0.75),
                "savings_pct_max": s.max(),
                "savings_mad_mean": pd.to_numeric(g["savings_mad"]).mean(),
                "peak_reduction_pct_median": pd.to_numeric(g["peak_reduction_pct"], errors="coerce").median(),
                "peak_reduction_pct_min": pd.to_numeric(g["peak_reduction_pct"], errors="coerce").min(),
                "unmet_energy_kwh_mean": pd.to_numeric(g["unmet_energy_kwh"]).mean(),
                "unmet_energy_kwh_max": pd.to_numeric(g["unmet_energy_kwh"]).max(),
            }
        )
        out.append(row)
    return pd.DataFrame(out)
