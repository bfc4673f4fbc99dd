"""Input files cannot exhaust memory: YAML aliases refused, file sizes and sweep sizes bounded, errors named."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evfleet._common.errors import InputError
from evfleet._common.structured import load_yaml, read_structured_file
from evfleet.batch.depots import load_fleet
from evfleet.batch.spec import SpecError, load_spec, parse_spec
from evfleet.cli import app
from evfleet.gridquality.site import mapping_from_file
from evfleet.inputs.tariffs import TariffError, load_tariff

BOMB = """a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
base: {vehicles: *h}
"""


def test_yaml_aliases_are_refused() -> None:
    with pytest.raises(InputError, match=r"YAML anchors \(&a\) are not supported"):
        load_yaml(BOMB, "bomb.yaml")
    with pytest.raises(InputError, match="aliases"):
        load_yaml("x: 1\ny: *undefined\n", "alias.yaml")
    assert load_yaml("base: {vehicles: 20}\n") == {"base": {"vehicles": 20}}


@pytest.mark.parametrize(
    ("reader", "error", "suffix"),
    [
        (load_spec, SpecError, ".yaml"),
        (load_fleet, InputError, ".yaml"),
        (load_tariff, TariffError, ".yaml"),
        (mapping_from_file, InputError, ".yml"),
    ],
)
def test_every_yaml_reader_refuses_a_billion_laughs(tmp_path: Path, reader, error, suffix: str) -> None:
    path = tmp_path / f"bomb{suffix}"
    path.write_text(BOMB, encoding="utf-8")
    t0 = time.perf_counter()
    with pytest.raises(error, match="not supported"):
        reader(path)
    assert time.perf_counter() - t0 < 5  # refused while parsing, nothing expanded


def test_input_file_size_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.json"
    path.write_text('{"x": "' + "y" * 5000 + '"}', encoding="utf-8")
    monkeypatch.setenv("EVFLEET_MAX_INPUT_FILE_BYTES", "1000")
    with pytest.raises(InputError, match=r"5,009 bytes is larger than the bound of 1,000 bytes"):
        read_structured_file(path)
    monkeypatch.setenv("EVFLEET_MAX_INPUT_FILE_BYTES", "many")
    with pytest.raises(InputError, match="EVFLEET_MAX_INPUT_FILE_BYTES"):
        read_structured_file(path)
    with pytest.raises(InputError, match="not a file"):
        read_structured_file(tmp_path)


def test_sweep_points_are_counted_before_they_are_expanded(monkeypatch: pytest.MonkeyPatch) -> None:
    grid = {k: list(range(10)) for k in ("seed", "vehicles", "days")}
    grid["vehicles"] = [20 + 10 * i for i in range(10)]
    grid["days"] = [1]
    big = {"grid": {**grid, "import_limit_kw": [100.0 + i for i in range(10)], "pv_kwp": [float(i) for i in range(10)]}}
    t0 = time.perf_counter()
    with pytest.raises(SpecError, match=r"10,000 points|100,000 points") as info:
        monkeypatch.setenv("EVFLEET_SWEEP_MAX_POINTS", "5000")
        parse_spec(big)
    assert "EVFLEET_SWEEP_MAX_POINTS" in str(info.value)
    with pytest.raises(SpecError, match=r"1,000,000,000 points"):
        parse_spec({"base": {"vehicles": 20}, "random": {"draws": 10**9, "seed": {"randint": [0, 100]}}})
    assert time.perf_counter() - t0 < 5
    monkeypatch.delenv("EVFLEET_SWEEP_MAX_POINTS")
    assert parse_spec({"grid": {"seed": [1, 2, 3]}}).grid["seed"] == [1, 2, 3]


def test_cli_reports_a_yaml_bomb_with_status_2(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(BOMB, encoding="utf-8")
    res = CliRunner().invoke(app, ["sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "0"])
    assert res.exit_code == 2 and "not supported" in res.output
    assert not (tmp_path / "out").exists()


def _scenario(**changes):
    from scenario_corpus import base_scenario

    data = base_scenario()
    for path, value in changes.items():
        node = data
        *head, last = path.split(".")
        for key in head:
            node = node[key]
        node[last] = value
    return data


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"n_steps": 2_000_000}, "field 'n_steps' must be an integer within 1-105120 (value 2000000)"),
        ({"name": "depot\x1b[2J"}, "field 'name' must be a text of at most 200 characters, no control characters"),
        ({"name": "x" * 5000}, "field 'name' must be a text of at most 200"),
        ({"name": 5}, "field 'name' must be a text"),
        ({"vehicles.model": ["Nissan Leaf", "bad\x07model", "Renault 5"]}, "field 'vehicles.model[1]'"),
        ({"vehicles.note_kw": [1.0, float("nan"), 2.0]}, "field 'vehicles.note_kw[1]' must be a finite number"),
    ],
)
def test_scenario_bounds_and_text_are_checked_at_load(changes: dict, fragment: str) -> None:
    from evfleet.scenario import ScenarioError, scenario_from_dict

    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(_scenario(**changes))
    assert fragment in str(info.value)
    assert len(str(info.value)) < 1000  # a huge value is not echoed whole


def test_sessions_times_steps_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import evfleet.scenario as scenario_module
    from evfleet.scenario import ScenarioError, scenario_from_dict

    data = _scenario()  # 3 sessions x 4 steps = 12 cells
    scenario_from_dict(data)
    monkeypatch.setattr(scenario_module, "MAX_SESSION_STEPS", 10)
    with pytest.raises(ScenarioError, match=r"field 'vehicles.id' must list at most .* sessions x steps.*\(value 3\)"):
        scenario_from_dict(data)
