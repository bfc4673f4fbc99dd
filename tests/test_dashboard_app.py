"""AppTest wiring of every dashboard page: widgets change results, tables match the simulation, FR/EN headers."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard_helpers import APP, HalfPower, fresh_dashboard  # noqa: F401  (autouse fixture)
from evfleet.analysis.kpis import compute_kpis
from evfleet.dashboard import state
from evfleet.dashboard.i18n import strategy_label
from evfleet.dashboard.l10n import fmt_number
from evfleet.inputs.generate import ScenarioParams, generate_scenario
from evfleet.simulation.simulate import simulate
from evfleet.strategies import REGISTRY, ChargingProblem, Strategy, StrategyError

N = 100


@pytest.fixture
def two_strategies(monkeypatch):
    monkeypatch.setitem(REGISTRY, HalfPower.name, HalfPower)


def _app(n: int = N) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, [e.message for e in at.exception]
    at.slider(key="n_vehicles").set_value(n).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _expected(at: AppTest, strategy: str | None = None):
    """The scenario and run the app should show, computed here independently (default: the sidebar's strategy)."""
    params = {**at.session_state["scenario_params"], "vehicles": at.slider(key="n_vehicles").value}
    sc = generate_scenario(ScenarioParams(**params))
    return sc, simulate(sc, strategy or at.selectbox(key="strategy").value)


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_overview_kpis_match_the_simulation_and_follow_the_fleet_size():
    at = _app()
    _, res = _expected(at)
    k = compute_kpis(res)
    assert _metric(at, "Peak (kW)") == fmt_number(k["peak_import_kw"])
    assert _metric(at, "Net cost (MAD)") == fmt_number(k["net_cost_mad"])
    assert len(at.get("plotly_chart")) >= 2
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = [tr.get("name") for tr in spec["data"]]
    assert "Site power (with EVs)" in names and "Import limit" in names
    assert {"peak (pointe)", "off-peak (creuses)"} <= set(names)  # tariff periods shaded
    before = _metric(at, "Peak (kW)")
    at.slider(key="n_vehicles").set_value(300).run()
    assert _metric(at, "Peak (kW)") != before


def test_strategy_choice_changes_the_kpis(two_strategies):
    at = _app()
    assert HalfPower.name in at.selectbox(key="strategy").options
    at.selectbox(key="strategy").select("uncontrolled").run()
    base_peak = _metric(at, "Peak (kW)")
    at.selectbox(key="strategy").select(HalfPower.name).run()
    assert not at.exception
    _, res = _expected(at, HalfPower.name)
    assert _metric(at, "Peak (kW)") == fmt_number(compute_kpis(res)["peak_import_kw"])
    assert _metric(at, "Peak (kW)") != base_peak


def test_fleet_table_matches_the_simulation():
    at = _app()
    at.switch_page("screens/fleet.py").run()
    assert not at.exception, [e.message for e in at.exception]
    sc, res = _expected(at)
    step = 30
    at.select_slider(key="fleet_step").set_value(step).run()
    table = at.dataframe[0].value
    v = sc.vehicles
    conn = (v.arrival_step <= step) & (step < v.departure_step)
    assert table["In fleet"].sum() == len(np.unique(v.extra["vehicle"]))
    assert table["Connected"].sum() == conn.sum()
    assert table["Charging"].sum() == (conn & (res.power_kw[:, step] > 1e-6)).sum()
    row = table.iloc[0]
    sel = (v.model == row["Model"]) & conn
    if sel.any():
        assert row["Mean SOC (%)"] == pytest.approx(100 * res.soc[sel, step].mean())
    assert row["Net power (kW)"] == pytest.approx(res.power_kw[sel, step].sum())
    # search box
    at.text_input(key="fleet_search").input("renault").run()
    models = at.dataframe[0].value["Model"]
    assert len(models) and models.str.contains("Renault").all()
    # drill-down lists the vehicle's facts and, with the sourced catalogue, where the model's numbers come from
    assert any("Departure" in m.value for m in at.markdown)
    if state.catalog_details() is not None:
        src = next(d.value for d in at.dataframe if "Figure" in d.value.columns)
        assert "battery_kwh" in set(src["Figure"])


def test_language_switch_changes_headers_and_labels():
    at = _app()
    at.switch_page("screens/fleet.py").run()
    assert "Model" in at.dataframe[0].value.columns
    at.button_group(key="lang").set_value("fr").run()
    assert not at.exception
    cols = list(at.dataframe[0].value.columns)
    for head in ("Modèle", "Popularité (poids)", "En charge", "En décharge", "SOC moyen (%)", "Capacité V2G"):
        assert head in cols
    battery = at.dataframe[0].value["Batterie (kWh)"]
    assert battery.str.fullmatch(r"[\d\u202f]+,\d").all()  # locale text: decimal comma
    at.switch_page("screens/overview.py").run()
    labels = [m.label for m in at.metric]
    assert "Pointe (kW)" in labels and "En charge" in labels
    assert any("\u202f" in m.value for m in at.metric)  # French thousands separator


def _cmp_tables(at: AppTest) -> list[pd.DataFrame]:
    """The comparison tables on the page (the recommendation table above them has no "Savings (MAD)" column)."""
    return [d.value for d in at.dataframe if "Savings (MAD)" in d.value.columns]


def test_strategies_page_runs_the_comparison(two_strategies):
    at = _app()
    at.switch_page("screens/strategies.py").run()
    assert not _cmp_tables(at)  # nothing runs before the click
    assert at.multiselect(key="cmp_strategies").value == list(
        dict.fromkeys(["uncontrolled", at.selectbox(key="strategy").value])
    )
    at.multiselect(key="cmp_strategies").set_value(["uncontrolled", HalfPower.name]).run()
    at.button(key="cmp_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    table = _cmp_tables(at)[0].set_index("Strategy")
    base = strategy_label("uncontrolled", "en")  # translated labels; a strategy without one keeps its identifier
    assert set(table.index) == {base, strategy_label("timer", "en"), HalfPower.name}  # both baselines always run
    assert base == "Uncontrolled charging"
    assert table.loc[base, "Savings (MAD)"] == 0
    _, res = _expected(at, HalfPower.name)
    assert table.loc[HalfPower.name, "Net cost (MAD)"] == pytest.approx(compute_kpis(res)["net_cost_mad"])
    assert len(at.get("plotly_chart")) == 2  # bars + overlay
    at.toggle(key="cmp_both").set_value(True).run()
    assert not _cmp_tables(at)  # a new request needs a new click
    at.button(key="cmp_run").click().run()
    assert set(_cmp_tables(at)[0]["Mode"]) == {"offline", "online"}


def test_comparison_shows_the_value_of_v2g_as_the_cli_computes_it():
    """The V2G value column: cost without V2G minus cost with it, as ``analysis.compare.compare`` (was "–")."""
    from evfleet.analysis.compare import compare
    from evfleet.simulation.simulate import SimulationOptions

    at = _app()
    at.switch_page("screens/strategies.py").run()
    at.multiselect(key="cmp_strategies").set_value(["uncontrolled", "price_optimization"]).run()
    at.button(key="cmp_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    table = _cmp_tables(at)[0].set_index("Strategy")
    sc, _ = _expected(at)
    assert (sc.vehicles.max_discharge_kw > 0).any()  # the case where the value needs a run without V2G
    ref = compare(sc, ["price_optimization"], SimulationOptions(v2g=True)).kpis
    shown = table.loc[strategy_label("price_optimization", "en"), "V2G value (MAD)"]
    assert float(shown) == pytest.approx(ref["price_optimization"]["v2g_value_mad"], abs=0.06)  # shown to 0.1
    assert float(table.loc[strategy_label("uncontrolled", "en"), "V2G value (MAD)"]) == 0.0  # never discharges


def test_overview_draws_before_the_run_without_v2g_and_then_fills_in_the_v2g_value(monkeypatch):
    """The V2G value card needs a second run (without V2G): the page is drawn without waiting for it ("…" and a
    line saying it is being computed), and the value is the one computed independently once it is there."""
    import threading
    import time

    from evfleet.analysis.cost import run_cost_mad
    from evfleet.dashboard.i18n import t
    from evfleet.dashboard.views import mad_scale
    from evfleet.simulation.simulate import SimulationOptions

    gate = threading.Event()
    real = state._run_now

    def run_now(key, strategy, mode, v2g, scenario):
        if not v2g:
            assert gate.wait(60), "the test never released the run without V2G"
        return real(key, strategy, mode, v2g, scenario)

    monkeypatch.setattr(state, "_run_now", run_now)
    at = _app()
    assert not at.exception, [e.message for e in at.exception]
    card = next(m for m in at.metric if m.label.startswith("V2G value"))
    assert card.value == "…"
    assert t("v2g_value_pending", "en") in str(card.proto.delta)
    sc, res = _expected(at)
    assert _metric(at, "Net cost (MAD)") == fmt_number(compute_kpis(res)["net_cost_mad"])  # the rest is drawn
    assert len(at.get("plotly_chart")) >= 2
    gate.set()
    deadline = time.monotonic() + 60
    strategy = at.selectbox(key="strategy").value
    while time.monotonic() < deadline:
        at.run()
        card = next(m for m in at.metric if m.label.startswith("V2G value"))
        if card.value != "…":
            break
    assert not at.exception, [e.message for e in at.exception]
    with_v2g = compute_kpis(res)
    without = compute_kpis(simulate(sc, strategy, SimulationOptions(mode="offline", v2g=False)))
    value = run_cost_mad(without) - run_cost_mad(with_v2g)
    div, _ = mad_scale(value)
    assert card.value == fmt_number(value / div)
    assert t("v2g_value_pending", "en") not in str(card.proto.delta)


def test_grid_quality_page_with_the_module():
    at = _app()
    at.switch_page("screens/grid_quality.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert len(at.dataframe) >= 2 and len(at.get("plotly_chart")) == 2


def test_economics_inputs_change_the_roi():
    at = _app()
    at.selectbox(key="strategy").select("uncontrolled").run()
    at.switch_page("screens/economics.py").run()
    assert not at.exception, [e.message for e in at.exception]
    # the EMS itself against the timer: software + metering + bidirectional surcharge
    at.number_input(key="econ_software").set_value(40000.0).run()
    at.number_input(key="econ_metering").set_value(10000.0).run()
    assert _metric(at, "Investment (MAD)") == "50,000"
    at.number_input(key="econ_n_bidi").set_value(2).run()
    at.number_input(key="econ_bidi_extra").set_value(25000.0).run()
    assert _metric(at, "Investment (k MAD)") == "100"
    # uncontrolled costs more than the timer: no saving against the timer, no payback, honestly
    assert _metric(at, "Payback (months)") == "∞"
    table = at.dataframe[0].value
    _, res = _expected(at)
    assert table["Cost (MAD)"].sum() == pytest.approx(compute_kpis(res)["import_cost_mad"])


def test_scenario_page_apply_upload_and_downloads(tmp_path):
    at = _app()
    at.switch_page("screens/scenario.py").run()
    assert not at.exception, [e.message for e in at.exception]
    at.number_input(key="sc_n").set_value(150)
    at.number_input(key="sc_seed").set_value(7)
    at.button(key="FormSubmitter:scenario_form-Apply").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.slider(key="n_vehicles").value == 150
    assert at.session_state["scenario_params"]["seed"] == 7
    # downloads carry the current scenario and results
    dls = {d.key: d for d in at.get("download_button")}
    assert set(dls) >= {"dl_sc", "dl_site", "dl_veh", "dl_kpis", "dl_report"}
    # upload a scenario file: it becomes the scenario in use
    sc = generate_scenario(vehicles=60, seed=3, start="2026-06-01")
    at.file_uploader(key="up_scenario").set_value(("s.json", sc.to_json().encode(), "application/json")).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.session_state["uploaded_scenario"].content_hash == sc.content_hash
    assert any(sc.name in c.value for c in at.caption)
    # a fleet CSV sets the composition
    at.button(key="up_back").click().run()
    csv = b"model,count\nTesla Model 3,40\nNissan Leaf,20\n"
    at.file_uploader(key="up_fleet").set_value(("fleet.csv", csv, "text/csv")).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.slider(key="n_vehicles").value == 60
    assert at.session_state["scenario_params"]["composition"] == {"Tesla Model 3": 40, "Nissan Leaf": 20}


def test_bad_fleet_csv_names_the_problem():
    with pytest.raises(ValueError, match="count"):
        state.composition_from_csv(b"model,number\nA,1\n")
    with pytest.raises(ValueError, match="line 3"):
        state.composition_from_csv(b"model,count\nTesla Model 3,60\nX,abc\n")
    with pytest.raises(ValueError, match="sum to 5"):
        state.composition_from_csv(b"model,count\nTesla Model 3,5\n")


def _live_steps(at: AppTest) -> int:
    text = next(i.value for i in at.info if "Simulated clock" in i.value)
    return int(re.search(r"(\d+) steps", text).group(1))


def test_live_mode_shows_the_runner_and_steps_on_demand():
    at = _app()
    at.toggle(key="live_on").set_value(True).run()
    assert not at.exception, [e.message for e in at.exception]
    start = _live_steps(at)  # the clock starts at the current time of day
    at.button(key="live_step").click().run()
    at.button(key="live_step").click().run()
    assert _live_steps(at) == start + 2
    labels = [m.label for m in at.metric]
    assert "Site now (kW)" in labels and "Cost so far (MAD)" in labels
    at.button(key="live_pause").click().run()
    assert any("paused" in i.value for i in at.info)
    at.button(key="live_reset").click().run()
    assert _live_steps(at) == start
    at.switch_page("screens/fleet.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.dataframe[0].value["In fleet"].sum() > 0


def test_live_clock_starts_at_the_time_of_day():
    sc = generate_scenario(vehicles=50, start="2026-01-05")  # 12:00 -> 12:00 next day, 15-min steps
    assert state.live_start_step(sc, pd.Timestamp("2026-03-01 12:07", tz=sc.timezone)) == 0
    assert state.live_start_step(sc, pd.Timestamp("2026-03-01 01:20", tz=sc.timezone)) == 53
    assert state.live_start_step(sc, pd.Timestamp("2026-03-01 11:59", tz=sc.timezone)) == 95


class Failing(Strategy):
    """Test-only strategy whose solver always fails."""

    name = "failing_test"

    def schedule(self, problem: ChargingProblem) -> np.ndarray:
        raise StrategyError("solver status 'infeasible' on scenario test")


def test_a_failing_strategy_is_reported_not_crashed(monkeypatch):
    monkeypatch.setitem(REGISTRY, Failing.name, Failing)
    at = _app()
    at.selectbox(key="strategy").select(Failing.name).run()
    assert not at.exception
    assert any("infeasible" in e.value for e in at.error)
    assert not at.metric  # no number shown for a failed run


def test_live_mode_stores_its_history_in_chunks(tmp_path, monkeypatch):
    from evfleet.store.runs import open_store

    # the live clock starts at the current time of day: pin it mid-day, so that the four steps below never cross
    # the end of the scenario day (which starts a new session) whatever the hour the test runs at
    monkeypatch.setattr(state, "live_start_step", lambda sc, now=None: 40)
    monkeypatch.setenv("EVFLEET_DB", str(tmp_path / "live.db"))
    monkeypatch.setenv("EVFLEET_LIVE_STORE", "1")
    at = _app(60)
    at.toggle(key="live_on").set_value(True).run()
    assert not at.exception, [e.message for e in at.exception]
    start = _live_steps(at)
    for _ in range(4):  # one simulated hour at 15-min steps: at least one full chunk since the start
        at.button(key="live_step").click().run()
    assert not at.exception, [e.message for e in at.exception]
    caption = next(c.value for c in at.caption if "live session" in c.value)
    session = re.search(r"live session (l\w+)", caption).group(1)
    with open_store() as st_:
        hist = st_.live_history(session)
    assert len(hist) >= 4 and len(hist) % 4 == 0 and hist["step"].max() < start + 4
    assert (np.diff(hist["step"]) == 1).all()


def test_live_mode_without_store_stores_nothing(tmp_path, monkeypatch):
    from evfleet.store.runs import open_store

    monkeypatch.setenv("EVFLEET_DB", str(tmp_path / "none.db"))
    monkeypatch.setenv("EVFLEET_LIVE_STORE", "0")
    at = _app(60)
    at.toggle(key="live_on").set_value(True).run()
    for _ in range(4):
        at.button(key="live_step").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not any("live session" in c.value for c in at.caption)
    with open_store() as st_:
        assert st_.stats["groups"] == 0


def test_scenario_page_offers_the_html_report_of_the_current_run(tmp_path, monkeypatch):
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    from evfleet.store.runs import open_store

    files: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        files[str(filename)] = path_or_data
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    monkeypatch.setenv("EVFLEET_DB", str(tmp_path / "user.db"))
    at = _app(60)
    at.selectbox(key="strategy").select("uncontrolled").run()
    at.switch_page("screens/scenario.py").run()
    assert not at.exception, [e.message for e in at.exception]
    btn = next(d for d in at.get("download_button") if d.key == "dl_report")
    assert btn.proto.label == "HTML report of this run"
    name = next(f for f in files if f.endswith("_uncontrolled_report.html"))
    report = files[name].decode("utf-8")
    assert report.lstrip().lower().startswith("<!doctype html") and "<script" not in report
    _, res = _expected(at)
    assert f"{compute_kpis(res)['net_cost_mad']:,.2f}" in report  # the figures of the run on screen
    with open_store() as st_:
        assert st_.stats["runs"] == 0  # offering the download stores nothing in the user's store


def test_strategies_page_shows_a_stored_sweep(tmp_path, monkeypatch):
    import base64

    import plotly.io

    from evfleet.batch.spec import parse_spec
    from evfleet.batch.sweep import run_sweep
    from evfleet.store.sweeps import store_sweep

    monkeypatch.setenv("EVFLEET_DB", str(tmp_path / "sweeps.db"))
    at = _app(60)
    at.switch_page("screens/strategies.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("evfleet sweep spec.yaml --out DIR" in i.value for i in at.info)
    assert not any(c.key == "sweep_box" for c in at.get("plotly_chart"))
    # a tiny sweep run serially (like `--workers 0`) and stored as `evfleet sweep` does
    other = next((s for s in ("peak_shaving", "load_balancing") if s in REGISTRY), "uncontrolled")
    spec = {"base": {"vehicles": 10, "days": 1, "start": "2026-06-01"},
            "grid": {"strategy": list(dict.fromkeys(["uncontrolled", other])), "seed": [1, 2]}}  # fmt: skip
    outcome = run_sweep(parse_spec(spec), tmp_path / "out", progress=False)
    gid = store_sweep(outcome.table, spec, tmp_path / "out", outcome.n_points, name="tiny")
    st.cache_data.clear()
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert gid in at.selectbox(key="sweep_id").value
    chart = next(c for c in at.get("plotly_chart") if c.proto.id and "sweep_box" in c.proto.id)
    fig = plotly.io.from_json(chart.proto.spec)
    boxes = [tr for tr in fig.data if tr.type == "box"]
    assert boxes and sorted(set(boxes[0].x)) == sorted({strategy_label(s) for s in outcome.table["strategy"]})
    y = boxes[0].y  # Plotly's JSON keeps numeric arrays as base64 ("bdata") with their dtype
    ys = np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]) if isinstance(y, dict) else np.asarray(y)
    # the headline metric comes first: savings against the cheaper of uncontrolled and timer at each point
    assert at.radio(key="sweep_metric").value == "savings_vs_best_baseline_pct"
    best = outcome.table["savings_vs_best_baseline_pct"].to_numpy(dtype=float)
    np.testing.assert_allclose(np.sort(ys), np.sort(best))
    assert (best <= outcome.table["savings_pct"].to_numpy(dtype=float) + 1e-9).all()
    at.radio(key="sweep_metric").set_value("peak_reduction_pct").run()
    fig = json.loads(next(c for c in at.get("plotly_chart") if "sweep_box" in c.proto.id).proto.spec)
    assert "peak reduction" in fig["layout"]["yaxis"]["title"]["text"]
