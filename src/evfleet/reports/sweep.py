"""HTML report of a stored sweep: savings and peak reduction per strategy as box plots (inline SVG, no scripts).

Units: savings [%] of each point's baseline net cost (``uncontrolled``, and the cheaper of ``uncontrolled`` and
``timer``: the headline), peak reduction [%] of its uncontrolled peak import, unmet energy [kWh]; MAD figures carry
the status of the tariff values they are built on. Every number comes from the stored result table
(``evfleet.store.sweeps``); nothing is typed in.
Boxes span the 25th-75th percentiles with the median as a line; whiskers reach the smallest and largest point; every
point is drawn as a dot.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from evfleet.analysis.sweep_summary import cost_status, summary_frame
from evfleet.reports.html import page as _page
from evfleet.store.sweeps import sweep_table

__all__ = ["svg_box_plot", "sweep_report_body", "sweep_report_html"]

_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def _ticks(lo: float, hi: float, n: int = 5) -> np.ndarray:
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** np.floor(np.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=10 * mag)
    return np.arange(np.ceil(lo / step) * step, hi + step * 0.5, step)


def svg_box_plot(
    groups: Sequence[tuple[str, np.ndarray]], y_label: str, series: Sequence[str] | None = None, width: int = 900
) -> str:
    """Box plots as an inline SVG. ``groups``: (label, values) per box; ``series`` colours boxes by a sub-label."""
    height, left, right, top, bottom = 320, 70, 20, 20, 70
    vals = [np.asarray(v, dtype=float)[np.isfinite(np.asarray(v, dtype=float))] for _, v in groups]
    allv = np.concatenate([v for v in vals if v.size] or [np.zeros(1)])
    lo, hi = float(min(allv.min(), 0.0)), float(max(allv.max(), 0.0))
    pad = 0.05 * (hi - lo or 1.0)
    lo, hi = lo - pad, hi + pad
    ticks = _ticks(lo, hi)
    lo, hi = min(lo, float(ticks[0])), max(hi, float(ticks[-1]))
    plot_w, plot_h = width - left - right, height - top - bottom
    slot = plot_w / max(len(groups), 1)

    def y(v: float) -> float:
        return top + plot_h * (hi - v) / (hi - lo)

    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img'>"]
    for t in ticks:
        t = 0.0 if abs(t) < 1e-9 * (hi - lo) else float(t)  # no "-0" label
        parts.append(f"<line x1='{left}' x2='{width - right}' y1='{y(t):.1f}' y2='{y(t):.1f}' stroke='#eef1f5'/>")
        parts.append(f"<text x='{left - 6}' y='{y(t) + 4:.1f}' font-size='11' text-anchor='end'>{t:g}</text>")
    parts.append(f"<line x1='{left}' x2='{width - right}' y1='{y(0):.1f}' y2='{y(0):.1f}' stroke='#98a2b3'/>")
    colors = {s: _COLORS[i % len(_COLORS)] for i, s in enumerate(dict.fromkeys(series or []))}
    for i, ((label, _), v) in enumerate(zip(groups, vals, strict=True)):
        cx = left + slot * (i + 0.5)
        color = colors.get(series[i], _COLORS[0]) if series else _COLORS[0]
        bw = min(60.0, slot * 0.5)
        if v.size:
            q0, q1, q2, q3, q4 = np.percentile(v, [0, 25, 50, 75, 100])
            parts.append(f"<line x1='{cx:.1f}' x2='{cx:.1f}' y1='{y(q4):.1f}' y2='{y(q0):.1f}' stroke='{color}'/>")
            parts.append(
                f"<rect x='{cx - bw / 2:.1f}' y='{y(q3):.1f}' width='{bw:.1f}' height='{max(y(q1) - y(q3), 1):.1f}' "
                f"fill='{color}' fill-opacity='0.25' stroke='{color}'><title>{_e(label)}: median {q2:.3g}, "
                f"p25 {q1:.3g}, p75 {q3:.3g}, min {q0:.3g}, max {q4:.3g}, {v.size} points</title></rect>"
            )
            parts.append(
                f"<line x1='{cx - bw / 2:.1f}' x2='{cx + bw / 2:.1f}' y1='{y(q2):.1f}' y2='{y(q2):.1f}' "
                f"stroke='{color}' stroke-width='2'/>"
            )
            offsets = (np.arange(v.size) % 7 - 3) * bw / 10  # deterministic spread of the dots
            for off, val in zip(offsets, v, strict=True):
                parts.append(f"<circle cx='{cx + off:.1f}' cy='{y(val):.1f}' r='2.5' fill='{color}'/>")
        parts.append(
            f"<text x='{cx:.1f}' y='{height - bottom + 16}' font-size='11' text-anchor='middle'>{_e(label)}</text>"
        )
        if series:
            parts.append(
                f"<text x='{cx:.1f}' y='{height - bottom + 30}' font-size='10' fill='#5a6478' "
                f"text-anchor='middle'>{_e(series[i])}</text>"
            )
    parts.append(
        f"<text x='14' y='{top + plot_h / 2:.1f}' font-size='12' text-anchor='middle' "
        f"transform='rotate(-90 14 {top + plot_h / 2:.1f})'>{_e(y_label)}</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def _groups(table: pd.DataFrame, column: str) -> tuple[list[tuple[str, np.ndarray]], list[str] | None]:
    split = "v2g" in table and table["v2g"].nunique() > 1
    keys = ["strategy", "v2g"] if split else ["strategy"]
    groups, series = [], []
    for key, g in table.groupby(keys, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        groups.append((str(key[0]), pd.to_numeric(g[column], errors="coerce").to_numpy(dtype=float)))
        if split:
            series.append("V2G on" if bool(key[1]) else "V2G off")
    return groups, (series if split else None)


def sweep_report_body(table: pd.DataFrame, meta: dict[str, Any], spec: dict[str, Any]) -> str:
    """The report's HTML body: summary table, box plots of savings and peak reduction, unmet energy, the spec."""

    def fmt(x: Any) -> str:
        if isinstance(x, float):
            return "—" if not np.isfinite(x) else (f"{x:,.1f}" if abs(x) >= 100 else f"{x:.3g}")
        return _e(x)

    summ = summary_frame(table)
    status = cost_status(table)
    head = "".join(f"<th>{_e(c)}{f' ({_e(status)})' if '_mad' in c else ''}</th>" for c in summ.columns)
    body_rows = "".join(
        "<tr>" + "".join(f"<td>{fmt(v)}</td>" for v in rec) + "</tr>" for rec in summ.itertuples(index=False, name=None)
    )
    has_best = "savings_vs_best_baseline_pct" in table
    against = (
        "both baselines, <code>uncontrolled</code> and <code>timer</code>, run on the same scenario with the same "
        "options (computed in the same task); the headline (<code>savings_vs_best_baseline_*</code>) is against the "
        "cheaper of the two on each point"
        if has_best
        else "the <code>uncontrolled</code> baseline run on the same scenario with the same options (computed in the "
        "same task)"
    )
    parts = [
        f"<p>{len(table)} of {meta.get('n_points', len(table))} points; each point's savings are against {against}."
        f" Costs are bills before VAT built on tariff values of status <b>{_e(status)}</b>; MAD columns carry it in "
        "brackets.</p>",
        "<h2>Summary per strategy</h2>",
        f"<div class='tw'><table><tr>{head}</tr>{body_rows}</table></div>",
    ]
    for column, label in (
        ("savings_vs_best_baseline_pct", "savings vs the cheaper baseline [%] (headline)"),
        ("savings_pct", "savings vs uncontrolled [%]"),
        ("peak_reduction_pct", "peak reduction vs uncontrolled [%]"),
        ("unmet_energy_kwh", "unmet energy [kWh]"),
    ):
        if column in table:
            groups, series = _groups(table, column)
            parts.append(f"<h2>{_e(label)}</h2>")
            parts.append(svg_box_plot(groups, label, series))
    parts.append("<h2>Spec</h2>")
    parts.append(f"<pre>{_e(json.dumps(spec, indent=2, default=str))}</pre>")
    return "".join(parts)


def sweep_report_html(store: Any, group_id: str) -> str:
    """A self-contained HTML report of a sweep stored by ``evfleet sweep``."""

    group = store.get_group(group_id)
    table = sweep_table(group)
    sub = f"Sweep {_e(group['id'])} · {_e(group['name'])} · {_e(group['created_at'])}"
    return _page(
        f"evfleet sweep report — {group['name']}", sub, sweep_report_body(table, group["meta"], group["options"])
    )
