"""Plan page: each vehicle's and each connector's setpoints over time, who will not be ready and why, the alerts,
and the exports (CSV vehicle x step in the Excel or French Excel dialect, plan JSON, OCPP 2.0.1 charging profiles).

Everything comes from ``evfleet.results.plan`` and ``evfleet.results.alert_files`` through ``state`` (cached).
"""

from __future__ import annotations

import streamlit as st

from evfleet.dashboard import plan_views as PV
from evfleet.dashboard import state
from evfleet.dashboard.fleet_views import localise_columns
from evfleet.dashboard.i18n import fmt_num, t
from evfleet.dashboard.l10n import display_frame
from evfleet.dashboard.views import KpiCard

ctrl = state.controls()
lang = ctrl.lang
st.title(t("plan_title", lang))
key, sc = state.current_scenario(ctrl)
state.scenario_caption(sc, lang)
st.caption(t("plan_intro", lang))
plan = state.run_plan(ctrl)
alerts = state.operator_alerts(ctrl)
veh = plan.vehicles
tz = sc.timezone

short = veh["unmet_kwh"] > 1e-3
state.kpi_row(
    [
        KpiCard("plan_vehicles", t("plan_vehicles", lang), fmt_num(len(veh), lang)),
        KpiCard("plan_short", t("plan_short", lang), fmt_num(int(short.sum()), lang)),
        KpiCard("plan_short_kwh", t("plan_short_kwh", lang), fmt_num(float(veh["unmet_kwh"].sum()), lang, 1)),
        KpiCard("plan_connectors", t("plan_connectors", lang), fmt_num(len(plan.chargers), lang)),
    ],
    per_row=4,
)
st.caption(t(f"plan_layout_{plan.layout.source}", lang))

st.subheader(t("alerts_title", lang))
if alerts:
    counts = PV.alert_summary(alerts, lang)["severity"]
    st.caption(t("alerts_counts", lang, **counts))
    table = PV.alerts_table(alerts, tz, lang)
    st.dataframe(table.rename(columns=localise_columns(PV.ALERT_HEADERS, lang)), hide_index=True, width="stretch",
                 key="plan_alerts", height=min(38 + 35 * len(table), 320))  # fmt: skip
else:
    st.success(t("alerts_none", lang), icon=":material/check_circle:")

tab_v, tab_c = st.tabs([t("plan_by_vehicle", lang), t("plan_by_connector", lang)])
with tab_v:
    only_short = st.toggle(t("plan_only_short", lang), value=bool(short.any()), key="plan_only_short")
    table = PV.vehicle_plan_table(veh, tz, lang)
    shown = table[short.to_numpy()] if only_short else table
    # French: the numbers as locale text (a column's printf format writes "12.5"), English: number columns
    veh_decimals = {"target_pct": 0, "expected_pct": 0, "energy_kwh": 1, "unmet_kwh": 1}
    heads = localise_columns(PV.VEHICLE_HEADERS, lang)
    cfg = (
        {heads[c]: st.column_config.NumberColumn(format=f"%.{d}f") for c, d in veh_decimals.items()}
        if lang != "fr"
        else {heads[c]: st.column_config.TextColumn(alignment="right") for c in veh_decimals}
    )
    st.dataframe(
        display_frame(shown, lang, veh_decimals).rename(columns=heads),
        hide_index=True,
        width="stretch",
        key="plan_vehicle_table",
        column_config=cfg,
        height=min(38 + 35 * max(len(shown), 1), 360),
    )
    ids = list(shown["id"]) or list(table["id"])
    vid = st.selectbox(t("plan_pick_vehicle", lang), ids, key="plan_vehicle")
    i = int(veh.index[veh["id"] == vid][0])
    state.plot(
        PV.setpoint_figure(sc.times, plan.setpoint_kw[i], lang,
                           t("plan_vehicle_title", lang, id=vid, connector=veh["connector"].iloc[i])),
        key="plan_vehicle_fig",
    )  # fmt: skip
with tab_c:
    ch = plan.chargers
    ch_decimals = {"energy_kwh": 1, "peak_kw": 1}
    heads = localise_columns(PV.CHARGER_HEADERS, lang)
    cfg = {
        **(
            {heads[c]: st.column_config.NumberColumn(format=f"%.{d}f") for c, d in ch_decimals.items()}
            if lang != "fr"
            else {heads[c]: st.column_config.TextColumn(alignment="right") for c in ch_decimals}
        ),
        heads["utilisation_pct"]: st.column_config.ProgressColumn(format="%.0f", min_value=0, max_value=100),
    }
    ch_table = display_frame(PV.charger_plan_table(ch), lang, ch_decimals, skip=["utilisation_pct"])
    st.dataframe(ch_table.rename(columns=heads),
                 hide_index=True, width="stretch", key="plan_charger_table", column_config=cfg,
                 height=min(38 + 35 * max(len(ch), 1), 360))  # fmt: skip
    cid = st.selectbox(t("plan_pick_connector", lang), list(ch["connector"]), key="plan_connector")
    c = int(ch.index[ch["connector"] == cid][0])
    state.plot(
        PV.setpoint_figure(sc.times, plan.connector_kw[c], lang, t("plan_connector_title", lang, connector=cid),
                           float(ch["rating_kw"].iloc[c])),
        key="plan_connector_fig",
    )  # fmt: skip

st.subheader(t("plan_export", lang))
dialects = ["excel-fr", "excel"] if lang == "fr" else ["excel", "excel-fr"]
dialect = st.radio(t("plan_dialect", lang), dialects, format_func=lambda d: t(f"dialect_{d}", lang), horizontal=True,
                   key=f"plan_dialect_{lang}")  # fmt: skip
base = f"{sc.name}_{ctrl.strategy}_plan"
d1, d2, d3 = st.columns(3)
d1.download_button(t("dl_plan_csv", lang), state.plan_file(ctrl, "csv", dialect), file_name=f"{base}.csv",
                   mime="text/csv", key="dl_plan_csv")  # fmt: skip
d2.download_button(t("dl_plan_json", lang), state.plan_file(ctrl, "json"), file_name=f"{base}.json",
                   mime="application/json", key="dl_plan_json")  # fmt: skip
d3.download_button(t("dl_plan_ocpp", lang), state.plan_file(ctrl, "ocpp"), file_name=f"{base}_ocpp.json",
                   mime="application/json", key="dl_plan_ocpp", help=t("dl_plan_ocpp_help", lang))  # fmt: skip
