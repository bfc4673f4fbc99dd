"""Economics page: cost by tariff period, V2G revenue and degradation, infrastructure ROI / payback from editable
inputs (the savings come from the simulation; the investment figures are the user's assumptions)."""

from __future__ import annotations

import streamlit as st

from evfleet.analysis.economics import EconomicInputs, cost_by_period_table, operating_summary, roi
from evfleet.dashboard import state
from evfleet.dashboard import views as V
from evfleet.dashboard.analysis_views import cashflow_figure, cost_by_period_figure
from evfleet.dashboard.i18n import strategy_label, t
from evfleet.dashboard.l10n import display_frame, fmt_int, fmt_number, fmt_pct, mad_scale
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
    div, unit = mad_scale(ops["v2g_net_value_mad"])
    st.metric(
        t("card_v2g_net", lang, unit=unit),
        fmt_number(ops["v2g_net_value_mad"] / div, lang),
        help=t("help_v2g_net", lang),
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

st.subheader(t("roi_inputs", lang))
veh = sc.vehicles.extra.get("vehicle")
n_default = len(set(veh.tolist())) if veh is not None else sc.n_vehicles
d = EconomicInputs()
i1, i2, i3, i4 = st.columns(4)
# whole-MAD inputs show no decimals (Streamlit's number inputs always write a decimal point)
n_ch = i1.number_input(t("n_chargers", lang), 0, 100_000, int(n_default), key="econ_n_chargers")
capex = i2.number_input(t("charger_capex", lang), 0.0, 1e7, d.charger_capex_mad, 1000.0, "%.0f", key="econ_capex")
inst = i3.number_input(t("installation", lang), 0.0, 1e7, d.installation_mad, 500.0, "%.0f", key="econ_install")
soft = i4.number_input(t("software_capex", lang), 0.0, 1e9, d.software_capex_mad, 10_000.0, "%.0f",
                       key="econ_software")  # fmt: skip
j1, j2, j3, j4 = st.columns(4)
opex = j1.number_input(t("opex", lang), 0.0, 1e9, d.opex_mad_per_year, 1000.0, "%.0f", key="econ_opex")
op_days = j2.number_input(t("operating_days", lang), 1, 366, d.operating_days_per_year, key="econ_days")
life = j3.number_input(t("lifetime", lang), 1, 50, d.lifetime_years, key="econ_life")
rate = j4.number_input(t("discount", lang), 0.0, 99.0, 100 * d.discount_rate, 0.5, key="econ_rate")
inputs = EconomicInputs(
    int(n_ch), float(capex), float(inst), float(soft), float(opex), int(op_days), int(life), float(rate) / 100.0
)
r = roi(inputs, base_k["net_cost_mad"], k["net_cost_mad"], days)
st.caption(
    t(
        "savings_source",
        lang,
        strategy=strategy_label(ctrl.strategy, lang),
        days=fmt_int(days, lang) if float(days).is_integer() else fmt_number(days, lang),
    )
)
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
state.plot(cashflow_figure(r.cashflow, lang, pay), key="econ_cashflow")
