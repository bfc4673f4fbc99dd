"""Scenario page: every generator parameter, upload of a scenario JSON or a fleet CSV, downloads of the
scenario and of the results (CSV, JSON)."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import streamlit as st

from evfleet.dashboard import state
from evfleet.dashboard.i18n import STRINGS, fmt_num, t
from evfleet.dashboard.kpi_labels import kpi_label, kpi_value_text
from evfleet.dashboard.l10n import CSV_DIALECTS
from evfleet.dashboard.l10n_widgets import input_errors, num_input, num_slider
from evfleet.dashboard.launch import check_upload_sessions
from evfleet.dashboard.safe_text import colon, md_error
from evfleet.dashboard.tariff_editor import applied_files, tariff_editor, tariff_label
from evfleet.gridquality.site import SiteElectrical
from evfleet.inputs.charger_csv import chargers_from_csv, scenario_with_chargers
from evfleet.inputs.chargers import charger_layout
from evfleet.inputs.fleet_mix import fleet_mix_names
from evfleet.inputs.generate import (
    CHARGER_TYPES,
    PROFILES,
    ScenarioParams,
    automatic_site_values,
    check_charger_mix_sums_to_one,
)
from evfleet.inputs.session_edits import PRIORITIES, edit_sessions, session_priority
from evfleet.inputs.tariffs import list_tariffs
from evfleet.scenario import ScenarioError, scenario_from_dict, unknown_charger

ctrl = state.controls()


lang = ctrl.lang
st.title(t("scenario_title", lang))
key, sc = state.current_scenario(ctrl)
state.scenario_caption(sc, lang)
p = state.scenario_params(ctrl.n_vehicles)
auto = automatic_site_values(
    ScenarioParams(**{**p, "import_limit_kw": None, "export_limit_kw": None, "pv_kwp": None, "base_load_peak_kw": None})
)
if p.get("import_limit_kw") is not None:  # the automatic export limit follows the given import limit
    auto["export_limit_kw"] = float(p["import_limit_kw"])
elec = SiteElectrical.from_scenario(sc)
trafo_now = elec.rated_kva(sc.import_limit_kw)  # the rating the power-quality model uses for this scenario [kVA]

tab_params, tab_veh, tab_upload, tab_dl = st.tabs(
    [t("params", lang), t("veh_edit_title", lang), t("upload", lang), t("downloads", lang)]
)

FORM_KEYS = ["sc_n", "sc_seed", "sc_days", "sc_import_limit_kw", "sc_export_limit_kw", "sc_pv_kwp",
             "sc_base_load_peak_kw", "sc_transformer_kva", "sc_degr",
             *(f"sc_mix_{c}" for c in CHARGER_TYPES)]  # fmt: skip


def FORM(col) -> dict:
    """The arguments of a number box of the scenario form."""
    return {"lang": lang, "container": col, "in_form": True}


with tab_params, st.form("scenario_form"):
    a1, a2, a3, a4 = st.columns(4)
    n = num_input(t("fleet_size", lang), state.N_MIN, state.N_MAX, ctrl.n_vehicles, state.N_STEP, key="sc_n",
                  **FORM(a1))  # fmt: skip
    seed = num_input(t("seed", lang), 0, 2**31 - 1, int(p["seed"]), key="sc_seed", **FORM(a2))
    start = a3.date_input(t("start_date", lang), date.fromisoformat(str(p["start"])[:10]), key="sc_start",
                          format="DD/MM/YYYY" if lang == "fr" else "YYYY-MM-DD")  # fmt: skip
    days = num_input(t("days", lang), 1, 14, int(p["days"]), key="sc_days", **FORM(a4))
    b1, b2, b3, b4 = st.columns(4)
    steps = [5, 10, 15, 30, 60]
    step_minutes = b1.selectbox(
        t("step_minutes", lang),
        steps,
        index=steps.index(int(p["step_minutes"])) if int(p["step_minutes"]) in steps else 2,
        key="sc_step",
    )
    profile = b2.selectbox(
        t("profile", lang),
        PROFILES,
        index=PROFILES.index(p["profile"]),
        key="sc_profile",
        format_func=lambda x: t(f"profile_{x}", lang) if f"profile_{x}" in STRINGS else x,
    )
    tariffs = [*list_tariffs(), *(f for f in applied_files() if f not in list_tariffs())]  # + the edited ones
    tariff = b3.selectbox(
        t("tariff", lang),
        tariffs,
        index=tariffs.index(p["tariff"]) if p["tariff"] in tariffs else 0,
        key="sc_tariff",
        format_func=lambda ref: tariff_label(ref, lang),
    )
    bidi = num_slider(
        t("bidi_share", lang), 0.0, 1.0, float(p["bidirectional_share"]), 0.05, key="sc_bidi", lang=lang, container=b4
    )
    # "automatic" values: an empty box; the value it resolves to is shown in it (no sentinel number)
    c1, c2, c3, c4, c5 = st.columns(5)

    def auto_input(col, label_key: str, name: str, unit: str, step: float):
        v = num_input(
            t(label_key, lang),
            0.0,
            1e6,
            p.get(name),
            step,
            key=f"sc_{name}",
            optional=True,
            **FORM(col),
            placeholder=t("auto_short", lang),
            help=t("auto_help", lang),
        )
        # the automatic value under the box (wraps; a placeholder is cut at 1280 px)
        col.caption(t("auto_value", lang, value=f"{fmt_num(auto[name], lang)}\u00a0{unit}"))
        return v

    imp = auto_input(c1, "import_limit_kw", "import_limit_kw", "kW", 50.0)
    exp = auto_input(c2, "export_limit_kw", "export_limit_kw", "kW", 50.0)
    pv = auto_input(c3, "pv_kwp", "pv_kwp", "kWp", 10.0)
    base = auto_input(c4, "base_peak", "base_load_peak_kw", "kW", 10.0)
    trafo = num_input(
        t("transformer_kva", lang),
        1.0,
        1e6,
        p.get("transformer_kva"),
        50.0,
        key="sc_transformer_kva",
        optional=True,
        **FORM(c5),
        placeholder=t("auto_short", lang),
        help=t("transformer_help", lang, pf=fmt_num(elec.sizing_pf, lang, 2), value=f"{fmt_num(trafo_now, lang)} kVA"),
    )
    if p.get("transformer_kva") is None:  # automatic: the rating it resolves to (a typed rating is the user's)
        c5.caption(t("auto_value", lang, value=f"{fmt_num(trafo_now, lang)}\u00a0kVA"))
    d1, d2, d3 = st.columns([2, 1, 1])
    soc_lo, soc_hi = num_slider(
        t("soc_window", lang), 0.0, 1.0, (float(p["soc_min"]), float(p["soc_max"])), 0.05, key="sc_soc_window",
        lang=lang, container=d1,
    )  # fmt: skip
    soc_target = num_slider(
        t("soc_target_in", lang), 0.0, 1.0, float(p["soc_target"]), 0.05, key="sc_soc_target", lang=lang, container=d2
    )
    degr = num_input(
        t("degradation_in", lang), 0.0, 100.0, float(p["degradation_mad_per_kwh"]), 0.05, key="sc_degr", **FORM(d3)
    )
    st.markdown(f"**{t('charger_mix', lang)}**")
    mix_cols = st.columns(len(CHARGER_TYPES))
    mix = {
        name: num_input(name, 0.0, 1.0, float(p["charger_mix"].get(name, 0.0)), 0.05, key=f"sc_mix_{name}", **FORM(col))
        for col, name in zip(mix_cols, CHARGER_TYPES, strict=True)
    }
    st.caption(t("mix_sum", lang, total=fmt_num(sum(float(x) for x in p["charger_mix"].values()), lang, 2)))
    comp_text = ",".join(f"{m}:{c}" for m, c in (p.get("composition") or {}).items())
    e1, e2 = st.columns([1, 3])
    mixes = fleet_mix_names()
    mix_id = p.get("fleet_mix") or mixes[0]
    fleet_mix_id = e1.selectbox(
        t("fleet_mix", lang), mixes, index=mixes.index(mix_id) if mix_id in mixes else 0, key="sc_fleet_mix"
    )
    composition = e2.text_input(t("composition", lang), comp_text, key="sc_composition")
    submitted = st.form_submit_button(t("apply", lang), type="primary")

if submitted and input_errors(FORM_KEYS):
    st.error(t("form_refused", lang))
elif submitted:
    try:
        comp = None
        if composition.strip():
            comp = {}
            for item in composition.split(","):
                model, _, count = item.rpartition(":")
                if not model:
                    raise ScenarioError(f"composition item {item!r} is not MODEL:COUNT")
                comp[model.strip()] = int(count)
            n = sum(comp.values())
        new = {
            **p,
            "vehicles": int(n),
            "seed": int(seed),
            "start": start.isoformat(),
            "days": int(days),
            "step_minutes": int(step_minutes),
            "profile": profile,
            "tariff": tariff,
            "bidirectional_share": float(bidi),
            "import_limit_kw": None if imp is None else float(imp),
            "export_limit_kw": None if exp is None else float(exp),
            "pv_kwp": None if pv is None else float(pv),
            "base_load_peak_kw": None if base is None else float(base),
            "transformer_kva": None if trafo is None else float(trafo),
            "soc_min": float(soc_lo),
            "soc_max": float(soc_hi),
            "soc_target": float(soc_target),
            "degradation_mad_per_kwh": float(degr),
            "charger_mix": {k: v for k, v in mix.items() if v > 0},
            "composition": comp,
            "fleet_mix": fleet_mix_id,
        }
        check_charger_mix_sums_to_one({k: float(v) for k, v in mix.items()})
        ScenarioParams(**new).validate()
        kept = None
        if new["transformer_kva"] is None and new["import_limit_kw"] != p.get("import_limit_kw"):
            # an automatic rating would follow the edited import limit: keep the modelled transformer instead
            new["transformer_kva"] = kept = float(trafo_now)
        if not state.N_MIN <= new["vehicles"] <= state.N_MAX:
            raise ScenarioError(
                f"parameter 'vehicles' must be within {state.N_MIN}-{state.N_MAX} (value {new['vehicles']})"
            )
        state.generated_check(new)
        st.session_state["scenario_params"] = {k: v for k, v in new.items() if k != "vehicles"}
        st.session_state["uploaded_scenario"] = None
        st.session_state["_pending_widgets"] = {"n_vehicles": new["vehicles"]}
        st.session_state["_flash"] = t("applied", lang) + (
            " " + t("transformer_kept", lang, value=f"{fmt_num(kept, lang)} kVA") if kept is not None else ""
        )
        st.rerun()
    except (ScenarioError, ValueError) as exc:
        st.error(f"{t('error', lang)}{colon(lang)} {md_error(exc)}")

with tab_params, st.expander(t("tf_title", lang), icon=":material/request_quote:"):
    tariff_editor(p, lang)

if flash := st.session_state.pop("_flash", None):
    st.success(flash)

with tab_veh:
    st.caption(t("veh_edit_help", lang))
    v = sc.vehicles
    ids = [str(x) for x in v.id]
    start_naive = sc.times[0].tz_localize(None)
    step_td = pd.Timedelta(minutes=sc.step_minutes)

    def at_step(k: int) -> str:
        return (start_naive + k * step_td).strftime("%Y-%m-%d %H:%M")

    worst = int(np.argmax(np.asarray(v.soc_target) - np.asarray(v.soc_arrival)))
    pick = st.selectbox(
        t("veh_id", lang),
        range(len(ids)),
        index=worst,
        key="veh_pick",
        format_func=lambda i: (
            f"{ids[i]} · {v.model[i]} · {at_step(int(v.arrival_step[i]))} → {at_step(int(v.departure_step[i]))}"
        ),
    )
    sid = ids[pick]
    prio_now = session_priority(sc)
    e1, e2, e3 = st.columns([3, 1, 1])
    dep = e1.select_slider(
        t("veh_departure", lang),
        options=list(range(int(v.arrival_step[pick]) + 1, sc.n_steps + 1)),
        value=int(v.departure_step[pick]),
        format_func=at_step,
        key=f"veh_departure_{sid}",
    )
    target = num_input(
        t("veh_target", lang),
        0.0,
        round(100.0 * float(v.soc_max[pick]), 6),
        round(100.0 * float(v.soc_target[pick]), 6),
        1.0,
        key=f"veh_target_{sid}",
        lang=lang,
        container=e2,
    )
    prio = e3.selectbox(
        t("veh_priority", lang), PRIORITIES, index=PRIORITIES.index(int(prio_now[pick])), key=f"veh_priority_{sid}"
    )
    if st.button(t("veh_edit_apply", lang), key="veh_apply", icon=":material/check:"):
        edit = {"id": sid}
        if int(dep) != int(v.departure_step[pick]):
            edit["departure_step"] = int(dep)
        if abs(target / 100.0 - float(v.soc_target[pick])) > 1e-9:
            edit["soc_target"] = target / 100.0
        if int(prio) != int(prio_now[pick]):
            edit["priority"] = int(prio)
        if len(edit) == 1:
            st.info(t("veh_edit_none", lang))
        else:
            try:
                st.session_state["uploaded_scenario"] = edit_sessions(sc, [edit])
                st.session_state["_flash"] = t("veh_edit_done", lang, n=1)
                st.rerun()
            except (ScenarioError, ValueError) as exc:
                st.error(f"{t('error', lang)}{colon(lang)} {md_error(exc)}")
    st.dataframe(
        pd.DataFrame(
            {
                t("veh_id", lang): ids,
                t("veh_model", lang): [str(x) for x in v.model],
                t("veh_arrival", lang): [at_step(int(k)) for k in v.arrival_step],
                t("veh_departure", lang): [at_step(int(k)) for k in v.departure_step],
                t("veh_target", lang): np.round(100.0 * np.asarray(v.soc_target), 1),
                t("veh_priority", lang): prio_now,
            }
        ),
        hide_index=True,
        width="stretch",
        height=280,
        key="veh_table",
    )

with tab_upload:
    up = st.file_uploader(t("upload_scenario", lang), type=["json"], key="up_scenario")
    if up is not None and st.session_state.get("_up_done") != up.file_id:
        try:
            data = json.loads(up.getvalue().decode("utf-8"))
            uploaded = scenario_from_dict(data, origin=up.name)
            check_upload_sessions(uploaded.n_vehicles, f"uploaded scenario {up.name!r}")
            if bad_charger := unknown_charger(uploaded.vehicles.extra):  # the dashboard has no grid site file
                raise ScenarioError(f"uploaded scenario {up.name!r}: {bad_charger}")
            st.session_state["uploaded_scenario"] = uploaded
            st.session_state["_up_done"] = up.file_id
            st.rerun()
        except (ScenarioError, ValueError, UnicodeDecodeError) as exc:
            st.error(f"{t('error', lang)}{colon(lang)} {md_error(exc)}")
    if st.session_state.get("uploaded_scenario") is not None and st.button(t("use_generated", lang), key="up_back"):
        st.session_state["uploaded_scenario"] = None
        st.rerun()
    fleet_csv = st.file_uploader(t("upload_fleet", lang), type=["csv"], key="up_fleet")
    if fleet_csv is not None and st.session_state.get("_fleet_done") != fleet_csv.file_id:
        try:
            comp = state.composition_from_csv(fleet_csv.getvalue())
            params = {**p, "composition": comp, "vehicles": sum(comp.values())}
            state.generated_check(params)
            st.session_state["scenario_params"] = {k: v for k, v in params.items() if k != "vehicles"}
            st.session_state["uploaded_scenario"] = None
            st.session_state["_pending_widgets"] = {"n_vehicles": params["vehicles"]}
            st.session_state["_fleet_done"] = fleet_csv.file_id
            st.session_state["_flash"] = t("fleet_loaded", lang, n=len(comp))
            st.rerun()
        except (ScenarioError, ValueError) as exc:
            st.error(f"{t('error', lang)}{colon(lang)} {md_error(exc)}")

    chargers_csv = st.file_uploader(
        t("chargers_upload", lang), type=["csv"], key="up_chargers", help=t("chargers_upload_help", lang)
    )
    if chargers_csv is not None and st.session_state.get("_chargers_done") != chargers_csv.file_id:
        try:
            records = chargers_from_csv(chargers_csv.getvalue(), origin=chargers_csv.name)
            st.session_state["uploaded_scenario"] = scenario_with_chargers(sc, records)
            st.session_state["_chargers_done"] = chargers_csv.file_id
            st.session_state["_flash"] = t("chargers_loaded", lang, n=len(records))
            st.rerun()
        except (ScenarioError, ValueError) as exc:
            st.error(f"{t('error', lang)}{colon(lang)} {md_error(exc)}")
    layout = charger_layout(sc)
    st.caption(t("chargers_in_use", lang, n=len(layout), source=t(f"chargers_source_{layout.source}", lang)))

with tab_dl:
    res, k = state.run(ctrl)
    stem = sc.name.replace(" ", "_")
    dialect = st.radio(
        t("csv_dialect", lang),
        list(CSV_DIALECTS),
        index=1 if lang == "fr" else 0,
        format_func=lambda d: t(f"csv_{d}", lang),
        horizontal=True,
        key=f"dl_dialect_{lang}",
    )
    # two buttons a row: four cut "Résultats par véhicule (CSV)" at 1280 px
    (e1, e2), (e3, e4) = st.columns(2), st.columns(2)
    e1.download_button(
        t("dl_scenario", lang),
        sc.to_json(),
        f"{stem}.json",
        "application/json",
        key="dl_sc",
        icon=":material/download:",
    )
    e2.download_button(
        t("dl_site", lang),
        state.run_csv(ctrl, "site", dialect),
        f"{stem}_{ctrl.strategy}_site.csv",
        "text/csv",
        key="dl_site",
        icon=":material/download:",
    )
    e3.download_button(
        t("dl_vehicles", lang),
        state.run_csv(ctrl, "vehicles", dialect),
        f"{stem}_{ctrl.strategy}_vehicles.csv",
        "text/csv",
        key="dl_veh",
        icon=":material/download:",
    )
    e4.download_button(
        t("dl_kpis", lang),
        json.dumps(k, indent=2),
        f"{stem}_{ctrl.strategy}_kpis.json",
        "application/json",
        key="dl_kpis",
        icon=":material/download:",
    )
    with st.spinner(t("report_building", lang), show_time=True):
        report = state.report_file(ctrl)  # large fleets: built when the button is clicked
    st.download_button(
        t("dl_report", lang),
        report,
        f"{stem}_{ctrl.strategy}_report.html",
        "text/html",
        key="dl_report",
        icon=":material/description:",
        help=t("dl_report_help", lang),
    )
    st.dataframe(
        pd.DataFrame(  # translated labels and values; the identifiers stay in the downloaded files
            {
                t("col_kpi", lang): [kpi_label(x, lang) for x in k],
                t("col_value", lang): [kpi_value_text(x, v, lang) for x, v in k.items()],
            }
        ),
        hide_index=True,
        width="stretch",
        height=360,
        key="dl_kpi_table",
    )
