"""Fleet page: the EV2Gym per-model V2G/G2V table (live when live mode is on), V2G pie, top-5 models,
one vehicle's drill-down."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from evfleet._common.tolerances import UNMET_TOL_KWH
from evfleet.dashboard import state
from evfleet.dashboard import views as V
from evfleet.dashboard.fleet_views import (
    FLEET_COLUMNS,
    charger_use_figure,
    drilldown_figure,
    fleet_state_at,
    fleet_table,
    localise_columns,
    sources_frame,
    top_models_figure,
    v2g_pie_figure,
    vehicle_info,
)
from evfleet.dashboard.i18n import STRINGS, t
from evfleet.dashboard.l10n import display_frame, fmt_datetime, fmt_number, header_width
from evfleet.dashboard.safe_text import md_bullets, md_error
from evfleet.inputs.catalog_sources import model_sources

ctrl = state.controls()
lang = ctrl.lang
st.title(t("fleet_title", lang))
key, sc = state.current_scenario(ctrl)
state.scenario_caption(sc, lang)
cat = state.catalog()
H = localise_columns(FLEET_COLUMNS, lang)

c_search, c_only, c_time = st.columns(3)  # the toggle's label whole at 1280 px
query = c_search.text_input(t("search", lang), key="fleet_search", placeholder=t("search_placeholder", lang))
only = c_only.toggle(t("only_in_fleet", lang), value=True, key="fleet_only")


#: decimals of the fleet table's number columns (French: the same decimals as locale text)
DECIMALS = {"registrations": 0, "battery_kwh": 1, "ac_max_kw": 1, "dc_max_kw": 0, "v2g_ac_kw": 1, "v2g_dc_kw": 0,
            "net_power_kw": 1}  # fmt: skip
#: columns that may have no figure, shown as text in English too: a number column writes a missing value "None"
MAY_BE_MISSING = ("registrations",)


def column_config() -> dict:
    def num(col: str, fmt: str) -> st.column_config.Column:
        width = header_width(H[col])  # the header whole (a fixed 74 px cut "Batterie (kWh)")
        # locale text (Streamlit's number formats know only the browser locale; "–" for a missing figure)
        if (lang == "fr" and col in DECIMALS) or col in MAY_BE_MISSING:
            return st.column_config.TextColumn(H[col], width=width, alignment="right")  # numbers align right
        return st.column_config.NumberColumn(H[col], format=fmt, width=width)

    return {
        H["model"]: st.column_config.TextColumn(H["model"], pinned=True, width=150),
        H["registrations"]: num("registrations", "localized"),
        H["battery_kwh"]: num("battery_kwh", "%.1f"),
        H["ac_max_kw"]: num("ac_max_kw", "%.1f"),
        H["dc_max_kw"]: num("dc_max_kw", "%.0f"),
        H["v2g_ac_kw"]: num("v2g_ac_kw", "%.1f"),
        H["v2g_dc_kw"]: num("v2g_dc_kw", "%.0f"),
        H["v2g_capable"]: st.column_config.CheckboxColumn(H["v2g_capable"], width=header_width(H["v2g_capable"], 70)),
        H["in_fleet"]: num("in_fleet", "%d"),
        H["connected"]: num("connected", "%d"),
        H["charging"]: num("charging", "%d"),
        H["discharging"]: num("discharging", "%d"),
        H["mean_soc_pct"]: st.column_config.ProgressColumn(
            H["mean_soc_pct"], format="%.0f%%", min_value=0, max_value=100, width=header_width(H["mean_soc_pct"], 90)
        ),
        H["net_power_kw"]: num("net_power_kw", "%.1f"),
    }


def shown_table(table: pd.DataFrame) -> pd.DataFrame:
    """The fleet table as shown: French numbers as locale text, a missing figure as "–" in both languages."""
    shown = display_frame(table, lang, DECIMALS, skip=[c for c in table.columns if c not in DECIMALS])
    if lang != "fr":
        missing = {c: [fmt_number(x, lang, decimals=DECIMALS[c]) for x in table[c]] for c in MAY_BE_MISSING}
        shown = shown.assign(**missing)
    return shown.rename(columns=H)


def draw_table(table: pd.DataFrame, scenario, power_kw: np.ndarray, connected: np.ndarray) -> None:
    st.dataframe(
        shown_table(table),
        column_config=column_config(),
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * max(len(table), 1), 500),
        key="fleet_table",
    )
    c_pie, c_top, c_ch = st.columns(3)
    with c_pie:
        state.plot(v2g_pie_figure(table, lang, height=300), key="v2g_pie")
        bidi = int((np.asarray(scenario.vehicles.max_discharge_kw) > 0).sum())
        st.caption(t("bidi_caption", lang, bidi=bidi, n=scenario.n_vehicles))
    with c_top:
        # only models with a registration figure are ranked (0 = no figure, docs/catalog.md): say how many
        n_fig, n_all = int(table["registrations"].notna().sum()), len(table)
        if n_fig >= 2:
            state.plot(top_models_figure(table, lang, height=300), key="top5")
            st.caption(t("top5_caption", lang, shown=min(5, n_fig), n=n_fig, others=n_all - n_fig))
        else:
            st.info(
                t("top5_hidden", lang, n=n_fig, total=n_all, toggle=t("only_in_fleet", lang)), icon=":material/info:"
            )
    with c_ch:
        state.plot(charger_use_figure(scenario, power_kw, connected, lang), key="charger_use")


if ctrl.live:

    def _live_table() -> None:
        snap = state.live_runner(ctrl).snapshot()
        st.caption(f"{t('time_of_table', lang)} {fmt_datetime(snap.time, lang)} {t('live_tag', lang)}")
        draw_table(
            fleet_table(snap.scenario, cat, snap.soc, snap.power_kw, snap.connected, only, query),
            snap.scenario,
            snap.power_kw,
            snap.connected,
        )

    st.fragment(run_every=state.live_refresh_s(ctrl, table=True))(_live_table)()
    res = None
else:
    res, _ = state.run(ctrl)
    times = sc.times
    default = V.focus_step(times, res.site_kw, pd.Timestamp.now(tz=sc.timezone))
    labels = [fmt_datetime(x, lang) for x in times]
    step = c_time.select_slider(
        t("time_of_table", lang),
        options=list(range(sc.n_steps)),
        value=default,
        format_func=lambda i: labels[i],
        key="fleet_step",
    )
    soc, p, conn = fleet_state_at(res, step)
    draw_table(fleet_table(sc, cat, soc, p, conn, only, query), sc, p, conn)

# --- drill-down ------------------------------------------------------------------------------------------------
st.subheader(t("drilldown", lang))
if res is None:
    res, _ = state.run(ctrl)
v = sc.vehicles
veh = v.extra.get("vehicle")
options = list(range(sc.n_vehicles))
worst = int(np.argmax(res.unmet_kwh)) if sc.n_vehicles else 0
default_i = worst if sc.n_vehicles and res.unmet_kwh[worst] > UNMET_TOL_KWH else 0


def _label(i: int) -> str:
    extra = f" · {veh[i]}" if veh is not None else ""
    flag = " ⚠" if res.unmet_kwh[i] > UNMET_TOL_KWH else ""
    return f"{v.id[i]}{extra} · {v.model[i]}{flag}"


# above the chart and its card: the session's label (id · vehicle · model) is cut in the card's column at 1280 px
i = st.selectbox(
    t("choose_vehicle", lang), options, index=default_i, format_func=_label, key="drill_vehicle", width=460
)
c_sel, c_info = st.columns([7, 3])
with c_info:
    info = vehicle_info(res, i, lang)
    st.markdown(md_bullets(info, lang))
    details = state.catalog_details()
    if details is not None:
        with st.expander(t("sources", lang)):
            try:
                src = sources_frame(model_sources(str(v.model[i]), details))
                src["status"] = [t(f"src_{x}", lang) if f"src_{x}" in STRINGS else x for x in src["status"]]
                heads = {"field": "col_field", "value": "col_value", "unit": "col_unit", "status": "col_source_status",
                         "reference": "col_reference", "url": "col_url"}  # fmt: skip
                if lang == "fr":
                    st.caption(t("sources_lang_note", lang))
                st.dataframe(
                    src.rename(columns=localise_columns(heads, lang)),
                    hide_index=True,
                    width="stretch",
                    key="drill_sources",
                    column_config={t("col_url", lang): st.column_config.LinkColumn(t("col_url", lang))},
                )
            except ValueError as exc:  # a model not in the catalogue (uploaded scenario)
                st.caption(md_error(exc))
with c_sel:
    state.plot(drilldown_figure(res, i, lang), key="drill_fig")
