"""Grid-quality outputs of `evfleet run` and the `evfleet grid-report` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from evfleet.cli import app
from evfleet.gridquality.assess import assess
from evfleet.inputs.frequency import load_frequency_csv
from evfleet.inputs.generate import generate_scenario
from evfleet.results.pq_files import SITE_CSV_COLUMNS
from evfleet.results.run_files import load_run, write_run_outputs
from evfleet.scenario import save_scenario
from evfleet.simulation.simulate import simulate

runner = CliRunner()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("gq")
    sc = generate_scenario(vehicles=80, seed=4)
    save_scenario(sc, tmp / "sc.json")
    res = runner.invoke(app, ["run", str(tmp / "sc.json"), "--out", str(tmp / "run"), "--quiet"])
    assert res.exit_code == 0, res.output
    return tmp / "run"


def test_run_writes_events_site_columns_and_kpis(run_dir: Path) -> None:
    ev = pd.read_csv(run_dir / "events.csv")
    assert list(ev.columns)[:7] == ["time", "step", "indicator", "value", "limit", "state", "previous_state"]
    ev = ev[ev["category"] == "grid_quality"]  # operator alerts are their own category (results.alert_files)
    assert set(ev["state"]) <= {"optimal", "good", "warning", "critical"}
    site = pd.read_csv(run_dir / "site.csv")
    for col in SITE_CSV_COLUMNS:
        assert col in site.columns
    assert site["site_kw"].to_numpy() == pytest.approx(
        site["ev_kw"].to_numpy() + site["base_load_kw"].to_numpy() - site["pv_kw"].to_numpy()
    )
    kpis = json.loads((run_dir / "kpis.json").read_text())
    for key in ("pq_tdd_pct_max", "pq_tdd_pct_p95", "pq_tdd_pct_time_above_limit_h", "pq_pf_min",
                "pq_unbalance_pct_max", "pq_transformer_loading_pct_max", "pq_voltage_deviation_pct_max",
                "pq_frequency_deviation_mhz_time_above_limit_h", "pq_events", "pq_compliant"):  # fmt: skip
        assert key in kpis
    assert kpis["pq_events"] == len(ev)
    assert kpis["strategy"] == "uncontrolled"  # the core KPIs are still there


def test_loaded_run_gives_the_same_assessment(run_dir: Path) -> None:
    result = load_run(run_dir)
    rep = assess(result)
    site = pd.read_csv(run_dir / "site.csv")
    assert rep.per_step["tdd_pct"].to_numpy() == pytest.approx(site["tdd_pct"].to_numpy(), rel=1e-9)
    assert rep.per_step["p_kw"].to_numpy() == pytest.approx(site["site_kw"].to_numpy(), abs=1e-6)


def test_grid_report_table_and_formats(run_dir: Path) -> None:
    res = runner.invoke(app, ["grid-report", str(run_dir)])
    assert res.exit_code == 0, res.output
    header = next(line for line in res.output.splitlines() if line.startswith("indicator"))
    assert header.split() == ["indicator", "value", "limit", "status", "clause"]
    assert "TDD p95" in res.output and "IEEE 519-2014 Table 2" in res.output
    js = runner.invoke(app, ["grid-report", str(run_dir), "--format", "json"])
    rows = json.loads(js.output)
    assert {r["status"] for r in rows} <= {"pass", "fail", "info"}
    csv = runner.invoke(app, ["grid-report", str(run_dir), "--format", "csv", "--assumptions"])
    assert csv.output.startswith("indicator,value,limit,status,clause")
    assert "MODEL ESTIMATES" in csv.output


def test_grid_report_options_and_write(run_dir: Path, tmp_path: Path) -> None:
    el = tmp_path / "el.json"
    el.write_text(json.dumps({"transformer_kva": 250, "pcc_side": "mv"}))
    freq = tmp_path / "f.csv"
    n = len(pd.read_csv(run_dir / "site.csv"))
    pd.DataFrame({"frequency_hz": np.r_[[50.3], np.full(n - 1, 50.0)]}).to_csv(freq, index=False)
    res = runner.invoke(app, ["grid-report", str(run_dir), "--electrical", str(el), "--frequency-csv", str(freq),
                              "--format", "json", "--write"])  # fmt: skip
    assert res.exit_code == 0, res.output
    rows = {r["indicator"]: r for r in json.loads(res.stdout)}
    assert rows["voltage THD p95 [%]"]["limit"] == 5.0  # MV bus: IEEE 519 Table 1, 1-69 kV
    assert rows["time outside frequency band [h]"]["value"] == pytest.approx(0.25)
    kpis = json.loads((run_dir / "kpis.json").read_text())
    assert kpis["pq_transformer_kva"] == 250
    site = pd.read_csv(run_dir / "site.csv")
    assert site["frequency_hz"].iloc[0] == pytest.approx(50.3)
    assert list(site.columns).count("tdd_pct") == 1


def test_grid_report_bad_input(tmp_path: Path, run_dir: Path) -> None:
    res = runner.invoke(app, ["grid-report", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "error:" in res.output and "nope" in res.output
    bad = tmp_path / "el.json"
    bad.write_text(json.dumps({"transformer_uk_pct": 99}))
    res = runner.invoke(app, ["grid-report", str(run_dir), "--electrical", str(bad)])
    assert res.exit_code == 2 and "'transformer_uk_pct'" in res.output and "99" in res.output
    res = runner.invoke(app, ["grid-report", str(run_dir), "--format", "xml"])
    assert res.exit_code == 2 and "'--format'" in res.output
    f = tmp_path / "f.csv"
    pd.DataFrame({"frequency_hz": [50.0, 50.0]}).to_csv(f, index=False)
    with pytest.raises(ValueError, match="must have 96 rows"):
        load_frequency_csv(f, 96)


def test_write_run_outputs_without_power_quality(tmp_path: Path) -> None:
    sc = generate_scenario(vehicles=10, seed=1)
    paths = write_run_outputs(simulate(sc), tmp_path, power_quality=False)
    assert "events" not in paths and not (tmp_path / "events.csv").exists()
    assert "tdd_pct" not in pd.read_csv(tmp_path / "site.csv").columns


def test_scenario_electrical_is_used_by_run(tmp_path: Path) -> None:
    sc = generate_scenario(vehicles=20, seed=2)
    data = sc.to_dict()
    data["site"]["electrical"] = {"transformer_kva": 630, "phase_assignment": "balanced"}
    from evfleet.scenario import scenario_from_dict

    sc2 = scenario_from_dict(data)
    write_run_outputs(simulate(sc2), tmp_path)
    kpis = json.loads((tmp_path / "kpis.json").read_text())
    assert kpis["pq_transformer_kva"] == 630
    assert load_run(tmp_path).scenario.site_extra["electrical"]["transformer_kva"] == 630


def test_load_run_rejects_mismatched_trace(tmp_path: Path) -> None:
    sc = generate_scenario(vehicles=10, seed=1)
    write_run_outputs(simulate(sc), tmp_path, power_quality=False)
    with np.load(tmp_path / "trace.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["power_kw"] = arrays["power_kw"][:, :-1]
    np.savez_compressed(tmp_path / "trace.npz", **arrays)
    with pytest.raises(ValueError, match="'power_kw' must have shape"):
        load_run(tmp_path)
