"""Pure view functions: results and live snapshots -> Plotly figures, KPI cards, table frames (no Streamlit).

Units: power [kW], energy [kWh], money [MAD], SOC [%] in figures (fraction 0-1 in the model), time in the site's
local time.

Speed rules measured on the target machines (``docs/dashboard.md``): SVG ``Scatter`` traces only (no WebGL),
at most :data:`MAX_POINTS` points per trace (:func:`downsample`), a constant ``uirevision`` so zoom survives
live refreshes. KPI status thresholds are display conventions of this dashboard (documented in
``docs/dashboard.md``), except where a grid-quality report supplies its own compliance status.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from evfleet._common.errors import InputError
from evfleet._common.tolerances import UNMET_TOL_KWH
from evfleet.analysis.cost import run_cost_mad
from evfleet.dashboard.i18n import STRINGS, clause_text, indicator_label, strategy_label, t
from evfleet.dashboard.l10n import fmt_int, fmt_number, fmt_pct, mad_scale, wrap_label
from evfleet.gridquality.records import Indicator, Status, Verdict

__all__ = [
    "COMPLIANCE_LEVELS",
    "MAX_POINTS",
    "STATUS_COLORS",
    "KpiCard",
    "assumptions_markdown",
    "compliance_index",
    "compliance_level",
    "default_strategy",
    "downsample",
    "economic_cards",
    "fleet_cards",
    "focus_step",
    "grid_cards",
    "load_curve_figure",
    "local_naive",
    "period_label",
    "pq_indicators",
    "radar_figure",
    "soc_histogram_figure",
    "status_of",
]

MAX_POINTS = 3000
#: status -> Streamlit named colour of the KPI card's delta line.
STATUS_COLORS: dict[Status, str] = {
    Status.OPTIMAL: "green",
    Status.GOOD: "blue",
    Status.WARNING: "orange",
    Status.CRITICAL: "red",
    Status.NA: "gray",
}
#: tariff period -> shading colour on load curves.
PERIOD_COLORS = {"creuses": "#2ca02c", "pleines": "#ffbf00", "pointe": "#d62728"}
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
LAYOUT = {
    "template": "plotly_white",
    "margin": {"l": 55, "r": 20, "t": 45, "b": 60},
    "legend": {"orientation": "h", "yanchor": "top", "y": -0.22, "xanchor": "left", "x": 0},
    "uirevision": "evfleet",
    "hovermode": "x unified",
    "font": {"size": 12},
}
#: strategy names tried, in order, for the default of the dashboard (price optimisation when registered).
PRICE_STRATEGY_NAMES = ("price_optimization", "price_optimisation", "price")


def default_strategy(names: Sequence[str]) -> str:
    """The dashboard's default strategy: price optimisation when registered, else the uncontrolled baseline."""
    for name in PRICE_STRATEGY_NAMES:
        if name in names:
            return name
    for name in names:
        if "price" in name:
            return name
    return "uncontrolled" if "uncontrolled" in names else names[0]


def period_label(period: str, lang: str) -> str:
    """Display name of a tariff period (the raw name when it has no translation)."""
    key = f"period_{period}"
    return t(key, lang) if key in STRINGS else str(period)


