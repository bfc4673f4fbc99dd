"""Economics page: cost by tariff period, V2G revenue and degradation, infrastructure ROI / payback from editable
inputs (the savings come from the simulation; the investment figures are the user's assumptions)."""

from __future__ import annotations

import math

import streamlit as st

from evfleet.analysis.cost import run_cost_mad
from evfleet.analysis.economics import (
    DIESEL_STATUS,
    EMS_STATUS,
    DieselInputs,
    EconomicInputs,
    EmsInputs,
    bill_table,
    cost_by_period_table,
    ems_roi,
    infrastructure_vs_diesel,
    operating_summary,
)
from evfleet.dashboard import state
from evfleet.dashboard import views as V
from evfleet.dashboard.analysis_views import cashflow_figure, cost_by_period_figure
from evfleet.dashboard.i18n import STRINGS, strategy_label, t
from evfleet.dashboard.l10n import display_frame, fmt_number, fmt_pct, mad_scale
from evfleet.dashboard.l10n_widgets import num_input
from evfleet.gridquality.records import Status
from evfleet.inputs.tariffs import STATUS_ORDER

ctrl = state.controls()
lang = ctrl.lang
st.title(t("econ_title", lang))
key, sc = state.current_scenario(ctrl)
state.scenario_caption(sc, lang)
state.prefetch(ctrl)  # the runs below, computed side by side
res, k = state.run(ctrl)
base, base_k = state.baseline(ctrl)
days = sc.n_steps * sc.dt_h / 24.0

no_v2g = state.no_v2g_run(ctrl)
no_v2g_k = None if no_v2g is None else no_v2g[1]
state.kpi_row(V.economic_cards(k, base_k, lang, no_v2g_k), per_row=4)
ops = operating_summary(k, base_k, no_v2g_k)
table = cost_by_period_table(res, base)
c1, c2 = st.columns([7, 3])
with c1:
    state.plot(cost_by_period_figure(table, lang, ctrl.strategy), key="econ_periods")
with c2:
    v2g_value = ops["v2g_value_mad"]
    div, unit = mad_scale(v2g_value or 0.0)
    st.metric(
        t("card_v2g_net", lang, unit=unit),
        "–" if v2g_value is None else fmt_number(v2g_value / div, lang),
        help=t("help_v2g_revenue", lang),
        border=True,
    )
    st.metric(t("card_savings_pct", lang), fmt_number(ops["savings_pct"], lang), border=True)
heads = {
    "period": "col_period",
    "price_mad_per_kwh": "col_price",
    "import_kwh": "col_import_kwh",
    "import_cost_mad": "col_import_cost",
    "baseline_import_kwh": "col_base_import_kwh",
    "baseline_import_cost_mad": "col_base_import_cost",
}
shown = table.assign(period=[V.period_label(x, lang) for x in table["period"]])
st.dataframe(
    display_frame(shown, lang, {c: 2 if c.startswith("price") else 0 for c in table.columns if c != "period"}).rename(
        columns={c: t(k, lang) for c, k in heads.items()}
    ),
    hide_index=True,
    width="stretch",
    key="econ_period_table",
    column_config={
        t(heads[c], lang): st.column_config.NumberColumn(format="%.2f" if c.startswith("price") else "%.0f")
        for c in table.columns
        if c != "period"
    }
    if lang == "en"
    else None,
)

st.subheader(t("bill_title", lang))
bill = bill_table(res, base)  # computed in evfleet.analysis.economics; only labelled here


def _src(status: str) -> str:
    return t(f"src_{status}", lang) if f"src_{status}" in STRINGS else status


st.caption(
    t("bill_caption", lang, tariff=k.get("bill_tariff", "-"), status=_src(str(k.get("bill_status", "assumption"))))
)
bill_heads = {"item": "col_item", "mad": "col_mad", "status": "col_status", "baseline_mad": "col_base_mad"}
bill = bill.assign(item=[t(f"bill_{i}", lang) if f"bill_{i}" in STRINGS else i for i in bill["item"]],
                   status=[_src(str(x)) for x in bill["status"]])  # fmt: skip
st.dataframe(
    display_frame(bill, lang, {"mad": 2, "baseline_mad": 2}).rename(
        columns={c: t(h, lang) for c, h in bill_heads.items()}
    ),
    hide_index=True,
    width="stretch",
    key="econ_bill_table",
    column_config={
        t(bill_heads[c], lang): st.column_config.NumberColumn(format="%.2f")
        for c in ("mad", "baseline_mad")
        if c in bill.columns
    }
    if lang == "en"
    else None,
)

