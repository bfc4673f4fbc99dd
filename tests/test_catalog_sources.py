"""The sourced catalogue: coverage, sources, V2G policy, --check, the EV2Gym 2024 what-if, DC taper limits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from evfleet.cli import app
from evfleet.inputs.catalog import CATALOG_COLUMNS, CatalogError, data_path, load_catalog, normalise_model_name
from evfleet.inputs.catalog_sources import (
    NUMBER_SOURCES,
    apply_ev2gym_v2g_2024,
    check_catalog,
    load_catalog_details,
    load_references,
    model_sources,
)
from evfleet.inputs.charging_curve import dc_limit_kw, session_taper, taper_cuts, taper_fields
from evfleet.inputs.generate import generate_scenario
from evfleet.problem import build_problem
from evfleet.scenario import FORMAT, scenario_from_dict
from evfleet.simulation.simulate import SimulationOptions, simulate

runner = CliRunner()
MODELS = data_path("catalog", "models.csv")
EV2GYM_2024 = {
    normalise_model_name(k) for k in json.loads(data_path("ev2gym", "ev_specs_v2g_enabled2024.json").read_text())
}


def raw_models() -> pd.DataFrame:
    return pd.read_csv(MODELS, dtype=str, keep_default_na=False)


def test_at_least_50_distinct_battery_electric_models() -> None:
    raw = raw_models()
    names = raw["model"].map(lambda m: normalise_model_name(m).lower())
    assert names.is_unique, "duplicate model after normalisation"
    bev = raw[raw["powertrain"] == "bev"]
    assert bev["model"].nunique() >= 50
    assert (bev["body"] == "van").sum() >= 8  # light commercial vehicles
    for name in ("Dacia Spring", "Renault Kangoo E-Tech", "Ford E-Transit", "Mercedes eSprinter", "Volvo EX30"):
        assert name in set(raw["model"])


def test_every_number_has_a_source_or_assumption() -> None:
    raw = raw_models()
    refs = load_references()
    for col, src_col in NUMBER_SOURCES.items():
        for model, src in zip(raw["model"], raw[src_col], strict=True):
            assert src.strip(), f"{model}: {col} has no source"
            if src.lower().startswith("assumption"):
                continue
            for rid in src.split(";"):
                assert rid in refs.index, f"{model}: {col} cites unknown reference {rid!r}"
    # References carry an address and the date they were read.
    assert refs["url"].str.match(r"^https?://").all()
    assert refs["date_read"].str.match(r"^\d{4}-\d{2}-\d{2}$").all()
    # EV2Gym registrations are kept where they exist; the other weights are labelled.
    ev2 = raw[raw["popularity_source"] == "ev2gym"]
    assert len(ev2) >= 20
    others = raw[raw["popularity_source"] != "ev2gym"]
    assert others["popularity_source"].str.startswith("assumption").all()


def test_v2g_only_with_a_grid_export_source() -> None:
    raw = raw_models()
    v2g = raw[raw["v2g"] == "yes"]
    assert len(v2g) >= 1
    assert (v2g["bidirectional"] == "v2g").all()
    assert not v2g["bidirectional_src"].str.lower().str.startswith("assumption").any()
    cat = load_catalog().set_index("model")
    assert cat.loc["Nissan Leaf", "v2g"] and cat.loc["Renault 5 E-Tech", "v2g"]
    # V2L / V2H only and the EV2Gym what-if do not count as V2G.
    assert not cat.loc["Tesla Model 3", "v2g"]
    assert not cat.loc["Volkswagen ID.4", "v2g"]
    assert not cat.loc["Hyundai Ioniq 5", "v2g"]
    details = load_catalog_details().set_index("model")
    assert details.loc["Volkswagen ID.4", "bidirectional"] == "v2h"
    assert details.loc["Hyundai Ioniq 5", "bidirectional"] == "v2l"


def test_load_catalog_backward_compatible() -> None:
    cat = load_catalog()
    assert list(cat.columns) == list(CATALOG_COLUMNS)
    assert cat["model"].str.lower().is_unique
    assert "Peugeot 208" in set(cat["model"]) and "Peugeot E-208" not in set(cat["model"])
    assert cat["registrations"].is_monotonic_decreasing
    assert (cat["battery_kwh"] > 0).all() and cat["v2g"].dtype == bool


def test_check_passes_on_the_shipped_catalogue() -> None:
    assert check_catalog() == []
    res = runner.invoke(app, ["catalog", "--check"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("ok: ") and "battery-electric" in res.output


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"battery_kwh": "-5"}, "column 'battery_kwh' must be within [1, 1000]"),
        ({"battery_kwh": "52000"}, "column 'battery_kwh' must be within [1, 1000]"),
        ({"model": "Peugeot E-208"}, "column 'model' duplicates row"),
        ({"battery_kwh_src": "nowhere"}, "column 'battery_kwh_src' names unknown reference 'nowhere'"),
        ({"battery_kwh_src": ""}, "column 'battery_kwh_src' is empty"),
        ({"v2g": "yes"}, "column 'v2g' must be yes exactly when bidirectional is v2g"),
        ({"ac_phases": "1", "ac_charge_kw": "22"}, "column 'ac_charge_kw' exceeds 9.6 kW on one phase"),
        ({"bidirectional": "v2x"}, "column 'bidirectional' must be one of v2g, v2h, v2l, none"),
    ],
)
def test_check_fails_on_a_broken_file(tmp_path: Path, edit: dict[str, str], message: str) -> None:
    raw = raw_models()
    row = raw.index[raw["model"] == "Tesla Model 3"][0]
    for col, val in edit.items():
        raw.loc[row, col] = val
    path = tmp_path / "models.csv"
    raw.to_csv(path, index=False)
    problems = check_catalog(path)
    assert any(message in p and str(path) in p for p in problems), problems
    res = runner.invoke(app, ["catalog", "--check", "--models", str(path)])
    assert res.exit_code == 2
    assert message in res.output


def test_check_v2g_needs_a_cited_source(tmp_path: Path) -> None:
    raw = raw_models()
    row = raw.index[raw["model"] == "Nissan Leaf"][0]
    raw.loc[row, "bidirectional_src"] = "assumption"
    path = tmp_path / "models.csv"
    raw.to_csv(path, index=False)
    assert any("must cite a source" in p for p in check_catalog(path))
    missing = raw.drop(columns=["notes"])
    missing.to_csv(path, index=False)
    assert any("missing column 'notes'" in p for p in check_catalog(path))


def test_model_sources_for_the_dashboard() -> None:
    leaf = model_sources("nissan leaf")
    assert leaf["model"] == "Nissan Leaf" and leaf["v2g"] and leaf["protocol"] == "CHAdeMO"
    bidi = leaf["fields"]["bidirectional"]
    assert bidi["status"] == "sourced" and all(r["url"].startswith("https://") for r in bidi["references"])
    assert leaf["fields"]["ac_phases"]["status"] == "assumption"
    assert leaf["fields"]["battery_kwh"]["value"] == 39.0
    assert set(leaf["fields"]) >= set(NUMBER_SOURCES)
    with pytest.raises(CatalogError, match="unknown model 'Nope'"):
        model_sources("Nope")


def test_user_rows_keep_their_source(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    pd.DataFrame([{"model": "Tesla Model 3", "registrations": 1, "battery_kwh": 60, "ac_charge_kw": 11,
                   "dc_charge_kw": 170, "ac_discharge_kw": 0, "dc_discharge_kw": 0, "v2g": "no",
                   "source": "fleet datasheet"}]).to_csv(path, index=False)  # fmt: skip
    details = load_catalog_details(path)
    info = model_sources("Tesla Model 3", details)
    battery = info["fields"]["battery_kwh"]
    assert battery["value"] == 60.0 and battery["status"] == "user" and battery["references"] == []
    assert battery["text"] == "user: fleet datasheet"
    assert details.set_index("model").loc["Tesla Model 3", "dc_taper_soc"] == pytest.approx(0.8)


def test_ev2gym_2024_what_if() -> None:
    details = load_catalog_details()
    what_if = apply_ev2gym_v2g_2024(details).set_index("model")
    assert set(what_if.index) >= EV2GYM_2024
    for name in EV2GYM_2024:
        assert what_if.loc[name, "v2g"] and what_if.loc[name, "ac_discharge_kw"] > 0
        assert "what-if" in what_if.loc[name, "source"]
    assert what_if.loc["Tesla Model 3", "ac_discharge_kw"] == 11.0
    assert not what_if.loc["Dacia Spring", "v2g"]  # not in the EV2Gym file: unchanged

    kw = {"vehicles": 60, "seed": 3, "start": "2026-01-05", "composition": {"Tesla Model 3": 60},
          "bidirectional_share": 1.0}  # fmt: skip
    base = generate_scenario(**kw)
    assume = generate_scenario(**kw, v2g_ready_2024=True)
    assert (base.vehicles.max_discharge_kw == 0).all()
    assert (assume.vehicles.max_discharge_kw > 0).all()
    assert assume.extra["generator"]["evfleet_params"]["v2g_ready_2024"] is True
    assert "v2g_ready_2024" not in base.extra["generator"]["evfleet_params"]


def test_cli_what_if_flag(tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    args = ["scenario", "new", "--vehicles", "20", "--start", "2026-01-05", "--composition", "Tesla Model Y:20",
            "--bidirectional-share", "1", "--out", str(out)]  # fmt: skip
    assert runner.invoke(app, args).exit_code == 0
    assert max(json.loads(out.read_text())["vehicles"]["max_discharge_kw"]) == 0
    res = runner.invoke(app, [*args, "--assume-ev2gym-v2g-2024"])
    assert res.exit_code == 0, res.output
    assert min(json.loads(out.read_text())["vehicles"]["max_discharge_kw"]) > 0


# --- DC charging curve -------------------------------------------------------------------------------------------


def test_dc_limit_shape() -> None:
    soc = np.array([0.0, 0.5, 0.8, 0.9, 1.0])
    lim = dc_limit_kw(soc, 100.0, 0.8, 20.0)
    np.testing.assert_allclose(lim, [100, 100, 100, 60, 20])
    np.testing.assert_allclose(dc_limit_kw(soc, 100.0, 1.0, 20.0), 100.0)  # knee 1: no taper


@settings(max_examples=60, deadline=None)
@given(
    soc=st.floats(0, 1),
    peak=st.floats(1, 400),
    knee=st.floats(0, 1),
    end_frac=st.floats(0, 1),
)
def test_taper_cuts_are_the_same_limit(soc: float, peak: float, knee: float, end_frac: float) -> None:
    a, b = taper_cuts(peak, knee, end_frac * peak)
    lim = dc_limit_kw(soc, peak, knee, end_frac * peak)
    assert float(np.minimum(peak, a + b * soc)) == pytest.approx(float(lim), rel=1e-9, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(peak=st.floats(5, 300), charger=st.floats(5, 300), knee=st.floats(0, 0.95), end_frac=st.floats(0, 0.9))
def test_session_taper_is_min_of_charger_and_vehicle(peak: float, charger: float, knee: float, end_frac: float) -> None:
    k, e = session_taper(np.array([peak]), np.array([charger]), np.array([knee]), np.array([end_frac]))
    soc = np.linspace(0, 1, 41)
    session = dc_limit_kw(soc, min(peak, charger), k[0], e[0])
    expected = np.minimum(charger, dc_limit_kw(soc, peak, knee, end_frac * peak))
    np.testing.assert_allclose(session, expected, rtol=1e-9, atol=1e-6)


def _one_dc_vehicle(taper: bool) -> dict:
    vehicle = {"id": ["S0"], "model": ["Test EV"], "arrival_step": [0], "departure_step": [10], "battery_kwh": [100.0],
               "soc_arrival": [0.5], "soc_target": [1.0], "soc_min": [0.2], "soc_max": [1.0],
               "max_charge_kw": [100.0], "max_discharge_kw": [0.0], "charge_efficiency": [0.95],
               "discharge_efficiency": [0.95]}  # fmt: skip
    if taper:
        vehicle |= {"taper_soc": [0.8], "taper_end_kw": [20.0]}
    return {
        "format": FORMAT, "name": "t", "start": "2026-01-05T00:00:00+01:00", "step_minutes": 6, "n_steps": 10,
        "site": {"import_limit_kw": 1000.0, "export_limit_kw": 1000.0}, "degradation_mad_per_kwh": 0.0,
        "series": {"price_import_mad_per_kwh": [1.0] * 10, "price_export_mad_per_kwh": [0.5] * 10,
                   "base_load_kw": [0.0] * 10, "pv_kw": [0.0] * 10},
        "vehicles": vehicle,
    }  # fmt: skip


def test_simulator_applies_the_taper_and_keeps_energy_exact() -> None:
    sc = scenario_from_dict(_one_dc_vehicle(taper=True))
    res = simulate(sc, "uncontrolled", SimulationOptions(v2g=False))
    soc_start = res.soc[0, :-1]
    p = res.power_kw[0]
    limit = dc_limit_kw(soc_start, 100.0, 0.8, 20.0)
    assert np.all(p <= limit + 1e-9)
    need_kw = (1.0 - soc_start) * 100.0 / (0.95 * sc.dt_h)  # what the uncontrolled rule asks for
    np.testing.assert_allclose(p, np.minimum(limit, np.minimum(100.0, need_kw)), atol=1e-9)
    binding = limit < np.minimum(100.0, need_kw) - 1e-6
    assert binding.sum() >= 2 and np.all(soc_start[binding] > 0.8)  # the taper binds above the knee only
    e = res.energy_kwh[0]
    np.testing.assert_allclose(np.diff(e), 0.95 * p * sc.dt_h, atol=1e-12)  # energy balance exact

    plain = simulate(scenario_from_dict(_one_dc_vehicle(taper=False)), "uncontrolled", SimulationOptions(v2g=False))
    first = np.flatnonzero(binding)[0]
    np.testing.assert_allclose(plain.power_kw[0, : first + 1], np.minimum(100.0, need_kw[: first + 1]))
    assert plain.power_kw[0, first] > p[first] + 1.0  # without the fields: the old full-power behaviour


def test_generated_dc_sessions_carry_taper_fields_and_engine_respects_them() -> None:
    sc = generate_scenario(vehicles=80, seed=5, start="2026-01-05", charger_mix={"dc50": 0.5, "dc150": 0.5},
                           soc_max=1.0, soc_target=1.0)  # fmt: skip
    v = sc.vehicles
    knee, end = taper_fields(v.extra, len(v))
    is_dc = np.asarray([str(c).startswith("dc") for c in v.extra["charger"]])
    assert np.all(knee[~is_dc] == 1.0) and np.all(knee[is_dc] <= 1.0) and np.any(knee[is_dc] < 1.0)
    assert np.all(end <= v.max_charge_kw + 1e-12)
    res = simulate(sc, "uncontrolled")
    soc = res.soc[:, :-1]
    lim = dc_limit_kw(soc, v.max_charge_kw[:, None], knee[:, None], end[:, None])
    assert np.all(res.power_kw <= lim + 1e-9)
    flows = v.charge_efficiency[:, None] * np.maximum(res.power_kw, 0) * sc.dt_h
    np.testing.assert_allclose(np.diff(res.energy_kwh, axis=1), flows, atol=1e-9)


def test_bad_taper_fields_are_named() -> None:
    data = _one_dc_vehicle(taper=True)
    data["vehicles"]["taper_soc"] = [1.5]
    with pytest.raises(ValueError, match=r"vehicles.taper_soc\[0\]' must be within 0-1 \(value 1.5\)"):
        simulate(scenario_from_dict(data), "uncontrolled")


def test_problem_carries_the_taper_fields_for_optimisers() -> None:
    sc = scenario_from_dict(_one_dc_vehicle(taper=True))
    problem = build_problem(sc, np.arange(1), sc.vehicles.energy_arrival_kwh.copy(), 0, sc.n_steps, False)
    np.testing.assert_allclose(problem.taper_soc, [0.8])
    np.testing.assert_allclose(problem.taper_end_kw, [20.0])
    plain = scenario_from_dict(_one_dc_vehicle(taper=False))
    problem = build_problem(plain, np.arange(1), plain.vehicles.energy_arrival_kwh.copy(), 0, plain.n_steps, False)
    assert problem.taper_soc is None and problem.taper_end_kw is None
