"""Typed strategy parameters, the typed strategy report and run isolation (no state carried between runs)."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import re
import string
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evfleet._common.errors import InputError, RunError
from evfleet.analysis.kpis import compute_kpis
from evfleet.scenario import Scenario
from evfleet.simulation.simulate import SimulationOptions, build_problem, simulate, unmet_reasons
from evfleet.strategies import StrategyReport, get_strategy, strategy_names
from evfleet.strategies.optim.receding import SolverParams
from evfleet.strategies.params import markdown_rows, param_info
from factories import tiny_scenario

DOCS = Path(__file__).resolve().parents[1] / "docs" / "strategies.md"

SOLVER = {
    "unmet_penalty": None,
    "fine_steps": None,
    "block_steps": None,
    "time_limit_s": 600.0,
    "presolve": None,
    "merge": "plain",
}
#: The public parameters of every registered strategy with their defaults (the contract of docs/strategies.md).
EXPECTED: dict[str, dict[str, Any]] = {
    "uncontrolled": {},
    "timer": {"fallback": "arrival"},
    "load_balancing": {},
    "peak_shaving": {**SOLVER, "tie_breaker": 1e-3},
    "valley_filling": {**SOLVER, "tie_breaker": 1e-6, "earliness": 1e-6},
    "price_optimization": {**SOLVER, "unmet_penalty": 100.0, "peak_tiebreak": 0.0, "tie_break": "level"},
    "grid_support": {
        **SOLVER,
        "pointe_weight": 10.0,
        "reserve_price": 0.15,
        "reserve_duration_h": 0.25,
        "seed": 0,
        "fcr_block_h": 4.0,
        "fcr_min_offer_kw": 1000.0,
        "fcr_participation": "v2g_and_charging",
    },
    "renewable_integration": {**SOLVER, "tie_breaker": 1e-3},
}
INT_PARAMS = {"fine_steps", "block_steps", "seed"}
STR_PARAMS = {"presolve", "merge", "fallback", "fcr_participation", "tie_break"}
#: A value just outside each parameter's range.
OUT_OF_RANGE = {
    "unmet_penalty": 0.0,
    "fine_steps": 0,
    "block_steps": 0,
    "time_limit_s": 0.0,
    "presolve": "sometimes",
    "merge": "always",
    "fallback": "later",
    "tie_break": "sometimes",
    "tie_breaker": -1e-3,
    "earliness": -1.0,
    "peak_tiebreak": -1e-4,
    "pointe_weight": -1.0,
    "reserve_price": -0.1,
    "reserve_duration_h": 0.0,
    "seed": -1,
    "fcr_block_h": -1.0,
    "fcr_min_offer_kw": -1.0,
    "fcr_participation": "always",
}
#: A valid value different from the default.
OTHER = {
    "unmet_penalty": 50,
    "fine_steps": 2.0,
    "block_steps": 3,
    "time_limit_s": 120,
    "presolve": "on",
    "merge": "off",
    "fallback": "none",
    "tie_break": "off",
    "tie_breaker": 0.01,
    "earliness": 0.0,
    "peak_tiebreak": 1e-4,
    "pointe_weight": 5,
    "reserve_price": 0.3,
    "reserve_duration_h": 0.5,
    "seed": 7,
    "fcr_block_h": 1.0,
    "fcr_min_offer_kw": 100.0,
    "fcr_participation": "v2g_only",
}
TIMINGS = {"build_s", "solve_s", "online_replan_mean_s", "online_replan_max_s"}


def bad_values(param: str) -> list[Any]:
    """Values of a wrong type, NaN/infinite or out of range for ``param``."""
    if param in STR_PARAMS:
        return [3, True, OUT_OF_RANGE[param]]
    common = ["1", True, math.nan, math.inf, [1.0], OUT_OF_RANGE[param]]
    return [*common, 2.5] if param in INT_PARAMS else common


BAD_CASES = [(name, p, v) for name, params in EXPECTED.items() for p in params for v in bad_values(p)]


def mixed_scenario() -> Scenario:
    """8 hourly steps, a binding site limit, two V2G vehicles and one that cannot reach its target (1 h stay)."""
    vehicles = [
        {"arrival_step": 0, "departure_step": 8, "soc_arrival": 0.6, "max_discharge_kw": 10.0},
        {"arrival_step": 1, "departure_step": 7, "soc_arrival": 0.5, "max_discharge_kw": 7.0},
        {"arrival_step": 2, "departure_step": 3},
        {"arrival_step": 0, "departure_step": 5, "soc_arrival": 0.2},
    ]
    price = [1.0, 1.0, 0.6, 0.6, 1.4, 2.0, 2.0, 1.0]
    return tiny_scenario(n_steps=8, vehicles=vehicles, price=price, base_load_kw=[8.0, 9, 10, 12, 15, 18, 14, 10],
                         price_export=[0.2] * 8, import_limit_kw=30.0, export_limit_kw=20.0)  # fmt: skip


def without_timings(report: StrategyReport) -> dict[str, Any]:
    return {k: v for k, v in report.to_dict().items() if k not in TIMINGS}


# --- parameters ------------------------------------------------------------------------------------------------


def test_every_registered_strategy_has_a_documented_contract() -> None:
    assert sorted(strategy_names()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_misspelt_parameter_raises_naming_it_and_the_valid_ones(name: str) -> None:
    valid = list(EXPECTED[name])
    wrong = valid[0][:-1] + "x" if valid else "unmet_penalty"  # a typo of a real one, or one it does not take
    with pytest.raises(InputError) as err:
        get_strategy(name, **{wrong: 1.0})
    msg = str(err.value)
    assert msg.startswith(f"strategy {name!r} has no parameter {wrong!r} (valid: ")
    listed = re.search(r"\(valid: ([^)]*)\)", msg).group(1)
    assert listed.split(", ") == (valid or ["none"])


def test_misspelt_parameter_message_suggests_the_right_name() -> None:
    with pytest.raises(InputError, match=r"has no parameter 'unmet_penlty' \(valid: .*unmet_penalty.*\); did you mean "
                                         r"'unmet_penalty'\?"):  # fmt: skip
        get_strategy("price_optimization", unmet_penlty=5)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(EXPECTED)), wrong=st.text(string.ascii_letters + "_", min_size=1, max_size=24))
def test_any_unknown_parameter_is_rejected(name: str, wrong: str) -> None:
    if wrong in EXPECTED[name]:
        return
    with pytest.raises(InputError, match=rf"^strategy '{name}' has no parameter {re.escape(repr(wrong))} \(valid: "):
        get_strategy(name, **{wrong: 1})


@pytest.mark.parametrize(("name", "param", "value"), BAD_CASES, ids=[f"{n}-{p}-{v!r}" for n, p, v in BAD_CASES])
def test_bad_value_raises_naming_parameter_and_value(name: str, param: str, value: Any) -> None:
    with pytest.raises(InputError, match=rf"^strategy '{name}': parameter '{param}' must be .*\(value "
                                         rf"{re.escape(repr(value))}\)$"):  # fmt: skip
        get_strategy(name, **{param: value})


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_params_are_complete_plain_and_round_trip(name: str) -> None:
    s = get_strategy(name)
    assert s.params == EXPECTED[name]
    assert type(s.params) is dict
    assert get_strategy(name, **s.params).params == s.params
    assert get_strategy(name, **json.loads(json.dumps(s.params))).params == s.params  # as stored in a run
    s.params["x"] = 1  # a copy: the strategy is not changed through it
    assert s.params == EXPECTED[name]
    other = get_strategy(name, **{p: OTHER[p] for p in EXPECTED[name]})
    assert get_strategy(name, **other.params).params == other.params
    for p, v in other.params.items():  # normalised: numbers as float, integers as int
        assert type(v) is (str if p in STR_PARAMS else int if p in INT_PARAMS else float), (p, v)
        assert v == OTHER[p]
    if EXPECTED[name]:
        assert dataclasses.is_dataclass(s.config)
        with pytest.raises(dataclasses.FrozenInstanceError):
            s.config.time_limit_s = 1.0  # type: ignore[misc]


def test_run_stores_every_parameter() -> None:
    r = simulate(mixed_scenario(), "grid_support", SimulationOptions(), reserve_price=0.2)
    assert r.strategy_params == {**EXPECTED["grid_support"], "reserve_price": 0.2}


def test_parameters_with_a_strategy_instance_are_an_error_not_ignored() -> None:
    with pytest.raises(InputError, match="unmet_penalty"):
        simulate(mixed_scenario(), get_strategy("price_optimization"), SimulationOptions(), unmet_penalty=5.0)


def test_docs_list_every_parameter_with_unit_default_and_meaning() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    base = {f.name: f for f in dataclasses.fields(SolverParams)}
    for name in strategy_names():
        cls = get_strategy(name).params_class
        fields = dataclasses.fields(cls)
        for info, f in zip(param_info(cls), fields, strict=True):
            section = "### Every solver strategy" if base.get(f.name) is f else f"### `{name}`"
            row = markdown_rows([info])[0]
            start = docs.index(section)
            end = docs.find("\n## ", start)
            assert row in docs[start:end], (name, row)


# --- the report ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["offline", "online"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_report_is_a_strategy_report(name: str, mode: str) -> None:
    s = get_strategy(name)
    r = simulate(mixed_scenario(), s, SimulationOptions(mode=mode))
    assert isinstance(s.report, StrategyReport) and isinstance(r.strategy_report, StrategyReport)
    rep = r.strategy_report
    assert StrategyReport.from_dict(rep.to_dict()) == rep
    if s.uses_solver:
        assert (rep.solve is not None) == (mode == "offline") and (rep.online is not None) == (mode == "online")
        assert rep.projection_max_kw is not None and rep.projection_max_kw < 1e-5
    else:
        assert rep == StrategyReport() and rep.to_dict() == {}
    assert (rep.reserve is not None) == (name == "grid_support")
    # the unmet reasons name scenario vehicles, and the simulator's reasons use them
    assert set(rep.unmet_reason_by_vehicle) <= set(range(mixed_scenario().n_vehicles))
    for i, why in rep.unmet_reason_by_vehicle.items():
        assert r.unmet_reason[i] in (why, "")


def test_report_dict_has_the_kpi_keys_in_order() -> None:
    r = simulate(mixed_scenario(), "grid_support", SimulationOptions(mode="offline"))
    assert [k for k in compute_kpis(r) if k.startswith("strategy_")] == [
        f"strategy_{k}"
        for k in (
            "reserve_price_mad_per_kw_h", "reserve_mean_kw", "reserve_max_kw", "reserve_value_mad",
            "fcr_energy_up_kwh", "fcr_energy_down_kwh", "pointe_import_kwh", "frequency_source",
            "fcr_projection_max_kw", "reserve_block_h", "reserve_min_offer_kw",
            "objective", "solver_status", "build_s", "solve_s", "n_variables",
            "n_constraints", "planned_unmet_kwh", "projection_max_kw",
        )
    ]  # fmt: skip
    assert r.strategy_report.unmet_reason_by_vehicle[2] == "stay_too_short"
    assert r.unmet_reason[2] == "stay_too_short"


def test_unmet_reason_outside_the_scenario_is_an_error_not_dropped() -> None:
    sc = mixed_scenario()
    unmet = np.ones(sc.n_vehicles)
    with pytest.raises(RunError, match="vehicle index 4"):
        unmet_reasons(sc, unmet, np.zeros(sc.n_vehicles), {4: "site_limit"})


def test_report_from_dict_rejects_unknown_and_partial_keys() -> None:
    with pytest.raises(InputError, match="'objectiv'"):
        StrategyReport.from_dict({"objectiv": 1.0})
    with pytest.raises(InputError, match="'solver_status'"):
        StrategyReport.from_dict({"objective": 1.0})


# --- no state across runs --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["offline", "online"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reused_strategy_gives_identical_results_and_reports(name: str, mode: str) -> None:
    sc = mixed_scenario()
    opts = SimulationOptions(mode=mode)
    s = get_strategy(name)
    first = simulate(sc, s, opts)
    kept = copy.deepcopy(first.strategy_report)
    second = simulate(sc, s, opts)
    np.testing.assert_array_equal(first.power_kw, second.power_kw)
    np.testing.assert_array_equal(first.unmet_reason, second.unmet_reason)
    assert without_timings(first.strategy_report) == without_timings(second.strategy_report)
    assert first.strategy_report == kept  # the second run did not change the first run's report
    fresh = simulate(sc, get_strategy(name), opts)
    assert without_timings(fresh.strategy_report) == without_timings(second.strategy_report)
    if s.uses_solver and mode == "online":
        assert second.strategy_report.online.online_replans == sc.n_steps


def test_start_run_forgets_a_hand_driven_run() -> None:
    sc = mixed_scenario()
    s = get_strategy("grid_support")
    idx = np.arange(sc.n_vehicles)
    problem = build_problem(sc, idx, sc.vehicles.energy_arrival_kwh.copy(), 0, sc.n_steps, True)
    s.schedule(problem)
    once = without_timings(s.report)
    s.start_run()
    assert s.report == StrategyReport()
    s.schedule(problem)
    assert without_timings(s.report) == once
