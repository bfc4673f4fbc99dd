"""Self-contained HTML reports of a stored run or comparison (inline SVG charts, no scripts, opens offline).

Units as in the KPI names: money [MAD], power [kW], energy [kWh], shares [%]. Every figure is read from the store
(the KPIs computed by :func:`evfleet.analysis.kpis.compute_kpis` when the run was made); nothing is typed in. The report
lists the assumptions and sources of the scenario (tariff, catalogue, PV model, generator parameters).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError
from evfleet._common.tolerances import POWER_EPS_KW
from evfleet.analysis.compare import BASELINE, comparison_table, headline_text
from evfleet.analysis.kpis import __doc__ as kpi_doc
from evfleet.analysis.kpis import compute_kpis
from evfleet.gridquality.records import Verdict
from evfleet.inputs.tariffs import BILLING_KEYS, load_tariff
from evfleet.reports.html import escape as _e
from evfleet.reports.html import page as _page
from evfleet.reports.sweep import sweep_report_html
from evfleet.results.alert_files import split_events
from evfleet.results.run_files import write_run_outputs
from evfleet.store.runs import Store, StoreError, open_store, run_outputs_from_dir

if TYPE_CHECKING:
    from evfleet.simulation.simulate import RunResult

__all__ = ["report_html", "run_report_html", "svg_line_chart"]

_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf"]


def _fmt(x: Any) -> str:
    if isinstance(x, bool) or x is None:
        return "—" if x is None else ("yes" if x else "no")
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if not np.isfinite(x):
            return "—"
        return f"{x:,.2f}" if abs(x) >= 100 else f"{x:.4g}"
    return str(x)


#: compliance verdict -> CSS class of its cell (``info`` plain).
VERDICT_CLASSES = {Verdict.PASS: "ok", Verdict.FAIL: "bad", Verdict.INFO: ""}


def _table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """An HTML table; numbers right-aligned, :class:`Verdict` cells coloured by :data:`VERDICT_CLASSES`."""
    if not rows:
        return "<p class='note'>(none)</p>"
    cols = list(columns or rows[0].keys())
    head = "".join(f"<th>{_e(c)}</th>" for c in cols)
    body = []
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c)
            if isinstance(v, Verdict):
                cls = f" class='{VERDICT_CLASSES[v]}'" if VERDICT_CLASSES[v] else ""
                v = v.value
            else:
                cls = " class='n'" if isinstance(v, int | float) and not isinstance(v, bool) else ""
            cells.append(f"<td{cls}>{_e(_fmt(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<div class='tw'><table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"


def _nice_ticks(lo: float, hi: float, n: int = 5) -> np.ndarray:
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** np.floor(np.log10(raw))
    step = min((s * mag for s in (1, 2, 2.5, 5, 10) if s * mag >= raw), default=10 * mag)
    return np.arange(np.floor(lo / step) * step, hi + step * 0.5, step)


def svg_line_chart(
    times: pd.DatetimeIndex,
    series: Mapping[str, np.ndarray],
    *,
    title: str,
    y_label: str,
    width: int = 1040,
    height: int = 320,
    dashed: Sequence[str] = (),
) -> str:
    """An inline SVG line chart of ``series`` (name -> values, length len(times)) against local time."""
    left, right, top, bottom = 64, 16, 34, 58
    pw, ph = width - left - right, height - top - bottom
    vals = [np.asarray(v, dtype=float) for v in series.values()]
    finite = np.concatenate([v[np.isfinite(v)] for v in vals]) if vals else np.zeros(1)
    lo = min(0.0, float(finite.min())) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 1.0
    ticks = _nice_ticks(lo, hi)
    lo, hi = float(ticks[0]), float(ticks[-1])
    n = len(times)

    def x(i: np.ndarray | float) -> np.ndarray | float:
        return left + pw * (np.asarray(i, dtype=float) / max(n - 1, 1))

    def y(v: np.ndarray | float) -> np.ndarray | float:
        return top + ph * (1 - (np.asarray(v, dtype=float) - lo) / (hi - lo))

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' viewBox='0 0 {width} {height}' "
        "style='max-width:100%;height:auto' "
        f"role='img' aria-label='{_e(title)}'>",
        f"<text x='{left}' y='20' font-size='14' font-weight='600'>{_e(title)}</text>",
    ]
    for t in ticks:
        yy = y(t)
        parts.append(f"<line x1='{left}' x2='{left + pw}' y1='{yy:.1f}' y2='{yy:.1f}' stroke='#e3e6eb'/>")
        parts.append(
            f"<text x='{left - 6}' y='{yy + 4:.1f}' font-size='11' text-anchor='end'>{_e(_fmt(float(t)))}</text>"
        )
    n_xt = min(8, n)
    for i in np.linspace(0, n - 1, n_xt).round().astype(int) if n else []:
        xx = x(i)
        label = times[i].strftime("%d/%m %H:%M")
        parts.append(f"<line x1='{xx:.1f}' x2='{xx:.1f}' y1='{top + ph}' y2='{top + ph + 4}' stroke='#888'/>")
        anchor = "end" if i == n - 1 and n > 1 else "middle"
        parts.append(f"<text x='{xx:.1f}' y='{top + ph + 16}' font-size='11' text-anchor='{anchor}'>{_e(label)}</text>")
    parts.append(
        f"<text x='14' y='{top + ph / 2:.0f}' font-size='11' transform='rotate(-90 14 {top + ph / 2:.0f})' "
        f"text-anchor='middle'>{_e(y_label)}</text>"
    )
    parts.append(f"<rect x='{left}' y='{top}' width='{pw}' height='{ph}' fill='none' stroke='#c9ced6'/>")
    legend_x = left
    for k, (name, v) in enumerate(series.items()):
        color = _COLORS[k % len(_COLORS)]
        arr = np.asarray(v, dtype=float)
        xs, ys = x(np.arange(n)), y(np.where(np.isfinite(arr), arr, lo))
        # Step shape: each value holds over its step.
        pts = []
        for i in range(n):
            x0 = xs[i]
            x1 = xs[i + 1] if i + 1 < n else xs[i]
            pts.append(f"{x0:.1f},{ys[i]:.1f} {x1:.1f},{ys[i]:.1f}")
        dash = " stroke-dasharray='6 4'" if name in dashed else ""
        parts.append(f"<polyline fill='none' stroke='{color}' stroke-width='1.8'{dash} points='{' '.join(pts)}'/>")
        ly = height - 14
        parts.append(f"<rect x='{legend_x}' y='{ly - 9}' width='14' height='4' fill='{color}'/>")
        parts.append(f"<text x='{legend_x + 18}' y='{ly - 4}' font-size='11'>{_e(name)}</text>")
        legend_x += 26 + 7 * len(name)
    parts.append("</svg>")
    return "".join(parts)


def _cards(kpis: Mapping[str, Any]) -> str:
    keys = [
        ("net_cost_mad", "net cost [MAD]"),
        ("peak_import_kw", "peak import [kW]"),
        ("energy_charged_kwh", "EV energy charged [kWh]"),
        ("energy_discharged_kwh", "V2G energy [kWh]"),
        ("unmet_energy_kwh", "unmet energy [kWh]"),
        ("vehicles_served_pct", "vehicles served [%]"),
        ("load_factor", "load factor"),
        ("pv_self_consumption_pct", "PV self-consumption [%]"),
    ]
    status = str(kpis.get("bill_status", "assumption"))  # the status of the bill's values, next to every MAD
    cards = [
        f"<div class='card'><div class='v'>{_e(_fmt(kpis.get(k)))}</div><div class='k'>"
        f"{_e(label + (f' ({status})' if k.endswith('_mad') else ''))}</div></div>"
        for k, label in keys
        if k in kpis
    ]
    return f"<div class='cards'>{''.join(cards)}</div>"


def _compliance(store: Store, run: Mapping[str, Any], site: pd.DataFrame, name: str = "") -> str:
    k = run["kpis"]
    limit = float(k.get("import_limit_kw") or 0.0)
    peak = float(k.get("peak_import_kw") or 0.0)
    rows: list[dict[str, Any]] = [
        {
            "check": "site import within the connection limit",
            "value": f"peak {peak:,.1f} kW",
            "limit": f"{limit:,.1f} kW",
            "result": Verdict.PASS if peak <= limit + POWER_EPS_KW else Verdict.FAIL,
        },
        {
            "check": "steps over a site limit after protection",
            "value": k.get("site_over_limit_steps"),
            "limit": "0",
            "result": Verdict.PASS if not k.get("site_over_limit_steps") else Verdict.FAIL,
        },
        {
            "check": "EV energy curtailed by site protection [kWh]",
            "value": k.get("curtailed_energy_kwh"),
            "limit": "—",
            "result": Verdict.INFO,
        },
    ]
    if "frequency_hz" in site:
        f = site["frequency_hz"].to_numpy(dtype=float)
        share = float(((f >= 49.5) & (f <= 50.5)).mean() * 100.0)
        rows.append(
            {
                "check": "grid frequency within 50 Hz ± 1 % (the scenario's series, or the grid-quality estimate)",
                "value": f"{share:.2f} % of steps ({f.min():.3f}-{f.max():.3f} Hz)",
                "limit": ">= 99.5 % of the time (EN 50160, interconnected systems, measured over a year)",
                "result": Verdict.PASS if share >= 99.5 else Verdict.FAIL,
            }
        )
    if "pq_compliant" in k:
        failed = k.get("pq_checks_failed")
        rows.append(
            {
                "check": "grid-quality checks (model estimates: harmonics, unbalance, power factor, transformer, ...)",
                "value": f"{failed} failed" if failed is not None else "—",
                "limit": "0 failed (limits and standards: indicators below)",
                "result": Verdict.PASS if k["pq_compliant"] else Verdict.FAIL,
            }
        )
    body = _table(rows, ["check", "value", "limit", "result"])
    pq = [{"indicator": key, "value": v} for key, v in k.items() if key.startswith("pq_")]
    if pq:
        body += (
            "<h4>Grid-quality indicators (model estimates of evfleet.gridquality.assess, not measurements; "
            "see docs/grid-quality.md)</h4>" + _table(pq)
        )
    events = store.events(run["id"]) if run.get("n_events") else pd.DataFrame()
    alerts: list = []
    if not events.empty:
        try:
            events, alerts = split_events(events)  # operator alerts are their own category of events.csv
        except InputError:
            alerts = []
    if alerts:
        rows = [{"time": a.time.strftime("%Y-%m-%d %H:%M"), "kind": a.kind, "object": a.object,
                 "quantity": f"{a.value:.4g} {a.unit}", "limit": f"{a.limit:.4g} {a.unit}", "severity": a.severity,
                 "why": a.reason, "what to do": a.action} for a in alerts]  # fmt: skip
        body += f"<h4>Alerts to act on ({len(alerts)})</h4>" + _table(rows)
    if events.empty:
        body += (
            "<p class='note'>No grid-quality assessment (harmonics, voltage, flicker events) is stored for this run. "
            "Runs made with the grid-quality module store its events and they appear here.</p>"
        )
    else:
        # events.csv rows (EVENT_COLUMNS): counted per indicator and new state; runs stored before events were
        # checked may hold other columns, listed as they are
        group_cols = ["indicator", "state"]
        if set(group_cols) <= set(events.columns):
            summary = events.groupby(group_cols, dropna=False).size().reset_index(name="events")
        else:
            summary = events
        of = f" of {name}" if name else ""
        body += f"<h4>Grid-quality events{_e(of)} ({len(events)})</h4>" + _table(summary.to_dict(orient="records"))
    return body


def _assumptions(store: Store, scenario_hash: str) -> str:

    sc = store.scenario(scenario_hash)
    items: list[str] = []
    tariff_id = sc.extra.get("tariff")
    if isinstance(tariff_id, Mapping):  # the billing terms the scenario carries (evfleet.tariff/2)
        terms = tariff_id
        statuses = terms.get("value_status") or {}
        shown = "; ".join(f"{k} {terms[k]} ({statuses.get(k, 'assumption')})" for k in BILLING_KEYS if k in terms)
        items.append(f"<li>Billing terms of {_e(str(terms.get('id', '-')))} ({_e(str(terms.get('status', '-')))}): "
                     f"{_e(shown)}. Bill formulas: docs/tariffs.md.</li>")  # fmt: skip
        tariff_id = terms.get("id")
    if tariff_id:
        try:
            t = load_tariff(str(tariff_id))
            periods = "; ".join(
                f"{p}: {t.price_of(p):.4g} MAD/kWh ({t.periods[p].get('status', 'assumption')})" for p in t.period_names
            )
            items.append(
                f"<li>Tariff <b>{_e(t.name)}</b> ({_e(t.id)}): {_e(periods)}; export "
                f"{t.export_price_mad_per_kwh:.4g} MAD/kWh. Sources: {_e('; '.join(t.sources) or 'none given')}</li>"
            )
        except (ValueError, OSError):
            items.append(
                f"<li>Tariff id {_e(tariff_id)} (not a shipped tariff; prices are those stored in the scenario).</li>"
            )
    else:
        items.append("<li>Prices: the scenario's own price series (no tariff id recorded).</li>")
    items.append(
        "<li>Vehicle catalogue: EV2Gym 2.0.0 specification files (Orfanoudakis et al., IEEE T-ITS 2024, MIT "
        "licence) plus any catalogue additions the user imported.</li>"
    )
    if float(sc.pv_kw.max()) > 0:
        items.append(
            f"<li>PV: {_e(sc.site_extra.get('pv_kwp', '?'))} kWp; the generator's profile is a clear-sky model "
            "estimate (pvlib Ineichen clear sky + PVWatts, an upper bound for a cloudless sky) unless a measured "
            "series was imported.</li>"
        )
    gen = sc.extra.get("generator")
    if gen:
        items.append(
            f"<li>Scenario generator parameters: <code>{_e(json.dumps(gen, ensure_ascii=False)[:1500])}</code></li>"
        )
    items.append(
        f"<li>Site: import limit {sc.import_limit_kw:,.1f} kW, export limit {sc.export_limit_kw:,.1f} kW; battery "
        f"wear cost {sc.degradation_mad_per_kwh:.3g} MAD per kWh discharged (assumption).</li>"
    )
    items.append(
        "<li>Physics: setpoints clipped to vehicle/charger power, SOC window and site limits every step "
        "(see <code>evfleet.simulation.simulate</code>); KPI definitions below.</li>"
    )
    defs = _e((kpi_doc or "").split("Definitions", 1)[-1].strip())
    return (
        f"<ul>{''.join(items)}</ul><details><summary>KPI definitions</summary><pre>{defs}</pre></details>"
        f"<p class='note'>Scenario content hash (sha256): {_e(scenario_hash)}</p>"
    )


def _load_curve_svg(times: pd.DatetimeIndex, site: pd.DataFrame, title: str) -> str:
    """Inline SVG of the site load curve [kW] from a ``site.csv``-shaped table."""
    return svg_line_chart(
        times,
        {
            "site import (+) / export (-)": site["site_kw"].to_numpy(),
            "base load": site["base_load_kw"].to_numpy(),
            "PV": site["pv_kw"].to_numpy(),
            "EV charging (net)": site["ev_kw"].to_numpy(),
            "import limit": site["import_limit_kw"].to_numpy(),
        },
        title=title,
        y_label="power [kW]",
        dashed=("import limit",),
    )


def _run_section(store: Store, run: Mapping[str, Any]) -> tuple[str, pd.DataFrame]:
    site = store.site_steps(run["id"])
    times = pd.DatetimeIndex(pd.to_datetime(site["time"], format="ISO8601"))
    load = _load_curve_svg(times, site, "Site load curve")
    fleet = svg_line_chart(
        times,
        {c.removeprefix("n_"): site[c].to_numpy() for c in ("n_connected", "n_charging", "n_discharging")},
        title="Fleet state",
        y_label="vehicles",
        height=260,
    )
    return load + "<br>" + fleet, site


def _run_report(store: Store, run_id: str) -> str:
    run = store.get_run(run_id)
    k = run["kpis"]
    charts, site = _run_section(store, run)
    status = str(k.get("bill_status", "assumption"))  # the status of the bill's values, next to every MAD
    periods = [
        {"tariff period": key[len("import_cost_") : -len("_mad")], "import cost [MAD]": v, "status": status}
        for key, v in k.items()
        if key.startswith("import_cost_") and key != "import_cost_mad"
    ]
    comparison = ""
    if run.get("group_id"):
        same = store.get_group(run["group_id"])["runs"]
        intro = (
            f"<p>This run is part of {_e(run['group_id'])} (<code>evfleet report {_e(run['group_id'])}</code> "
            "draws all its strategies):</p>"
        )
    else:
        same = [r for r in store.list_runs(limit=200) if r["scenario_hash"] == run["scenario_hash"]]
        intro = "<p>Stored runs of the same scenario:</p>"
    if len(same) > 1:
        rows = [
            {
                "run": r["id"] + (" (this run)" if r["id"] == run["id"] else ""),
                "strategy": r["label"] or r["strategy"],
                "mode": r["mode"],
                "net cost [MAD]": r["kpis"].get("net_cost_mad"),
                "cost status": r["kpis"].get("bill_status", "assumption"),
                "peak import [kW]": r["kpis"].get("peak_import_kw"),
                "unmet [kWh]": r["kpis"].get("unmet_energy_kwh"),
            }
            for r in same
        ]
        comparison = intro + _table(rows)
    else:
        comparison = (
            "<p class='note'>No other strategy was run on this scenario (use <code>evfleet compare</code>).</p>"
        )
    kpi_rows = [{"kpi": key, "value": v, "status": status if key.endswith("_mad") else ""} for key, v in k.items()]
    body = (
        _cards(k)
        + "<h2>Load curves</h2>"
        + charts
        + "<h2>Strategy comparison</h2>"
        + comparison
        + "<h2>Grid compliance</h2>"
        + _compliance(store, run, site)
        + "<h2>Cost by tariff period</h2>"
        + _table(periods)
        + "<h2>All KPIs</h2>"
        + _table(kpi_rows)
        + "<h2>Run</h2>"
        + _table(
            [
                {"field": f, "value": run.get(f)}
                for f in ("id", "strategy", "mode", "status", "source", "evfleet_version", "started_at", "finished_at")
            ]
            + [{"field": "options", "value": json.dumps(run["options"])}]
        )
        + "<h2>Assumptions and sources</h2>"
        + _assumptions(store, run["scenario_hash"])
    )
    sub = (
        f"Run {_e(run['id'])} · strategy <b>{_e(run['strategy'])}</b> ({_e(run['mode'])}, V2G "
        f"{'on' if run['options'].get('v2g') else 'off'}) · scenario {_e(run['scenario'])} · {_e(run['started_at'])}"
    )
    return _page(f"evfleet run report — {run['scenario']}", sub, body)


def _group_report(store: Store, group_id: str) -> str:

    group = store.get_group(group_id)
    runs = sorted(group["runs"], key=lambda r: (r["label"] or r["strategy"]) != BASELINE)  # baseline first
    if not runs:
        raise StoreError(f"comparison {group['id']} has no runs")
    kpis = {r["label"] or r["strategy"]: r["kpis"] for r in runs}
    labels = {
        "strategy": "strategy",
        "net_cost_mad": "net cost [MAD]",
        "savings_mad": "savings [MAD]",
        "savings_pct": "savings [%]",
        "savings_vs_timer_mad": "savings vs timer [MAD]",
        "savings_vs_timer_pct": "savings vs timer [%]",
        "best_baseline": "cheaper baseline",
        "savings_vs_best_baseline_mad": "savings vs cheaper baseline [MAD]",
        "savings_vs_best_baseline_pct": "savings vs cheaper baseline [%]",
        "peak_import_kw": "peak import [kW]",
        "load_factor": "load factor",
        "v2g_energy_kwh": "V2G energy [kWh]",
        "unmet_energy_kwh": "unmet energy [kWh]",
        "runtime_s": "runtime [s]",
        "cost_status": "cost status",
    }
    if BASELINE in kpis:
        full = comparison_table(kpis)
    else:
        full = pd.DataFrame([{"strategy": name, **k} for name, k in kpis.items()])
        full["v2g_energy_kwh"] = full.get("energy_discharged_kwh")
    cols = [c for c in labels if c in full.columns]
    table = full[cols].rename(columns=labels).to_dict(orient="records")
    sites = {r["label"] or r["strategy"]: store.site_steps(r["id"]) for r in runs}
    first = next(iter(sites.values()))
    times = pd.DatetimeIndex(pd.to_datetime(first["time"], format="ISO8601"))
    overlay = {name: s["site_kw"].to_numpy() for name, s in sites.items()}
    overlay["import limit"] = first["import_limit_kw"].to_numpy()
    chart = svg_line_chart(
        times, overlay, title="Site power by strategy", y_label="power [kW]", dashed=("import limit",)
    )
    ev = svg_line_chart(
        times,
        {name: s["ev_kw"].to_numpy() for name, s in sites.items()},
        title="EV power by strategy",
        y_label="power [kW]",
        height=280,
    )
    per_run = []
    for r in runs:
        name = r["label"] or r["strategy"]
        per_run.append(f"<h3>{_e(name)} <span class='note'>(run {_e(r['id'])})</span></h3>" + _cards(r["kpis"]))
    compliance = "".join(
        f"<h3>{_e(r['label'] or r['strategy'])}</h3>"
        + _compliance(store, store.get_run(r["id"]), sites[r["label"] or r["strategy"]], r["label"] or r["strategy"])
        for r in runs
    )
    body = (
        "<h2>Strategy comparison</h2>"
        + _table(table)
        + (
            "<p class='note'>Savings are against the net cost of each baseline on the same scenario "
            "(<code>uncontrolled</code>, <code>timer</code> when it was run) and of the cheaper of the two; "
            "compare them only between strategies that deliver the same energy (see the unmet energy column). "
            "Every MAD figure is built on tariff values of the status in the cost status column.</p>"
            f"<p><b>Headline:</b> {_e(headline_text(kpis).replace('`', ''))}.</p>"
            if BASELINE in kpis
            else ""
        )
        + "<h2>Load curves</h2>"
        + chart
        + "<br>"
        + ev
        + "<h2>KPIs per strategy</h2>"
        + "".join(per_run)
        + "<h2>Grid compliance</h2>"
        + compliance
        + "<h2>Assumptions and sources</h2>"
        + _assumptions(store, runs[0]["scenario_hash"])
    )
    sub = f"{_e(group['kind'].capitalize())} {_e(group['id'])} · {_e(group['name'])} · {_e(group['created_at'])}"
    return _page(f"evfleet comparison report — {runs[0]['scenario']}", sub, body)


def _live_report(store: Store, session_id: str) -> str:
    group = store.get_group(session_id)
    site = store.live_history(group["id"])
    if site.empty:
        raise StoreError(f"live session {group['id']} has no stored steps yet")
    times = pd.DatetimeIndex(pd.to_datetime(site["time"], format="ISO8601"))
    chart = _load_curve_svg(times, site, "Site load curve (stored live history)")
    chunks = [
        {"chunk": r["id"], "steps": r["label"], "stored at": r["started_at"], **{k: v for k, v in r["kpis"].items()
                                                                                 if not k.startswith("chunk_")}}
        for r in group["runs"]
    ]  # fmt: skip
    body = (
        "<h2>Load curves</h2>" + chart
        + "<h2>Stored chunks</h2>" + _table(chunks)
        + "<h2>Assumptions and sources</h2>" + _assumptions(store, group["scenario_hash"])
    )  # fmt: skip
    sub = f"Live session {_e(group['id'])} · {_e(group['name'])} · started {_e(group['created_at'])}"
    return _page(f"evfleet live session — {group['name']}", sub, body)


def report_html(store: Store, ident: str) -> str:
    """The HTML report of a run (``r...``) or a comparison/sweep (``c...``/``s...``) id (unique prefix accepted)."""
    kind, full = store.resolve_id(ident)
    if kind == "run":
        return _run_report(store, full)
    if kind == "group":
        if full.startswith("s") and not store.get_group(full)["runs"]:  # a sweep stored by `evfleet sweep`
            return sweep_report_html(store, full)
        return _live_report(store, full) if full.startswith("l") else _group_report(store, full)
    raise StoreError(f"{ident!r} is an import id; reports are made for runs and comparisons")


def run_report_html(result: RunResult, kpis: Mapping[str, Any] | None = None) -> str:
    """The HTML report of a run held in memory (the dashboard's download), without touching the user's store.

    Exactly what ``evfleet run`` + ``evfleet report RUN_ID`` give: the run's files are written as ``evfleet run``
    writes them (site series, grid-quality KPIs and events included), stored in a throw-away store in a temporary
    directory, and the report is rendered from there by :func:`report_html`.
    """
    import tempfile
    from datetime import UTC, datetime
    from pathlib import Path

    started_at = datetime.now(UTC).replace(microsecond=0).isoformat()
    with tempfile.TemporaryDirectory(prefix="evfleet-report-") as tmp:
        out = Path(tmp) / "run"
        write_run_outputs(result, out, dict(kpis) if kpis is not None else compute_kpis(result))
        written = run_outputs_from_dir(out, started_at)
        with open_store(Path(tmp) / "report.db", Path(tmp) / "traces") as store:
            run_id = store.save_run(
                result,
                written["kpis"] or kpis,
                started_at=started_at,
                source="dashboard",
                events=written["events"],
                site=written["site"],
            )
            return report_html(store, run_id)
