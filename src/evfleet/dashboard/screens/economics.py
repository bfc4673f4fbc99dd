"""Economics page: cost by tariff period, V2G revenue and degradation, infrastructure ROI / payback from editable
inputs (the savings come from the simulation; the investment figures are the user's assumptions)."""

from __future__ import annotations

import streamlit as st

from evfleet.analysis.cost import run_cost_mad
from evfleet.analysis.economics import (
    DieselInputs,
    EconomicInputs,
    EmsInputs,
    cost_by_period_table,
    ems_roi,
    infrastructure_vs_diesel,
    operating_summary,
)
from evfleet.dashboard import state
from evfleet.dashboard import views as V
from evfleet.dashboard.analysis_views import cashflow_figure, cost_by_period_figure
from evfleet.dashboard.i18n import fmt_money, fmt_num, fmt_pct, t
from evfleet.gridquality.records import Status

ctrl = state.controls()
lang = ctrl.lang
st.title(t("econ_title", lang))
key, sc = state.current_scenario(ctrl)
state.scenario_caption(sc, lang)
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
    st.metric(
        t("v2g_net", lang),
        f"{fmt_num(ops['v2g_value_mad'], lang)} MAD",
        help="cost of the same strategy without V2G - its cost with V2G (a second run; degradation included)",
        border=True,
    )
    st.metric(t("savings", lang), fmt_pct(ops["savings_pct"], lang), border=True)
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
    shown.rename(columns={c: t(k, lang) for c, k in heads.items()}),
    hide_index=True,
    width="stretch",
    key="econ_period_table",
    column_config={
        t(heads[c], lang): st.column_config.NumberColumn(format="%.2f" if c.startswith("price") else "%.0f")
        for c in table.columns
        if c != "period"
    },
)

st.subheader(t("roi_inputs", lang))
# ROI of the EMS itself against the timer (analysis.economics.ems_roi): the chargers exist already, so the
# investment is what the EMS adds and the benefit is the saving against the timer baseline
timer_res, timer_k = state.run(ctrl, "timer")
d = EmsInputs()
i1, i2, i3, i4 = st.columns(4)
soft = i1.number_input(t("software_capex", lang), 0.0, 1e9, d.software_capex_mad, 10_000.0, key="econ_software")
meter = i2.number_input(t("metering_capex", lang), 0.0, 1e9, d.metering_capex_mad, 1000.0, key="econ_metering")
n_bidi = i3.number_input(t("n_bidi_chargers", lang), 0, 100_000, d.n_bidirectional_chargers, key="econ_n_bidi")
bidi = i4.number_input(t("bidi_extra", lang), 0.0, 1e7, d.bidirectional_extra_mad_per_charger, 1000.0,
                       key="econ_bidi_extra")  # fmt: skip
j1, j2, j3, j4 = st.columns(4)
opex = j1.number_input(t("opex", lang), 0.0, 1e9, d.opex_mad_per_year, 1000.0, key="econ_opex")
op_days = j2.number_input(t("operating_days", lang), 1, 366, 365, key="econ_days")
life = j3.number_input(t("lifetime", lang), 1, 50, d.lifetime_years, key="econ_life")
rate = j4.number_input(t("discount", lang), 0.0, 99.0, 100 * d.discount_rate, 0.5, key="econ_rate")
inputs = EmsInputs(float(soft), float(meter), int(n_bidi), float(bidi), float(opex), int(life), float(rate) / 100.0)
annual_vs_timer = (run_cost_mad(timer_k) - run_cost_mad(k)) / days * int(op_days)
r = ems_roi(inputs, annual_vs_timer)
st.caption(t("roi_source", lang, strategy=ctrl.strategy, days=days, op_days=int(op_days)))
pay = r.simple_payback_months
pay_status = Status.CRITICAL if pay is None else V.status_of(pay, (12.0, 24.0, 48.0))
cards = [
    V.KpiCard("investment", t("investment", lang), fmt_money(r.investment_mad, lang)),
    V.KpiCard(
        "annual_savings",
        t("annual_savings", lang),
        fmt_money(r.annual_savings_mad, lang),
        detail=f"{fmt_money(r.savings_per_day_mad, lang)} {t('per_day', lang)}",
    ),
    V.KpiCard(
        "payback",
        t("payback", lang),
        "∞" if pay is None else f"{fmt_num(pay, lang, 1)} {t('months', lang)}",
        pay_status,
        t("payback_never", lang) if pay is None else t("payback_target", lang),
    ),
    V.KpiCard(
        "npv",
        t("npv", lang),
        fmt_money(r.npv_mad, lang),
        Status.GOOD if r.npv_mad > 0 else Status.WARNING,
        fmt_pct(100 * inputs.discount_rate, lang),
    ),
    V.KpiCard("roi", t("roi", lang), fmt_pct(r.roi_pct, lang)),
]
state.kpi_row(cards, per_row=3)
state.plot(cashflow_figure(r.cashflow, lang, pay), key="econ_cashflow")

with st.expander(t("diesel_title", lang), icon=":material/local_gas_station:"):
    # optional: the whole infrastructure (chargers, installation, EMS) against the fuel of a diesel fleet
    veh = sc.vehicles.extra.get("vehicle")
    n_default = len(set(veh.tolist())) if veh is not None else sc.n_vehicles
    e = EconomicInputs()
    dd = DieselInputs()
    k1, k2, k3 = st.columns(3)
    n_ch = k1.number_input(t("n_chargers", lang), 0, 100_000, int(n_default), key="econ_n_chargers")
    capex = k2.number_input(t("charger_capex", lang), 0.0, 1e7, e.charger_capex_mad, 1000.0, key="econ_capex")
    inst = k3.number_input(t("installation", lang), 0.0, 1e7, e.installation_mad, 500.0, key="econ_install")
    l1, l2, l3 = st.columns(3)
    km = l1.number_input(t("km_per_year", lang), 0.0, 1e6, dd.km_per_vehicle_per_year, 1000.0, key="econ_km")
    cons = l2.number_input(t("diesel_l_100", lang), 0.0, 100.0, dd.diesel_l_per_100km, 0.5, key="econ_l100")
    price = l3.number_input(t("diesel_price", lang), 0.0, 100.0, dd.diesel_price_mad_per_l, 0.5, key="econ_dprice")
    infra = EconomicInputs(int(n_ch), float(capex), float(inst), float(soft + meter), float(opex), 365, int(life),
                           float(rate) / 100.0)  # fmt: skip
    diesel = DieselInputs(int(n_default), float(km), float(cons), float(price))
    ev_year = run_cost_mad(k) / days * int(op_days)
    rd = infrastructure_vs_diesel(infra, diesel, ev_year)
    st.caption(t("diesel_source", lang, fuel=fmt_money(diesel.fuel_cost_mad_per_year, lang),
                 ev=fmt_money(ev_year, lang)))  # fmt: skip
    state.kpi_row(
        [
            V.KpiCard("diesel_investment", t("investment", lang), fmt_money(rd.investment_mad, lang)),
            V.KpiCard("diesel_benefit", t("annual_savings", lang), fmt_money(rd.net_annual_benefit_mad, lang)),
            V.KpiCard(
                "diesel_payback",
                t("payback", lang),
                "∞"
                if rd.simple_payback_months is None
                else f"{fmt_num(rd.simple_payback_months, lang, 1)} {t('months', lang)}",
            ),
        ],
        per_row=3,
    )
