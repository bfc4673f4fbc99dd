"""The bill (evfleet.analysis.bill, bill.json, `evfleet bill`) and the tariff format evfleet.tariff/2.

The independent bill below is written from the formulas of docs/tariffs.md, reading only site.csv and the
scenario's `tariff` object; it must equal bill.json to the centime on random runs.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from evfleet.analysis.bill import BillParams, bill_from_series, bill_params, run_bill
from evfleet.analysis.kpis import compute_kpis
from evfleet.cli import app
from evfleet.inputs.generate import generate_scenario
from evfleet.inputs.tariffs import BILLING_KEYS, TariffError, load_tariff, tariff_from_dict
from evfleet.results.run_files import write_run_outputs
from evfleet.scenario import scenario_from_dict
from evfleet.simulation.simulate import simulate
from factories import scenario_dict


def independent_bill(site: pd.DataFrame, tariff: dict, dt_h: float, import_limit_kw: float) -> dict:
    """The bill from site.csv columns and the tariff terms, straight from docs/tariffs.md."""
    p = site["site_kw"].to_numpy(float)
    q = site["q_kvar"].to_numpy(float)
    price = site["price_import_mad_per_kwh"].to_numpy(float)
    days = len(p) * dt_h / 24
    share = days / (365 / 12)
    f = 1 + tariff["vat_pct"] / 100 if tariff["prices_include_vat"] else 1.0
    pf_year = tariff["power_charge_mad_per_kva_year"] / f
    ps = tariff["subscribed_power_kva"] if tariff["subscribed_power_kva"] is not None else import_limit_kw
    energy = sum(price[t] * p[t] * dt_h for t in range(len(p)) if p[t] > 0)
    if tariff["demand_measure"] == "kva":
        pa = max([math.sqrt(p[t] ** 2 + q[t] ** 2) for t in range(len(p)) if p[t] > 0], default=0.0)
    else:
        pa = max([p[t] for t in range(len(p)) if p[t] > 0], default=0.0)
    power = pf_year / 12 * ps * share
    overrun = tariff["overrun_factor"] * pf_year / 12 * max(pa - ps, 0) * share
    kwh = sum(p[t] * dt_h for t in range(len(p)) if p[t] > 0)
    kvarh = sum(max(q[t], 0) * dt_h for t in range(len(p)) if p[t] > 0)
    cos_phi = kwh / math.sqrt(kwh**2 + kvarh**2) if kwh > 0 else None
    penalty = 0.0
    if cos_phi is not None and cos_phi < tariff["cos_phi_threshold"]:
        n = math.ceil(round((tariff["cos_phi_threshold"] - cos_phi) * 100, 9))
        penalty = tariff["cos_phi_penalty_pct_per_hundredth"] / 100 * n * (energy + power + overrun)
    fees = tariff["fixed_fees_mad_per_month"] / f * share
    total = energy + power + overrun + penalty + fees
    vat = tariff["vat_pct"] / 100 * total
    return {
        "energy_mad": energy, "power_charge_mad": power, "overrun_mad": overrun, "cos_phi_penalty_mad": penalty,
        "fixed_fees_mad": fees, "total_excl_vat_mad": total, "vat_mad": vat, "total_incl_vat_mad": total + vat,
        "called_power_kva": pa, "days": days,
    }  # fmt: skip


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    vehicles=st.integers(3, 40),
    seed=st.integers(0, 10_000),
    strategy=st.sampled_from(["uncontrolled", "price_optimization"]),
    sub_share=st.floats(0.3, 1.2),
    measure=st.sampled_from(["kva", "kw"]),
    threshold=st.floats(0.0, 1.0),
    vat_incl=st.booleans(),
    fees=st.floats(0, 5000),
)
def test_bill_json_equals_an_independent_bill_from_site_csv(
    tmp_path_factory, vehicles, seed, strategy, sub_share, measure, threshold, vat_incl, fees
) -> None:
    sc = generate_scenario(vehicles=vehicles, seed=seed, start="2026-01-05")
    data = sc.to_dict()
    t = data["tariff"]
    t.update(subscribed_power_kva=max(sub_share * sc.import_limit_kw, 1.0), demand_measure=measure,
             cos_phi_threshold=threshold, prices_include_vat=vat_incl, fixed_fees_mad_per_month=fees)  # fmt: skip
    sc = scenario_from_dict(data)
    result = simulate(sc, strategy)
    out = tmp_path_factory.mktemp("run")
    write_run_outputs(result, out)
    bill = json.loads((out / "bill.json").read_text())
    site = pd.read_csv(out / "site.csv")
    scenario_tariff = json.loads((out / "scenario.json").read_text())["tariff"]
    ref = independent_bill(site, scenario_tariff, sc.dt_h, sc.import_limit_kw)
    for key, value in ref.items():
        assert bill[key] == pytest.approx(value, abs=0.005), key
    kpis = json.loads((out / "kpis.json").read_text())
    assert kpis["bill_total_excl_vat_mad"] == pytest.approx(bill["total_excl_vat_mad"], abs=1e-6)
    expected_net = bill["total_excl_vat_mad"] - kpis["export_revenue_mad"] + kpis["degradation_cost_mad"]
    assert kpis["net_cost_mad"] == pytest.approx(expected_net, abs=1e-6)


# --- hand-checked items (2 steps of 12 h: D = 1 day, a month share of 12/365) -----------------------------------


def _params(**values) -> BillParams:
    base = {
        "subscribed_power_kva": 100.0, "power_charge_mad_per_kva_year": 365.0, "overrun_factor": 1.5,
        "demand_measure": "kva", "cos_phi_threshold": 0.8, "cos_phi_penalty_pct_per_hundredth": 2.0,
        "fixed_fees_mad_per_month": 0.0, "vat_pct": 20.0, "prices_include_vat": False, "time_posts": "local",
        "distributor": "ONEE",
    }  # fmt: skip
    base.update(values)
    return BillParams("t", "t", "assumption", base, {})


def _bill(p, q, params, price=(1.0, 2.0)):
    return bill_from_series(np.array(p, float), np.array(q, float), np.array(price), np.zeros(2), 12.0, params)


def test_energy_item_by_hand() -> None:
    # 10 kW x 12 h x 1 + 20 kW x 12 h x 2 = 120 + 480; an exporting step costs nothing
    assert _bill([10, 20], [0, 0], _params()).energy_mad == pytest.approx(600.0)
    assert _bill([10, -20], [0, 0], _params()).energy_mad == pytest.approx(120.0)


def test_power_charge_by_hand() -> None:
    # 365 MAD/kVA/year / 12 x 100 kVA x 1 day / (365/12 days) = 100 MAD
    assert _bill([10, 20], [0, 0], _params()).power_charge_mad == pytest.approx(100.0)
    # VAT-inclusive rate: divided by 1.2 first
    assert _bill([10, 20], [0, 0], _params(prices_include_vat=True)).power_charge_mad == pytest.approx(100 / 1.2)


def test_overrun_by_hand_kva_and_kw() -> None:
    # PA = |120 + j 50| = 130 kVA: 1.5 x 365/12 x 30 kVA x 12/365 = 45 MAD
    b = _bill([120, 20], [50, 0], _params())
    assert b.called_power_kva == pytest.approx(130.0)
    assert b.overrun_mad == pytest.approx(45.0)
    b = _bill([120, 20], [50, 0], _params(demand_measure="kw"))  # kW: PA = 120, 20 kW over: 30 MAD
    assert b.called_power_kva == pytest.approx(120.0)
    assert b.overrun_mad == pytest.approx(30.0)
    assert _bill([90, 20], [10, 0], _params()).overrun_mad == 0.0


def test_cos_phi_penalty_by_hand() -> None:
    # kWh = 1200, kvarh = 900: cos phi = 0.8 exactly: no penalty
    b = _bill([50, 50], [37.5, 37.5], _params(), price=(1.0, 1.0))
    assert b.cos_phi == pytest.approx(0.8)
    assert b.cos_phi_penalty_mad == 0.0
    # kvarh = 1200 (Q = 50): cos phi = 0.7071: ceil(9.29) = 10 hundredths x 2 % = 20 % of energy + power + overrun
    b = _bill([50, 50], [50, 50], _params(), price=(1.0, 1.0))
    assert b.cos_phi == pytest.approx(1 / math.sqrt(2))
    assert b.cos_phi_penalty_mad == pytest.approx(0.20 * (1200.0 + 100.0 + 0.0))
    # 0.80 - 0.79 is one hundredth, not two (floating point rounding)
    q = 50 * math.tan(math.acos(0.79))
    b = _bill([50, 50], [q, q], _params(), price=(1.0, 1.0))
    assert b.cos_phi_penalty_mad == pytest.approx(0.02 * 1300.0)
    # capacitive kvar and export steps do not count
    b = _bill([50, -50], [-50, 80], _params(), price=(1.0, 1.0))
    assert b.cos_phi == 1.0 and b.cos_phi_penalty_mad == 0.0


def test_fees_vat_and_totals_by_hand() -> None:
    b = _bill([10, 20], [0, 0], _params(fixed_fees_mad_per_month=365.0 / 12 * 3))  # 3 MAD per day
    assert b.fixed_fees_mad == pytest.approx(3.0)
    assert b.total_excl_vat_mad == pytest.approx(600 + 100 + 3)
    assert b.vat_mad == pytest.approx(0.2 * 703)
    assert b.total_incl_vat_mad == pytest.approx(1.2 * 703)


def test_scenario_without_billing_terms_is_billed_for_energy_only() -> None:
    sc = scenario_from_dict({**scenario_dict(), "tariff": "onee_mt_trihoraire"})
    r = simulate(sc, "uncontrolled")
    k = compute_kpis(r)
    assert k["bill_power_charge_mad"] == 0.0 and k["bill_vat_mad"] == 0.0
    assert k["net_cost_mad"] == pytest.approx(
        k["import_cost_mad"] - k["export_revenue_mad"] + k["degradation_cost_mad"]
    )
    assert bill_params(sc).tariff_status == "assumption"


def test_generated_scenario_carries_the_billing_terms_with_the_v2_names() -> None:
    sc = generate_scenario(vehicles=10, seed=1, start="2026-01-05")
    t = sc.extra["tariff"]
    assert t["id"] == "onee_mt_general"
    for key in BILLING_KEYS:
        assert key in t
    assert t["cos_phi_threshold"] == 0.8 and t["power_charge_mad_per_kva_year"] == 512.62
    assert t["subscribed_power_kva"] == sc.import_limit_kw
    assert sc.export_limit_kw == 0.0  # Law 82-21: no export by default
    assert t["value_status"]["power_charge_mad_per_kva_year"] == "secondary"
    # prices before VAT in the series: 0.7398 / 1.18
    assert min(sc.price_import_mad_per_kwh) == pytest.approx(0.7398 / 1.18)
    sc2 = generate_scenario(vehicles=10, seed=1, start="2026-01-05", subscribed_power_kva=123.0)
    assert sc2.extra["tariff"]["subscribed_power_kva"] == 123.0


def test_bill_cli_prints_every_item_with_its_status(tmp_path: Path) -> None:
    sc = generate_scenario(vehicles=8, seed=3, start="2026-01-05")
    write_run_outputs(simulate(sc, "uncontrolled"), tmp_path / "run")
    res = CliRunner().invoke(app, ["bill", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    for item in ("energy_mad", "power_charge_mad", "overrun_mad", "cos_phi_penalty_mad", "fixed_fees_mad",
                 "total_excl_vat_mad", "vat_mad", "total_incl_vat_mad"):  # fmt: skip
        line = next(x for x in res.output.splitlines() if x.startswith(item))
        assert line.split()[-1] in ("sourced", "secondary", "inference", "assumption")
    js = CliRunner().invoke(app, ["bill", str(tmp_path / "run"), "--format", "json"])
    assert json.loads(js.output)["tariff"] == "onee_mt_general"
    (tmp_path / "run" / "bill.json").unlink()  # an older run directory: billed from its files
    again = CliRunner().invoke(app, ["bill", str(tmp_path / "run"), "--format", "json"])
    assert json.loads(again.output)["total_excl_vat_mad"] == pytest.approx(json.loads(js.output)["total_excl_vat_mad"])
    bad = CliRunner().invoke(app, ["bill", str(tmp_path / "nope")])
    assert bad.exit_code == 2 and "error:" in bad.output


def test_run_bill_uses_the_grid_quality_q() -> None:
    from evfleet.gridquality.assess import assess

    sc = generate_scenario(vehicles=12, seed=5, start="2026-01-05")
    r = simulate(sc, "uncontrolled")
    q = assess(r).per_step["q_kvar"].to_numpy()
    b = run_bill(r)
    assert b.inductive_kvarh == pytest.approx(float(np.where(r.site_kw > 0, np.maximum(q, 0), 0).sum() * sc.dt_h))


# --- bad tariff data is refused naming the field and value ------------------------------------------------------


def _v2() -> dict:
    return copy.deepcopy(load_tariff("onee_mt_general").raw)


@pytest.mark.parametrize(
    ("change", "field", "value"),
    [
        (lambda d: d["periods"]["pointe"].update(price_mad_per_kwh=-1.0), "periods.pointe.price_mad_per_kwh", "-1.0"),
        (lambda d: d.update(cos_phi_threshold=1.2), "cos_phi_threshold", "1.2"),
        (lambda d: d.update(cos_phi_threshold=-0.1), "cos_phi_threshold", "-0.1"),
        (lambda d: d.update(distributor="Acme"), "distributor", "'Acme'"),
        (lambda d: d.update(time_posts="utc+1"), "time_posts", "'utc+1'"),
        (lambda d: d.update(demand_measure="kwh"), "demand_measure", "'kwh'"),
        (lambda d: d["periods"].pop("pointe"), "seasons.winter.hours", "'pointe'"),
        (lambda d: d.update(default_period="nuit"), "default_period", "'nuit'"),
        (lambda d: d.update(prices_include_vat=1), "prices_include_vat", "1"),
        (lambda d: d.update(power_charge_mad_per_kva_year=True), "power_charge_mad_per_kva_year", "True"),
        (lambda d: d.update(vat_pct=118), "vat_pct", "118"),
        (lambda d: d.update(subscribed_power_kva=0), "subscribed_power_kva", "0"),
        (lambda d: d["value_status"].update(vat_pct="official"), "value_status.vat_pct", "'official'"),
        (lambda d: d["seasons"]["summer"]["months"].append(1), "seasons.summer.months", "1"),
    ],
)
def test_bad_tariff_data_is_refused_naming_field_and_value(change, field, value) -> None:
    d = _v2()
    change(d)
    with pytest.raises(TariffError) as exc:
        tariff_from_dict(d, "t.json")
    assert f"field {field!r}" in str(exc.value) and f"(value {value}" in str(exc.value)


def test_v1_files_read_unchanged_and_v2_keys_need_v2() -> None:
    t = load_tariff("onee_bt_bihoraire")
    assert t.format == "evfleet.tariff/1" and t.vat_factor == 1.0
    d = copy.deepcopy(t.raw)
    d["vat_pct"] = 18
    with pytest.raises(TariffError, match=r"field 'vat_pct' needs format 'evfleet\.tariff/2'"):
        tariff_from_dict(d)


def test_gmt_time_posts_move_with_ramadan_legal_time() -> None:
    d = _v2()
    d["time_posts"] = "gmt"
    t = tariff_from_dict(d)
    # 2026-01-05 17:30 local = 16:30 GMT: not yet pointe (17-22 h GMT); 18:30 local is
    times = pd.DatetimeIndex(pd.to_datetime(["2026-01-05 17:30", "2026-01-05 18:30"]).tz_localize("Africa/Casablanca"))
    assert list(t.periods_at(times)) == ["pleines", "pointe"]
    # during Ramadan 2026 (Morocco at GMT+0) 17:30 local is 17:30 GMT: pointe
    ram = pd.DatetimeIndex(pd.to_datetime(["2026-03-01 17:30"]).tz_localize("Africa/Casablanca"))
    assert ram[0].utcoffset() == pd.Timedelta(0)
    assert list(t.periods_at(ram)) == ["pointe"]
