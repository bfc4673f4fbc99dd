"""Sweeps: spec validation, serial vs distributed identity, worker loss, resume, an external scheduler."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from evfleet.batch.spec import SpecError, expand_points, parse_spec
from evfleet.batch.sweep import SweepInterrupted, nondeterministic_columns, run_sweep
from evfleet.strategies import REGISTRY
from factories import local_cluster

SRC = Path(__file__).resolve().parents[1] / "src"
PY = sys.executable
DASK = str(Path(sys.executable).with_name("dask"))

#: Strategies to sweep over: the baseline plus the fast ones that are registered in this build.
STRATEGIES = ["uncontrolled"] + [s for s in ("load_balancing", "price_optimization") if s in REGISTRY]


def small_spec(seeds: tuple[int, ...] = (1, 2), vehicles: int = 20) -> dict:
    return {
        "base": {"vehicles": vehicles, "days": 1, "start": "2026-06-01"},
        "grid": {"strategy": STRATEGIES, "seed": list(seeds), "v2g": [False, True]},
    }


def deterministic(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=nondeterministic_columns(df.columns)).reset_index(drop=True)


def env_with_src() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture(scope="module")
def serial_table(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("serial")
    outcome = run_sweep(parse_spec(small_spec()), out, client=None, progress=False)
    return outcome.table


# --- spec --------------------------------------------------------------------------------------------------------


def test_issue_spec_expands_to_12_points_or_names_the_missing_strategy() -> None:
    text = """
base: {vehicles: 200, days: 1}
grid:
  strategy: [uncontrolled, price_optimization]
  seed: [1, 2, 3]
  v2g: [false, true]