def local_naive(times: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Times as naive local wall-clock times (Plotly draws tz-aware values in UTC otherwise)."""
    return times.tz_localize(None) if times.tz is not None else times


def downsample(n: int, max_points: int = MAX_POINTS) -> tuple[int, np.ndarray]:
    """Bucket size k and bucket start indices so that a series of length ``n`` gives <= ``max_points`` points."""
    k = max(1, math.ceil(n / max_points))
    return k, np.arange(0, n, k)


def bucket_mean(y: np.ndarray, k: int) -> np.ndarray:
    if k == 1:
        return np.asarray(y, dtype=float)
    y = np.asarray(y, dtype=float)
    pad = (-len(y)) % k
    yp = np.concatenate([y, np.full(pad, np.nan)]) if pad else y
    return np.nanmean(yp.reshape(-1, k), axis=1)


# --- KPI cards -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiCard:
    """One KPI card: ``label``, formatted ``value``, ``status`` (a :class:`Status`, or ``None`` for a neutral
    figure), ``detail`` (shown under the value in the status colour) and a ``help`` tooltip."""

    key: str
    label: str
    value: str
    status: Status | None = None
    detail: str = ""
    help: str = ""

    @property
    def color(self) -> str:
        return "gray" if self.status is None else STATUS_COLORS[self.status]


def status_of(value: float | None, thresholds: Sequence[float], higher_is_better: bool = False) -> Status:
    """Map ``value`` to optimal/good/warning/critical with three ascending ``thresholds`` (na for ``None``).

    With ``higher_is_better=False``: value <= t0 optimal, <= t1 good, <= t2 warning, else critical; mirrored
    (>= t2 optimal, >= t1 good, >= t0 warning) when higher is better.
    """
    if value is None or not math.isfinite(float(value)):
        return Status.NA
    t0, t1, t2 = thresholds
    if higher_is_better:
        return (Status.OPTIMAL if value >= t2 else Status.GOOD if value >= t1 else
                Status.WARNING if value >= t0 else Status.CRITICAL)  # fmt: skip
    return (Status.OPTIMAL if value <= t0 else Status.GOOD if value <= t1 else
            Status.WARNING if value <= t2 else Status.CRITICAL)  # fmt: skip


#: status of a compliance row -> display level: the report's verdict (a failed check is critical, a passed one is
#: graded later by its distance to the limit), or a level the report gives itself.
COMPLIANCE_LEVELS: dict[str, Status] = {
    Verdict.PASS: Status.OPTIMAL,
    Verdict.FAIL: Status.CRITICAL,
    Verdict.INFO: Status.NA,
    **{s: s for s in Status},
}


def compliance_level(word: Any) -> Status:
    """The display level of a compliance row's ``status`` (exact words of :data:`COMPLIANCE_LEVELS`)."""
    level = COMPLIANCE_LEVELS.get(word) if isinstance(word, str) else None
    if level is None:
        raise InputError(f"field 'compliance.status' must be one of {', '.join(COMPLIANCE_LEVELS)} (value {word!r})")
    return level


def compliance_index(compliance: pd.DataFrame) -> dict[Indicator, int]:
    """Row position of each indicator in a report's compliance table (labels matched exactly, see
    :class:`~evfleet.gridquality.records.Indicator`; an unknown label raises ``InputError``)."""
    out: dict[Indicator, int] = {}
    if "indicator" not in compliance:
        return out
    for i, label in enumerate(compliance["indicator"].tolist()):
        out.setdefault(Indicator.parse(label, f"compliance[{i}].indicator")[0], i)
    return out


def status_text(status: Status | None, lang: str) -> str:
    """``● <status word>`` in ``lang`` (empty for a neutral figure)."""
    return "" if status is None else "● " + t(f"status_{Status(status).value}", lang)


def pq_indicators(report: Any) -> dict[str, dict[str, Any]]:
    """Headline grid-quality figures of a power-quality report (``None`` report -> empty dict).

    For each indicator, the report's compliance row when it has one (its :class:`Indicator` row, e.g. TDD p95:
    value, limit, clause and status); else the worst per-step value (max transformer loading [%], max TDD [%],
    min PF, max voltage unbalance [%], max |voltage deviation| [%], max THD_v [%]); ``pf`` is the billed cos φ and
    ``unbalance`` the EN 50160 voltage unbalance factor when the report has those rows. A passing check is graded by its
    distance to the limit (value/limit, or (1-PF)/(1-PF_min): <= 0.5 optimal, <= 0.8 good, else warning); a
    failing one is critical.
    """
    if report is None:
        return {}
    ps = report.per_step
    comp = getattr(report, "compliance", None)
    specs = {
        "transformer_loading": ("transformer_loading_pct", "max", Indicator.TRANSFORMER_LOADING_MAX),
        "tdd": ("tdd_pct", "max", Indicator.TDD_P95),
        "pf": ("pf", "min", Indicator.BILLED_COS_PHI),  # the billed cos φ (the per-step PF is a chart only)
        "unbalance": ("vuf_pct", "max", Indicator.VOLTAGE_UNBALANCE_P95),  # EN 50160 voltage unbalance
        "voltage": ("voltage_deviation_pct", "absmax", Indicator.VOLTAGE_DEVIATION_MAX),
        "thd_v": ("thd_v_pct", "max", Indicator.VOLTAGE_THD_P95),
    }
    rows = compliance_index(comp) if comp is not None else {}
    out: dict[str, dict[str, Any]] = {}
    for key, (col, how, indicator) in specs.items():
        if col not in ps:
            continue
        s = pd.to_numeric(ps[col], errors="coerce").to_numpy(dtype=float)
        s = s[np.isfinite(s)]
        if not s.size:
            continue
        val = float(s.max() if how == "max" else s.min() if how == "min" else np.abs(s).max())
        entry: dict[str, Any] = {"value": val, "limit": None, "status": None, "clause": ""}
        if indicator in rows:
            row = comp.iloc[rows[indicator]]
            lim = pd.to_numeric(pd.Series([row.get("limit")]), errors="coerce").iloc[0]
            cval = pd.to_numeric(pd.Series([row.get("value")]), errors="coerce").iloc[0]
            entry["limit"] = None if pd.isna(lim) else float(lim)
            entry["value"] = val if pd.isna(cval) else float(cval)
            entry["indicator"] = str(row.get("indicator", ""))
            entry["status"] = compliance_level(row.get("status"))
            entry["clause"] = str(row.get("clause", ""))
            ratio = limit_ratio(key, entry["value"], entry["limit"])
            if entry["status"] is Status.OPTIMAL and ratio is not None:
                entry["status"] = status_of(ratio, (0.5, 0.8, 10.0))
        out[key] = entry
    return out


def limit_ratio(key: str, value: float, limit: float | None) -> float | None:
    """How close an indicator is to its limit: value/limit, or (1-PF)/(1-PF_min) for the power factor."""
    if limit is None or not math.isfinite(value):
        return None
    if key == "pf":
        return (1.0 - value) / (1.0 - limit) if limit < 1 else None
    return value / limit if limit > 0 else None


def grid_cards(kpis: Mapping[str, Any], pq: Mapping[str, dict] | None, lang: str) -> list[KpiCard]:
    """Grid KPI cards: peak kW, load factor, transformer loading, TDD, PF, unbalance (short labels with the unit,
    values to 3 significant figures)."""
    limit = float(kpis["import_limit_kw"])
    peak = float(kpis["peak_import_kw"])
    ratio = peak / limit if limit > 0 else None
    cards = [
        KpiCard(
            "peak_kw",
            t("card_peak_kw", lang),
            fmt_number(peak, lang),
            status_of(ratio, (0.7, 0.85, 1.0)),
            t("of_limit_short", lang, pct=fmt_pct(100 * ratio, lang, 2), limit=fmt_number(limit, lang))
            if ratio is not None
            else "",
            t("help_peak", lang),
        ),
        KpiCard(
            "load_factor",
            t("card_load_factor", lang),
            fmt_number(kpis.get("load_factor"), lang),
            status_of(kpis.get("load_factor"), (0.25, 0.4, 0.6), higher_is_better=True),
            "",
            t("help_load_factor", lang),
        ),
    ]
    pq = pq or {}
    specs = (
        ("transformer_loading", "card_transformer_pct", (80.0, 90.0, 100.0), False),
        ("tdd", "card_tdd_pct", None, False),
        ("pf", "card_pf", (0.9, 0.95, 0.98), True),
        ("unbalance", "card_unbalance_pct", (1.0, 2.0, 3.0), False),
    )
    for key, label_key, thresholds, hib in specs:
        entry = pq.get(key)
        if entry is None:
            cards.append(KpiCard(key, t(label_key, lang), "–", Status.NA, t("status_na", lang), t("pq_missing", lang)))
            continue
        val = entry["value"]
        status = entry.get("status")
        if status in (None, Status.NA):
            if thresholds is not None:
                status = status_of(val, thresholds, higher_is_better=hib)
            elif entry.get("limit"):
                status = status_of(val / entry["limit"], (0.5, 0.8, 1.0))
            else:
                status = Status.NA
        detail = status_text(status, lang)
        if entry.get("limit") is not None:
            detail += " · " + t("limit_detail", lang, limit=fmt_number(entry["limit"], lang))
        colon = "\u202f: " if lang == "fr" else ": "
        help_ = t("help_pq", lang)
        help_ += colon + indicator_label(entry["indicator"], lang) if entry.get("indicator") else ""
        help_ += f" ({clause_text(entry['clause'], lang)})" if entry.get("clause") else ""
        cards.append(KpiCard(key, t(label_key, lang), fmt_number(val, lang), status, detail, help_))
    return cards


def economic_cards(
    kpis: Mapping[str, Any],
    base_kpis: Mapping[str, Any] | None,
    lang: str,
    no_v2g_kpis: Mapping[str, Any] | None = None,
    v2g_state: str = "ready",
) -> list[KpiCard]:
    """Economic KPI cards: cost, savings against ``base_kpis`` (the cheaper baseline, MAD and %), V2G value (cost
    without V2G − cost with it, from ``no_v2g_kpis``; "–" without it; ``v2g_state`` "pending": "…" and a line
    saying the run without V2G is being computed, "failed": "–" and why), degradation cost (the money unit, MAD,
    k MAD or M MAD, in each label)."""
    net = run_cost_mad(kpis)
    div, unit = mad_scale(net)
    raw_st = str(kpis.get("bill_status", "assumption"))  # the status of the bill's values, next to every MAD
    bill_st = t(f"src_{raw_st}", lang) if f"src_{raw_st}" in STRINGS else raw_st
    cards = [
        KpiCard(
            "net_cost",
            t("card_net_cost", lang, unit=unit),
            fmt_number(net / div, lang),
            None,
            bill_st,  # the status of the values the figure is built on (short: the card is narrow at 1280 px)
            t("help_net_cost", lang)
            + " "
            + t("import_kwh_detail", lang, energy=fmt_number(kpis["import_energy_kwh"], lang)),
        )
    ]
    if base_kpis is not None:
        base = run_cost_mad(base_kpis)
        sav = base - net
        pct = 100.0 * sav / base if base else None
        status = (None if abs(sav) < 0.5 else Status.WARNING if sav < 0 else
                  Status.OPTIMAL if (pct or 0) >= 10 else Status.GOOD)  # fmt: skip
        div_s, unit_s = mad_scale(sav)
        cards.append(
            KpiCard(
                "savings",
                t("card_savings", lang, unit=unit_s),
                fmt_number(sav / div_s, lang),
                status,
                f"{fmt_pct(pct, lang)} · {bill_st}",
                t("help_savings", lang) + f" ({strategy_label(str(base_kpis.get('strategy', 'uncontrolled')), lang)})",
            )
        )
    v2g = None if no_v2g_kpis is None else run_cost_mad(no_v2g_kpis) - net
    div_v, unit_v = mad_scale(v2g or 0.0)
    cards.append(
        KpiCard(
            "v2g_revenue",
            t("card_v2g_revenue", lang, unit=unit_v),
            ("…" if v2g_state == "pending" else "–") if v2g is None else fmt_number(v2g / div_v, lang),
            None,
            t(f"v2g_value_{v2g_state}", lang)
            if v2g is None and v2g_state in ("pending", "failed")
            else t("discharged_detail", lang, energy=fmt_number(kpis["energy_discharged_kwh"], lang)),
            t("help_v2g_revenue", lang),
        )
    )
    deg = float(kpis["degradation_cost_mad"])
    div_d, unit_d = mad_scale(deg)
    cards.append(
        KpiCard(
            "degradation",
            t("card_degradation", lang, unit=unit_d),
            fmt_number(deg / div_d, lang),
            None,
            "",
            t("help_degradation", lang),
        )
    )
    return cards


def fleet_cards(
    counts: Mapping[str, int], mean_soc: float | None, unmet_kwh: float, charged_kwh: float, lang: str, when: str = ""
) -> list[KpiCard]:
    """Fleet KPI cards: connected, charging, discharging, idle, mean SOC (connected vehicles), unmet energy."""
    share = unmet_kwh / charged_kwh if charged_kwh > 0 else (0.0 if unmet_kwh <= 0 else 1.0)
    unmet_status = Status.OPTIMAL if unmet_kwh <= UNMET_TOL_KWH else Status.WARNING if share < 0.01 else Status.CRITICAL
    detail = t("at_step", lang, time=when) if when else ""
    return [
        KpiCard("connected", t("card_connected", lang), fmt_int(counts["connected"], lang), None, detail),
        KpiCard("charging", t("card_charging", lang), fmt_int(counts["charging"], lang), None, detail),
        KpiCard("discharging", t("card_discharging", lang), fmt_int(counts["discharging"], lang), None, detail),
        KpiCard("idle", t("card_idle", lang), fmt_int(counts["idle"], lang), None, detail),
        KpiCard(
            "mean_soc",
            t("card_mean_soc", lang),
            fmt_number(None if mean_soc is None else 100 * mean_soc, lang),
            None,
            detail,
        ),
        KpiCard(
            "unmet",
            t("card_unmet_kwh", lang),
            fmt_number(unmet_kwh, lang),
            unmet_status,
            status_text(unmet_status, lang),
            t("help_unmet", lang),
        ),
    ]


def _period_runs(periods: Sequence[str]) -> list[tuple[int, int, str]]:
    """Contiguous runs ``(start, end_exclusive, period)`` of a period array."""
    p = np.asarray(periods, dtype=object)
    if not len(p):
        return []
    change = np.flatnonzero(p[1:] != p[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(p)]])
    return [(int(s), int(e), str(p[s])) for s, e in zip(starts, ends, strict=True)]


