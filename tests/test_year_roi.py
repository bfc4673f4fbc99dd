"""`evfleet year` (representative days, power charge billed monthly) and the ROI on the same baseline."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from evfleet._common.errors import InputError
from evfleet.analysis.economics import DieselInputs, EconomicInputs, EmsInputs, ems_roi, infrastructure_vs_diesel
from evfleet.analysis.year import YearOptions, aggregate_year, day_types, load_scenario_params, run_year
from evfleet.cli import app
from evfleet.inputs.generate import ScenarioParams

runner = CliRunner()


def test_two_day_types_with_known_weights_sum_to_the_annual_figure() -> None:
    a = {1: 100, 2: 100}  # type A: 200 days in January and February
    b = {2: 65, 3: 100}  # type B: 165 days in February and March
    rows = []
    for strategy, (ca, pa, cb, pb) in {"uncontrolled": (12.0, 90.0, 25.0, 95.0), "timer": (10.0, 50.0, 20.0, 80.0),
                                       "price_optimization": (9.0, 60.0, 19.0, 60.0)}.items():  # fmt: skip
        rows.append({"strategy": strategy, "day_type": "A", "days": 200, "energy_cost_mad": ca,
                     "peak_import_kw": pa, "days_by_month": a})  # fmt: skip
        rows.append({"strategy": strategy, "day_type": "B", "days": 165, "energy_cost_mad": cb,
                     "peak_import_kw": pb, "days_by_month": b})  # fmt: skip
    out = aggregate_year(pd.DataFrame(rows), demand_charge_mad_per_kw_month=2.0).set_index("strategy")
    # timer: energy 200*10 + 165*20 = 5,300; called power Jan 50, Feb max(50, 80) = 80, Mar 80 -> 2*(210) = 420
    t = out.loc["timer"]
    assert t["energy_cost_mad"] == pytest.approx(5300.0)
    assert [t[f"called_power_kw_m{m:02d}"] for m in (1, 2, 3, 4)] == [50.0, 80.0, 80.0, 0.0]
    assert t["power_charge_mad"] == pytest.approx(420.0)
    assert t["total_mad"] == pytest.approx(5720.0)
    # uncontrolled: 200*12 + 165*25 = 6,525 + 2*(90 + 95 + 95) = 560 -> 7,085
    # price opt: 200*9 + 165*19 = 4,935 + 2*(60 + 60 + 60) = 360 -> 5,295
    assert out.loc["uncontrolled", "total_mad"] == pytest.approx(7085.0)
    assert out.loc["price_optimization", "total_mad"] == pytest.approx(5295.0)
    assert (out["best_baseline"] == "timer").all()
    assert out.loc["price_optimization", "savings_vs_best_baseline_mad"] == pytest.approx(5720.0 - 5295.0)
    assert out.loc["price_optimization", "savings_mad"] == pytest.approx(7085.0 - 5295.0)


def test_day_types_cover_the_year_with_ramadan_from_legal_time() -> None:
    types = day_types(2026, "onee_mt_trihoraire")
    assert sum(d.days for d in types) == 365
    assert {d.key for d in types} == {"winter-weekday", "winter-weekend", "summer-weekday", "summer-weekend",
                                      "ramadan-weekday", "ramadan-weekend"}  # fmt: skip
    ram = sum(d.days for d in types if d.ramadan)
    assert ram == 35  # Africa/Casablanca is UTC+0 at noon on 35 days of 2026 (Ramadan)
    for d in types:
        assert sum(d.days_by_month.values()) == d.days
        assert pd.Timestamp(d.date).day_of_week >= 5 if d.kind == "weekend" else pd.Timestamp(d.date).day_of_week < 5


def test_run_year_is_the_weighted_sum_of_its_days() -> None:
    res = run_year(ScenarioParams(vehicles=12, seed=4), YearOptions(strategies=("price_optimization",),
                                                                   demand_charge_mad_per_kw_month=10.0))  # fmt: skip
    days = res.days
    for strategy, row in res.annual.set_index("strategy").iterrows():
        g = days[days["strategy"] == strategy]
        assert row["energy_cost_mad"] == pytest.approx(float((g["days"] * g["energy_cost_mad"]).sum()))
        assert row["max_called_power_kw"] == pytest.approx(float(g["peak_import_kw"].max()))
    assert set(days["strategy"]) == {"uncontrolled", "timer", "price_optimization"}
    assert (days.loc[days["day_type"].str.endswith("weekend"), "vehicles"] == 6).all()  # weekend share 0.5
    h = res.headline
    assert h["baseline"] in ("uncontrolled", "timer")
    json.dumps(res.to_dict(), allow_nan=False)


def test_year_cli_writes_its_files_and_refuses_an_unknown_parameter(tmp_path) -> None:
    p = tmp_path / "p.json"
    p.write_text(json.dumps({"vehicles": 8, "seed": 1}))
    out = tmp_path / "year"
    res = runner.invoke(app, ["year", str(p), "--out", str(out), "--strategies", "price_optimization"])
    assert res.exit_code == 0, res.output
    assert {f.name for f in out.iterdir()} == {"year.json", "year_days.csv", "year_annual.csv"}
    data = json.loads((out / "year.json").read_text())
    assert data["format"] == "evfleet.year/1" and len(data["day_types"]) == 6
    assert "day types: " in res.output
    p.write_text(json.dumps({"vehicles": 8, "vehicels": 3}))
    bad = runner.invoke(app, ["year", str(p), "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "unknown scenario parameter 'vehicels'" in bad.output
    assert not (tmp_path / "bad").exists()
    with pytest.raises(InputError, match="weekend_fleet_share"):
        run_year(ScenarioParams(vehicles=5), YearOptions(weekend_fleet_share=1.5))
    # a generated scenario file gives its generation parameters
    sc_file = tmp_path / "sc.json"
    assert runner.invoke(app, ["scenario", "new", "--out", str(sc_file), "--vehicles", "7"]).exit_code == 0
    assert load_scenario_params(sc_file).vehicles == 7


def test_ems_roi_is_the_ems_against_the_timer() -> None:
    inp = EmsInputs(software_capex_mad=100_000.0, metering_capex_mad=20_000.0, n_bidirectional_chargers=4,
                    bidirectional_extra_mad_per_charger=10_000.0, opex_mad_per_year=10_000.0)  # fmt: skip
    r = ems_roi(inp, annual_saving_vs_timer_mad=70_000.0)
    assert r.investment_mad == 160_000.0
    assert r.annual_savings_mad == pytest.approx(70_000.0)
    assert r.net_annual_benefit_mad == pytest.approx(60_000.0)
    assert r.simple_payback_months == pytest.approx(12 * 160_000.0 / 60_000.0)
    assert ems_roi(inp, 5_000.0).simple_payback_months is None  # saving below opex: never pays back
    with pytest.raises(InputError, match="input 'metering_capex_mad'"):
        ems_roi(EmsInputs(metering_capex_mad=-1.0), 1.0)


def test_infrastructure_against_a_diesel_fleet() -> None:
    diesel = DieselInputs(n_vehicles=10, km_per_vehicle_per_year=20_000.0, diesel_l_per_100km=10.0,
                          diesel_price_mad_per_l=12.0)  # fmt: skip
    assert diesel.fuel_cost_mad_per_year == pytest.approx(240_000.0)
    infra = EconomicInputs(n_chargers=10, charger_capex_mad=20_000.0, installation_mad=5_000.0,
                           software_capex_mad=50_000.0, opex_mad_per_year=0.0)  # fmt: skip
    r = infrastructure_vs_diesel(infra, diesel, ev_energy_cost_mad_per_year=90_000.0)
    assert r.investment_mad == 300_000.0
    assert r.net_annual_benefit_mad == pytest.approx(150_000.0)
    assert r.simple_payback_months == pytest.approx(24.0)
    with pytest.raises(InputError, match="input 'diesel_price_mad_per_l'"):
        infrastructure_vs_diesel(infra, DieselInputs(diesel_price_mad_per_l=-1.0), 0.0)