"""
    data = yaml.safe_load(text)
    if "price_optimization" in REGISTRY:
        points = expand_points(parse_spec(data), default_start="2026-06-01")
        assert len(points) == 12
        assert len({p.point_id for p in points}) == 12
        assert {p.run["strategy"] for p in points} == {"uncontrolled", "price_optimization"}
    else:
        with pytest.raises(SpecError, match="price_optimization"):
            parse_spec(data)


def test_dash_and_underscore_spellings_are_the_same_key() -> None:
    a = parse_spec({"base": {"import-limit-kw": 300, "vehicles": 20}, "grid": {"pv-kwp": [0, 50]}})
    b = parse_spec({"base": {"import_limit_kw": 300, "vehicles": 20}, "grid": {"pv_kwp": [0, 50]}})
    pa = expand_points(a, default_start="2026-06-01")
    pb = expand_points(b, default_start="2026-06-01")
    assert [p.point_id for p in pa] == [p.point_id for p in pb]
    assert pa[1].scenario == {"import_limit_kw": 300.0, "vehicles": 20, "pv_kwp": 50.0, "start": "2026-06-01"}


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"base": {"vehicle": 20}}, "'vehicle'"),
        ({"base": {"vehicles": "many"}}, "base.vehicles: must be an integer (value 'many')"),
        ({"grid": {"seed": 3}}, "grid.seed must be a non-empty list (value 3)"),
        ({"grid": {"strategy": ["uncontrolled", "nope"]}}, "grid.strategy[1]: unknown strategy (value 'nope')"),
        ({"grid": {"v2g": ["yes"]}}, "grid.v2g[0]: must be true or false (value 'yes')"),
        ({"grid": {"mode": ["offline", "later"]}}, "(value 'later')"),
        ({"grid": {"seed": [1, 1]}}, "grid.seed lists a value twice"),
        ({"grids": {}}, "unknown section 'grids'"),
        ({"base": {"vehicles": 20, "soc_min": 0.95}}, "soc_min"),
        ({"base": {"vehicles": 0}}, "'vehicles' must be within"),
        ({"random": {"draws": 3, "pv_kwp": {"normal": [0, 1]}}}, "random.pv_kwp: must be one of"),
        ({"random": {"draws": 3, "pv_kwp": {"uniform": [10, 1]}}}, "LOW must be <= HIGH"),
        ({"random": {"draws": 0, "seed": 1, "pv_kwp": {"uniform": [0, 1]}}}, "random.draws must be an integer >= 1"),
        ({"random": {"draws": 2, "tariff": {"uniform": [0, 1]}}}, "uniform draws need a numeric key"),
        ({"grid": {"seed": [1]}, "random": {"draws": 2, "seed": {"randint": [0, 9]}}}, "both in grid and random"),
        ({"random": {"draws": 2, "seed": 1, "rng_seed": 2, "pv_kwp": {"uniform": [0, 1]}}}, "not both"),
        ({"base": {"charger_mix": "ac11=1"}}, "charger_mix"),
        ({"base": {"scenario": "no/such/file.json"}}, "base.scenario file not found"),
        ("just text", "must be a mapping"),
    ],
)
def test_spec_errors_name_key_and_value(spec: object, fragment: str) -> None:
    with pytest.raises(SpecError) as err:
        expand_points(parse_spec(spec), default_start="2026-06-01")
    assert fragment in str(err.value)


def test_random_draws_are_seeded_and_crossed_with_the_grid() -> None:
    spec = {
        "base": {"vehicles": 20},
        "grid": {"v2g": [False, True]},
        "random": {"draws": 4, "seed": 7, "pv_kwp": {"uniform": [0, 100]}, "tariff": {"choice": ["onee_bt_bihoraire"]}},
    }
    a = expand_points(parse_spec(spec), default_start="2026-06-01")
    b = expand_points(parse_spec(spec), default_start="2026-06-01")
    assert len(a) == 8
    assert [p.point_id for p in a] == [p.point_id for p in b]
    pv = [p.scenario["pv_kwp"] for p in a]
    assert all(0 <= x <= 100 for x in pv) and len(set(pv)) == 4  # 4 draws, each used for both v2g values
    other = expand_points(parse_spec({**spec, "random": {**spec["random"], "seed": 8}}), default_start="2026-06-01")
    assert {p.point_id for p in other}.isdisjoint({p.point_id for p in a})


def test_base_scenario_file_with_overrides(tmp_path: Path) -> None:
    from evfleet.inputs.generate import generate_scenario
    from evfleet.scenario import save_scenario

    save_scenario(generate_scenario(vehicles=20, seed=3, start="2026-06-01"), tmp_path / "base.json")
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(
        yaml.safe_dump({"base": {"scenario": "base.json"}, "grid": {"import_limit_kw": [60.0, 500.0]}}),
        encoding="utf-8",
    )
    outcome = run_sweep(spec_path, tmp_path / "out", progress=False)
    t = outcome.table
    assert list(t["import_limit_kw"]) == [60.0, 500.0]
    assert t["scenario_hash"].nunique() == 2
    # A tight limit curtails the uncontrolled charging; a loose one does not.
    assert t["peak_import_kw"].iloc[0] <= 60.0 + 1e-6 < t["peak_import_kw"].iloc[1]
    with pytest.raises(SpecError, match=r"grid\.seed cannot be applied to the base scenario file"):
        parse_spec({"base": {"scenario": str(tmp_path / "base.json")}, "grid": {"seed": [1, 2]}})


# --- results -----------------------------------------------------------------------------------------------------


def test_rows_carry_parameters_kpis_savings_and_version(serial_table: pd.DataFrame) -> None:
    t = serial_table
    assert len(t) == len(STRATEGIES) * 4
    assert t["point_id"].is_unique
    for col in ("vehicles", "seed", "strategy", "v2g", "scenario_hash", "net_cost_mad", "savings_pct",
                "peak_reduction_pct", "unmet_energy_kwh", "evfleet_version", "point_runtime_s"):  # fmt: skip
        assert col in t, col
    base = t[t["strategy"] == "uncontrolled"]
    assert (base["savings_mad"] == 0).all()
    # Savings are computed against the same scenario's baseline.
    merged = t.merge(base[["seed", "v2g", "net_cost_mad"]], on=["seed", "v2g"], suffixes=("", "_base"))
    assert (merged["baseline_net_cost_mad"] == merged["net_cost_mad_base"]).all()
    assert (merged["savings_mad"] == merged["net_cost_mad_base"] - merged["net_cost_mad"]).all()
    # Different seeds give different scenarios.
    assert base.groupby("seed")["scenario_hash"].first().nunique() == 2


def test_summary_is_written(tmp_path: Path) -> None:
    run_sweep(parse_spec(small_spec(seeds=(1,))), tmp_path, progress=False)
    text = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "| strategy |" in text
    for s in STRATEGIES:
        assert f"| {s} |" in text
    assert pd.read_parquet(tmp_path / "results.parquet").shape[0] == len(STRATEGIES) * 2


def test_interrupt_keeps_finished_points_and_rerun_resumes(tmp_path: Path, serial_table: pd.DataFrame) -> None:
    seen: list[str] = []

    def stop_after_two(row: dict) -> None:
        seen.append(row["point_id"])
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(SweepInterrupted) as err:
        run_sweep(parse_spec(small_spec()), tmp_path, progress=False, on_row=stop_after_two)
    assert err.value.outcome.n_done == 2
    assert set(pd.read_parquet(tmp_path / "results.parquet")["point_id"]) == set(seen)
    again = run_sweep(parse_spec(small_spec()), tmp_path, progress=False)
    assert again.n_skipped == 2
    assert again.n_run == len(serial_table) - 2
    pd.testing.assert_frame_equal(deterministic(again.table), deterministic(serial_table))
    third = run_sweep(parse_spec(small_spec()), tmp_path, progress=False)
    assert third.n_run == 0 and third.n_skipped == len(serial_table)
    lines = (tmp_path / "points.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(serial_table)


def test_torn_checkpoint_line_is_ignored(tmp_path: Path) -> None:
    run_sweep(parse_spec(small_spec(seeds=(1,))), tmp_path, progress=False)
    ckpt = tmp_path / "points.jsonl"
    lines = ckpt.read_text(encoding="utf-8").splitlines()
    ckpt.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:40], encoding="utf-8")  # crash mid-write
    again = run_sweep(parse_spec(small_spec(seeds=(1,))), tmp_path, progress=False)
    assert again.n_run == 1 and len(again.table) == len(lines)
    assert len(_valid_lines(ckpt)) == len(lines)  # the rerun's row did not get glued to the torn line


# --- Dask --------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_distributed_table_is_identical_to_serial(tmp_path: Path, serial_table: pd.DataFrame) -> None:
    from distributed import Client

    with (
        local_cluster(processes=False) as cluster,
        Client(cluster) as client,
    ):
        outcome = run_sweep(parse_spec(small_spec()), tmp_path, client=client, progress=False)
    pd.testing.assert_frame_equal(deterministic(outcome.table), deterministic(serial_table))


@pytest.mark.slow
def test_worker_killed_mid_sweep_loses_and_duplicates_nothing(tmp_path: Path, serial_table: pd.DataFrame) -> None:
    from distributed import Client

    killed: list[int] = []
    with (
        local_cluster(processes=True) as cluster,
        Client(cluster) as client,
    ):
        pids = client.run(os.getpid)
        before = set(pids.values())

        def kill_one(row: dict) -> None:
            if not killed:
                busy = client.processing()
                addr = max(pids, key=lambda a: len(busy.get(a, ())))  # the worker with work in hand
                os.kill(pids[addr], signal.SIGKILL)
                killed.append(pids[addr])

        spec = small_spec(seeds=(1, 2, 3))
        outcome = run_sweep(parse_spec(spec), tmp_path, client=client, progress=False, on_row=kill_one)
        client.wait_for_workers(2, timeout=60)
        after = set(client.run(os.getpid).values())
    assert killed and killed[0] in before and killed[0] not in after  # the nanny replaced the dead worker
    assert not outcome.errors
    t = outcome.table
    assert len(t) == len(STRATEGIES) * 6 and t["point_id"].is_unique
    lines = [json.loads(x) for x in (tmp_path / "points.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(lines) == len(t) and len({r["point_id"] for r in lines}) == len(t)
    # Same numbers as a serial run for the points the two sweeps share.
    shared = deterministic(t[t["seed"].isin([1, 2])]).drop(columns="point_index").reset_index(drop=True)
    ref = deterministic(serial_table).drop(columns="point_index")
    key = ["strategy", "seed", "v2g"]
    pd.testing.assert_frame_equal(
        shared.sort_values(key).reset_index(drop=True), ref.sort_values(key).reset_index(drop=True)
    )


def _valid_lines(path: Path) -> list[dict]:
    """The whole JSON rows of a checkpoint (a line torn by Ctrl-C or a crash is not a row)."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def _wait_for(path: Path, timeout_s: float = 30.0) -> None:
    t0 = time.monotonic()
    while not path.is_file() or not path.read_text(encoding="utf-8").strip():
        if time.monotonic() - t0 > timeout_s:
            raise TimeoutError(f"{path} did not appear")
        time.sleep(0.1)


