"""The default generated fleet: a Moroccan depot mix, arrival SOC without a clipping spike, BEVs, labelled catalogue
weights; fleet CSVs with `;` and decimal commas; unknown models answered with the closest names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evfleet._common.errors import InputError
from evfleet.inputs.catalog import CatalogError, closest_model_names, load_catalog, lookup_models
from evfleet.inputs.catalog_sources import load_catalog_details
from evfleet.inputs.fleet_mix import fleet_mix, fleet_mix_names, mix_counts
from evfleet.inputs.generate import ScenarioParams, generate_scenario
from evfleet.inputs.importers import ImportValidationError, fleet_composition, parse_decimal, parse_fleet


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), mix=st.sampled_from(["morocco_depot", "ev2gym_nl"]),
       floor=st.sampled_from([0.05, 0.10, 0.2]))  # fmt: skip
def test_arrival_soc_has_no_spike_at_the_floor(seed: int, mix: str, floor: float) -> None:
    sc = generate_scenario(vehicles=400, seed=seed, start="2026-01-15", fleet_mix=mix, soc_arrival_floor=floor)
    soc = sc.vehicles.soc_arrival
    assert (soc >= floor - 1e-12).all() and (soc <= 0.85 + 1e-12).all()
    assert int(np.isclose(soc, floor, atol=1e-9).sum()) == 0  # no clipped session sits on the floor
    # no 1 %-point bin near the floor holds a spike: at most 3 % of the sessions (the clipped draw put 22 % there)
    assert float(((soc >= floor) & (soc < floor + 0.01)).mean()) <= 0.03


@pytest.mark.parametrize("n", [50, 137, 500, 2000])
def test_morocco_depot_shares_are_respected(n: int) -> None:
    sc = generate_scenario(vehicles=n, seed=1, start="2026-01-15")
    assert ScenarioParams().fleet_mix == "morocco_depot"
    mix = fleet_mix("morocco_depot")
    counts = pd.Series(sc.vehicles.model).value_counts()
    for model, share in mix.model_shares().items():
        assert abs(int(counts.get(model, 0)) - share * n) < 1.0 + 1e-9, model
    assert counts.sum() == n and set(counts.index) <= set(mix.model_shares())
    roles = mix.role_shares()
    assert roles == pytest.approx({"van": 0.60, "taxi": 0.25, "pool car": 0.15})


def test_default_fleet_is_battery_electric_and_the_dutch_mix_stays_available() -> None:
    cat = load_catalog_details().set_index("model")
    default = generate_scenario(vehicles=300, seed=2, start="2026-01-15")
    assert (cat.loc[list(set(default.vehicles.model)), "powertrain"] == "bev").all()
    nl = generate_scenario(vehicles=300, seed=2, start="2026-01-15", fleet_mix="ev2gym_nl")
    models = set(nl.vehicles.model)
    assert (cat.loc[list(models), "popularity_source"] == "ev2gym").all()  # drawn by Dutch registrations
    assert (cat.loc[list(models), "powertrain"] == "phev").any()  # EV2Gym's mix has PHEVs
    assert fleet_mix_names()[0] == "morocco_depot" and "ev2gym_nl" in fleet_mix_names()


def test_unknown_fleet_mix_names_the_parameter() -> None:
    with pytest.raises(InputError, match=r"parameter 'fleet_mix' must be one of morocco_depot, ev2gym_nl \(value "):
        generate_scenario(vehicles=10, fleet_mix="dutch")


def test_mix_counts_largest_remainder() -> None:
    assert mix_counts({"a": 0.5, "b": 0.3, "c": 0.2}, 7) == {"a": 4, "b": 2, "c": 1}  # 3.5 2.1 1.4 -> +1 to a
    assert sum(mix_counts({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}, 100).values()) == 100


def test_no_placeholder_weight_is_shown_as_a_count() -> None:
    cat = load_catalog_details()
    sourced = cat["popularity_source"] == "ev2gym"
    assert (cat.loc[~sourced, "registrations"] == 0).all()
    assert cat.loc[~sourced, "popularity_source"].str.startswith("assumption: no registration figure").all()
    assert not (cat["registrations"] == 5000).any()


def test_parse_decimal() -> None:
    assert parse_decimal("0,35") == 0.35
    assert parse_decimal("1 234,5") == 1234.5
    assert parse_decimal("1\u202f234,5") == 1234.5
    assert parse_decimal("1.234,5") == 1234.5
    assert parse_decimal("1,234.5") == 1234.5
    assert parse_decimal("12") == 12.0
    with pytest.raises(ValueError):
        parse_decimal("1,2,3")


def test_fleet_csv_with_semicolons_and_decimal_commas(tmp_path) -> None:
    text = (
        "vehicle_id;model;arrival;departure;soc_arrival;soc_target;charger\n"
        "V1;Renault Kangoo E-Tech;18:30;07:00;0,35;85%;ac11\n"
        "V2;Dacia Spring;19:00;06:30;22,5 %;0,8;ac7.4\n"
    )
    path = tmp_path / "fleet.csv"
    path.write_text(text, encoding="utf-8")
    parsed = parse_fleet(path, date="2026-03-02")
    rows = parsed.payload["rows"]
    assert [r["soc_arrival"] for r in rows] == pytest.approx([0.35, 0.225])
    assert [r["soc_target"] for r in rows] == pytest.approx([0.85, 0.8])
    # the same content uploaded (the dashboard's path) gives the same result
    assert parse_fleet(path, data=text.encode(), date="2026-03-02").payload == parsed.payload
    per_model = parse_fleet(tmp_path / "m.csv", data=b"model;count\nDacia Spring;12\nMG ZS EV;3,0\n")
    assert fleet_composition(per_model) == {"Dacia Spring": 12, "MG ZS EV": 3}
    assert fleet_composition(parsed) == {"Renault Kangoo E-Tech": 1, "Dacia Spring": 1}


def test_unknown_models_are_answered_with_the_closest_names(tmp_path) -> None:
    cat = load_catalog()
    assert closest_model_names("Renault 5", cat["model"])[0] == "Renault 5 E-Tech"
    assert closest_model_names("Dacia Sprng", cat["model"])[0] == "Dacia Spring"
    assert closest_model_names("zzzz qqqq", cat["model"]) == []
    with pytest.raises(CatalogError, match=r"unknown model 'Renault 5'; did you mean 'Renault 5 E-Tech'"):
        lookup_models(cat, ["Renault 5"])
    with pytest.raises(ImportValidationError, match=r"did you mean 'Renault 5 E-Tech'"):
        parse_fleet(tmp_path / "f.csv", data=b"model;count\nRenault 5;4\n")
    with pytest.raises(CatalogError, match="did you mean 'Renault Kangoo E-Tech'"):
        generate_scenario(vehicles=3, composition={"Kangoo": 3})
