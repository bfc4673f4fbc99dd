"""Property: whatever sequence of evfleet commands runs on one store, each killed with SIGKILL at a random moment,
the store stays whole — SQLite integrity ``ok``, ``evfleet store check`` finds no problem, every committed run is
readable in full (metadata, KPIs, site series, vehicle rows, trace) and no run is half present.

Each command is a real ``python -m evfleet.cli`` subprocess; hypothesis draws the commands and the kill delays
(few examples, no deadline: the test runs in CI in well under a minute and a half).
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import evfleet
from evfleet.scenario import save_scenario
from evfleet.store.runs import open_store
from store_factories import small_scenario

pytestmark = pytest.mark.slow

SRC = str(Path(evfleet.__file__).resolve().parents[1])
COMMANDS = ("run", "compare", "sweep", "rm", "import", "backup", "restore", "check_repair")
FLEET_CSV = "id,model,arrival,departure\nv1,Nissan Leaf,2026-03-02 08:00,2026-03-02 17:00\n"
SPEC = "base: {vehicles: 6, days: 1, start: '2026-03-02'}\ngrid: {seed: [1, 2]}\n"


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env["XDG_DATA_HOME"] = str(home / "xdg")
    for key in ("EVFLEET_DB", "EVFLEET_TRACE_DIR", "EVFLEET_DEBUG"):
        env.pop(key, None)
    return env


def _cli(args: list[str], home: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "evfleet.cli", *args],
        env=_env(home),
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill reaches anything it started
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with one run, a backup archive of it, a scenario, a fleet CSV and a 2-point sweep spec."""
    home = tmp_path_factory.mktemp("template")
    save_scenario(small_scenario(vehicles=8, seed=2, pv=False), home / "sc.json")
    (home / "fleet.csv").write_text(FLEET_CSV, encoding="utf-8")
    (home / "spec.yaml").write_text(SPEC, encoding="utf-8")
    db = home / "store" / "evfleet.db"
    for args in (
        ["run", "sc.json", "--out", "out0", "--db", str(db)],
        ["backup", "--out", "backup.tar.gz", "--db", str(db)],
    ):
        assert _cli(args, home).wait(120) == 0, args
    return home


def _args(command: str, home: Path, i: int) -> list[str] | None:
    db = str(home / "store" / "evfleet.db")
    if command == "run":
        return ["run", "sc.json", "--out", f"out-{i}", "--db", db]
    if command == "compare":
        return ["compare", "sc.json", "--strategies", "uncontrolled", "--out", f"cmp-{i}", "--db", db]
    if command == "sweep":
        return ["sweep", "spec.yaml", "--workers", "0", "--out", f"sweep-{i}", "--db", db]
    if command == "rm":
        with open_store(db) as store:
            runs = store.list_runs(limit=None)
        return ["rm", runs[-1]["id"], "--db", db] if runs else None
    if command == "import":
        return ["import", "fleet", "fleet.csv", "--db", db, "--scenario-out", f"imported-{i}.json"]
    if command == "backup":
        return ["backup", "--out", f"b-{i}.tar.gz", "--db", db]
    if command == "restore":
        return ["restore", "backup.tar.gz", "--force", "--db", db]
    return ["store", "check", "--repair", "--db", db]


def _assert_whole(db: Path) -> None:
    """SQLite integrity ok, the store's own check clean, every run readable in full."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    with open_store(db) as store:
        assert store.verify() == []  # what `evfleet store check` reports (orphan trace files aside)
        for run in store.list_runs(limit=None):
            full = store.get_run(run["id"])
            assert full["kpis"], run["id"]
            assert len(store.site_steps(run["id"])) > 0
            assert store.trace(run["id"])["power_kw"].size > 0
            store.vehicle_summaries(run["id"])


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(COMMANDS), st.floats(min_value=0.05, max_value=2.0)), min_size=2, max_size=3
    )
)
def test_store_survives_random_commands_killed_at_random_moments(template: Path, steps: list) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        shutil.copytree(template, home)
        db = home / "store" / "evfleet.db"
        for i, (command, delay_s) in enumerate(steps):
            args = _args(command, home, i)
            if args is None:
                continue
            proc = _cli(args, home)
            time.sleep(delay_s)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # the group of the process this test started
            proc.wait(30)
            _assert_whole(db)
        with open_store(db) as store:  # a repair (`store check --repair`) leaves nothing to repair
            store.clean_orphan_trace_files(min_age_s=0.0)
            assert store.orphan_trace_files() == []
        _assert_whole(db)
