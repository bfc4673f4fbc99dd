"""Scenario file format: generation determinism, round trip, validation errors."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from evfleet.inputs.generate import ScenarioParams, generate_scenario
from evfleet.scenario import ScenarioError, load_scenario, save_scenario, scenario_from_dict
from factories import scenario_dict


@pytest.fixture(scope="module")
def generated():
    return generate_scenario(vehicles=120, seed=7, start="2026-07-01", pv_kwp=80.0)


def test_same_seed_identical_file(tmp_path, generated) -> None:
    again = generate_scenario(vehicles=120, seed=7, start="2026-07-01", pv_kwp=80.0)
    assert again.to_json() == generated.to_json()
    other = generate_scenario(vehicles=120, seed=8, start="2026-07-01", pv_kwp=80.0)
    assert other.to_json() != generated.to_json()


def test_round_trip(tmp_path, generated) -> None:
    path = save_scenario(generated, tmp_path / "sc.json")
    loaded = load_scenario(path)
    assert loaded.to_json() == generated.to_json()
    assert loaded.content_hash == generated.content_hash
    data = json.loads(path.read_text())
    assert data["format"] == "evfleet.scenario/1"
    assert len(data["vehicles"]["id"]) == generated.n_vehicles
    assert len(data["series"]["pv_kw"]) == data["n_steps"]


def test_generated_scenario_is_sensible(generated) -> None:
    sc = generated
    v = sc.vehicles
    assert sc.n_steps == 96 and sc.step_minutes == 15
    assert str(sc.times.tz) == "Africa/Casablanca"
    assert sc.times[0].hour == 12  # depot horizon runs noon to noon
    assert np.all(v.departure_step > v.arrival_step)
    assert np.all((v.soc_arrival >= 0) & (v.soc_arrival <= v.soc_max))
    # V2G only where both the model and the charger are bidirectional.
    bidi = np.asarray(v.extra["bidirectional_charger"], dtype=bool)
    assert np.all(v.max_discharge_kw[~bidi] == 0)
    # PV produces in the afternoon of a July day in Casablanca, not at night.
    hours = sc.times.hour
    assert sc.pv_kw[(hours >= 13) & (hours <= 15)].min() > 0.5 * 80.0
    assert np.all(sc.pv_kw[(hours >= 22) | (hours <= 4)] == 0)
    # Tariff periods follow the shipped MT tri-horaire summer hours.
    assert set(sc.tou_period[(hours >= 18) & (hours < 23)]) == {"pointe"}


def test_only_required_fields_load_and_run() -> None:
    from evfleet.simulation.simulate import simulate

    sc = scenario_from_dict(scenario_dict())
    assert simulate(sc).power_kw.shape == (1, 4)


def test_optional_fields_preserved() -> None:
    data = scenario_dict()
    data["series"]["frequency_hz"] = [50.0, 50.01, 49.99, 50.0]
    data["vehicles"]["charger"] = ["ac11"]
    data["meta"] = {"owner": "depot 3"}
    sc = scenario_from_dict(data)
    assert json.loads(sc.to_json()) == json.loads(json.dumps(data))


def test_arrays_are_read_only() -> None:
    sc = scenario_from_dict(scenario_dict())
    with pytest.raises(ValueError):
        sc.vehicles.battery_kwh[0] = 1.0
    with pytest.raises(ValueError):
        sc.series["pv_kw"][0] = 1.0


BAD_CASES = [
    (lambda d: d.update(format="other/1"), "format"),
    (lambda d: d.update(start="2026-01-05T00:00:00"), "start"),
    (lambda d: d.update(step_minutes=0), "step_minutes"),
    (lambda d: d["site"].update(import_limit_kw=-1), "site.import_limit_kw"),
    (lambda d: d["series"].update(pv_kw=[0.0, 0.0]), "series.pv_kw"),
    (lambda d: d["series"]["base_load_kw"].__setitem__(2, float("nan")), "series.base_load_kw[2]"),
    (lambda d: d["series"]["pv_kw"].__setitem__(1, -3.0), "series.pv_kw[1]"),
    (lambda d: d["vehicles"]["soc_arrival"].__setitem__(0, 85.0), "vehicles.soc_arrival[0]"),
    (lambda d: d["vehicles"]["max_charge_kw"].__setitem__(0, -7.0), "vehicles.max_charge_kw[0]"),
    (lambda d: d["vehicles"]["departure_step"].__setitem__(0, 0), "vehicles.departure_step[0]"),
    (lambda d: d["vehicles"]["departure_step"].__setitem__(0, 99), "vehicles.departure_step[0]"),
    (lambda d: d["vehicles"]["soc_target"].__setitem__(0, 0.95), "vehicles.soc_target[0]"),
    (lambda d: d["vehicles"]["charge_efficiency"].__setitem__(0, 0.0), "vehicles.charge_efficiency[0]"),
    (lambda d: d["vehicles"]["arrival_step"].__setitem__(0, 1.5), "vehicles.arrival_step[0]"),
    (lambda d: d["vehicles"].pop("battery_kwh"), "vehicles.battery_kwh"),
    (lambda d: d["vehicles"]["model"].__setitem__(0, ""), "vehicles.model[0]"),
]


@pytest.mark.parametrize(("mutate", "field"), BAD_CASES)
def test_validation_names_field_and_index(mutate, field) -> None:
    data = copy.deepcopy(scenario_dict())
    mutate(data)
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)
    assert f"'{field}'" in str(info.value)


def test_duplicate_ids() -> None:
    data = scenario_dict(vehicles=[{}, {}])
    data["vehicles"]["id"] = ["A", "A"]
    with pytest.raises(ScenarioError, match=r"vehicles.id\[1\]' duplicates vehicles.id\[0\] \(value 'A'\)"):
        scenario_from_dict(data)


def test_bad_file(tmp_path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(ScenarioError, match="not valid JSON"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario(tmp_path / "missing.json")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"vehicles": 0}, "vehicles"),
        ({"soc_min": 20.0}, "soc_min"),
        ({"profile": "airport"}, "profile"),
        ({"charger_mix": {"ac99": 1.0}}, "ac99"),
        ({"tariff": "nope"}, "unknown tariff"),
        ({"composition": {"Unknown Car": 10}, "vehicles": 10}, "unknown model"),
        ({"composition": {"Tesla Model 3": 5}, "vehicles": 10}, "sum to 5"),
    ],
)
def test_generation_parameter_errors(params, message) -> None:
    with pytest.raises(ValueError, match=message):
        generate_scenario(ScenarioParams(**{"start": "2026-01-05", **params}))


@pytest.mark.parametrize("profile", ["depot", "workplace", "mixed"])
def test_profiles_generate(profile) -> None:
    sc = generate_scenario(vehicles=60, seed=1, start="2026-03-02", profile=profile, days=2)
    assert sc.n_steps == 192
    assert sc.n_vehicles > 60  # one session per vehicle and day (minus those outside the horizon)
    assert len(set(sc.vehicles.extra["vehicle"])) == 60


def test_composition_exact() -> None:
    sc = generate_scenario(vehicles=10, seed=1, start="2026-01-05", composition={"Tesla Model 3": 6, "Nissan Leaf": 4})
    models, counts = np.unique(sc.vehicles.model.astype(str), return_counts=True)
    assert dict(zip(models, counts, strict=True)) == {"Tesla Model 3": 6, "Nissan Leaf": 4}
