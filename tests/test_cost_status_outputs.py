"""The status of the tariff values is written next to every MAD figure in each output built on them: the CLI tables
(`compare`, `bill`, `year`, `run`), `comparison.md`, the HTML reports and the sweep summary."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evfleet.cli import app
from evfleet.inputs.generate import generate_scenario
from evfleet.scenario import save_scenario

runner = CliRunner()
STATUSES = ("sourced", "secondary", "inference", "assumption")
_MONEY = r"-?[\d,]+(?:\.\d+)?(?:e[-+]?\d+)?"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("status")
    sc = generate_scenario(vehicles=10, seed=2, start="2026-01-15")
    path = root / "sc.json"
    save_scenario(sc, path)
    db = str(root / "store.db")
    comp = root / "comp"
    res = runner.invoke(app, ["compare", str(path), "--strategies", "price_optimization", "--out", str(comp),
                              "--db", db])  # fmt: skip
    assert res.exit_code == 0, res.output
    run_dir = root / "run"
    run = runner.invoke(app, ["run", str(path), "--out", str(run_dir), "--strategy", "peak_shaving", "--db", db])
    assert run.exit_code == 0, run.output
    status = json.loads((run_dir / "kpis.json").read_text())["bill_status"]
    assert status in STATUSES
    return {"root": root, "db": db, "compare": res.output, "comp": comp, "run": run.output, "run_dir": run_dir,
            "status": status}  # fmt: skip


def _table_rows(output: str, first: str) -> list[str]:
    return [line for line in output.splitlines() if line.split()[:1] == [first]]


def test_compare_cli_rows_and_headline_carry_the_status(setup: dict) -> None:
    out, st = setup["compare"], setup["status"]
    header = next(line for line in out.splitlines() if line.startswith("strategy"))
    assert header.split()[-1] == "cost_status"
    for name in ("uncontrolled", "timer", "price_optimization"):
        (row,) = _table_rows(out, name)
        assert row.split()[-1] == st, row
    headline = next(line for line in out.splitlines() if line.startswith("headline:"))
    assert len(re.findall(rf"{_MONEY} MAD \({st}\)", headline)) == 2  # the saving and the cost
    assert re.search(rf"{_MONEY} MAD, {st}\), the cheaper baseline", headline)


def test_comparison_md_every_mad_cell_and_the_headline_carry_the_status(setup: dict) -> None:
    md = (setup["comp"] / "comparison.md").read_text(encoding="utf-8")
    st = setup["status"]
    lines = md.splitlines()
    header = next(line for line in lines if line.startswith("| strategy |"))
    cols = [c.strip() for c in header.strip("|").split("|")]
    mad_cols = [i for i, c in enumerate(cols) if c.endswith("_mad")]
    assert len(mad_cols) >= 5
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| strategy |")]
    assert len(rows) == 3
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        for i in mad_cols:
            if cells[i]:
                assert re.fullmatch(rf"{_MONEY} \({st}\)", cells[i]), (cols[i], cells[i])
    headline = next(line for line in lines if line.startswith("**Headline:**"))
    assert f"MAD ({st})" in headline


def test_bill_and_run_tables_carry_the_status(setup: dict) -> None:
    res = runner.invoke(app, ["bill", str(setup["run_dir"])])
    assert res.exit_code == 0, res.output
    for item in ("energy_mad", "power_charge_mad", "total_excl_vat_mad", "net_cost_mad"):
        (row,) = _table_rows(res.output, item)
        assert row.split()[-1] in STATUSES, row
    for line in setup["run"].splitlines():
        parts = line.split()
        if parts and parts[0].endswith("_mad") and len(parts) >= 2:
            assert parts[-1] == setup["status"], line


def test_year_cli_and_files_carry_the_status(tmp_path: Path) -> None:
    p = tmp_path / "params.json"
    p.write_text(json.dumps({"vehicles": 6, "seed": 1}), encoding="utf-8")
    out = tmp_path / "year"
    res = runner.invoke(app, ["year", str(p), "--out", str(out), "--strategies", "price_optimization"])
    assert res.exit_code == 0, res.output
    header = next(line for line in res.output.splitlines() if line.startswith("strategy"))
    assert header.split()[-1] == "cost_status"
    for name in ("uncontrolled", "timer", "price_optimization"):
        (row,) = _table_rows(res.output, name)
        assert row.split()[-1] in STATUSES, row
    data = json.loads((out / "year.json").read_text())
    assert all(r["cost_status"] in STATUSES for r in data["annual"])
    assert data["headline"]["cost_status"] in STATUSES
    if data["headline"]["strategy"] is not None:
        assert re.search(r"MAD \((sourced|secondary|inference|assumption)\) a year", res.output)


def test_html_reports_carry_the_status(setup: dict, tmp_path: Path) -> None:
    from evfleet.store.runs import open_store

    st = setup["status"]
    with open_store(setup["db"]) as store:
        runs = store.list_runs(limit=10)
    single = next(r["id"] for r in runs if r["strategy"] == "peak_shaving")
    group = next(r["group_id"] for r in runs if r.get("group_id"))
    for ident in (single, group):
        out = tmp_path / f"{ident}.html"
        res = runner.invoke(app, ["report", ident, "--out", str(out), "--db", setup["db"]])
        assert res.exit_code == 0, res.output
        page = out.read_text(encoding="utf-8")
        assert f"net cost [MAD] ({st})" in page or f"<td>{st}</td>" in page
        # each table with a [MAD] column also has a status column
        for table in re.findall(r"<table>.*?</table>", page, flags=re.S):
            if "[MAD]" in table.split("</tr>")[0]:
                assert "status" in table.split("</tr>")[0], table[:300]
        if ident == group:
            assert "<b>Headline:</b>" in page and f"MAD ({st})" in page
