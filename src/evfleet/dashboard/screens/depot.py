"""Live depot page: the real depot run by ``evfleet serve`` (stations, connectors, sessions, site power against its
limits, setpoints, alerts), read from its operate store every 2 s (``docs/operate.md``, dashboard)."""

from __future__ import annotations

import streamlit as st

from evfleet.dashboard import auth, state
from evfleet.dashboard import depot_views as DV
from evfleet.dashboard.i18n import fmt_num, t
from evfleet.operate.access import read_live_snapshot, request_replan

REFRESH_S = 2.0
STALE_AFTER_S = 10.0

ctrl = state.controls()
lang = ctrl.lang
st.title(t("page_depot", lang))
db = auth.operate_db()


def _panel() -> None:
    snap = read_live_snapshot(db) if db else None
    if snap is None:
        st.info(t("depot_no_snapshot", lang), icon=":material/hourglass_empty:")
        return
    data = snap.data
    site = data.get("site") or {}
    age = fmt_num(snap.age_s, lang, 1)
    if snap.age_s > STALE_AFTER_S:
        st.warning(t("depot_stale", lang, age=age), icon=":material/warning:")
    else:
        st.caption(t("depot_updated", lang, age=age, strategy=site.get("strategy", "–")))
    if site.get("over_limit"):
        st.error(t("depot_over_limit", lang), icon=":material/error:")
    state.kpi_row(DV.depot_cards(data, lang), per_row=5)
    state.plot(DV.setpoints_figure(data, lang), key="depot_setpoints")
    c1, c2 = st.columns(2)
    with c1:
        st.subheader(t("depot_sessions", lang))
        sessions = DV.sessions_table(data, lang)
        if sessions.empty:
            st.caption(t("depot_no_sessions", lang))
        else:
            st.dataframe(sessions, hide_index=True, width="stretch", key="depot_sessions_table")
    with c2:
        st.subheader(t("depot_alerts", lang))
        alerts = DV.alerts_table(data, lang)
        if alerts.empty:
            st.caption(t("depot_no_alerts", lang))
        else:
            st.dataframe(alerts, hide_index=True, width="stretch", key="depot_alerts_table")
    st.subheader(t("depot_stations", lang))
    st.dataframe(DV.stations_table(data, lang), hide_index=True, width="stretch", key="depot_stations_table")


if not db:
    st.info(t("depot_not_configured", lang), icon=":material/info:")
else:
    user = auth.current_user()
    if auth.may_change("operator"):
        if user is not None and st.button(t("depot_replan", lang), key="depot_replan"):
            request_replan(db, user)
            st.toast(t("depot_replan_sent", lang))
    else:
        st.caption(t("depot_viewer_readonly", lang))
    st.fragment(run_every=REFRESH_S)(_panel)()