def _shade_periods(fig: go.Figure, x: pd.DatetimeIndex, periods: Sequence[str], step: pd.Timedelta,
                   lang: str) -> None:  # fmt: skip
    """Tariff periods as full-height translucent bars on a hidden overlaying axis (one trace per period, one
    point per plotted step: cheap whatever the number of period changes)."""
    per = np.asarray(periods, dtype=object)
    centers = x + step / 2
    width_ms = step.total_seconds() * 1000.0
    for name in dict.fromkeys(per.tolist()):
        color = PERIOD_COLORS.get(str(name))
        if color is None:
            continue
        y = np.where(per == name, 1.0, np.nan)
        fig.add_trace(
            go.Bar(
                x=centers,
                y=y,
                width=width_ms,
                name=period_label(str(name), lang),
                yaxis="y2",
                marker={"color": color, "line": {"width": 0}},
                opacity=0.13,
                hoverinfo="skip",
            )
        )
    fig.update_layout(
        yaxis2={"overlaying": "y", "range": [0, 1], "visible": False, "fixedrange": True}, bargap=0, barmode="overlay"
    )


def load_curve_figure(
    times: pd.DatetimeIndex,
    series: Mapping[str, np.ndarray],
    periods: Sequence[str] | None,
    import_limit_kw: float | None,
    lang: str,
    title: str | None = None,
    now: pd.Timestamp | None = None,
    height: int = 380,
) -> go.Figure:
    """Load curve: base load, PV, EV power, site power and the site without EVs, import limit, tariff shading.

    ``series`` holds arrays [kW] of len(times) under ``base_load_kw``, ``pv_kw``, ``ev_kw``, ``site_kw``; any may
    be missing. Extra keys ``site_kw:<label>`` add overlaid site curves (strategy overlays).
    """
    x_full = local_naive(pd.DatetimeIndex(times))
    n = len(x_full)
    k, idx = downsample(n)
    x = x_full[idx] if n else x_full
    step = (x_full[1] - x_full[0]) if n > 1 else pd.Timedelta(minutes=15)
    fig = go.Figure()
    if periods is not None and n:
        per = np.asarray(periods, dtype=object)[idx]
        _shade_periods(fig, x, per, step * k, lang)
    styles = {
        "base_load_kw": (t("base_load", lang), "#7f7f7f", "solid", 1.5),
        "pv_kw": (t("pv", lang), "#f2b701", "solid", 1.5),
        "net_base_kw": (t("site_without_ev", lang), "#9467bd", "dot", 1.5),
        "ev_kw": (t("ev_power", lang), "#2ca02c", "solid", 2.0),
        "site_kw": (t("site_power", lang), "#1f77b4", "solid", 2.6),
    }
    data = dict(series)
    if "base_load_kw" in data and "pv_kw" in data and "net_base_kw" not in data:
        data["net_base_kw"] = np.asarray(data["base_load_kw"]) - np.asarray(data["pv_kw"])
    for key, (name, color, dash, width) in styles.items():
        if key in data:
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=bucket_mean(data[key], k),
                    name=name,
                    mode="lines",
                    line={"color": color, "dash": dash, "width": width},
                )
            )
    overlays = [key for key in data if key.startswith("site_kw:")]
    for i, key in enumerate(overlays):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=bucket_mean(data[key], k),
                name=key.split(":", 1)[1],
                mode="lines",
                line={"color": PALETTE[i % len(PALETTE)], "width": 2.2},
            )
        )
    if import_limit_kw is not None and n:
        fig.add_trace(
            go.Scatter(
                x=[x[0], x[-1] + step * k],
                y=[import_limit_kw] * 2,
                name=t("import_limit", lang),
                mode="lines",
                line={"color": "#d62728", "dash": "dash", "width": 1.5},
            )
        )
    if now is not None:
        fig.add_vline(x=local_naive(pd.DatetimeIndex([now]))[0], line_width=1.5, line_dash="dot", line_color="#333")
    fig.update_layout(
        **LAYOUT,
        height=height,
        title={"text": title or t("load_curve", lang), "x": 0},
        yaxis_title=t("power_kw", lang),
    )
    fig.update_layout(margin={"b": 110})
    return fig


