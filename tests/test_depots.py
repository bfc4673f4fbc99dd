"""Multi-depot fleets: fleet file validation, per-depot and fleet-wide KPIs, serial vs Dask, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from evfleet.batch.depots import fleet_comparison_table, is_fleet_file, load_fleet, parse_fleet, run_fleet
from evfleet.batch.spec import SpecError
from evfleet.inputs.generate import generate_scenario
from evfleet.scenario import save_scenario
from evfleet.simulation.simulate import SimulationOptions
from evfleet.strategies import REGISTRY
from factories import local_cluster

SRC = Path(__file__).resolve().parents[1] / "src"
STRATEGIES = ["uncontrolled"] + [s for s in ("load_balancing", "price_optimization") if s in REGISTRY]


@pytest.fixture
def fleet_file(tmp_path: Path) -> Path:
    save_scenario(generate_scenario(vehicles=25, seed=4, start="2026-06-01"), tmp_path / "north.json")
    fleet = {
        "name": "casa-region",
        "upstream_limit_kw": 250,
        "depots": [
            {"name": "north", "scenario": "north.json", "import_limit_kw": 150, "tariff": "onee_bt_bihoraire"},
            {"name": "south", "generate": {"vehicles": 30, "seed": 2, "start": "2026-06-01"}, "pv_kwp": 40},
        ],
    }
    path = tmp_path / "fleet.yaml"
    path.write_text(yaml.safe_dump(fleet, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"depots": []}, "non-empty 'depots' list"),
        ({"depots": [{"name": "a"}]}, "exactly one of 'scenario'"),
        ({"depots": [{"name": "a", "generate": {"vehicles": 10}, "scenario": "x.json"}]}, "exactly one of"),
        ({"depots": [{"name": "a", "generate": {"vehicle": 10}}]}, "unknown key 'vehicle'"),
        ({"depots": [{"name": "a", "generate": {"vehicles": 10}, "pv": 3}]}, "unknown key 'pv'"),
        ({"depots": [{"name": "a", "generate": {"vehicles": 10}, "import_limit_kw": "big"}]},
         "depot 'a'.import_limit_kw: must be a number (value 'big')"),
        ({"depots": [{"name": "a", "generate": {"vehicles": 10}}, {"name": "a", "generate": {"vehicles": 5}}]},
         "used twice"),
        ({"depots": [{"name": "a/b", "generate": {"vehicles": 10}}]}, "without '/'"),
        ({"depots": [{"name": "a", "generate": {"vehicles": -1}}]}, "'vehicles' must be within"),
        ({"depots": [{"name": "a", "scenario": "missing.json"}]}, "scenario file not found (value 'missing.json')"),
        ({"depots": [{"name": "a", "generate": {}}], "upstream_limit_kw": 0}, "upstream_limit_kw must be > 0"),
        ({"depots": [{"name": "a", "generate": {}}], "shared": 1}, "unknown key 'shared'"),
    ],
)  # fmt: skip
def test_fleet_errors_name_depot_key_and_value(data: dict, fragment: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_fleet(data)
    assert fragment in str(err.value)


def test_fleet_detection(fleet_file: Path) -> None:
    assert is_fleet_file(fleet_file)
    assert not is_fleet_file(fleet_file.parent / "north.json")
    assert not is_fleet_file(fleet_file.parent / "nothing.yaml")


def test_overrides_and_fleet_kpis(fleet_file: Path) -> None:
    run = run_fleet(load_fleet(fleet_file), "uncontrolled", SimulationOptions(v2g=False))
    north = run.results[("north", "uncontrolled")].scenario
    south = run.results[("south", "uncontrolled")].scenario
    assert north.import_limit_kw == 150.0 and north.extra["tariff"] == "onee_bt_bihoraire"
    assert south.name == "south" and south.n_vehicles >= 30
    assert south.pv_kw.max() > 0
    k_n, k_s = run.kpis[("north", "uncontrolled")], run.kpis[("south", "uncontrolled")]
    assert k_n["peak_import_kw"] <= 150.0 + 1e-6  # the depot's own limit is enforced by the simulator
    row = run.fleet_row("uncontrolled")
    assert row["net_cost_mad"] == pytest.approx(k_n["net_cost_mad"] + k_s["net_cost_mad"], rel=1e-12)
    assert row["n_vehicles"] == k_n["n_vehicles"] + k_s["n_vehicles"]
    # Coincident peak, recomputed independently: both depots share the time axis here.
    site = run.results[("north", "uncontrolled")].site_kw + run.results[("south", "uncontrolled")].site_kw
    assert row["peak_import_kw"] == pytest.approx(max(site.max(), 0.0))
    assert row["peak_import_kw"] <= row["sum_of_depot_peaks_kw"] + 1e-9
    assert row["upstream_over_limit_steps"] == int((site > 250 + 1e-6).sum())
    assert row["upstream_max_excess_kw"] == pytest.approx(max(site.max() - 250, 0.0))
    table = run.depot_table()
    assert list(table["depot"]) == ["north", "south", "(fleet)"]


@pytest.mark.slow
def test_serial_and_dask_give_the_same_kpis(fleet_file: Path) -> None:
    from distributed import Client

    opts = SimulationOptions()
    serial = run_fleet(fleet_file, STRATEGIES, opts)
    with (
        local_cluster(processes=False) as cluster,
        Client(cluster) as client,
    ):
        dist = run_fleet(fleet_file, STRATEGIES, opts, client=client)
    a = serial.depot_table()
    b = dist.depot_table()
    timings = [c for c in a.columns if c == "runtime_s" or (c.startswith("strategy_") and c.endswith("_s"))]
    a, b = a.drop(columns=timings), b.drop(columns=timings)
    pd.testing.assert_frame_equal(a, b)
    for key, res in serial.results.items():
        np.testing.assert_array_equal(res.power_kw, dist.results[key].power_kw)


def test_fleet_comparison_sums_depot_savings(fleet_file: Path) -> None:
    run = run_fleet(fleet_file, STRATEGIES, SimulationOptions())
    t = fleet_comparison_table(run)
    fleet_rows = t[t["depot"] == "(fleet)"].set_index("strategy")
    depot_rows = t[t["depot"] != "(fleet)"]
    for s in STRATEGIES:
        assert fleet_rows.loc[s, "savings_mad"] == pytest.approx(
            depot_rows[depot_rows["strategy"] == s]["savings_mad"].sum(), abs=1e-6
        )


@pytest.mark.slow
def test_cli_run_on_a_fleet_file(fleet_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    res = subprocess.run(
        [sys.executable, "-m", "evfleet.cli", "run", str(fleet_file), "--out", str(out), "--workers", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert "(fleet)" in res.stdout and "checked, not enforced" in res.stdout
    assert "stored runs r" in res.stdout and "(one per depot)" in res.stdout  # in the sandboxed test store
    for depot in ("north", "south"):
        assert (out / depot / "kpis.json").is_file() and (out / depot / "vehicles.csv").is_file()
    data = json.loads((out / "fleet_kpis.json").read_text(encoding="utf-8"))
    assert set(data["depots"]) == {"north", "south"}
    total = sum(d["net_cost_mad"] for d in data["depots"].values())
    assert data["fleet_kpis"]["net_cost_mad"] == pytest.approx(total)
    assert len(pd.read_csv(out / "depots.csv")) == 3
    bad = fleet_file.parent / "bad.yaml"
    bad.write_text("depots:\n  - {name: x, generate: {vehicles: many}}\n", encoding="utf-8")
    res = subprocess.run(
        [sys.executable, "-m", "evfleet.cli", "run", str(bad), "--out", str(out / "bad"), "--workers", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2 and "generate.vehicles" in res.stderr and "'many'" in res.stderr


def test_fleet_compare_command_writes_tables_and_stores(fleet_file: Path, tmp_path: Path) -> None:
    from evfleet.cli.depots import compare_fleet_command
    from evfleet.store.runs import open_store

    db = str(tmp_path / "store.db")
    out = tmp_path / "cmp"
    compare_fleet_command(fleet_file, out, "all", SimulationOptions(), workers=0, db=db)
    table = pd.read_csv(out / "comparison.csv")
    assert set(table["depot"]) == {"north", "south", "(fleet)"}
    assert "| depot |" in (out / "comparison.md").read_text(encoding="utf-8")
    data = json.loads((out / "fleet_kpis.json").read_text(encoding="utf-8"))
    assert set(data["depots"]) == {"north", "south"} and "uncontrolled" in data["fleet_kpis"]
    with open_store(db) as st:
        groups = st.list_groups(limit=None)
    assert sorted(g["name"].split(":")[0] for g in groups) == ["casa-region/north", "casa-region/south"]
    assert all(g["n_runs"] == len(REGISTRY) for g in groups)


@pytest.mark.slow
def test_cli_compare_on_a_fleet_file(fleet_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    env = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-m", "evfleet.cli", "compare", str(fleet_file), "--out", str(out), "--workers", "2",
           "--strategies", ",".join(STRATEGIES), "--no-store"]  # fmt: skip
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr
    table = pd.read_csv(out / "comparison.csv")
    assert len(table) == 3 * len({*STRATEGIES, "timer"}) and "stored" not in res.stdout  # both baselines run
    fleet = table[table["depot"] == "(fleet)"].set_index("strategy")
    depots = table[table["depot"] != "(fleet)"].groupby("strategy")["net_cost_mad"].sum()
    for s in STRATEGIES:
        assert fleet.loc[s, "net_cost_mad"] == pytest.approx(depots[s], rel=1e-9)
    bad = subprocess.run([*cmd, "--frequency-csv", "f.csv"], env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--frequency-csv" in bad.stderr
