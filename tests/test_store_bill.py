"""The store keeps each run's bill: stored with the run, read back by `show`/`export`, billed from the stored series
for runs stored before bills were kept (revision 0004), checked on restore."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evfleet.analysis.bill import BILL_ITEMS, run_bill
from evfleet.cli import app
from evfleet.scenario import save_scenario
from evfleet.store.backup import backup_store, restore_store
from evfleet.store.runs import StoreError, open_store, run_bill_of
from store_factories import isolated_env, run_pair, small_scenario

runner = CliRunner()


def cli(*args: object, code: int = 0) -> str:
    res = runner.invoke(app, [str(a) for a in args])
    assert res.exit_code == code, res.output
    return res.output


def _json(x: object) -> object:
    return json.loads(json.dumps(x))


@pytest.fixture(scope="module")
def runs() -> dict:
    return run_pair(small_scenario(vehicles=12, pv=False))


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolated_env(tmp_path, monkeypatch)


def test_a_saved_run_keeps_its_bill(env: Path, runs: dict) -> None:
    result = runs["half-power"]
    with open_store(env) as st:
        run_id = st.save_run(result)
        stored = st.get_run(run_id)["bill"]
        assert stored == _json(run_bill(result).to_dict())
        assert st.bill(run_id) == stored
        assert stored["total_excl_vat_mad"] > 0 and set(BILL_ITEMS) <= set(stored)
        # a given bill (the run directory's bill.json) is stored as given
        given = {**run_bill(result).to_dict(), "tariff_name": "as written"}
        assert st.get_run(st.save_run(result, bill=given))["bill"]["tariff_name"] == "as written"
        assert all(r.get("bill_json") is None and "bill" not in r for r in st.list_runs(limit=None))


def test_the_bill_uses_the_kvar_of_the_site_table(runs: dict) -> None:
    from evfleet.results.run_files import site_table

    result = runs["uncontrolled"]
    site = site_table(result)
    q = 0.9 * abs(site["site_kw"].to_numpy())  # a poor power factor: a cos phi penalty
    site.insert(site.columns.get_loc("site_kw") + 1, "q_kvar", q)
    with_q = run_bill_of(result, site)
    assert with_q == run_bill(result, q_kvar=q).to_dict()
    assert with_q["cos_phi"] != run_bill_of(result)["cos_phi"]


def test_a_comparison_keeps_each_runs_bill(env: Path, runs: dict) -> None:
    with open_store(env) as st:
        _, ids = st.save_group("comparison", "pair", runs)
        for key, run_id in ids.items():
            assert st.get_run(run_id)["bill"] == _json(run_bill(runs[key]).to_dict())


def test_a_run_stored_before_bills_were_kept_is_billed_from_its_series(env: Path, runs: dict) -> None:
    result = runs["half-power"]
    with open_store(env) as st:
        run_id = st.save_run(result)
    con = sqlite3.connect(env)
    con.execute("UPDATE runs SET bill_json = NULL")  # as revision 0003 left it
    con.commit()
    con.close()
    with open_store(env) as st:
        assert st.get_run(run_id)["bill"] is None
        assert st.bill(run_id) == _json(run_bill(result).to_dict())
    data = json.loads(cli("show", run_id, "--json", "--db", env))
    assert data["bill"]["net_cost_mad"] == pytest.approx(run_bill(result).net_cost_mad, abs=1e-9)


def test_show_and_export_give_the_bill_back_and_it_bills_without_the_run_directory(env: Path, tmp_path: Path) -> None:
    sc = small_scenario(vehicles=12, pv=False)
    path = tmp_path / "sc.json"
    save_scenario(sc, path)
    out_dir = tmp_path / "run"
    run_id = re.search(r"stored run (r\w+)", cli("run", path, "--out", out_dir, "--quiet")).group(1)
    written = json.loads((out_dir / "bill.json").read_text())
    shown = cli("show", run_id)
    status = written["status"]["total_excl_vat_mad"]
    row = next(line for line in shown.splitlines() if line.startswith("total_excl_vat_mad "))
    assert row.split()[-1] == status and f"{written['total_excl_vat_mad']:,.2f}" in row
    assert json.loads(cli("show", run_id, "--json"))["bill"] == written
    exp = tmp_path / "exp"
    cli("export", run_id, "--format", "csv", "--out", exp)
    assert json.loads((exp / "bill.json").read_text()) == written
    import shutil

    shutil.rmtree(out_dir)  # the run directory is gone: the export bills the same
    assert json.loads(cli("bill", exp, "--format", "json")) == written
    doc = tmp_path / "run.json"
    cli("export", run_id, "--format", "json", "--out", doc)
    assert json.loads(doc.read_text())["run"]["bill"] == written


def test_backup_and_restore_keep_the_bills(env: Path, runs: dict, tmp_path: Path) -> None:
    with open_store(env) as st:
        run_id = st.save_run(runs["uncontrolled"])
        bill = st.get_run(run_id)["bill"]
        backup_store(st, tmp_path / "b.tar.gz")
    target = tmp_path / "restored" / "evfleet.db"
    restore_store(tmp_path / "b.tar.gz", str(target))
    with open_store(target) as st:
        assert st.get_run(run_id)["bill"] == bill and st.verify() == []


@pytest.mark.parametrize(
    ("bill_json", "fragment"),
    [("{not json", "stored bill"), ('{"energy_mad": 1}', "'power_charge_mad' is required"), ("[]", "JSON object")],
)
def test_a_damaged_stored_bill_is_named_and_refused_on_restore(
    env: Path, runs: dict, tmp_path: Path, bill_json: str, fragment: str
) -> None:
    with open_store(env) as st:
        run_id = st.save_run(runs["uncontrolled"])
    con = sqlite3.connect(env)
    con.execute("UPDATE runs SET bill_json = ?", (bill_json,))
    con.commit()
    con.close()
    with open_store(env) as st:
        problems = st.verify()
        assert len(problems) == 1 and run_id in problems[0], problems
        with pytest.raises(StoreError, match=run_id):
            st.bill(run_id)
        backup_store(st, tmp_path / "bad.tar.gz")
    assert "error:" in cli("show", run_id, code=2)
    with pytest.raises(StoreError, match="problems"):
        restore_store(tmp_path / "bad.tar.gz", str(tmp_path / "r" / "evfleet.db"))