def soc_histogram_figure(soc: np.ndarray, target: float | None, lang: str, height: int = 300) -> go.Figure:
    """SOC distribution [%] of the given vehicles (pre-binned 5 % bars: a few points whatever the fleet size)."""
    edges = np.arange(0, 105, 5)
    counts, _ = np.histogram(np.clip(np.asarray(soc, dtype=float) * 100, 0, 100), bins=edges)
    centers = edges[:-1] + 2.5
    colors = [f"rgba(31,119,180,{0.35 + 0.65 * c / 100:.2f})" for c in centers]
    fig = go.Figure(
        go.Bar(
            x=centers, y=counts, width=4.6, marker={"color": colors}, hovertemplate="%{x:.0f} %: %{y}<extra></extra>"
        )
    )
    if target is not None:
        fig.add_vline(
            x=100 * target,
            line_dash="dash",
            line_color="#2ca02c",
            annotation_text=t("target", lang),
            annotation_position="top",
        )
    layout = {**LAYOUT, "hovermode": "closest"}
    fig.update_layout(
        **layout,
        height=height,
        title={"text": t("soc_distribution", lang), "x": 0},
        xaxis={"title": t("soc_pct", lang), "range": [0, 100]},
        yaxis_title=t("vehicles", lang),
        showlegend=False,
        bargap=0.05,
    )
    return fig


