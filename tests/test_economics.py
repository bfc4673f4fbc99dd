"""Economics: ROI / payback arithmetic, cost by tariff period from a simulation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evfleet.analysis.economics import EconomicInputs, cost_by_period_table, operating_summary, roi
from evfleet.analysis.kpis import compute_kpis
from evfleet.inputs.generate import generate_scenario
from evfleet.simulation.simulate import simulate


def test_payback_and_npv_by_hand():
    inp = EconomicInputs(
        n_chargers=10,
        charger_capex_mad=1000,
        installation_mad=500,
        software_capex_mad=5000,
        opex_mad_per_year=1000,
        operating_days_per_year=300,
        lifetime_years=5,
        discount_rate=0.0,
    )
    r = roi(inp, baseline_net_cost_mad=200.0, strategy_net_cost_mad=150.0, days=2.0)
    assert r.investment_mad == 20000
    assert r.savings_per_day_mad == 25.0
    assert r.annual_savings_mad == 7500.0
    assert r.net_annual_benefit_mad == 6500.0
    assert r.simple_payback_months == pytest.approx(12 * 20000 / 6500)
    assert r.npv_mad == pytest.approx(-20000 + 5 * 6500)
    assert r.roi_pct == pytest.approx(100 * (5 * 6500 - 20000) / 20000)
    assert list(r.cashflow["cumulative_mad"]) == [-20000, -13500, -7000, -500, 6000, 12500]
    assert "cashflow" not in r.to_dict()


def test_no_benefit_means_no_payback():
    r = roi(EconomicInputs(), 100.0, 100.0, 1.0)
    assert r.simple_payback_months is None
    assert r.npv_mad < 0


@given(st.floats(0, 1e6), st.floats(0, 1e6), st.floats(0.1, 30))
def test_payback_consistent_with_cashflow(base, strat, days):
    r = roi(EconomicInputs(discount_rate=0.0), base, strat, days)
    if r.simple_payback_months is not None:
        years = r.simple_payback_months / 12
        assert r.investment_mad - years * r.net_annual_benefit_mad == pytest.approx(0, abs=1e-6 * r.investment_mad)


@pytest.mark.parametrize(
    ("field", "value"),
    [("charger_capex_mad", -1.0), ("n_chargers", -2), ("lifetime_years", 0), ("discount_rate", 1.5)],
)
def test_bad_inputs_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        roi(EconomicInputs(**{field: value}), 1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="days"):
        roi(EconomicInputs(), 1.0, 0.0, 0.0)


def test_cost_by_period_sums_to_import_cost():
    sc = generate_scenario(vehicles=80, seed=3, start="2026-03-02")
    res = simulate(sc, "uncontrolled")
    k = compute_kpis(res)
    tab = cost_by_period_table(res, baseline=res)
    assert tab["import_cost_mad"].sum() == pytest.approx(k["import_cost_mad"])
    assert tab["import_kwh"].sum() == pytest.approx(k["import_energy_kwh"])
    assert list(tab["price_mad_per_kwh"]) == sorted(tab["price_mad_per_kwh"])
    assert (tab["baseline_import_cost_mad"] == tab["import_cost_mad"]).all()
    summ = operating_summary(k, k)
    assert summ["savings_mad"] == 0.0 and summ["savings_pct"] == 0.0
    assert operating_summary(k, None)["savings_mad"] is None