@pytest.mark.slow
def test_sweep_against_a_scheduler_in_another_process(tmp_path: Path, serial_table: pd.DataFrame) -> None:
    sched_file = tmp_path / "scheduler.json"
    env = env_with_src()
    procs: list[subprocess.Popen] = []
    try:
        procs.append(
            subprocess.Popen(
                [
                    DASK,
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--no-dashboard",
                    "--scheduler-file",
                    str(sched_file),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        _wait_for(sched_file)
        address = json.loads(sched_file.read_text(encoding="utf-8"))["address"]
        assert address.startswith("tcp://127.0.0.1:")
        procs.append(
            subprocess.Popen(
                [
                    DASK,
                    "worker",
                    address,
                    "--nworkers",
                    "1",
                    "--nthreads",
                    "1",
                    "--host",
                    "127.0.0.1",
                    "--no-dashboard",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        spec_path = tmp_path / "spec.yaml"
        spec_path.write_text(yaml.safe_dump(small_spec(), sort_keys=False), encoding="utf-8")
        out = tmp_path / "out"
        cli = [PY, "-m", "evfleet.cli", "sweep", str(spec_path), "--out", str(out), "--scheduler", address]
        res = subprocess.run([*cli, "--no-progress"], env=env, capture_output=True, text=True, timeout=180)
        assert res.returncode == 0, res.stderr
        assert "| strategy |" in res.stdout
        table = pd.read_parquet(out / "results.parquet")
        pd.testing.assert_frame_equal(deterministic(table), deterministic(serial_table))
        again = subprocess.run([*cli, "--no-progress"], env=env, capture_output=True, text=True, timeout=180)
        assert again.returncode == 0, again.stderr
        assert f"0 points run, {len(serial_table)} already done" in again.stdout
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.mark.slow
def test_cli_bad_spec_exits_2_naming_key_and_value(tmp_path: Path) -> None:
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text("base: {vehicles: 20}\ngrid: {v2g: [maybe]}\n", encoding="utf-8")
    res = subprocess.run(
        [PY, "-m", "evfleet.cli", "sweep", str(spec_path), "--out", str(tmp_path / "o"), "--workers", "0"],
        env=env_with_src(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2
    assert "error:" in res.stderr and "grid.v2g[0]" in res.stderr and "'maybe'" in res.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["0", "2"])
def test_cli_ctrl_c_keeps_finished_points(tmp_path: Path, workers: str) -> None:
    spec_path = tmp_path / "spec.yaml"
    spec = small_spec(seeds=tuple(range(1, 41)), vehicles=20)
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            PY,
            "-m",
            "evfleet.cli",
            "sweep",
            str(spec_path),
            "--out",
            str(out),
            "--workers",
            workers,
            "--no-progress",
        ],
        env=env_with_src(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    ckpt = out / "points.jsonl"
    t0 = time.monotonic()
    while not (ckpt.is_file() and ckpt.read_text(encoding="utf-8").count("\n") >= 3):
        assert time.monotonic() - t0 < 60 and proc.poll() is None
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # like Ctrl-C in a terminal: the whole process group, workers included
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted:" in err and "Traceback" not in err
    kept = pd.read_parquet(out / "results.parquet")
    assert 3 <= len(kept) < len(STRATEGIES) * 80 and kept["point_id"].is_unique
    assert len(_valid_lines(out / "points.jsonl")) == len(kept)


def test_savings_boxplot_has_one_box_group_per_v2g_setting(serial_table: pd.DataFrame, tmp_path: Path) -> None:
    from evfleet.dashboard.sweep_plots import load_sweep, savings_boxplot

    fig = savings_boxplot(serial_table)
    assert [t.name for t in fig.data] == ["V2G off", "V2G on"]
    assert sum(len(t.y) for t in fig.data) == len(serial_table)
    with pytest.raises(ValueError, match="'nope'"):
        savings_boxplot(serial_table, column="nope")
    with pytest.raises(FileNotFoundError):
        load_sweep(tmp_path)


def test_traces_only_when_asked(tmp_path: Path) -> None:
    spec = {"base": {"vehicles": 20, "start": "2026-06-01"}, "grid": {"seed": [1, 2]}}
    plain = run_sweep(parse_spec(spec), tmp_path / "plain", progress=False)
    assert not (tmp_path / "plain" / "traces").exists()
    traced = run_sweep(parse_spec(spec), tmp_path / "traced", progress=False, traces=True)
    for pid in traced.table["point_id"]:
        d = tmp_path / "traced" / "traces" / pid
        assert (d / "kpis.json").is_file() and (d / "trace.npz").is_file()
        kpis = json.loads((d / "kpis.json").read_text(encoding="utf-8"))
        assert kpis["net_cost_mad"] == traced.table.set_index("point_id").loc[pid, "net_cost_mad"]
    pd.testing.assert_frame_equal(deterministic(plain.table), deterministic(traced.table))


@pytest.mark.slow
def test_cli_stores_a_finished_sweep_once(tmp_path: Path) -> None:
    from evfleet.store.sweeps import load_stored_sweep

    db = tmp_path / "store" / "evfleet.db"
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(small_spec(seeds=(1,)), sort_keys=False), encoding="utf-8")
    out = tmp_path / "out"
    cli = [PY, "-m", "evfleet.cli", "sweep", str(spec_path), "--out", str(out), "--workers", "0", "--no-progress"]
    res = subprocess.run([*cli, "--db", str(db)], env=env_with_src(), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    group_id = res.stdout.split("stored sweep ")[1].split()[0]
    stored = load_stored_sweep(group_id, db=str(db))
    table = pd.read_parquet(out / "results.parquet")
    pd.testing.assert_frame_equal(stored, table, check_dtype=False)
    again = subprocess.run([*cli, "--db", str(db)], env=env_with_src(), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "stored sweep" not in again.stdout  # nothing new: not stored twice
    out2 = tmp_path / "out2"
    nostore = [
        PY,
        "-m",
        "evfleet.cli",
        "sweep",
        str(spec_path),
        "--out",
        str(out2),
        "--workers",
        "0",
        "--no-store",
    ]
    res = subprocess.run([*nostore, "--db", str(db)], env=env_with_src(), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "stored sweep" not in res.stdout
    # every point done but never stored (as a sweep killed after its last point): the rerun stores it, once
    cli2 = [a for a in nostore if a != "--no-store"]
    res = subprocess.run([*cli2, "--db", str(db)], env=env_with_src(), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "0 points run" in res.stdout and "stored sweep" in res.stdout, res.stdout
    res = subprocess.run([*cli2, "--db", str(db)], env=env_with_src(), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "stored sweep" not in res.stdout


def test_html_report_of_a_stored_sweep(tmp_path: Path) -> None:
    from evfleet.reports.run import report_html
    from evfleet.reports.sweep import svg_box_plot
    from evfleet.store.runs import open_store
    from evfleet.store.sweeps import store_sweep

    spec = {"base": {"vehicles": 20, "start": "2026-06-01"}, "grid": {"seed": [1, 2], "import_limit_kw": [60, 500]}}
    outcome = run_sweep(parse_spec(spec), tmp_path / "out", progress=False)
    db = str(tmp_path / "store.db")
    gid = store_sweep(outcome.table, spec, tmp_path / "out", outcome.n_points, name="limits", db=db)
    with open_store(db) as st:
        page = report_html(st, gid)
        st.save_group("comparison", "not a sweep", {}, meta={})
    from evfleet.store.sweeps import stored_sweeps

    listed = stored_sweeps(db)
    assert [(s["id"], s["name"], s["n_points"], s["n_rows"]) for s in listed] == [
        (gid, "limits", outcome.n_points, len(outcome.table))
    ]
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert page.count("<svg") == 4 and "savings vs uncontrolled [%]" in page
    assert "savings vs the cheaper baseline [%] (headline)" in page
    unmet = outcome.table["unmet_energy_kwh"].to_numpy()
    assert f"median {np.median(unmet):.3g}" in page  # the box's tooltip carries the real median
    svg = svg_box_plot([("a", np.array([1.0, 2.0, 3.0])), ("b", np.array([]))], "y [%]")
    assert svg.count("<rect") == 1 and svg.count("<circle") == 3


@pytest.mark.slow
def test_local_cluster_starts_when_dask_dashboard_port_is_taken(tmp_path: Path) -> None:
    """``evfleet sweep``'s local cluster binds its dashboard to a free port, not Dask's 8787."""
    import socket

    from evfleet.batch.cluster import dask_client

    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", 8787))
        sock.listen()
    except OSError:
        pass  # already taken by another process: the case under test all the same
    try:
        with dask_client(workers=1) as client:
            assert client.submit(lambda x: x + 1, 1).result() == 2
    finally:
        sock.close()
