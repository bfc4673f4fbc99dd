"""Locale-aware sliders (issue 16, item 6): in French every slider of the dashboard shows its numbers with a
decimal comma and French thousands (``0,50``, ``2 000``) through ``l10n_widgets.num_slider``; its key, its values
(type and notch) and what the page does with them are those of the English ``st.slider``, across a change of
language both ways."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard_helpers import APP, fresh_dashboard  # noqa: F401 - autouse fixture
from evfleet._common.errors import InputError
from evfleet.analysis.recommend import DEFAULT_WEIGHTS, GOALS
from evfleet.dashboard import state
from evfleet.dashboard.i18n import strategy_label, t
from evfleet.dashboard.l10n_widgets import slider_grid


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("EVFLEET_LIVE_STORE", "0")
    monkeypatch.setenv("EVFLEET_DB", str(tmp_path / "store.db"))


def test_slider_grid():
    assert slider_grid(50, 2000, 50)[:3] == [50, 100, 150] and slider_grid(50, 2000, 50)[-1] == 2000
    assert all(isinstance(x, int) for x in slider_grid(50, 2000, 50))
    g = slider_grid(0.0, 1.0, 0.05)
    assert len(g) == 21 and g[-1] == 1.0 and 0.3 in g and 0.1 + 0.2 not in g  # notches are round numbers
    with pytest.raises(InputError, match="field 'step'"):
        slider_grid(0.0, 1.0, 0.0)


def test_no_st_slider_left_in_the_pages():
    dash = Path(APP).parent
    calls = {p.name: len(re.findall(r"\.slider\(", p.read_text())) for p in dash.rglob("*.py")}
    assert {k: v for k, v in calls.items() if v} == {"l10n_widgets.py": 1}


def _app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.slider(key="n_vehicles").set_value(100).run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _lang(at: AppTest, lang: str) -> None:
    at.button_group(key="lang").set_value(lang).run()
    assert not at.exception, [e.message for e in at.exception]


def test_fleet_size_slider_in_french_keeps_key_and_integer_value():
    at = _app()
    _lang(at, "fr")
    assert not at.slider  # every slider of the page is a locale slider
    fleet = at.select_slider(key="n_vehicles")
    assert fleet.value == 100 and isinstance(fleet.value, int)
    assert fleet.options[-1] == "2\u202f000" and len(fleet.options) == len(range(state.N_MIN, state.N_MAX + 1, 50))
    fleet.set_value(300).run()
    assert at.session_state["n_vehicles"] == 300
    assert any("300 sessions" in c.value for c in at.caption)  # the page ran on 300 vehicles
    _lang(at, "en")
    assert at.slider(key="n_vehicles").value == 300  # handed back to the English slider


def test_recommendation_weights_in_french_and_back():
    at = _app("screens/strategies.py")
    english = {g: at.slider(key=f"rec_w_{g}").value for g in GOALS}
    assert english == DEFAULT_WEIGHTS
    _lang(at, "fr")
    w = {g: at.select_slider(key=f"rec_w_{g}") for g in GOALS}
    assert {g: s.value for g, s in w.items()} == english  # same values, same keys
    assert all("," in o for o in w[GOALS[0]].options) and "0,50" in w[GOALS[0]].options
    assert not [o for s in w.values() for o in s.options if "." in o]
    w[GOALS[0]].set_value(0.7).run()
    assert not at.exception and at.session_state[f"rec_w_{GOALS[0]}"] == pytest.approx(0.7)
    _lang(at, "en")
    assert at.slider(key=f"rec_w_{GOALS[0]}").value == pytest.approx(0.7)  # kept across the change of language
    _lang(at, "fr")
    assert at.select_slider(key=f"rec_w_{GOALS[0]}").value == pytest.approx(0.7)


def _submit(at: AppTest, lang: str) -> None:
    label = "Appliquer" if lang == "fr" else "Apply"
    at.button(key=f"FormSubmitter:scenario_form-{label}").click().run()
    assert not at.exception, [e.message for e in at.exception]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_scenario_sliders_apply_the_same_values_in_both_languages(lang):
    at = _app("screens/scenario.py")
    p0 = dict(at.session_state["scenario_params"])
    if lang == "fr":
        _lang(at, "fr")
        get = at.select_slider
        assert not at.slider
        assert get(key="sc_soc_window").value == (p0["soc_min"], p0["soc_max"])  # a range stays a range
        assert get(key="sc_bidi").value == p0["bidirectional_share"]
        shown = get(key="sc_soc_target").options
        assert "0,85" in shown and not [o for o in shown if "." in o]
    else:
        get = at.slider
    get(key="sc_soc_window").set_value((0.1, 0.95))
    get(key="sc_soc_target").set_value(0.9)
    get(key="sc_bidi").set_value(0.25)
    _submit(at, lang)
    p = at.session_state["scenario_params"]
    assert (p["soc_min"], p["soc_max"], p["soc_target"]) == pytest.approx((0.1, 0.95, 0.9))
    assert p["bidirectional_share"] == pytest.approx(0.25)


def test_header_width_reads_the_header_whole():
    from evfleet.dashboard.l10n import HEADER_CHAR_PX, header_width

    assert header_width("kW") == 74  # the minimum
    assert header_width("Popularité (poids)") >= HEADER_CHAR_PX * len("Popularité (poids)")
    assert header_width("Batterie (kWh)", 70) > header_width("Battery (kWh)", 70)  # longer French header, wider


def test_off_step_fleet_size_and_query_string_kept_in_french():
    """``?lang=fr&vehicles=300`` opens the French page on 300 vehicles; a fleet size off the 50-vehicle step (a
    60-vehicle fleet file) stays what it is in French, as ``st.slider`` keeps it in English."""
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["lang"] = "fr"
    at.query_params["vehicles"] = "300"
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.select_slider(key="n_vehicles").value == 300
    at.switch_page("screens/scenario.py").run()
    csv = b"model,count\nTesla Model 3,40\nNissan Leaf,20\n"
    at.file_uploader(key="up_fleet").set_value(("fleet.csv", csv, "text/csv")).run()
    assert not at.exception, [e.message for e in at.exception]
    fleet = at.select_slider(key="n_vehicles")
    assert fleet.value == 60 and "60" in fleet.options and at.session_state["n_vehicles"] == 60
    _lang(at, "en")
    assert at.slider(key="n_vehicles").value == 60


def test_kpi_table_of_the_downloads_tab_writes_whole_numbers_whole():
    """The Downloads tab's indicator table: a count is ``100`` (``100,000`` reads as a hundred thousand), a
    fraction has no trailing zeros, in French with a decimal comma."""
    at = _app("screens/scenario.py")
    _lang(at, "fr")
    table = next(d.value for d in at.dataframe if "Indicateur" in d.value.columns)
    values = dict(zip(table["Indicateur"], table["Valeur"], strict=True))
    assert values["Sessions de recharge"] == "100" and values["Pas de temps"] == "96"
    assert values["Durée d'un pas (min)"] == "15"
    numbers = [v for v in values.values() if v[:1].isdigit()]
    assert numbers and not [v for v in numbers if "." in v or re.search(r",\d*0$", v)]
    assert any("," in v for v in numbers)  # fractions keep their decimal comma


def _numbers_written_in_english(frame) -> list[str]:
    """Cells of a shown table that are numbers with a decimal point (``12.5``): none on a French page."""
    return [str(x) for col in frame.columns for x in frame[col] if re.fullmatch(r"[-−]?\d[\d\u202f]*\.\d+", str(x))]


def test_plan_and_history_tables_in_french_are_locale_text(tmp_path, monkeypatch):
    """The Plan page's two tables and the History table: in French the numbers are locale text (``12,5``),
    since a column's printf format writes ``12.5``; in English they stay numbers."""
    from evfleet.analysis.kpis import compute_kpis
    from evfleet.simulation.simulate import simulate
    from evfleet.store.runs import open_store
    from store_factories import small_scenario

    monkeypatch.setenv("EVFLEET_DB", str(tmp_path / "hist.db"))
    res = simulate(small_scenario(days=2), "uncontrolled")
    with open_store() as store:
        store.save_run(res, compute_kpis(res), source="test")
    at = _app("screens/plan.py")
    english = [d.value for d in at.dataframe]
    assert any(pd_is_float(f) for f in english)  # English: number columns (the check below has numbers to see)
    _lang(at, "fr")
    # the connectors' utilisation is a bar written "%.0f" (no decimal mark): left out
    util = t("col_utilisation_pct", "fr")
    french = [d.value.drop(columns=[util], errors="ignore") for d in at.dataframe]
    assert len(french) >= 2 and not [bad for f in french if (bad := _numbers_written_in_english(f))]
    assert any("," in str(x) for f in french for col in f.columns for x in f[col])
    at.switch_page("screens/history.py").run()
    assert not at.exception, [e.message for e in at.exception]
    hist = at.dataframe[0].value
    assert "Période" in hist.columns and not _numbers_written_in_english(hist)
    assert all(isinstance(x, str) for x in hist["Non servi (kWh)"]) and "," in hist["Non servi (kWh)"].iloc[0]
    days = sorted({x.isoformat()[:10] for x in res.scenario.times}, reverse=True)
    assert list(hist["Période"]) == [f"{d[8:]}/{d[5:7]}/{d[:4]}" for d in days]  # French order, newest first
    assert set(hist["Stratégie"]) == {strategy_label("uncontrolled", "fr")}
    chart = at.get("plotly_chart")[0]
    xs = {x for trace in json.loads(chart.proto.spec)["data"] for x in trace["x"]}
    assert f"{days[0][8:]}/{days[0][5:7]}/{days[0][:4]}" in xs and not [x for x in xs if "-" in x]  # the chart too
    at.segmented_control(key="hist_by").set_value("month").run()
    assert list(at.dataframe[0].value["Période"]) == [f"{days[0][5:7]}/{days[0][:4]}"]


def pd_is_float(frame) -> bool:
    return any(frame[c].dtype.kind == "f" for c in frame.columns)
