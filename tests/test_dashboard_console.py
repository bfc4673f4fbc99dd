"""AppTest of the operator's-console controls: the recommendation, the History page, the scenario inputs."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard_helpers import APP, HalfPower, fresh_dashboard  # noqa: F401  (autouse fixture)
from evfleet.analysis.kpis import compute_kpis
from evfleet.analysis.recommend import recommend
from evfleet.dashboard import state
from evfleet.dashboard.i18n import strategy_label
from evfleet.dashboard.safe_text import md
from evfleet.inputs.generate import ScenarioParams, generate_scenario
from evfleet.simulation.simulate import simulate
from evfleet.strategies import REGISTRY

N = 100


@pytest.fixture
def small_registry(monkeypatch):
    """uncontrolled, timer, the half-power test strategy and peak shaving only (fast)."""
    keep = {"uncontrolled", "timer", "peak_shaving"}  # both baselines: every page compares against them
    entries = {k: v for k, v in REGISTRY._entries.items() if k in keep} | {HalfPower.name: HalfPower}
    monkeypatch.setattr(REGISTRY, "_entries", entries)  # the whole mapping is put back as it was (order too)


def _app(n: int = N) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90).run()
    assert not at.exception, [e.message for e in at.exception]
    at.slider(key="n_vehicles").set_value(n).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _rec_table(at: AppTest) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "Rank" in d.value.columns or "Rang" in d.value.columns)


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
        label = strategy_label(best, "en")
        assert shown.iloc[0]["Strategy"] == label
        assert f"**{label}**" in at.success[0].value
    # every strategy's summary is listed under the table, in rank order (a long text would widen the table)
    summaries = next(m.value for m in at.markdown if m.value.startswith(f"- **{md(shown.iloc[0]['Strategy'])}**: "))
    lines = summaries.splitlines()
    assert len(lines) == len(shown) and all(len(x) > 40 for x in lines if HalfPower.name not in x)


def test_recommendation_in_french_and_all_weights_zero(small_registry):
    at = _app()
    at.switch_page("screens/strategies.py").run()
    at.button(key="rec_compute").click().run()
    at.segmented_control(key="lang").set_value("fr").run()
    assert not at.exception, [e.message for e in at.exception]
    table = _rec_table(at)
    assert {strategy_label("uncontrolled", "fr"), strategy_label("peak_shaving", "fr")} <= set(table["Stratégie"])
    assert strategy_label("peak_shaving", "fr") != "peak_shaving"
    assert "Recommandée" in at.success[0].value
    assert any(m.value.startswith(f"- **{md(table.iloc[0]['Stratégie'])}**\u202f: ") for m in at.markdown)
    scores = list(table["Score"])  # locale text: a bar's printf format would write "0.86"
    assert all(re.fullmatch(r"[01],\d\d", x) for x in scores), scores
    for g in ("cost", "peak", "readiness", "v2g_wear"):  # French sliders: select sliders, same keys and values
        at.select_slider(key=f"rec_w_{g}").set_value(0.0)
    at.run()
    assert not at.exception and at.warning  # no ranking without a goal


def test_history_page_shows_runs_and_live_apart_with_csv(tmp_path, monkeypatch):
    from evfleet.store.runs import open_store
    from store_factories import small_scenario

    monkeypatch.setenv("EVFLEET_DB", str(tmp_path / "hist.db"))
    sc = small_scenario(days=2)
    res = simulate(sc, "uncontrolled")
    with open_store() as store:
        store.save_run(res, compute_kpis(res), source="test")
        session = store.start_live_session(sc, name="live uncontrolled", options=res.options)
        store.save_live_chunk(
            session, sc, 0, res.power_kw[:, :8], res.soc[:, :9], res.site_kw[:8], strategy="uncontrolled"
        )
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


def _scenario_page() -> AppTest:
    at = _app()
    at.switch_page("screens/scenario.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _submit(at: AppTest) -> None:
    at.button(key="FormSubmitter:scenario_form-Apply").click().run()


def test_automatic_values_are_shown_resolved_not_as_sentinels():
    at = _scenario_page()
    imp = at.number_input(key="sc_import_limit_kw")
    assert imp.value is None  # empty box = automatic
    # the resolved value is under the box (a placeholder is cut at 1280 px); the box itself says "auto"
    caps = [c.value for c in at.caption]
    assert "automatic: 580\u00a0kW" in caps  # 50 + 0.3 x 100 + 5 x 100
    assert "automatic: 40\u00a0kWp" in caps and "automatic: 80\u00a0kW" in caps
    assert any(c.startswith("automatic: ") and c.endswith("\u00a0kVA") for c in caps)
    for name in ("import_limit_kw", "pv_kwp", "base_load_peak_kw", "transformer_kva"):
        assert at.number_input(key=f"sc_{name}").placeholder == "auto"
    assert not any("= automatic" in n.label for n in at.number_input)
    # PV 0 kWp is a real value (no sentinel): kept as 0
    at.number_input(key="sc_pv_kwp").set_value(0.0)
    _submit(at)
    assert not at.exception and at.session_state["scenario_params"]["pv_kwp"] == 0.0


def test_lowering_the_import_limit_keeps_the_transformer():
    from evfleet.gridquality.site import SiteElectrical

    at = _scenario_page()
    before = next(c.value for c in at.caption if c.value.endswith("\u00a0kVA"))  # the automatic rating
    at.number_input(key="sc_import_limit_kw").set_value(300.0)
    _submit(at)
    assert not at.exception, [e.message for e in at.exception]
    params = at.session_state["scenario_params"]
    assert params["import_limit_kw"] == 300.0
    kva = params["transformer_kva"]
    assert kva is not None and f"{kva:,.0f}" in before  # the rating shown before, kept
    assert any("transformer stays" in s.value for s in at.success)
    sc = generate_scenario(ScenarioParams(**{**params, "vehicles": N}))
    assert SiteElectrical.from_scenario(sc).rated_kva(sc.import_limit_kw) == kva  # the model uses it
    # a typed rating is the user's
    at.number_input(key="sc_transformer_kva").set_value(1250.0)
    _submit(at)
    assert at.session_state["scenario_params"]["transformer_kva"] == 1250.0


def test_charger_mix_not_summing_to_one_is_refused_naming_the_field():
    at = _scenario_page()
    before = dict(at.session_state["scenario_params"]["charger_mix"])
    at.number_input(key="sc_mix_ac11").set_value(0.9)  # 0.1 + 0.9 + 0.2 + 0.1 = 1.3
    _submit(at)
    shown = [e.value.replace("\\", "") for e in at.error]  # names are shown as text (Markdown escaped)
    assert any("'charger_mix'" in e and "1.3" in e for e in shown), shown
    assert at.session_state["scenario_params"]["charger_mix"] == before


def test_per_vehicle_departure_target_and_priority_edit():
    at = _scenario_page()
    sc0 = state.current_scenario(state.Controls("en", N, "uncontrolled", True, "offline", False, "x600"))[1]
    i = at.selectbox(key="veh_pick").value
    sid = str(sc0.vehicles.id[i])
    dep0 = int(sc0.vehicles.departure_step[i])
    at.select_slider(key=f"veh_departure_{sid}").set_value(dep0 - 1)
    at.number_input(key=f"veh_target_{sid}").set_value(50.0)
    at.selectbox(key=f"veh_priority_{sid}").set_value(1)
    at.button(key="veh_apply").click().run()
    assert not at.exception, [e.message for e in at.exception]
    edited = at.session_state["uploaded_scenario"]
    assert int(edited.vehicles.departure_step[i]) == dep0 - 1
    assert float(edited.vehicles.soc_target[i]) == pytest.approx(0.5)
    assert int(edited.vehicles.extra["priority"][i]) == 1
    others = np.arange(len(edited.vehicles)) != i
    np.testing.assert_array_equal(edited.vehicles.departure_step[others], sc0.vehicles.departure_step[others])
    # the edited scenario is the one every page runs
    at.switch_page("screens/overview.py").run()
    assert not at.exception


def test_charger_layout_upload():
    from evfleet.inputs.chargers import charger_layout

    at = _scenario_page()
    sc0 = state.current_scenario(state.Controls("en", N, "uncontrolled", True, "offline", False, "x600"))[1]
    lay = charger_layout(sc0)
    rows = [
        f"C{i + 1:03d};1;{t};;;{'oui' if b else 'non'}"
        for i, (t, b) in enumerate(zip(lay.charger_type, lay.bidirectional, strict=True))
    ]
    csv = ("charger_id;connector;type;rating_kw;phase;bidirectional\n" + "\n".join(rows) + "\n").encode()
    at.file_uploader(key="up_chargers").set_value(("bornes.csv", csv, "text/csv")).run()
    assert not at.exception, [e.message for e in at.exception]
    sc = at.session_state["uploaded_scenario"]
    assert len(sc.site_extra["chargers"]) == len(lay) and charger_layout(sc).source == "scenario"
    # a bad file is refused naming the column and value
    at.button(key="up_back").click().run()
    bad = b"charger_id,type,rating_kw\nC1,ac11,abc\n"
    at.file_uploader(key="up_chargers").set_value(("bad.csv", bad, "text/csv")).run()
    assert any("rating_kw" in e.value.replace("\\", "") and "abc" in e.value for e in at.error)  # escaped Markdown


def test_other_strategies_are_precomputed_after_the_first_paint(small_registry, monkeypatch):
    from evfleet.dashboard import background

    monkeypatch.setenv(background.ENV_PRECOMPUTE, "1")
    at = _app()
    assert background.wait(120)
    ctrl = state.Controls("en", N, at.session_state["strategy"], True, "offline", False, "x600")
    key, _ = state.current_scenario(ctrl)
    for name in REGISTRY:  # every registered strategy, and the sidebar's one in the other mode and V2G choice
        assert state.is_computed(key, name, "offline", True), name
    assert state.is_computed(key, ctrl.strategy, "online", True)
    assert state.is_computed(key, ctrl.strategy, "offline", False)
    for n in (N - 50, N + 50):  # the fleet-size slider's neighbouring notches
        other, _ = state.current_scenario(state.Controls("en", n, ctrl.strategy, True, "offline", False, "x600"))
        assert state.is_computed(other, ctrl.strategy, "offline", True), n
    at.switch_page("screens/strategies.py").run()
    assert not at.exception
    assert "rec_compute" not in [b.key for b in at.button]  # nothing left to simulate
    assert len(_rec_table(at)) == len(REGISTRY)
