"""The background's worker processes (evfleet.dashboard.solver_process) end with their server and never start
workers: the causes of the orphaned and chained workers of 3 Dec 2026 (#16). Every process started here is ended
here; the checks are on process ids, not on times."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

import numpy as np
import pytest

from evfleet.dashboard import solver_process
from evfleet.inputs.generate import ScenarioParams, generate_scenario
from evfleet.simulation.simulate import simulate
from evfleet.strategies import REGISTRY

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, dead but not yet reaped, counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _gone(pids: list[int], timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while any(_alive(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat", encoding="ascii") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                pass
    return out


pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@pytest.fixture
def workers(monkeypatch):
    monkeypatch.setenv(solver_process.ENV_PROCESS, "1")
    yield
    solver_process.stop()


def test_a_worker_does_not_run_the_dashboard_script_and_never_starts_a_worker(workers, monkeypatch, tmp_path):
    # Streamlit makes the script it runs the __main__ module; spawn re-ran it in each worker (which drew the
    # dashboard and started workers of its own). Here the "script" leaves a mark if it is ever run.
    mark = tmp_path / "script_ran"
    script = tmp_path / "app.py"
    script.write_text(f"open({str(mark)!r}, 'w').write('ran')\n")
    fake_main = types.ModuleType("__main__")
    fake_main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    facts = solver_process._pool(0).submit(solver_process._worker_facts).result(120)
    assert not mark.exists()  # the dashboard script was not run in the worker
    assert facts["main_file"] != str(script) and facts["ppid"] == os.getpid(), facts
    assert facts["may_start_workers"] is False  # a worker process never starts one
    with pytest.raises(RuntimeError, match="never starts"):  # and the pool refuses in a child process
        solver_process._pool(0).submit(solver_process._pool, 1).result(60)
    pids = solver_process.worker_pids()
    assert pids == [facts["pid"]], (pids, facts)
    solver_process.stop()
    assert _gone(pids) and solver_process.worker_pids() == []


def test_a_started_worker_has_loaded_the_strategies_before_its_first_run(workers):
    solver_process.start(1)  # server start-up: the worker imports what a run needs now, not in its first run
    facts = solver_process._pool(0).submit(solver_process._worker_facts).result(120)
    wanted = {REGISTRY[name].__module__ for name in REGISTRY} & {m for m in sys.modules if m.startswith("evfleet.")}
    assert wanted <= set(facts["modules"]), sorted(wanted - set(facts["modules"]))
    assert "evfleet.simulation.simulate" in facts["modules"]


def test_the_result_is_the_direct_computation_and_a_long_run_can_be_deferred(workers, monkeypatch):
    sc = generate_scenario(ScenarioParams(vehicles=40))
    res = solver_process.simulate_elsewhere(sc, "timer", "offline", True, lane=1)
    np.testing.assert_allclose(res.power_kw, simulate(sc, "timer").power_kw, atol=1e-9)
    first = solver_process.worker_pids()
    monkeypatch.setattr(solver_process, "DEFER_S", 0.05)  # every busy run is "long"
    monkeypatch.setattr(solver_process, "_POLL_S", 0.001)
    monkeypatch.setattr(solver_process, "_simulate", _sleepy_simulate)
    with pytest.raises(solver_process.Deferred):  # other tasks wait: stopped, to be queued last
        solver_process.simulate_elsewhere(sc, "timer", "offline", True, lane=1, may_defer=lambda: True)
    assert _gone(first)  # its worker was killed (a new one starts with the next run)
    monkeypatch.setattr(solver_process, "_simulate", _quick)
    assert solver_process.simulate_elsewhere(sc, "timer", "offline", True, lane=1, may_defer=lambda: False) == "ok"


def _sleepy_simulate(*args: object) -> None:
    end = time.monotonic() + 30  # a long solve: busy (the deferral counts the worker's CPU time)
    while time.monotonic() < end:
        pass


def _quick(*args: object) -> str:
    time.sleep(0.05)  # a few polls: not deferred while may_defer() is False
    return "ok"


_PARENT = textwrap.dedent(
    """
    import os, sys, threading, time
    os.environ["EVFLEET_PRECOMPUTE_PROCESS"] = "1"
    from evfleet.dashboard import solver_process
    th = threading.Thread(target=solver_process.start, args=(2,))  # a short-lived thread starts them (warm-up)
    th.start(); th.join()
    deadline = time.monotonic() + 120
    while len(solver_process.worker_pids()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    solver_process._pool(0).submit(time.sleep, 300)  # a long run in progress
    time.sleep(1.0)
    print(" ".join(map(str, solver_process.worker_pids())), flush=True)
    sys.stdin.readline()  # the test's go (or a signal meanwhile)
    sys.exit(0)  # a normal exit: the workers are stopped before concurrent.futures waits for the run
    """
)


@pytest.mark.parametrize("how", ["sigkill", "sigterm", "exit"])
def test_workers_end_with_their_parent(tmp_path, how):
    script = tmp_path / "parent.py"
    script.write_text(_PARENT)
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, str(script)], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)  # fmt: skip
    try:
        line = proc.stdout.readline()
        pids = [int(x) for x in line.split()]
        assert len(pids) == 2, line
        time.sleep(1.5)
        assert all(_alive(p) for p in pids)  # alive although the thread that started them has ended
        if how == "sigkill":
            proc.send_signal(signal.SIGKILL)
        elif how == "sigterm":
            proc.send_signal(signal.SIGTERM)
        else:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        proc.wait(60)
        assert _gone(pids), [p for p in pids if _alive(p)]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
        proc.stdin.close()


def test_a_stopped_dashboard_server_leaves_no_worker():
    from evfleet.dashboard.harness import serve

    env = {solver_process.ENV_PROCESS: "1", "EVFLEET_PRECOMPUTE": "1"}
    with serve(env=env, timeout_s=180) as url:
        port = url.rsplit(":", 1)[1]
        server = [int(d) for d in os.listdir("/proc") if d.isdigit() and _cmdline_has(int(d), f"--port\0{port}")]
        assert len(server) == 1
        deadline = time.monotonic() + 120
        while len(_children(server[0])) < 3 and time.monotonic() < deadline:  # 2 lanes + resource tracker
            time.sleep(0.2)
        kids = _children(server[0])
        assert len(kids) >= 2
    assert _gone([server[0], *kids]), [p for p in kids if _alive(p)]


def _cmdline_has(pid: int, text: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", encoding="utf-8", errors="replace") as f:
            return text in f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
