"""The Scenario page's tariff editor (issue 16, item 4): AppTest of apply / refuse / statuses / upload, the bill
recomputed here from the tariff formula (docs/tariffs.md), and the downloaded file read back by the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from dashboard_helpers import APP, fresh_dashboard  # noqa: F401 - autouse fixture
from evfleet.cli import app as cli_app
from evfleet.dashboard.tariff_form import (
    OPERATOR_NOTE,
    edited_tariff,
    form_values,
    format_spans,
    parse_months,
    parse_spans,
    save_applied,
    tariff_file_bytes,
)
from evfleet.inputs.generate import ScenarioParams, generate_scenario
from evfleet.inputs.tariffs import TariffError, list_tariffs, load_tariff, tariff_from_dict, tariff_to_dict
from evfleet.simulation.simulate import SimulationOptions, simulate

N = 100


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("EVFLEET_LIVE_STORE", "0")
    monkeypatch.setenv("EVFLEET_DB", str(tmp_path / "store.db"))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the applied tariff files of this test
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)


# --- data side ----------------------------------------------------------------------------------------------------


def test_every_shipped_tariff_round_trips_as_a_v2_file():
    for tid in list_tariffs():
        t = load_tariff(tid)
        back = tariff_from_dict(json.loads(tariff_file_bytes(tariff_to_dict(t))), tid)
        assert back.format == "evfleet.tariff/2"
        assert back.periods == t.periods and back.seasons == t.seasons and back.billing == t.billing
        assert back.energy_price_status == t.energy_price_status


def test_spans_and_months_text():
    assert parse_spans("17-22, 0-7", "f") == [[17, 22], [0, 7]]
    assert parse_spans("17:30-22; 0-7", "f") == [[17.5, 22], [0, 7]]
    assert parse_spans("", "f") == []
    assert format_spans([[22, 24], [0, 7.5]]) == "22-24, 0-7:30"
    assert parse_months("1, 2 12", "f") == [1, 2, 12]
    for bad in ("17", "17-", "a-b", "17-22:75"):
        with pytest.raises(TariffError, match=r"field 'seasons\.winter\.hours\.pointe'"):
            parse_spans(bad, "seasons.winter.hours.pointe")
    with pytest.raises(TariffError, match=r"field 'seasons\.winter\.months'"):
        parse_months("jan", "seasons.winter.months")


def test_changed_values_become_assumptions_and_the_others_keep_their_status():
    base = load_tariff("onee_mt_general")
    t, _, changed = edited_tariff(base, {"id": "mine", "prices": {"pointe": 2.0}, "vat_pct": 20.0})
    assert changed == ["periods.pointe.price_mad_per_kwh", "vat_pct"]
    assert t.periods["pointe"]["status"] == "assumption" and t.periods["pointe"]["note"] == OPERATOR_NOTE
    assert t.periods["creuses"]["status"] == "secondary"
    assert t.value_status["vat_pct"] == "assumption" and t.value_notes["vat_pct"] == OPERATOR_NOTE
    assert t.value_status["overrun_factor"] == "secondary"
    assert t.value_notes["overrun_factor"] == base.value_notes["overrun_factor"]
    # nothing changed: every status as in the file
    same, _, none = edited_tariff(base, form_values(base))
    assert none == [] and same.value_status == base.value_status and same.periods == base.periods
    # hours have the status of the time posts
    hours, _, changed = edited_tariff(base, {"id": "mine", "hours": {"winter": {"pointe": [[16, 21]]}}})
    assert changed == ["seasons.winter.hours.pointe"] and hours.value_status["time_posts"] == "assumption"


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        ({"prices": {"pointe": -1.0}}, "periods.pointe.price_mad_per_kwh"),
        ({"cos_phi_threshold": 1.5}, "cos_phi_threshold"),
        ({"vat_pct": 120.0}, "vat_pct"),
        ({"subscribed_power_kva": 0.0}, "subscribed_power_kva"),
        ({"hours": {"winter": {"pointe": [[20, 25]]}}}, "seasons.winter.hours.pointe"),
        ({"months": {"summer": [1, 4]}}, "seasons.summer.months"),
        ({"id": " "}, "id"),
        ({"id": "onee_mt_general", "vat_pct": 20.0}, "id"),  # edited values under a shipped id
    ],
)
def test_inconsistent_values_are_refused_by_the_cli_checks(edit, field):
    with pytest.raises(TariffError, match=re.escape(f"field '{field}'")):
        edited_tariff(load_tariff("onee_mt_general"), edit)


def test_applied_files_are_content_addressed(tmp_path):
    _, data, _ = edited_tariff(load_tariff("onee_mt_general"), {"id": "a/b c", "prices": {"pointe": 2.0}})
    p1, p2 = save_applied(data, tmp_path), save_applied(data, tmp_path)
    assert p1 == p2 and p1.parent == tmp_path and p1.name.startswith("a_b_c-")
    _, other, _ = edited_tariff(load_tariff("onee_mt_general"), {"id": "a/b c", "prices": {"pointe": 2.1}})
    assert save_applied(other, tmp_path) != p1


# --- AppTest ------------------------------------------------------------------------------------------------------


def _app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.slider(key="n_vehicles").set_value(N).run()
    at.selectbox(key="strategy").select("uncontrolled").run()  # its schedule does not depend on the prices
    at.switch_page("screens/scenario.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _bill(at: AppTest) -> dict[str, float]:
    at.switch_page("screens/economics.py").run()
    assert not at.exception, [e.message for e in at.exception]
    df = at.dataframe[1].value
    return dict(zip(df["Item"], df["MAD"].astype(float), strict=True))


def _expected_bill(params: dict, pointe: float, pointe_hours: tuple[float, float], sub_kva: float) -> dict:
    """energy and power charge from docs/tariffs.md, with the periods looked up here (not by Tariff)."""
    sc = generate_scenario(ScenarioParams(**{**params, "vehicles": N}))
    res = simulate(sc, "uncontrolled", SimulationOptions(mode="offline", v2g=True))
    base = load_tariff("onee_mt_general")
    f = 1.0 + base.billing["vat_pct"] / 100.0  # prices include VAT
    hour = sc.times.hour.to_numpy() + sc.times.minute.to_numpy() / 60.0
    winter = np.isin(sc.times.month.to_numpy(), [1, 2, 3, 10, 11, 12])
    lo, hi = pointe_hours
    peak = np.where(winter, (hour >= lo) & (hour < hi), (hour >= 18) & (hour < 23))
    off = np.where(winter, (hour >= 22) | (hour < 7), (hour >= 23) | (hour < 7)) & ~peak
    price = np.where(peak, pointe, np.where(off, base.price_of("creuses"), base.price_of("pleines"))) / f
    imp = np.maximum(np.asarray(res.site_kw), 0.0)
    days = sc.n_steps * sc.dt_h / 24.0
    return {
        "energy": float(np.sum(price * imp * sc.dt_h)),
        "power": base.billing["power_charge_mad_per_kva_year"] / f / 12.0 * sub_kva * days / (365.0 / 12.0),
    }


def test_apply_an_edited_tariff_rebills_the_run(monkeypatch):
    at = _app()
    before = _bill(at)
    at.switch_page("screens/scenario.py").run()
    at.number_input(key="tf_price_pointe").set_value(2.5)
    at.text_input(key="tf_hours_winter_pointe").input("16-21")
    at.number_input(key="tf_subscribed_power_kva").set_value(400.0)
    at.button(key="tf_apply").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert any("applied (3 value(s) changed" in s.value for s in at.success)
    params = at.session_state["scenario_params"]
    path = Path(params["tariff"])
    assert path.exists() and path.name.startswith("onee_mt_general_edited-")
    # the scenario's tariff object carries the values and their statuses
    sc = generate_scenario(ScenarioParams(**{**params, "vehicles": N}))
    rec = sc.extra["tariff"]
    assert rec["id"] == "onee_mt_general_edited" and rec["subscribed_power_kva"] == 400.0
    assert rec["value_status"]["subscribed_power_kva"] == "assumption"
    assert rec["value_status"]["time_posts"] == "assumption"  # hours edited
    assert rec["value_status"]["power_charge_mad_per_kva_year"] == "secondary"  # unchanged
    assert rec["energy_price_status"] == "assumption"
    after = _bill(at)
    want = _expected_bill(params, 2.5, (16, 21), 400.0)
    assert after["Energy"] == pytest.approx(want["energy"], rel=1e-9)
    assert after["Power charge"] == pytest.approx(want["power"], rel=1e-9)
    assert after["Energy"] != pytest.approx(before["Energy"], rel=1e-6)
    # the editor now starts from the applied tariff, and the form's selector lists it
    at.switch_page("screens/scenario.py").run()
    assert at.number_input(key="tf_price_pointe").value == pytest.approx(2.5)
    assert at.selectbox(key="sc_tariff").value == str(path)


def test_a_bad_value_is_refused_naming_the_field_and_nothing_is_applied():
    at = _app()
    params = dict(at.session_state["scenario_params"])
    at.number_input(key="tf_cos_phi_threshold").set_value(1.5)
    at.button(key="tf_apply").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("cos\\_phi\\_threshold" in e and "1.5" in e for e in errors), errors
    assert at.session_state["scenario_params"] == params and params["tariff"] == "onee_mt_general"
    at.number_input(key="tf_cos_phi_threshold").set_value(0.8)
    at.text_input(key="tf_months_summer").input("1, 4, 5")
    at.button(key="tf_apply").click().run()
    assert any("seasons.summer.months" in e for e in [e.value for e in at.error])
    assert at.session_state["scenario_params"]["tariff"] == "onee_mt_general"


def test_the_downloaded_file_is_read_by_the_cli(tmp_path):
    at = _app()
    at.number_input(key="tf_price_pointe").set_value(1.9)
    at.button(key="tf_apply").click().run()
    params = at.session_state["scenario_params"]
    data = at.session_state["tariff_files"][params["tariff"]]
    down = tmp_path / "my_tariff.json"
    down.write_bytes(tariff_file_bytes(data))  # the bytes of the download button
    runner = CliRunner()
    shown = runner.invoke(cli_app, ["tariffs", str(down)])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["periods"]["pointe"]["price_mad_per_kwh"] == 1.9
    out = tmp_path / "sc.json"
    made = runner.invoke(cli_app, ["scenario", "new", "--vehicles", "20", "--tariff", str(down), "--out", str(out)])
    assert made.exit_code == 0, made.output
    sc_json = json.loads(out.read_text())
    assert sc_json["tariff"]["id"] == "onee_mt_general_edited"
    assert max(sc_json["series"]["price_import_mad_per_kwh"]) == pytest.approx(1.9 / 1.18)


def test_upload_a_tariff_file():
    at = _app()
    data = tariff_to_dict(load_tariff("onee_bt_bihoraire"))
    data["id"] = "my_bt"
    at.file_uploader(key="tf_upload").set_value(("my_bt.json", tariff_file_bytes(data), "application/json")).run()
    assert not at.exception, [e.message for e in at.exception]
    assert Path(at.session_state["scenario_params"]["tariff"]).name.startswith("my_bt-")
    assert any("my\\_bt" in s.value for s in at.success)
    assert at.number_input(key="tf_price_pointe").value == pytest.approx(2.27)  # the editor shows the file
    bad = {**data, "vat_pct": True}
    at.file_uploader(key="tf_upload").set_value(("bad.json", json.dumps(bad).encode(), "application/json")).run()
    assert any("vat\\_pct" in e.value for e in at.error), [e.value for e in at.error]
    assert Path(at.session_state["scenario_params"]["tariff"]).name.startswith("my_bt-")  # unchanged


def test_a_cleaned_tariff_file_is_written_again():
    import streamlit as st

    at = _app()
    at.number_input(key="tf_price_pointe").set_value(1.7)
    at.button(key="tf_apply").click().run()
    path = Path(at.session_state["scenario_params"]["tariff"])
    body = path.read_bytes()
    path.unlink()
    st.cache_resource.clear()  # the scenario must be generated again from the file
    at.switch_page("screens/economics.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert path.read_bytes() == body
