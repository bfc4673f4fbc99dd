"""AppTest of the Plan page (tables, charts, exports) and of the Overview's alerts, in English and French."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from evfleet.dashboard.i18n import t
from evfleet.inputs.generate import ScenarioParams, generate_scenario
from evfleet.results.alert_files import run_alerts
from evfleet.results.plan import PLAN_CSV_COLUMNS
from evfleet.simulation.simulate import simulate

APP = str(Path(__file__).resolve().parents[1] / "src" / "evfleet" / "dashboard" / "app.py")


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setenv("EVFLEET_LIVE_AUTOSTEP", "0")
    yield
    st.cache_resource.clear()


@pytest.fixture
def downloads(monkeypatch):
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    files: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        files[str(filename)] = path_or_data
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    return files


def _app(n: int = 100, limit_kw: float | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90).run()
    assert not at.exception, [e.message for e in at.exception]
    if limit_kw is not None:
        at.session_state["scenario_params"] = {**at.session_state["scenario_params"], "import_limit_kw": limit_kw}
    at.slider(key="n_vehicles").set_value(n).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _table(at: AppTest, column: str) -> pd.DataFrame:
    """The first table that has ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _expected(at: AppTest):
    params = {**at.session_state["scenario_params"], "vehicles": at.slider(key="n_vehicles").value}
    sc = generate_scenario(ScenarioParams(**params))
    return sc, simulate(sc, at.selectbox(key="strategy").value)


def test_plan_page_tables_charts_and_exports(downloads):
    at = _app(100)
    at.switch_page("screens/plan.py").run()
    assert not at.exception, [e.message for e in at.exception]
    sc, res = _expected(at)
    assert at.title[0].value == "Charging plan"
    table = _table(at, "Rating (kW)")
    assert "Connector" in table.columns and table["Energy (kWh)"].sum() == pytest.approx(
        float(np.maximum(res.power_kw, 0).sum() * sc.dt_h)
    )
    at.toggle(key="plan_only_short").set_value(False).run()
    vt = _table(at, "Expected at departure (%)")
    assert len(vt) == sc.n_vehicles
    np.testing.assert_allclose(
        vt["Expected at departure (%)"], 100 * res.soc[np.arange(sc.n_vehicles), sc.vehicles.departure_step]
    )  # the table keeps full precision (formatted by the column config)
    assert len(at.get("plotly_chart")) >= 1
    csv_name = next(f for f in downloads if f.endswith("_plan.csv"))
    df = pd.read_csv(io.BytesIO(downloads[csv_name]))
    assert list(df.columns) == PLAN_CSV_COLUMNS and len(df) == sc.n_vehicles * sc.n_steps
    np.testing.assert_allclose(df["setpoint_kw"].to_numpy().reshape(res.power_kw.shape), res.power_kw, atol=1e-4)
    ocpp = json.loads(downloads[next(f for f in downloads if f.endswith("_plan_ocpp.json"))])
    assert ocpp["format"] == "evfleet.ocpp-profiles/1" and len(ocpp["profiles"]) == sc.n_vehicles
    # the French Excel dialect
    downloads.clear()
    at.radio(key="plan_dialect_en").set_value("excel-fr").run()
    raw = downloads[next(f for f in downloads if f.endswith("_plan.csv"))]
    assert raw.decode("utf-8-sig").splitlines()[0].split(";") == PLAN_CSV_COLUMNS


def test_plan_page_in_french_lists_the_alerts():
    at = _app(100, limit_kw=150)
    at.switch_page("screens/plan.py").run()
    at.session_state["lang"] = "fr"
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == "Plan de recharge"
    table = _table(at, t("col_action", "fr"))
    assert t("col_action", "fr") in table.columns
    assert t("alert_import_limit", "fr") in set(table[t("col_alert", "fr")])
    assert at.radio(key="plan_dialect_fr").value == "excel-fr"  # French users get the French dialect first


def test_overview_shows_the_operator_alerts_first_and_neutral_grid_quality_cards():
    at = _app(100, limit_kw=150)
    assert not at.exception
    sc, res = _expected(at)
    alerts = run_alerts(res, simulate(sc, "uncontrolled"))
    assert alerts
    assert at.subheader[0].value == "Alerts to act on"  # first on the page
    shown = _table(at, "What to do")
    assert len(shown) == min(5, len(alerts))
    assert set(shown["Alert"]) <= {t(f"alert_{a.kind}", "en") for a in alerts}
    tdd = next(m for m in at.metric if m.label == t("card_tdd_pct", "en"))
    assert tdd.proto.delta == t("model_estimate_card", "en")  # no alarm colour on model estimates
