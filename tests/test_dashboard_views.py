"""Pure dashboard views (no Streamlit): figures, KPI cards, fleet table, i18n, downsampling."""

from __future__ import annotations

import itertools
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from evfleet.analysis.kpis import compute_kpis
from evfleet.dashboard import analysis_views as A
from evfleet.dashboard import fleet_views as F
from evfleet.dashboard import live_views as LV
from evfleet.dashboard import views as V
from evfleet.dashboard.i18n import STRINGS, fmt_money, fmt_num, fmt_pct, strategy_label, t
from evfleet.dashboard.l10n import fmt_number
from evfleet.inputs.catalog import load_catalog
from evfleet.inputs.generate import generate_scenario
from evfleet.simulation.simulate import simulate
from factories import random_scenario, tiny_scenario


def test_views_do_not_import_streamlit():
    import importlib
    import subprocess

    code = (
        "import sys, evfleet.dashboard.views, evfleet.dashboard.fleet_views, evfleet.dashboard.analysis_views,"
        " evfleet.dashboard.i18n, evfleet.dashboard.live_views, evfleet.simulation.live, evfleet.analysis.economics;"
        " print('streamlit' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert importlib.util.find_spec("evfleet.dashboard.views") is not None


def test_every_string_has_both_languages_and_formats():
    for key, (en, fr) in STRINGS.items():
        assert en and fr, key
    assert t("col_model", "fr") == "Modèle" and t("col_charging", "fr") == "En charge"
    assert t("unknown_key", "fr") == "unknown_key"
    assert fmt_num(12345.678, "en", 1) == "12,345.7"
    assert fmt_num(12345.678, "fr", 1) == "12\u202f345,7"
    assert fmt_pct(12.5, "fr") == "12,5\u202f%"
    assert fmt_money(15_150_000, "en") == "15.15 M MAD"
    assert fmt_num(None) == "–" and fmt_num(float("nan")) == "–"


def test_default_strategy_prefers_price_optimisation():
    assert V.default_strategy(["uncontrolled"]) == "uncontrolled"
    assert V.default_strategy(["uncontrolled", "peak_shaving", "price_optimization"]) == "price_optimization"
    assert V.default_strategy(["uncontrolled", "my_price_rule"]) == "my_price_rule"


@pytest.mark.parametrize("n", [10, 3000, 3001, 35_040])
def test_load_curve_never_exceeds_max_points(n):
    times = pd.date_range("2026-01-01", periods=n, freq="15min", tz="Africa/Casablanca")
    rng = np.random.default_rng(0)
    series = {k: rng.random(n) for k in ("base_load_kw", "pv_kw", "ev_kw", "site_kw")}
    periods = np.where((np.arange(n) // 8) % 3 == 0, "pointe", "creuses")
    fig = V.load_curve_figure(times, series, periods, 2.0, "en")
    for tr in fig.data:
        assert tr.type in ("scatter", "bar")  # SVG, never WebGL
        if tr.x is not None:
            assert len(tr.x) <= V.MAX_POINTS
    assert fig.layout.uirevision == "evfleet"
    # mean of each bucket is kept: the energy of the curve is preserved
    site = next(tr for tr in fig.data if tr.name == "Site power (with EVs)")
    k, _ = V.downsample(n)
    if n % k == 0:
        assert np.mean(site.y) == pytest.approx(series["site_kw"].mean())


def test_period_shading_follows_the_tariff():
    sc = generate_scenario(vehicles=50, start="2026-01-05")
    res = simulate(sc)
    fig = V.load_curve_figure(sc.times, {"site_kw": res.site_kw}, sc.tou_period, sc.import_limit_kw, "fr")
    runs = V._period_runs(sc.tou_period)
    shading = [tr for tr in fig.data if tr.type == "bar"]
    assert len(shading) == len(set(sc.tou_period))
    pointe = next(tr for tr in shading if tr.name == "heures de pointe")
    assert np.array_equal(~np.isnan(np.asarray(pointe.y, dtype=float)), sc.tou_period == "pointe")
    assert {tr.name for tr in fig.data} >= {"heures de pointe", "heures creuses", "Limite de soutirage"}
    # runs cover the horizon contiguously
    assert runs[0][0] == 0 and runs[-1][1] == sc.n_steps
    assert all(a[1] == b[0] for a, b in itertools.pairwise(runs))


def test_status_thresholds():
    assert V.status_of(0.5, (0.7, 0.85, 1.0)) == "optimal"
    assert V.status_of(0.8, (0.7, 0.85, 1.0)) == "good"
    assert V.status_of(0.9, (0.7, 0.85, 1.0)) == "warning"
    assert V.status_of(1.2, (0.7, 0.85, 1.0)) == "critical"
    assert V.status_of(0.99, (0.9, 0.95, 0.98), higher_is_better=True) == "optimal"
    assert V.status_of(0.91, (0.9, 0.95, 0.98), higher_is_better=True) == "warning"
    assert V.status_of(None, (1, 2, 3)) == "na"


def test_kpi_cards_from_a_run():
    sc = generate_scenario(vehicles=60, start="2026-01-05")
    k = compute_kpis(simulate(sc))
    grid = V.grid_cards(k, None, "en")
    assert [c.key for c in grid] == ["peak_kw", "load_factor", "transformer_loading", "tdd", "pf", "unbalance"]
    assert grid[0].value == fmt_number(k["peak_import_kw"]) and grid[0].label == "Peak (kW)"
    assert all(c.status == "na" for c in grid[2:])
    econ = V.economic_cards(k, k, "en")
    assert econ[1].key == "savings" and econ[1].value == "0" and econ[1].label == "Savings (MAD)"
    assert (
        econ[1].detail.endswith(f" · {k['bill_status']}") and econ[0].detail == k["bill_status"]
    )  # the status of the bill's values next to the MAD
    fleet = V.fleet_cards({"connected": 5, "charging": 2, "discharging": 1, "idle": 2}, 0.5, 3.0, 100.0, "en")
    assert fleet[-1].status == "critical" and fleet[4].value == "50.0" and fleet[4].label == "Mean SOC (%)"


def _fake_report(T: int) -> SimpleNamespace:
    rng = np.random.default_rng(1)
    per_step = pd.DataFrame({
        "tdd_pct": rng.uniform(1, 4, T), "thd_v_pct": rng.uniform(0.5, 2, T), "pf": rng.uniform(0.93, 0.99, T),
        "q_kvar": rng.uniform(0, 10, T), "unbalance_pct": rng.uniform(0, 2.5, T),
        "transformer_loading_pct": rng.uniform(20, 90, T), "voltage_deviation_pct": rng.uniform(-3, 3, T),
        "frequency_hz": 50 + rng.normal(0, 0.02, T),
    })  # fmt: skip
    compliance = pd.DataFrame({
        "indicator": ["TDD p95 [%]", "billed cos φ", "current unbalance max [%]", "transformer loading max [%]"],
        "value": [4.0, 0.93, 2.5, 90.0], "limit": [8.0, 0.95, 3.0, 100.0],
        "status": ["good", "warning", "good", "optimal"], "clause": ["IEEE 519 Table 2", "", "", ""],
    })  # fmt: skip
    spectrum = pd.DataFrame({"h": [3, 5, 7, 11], "current_pct_of_il": [3.0, 2.0, 1.0, 0.5],
                             "limit_pct": [7.0, 7.0, 7.0, 3.5]})  # fmt: skip
    events = pd.DataFrame({"time": pd.date_range("2026-01-05", periods=3, freq="h"),
                           "indicator": ["pf", "pf", "tdd"], "value": [0.9, 0.91, 9.0],
                           "limit": [0.95, 0.95, 8.0], "state": ["warning", "warning", "critical"]})  # fmt: skip
    return SimpleNamespace(per_step=per_step, compliance=compliance, spectrum=spectrum, events=events,
                           summary={}, assumptions=["test"])  # fmt: skip


def test_power_quality_views_read_the_report_interface():
    rep = _fake_report(96)
    pq = V.pq_indicators(rep)
    # the compliance row wins where there is one; otherwise the worst per-step value
    assert pq["pf"]["value"] == 0.93 and pq["tdd"]["value"] == 4.0
    assert pq["voltage"]["value"] == pytest.approx(rep.per_step["voltage_deviation_pct"].abs().max())
    assert pq["voltage"]["limit"] is None
    assert pq["pf"]["status"] == "warning" and pq["tdd"]["limit"] == 8.0 and pq["tdd"]["clause"]
    # a passing check is graded by its distance to the limit: 90 % of the limit -> warning
    assert pq["transformer_loading"]["status"] == "warning"
    rep.compliance.loc[3, "status"] = "pass"
    rep.compliance.loc[3, "value"] = 40.0
    assert V.pq_indicators(rep)["transformer_loading"]["status"] == "optimal"
    rep.compliance.loc[1, "status"] = "fail"
    assert V.pq_indicators(rep)["pf"]["status"] == "critical"
    rep.compliance.loc[1, "status"] = "warning"
    k = {"import_limit_kw": 100.0, "peak_import_kw": 60.0, "load_factor": 0.5}
    cards = {c.key: c for c in V.grid_cards(k, pq, "en")}
    assert cards["pf"].status == "warning" and cards["pf"].color == "orange"
    radar = V.radar_figure(pq, "en")
    assert len(radar.data) == 2 and "Model estimate" in radar.layout.title.text
    comp = A.compliance_frame(rep)
    assert list(comp["level"]) == ["good", "warning", "good", "optimal"]
    assert A.LEVEL_BACKGROUNDS["critical"]
    local = A.events_frame(rep.events.assign(time=rep.events["time"].dt.tz_localize("UTC")), "Africa/Casablanca")
    assert local["time"].iloc[0] == "2026-01-05 01:00"
    spec = A.spectrum_figure(rep.spectrum, "en", "IEEE 519")
    assert "Model estimate" in spec.layout.title.text
    times = pd.date_range("2026-01-05", periods=96, freq="15min", tz="Africa/Casablanca")
    pfu = A.pf_unbalance_figure(rep.per_step, times, "en")
    assert len(pfu.data) == 2
    ev = A.filter_events(rep.events, ["pf"], None)
    assert len(ev) == 2 and len(A.filter_events(rep.events, None, ["critical"])) == 1
    assert len(A.filter_events(rep.events, [], [])) == 3


def test_fleet_table_counts_by_model_vectorised():
    cat = load_catalog()
    models = cat["model"].tolist()[:3]
    veh = [
        {"model": models[0], "arrival_step": 0, "departure_step": 4},
        {"model": models[0], "arrival_step": 2, "departure_step": 4},
        {"model": models[1], "arrival_step": 0, "departure_step": 2},
        {"model": "Unlisted EV", "arrival_step": 0, "departure_step": 4},
    ]
    sc = tiny_scenario(vehicles=veh)
    soc = np.array([0.5, 0.7, 0.9, 0.4])
    power = np.array([5.0, -2.0, 0.0, 3.0])
    conn = np.array([True, False, True, True])
    tab = F.fleet_table(sc, cat, soc, power, conn)
    assert list(tab.columns) == list(F.FLEET_COLUMNS)
    row0 = tab.set_index("model").loc[models[0]]
    assert row0["in_fleet"] == 2 and row0["connected"] == 1 and row0["charging"] == 1
    assert row0["discharging"] == 0 and row0["net_power_kw"] == 5.0 and row0["mean_soc_pct"] == 50.0
    un = tab.set_index("model").loc["Unlisted EV"]
    assert un["battery_kwh"] == 50.0 and not un["v2g_capable"] and pd.isna(un["registrations"])
    full = F.fleet_table(sc, cat, soc, power, conn, only_in_fleet=False)
    assert len(full) == len(cat) + 1
    assert set(F.fleet_table(sc, cat, soc, power, conn, query=models[1][:4].lower())["model"]) >= {models[1]}
    pie = F.v2g_pie_figure(full, "en")
    # V2G-capable green; the others grey, never the alarm red (they are the normal case, not a fault)
    assert sum(pie.data[0].values) == 4 and list(pie.data[0].marker.colors) == [F.V2G_GREEN, F.NOT_V2G_GREY]
    assert "#d62728" not in pie.data[0].marker.colors
    top = F.top_models_figure(full, "en")
    assert len(top.data[0].y) == 5
    assert list(top.data[0].x) == sorted(cat["registrations"].nlargest(5))


def test_drilldown_of_an_unmet_vehicle():
    sc = random_scenario(np.random.default_rng(4), 20, 12)
    res = simulate(sc)
    i = int(np.argmax(res.unmet_kwh))
    info = F.vehicle_info(res, i, "en")
    if res.unmet_kwh[i] > 1e-3:
        assert "kWh" in info["Unmet"] and res.unmet_reason[i]
    else:
        assert info["Unmet"] == "target met"
    fig = F.drilldown_figure(res, i, "fr")
    soc_trace = next(tr for tr in fig.data if tr.type == "scatter")
    y = np.asarray(soc_trace.y, dtype=float)
    arr, dep = int(sc.vehicles.arrival_step[i]), int(sc.vehicles.departure_step[i])
    # SOC drawn only while connected: arrival to departure, nothing before or after
    assert np.allclose(y[arr : dep + 1], 100 * res.soc[i, arr : dep + 1])
    assert np.isnan(y[:arr]).all() and np.isnan(y[dep + 1 :]).all()
    assert fig.layout.yaxis2.tickmode == "auto"  # its own round ticks, not the SOC axis's ticks scaled (0,085 kW)
    _, p, _ = F.fleet_state_at(res, 5)
    assert np.array_equal(p, res.power_kw[:, 5])


def test_analysis_figures():
    sc = generate_scenario(vehicles=50, start="2026-01-05")
    from evfleet.analysis.compare import compare
    from evfleet.analysis.economics import EconomicInputs, cost_by_period_table, roi

    comp = compare(sc, "all")
    fig = A.comparison_figure(comp.table, "en")
    assert len(fig.data) == 4
    # horizontal bars, names on the left column only: no rotated name runs into the panel below at 1280 px
    assert all(tr.orientation == "h" for tr in fig.data)
    assert list(fig.data[0].y) == [strategy_label(s, "en") for s in comp.table["strategy"]]
    assert fig.layout.yaxis2.matches == "y" or fig.layout.yaxis2.showticklabels is False
    res = comp.results["uncontrolled"]
    tab = cost_by_period_table(res, res)
    f2 = A.cost_by_period_figure(tab, "en", "uncontrolled")
    assert len(f2.data) == 2
    r = roi(EconomicInputs(), 1000.0, 500.0, 1.0)
    f3 = A.cashflow_figure(r.cashflow, "en", r.simple_payback_months)
    assert len(f3.data) == 2
    f4 = LV.fleet_counts_figure(sc.times, {"n_charging": np.arange(sc.n_steps)}, "en")
    assert len(f4.data) == 1


def test_sources_frame_lists_each_number():
    fake = {
        "fields": {
            "battery_kwh": {"value": 57.5, "unit": "kWh", "status": "sourced", "text": "ev2gym",
                            "references": [{"id": "ev2gym", "title": "EV2Gym", "url": "https://x"}]},
            "dc_taper_soc": {"value": 0.8, "unit": "-", "status": "assumption", "text": "assumed",
                             "references": []},
        }
    }  # fmt: skip
    df = F.sources_frame(fake)
    assert list(df["field"]) == ["battery_kwh", "dc_taper_soc"]
    assert df.loc[0, "url"] == "https://x" and df.loc[1, "reference"] == "assumed"
    assert df.loc[1, "status"] == "assumption"


def test_charger_use_by_type():
    sc = generate_scenario(vehicles=80, start="2026-01-05")
    res = simulate(sc)
    _, p, conn = F.fleet_state_at(res, 30)
    fig = F.charger_use_figure(sc, p, conn, "en")
    counts, power = fig.data[0], fig.data[1]
    chargers = np.asarray(sc.vehicles.extra["charger"], dtype=object)
    for name, n, kw in zip(counts.x, counts.y, power.y, strict=True):
        sel = (chargers == name) & conn
        assert n == sel.sum() and kw == pytest.approx(p[sel].sum())
    assert fig.layout.yaxis2.tickmode == "auto"  # round kW ticks (were the vehicle axis's scaled: 48, 96,1, 144,1)


def test_live_cards_from_a_snapshot():
    from evfleet.simulation.live import LiveSimulation

    sc = generate_scenario(vehicles=60, start="2026-01-05", step_minutes=60)
    live = LiveSimulation(lambda day: sc, "uncontrolled", auto=False)
    snap = live.step(8)
    cards = {c.key: c for c in LV.live_cards(snap, "fr")}
    assert cards["site_now"].value == fmt_number(snap.site_kw, "fr") and cards["site_now"].label == "Site (kW)"
    assert cards["cost_so_far"].value == fmt_number(snap.totals["cost_mad"], "fr")
    assert cards["cost_so_far"].label == "Coût cumulé (MAD)"
    assert cards["unmet"].status in ("optimal", "warning")
