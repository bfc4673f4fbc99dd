"""What evfleet writes is safe where it is read: CSV cells never run as spreadsheet formulas, terminals never
receive control sequences from user-supplied names."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from evfleet._common.text import csv_read_cell, csv_safe_cell, csv_safe_frame, terminal_safe
from evfleet.cli import app
from evfleet.results.run_files import write_run_outputs
from evfleet.scenario import scenario_from_dict
from evfleet.simulation.simulate import simulate
from factories import scenario_dict
from store_factories import isolated_env

runner = CliRunner()
EVIL = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


@pytest.mark.parametrize("value", EVIL)
def test_formula_cells_are_neutralised_and_read_back(value: str) -> None:
    safe = csv_safe_cell(value)
    assert safe == "'" + value and csv_read_cell(safe) == value
    assert csv_safe_cell(-2.5) == -2.5 and csv_safe_cell("Renault 5") == "Renault 5"


def test_numbers_stay_numbers() -> None:
    df = pd.DataFrame({"model": ["=x", "ok"], "power_kw": [-3.5, 2.0], "n": [1, -1]})
    out = csv_safe_frame(df)
    assert list(out["model"]) == ["'=x", "ok"]
    assert out["power_kw"].tolist() == [-3.5, 2.0] and out["n"].tolist() == [1, -1]
    assert list(df["model"]) == ["=x", "ok"]  # the caller's frame is untouched


def test_run_files_never_hold_a_formula_cell(tmp_path: Path) -> None:
    names = EVIL[:-1]  # (a bare CR in a name breaks any CSV's rows: names with control characters are refused)
    d = scenario_dict(vehicles=[{"model": v, "id": f"v{i}"} for i, v in enumerate(names)], export_limit_kw=5.0)
    res = simulate(scenario_from_dict(d), "uncontrolled")
    write_run_outputs(res, tmp_path / "run")
    for name in ("vehicles.csv", "site.csv"):
        with open(tmp_path / "run" / name, newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    text_cell = not cell.lstrip("-").replace(".", "", 1).replace("e", "", 1).isdigit()
                    assert not (text_cell and cell.startswith(("=", "+", "@", "\t", "\r"))), (name, cell)
    with open(tmp_path / "run" / "vehicles.csv", newline="", encoding="utf-8") as fh:
        models = [csv_read_cell(r["model"]) for r in csv.DictReader(fh)]
    assert models == names


def test_terminal_output_escapes_control_characters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert terminal_safe("a\x1b[2Jb\x07\x9b") == "a\\x1b[2Jb\\x07\\x9b"
    assert terminal_safe("line\nnext", keep_newlines=True) == "line\nnext"
    isolated_env(tmp_path, monkeypatch)
    d = scenario_dict()
    d["name"] = "depot\x1b]0;pwned\x07\x1b[2J"
    sc_path = tmp_path / "sc.json"
    from evfleet.scenario import save_scenario

    save_scenario(scenario_from_dict(d), sc_path)
    res = runner.invoke(app, ["run", str(sc_path), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["history"])
    assert res.exit_code == 0 and "\x1b" not in res.output and "\x07" not in res.output
    assert "depot\\x1b]0;pwned" in res.output


def test_a_failed_run_writes_nothing_to_out(tmp_path: Path) -> None:
    """A value that cannot be written (a NaN in an optional per-session field breaks strict JSON) fails before any
    file exists; an existing output folder keeps its files."""
    d = scenario_dict()
    d["vehicles"]["note_kw"] = [float("nan")]
    res = simulate(scenario_from_dict(d), "uncontrolled")
    out = tmp_path / "run"
    with pytest.raises(ValueError):
        write_run_outputs(res, out)
    assert not out.exists()
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    with pytest.raises(ValueError):
        write_run_outputs(res, out)
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt"]  # no partial run, no staging folder
    good = simulate(scenario_from_dict(scenario_dict()), "uncontrolled")
    paths = write_run_outputs(good, out)
    assert sorted(paths) == ["events", "kpis", "scenario", "site", "trace", "vehicles"]
    assert sorted(p.name for p in out.iterdir()) == sorted([*(p.name for p in paths.values()), "mine.txt"])