st.subheader(t("roi_inputs", lang))
# ROI of the EMS itself against the timer (analysis.economics.ems_roi): the chargers exist already, so the
# investment is what the EMS adds and the benefit is the saving against the timer baseline
timer_res, timer_k = state.run(ctrl, "timer")
d = EmsInputs()
#: status of every investment input, "status: note" (analysis.economics EMS_STATUS / DIESEL_STATUS; the inputs of
#: EconomicInputs without an entry are assumptions, as its docstring says); the fleet's own count comes from it
STATUS = {**EMS_STATUS, **DIESEL_STATUS, "operating_days_per_year": "assumption: every day of the year",
          "charger_capex_mad": "assumption: enter your quote", "installation_mad": "assumption: enter your quote",
          "n_chargers": "scenario: one charger per vehicle of the scenario"}  # fmt: skip
used: list[str] = []  # the statuses of the ROI inputs as shown (changed values: "assumption", entered by the user)


def econ_input(col, field: str, label_key: str, lo, hi, default, step=None, fmt=None, *, key: str):
    """A ROI input with the status of its default (or "entered by the operator" once changed) under it."""
    status, _, note = STATUS.get(field, "assumption").partition(":")
    value = num_input(t(label_key, lang), lo, hi, default, step, fmt, key=key, lang=lang, container=col,
                      help=note.strip() if lang == "en" and note else None)  # fmt: skip
    changed = not math.isclose(float(value), float(default), rel_tol=1e-9, abs_tol=1e-12)  # 100 * 0.06
    shown = "assumption" if changed else status.strip()
    used.append(shown if shown in STATUS_ORDER else "assumption")
    col.caption(t("input_status", lang, status=_src(shown), origin=t("input_entered" if changed else "input_default",
                                                                       lang)))  # fmt: skip
    return value


i1, i2, i3, i4 = st.columns(4)
soft = econ_input(i1, "software_capex_mad", "software_capex", 0.0, 1e9, d.software_capex_mad, 10_000.0, "%.0f",
                  key="econ_software")  # fmt: skip
meter = econ_input(i2, "metering_capex_mad", "metering_capex", 0.0, 1e9, d.metering_capex_mad, 1000.0, "%.0f",
                   key="econ_metering")  # fmt: skip
n_bidi = econ_input(i3, "n_bidirectional_chargers", "n_bidi_chargers", 0, 100_000, d.n_bidirectional_chargers,
                    key="econ_n_bidi")  # fmt: skip
bidi = econ_input(i4, "bidirectional_extra_mad_per_charger", "bidi_extra", 0.0, 1e7,
                  d.bidirectional_extra_mad_per_charger, 1000.0, "%.0f", key="econ_bidi_extra")  # fmt: skip
j1, j2, j3, j4 = st.columns(4)
opex = econ_input(j1, "opex_mad_per_year", "opex", 0.0, 1e9, d.opex_mad_per_year, 1000.0, "%.0f", key="econ_opex")
op_days = econ_input(j2, "operating_days_per_year", "operating_days", 1, 366, 365, key="econ_days")
life = econ_input(j3, "lifetime_years", "lifetime", 1, 50, d.lifetime_years, key="econ_life")
rate = econ_input(j4, "discount_rate", "discount", 0.0, 99.0, 100 * d.discount_rate, 0.5, key="econ_rate")
inputs = EmsInputs(float(soft), float(meter), int(n_bidi), float(bidi), float(opex), int(life), float(rate) / 100.0)
annual_vs_timer = (run_cost_mad(timer_k) - run_cost_mad(k)) / days * int(op_days)
r = ems_roi(inputs, annual_vs_timer)
st.caption(t("roi_source", lang, strategy=strategy_label(ctrl.strategy, lang), days=days, op_days=int(op_days)))
pay = r.simple_payback_months
pay_status = Status.CRITICAL if pay is None else V.status_of(pay, (12.0, 24.0, 48.0))
inv_div, inv_unit = mad_scale(r.investment_mad)
sav_div, sav_unit = mad_scale(r.annual_savings_mad)
npv_div, npv_unit = mad_scale(r.npv_mad)
day_div, day_unit = mad_scale(r.savings_per_day_mad)
cards = [
    V.KpiCard("investment", t("card_investment", lang, unit=inv_unit), fmt_number(r.investment_mad / inv_div, lang)),
    V.KpiCard(
        "annual_savings",
        t("card_annual_savings", lang, unit=sav_unit),
        fmt_number(r.annual_savings_mad / sav_div, lang),
        detail=t("per_day_detail", lang, amount=f"{fmt_number(r.savings_per_day_mad / day_div, lang)} {day_unit}"),
    ),
    V.KpiCard(
        "payback",
        t("card_payback", lang),
        "∞" if pay is None else fmt_number(pay, lang),
        pay_status,
        t("payback_never", lang) if pay is None else t("payback_target", lang),
    ),
    V.KpiCard(
        "npv",
        t("card_npv", lang, unit=npv_unit),
        fmt_number(r.npv_mad / npv_div, lang),
        Status.GOOD if r.npv_mad > 0 else Status.WARNING,
        t("discount_detail", lang, rate=fmt_pct(100 * inputs.discount_rate, lang)),
    ),
    V.KpiCard("roi", t("card_roi_pct", lang), fmt_number(r.roi_pct, lang)),
]
state.kpi_row(cards, per_row=3)
inputs_status = min(used, key=STATUS_ORDER.index)
saving_status = min(str(k.get("bill_status", "assumption")), str(timer_k.get("bill_status", "assumption")),
                    key=lambda x: STATUS_ORDER.index(x) if x in STATUS_ORDER else 0)  # fmt: skip