def radar_figure(pq: Mapping[str, dict], lang: str, height: int = 320) -> go.Figure:
    """Power-quality radar: each indicator as value / limit (1 = at the limit; PF as (1-PF)/(1-PF_min))."""
    names, ratios = [], []
    for key, entry in pq.items():
        r = limit_ratio(key, entry["value"], entry.get("limit"))
        if r is None or not math.isfinite(r):
            continue
        names.append(wrap_label(t(key, lang) if key in STRINGS else key.upper()))
        ratios.append(max(r, 0.0))
    shown = [min(r, 3.0) for r in ratios]  # the axis stops at 3x the limit; hover gives the true ratio
    fig = go.Figure()
    if names:
        theta = [*names, names[0]]
        fig.add_trace(
            go.Scatterpolar(
                r=[1.0] * len(theta),
                theta=theta,
                name=t("limit", lang),
                mode="lines",
                line={"color": "#d62728", "dash": "dash"},
            )
        )
        fig.add_trace(
            go.Scatterpolar(
                r=[*shown, shown[0]],
                theta=theta,
                customdata=[*ratios, ratios[0]],
                hovertemplate=("%{theta} : " if lang == "fr" else "%{theta}: ")
                + "%{customdata:.2f} "
                + t("ratio_limit_hover", lang)
                + "<extra></extra>",
                name=t("model_estimate", lang),
                fill="toself",
                mode="lines+markers",
                line={"color": "#1f77b4"},
            )
        )
    layout = {**LAYOUT, "hovermode": "closest"}
    fig.update_layout(
        **layout,
        height=height,
        title={"text": f"{t('radar', lang)}<br><sup>{t('model_estimate', lang)}</sup>", "x": 0},
        polar={"radialaxis": {"range": [0, max([1.2, *shown]) if shown else 1.2]}},
    )
    fig.update_layout(margin={"t": 75})
    return fig


def assumptions_markdown(assumptions: Any) -> str:
    """A report's assumptions (a list of sentences, a mapping or text) as a Markdown bullet list."""
    if isinstance(assumptions, Mapping):
        return "\n".join(f"- **{k}**: {v}" for k, v in assumptions.items())
    if isinstance(assumptions, list | tuple):
        return "\n".join(f"- {a}" for a in assumptions)
    return str(assumptions)


def focus_step(times: pd.DatetimeIndex, site_kw: np.ndarray, now: pd.Timestamp | None = None) -> int:
    """The step shown by default: the one containing ``now`` when the run covers it, else the import peak."""
    if now is not None and len(times) > 1:
        step = times[1] - times[0]
        if times[0] <= now < times[-1] + step:
            return int(np.searchsorted(times, now, side="right") - 1)
    return int(np.argmax(site_kw)) if len(site_kw) else 0
