"""Overview page: KPI cards with status colours, the load curve with tariff periods, SOC distribution, PQ radar."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from evfleet._common.tolerances import POWER_EPS_KW
from evfleet.dashboard import live_views as LV
from evfleet.dashboard import plan_views as PV
from evfleet.dashboard import state, timing
from evfleet.dashboard import views as V
from evfleet.dashboard.fleet_views import localise_columns
from evfleet.dashboard.i18n import t
from evfleet.dashboard.l10n import fmt_datetime, fmt_int, fmt_time

ctrl = state.controls()
lang = ctrl.lang
st.title(t("page_overview", lang))
key, sc = state.current_scenario(ctrl)
state.scenario_caption(sc, lang)


def _live_panel() -> None:
    with timing.timed_script("overview#live"):  # each refresh (EVFLEET_DASHBOARD_TIMING: the benchmark's live figures)
        _draw_live_panel()


def _draw_live_panel() -> None:
    runner = state.live_runner(ctrl)
    snap = runner.snapshot()
    st.info(
        t(
            "live_status",
            lang,
            time=fmt_datetime(snap.time, lang),
            day=snap.day + 1,
            steps=fmt_int(snap.steps_done, lang),
            state=t("paused" if snap.paused else "running", lang),
        ),
        icon=":material/schedule:",
    )
    conn = snap.connected
    mean_soc = float(snap.soc[conn].mean()) if conn.any() else None
    state.kpi_row(LV.live_cards(snap, lang), per_row=4)
    state.kpi_row(V.fleet_cards(snap.counts, mean_soc, snap.totals["unmet_kwh"], 1.0, lang)[:5], per_row=5)
    w = snap.window

    def figures() -> tuple:
        series = {k: w[k] for k in ("base_load_kw", "pv_kw", "ev_kw", "site_kw")}
        curve = (
            V.load_curve_figure(w["time"], series, w["tou_period"], sc.import_limit_kw, lang)
            if len(w["time"])
            else None
        )
        counts = LV.fleet_counts_figure(w["time"], w, lang) if len(w["time"]) else None
        return curve, V.soc_histogram_figure(snap.soc[conn], None, lang), counts

    # rebuilt only when the runner has stepped (the panel refreshes more often than it steps)
    curve, soc, counts = state.live_memo("overview", (id(runner), snap.day, snap.steps_done, snap.time, lang), figures)
    if curve is not None:
        state.plot(curve, key="live_load_curve")
    c1, c2 = st.columns(2)
    with c1:
        state.plot(soc, key="live_soc")
    with c2:
        if counts is not None:
            state.plot(counts, key="live_counts")


if ctrl.live:
    st.fragment(run_every=state.live_refresh_s(ctrl))(_live_panel)()
else:
    state.prefetch(ctrl, without_v2g=False)  # the runs below, computed side by side (the V2G value's run: below)
    res, k = state.run(ctrl)
    _, base_k = state.baseline(ctrl)
    report = state.power_quality(ctrl)
    pq = V.pq_indicators(report)
    times = sc.times
    step = V.focus_step(times, res.site_kw, pd.Timestamp.now(tz=sc.timezone))
    when = fmt_time(times[step], lang)
    v = sc.vehicles
    conn = (v.arrival_step <= step) & (step < v.departure_step)
    p = res.power_kw[:, step]
    ch, dis = int((conn & (p > POWER_EPS_KW)).sum()), int((conn & (p < -POWER_EPS_KW)).sum())
    counts = {"connected": int(conn.sum()), "charging": ch, "discharging": dis, "idle": int(conn.sum()) - ch - dis}
    mean_soc = float(res.soc[conn, step].mean()) if conn.any() else None

    # first: only the alarms the operator can act on (grid-quality states stay on their page, model estimates)
    alerts = state.operator_alerts(ctrl)
    st.subheader(t("alerts_title", lang))
    if alerts:
        st.caption(t("alerts_counts", lang, **PV.alert_summary(alerts, lang)["severity"]))
        table = PV.alerts_table(alerts, sc.timezone, lang).rename(columns=localise_columns(PV.ALERT_HEADERS, lang))
        st.dataframe(table.head(5), hide_index=True, width="stretch", key="overview_alerts")
        if len(table) > 5:
            with st.expander(t("alerts_more", lang, n=len(table))):
                st.dataframe(table, hide_index=True, width="stretch", key="overview_alerts_all")
    else:
        st.success(t("alerts_none", lang), icon=":material/check_circle:")

    st.subheader(t("kpi_grid", lang))
    state.kpi_row(PV.model_estimate_cards(V.grid_cards(k, pq, lang), lang), per_row=3)
    st.caption(t("alerts_pq_note", lang))
    st.subheader(t("kpi_economic", lang))

    # the V2G value needs the run without V2G: "…" until it is there (the rest of the page does not wait for it);
    # the row alone is checked again every PENDING_POLL_S, then the page is drawn once more with the value
    v2g_state_first, _ = state.no_v2g_kpis_now(ctrl)

    def _economic_row() -> None:
        v2g_state, no_v2g_k = state.no_v2g_kpis_now(ctrl)
        state.kpi_row(V.economic_cards(k, base_k, lang, no_v2g_k, v2g_state), per_row=4)
        if v2g_state_first == "pending" and v2g_state != "pending":
            st.rerun(scope="app")  # the card is complete: one full run, which stops the checks

    st.fragment(run_every=state.PENDING_POLL_S if v2g_state_first == "pending" else None)(_economic_row)()
    st.subheader(t("kpi_fleet", lang))
    cards = V.fleet_cards(counts, mean_soc, k["unmet_energy_kwh"], k["energy_charged_kwh"], lang, when)
    state.kpi_row(cards, per_row=3)

    series = {"base_load_kw": sc.base_load_kw, "pv_kw": sc.pv_kw, "ev_kw": res.ev_kw, "site_kw": res.site_kw}
    fig = V.load_curve_figure(times, series, sc.tou_period, sc.import_limit_kw, lang, now=times[step])
    state.plot(fig, key="load_curve")
    c1, c2 = st.columns(2)
    with c1:
        state.plot(V.soc_histogram_figure(res.soc[conn, step], float(np.mean(v.soc_target)), lang), key="soc_hist")
    with c2:
        if pq:
            state.plot(V.radar_figure(pq, lang), key="pq_radar")
            if getattr(report, "assumptions", None):
                state.assumptions_expander(report.assumptions, lang)
        else:
            st.subheader(t("radar", lang))
            st.info(t("pq_missing", lang), icon=":material/hourglass_empty:")
