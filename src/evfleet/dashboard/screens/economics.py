"""Economics page: cost by tariff period, V2G revenue and degradation, infrastructure ROI / payback from editable
inputs (the savings come from the simulation; the investment figures are the user's assumptions)."""

from __future__ import annotations

import streamlit as st

from evfleet.analysis.economics import EconomicInputs, bill_table, cost_by_period_table, operating_summary, roi
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

state.kpi_row(V.economic_cards(k, base_k, lang), per_row=4)
ops = operating_summary(k, base_k)
table = cost_by_period_table(res, base)
c1, c2 = st.columns([7, 3])
with c1:
    state.plot(cost_by_period_figure(table, lang, ctrl.strategy), key="econ_periods")
with c2:
    st.metric(
        t("v2g_net", lang),
        f"{fmt_num(ops['v2g_net_value_mad'], lang)} MAD",
        help="V2G value - degradation cost",
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

st.subheader(t("bill_title", lang))
bill = bill_table(res, base)
st.caption(t("bill_caption", lang, tariff=k.get("bill_tariff", "-"), status=k.get("bill_status", "assumption")))
bill_heads = {"item": "col_item", "mad": "col_mad", "status": "col_status", "baseline_mad": "col_base_mad"}
st.dataframe(
    bill.rename(columns={c: t(h, lang) for c, h in bill_heads.items()}),
    hide_index=True,
    width="stretch",
    key="econ_bill_table",
    column_config={
        t(bill_heads[c], lang): st.column_config.NumberColumn(format="%.2f")
        for c in ("mad", "baseline_mad")
        if c in bill.columns
    },
)

st.subheader(t("roi_inputs", lang))
veh = sc.vehicles.extra.get("vehicle")
n_default = len(set(veh.tolist())) if veh is not None else sc.n_vehicles
d = EconomicInputs()
i1, i2, i3, i4 = st.columns(4)
n_ch = i1.number_input(t("n_chargers", lang), 0, 100_000, int(n_default), key="econ_n_chargers")
capex = i2.number_input(t("charger_capex", lang), 0.0, 1e7, d.charger_capex_mad, 1000.0, key="econ_capex")
inst = i3.number_input(t("installation", lang), 0.0, 1e7, d.installation_mad, 500.0, key="econ_install")
soft = i4.number_input(t("software_capex", lang), 0.0, 1e9, d.software_capex_mad, 10_000.0, key="econ_software")
j1, j2, j3, j4 = st.columns(4)
opex = j1.number_input(t("opex", lang), 0.0, 1e9, d.opex_mad_per_year, 1000.0, key="econ_opex")
op_days = j2.number_input(t("operating_days", lang), 1, 366, d.operating_days_per_year, key="econ_days")
life = j3.number_input(t("lifetime", lang), 1, 50, d.lifetime_years, key="econ_life")
rate = j4.number_input(t("discount", lang), 0.0, 99.0, 100 * d.discount_rate, 0.5, key="econ_rate")
inputs = EconomicInputs(
    int(n_ch), float(capex), float(inst), float(soft), float(opex), int(op_days), int(life), float(rate) / 100.0
)
r = roi(inputs, base_k["net_cost_mad"], k["net_cost_mad"], days)
st.caption(t("savings_source", lang, strategy=ctrl.strategy, days=days))
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
