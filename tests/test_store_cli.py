"""Store commands end to end: run/history/show/rm, import, export, report, backup/restore, scenario from-fleet."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from evfleet.cli import app
from evfleet.gridquality.alerts import Event
from evfleet.gridquality.records import Status
from evfleet.scenario import save_scenario
from evfleet.store.runs import open_store, store_comparison
from store_factories import isolated_env, run_pair, small_scenario

runner = CliRunner()
#: A grid-quality event as the alert code emits it (stored by `_store_everything`).
EVENT = Event(pd.Timestamp("2026-03-02T08:00:00+00:00"), 32, "voltage_deviation_pct", -8.4, -8.0, Status.WARNING,
              Status.GOOD)  # fmt: skip


@pytest.fixture
def isolated_store_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolated_env(tmp_path, monkeypatch)


def cli(*args: str, code: int = 0) -> str:
    res = runner.invoke(app, [str(a) for a in args])
    assert res.exit_code == code, (res.output, res.stderr if hasattr(res, "stderr") else "")
    return res.output


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    return save_scenario(small_scenario(), tmp_path / "sc.json")


def test_run_stores_unless_no_store(isolated_store_env: Path, scenario_file: Path, tmp_path: Path) -> None:
    out = cli("run", scenario_file, "--out", tmp_path / "r1", "--quiet")
    run_id = re.search(r"stored run (r\w+)", out).group(1)
    cli("run", scenario_file, "--out", tmp_path / "r2", "--quiet", "--no-store")
    hist = cli("history", "--limit", "5")
    assert run_id in hist and hist.count("uncontrolled") == 1
    shown = cli("show", run_id)
    assert "net_cost_mad" in shown and "completed" in shown
    data = json.loads(cli("show", run_id[:7], "--json"))
    assert data["kpis"] == json.loads((tmp_path / "r1" / "kpis.json").read_text())
    other = tmp_path / "other.db"
    out = cli("run", scenario_file, "--out", tmp_path / "r3", "--quiet", "--db", other)
    assert other.exists() and re.search(r"stored run (r\w+)", out).group(1) not in cli("history")
    cli("rm", run_id[:6], code=2)  # rm wants the full id
    assert "deleted run" in cli("rm", run_id)
    assert "(no rows)" in cli("history")
    assert "no run" in cli("show", run_id, code=2)


def test_run_stores_what_it_wrote(isolated_store_env: Path, scenario_file: Path, tmp_path: Path) -> None:
    """kpis.json, site.csv and events.csv as `evfleet run` wrote them (grid-quality columns and events included)."""
    import os

    from evfleet._common.ids import utc_now
    from evfleet.store.runs import run_outputs_from_dir

    out_dir = tmp_path / "r"
    run_id = re.search(r"stored run (r\w+)", cli("run", scenario_file, "--out", out_dir, "--quiet")).group(1)
    with open_store() as st:
        assert st.get_run(run_id)["kpis"] == json.loads((out_dir / "kpis.json").read_text())
        assert st.get_run(run_id)["bill"] == json.loads((out_dir / "bill.json").read_text())
        cli("export", run_id, "--format", "csv", "--out", tmp_path / "exp")
        assert (tmp_path / "exp" / "site.csv").read_bytes() == (out_dir / "site.csv").read_bytes()
        assert json.loads((tmp_path / "exp" / "bill.json").read_text()) == json.loads(
            (out_dir / "bill.json").read_text()
        )
        if (out_dir / "events.csv").exists():
            pd.testing.assert_frame_equal(st.events(run_id), pd.read_csv(out_dir / "events.csv"), check_dtype=False)
    # files left in the directory by an earlier run are not taken for this run's
    for name in ("kpis.json", "bill.json", "site.csv", "events.csv"):
        if (out_dir / name).exists():
            os.utime(out_dir / name, (1, 1))
    assert run_outputs_from_dir(out_dir, utc_now()) == {"kpis": None, "bill": None, "site": None, "events": None}


def test_import_fleet_rejects_and_stores_nothing(isolated_store_env: Path, tmp_path: Path) -> None:
    bad = tmp_path / "fleet.csv"
    bad.write_text(
        "vehicle_id,model,arrival,departure,soc_arrival,soc_target,charger\n"
        "A,Renault Zoe,2026-03-02T18:00,2026-03-03T07:00,0.2,0.8,ac11\n"
        "B,Renault Zoe,2026-03-02T18:00,2026-03-02T07:00,0.2,0.8,ac11\n"
        "A,Unknown Car,2026-03-02T18:00,2026-03-03T07:00,0.2,0.8,ac11\n"
    )
    res = runner.invoke(app, ["import", "fleet", str(bad)])
    assert res.exit_code == 2
    assert f"error: {bad}: line 3, column 'departure'" in res.output and "(and 2 more problems)" in res.output
    assert f"  {bad}: line 4, column 'vehicle_id': duplicates line 2 (value 'A')" in res.output
    with open_store() as st:
        assert st.stats["imports"] == 0
    assert "fleet, series, tariff or catalog" in cli("import", "vehicles", bad, code=2)


def test_import_export_round_trip_and_scenario(isolated_store_env: Path, tmp_path: Path) -> None:
    normal = (
        "vehicle_id,model,arrival,departure,soc_arrival,soc_target,charger,bidirectional\n"
        "A,Renault Zoe,2026-03-02T18:00:00+00:00,2026-03-03T07:00:00+00:00,0.2,0.8,ac11,no\n"
        "B,Tesla Model 3,2026-03-02T19:15:00+00:00,2026-03-03T06:30:00+00:00,0.35,0.9,dc50,yes\n"
    )
    src = tmp_path / "fleet.csv"
    src.write_text(normal)
    out = cli("import", "fleet", src, "--scenario-out", tmp_path / "sc.json", "--name", "depot A")
    import_id = re.search(r"imported fleet (i\w+)", out).group(1)
    assert "wrote" in out and (tmp_path / "sc.json").exists()
    cli("export", import_id, "--format", "csv", "--out", tmp_path / "back.csv")
    assert (tmp_path / "back.csv").read_text() == normal  # import -> store -> export: identical
    cli("export", import_id, "--format", "parquet", "--out", tmp_path / "back.parquet")
    assert pd.read_parquet(tmp_path / "back.parquet")["vehicle_id"].tolist() == ["A", "B"]
    assert "depot A" in cli("history", "--imports")
    # catalogue additions are used by later fleet imports
    cat = tmp_path / "cat.csv"
    cat.write_text("model,battery_kwh,ac_charge_kw,dc_charge_kw\nAtlas E-Van,75,11,100\n")
    fleet2 = tmp_path / "fleet2.csv"
    fleet2.write_text("model,count\nAtlas E-Van,4\nRenault Zoe,2\n")
    assert "unknown model" in cli("import", "fleet", fleet2, code=2)
    cli("import", "catalog", cat)
    fid = re.search(r"imported fleet (i\w+)", cli("import", "fleet", fleet2)).group(1)
    series = tmp_path / "s.csv"
    series.write_text(
        "time,base_load_kw,pv_kw\n"
        + "".join(f"2026-03-05T{h:02d}:00,{80 + h},{0}\n" for h in range(24))
        + "".join(f"2026-03-06T{h:02d}:00,{80 + h},{0}\n" for h in range(24))
    )
    sid = re.search(r"imported series (i\w+)", cli("import", "series", series)).group(1)
    cli("scenario", "from-fleet", fid, "--series", sid, "--start", "2026-03-05", "--out", tmp_path / "sc2.json")
    from evfleet.scenario import load_scenario

    sc2 = load_scenario(tmp_path / "sc2.json")
    assert sc2.n_vehicles == 6 and "Atlas E-Van" in set(sc2.vehicles.model)
    assert sc2.base_load_kw.max() <= 103 + 1e-9 and sc2.pv_kw.max() == 0
    tariff = tmp_path / "t.json"
    from evfleet.inputs.tariffs import load_tariff

    tariff.write_text(json.dumps(load_tariff("onee_mt_trihoraire").to_dict()))
    tid = re.search(r"imported tariff (i\w+)", cli("import", "tariff", tariff)).group(1)
    cli("scenario", "from-fleet", src, "--tariff", tid, "--out", tmp_path / "sc3.json", "--pv-kwp", "0")
    assert load_scenario(tmp_path / "sc3.json").extra["tariff"]["id"] == "onee_mt_trihoraire"
    assert "not a tariff" in cli("scenario", "from-fleet", src, "--tariff", fid, "--out", tmp_path / "x.json", code=2)
    assert "json only" in cli(
        "export",
        re.search(r"(i\w+)\s+tariff", cli("history", "--imports")).group(1),
        "--format",
        "csv",
        "--out",
        tmp_path / "t.csv",
        code=2,
    )


def _store_everything() -> tuple[list[str], str]:
    from evfleet.analysis.compare import Comparison
    from evfleet.analysis.kpis import compute_kpis
    from evfleet.simulation.simulate import SimulationOptions

    runs = run_pair(small_scenario())
    with open_store() as st:
        ids = [st.save_run(r, events=[EVENT]) for r in runs.values()]
    comp = Comparison(small_scenario(), SimulationOptions(), dict(runs), {k: compute_kpis(r) for k, r in runs.items()})
    gid, _ = store_comparison(comp)
    return ids, gid


def _everything(db: Path) -> dict:
    with open_store(db) as st:
        out = {}
        for r in st.list_runs(limit=None):
            rid = r["id"]
            tr = st.trace(rid)
            out[rid] = (
                st.get_run(rid),
                st.site_steps(rid).to_json(),
                st.vehicle_summaries(rid).to_json(),
                st.events(rid).to_json(),
                tr["power_kw"].tobytes(),
                tr["soc"].tobytes(),
            )
        out["groups"] = st.list_groups(limit=None)
        return out


def test_backup_restore_gives_every_run_back(isolated_store_env: Path, tmp_path: Path) -> None:
    _store_everything()
    archive = tmp_path / "backup.tar.gz"
    assert "4 runs" in cli("backup", "--out", archive)
    fresh = tmp_path / "fresh" / "restored.db"
    assert "restored 4 runs" in cli("restore", archive, "--db", fresh)
    assert _everything(isolated_store_env) == _everything(fresh)
    # refuses to overwrite a store holding runs, unless --force (which keeps a .bak)
    assert "already holds runs" in cli("restore", archive, "--db", fresh, code=2)
    cli("restore", archive, "--db", fresh, "--force")
    assert len(list(fresh.parent.glob("restored.db.bak-*"))) == 1
    # a damaged archive is refused before anything is written
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "bad.tar.gz").write_bytes(bytes(data))
    other = tmp_path / "other" / "x.db"
    cli("restore", tmp_path / "bad.tar.gz", "--db", other, code=2)
    assert not other.exists()


def test_report_is_self_contained(isolated_store_env: Path, tmp_path: Path) -> None:
    ids, gid = _store_everything()
    cli("report", ids[0], "--out", tmp_path / "run.html")
    cli("report", gid, "--out", tmp_path / "cmp.html")
    for name in ("run.html", "cmp.html"):
        text = (tmp_path / name).read_text()
        assert "<svg" in text and "<script" not in text
        refs = re.findall(r"(?:src|href)\s*=\s*['\"]([^'\"]+)", text)
        assert refs == [], refs  # nothing to fetch: opens offline
        assert "Assumptions and sources" in text and "Grid compliance" in text and "EV2Gym" in text
    cmp = (tmp_path / "cmp.html").read_text()
    assert "half-power" in cmp and "savings" in cmp
    run_html = (tmp_path / "run.html").read_text()
    assert "<td>voltage_deviation_pct</td><td>warning</td>" in run_html  # stored grid-quality events appear


@pytest.mark.e2e
def test_report_renders_in_headless_chromium(isolated_store_env: Path, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (make browser installs it)")
    _, gid = _store_everything()
    cli("report", gid, "--out", tmp_path / "cmp.html")
    res = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", (tmp_path / "cmp.html").as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert "Strategy comparison" in res.stdout and res.stdout.count("<polyline") >= 4


def test_export_comparison_and_bad_format(isolated_store_env: Path, tmp_path: Path) -> None:
    ids, gid = _store_everything()
    cli("export", gid, "--format", "csv", "--out", tmp_path / "cmp")
    table = pd.read_csv(tmp_path / "cmp" / "comparison.csv")
    assert set(table["strategy"]) == {"uncontrolled", "half-power"}
    assert (tmp_path / "cmp" / "half-power" / "site.csv").exists()
    assert "must be one of" in cli("export", ids[0], "--format", "xlsx", "--out", tmp_path / "x", code=2)
    cli("export", ids[0], "--format", "json", "--out", tmp_path / "r.json")
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["events"] == [EVENT.to_row()]
    assert np.asarray(doc["trace"]["power_kw"]).shape[0] == small_scenario().n_vehicles
    assert gid in cli("history", "--comparisons")
    shown = cli("show", gid)
    assert "half-power" in shown and "uncontrolled" in shown
    assert "and its 2 runs" in cli("rm", gid)
    assert gid not in cli("history", "--comparisons")
    with open_store() as st:
        assert st.stats["runs"] == 2 and st.verify() == []


def test_newer_database_is_a_clear_cli_error(isolated_store_env: Path) -> None:
    import sqlite3

    cli("history")
    con = sqlite3.connect(isolated_store_env)
    con.execute("UPDATE alembic_version SET version_num='0042'")
    con.commit()
    con.close()
    out = cli("history", code=2)
    assert "newer evfleet" in out and "0042" in out


def test_import_series_into_a_scenario(isolated_store_env: Path, scenario_file: Path, tmp_path: Path) -> None:
    from evfleet.scenario import load_scenario

    sc = load_scenario(scenario_file)
    rows = "".join(f"{(sc.start + pd.Timedelta(minutes=30 * i)).isoformat()},{100 + i}\n" for i in range(49))
    series = tmp_path / "s.csv"
    series.write_text("time,base_load_kw\n" + rows)
    out = cli("import", "series", series, "--scenario", scenario_file, "--scenario-out", tmp_path / "sc2.json")
    assert "imported series" in out and "wrote" in out
    sc2 = load_scenario(tmp_path / "sc2.json")
    assert sc2.base_load_kw[:4].tolist() == [100.0, 100.0, 101.0, 101.0]  # 30-min samples on a 15-min step
    assert np.array_equal(sc2.pv_kw, sc.pv_kw)
    short = tmp_path / "short.csv"
    short.write_text("time,base_load_kw\n" + rows.splitlines()[0] + "\n" + rows.splitlines()[1] + "\n")
    assert "covers" in cli(
        "import", "series", short, "--scenario", scenario_file, "--scenario-out", tmp_path / "x.json", code=2
    )
    with open_store() as st:
        assert st.stats["imports"] == 1  # the failed one stored nothing


def test_report_of_a_run_in_memory_matches_the_cli_and_stores_nothing(
    isolated_store_env: Path, scenario_file: Path, tmp_path: Path
) -> None:
    from evfleet.analysis.kpis import compute_kpis
    from evfleet.reports.run import run_report_html
    from evfleet.scenario import load_scenario
    from evfleet.simulation.simulate import simulate

    res = simulate(load_scenario(scenario_file), "uncontrolled")
    k = compute_kpis(res)
    html_text = run_report_html(res, k)
    assert html_text.lstrip().lower().startswith("<!doctype html")
    assert "<svg" in html_text and "<script" not in html_text and "Grid compliance" in html_text
    with open_store() as st:
        assert st.stats["runs"] == 0  # the user's store is untouched
    cli("run", scenario_file, "--strategy", "uncontrolled", "--out", tmp_path / "out")
    with open_store() as st:
        rid = st.list_runs(limit=1)[0]["id"]
    cli("report", rid, "--out", tmp_path / "cli.html")
    cli_text = (tmp_path / "cli.html").read_text()

    def cards(text: str) -> list[str]:
        return re.findall(r"class='v'>([^<]*)<", text)

    assert cards(html_text) and cards(html_text) == cards(cli_text)  # same KPI figures as `evfleet report`
