"""The charging plan (evfleet.results.plan): tables, CSV dialects, JSON, OCPP 2.0.1 profiles (schema, replay), CLI."""

from __future__ import annotations

import io
import json
from importlib import resources
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from evfleet.cli import app
from evfleet.inputs.generate import generate_scenario
from evfleet.results.plan import (
    PLAN_CSV_COLUMNS,
    build_plan,
    ocpp_profiles,
    plan_csv,
    plan_json,
    replay_profiles,
    setpoints_from_profiles,
)
from evfleet.results.run_files import write_run_outputs
from evfleet.scenario import scenario_from_dict
from evfleet.simulation.simulate import SimulationOptions, simulate

runner = CliRunner()


def _short_scenario(n: int = 40, seed: int = 5, **kw):
    """A generated depot where the first two sessions stay one step only (they cannot reach their target) and two
    sessions share a connector (site.chargers given)."""
    sc = generate_scenario(vehicles=n, seed=seed, **kw)
    d = sc.to_dict()
    v = d["vehicles"]
    for i in (0, 1):
        v["departure_step"][i] = v["arrival_step"][i] + 1
        v["soc_arrival"][i] = 0.1
    return scenario_from_dict(d)


@pytest.fixture(scope="module")
def run():
    sc = _short_scenario()
    return simulate(sc, "price_optimization", SimulationOptions(v2g=False))


@pytest.fixture(scope="module")
def schema():
    path = resources.files("ocpp") / "v201" / "schemas" / "SetChargingProfileRequest.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_plan_has_every_session_and_connector_and_says_why_short(run):
    plan = build_plan(run)
    sc = run.scenario
    assert len(plan.vehicles) == sc.n_vehicles and plan.setpoint_kw.shape == (sc.n_vehicles, sc.n_steps)
    np.testing.assert_allclose(plan.connector_kw.sum(axis=0), run.power_kw.sum(axis=0))  # connectors sum to the EVs
    np.testing.assert_allclose(
        plan.vehicles["soc_departure_expected"], run.soc[np.arange(sc.n_vehicles), sc.vehicles.departure_step]
    )
    short = plan.vehicles[plan.vehicles["unmet_kwh"] > 1e-3]
    assert {"S000000", "S000001"} <= set(short["id"])
    assert (short["short_reason"] == "stay_too_short").loc[short["id"].isin(["S000000", "S000001"])].all()
    assert (short["short_explanation"] != "").all()
    assert plan.chargers["energy_kwh"].sum() == pytest.approx(plan.vehicles["energy_charged_kwh"].sum())


def test_csv_one_row_per_vehicle_and_step_in_both_dialects(run):
    plan = build_plan(run)
    sc = run.scenario
    en = pd.read_csv(io.BytesIO(plan_csv(plan, "excel")))
    assert list(en.columns) == PLAN_CSV_COLUMNS and len(en) == sc.n_vehicles * sc.n_steps
    raw = plan_csv(plan, "excel-fr")
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: French Excel reads accents
    header = raw.decode("utf-8-sig").splitlines()[0]
    assert header.split(";") == PLAN_CSV_COLUMNS
    fr = pd.read_csv(io.BytesIO(raw), sep=";", decimal=",", encoding="utf-8-sig")
    np.testing.assert_allclose(fr["setpoint_kw"], en["setpoint_kw"])
    np.testing.assert_allclose(fr["setpoint_kw"].to_numpy().reshape(sc.n_vehicles, sc.n_steps), run.power_kw,
                               atol=1e-4)  # kW to 0.1 W  # fmt: skip
    assert "," in raw.decode("utf-8-sig").splitlines()[1]  # decimal comma
    with pytest.raises(ValueError, match="dialect"):
        plan_csv(plan, "excel-de")


def test_json_plan_setpoints_cover_the_stay(run):
    doc = plan_json(build_plan(run))
    json.dumps(doc, allow_nan=False)
    v0 = doc["vehicles"][0]
    assert len(v0["setpoints_kw"]) == v0["departure_step"] - v0["arrival_step"]
    assert len(doc["chargers"][0]["power_kw"]) == doc["n_steps"]
    assert doc["format"] == "evfleet.plan/1"


def test_ocpp_profiles_validate_against_the_2_0_1_schema(run, schema):
    doc = ocpp_profiles(build_plan(run))
    validator = jsonschema.Draft7Validator(schema)
    assert len(doc["profiles"]) == run.scenario.n_vehicles  # one TxProfile per session
    for prof in doc["profiles"]:
        validator.validate(prof["request"])
        cp = prof["request"]["chargingProfile"]
        assert cp["chargingProfilePurpose"] == "TxProfile" and cp["transactionId"] == prof["session_id"]
        for period in cp["chargingSchedule"][0]["chargingSchedulePeriod"]:
            assert round(period["limit"], 1) == period["limit"]  # at most one decimal
    bad = json.loads(json.dumps(doc["profiles"][0]["request"]))
    bad["chargingProfile"]["chargingProfilePurpose"] = "Nope"
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(bad)


