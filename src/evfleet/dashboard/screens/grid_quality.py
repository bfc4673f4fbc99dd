"""Grid-quality page: compliance table, harmonic spectrum vs IEEE 519, PF and unbalance over time, event log.
All figures are model estimates from ``evfleet.gridquality.assess`` and are labelled so."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from evfleet.dashboard import state
from evfleet.dashboard import views as V
from evfleet.dashboard.analysis_views import (
    COMPLIANCE_HEADERS,
    LEVEL_BACKGROUNDS,
    compliance_frame,
    events_frame,
    filter_events,
    pf_unbalance_figure,
    spectrum_figure,
)
from evfleet.dashboard.fleet_views import localise_columns
from evfleet.dashboard.i18n import clause_text, event_indicator_label, t, verdict_label
from evfleet.dashboard.l10n import fmt_number
from evfleet.gridquality.records import Indicator

ctrl = state.controls()
lang = ctrl.lang
st.title(t("grid_title", lang))
key, sc = state.current_scenario(ctrl)
state.scenario_caption(sc, lang)
report = state.power_quality(ctrl)

st.caption(f":material/science: {t('model_estimate', lang)}")
st.subheader(t("compliance", lang))
comp = compliance_frame(report, lang)
levels = comp.pop("level")
heads = localise_columns(COMPLIANCE_HEADERS, lang)
shown = comp.rename(columns=heads)
# a small table (about ten rows): a Styler is cheap here and gives the status cells their colour
styled = shown.style.apply(
    lambda col: [f"background-color: {LEVEL_BACKGROUNDS[lv]}" for lv in levels], subset=[heads["status"]]
).format({heads["value"]: lambda x: fmt_number(x, lang), heads["limit"]: lambda x: fmt_number(x, lang)}, na_rep="–")
st.dataframe(styled, hide_index=True, width="stretch", key="pq_compliance", height=38 + 35 * max(len(shown), 1))
c1, c2 = st.columns(2)
with c1:
    tdd_row = V.compliance_index(report.compliance).get(Indicator.TDD_P95)
    clause = "" if tdd_row is None else str(report.compliance["clause"].iloc[tdd_row])
    state.plot(spectrum_figure(report.spectrum, lang, clause), key="pq_spectrum")
    if clause:
        st.caption(clause_text(clause, lang))
with c2:
    times = report.per_step["time"] if "time" in report.per_step else sc.times[: len(report.per_step)]
    state.plot(pf_unbalance_figure(report.per_step, pd.DatetimeIndex(times), lang), key="pq_pf")

st.subheader(t("events", lang))
ev = report.events
f1, f2 = st.columns(2)
inds = f1.multiselect(
    t("filter_indicator", lang),
    sorted(ev["indicator"].astype(str).unique()) if len(ev) else [],
    format_func=lambda x: event_indicator_label(x, lang),
    key="pq_ev_ind",
    placeholder=t("choose_options", lang),
)
sts = f2.multiselect(
    t("filter_state", lang),
    sorted(ev["state"].astype(str).unique()) if len(ev) else [],
    format_func=lambda x: verdict_label(x, lang),
    key="pq_ev_state",
    placeholder=t("choose_options", lang),
)
shown = events_frame(filter_events(ev, inds, sts), sc.timezone, lang)
ev_heads = {"time": "col_time", "step": "col_step", "indicator": "col_indicator", "value": "col_value",
            "limit": "col_limit", "state": "col_state", "previous_state": "col_previous_state"}  # fmt: skip
st.dataframe(
    shown.rename(columns=localise_columns(ev_heads, lang)),
    hide_index=True,
    width="stretch",
    key="pq_events",
    height=min(38 + 35 * max(len(shown), 1), 420),
)
state.assumptions_expander(report.assumptions, lang)
