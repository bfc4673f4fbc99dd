"""Locale-aware number boxes (issue 16, item 6): French boxes show a decimal comma, read ``57,5`` or ``57.5``,
refuse garbage and values out of range naming the field and keep the previous value; English keeps
``st.number_input``. Also the status shown next to each ROI input (Economics page)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard_helpers import APP, fresh_dashboard  # noqa: F401 - autouse fixture
from evfleet.dashboard import l10n as L

SCREENS = Path(APP).parent / "screens"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("EVFLEET_LIVE_STORE", "0")
    monkeypatch.setenv("EVFLEET_DB", str(tmp_path / "store.db"))


# --- parsing and formatting --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("57,5", 57.5),
        ("57.5", 57.5),
        (" 1 234,5 ", 1234.5),
        ("1\u202f234", 1234.0),
        ("−3", -3.0),
        ("-0,25", -0.25),
        (",5", 0.5),
        ("7,", 7.0),
        ("+2", 2.0),
    ],
)
def test_parse_accepts_both_decimal_marks(text, value):
    assert L.parse_number(text, "fr", "f") == pytest.approx(value)
    assert L.parse_number(text, "en", "f") == pytest.approx(value)


@pytest.mark.parametrize("text", ["abc", "1,2.3", "1.234,5", "1e5", "nan", "inf", "12 kW", "--1", "5%"])
def test_parse_refuses_garbage_naming_the_field(text):
    with pytest.raises(L.NumberInputError, match="field 'Discount rate'") as err:
        L.parse_number(text, "fr", "Discount rate")
    assert err.value.reason == "number" and err.value.text == text


def test_parse_ranges_integers_and_empty():
    with pytest.raises(L.NumberInputError, match="within 0-99") as err:
        L.parse_number("120", "fr", "f", 0, 99)
    assert err.value.reason == "range"
    with pytest.raises(L.NumberInputError) as err:
        L.parse_number("2,5", "fr", "f", integer=True)
    assert err.value.reason == "integer"
    assert L.parse_number("12", "fr", "f", integer=True) == 12 and isinstance(L.parse_number("12", integer=True), int)
    assert L.parse_number("", "fr", "f", optional=True) is None
    with pytest.raises(L.NumberInputError) as err:
        L.parse_number(" ", "fr", "f")
    assert err.value.reason == "required"


def test_format_for_a_box():
    assert L.fmt_input(57.5, "fr") == "57,5" and L.fmt_input(57.5, "en") == "57.5"
    assert L.fmt_input(150_000.0, "fr", 0) == "150000" and L.fmt_input(1.4157, "fr", 4) == "1,4157"
    assert L.fmt_input(0.1 + 0.2, "fr") == "0,3" and L.fmt_input(500, "fr") == "500"
    assert L.fmt_input(None, "fr") == "" and L.fmt_input(-0.0, "fr") == "0"
    for x in (57.5, 0.05, 1234.5678, 7.0, 0.0001):  # what a box shows reads back
        assert L.parse_number(L.fmt_input(x, "fr"), "fr") == pytest.approx(x)


def test_no_st_number_input_left_in_the_pages():
    dash = Path(APP).parent
    calls = {p.name: len(re.findall(r"\.number_input\(", p.read_text())) for p in dash.rglob("*.py")}
    assert {k: v for k, v in calls.items() if v} == {"l10n_widgets.py": 1}


# --- AppTest ------------------------------------------------------------------------------------------------------


def _french(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.slider(key="n_vehicles").set_value(100).run()
    at.button_group(key="lang").set_value("fr").run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_french_boxes_show_a_decimal_comma_and_english_keeps_number_inputs():
    at = _french("screens/scenario.py")
    assert not at.number_input  # every number box of the page is a locale box
    boxes = {w.key: w.value for w in at.text_input}
    assert boxes["sc_degr_fr"] == "0,4" and boxes["sc_mix_ac11_fr"] == "0,6"
    assert boxes["tf_price_pointe_fr"] == "1,4157" and boxes["tf_vat_pct_fr"] == "18,0"
    assert boxes["sc_import_limit_kw_fr"] == ""  # automatic: empty, the value in the placeholder
    numeric = [v for k, v in boxes.items() if k.endswith("_fr") and v]
    assert numeric and not [v for v in numeric if "." in v]
    at.button_group(key="lang").set_value("en").run()
    assert at.number_input(key="sc_degr").value == pytest.approx(0.4)


def test_french_economics_input_refuses_garbage_and_keeps_the_previous_value():
    at = _french("screens/economics.py")
    caps = [c.value for c in at.caption]
    assert (
        "hypothèse · valeur par défaut" in caps and "hypothèse · saisie par l'opérateur" not in caps
    )  # 6 = 100 x 0.06
    npv = next(m.value for m in at.metric if m.label.startswith("VAN"))
    at.text_input(key="econ_rate_fr").input("7,5").run()
    assert at.text_input(key="econ_rate_fr").value == "7,5" and not at.error
    assert "hypothèse · saisie par l'opérateur" in [c.value for c in at.caption]
    npv_75 = next(m.value for m in at.metric if m.label.startswith("VAN"))
    assert npv_75 != npv  # 7.5 % was read
    at.text_input(key="econ_rate_fr").input("sept").run()
    assert not at.exception
    msgs = [e.value for e in at.error]
    assert any("Taux d'actualisation" in m and "« sept »" in m and "7,5 est conservée" in m for m in msgs), msgs
    assert at.text_input(key="econ_rate_fr").value == "7,5"  # the box is reset to the previous value
    assert next(m.value for m in at.metric if m.label.startswith("VAN")) == npv_75
    at.text_input(key="econ_rate_fr").input("150").run()
    msgs = [e.value for e in at.error]
    assert any("doit être compris entre 0 et 99" in m for m in msgs), msgs
    at.text_input(key="econ_rate_fr").input("8.5").run()  # a decimal point is read too
    assert not at.error and at.text_input(key="econ_rate_fr").value == "8.5"


def test_french_scenario_form_refuses_and_applies_nothing():
    at = _french("screens/scenario.py")
    before = dict(at.session_state["scenario_params"])
    at.text_input(key="sc_degr_fr").input("0,5x")
    at.text_input(key="sc_seed_fr").input("7")
    at.button(key="FormSubmitter:scenario_form-Appliquer").click().run()
    msgs = [e.value for e in at.error]
    assert any("Coût de dégradation" in m and "0,4 est conservée" in m for m in msgs), msgs
    assert any("Rien n'a été appliqué" in m for m in msgs)
    assert at.session_state["scenario_params"] == before
    at.text_input(key="sc_degr_fr").input("0,55")
    at.button(key="FormSubmitter:scenario_form-Appliquer").click().run()
    assert not at.error, [e.value for e in at.error]
    p = at.session_state["scenario_params"]
    assert p["degradation_mad_per_kwh"] == pytest.approx(0.55) and p["seed"] == 7


def test_roi_inputs_show_their_status_next_to_them_and_the_figures():
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.slider(key="n_vehicles").set_value(100).run()
    at.switch_page("screens/economics.py").run()
    caps = [c.value for c in at.caption]
    assert caps.count("assumption · default") >= 7  # each ROI input of the EMS has its status under it
    assert "user input · default" in caps  # bidirectional chargers bought: an input, 0 by default
    assert "from the scenario · default" in caps  # the chargers of the diesel comparison
    roi = [c for c in caps if c.startswith("Status of these figures")]
    assert len(roi) == 2 and "inputs: assumption; simulated saving: assumption" in roi[0]
    at.number_input(key="econ_software").set_value(90_000.0).run()
    assert "assumption · entered by the operator" in [c.value for c in at.caption]
