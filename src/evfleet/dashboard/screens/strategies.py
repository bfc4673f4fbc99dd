"""Strategies page: run the comparison (every figure simulated), table and bars, two load curves overlaid,
offline optimum and online control side by side."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from evfleet.analysis.compare import compare, headline_saving
from evfleet.dashboard import state
from evfleet.dashboard import views as V
from evfleet.dashboard.analysis_views import COMPARISON_HEADERS, comparison_figure
from evfleet.dashboard.fleet_views import localise_columns
from evfleet.dashboard.i18n import mode_label, strategy_description, strategy_label, t
from evfleet.dashboard.l10n import display_frame, fmt_number, fmt_pct
from evfleet.simulation.simulate import SimulationOptions
from evfleet.strategies import REGISTRY

ctrl = state.controls()
lang = ctrl.lang
st.title(t("strategies_title", lang))
key, sc = state.current_scenario(ctrl)
state.scenario_caption(sc, lang)
names = list(REGISTRY)


@st.cache_resource(max_entries=8, show_spinner=False)
def _compare(key: str, strategies: tuple[str, ...], mode: str, v2g: bool, _sc):
    return compare(_sc, list(strategies), SimulationOptions(mode=mode, v2g=v2g))


with st.expander(t("sweeps", lang), icon=":material/query_stats:"):
    state.sweeps_panel(lang)

c1, c2, c3 = st.columns([5, 3, 2])
# default: the baseline and the sidebar's strategy (some optimisers take tens of seconds at 2,000 vehicles)
chosen = c1.multiselect(
    t("choose_strategies", lang),
    names,
    default=list(dict.fromkeys(["uncontrolled", ctrl.strategy])),
    format_func=lambda name: strategy_label(name, lang),
    key="cmp_strategies",
    placeholder=t("choose_options", lang),
)
with st.expander(t("strategies_about", lang), icon=":material/help:"):
    st.markdown("\n".join(f"- **{strategy_label(n, lang)}**: {strategy_description(n, lang) or '–'}" for n in names))
both = c2.toggle(t("side_by_side", lang), value=False, key="cmp_both")
c3.write("")
clicked = c3.button(t("run_comparison", lang), type="primary", key="cmp_run", icon=":material/play_arrow:")
request = (key, tuple(chosen), both, ctrl.v2g)
if clicked:
    st.session_state["cmp_request"] = request
if st.session_state.get("cmp_request") != request:
    st.info(t("comparison_hint", lang), icon=":material/info:")
    st.stop()

modes = ["offline", "online"] if both else [ctrl.mode]
with st.spinner(t("comparing", lang)):
    comps = {m: _compare(key, tuple(chosen), m, ctrl.v2g, sc) for m in modes}
table = pd.concat([c.table for c in comps.values()], ignore_index=True)
H = localise_columns(COMPARISON_HEADERS, lang)
num = st.column_config.NumberColumn
shown = table[list(COMPARISON_HEADERS)].assign(
    strategy=[strategy_label(x, lang) for x in table["strategy"]], mode=[mode_label(x, lang) for x in table["mode"]]
)
decimals = {"net_cost_mad": 0, "savings_mad": 0, "savings_pct": 1, "peak_import_kw": 0, "load_factor": 2,
            "v2g_energy_kwh": 0, "v2g_revenue_mad": 0, "unmet_energy_kwh": 1, "runtime_s": 2}  # fmt: skip
st.dataframe(
    display_frame(shown, lang, decimals).rename(columns=H),
    hide_index=True,
    width="stretch",
    key="cmp_table",
    column_config=None
    if lang == "fr"
    else {
        H["net_cost_mad"]: num(format="%.0f"),
        H["savings_mad"]: num(format="%.0f"),
        H["savings_pct"]: num(format="%.1f%%"),
        H["peak_import_kw"]: num(format="%.0f"),
        H["load_factor"]: num(format="%.2f"),
        H["v2g_energy_kwh"]: num(format="%.0f"),
        H["v2g_value_mad"]: num(format="%.1f"),
        H["savings_vs_timer_mad"]: num(format="%.0f"),
        H["savings_vs_best_baseline_pct"]: num(format="%.1f%%"),
        H["unmet_energy_kwh"]: num(format="%.1f"),
        H["runtime_s"]: num(format="%.2f"),
    },
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
    st.caption(f"{t('cmp_headline', lang)} ({mode_label(m, lang)}): {text}")
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
for label in dict.fromkeys([a, b]):
    s, m = label.split(" · ")
    series[f"site_kw:{_run_label(label)}"] = comps[m].results[s].site_kw
fig = V.load_curve_figure(sc.times, series, sc.tou_period, sc.import_limit_kw, lang, title=t("overlay", lang))
state.plot(fig, key="cmp_overlay")
