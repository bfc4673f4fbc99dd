"""Strategies page: the recommendation on the operator's goals, the comparison (every figure simulated), table and
bars, two load curves overlaid, offline optimum and online control side by side."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from evfleet.analysis.compare import Comparison, headline_saving, needs_no_v2g_run, resolve_strategies, v2g_value_of
from evfleet.analysis.recommend import DEFAULT_WEIGHTS, GOALS, recommend, strategy_summary
from evfleet.dashboard import state
from evfleet.dashboard import views as V
from evfleet.dashboard.analysis_views import COMPARISON_HEADERS, comparison_figure
from evfleet.dashboard.fleet_views import localise_columns
from evfleet.dashboard.i18n import fmt_num, mode_label, strategy_description, strategy_label, t
from evfleet.dashboard.l10n import display_frame, fmt_number, fmt_pct, header_width
from evfleet.dashboard.l10n_widgets import num_slider
from evfleet.dashboard.safe_text import colon, md_bullets
from evfleet.simulation.simulate import SimulationOptions
from evfleet.strategies import REGISTRY

ctrl = state.controls()
lang = ctrl.lang
st.title(t("strategies_title", lang))
key, sc = state.current_scenario(ctrl)
state.scenario_caption(sc, lang)
names = list(REGISTRY)


def label(name: str) -> str:
    """The translated label of a strategy (its identifier when none is written)."""
    return strategy_label(name, lang)


# --- recommendation ----------------------------------------------------------------------------------------------
st.subheader(t("rec_title", lang))
st.caption(t("rec_weights", lang))
wcols = st.columns(len(GOALS))
weights = {
    g: num_slider(
        t(f"rec_goal_{g}", lang),
        0.0,
        1.0,
        DEFAULT_WEIGHTS[g],
        0.05,
        key=f"rec_w_{g}",
        lang=lang,
        container=col,
        help=t(f"rec_goal_help_{g}", lang),
    )
    for col, g in zip(wcols, GOALS, strict=True)
}
missing = [n for n in names if not state.is_computed(key, n, ctrl.mode, ctrl.v2g)]
if missing:
    st.caption(t("rec_missing", lang, n=len(missing), names=", ".join(label(n) for n in missing)))
    if st.button(t("rec_compute", lang), key="rec_compute", icon=":material/play_arrow:"):  # its own row: whole label
        for n in missing:
            state.run(ctrl, n)
        st.rerun()
ready = [n for n in names if state.is_computed(key, n, ctrl.mode, ctrl.v2g)]
if len(ready) < 2:
    st.info(t("rec_need_two", lang), icon=":material/info:")
elif sum(weights.values()) <= 0:
    st.warning(t("rec_need_weight", lang), icon=":material/warning:")
else:
    kpis = {n: state.run(ctrl, n)[1] for n in ready}
    rec = recommend(kpis, weights)
    best = rec.table.iloc[0]
    st.success(
        t(
            "rec_best",
            lang,
            name=label(best["strategy"]),
            score=fmt_num(best["score"], lang, 2),
            summary=strategy_summary(best["strategy"], lang),
        ),
        icon=":material/recommend:",
    )
    tab = pd.DataFrame(
        {
            t("rec_rank", lang): rec.table["rank"],
            t("rec_strategy", lang): [label(n) for n in rec.table["strategy"]],
            t("rec_score", lang): rec.table["score"],
            t("rec_cost", lang): rec.table["cost_value"],
            t("rec_peak", lang): rec.table["peak_value"],
            t("rec_unmet", lang): rec.table["readiness_value"],
            t("rec_v2g", lang): rec.table["v2g_wear_value"],
            t("rec_same", lang): rec.table["same_as_baseline"],
        }
    )
    # every column sized to its header, no long text in the table: it fits the page at 1280 px without scrolling
    # sideways (the summaries are listed under it)
    digits = {t("rec_cost", lang): 0, t("rec_peak", lang): 0, t("rec_unmet", lang): 1, t("rec_v2g", lang): 0}
    rank, score, same = t("rec_rank", lang), t("rec_score", lang), t("rec_same", lang)
    config = {
        rank: st.column_config.NumberColumn(width=header_width(rank, 50)),
        same: st.column_config.CheckboxColumn(width=header_width(same) + 20, help=t("rec_same_help", lang)),
    }
    score_help = t("rec_score_help", lang)
    if lang != "fr":  # French: the numbers are locale text (display_frame), right-aligned like numbers
        config |= {
            col: st.column_config.NumberColumn(format=f"%.{d}f", width=header_width(col)) for col, d in digits.items()
        }
        config[score] = st.column_config.ProgressColumn(
            min_value=0.0, max_value=1.0, format="%.2f", width=header_width(score, 90) + 20, help=score_help
        )
    else:  # a bar's printf format cannot write "0,86": the score as locale text
        config |= {col: st.column_config.TextColumn(width=header_width(col), alignment="right") for col in digits}
        digits[score] = 2
        config[score] = st.column_config.TextColumn(alignment="right", width=header_width(score) + 20, help=score_help)
    st.dataframe(
        display_frame(tab, lang, digits, skip=[rank] + ([] if lang == "fr" else [score])),
        hide_index=True,
        width="stretch",
        key="rec_table",
        column_config=config,
    )
    with st.expander(t("rec_what", lang), icon=":material/help:"):
        st.markdown(md_bullets({label(n): strategy_summary(n, lang) for n in rec.table["strategy"]}, lang))
    st.caption(t("rec_method", lang))

# --- comparison --------------------------------------------------------------------------------------------------
with st.expander(t("sweeps", lang), icon=":material/query_stats:"):
    state.sweeps_panel(lang)

st.subheader(t("strategies_title", lang))
c1, c2 = st.columns([3, 2])  # the run button on its own row below: labels whole at 1280 px
# default: the baseline and the sidebar's strategy (some optimisers take tens of seconds at 2,000 vehicles)
chosen = c1.multiselect(
    t("choose_strategies", lang),
    names,
    default=list(dict.fromkeys(["uncontrolled", ctrl.strategy])),
    format_func=lambda name: strategy_label(name, lang),
    key="cmp_strategies",
    placeholder=t("choose_options", lang),
)
c2.write("")
both = c2.toggle(t("side_by_side", lang), value=False, key="cmp_both")
clicked = st.button(t("run_comparison", lang), type="primary", key="cmp_run", icon=":material/play_arrow:")
with st.expander(t("strategies_about", lang), icon=":material/help:"):
    st.markdown(md_bullets({strategy_label(n, lang): strategy_description(n, lang) or "–" for n in names}, lang))
request = (key, tuple(chosen), both, ctrl.v2g)
if clicked:
    st.session_state["cmp_request"] = request
if st.session_state.get("cmp_request") != request:
    st.info(t("comparison_hint", lang), icon=":material/info:")
    st.stop()

modes = ["offline", "online"] if both else [ctrl.mode]
comps: dict[str, Comparison] = {}
for m in modes:  # the same cached runs as every other page (and as the background pre-computation)
    comp = Comparison(scenario=sc, options=SimulationOptions(mode=m, v2g=ctrl.v2g))
    for s in resolve_strategies(list(chosen)):
        res, k = state.run(ctrl, s, m)
        k = {**k, "v2g_value_mad": None}  # V2G off: does not apply
        if ctrl.v2g:  # the same rule as the CLI's compare (a second, cached run without V2G where it can matter)
            without = state.run_without_v2g(ctrl, s, m) if needs_no_v2g_run(sc, s) else None
            k["v2g_value_mad"] = v2g_value_of(k, None if without is None else without[1])
        comp.results[s], comp.kpis[s] = res, k
    comps[m] = comp
table = pd.concat([c.table for c in comps.values()], ignore_index=True)
H = localise_columns(COMPARISON_HEADERS, lang)
num = st.column_config.NumberColumn
shown = table[list(COMPARISON_HEADERS)].assign(
    strategy=[strategy_label(x, lang) for x in table["strategy"]], mode=[mode_label(x, lang) for x in table["mode"]]
)
decimals = {"net_cost_mad": 0, "savings_mad": 0, "savings_pct": 1, "peak_import_kw": 0, "load_factor": 2,
            "v2g_energy_kwh": 0, "v2g_revenue_mad": 0, "unmet_energy_kwh": 1, "runtime_s": 2}  # fmt: skip
#: English number formats (and decimals) of the comparison's number columns
EN_FORMATS = {"net_cost_mad": ("%.0f", 0), "savings_mad": ("%.0f", 0), "savings_pct": ("%.1f%%", 1),
              "peak_import_kw": ("%.0f", 0), "load_factor": ("%.2f", 2), "v2g_energy_kwh": ("%.0f", 0),
              "v2g_value_mad": ("%.1f", 1), "savings_vs_timer_mad": ("%.0f", 0),
              "savings_vs_best_baseline_pct": ("%.1f%%", 1), "unmet_energy_kwh": ("%.1f", 1),
              "runtime_s": ("%.2f", 2)}  # fmt: skip
# a figure that does not apply (the V2G value without V2G) is None: numbers with NaN, shown "–", never "None"
shown = shown.assign(**{c: pd.to_numeric(shown[c]).astype(float) for c in EN_FORMATS if c in shown})
config = None
if lang != "fr":
    config = {}
    for c, (fmt, d) in EN_FORMATS.items():
        if c in shown and shown[c].isna().any():  # a number column writes a missing value "None": text
            pct = fmt.endswith("%%")
            shown[c] = [fmt_pct(x, lang, decimals=d) if pct else fmt_number(x, lang, decimals=d) for x in shown[c]]
            config[H[c]] = st.column_config.TextColumn(alignment="right")
        else:
            config[H[c]] = num(format=fmt)
# the table is wider than a 1280-px laptop's page: the strategy's name stays in view while it scrolls sideways
config = {**(config or {}), H["strategy"]: st.column_config.TextColumn(pinned=True)}
st.dataframe(
    display_frame(shown, lang, decimals).rename(columns=H),
    hide_index=True,
    width="stretch",
    key="cmp_table",
    column_config=config,
)
for m, c in comps.items():
    h = headline_saving(c.kpis)  # computed in evfleet.analysis.compare; only worded here
    base = t("headline_base", lang, baseline=strategy_label(h["baseline"], lang),
             cost=fmt_number(h["baseline_cost_mad"], lang))  # fmt: skip
    if h["strategy"] is None:
        text = t("headline_none", lang, base=base)
    else:
        pct = "" if h["savings_pct"] is None else f" ({fmt_pct(h['savings_pct'], lang)})"
        text = t("headline_saves" if h["savings_mad"] >= 0 else "headline_costs", lang,
                 strategy=strategy_label(h["strategy"], lang), amount=fmt_number(abs(h["savings_mad"]), lang),
                 pct=pct, base=base, cost=fmt_number(h["cost_mad"], lang))  # fmt: skip
    st.caption(f"{t('cmp_headline', lang)} ({mode_label(m, lang)}){colon(lang)} {text}")
state.plot(comparison_figure(table, lang), key="cmp_bars")

st.subheader(t("overlay", lang))
run_names = [f"{s} · {m}" for m, c in comps.items() for s in c.results]


def _run_label(run_name: str) -> str:
    s, m = run_name.split(" · ")
    return t("run_label", lang, strategy=strategy_label(s, lang), mode=mode_label(m, lang))


o1, o2 = st.columns(2)
a = o1.selectbox(t("first", lang), run_names, index=0, key="cmp_a", format_func=_run_label)
b = o2.selectbox(t("second", lang), run_names, index=min(1, len(run_names) - 1), key="cmp_b", format_func=_run_label)
series = {}
for item in dict.fromkeys([a, b]):
    s, m = item.split(" · ")
    series[f"site_kw:{_run_label(item)}"] = comps[m].results[s].site_kw
fig = V.load_curve_figure(sc.times, series, sc.tou_period, sc.import_limit_kw, lang, title=t("overlay", lang))
state.plot(fig, key="cmp_overlay")
