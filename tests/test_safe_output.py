"""What evfleet writes is safe where it is read: CSV cells never run as spreadsheet formulas, terminals never
receive control sequences from user-supplied names."""

from __future__ import annotations

import csv
import json
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
    names = EVIL[:-2]  # names with control characters (tab, CR) are refused at load; the cell tests cover them
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
    import sqlite3

    from evfleet.scenario import save_scenario

    assert terminal_safe("a\x1b[2Jb\x07\x9b") == "a\\x1b[2Jb\\x07\\x9b"
    assert terminal_safe("line\nnext", keep_newlines=True) == "line\nnext"
    db = isolated_env(tmp_path, monkeypatch)
    sc_path = tmp_path / "sc.json"
    save_scenario(scenario_from_dict(scenario_dict()), sc_path)
    res = runner.invoke(app, ["run", str(sc_path), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    # a name holding control characters is refused at load, and the refusal itself shows it escaped
    bad = json.loads(sc_path.read_text(encoding="utf-8"))
    bad["name"] = "depot\x1b]0;pwned\x07"
    (tmp_path / "bad.json").write_text(json.dumps(bad), encoding="utf-8")
    res = runner.invoke(app, ["run", str(tmp_path / "bad.json"), "--out", str(tmp_path / "out2")])
    assert res.exit_code == 2 and "\x1b" not in res.output and "\\x1b]0;pwned" in res.output, res.output
    # a store written by anything else: `history` still prints no control character
    con = sqlite3.connect(str(db))
    con.execute("UPDATE scenarios SET name = ?", ("depot\x1b]0;pwned\x07\x1b[2J",))
    con.commit()
    con.close()
    res = runner.invoke(app, ["history"])
    assert res.exit_code == 0 and "\x1b" not in res.output and "\x07" not in res.output
    assert "depot\\x1b]0;pwned" in res.output


def test_a_failed_run_writes_nothing_to_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run whose files cannot all be made (here: the vehicle table fails after the site table was made) leaves
    no file behind; an existing output folder keeps its files."""
    import evfleet.results.run_files as run_files

    res = simulate(scenario_from_dict(scenario_dict()), "uncontrolled")
    out = tmp_path / "run"

    def broken(result):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(run_files, "vehicle_table", broken)
    with pytest.raises(RuntimeError):
        write_run_outputs(res, out)
    assert not out.exists()
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    with pytest.raises(RuntimeError):
        write_run_outputs(res, out)
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt"]  # no partial run, no staging folder
    monkeypatch.undo()
    paths = write_run_outputs(res, out)
    assert sorted(paths) == ["bill", "events", "kpis", "scenario", "site", "trace", "vehicles"]
    assert sorted(p.name for p in out.iterdir()) == sorted([*(p.name for p in paths.values()), "mine.txt"])