def test_shared_connector_gets_one_profile_per_session(schema):
    sc = generate_scenario(vehicles=6, seed=2)
    d = sc.to_dict()
    v = d["vehicles"]
    v["arrival_step"] = [0, 10, 20, 0, 0, 0]
    v["departure_step"] = [10, 20, 40, 30, 30, 30]
    d["site"]["chargers"] = [{"charger_id": "C1", "type": "ac22"}, {"charger_id": "C2", "type": "ac22"},
                             {"charger_id": "C3", "type": "ac22"}, {"charger_id": "C4", "type": "ac22"}]  # fmt: skip
    d["vehicles"]["charger_id"] = ["C1", "C1", "C1", "C2", "C3", "C4"]
    sc = scenario_from_dict(d)
    doc = ocpp_profiles(build_plan(simulate(sc, "uncontrolled")))
    on_c1 = [p for p in doc["profiles"] if p["connector"] == "C1/1"]
    assert [p["session_id"] for p in on_c1] == [str(x) for x in np.asarray(sc.vehicles.id)[:3]]
    assert len({p["request"]["chargingProfile"]["id"] for p in doc["profiles"]}) == 6
    for p in doc["profiles"]:
        jsonschema.Draft7Validator(schema).validate(p["request"])


@pytest.mark.parametrize("strategy,v2g", [("price_optimization", False), ("uncontrolled", False),
                                          ("price_optimization", True)])  # fmt: skip
def test_replayed_profiles_give_the_same_energy_per_vehicle(strategy, v2g):
    sc = _short_scenario(60, seed=8, import_limit_kw=200)
    res = simulate(sc, strategy, SimulationOptions(v2g=v2g))
    doc = json.loads(json.dumps(ocpp_profiles(build_plan(res))))  # through JSON, as a central system reads it
    np.testing.assert_allclose(setpoints_from_profiles(doc, sc), res.power_kw, atol=1e-4)  # 0.1 W resolution
    again = replay_profiles(doc, sc, v2g=v2g)
    n = np.arange(sc.n_vehicles)
    e0 = res.energy_kwh[n, sc.vehicles.departure_step]
    e1 = again.energy_kwh[n, sc.vehicles.departure_step]
    np.testing.assert_allclose(e1, e0, atol=1e-3)  # kWh
    dt = sc.dt_h  # grid-side energy per vehicle [kWh] too
    np.testing.assert_allclose(again.power_kw.sum(axis=1) * dt, res.power_kw.sum(axis=1) * dt, atol=1e-3)


def test_unknown_transaction_in_profiles_is_refused(run):
    doc = ocpp_profiles(build_plan(run))
    doc["profiles"][0]["request"]["chargingProfile"]["transactionId"] = "nobody"
    with pytest.raises(ValueError, match="transactionId"):
        setpoints_from_profiles(doc, run.scenario)


# --- CLI ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, run) -> Path:
    d = tmp_path_factory.mktemp("plan") / "run"
    write_run_outputs(run, d, power_quality=False)
    return d


def test_cli_plan_csv_json_ocpp(run_dir, run, tmp_path, schema):
    res = runner.invoke(app, ["plan", str(run_dir), "--format", "csv"])
    assert res.exit_code == 0, res.output
    df = pd.read_csv(io.BytesIO(res.stdout_bytes))
    assert list(df.columns) == PLAN_CSV_COLUMNS and len(df) == run.scenario.n_vehicles * run.scenario.n_steps
    out = tmp_path / "plan_fr.csv"
    res = runner.invoke(app, ["plan", str(run_dir), "--format", "csv", "--dialect", "excel-fr", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_bytes().decode("utf-8-sig").splitlines()[0].startswith("vehicle_id;model;")
    res = runner.invoke(app, ["plan", str(run_dir), "--format", "json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["format"] == "evfleet.plan/1"
    res = runner.invoke(app, ["plan", str(run_dir), "--format", "ocpp"])
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    for p in doc["profiles"]:
        jsonschema.Draft7Validator(schema).validate(p["request"])


@pytest.mark.parametrize(
    "args,msg",
    [
        (["--format", "xml"], "option '--format' must be csv, json or ocpp"),
        (["--format", "csv", "--dialect", "excel-de"], "option '--dialect'"),
    ],
)
def test_cli_plan_bad_options_exit_2_and_write_nothing(run_dir, tmp_path, args, msg):
    out = tmp_path / "p.out"
    res = runner.invoke(app, ["plan", str(run_dir), *args, "--out", str(out)])
    assert res.exit_code == 2 and msg in res.output
    assert not out.exists()


def test_cli_plan_missing_run_dir_exit_2(tmp_path):
    out = tmp_path / "p.csv"
    res = runner.invoke(app, ["plan", str(tmp_path / "nope"), "--format", "csv", "--out", str(out)])
    assert res.exit_code == 2 and "run directory not found" in res.output
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_cli_alerts_lists_the_vehicles_not_ready(run_dir):
    res = runner.invoke(app, ["alerts", str(run_dir), "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert {"S000000", "S000001"} <= {r["object"] for r in rows if r["kind"] == "vehicle_not_ready"}
    res = runner.invoke(app, ["alerts", str(run_dir)])
    assert res.exit_code == 0 and "vehicle_not_ready" in res.stdout
    assert runner.invoke(app, ["alerts", str(run_dir), "--format", "xml"]).exit_code == 2