st.caption(t("roi_status", lang, inputs=_src(inputs_status), saving=_src(saving_status),
             derived=_src(min(inputs_status, saving_status, key=STATUS_ORDER.index))))  # fmt: skip
state.plot(cashflow_figure(r.cashflow, lang, pay), key="econ_cashflow")

with st.expander(t("diesel_title", lang), icon=":material/local_gas_station:"):
    # optional: the whole infrastructure (chargers, installation, EMS) against the fuel of a diesel fleet
    veh = sc.vehicles.extra.get("vehicle")
    n_default = len(set(veh.tolist())) if veh is not None else sc.n_vehicles
    e = EconomicInputs()
    dd = DieselInputs()
    k1, k2, k3 = st.columns(3)
    n_ch = econ_input(k1, "n_chargers", "n_chargers", 0, 100_000, int(n_default), key="econ_n_chargers")
    capex = econ_input(k2, "charger_capex_mad", "charger_capex", 0.0, 1e7, e.charger_capex_mad, 1000.0, "%.0f",
                       key="econ_capex")  # fmt: skip
    inst = econ_input(k3, "installation_mad", "installation", 0.0, 1e7, e.installation_mad, 500.0, "%.0f",
                      key="econ_install")  # fmt: skip
    l1, l2, l3 = st.columns(3)
    km = econ_input(l1, "km_per_vehicle_per_year", "km_per_year", 0.0, 1e6, dd.km_per_vehicle_per_year, 1000.0,
                    key="econ_km")  # fmt: skip
    cons = econ_input(l2, "diesel_l_per_100km", "diesel_l_100", 0.0, 100.0, dd.diesel_l_per_100km, 0.5, key="econ_l100")
    price = econ_input(l3, "diesel_price_mad_per_l", "diesel_price", 0.0, 100.0, dd.diesel_price_mad_per_l, 0.5,
                       key="econ_dprice")  # fmt: skip
    infra = EconomicInputs(int(n_ch), float(capex), float(inst), float(soft + meter), float(opex), 365, int(life),
                           float(rate) / 100.0)  # fmt: skip
    diesel = DieselInputs(int(n_default), float(km), float(cons), float(price))
    ev_year = run_cost_mad(k) / days * int(op_days)
    rd = infrastructure_vs_diesel(infra, diesel, ev_year)
    st.caption(t("diesel_source", lang, fuel=f"{fmt_number(diesel.fuel_cost_mad_per_year, lang)} MAD",
                 ev=f"{fmt_number(ev_year, lang)} MAD"))  # fmt: skip
    di_div, di_unit = mad_scale(rd.investment_mad)
    db_div, db_unit = mad_scale(rd.net_annual_benefit_mad)
    state.kpi_row(
        [
            V.KpiCard(
                "diesel_investment",
                t("card_investment", lang, unit=di_unit),
                fmt_number(rd.investment_mad / di_div, lang),
            ),
            V.KpiCard(
                "diesel_benefit",
                t("card_annual_savings", lang, unit=db_unit),
                fmt_number(rd.net_annual_benefit_mad / db_div, lang),
            ),
            V.KpiCard(
                "diesel_payback",
                t("card_payback", lang),
                "∞" if rd.simple_payback_months is None else fmt_number(rd.simple_payback_months, lang),
            ),
        ],
        per_row=3,
    )
    diesel_inputs = min(used, key=STATUS_ORDER.index)  # the EMS inputs above and these
    ev_status = str(k.get("bill_status", "assumption"))
    st.caption(t("roi_status", lang, inputs=_src(diesel_inputs), saving=_src(ev_status),
                 derived=_src(min(diesel_inputs, ev_status, key=lambda x: STATUS_ORDER.index(x)
                                  if x in STATUS_ORDER else 0))))  # fmt: skip
