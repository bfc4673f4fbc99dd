"""Scenario page: every generator parameter, upload of a scenario JSON or a fleet CSV, downloads of the
scenario and of the results (CSV, JSON)."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import streamlit as st

from evfleet._common.text import csv_safe_frame
from evfleet.dashboard import state
from evfleet.dashboard.i18n import STRINGS, t
from evfleet.dashboard.l10n import CSV_DIALECTS, csv_bytes, fmt_number
from evfleet.dashboard.launch import check_upload_sessions
from evfleet.dashboard.safe_text import md_error
from evfleet.inputs.fleet_mix import fleet_mix_names
from evfleet.inputs.generate import CHARGER_TYPES, PROFILES, ScenarioParams
from evfleet.inputs.tariffs import list_tariffs
from evfleet.results.run_files import site_table, vehicle_table
from evfleet.scenario import ScenarioError, scenario_from_dict, unknown_charger

ctrl = state.controls()


def _kpi_text(x: object) -> str:
    """A KPI value as locale text (numbers with the locale's marks; identifiers and texts as they are)."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return str(x)
    return fmt_number(x, ctrl.lang, sig=6)


lang = ctrl.lang
st.title(t("scenario_title", lang))
key, sc = state.current_scenario(ctrl)
state.scenario_caption(sc, lang)
p = state.scenario_params(ctrl.n_vehicles)

tab_params, tab_upload, tab_dl = st.tabs([t("params", lang), t("upload", lang), t("downloads", lang)])

with tab_params, st.form("scenario_form"):
    a1, a2, a3, a4 = st.columns(4)
    n = a1.number_input(t("fleet_size", lang), state.N_MIN, state.N_MAX, ctrl.n_vehicles, state.N_STEP, key="sc_n")
    seed = a2.number_input(t("seed", lang), 0, 2**31 - 1, int(p["seed"]), key="sc_seed")
    start = a3.date_input(t("start_date", lang), date.fromisoformat(str(p["start"])[:10]), key="sc_start",
                          format="DD/MM/YYYY" if lang == "fr" else "YYYY-MM-DD")  # fmt: skip
    days = a4.number_input(t("days", lang), 1, 14, int(p["days"]), key="sc_days")
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
    tariffs = list_tariffs()
    tariff = b3.selectbox(
        t("tariff", lang), tariffs, index=tariffs.index(p["tariff"]) if p["tariff"] in tariffs else 0, key="sc_tariff"
    )
    bidi = b4.slider(t("bidi_share", lang), 0.0, 1.0, float(p["bidirectional_share"]), 0.05, key="sc_bidi")
    c1, c2, c3, c4 = st.columns(4)
    imp = c1.number_input(
        t("import_limit_kw", lang), 0.0, 1e6, float(p.get("import_limit_kw") or 0.0), 50.0, key="sc_import"
    )
    exp = c2.number_input(
        t("export_limit_kw", lang), 0.0, 1e6, float(p.get("export_limit_kw") or 0.0), 50.0, key="sc_export"
    )
    pv = c3.number_input(
        t("pv_kwp", lang), -1.0, 1e6, float(p["pv_kwp"]) if p.get("pv_kwp") is not None else -1.0, 10.0, key="sc_pv"
    )
    base = c4.number_input(
        t("base_peak", lang), 0.0, 1e6, float(p.get("base_load_peak_kw") or 0.0), 10.0, key="sc_base"
    )
    d1, d2, d3 = st.columns([2, 1, 1])
    soc_lo, soc_hi = d1.slider(
        t("soc_window", lang), 0.0, 1.0, (float(p["soc_min"]), float(p["soc_max"])), 0.05, key="sc_soc_window"
    )
    soc_target = d2.slider(t("soc_target_in", lang), 0.0, 1.0, float(p["soc_target"]), 0.05, key="sc_soc_target")
    degr = d3.number_input(
        t("degradation_in", lang), 0.0, 100.0, float(p["degradation_mad_per_kwh"]), 0.05, key="sc_degr"
    )
    st.markdown(f"**{t('charger_mix', lang)}**")
    mix_cols = st.columns(len(CHARGER_TYPES))
    mix = {
        name: col.number_input(name, 0.0, 1.0, float(p["charger_mix"].get(name, 0.0)), 0.05, key=f"sc_mix_{name}")
        for col, name in zip(mix_cols, CHARGER_TYPES, strict=True)
    }
    comp_text = ",".join(f"{m}:{c}" for m, c in (p.get("composition") or {}).items())
    e1, e2 = st.columns([1, 3])
    mixes = fleet_mix_names()
    mix_id = p.get("fleet_mix") or mixes[0]
    fleet_mix_id = e1.selectbox(
        t("fleet_mix", lang), mixes, index=mixes.index(mix_id) if mix_id in mixes else 0, key="sc_fleet_mix"
    )
    composition = e2.text_input(t("composition", lang), comp_text, key="sc_composition")
    submitted = st.form_submit_button(t("apply", lang), type="primary")

if submitted:
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
            "import_limit_kw": float(imp) or None,
            "export_limit_kw": float(exp) or None,
            "pv_kwp": None if pv < 0 else float(pv),
            "base_load_peak_kw": float(base) or None,
            "soc_min": float(soc_lo),
            "soc_max": float(soc_hi),
            "soc_target": float(soc_target),
            "degradation_mad_per_kwh": float(degr),
            "charger_mix": {k: v for k, v in mix.items() if v > 0},
            "composition": comp,
            "fleet_mix": fleet_mix_id,
        }
        ScenarioParams(**new).validate()
        if not state.N_MIN <= new["vehicles"] <= state.N_MAX:
            raise ScenarioError(
                f"parameter 'vehicles' must be within {state.N_MIN}-{state.N_MAX} (value {new['vehicles']})"
            )
        state.generated_check(new)
        st.session_state["scenario_params"] = {k: v for k, v in new.items() if k != "vehicles"}
        st.session_state["uploaded_scenario"] = None
        st.session_state["_pending_widgets"] = {"n_vehicles": new["vehicles"]}
        st.session_state["_flash"] = t("applied", lang)
        st.rerun()
    except (ScenarioError, ValueError) as exc:
        st.error(f"{t('error', lang)}: {md_error(exc)}")

if flash := st.session_state.pop("_flash", None):
    st.success(flash)

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
            st.error(f"{t('error', lang)}: {md_error(exc)}")
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
            st.error(f"{t('error', lang)}: {md_error(exc)}")

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
    e1, e2, e3, e4 = st.columns(4)
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
        csv_bytes(csv_safe_frame(site_table(res)), dialect),
        f"{stem}_{ctrl.strategy}_site.csv",
        "text/csv",
        key="dl_site",
        icon=":material/download:",
    )
    e3.download_button(
        t("dl_vehicles", lang),
        csv_bytes(csv_safe_frame(vehicle_table(res)), dialect),
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
        report = state.report_html(ctrl)
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
        pd.DataFrame({t("col_kpi", lang): list(k), t("col_value", lang): [_kpi_text(x) for x in k.values()]}),
        hide_index=True,
        width="stretch",
        height=360,
        key="dl_kpi_table",
    )
