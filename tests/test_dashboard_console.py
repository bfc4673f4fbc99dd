"""AppTest of the operator's-console controls: the recommendation, the History page, the scenario inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from evfleet.analysis.kpis import compute_kpis
from evfleet.analysis.recommend import recommend
from evfleet.dashboard import state
from evfleet.inputs.generate import ScenarioParams, generate_scenario
from evfleet.simulation.simulate import simulate
from evfleet.strategies import REGISTRY, ChargingProblem, Strategy

APP = str(Path(__file__).resolve().parents[1] / "src" / "evfleet" / "dashboard" / "app.py")
N = 100


class HalfPower(Strategy):
    """Test-only strategy: half the power until the target (a different, honest schedule)."""

    name = "half_power_test"
    feedback = True

    def first_step(self, problem: ChargingProblem) -> np.ndarray:
        need = np.maximum(problem.energy_target_kwh - problem.energy_kwh, 0.0)
        p = np.minimum(0.5 * problem.max_charge_kw, need / (problem.charge_efficiency * problem.dt_h))
        return np.where(problem.arrival <= 0, p, 0.0)

    def schedule(self, problem: ChargingProblem) -> np.ndarray:
        raise NotImplementedError


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    st.cache_data.clear()
    st.cache_resource.clear()
    state.forget_computed()
    monkeypatch.setenv("EVFLEET_LIVE_AUTOSTEP", "0")
    yield
    st.cache_resource.clear()


@pytest.fixture
def small_registry(monkeypatch):
    """uncontrolled, the half-power test strategy and peak shaving only (fast)."""
    keep = {"uncontrolled", "peak_shaving"}
    for name in [n for n in REGISTRY if n not in keep]:
        monkeypatch.delitem(REGISTRY, name)
    monkeypatch.setitem(REGISTRY, HalfPower.name, HalfPower)


def _app(n: int = N) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90).run()
    assert not at.exception, [e.message for e in at.exception]
    at.slider(key="n_vehicles").set_value(n).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _rec_table(at: AppTest) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "Score (0-1)" in d.value.columns or "Rang" in d.value.columns)


def _independent_kpis(at: AppTest) -> dict[str, dict]:
    params = {**at.session_state["scenario_params"], "vehicles": at.slider(key="n_vehicles").value}
    sc = generate_scenario(ScenarioParams(**params))
    return {n: compute_kpis(simulate(sc, n)) for n in REGISTRY}


def test_recommendation_ranks_every_registered_strategy_with_the_weights(small_registry):
    at = _app()
    at.switch_page("screens/strategies.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.button(key="rec_compute")  # not every strategy is simulated yet: offered
    at.button(key="rec_compute").click().run()
    assert not at.exception, [e.message for e in at.exception]
    table = _rec_table(at)
    assert len(table) == len(REGISTRY)
    kpis = _independent_kpis(at)
    for goal in ("cost", "peak"):
        for g in ("cost", "peak", "readiness", "v2g_wear"):
            at.slider(key=f"rec_w_{g}").set_value(1.0 if g == goal else 0.0)
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        best = recommend(kpis, {goal: 1.0}).best
        shown = _rec_table(at)
        label = {"uncontrolled": "Uncontrolled", "peak_shaving": "Peak shaving"}.get(best, best)
        assert shown.iloc[0]["Strategy"] == label
        assert f"**{label}**" in at.success[0].value
    # every row says what the strategy does
    real = shown[shown["Strategy"] != HalfPower.name]
    assert len(real) == 2 and real["What it does, when it helps"].str.len().min() > 40


def test_recommendation_in_french_and_all_weights_zero(small_registry):
    at = _app()
    at.switch_page("screens/strategies.py").run()
    at.button(key="rec_compute").click().run()
    at.segmented_control(key="lang").set_value("fr").run()
    assert not at.exception, [e.message for e in at.exception]
    table = _rec_table(at)
    assert "Non pilotée" in set(table["Stratégie"]) and "Écrêtage de pointe" in set(table["Stratégie"])
    assert "Recommandée" in at.success[0].value
    for g in ("cost", "peak", "readiness", "v2g_wear"):
        at.slider(key=f"rec_w_{g}").set_value(0.0)
    at.run()
    assert not at.exception and at.warning  # no ranking without a goal


def test_history_page_shows_runs_and_live_apart_with_csv(tmp_path, monkeypatch):
    from store_factories import small_scenario

    from evfleet.store.runs import open_store

    monkeypatch.setenv("EVFLEET_DB", str(tmp_path / "hist.db"))
    sc = small_scenario(days=2)
    res = simulate(sc, "uncontrolled")
    with open_store() as store:
        store.save_run(res, compute_kpis(res), source="test")
        session = store.start_live_session(sc, name="live uncontrolled", options=res.options)
        store.save_live_chunk(session, sc, 0, res.power_kw[:, :8], res.soc[:, :9], res.site_kw[:8],
                              strategy="uncontrolled")  # fmt: skip
    at = _app()
    at.switch_page("screens/history.py").run()
    assert not at.exception, [e.message for e in at.exception]
    table = at.dataframe[0].value
    days = sorted({t.isoformat()[:10] for t in sc.times}, reverse=True)
    assert table["Period"].tolist() == days
    assert table["Runs"].tolist() == [1] * len(days)
    csv = at.get("download_button")[0]
    assert csv is not None
    at.segmented_control(key="hist_source").set_value("live").run()
    live = at.dataframe[0].value
    assert live["Period"].tolist() == [sc.times[0].isoformat()[:10]]
    imp = np.maximum(res.site_kw[:8], 0)
    assert live["Net energy cost (MAD)"].iloc[0] == pytest.approx(
        float((imp * sc.price_import_mad_per_kwh[:8]).sum() * sc.dt_h)
        - float((np.maximum(-res.site_kw[:8], 0) * sc.price_export_mad_per_kwh[:8]).sum() * sc.dt_h)
    )
    at.segmented_control(key="hist_by").set_value("month").run()
    assert at.dataframe[0].value["Period"].tolist() == [sc.times[0].isoformat()[:7]]
    at.segmented_control(key="lang").set_value("fr").run()
    assert "Période" in at.dataframe[0].value.columns


def test_history_page_without_anything_stored(tmp_path, monkeypatch):
    monkeypatch.setenv("EVFLEET_DB", str(tmp_path / "empty.db"))
    at = _app()
    at.switch_page("screens/history.py").run()
    assert not at.exception and at.info and not at.dataframe
