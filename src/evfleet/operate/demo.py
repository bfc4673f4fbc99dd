"""``evfleet demo --live``: the central system, a simulated depot and the dashboard in one command.

Three child processes on 127.0.0.1, in this order: ``evfleet serve`` (its operate store in ``--dir``), once its
``/healthz`` answers ``evfleet depot-sim`` (registering its stations, vehicles and ID tokens through the API, then
replaying a generated scenario, time compressed), and ``evfleet dashboard --operate-db`` (the live depot page).
Ctrl+C (SIGINT) or SIGTERM stops all three: each gets SIGTERM, then SIGKILL after ``stop_timeout_s``; when one
of them ends by itself the others are stopped too. Port 0 picks a free port. The same as ``make demo``.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evfleet._common.errors import InputError, RunError

__all__ = ["DemoPlan", "free_port", "plan_live_demo", "run_live_demo"]

HOST = "127.0.0.1"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class DemoPlan:
    """The three command lines and the ports of a live demo."""

    directory: Path
    ocpp_port: int
    api_port: int
    dashboard_port: int
    scenario: list[str]
    serve: list[str]
    depot_sim: list[str]
    dashboard: list[str]


def plan_live_demo(
    directory: Path,
    stations: int = 20,
    vehicles: int = 40,
    speed: float = 120.0,
    ocpp_port: int = 9000,
    api_port: int = 8000,
    dashboard_port: int = 8501,
    ocpp_version: str = "1.6",
    seed: int = 1,
) -> DemoPlan:
    """The commands of a live demo in ``directory`` (ports 0: free ones)."""
    for name, port in (("--ocpp-port", ocpp_port), ("--api-port", api_port), ("--port", dashboard_port)):
        if not 0 <= port <= 65535:
            raise InputError(f"option '{name}' must be within 0-65535 (value {port})")
    if stations < 1 or vehicles < 1:
        raise InputError(f"options '--stations' and '--vehicles' must be >= 1 (values {stations}, {vehicles})")
    ocpp_port, api_port, dashboard_port = (p or free_port() for p in (ocpp_port, api_port, dashboard_port))
    exe = [sys.executable, "-m", "evfleet.cli"]
    day, db = directory / "day.json", directory / "operate.db"
    return DemoPlan(
        directory,
        ocpp_port,
        api_port,
        dashboard_port,
        [*exe, "scenario", "new", "--vehicles", str(vehicles), "--seed", str(seed), "--out", str(day)],
        [*exe, "serve", "--db", str(db), "--host", HOST, "--ocpp-port", str(ocpp_port), "--api-port", str(api_port)],
        [
            *exe,
            "depot-sim",
            "--stations",
            str(stations),
            "--csms",
            f"ws://{HOST}:{ocpp_port}/ocpp",
            "--ocpp",
            ocpp_version,
            "--scenario",
            str(day),
            "--speed",
            str(speed),
            "--register",
            f"http://{HOST}:{api_port}",
            "--meter-interval",
            "5",
        ],
        [*exe, "dashboard", "--host", HOST, "--port", str(dashboard_port), "--operate-db", str(db)],
    )


def _healthy(api_port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{api_port}/healthz", timeout=2) as r:
            return bool(json.loads(r.read()).get("ocpp"))
    except (OSError, ValueError):
        return False


def _stop(procs: list[subprocess.Popen[Any]], timeout_s: float) -> None:
    """SIGTERM every running child (last started first), then SIGKILL those still running after ``timeout_s``."""
    for p in reversed(procs):
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for p in reversed(procs):
        try:
            p.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)


def run_live_demo(
    plan: DemoPlan,
    echo: Callable[[str], None] = print,
    start_timeout_s: float = 120.0,
    stop_timeout_s: float = 20.0,
) -> int:
    """Run the live demo until Ctrl+C / SIGTERM or until a child ends; return 0 (stopped by the user) or the
    first child's non-zero exit status."""
    plan.directory.mkdir(parents=True, exist_ok=True)
    if not (plan.directory / "day.json").is_file():
        subprocess.run(plan.scenario, check=True, stdout=subprocess.DEVNULL)
    procs: list[subprocess.Popen[Any]] = []
    stopping = False

    def on_term(_sig: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, on_term)
    try:
        procs.append(subprocess.Popen(plan.serve))
        deadline = time.monotonic() + start_timeout_s
        while not _healthy(plan.api_port):
            if procs[0].poll() is not None:
                raise RunError(f"evfleet serve ended at start (status {procs[0].returncode})")
            if time.monotonic() > deadline:
                raise RunError(f"evfleet serve did not answer on port {plan.api_port} in {start_timeout_s} s")
            time.sleep(0.3)
        procs.append(subprocess.Popen(plan.depot_sim))
        procs.append(subprocess.Popen(plan.dashboard))
        echo(
            f"evfleet demo --live: API http://{HOST}:{plan.api_port}/docs  OCPP ws://{HOST}:{plan.ocpp_port}/ocpp  "
            f"dashboard http://{HOST}:{plan.dashboard_port}/depot  (pids {' '.join(str(p.pid) for p in procs)}; "
            "Ctrl+C stops all three)"
        )
        while True:
            for p in procs:
                if p.poll() is not None:
                    echo(f"evfleet demo --live: {p.args[3]} ended (status {p.returncode}); stopping")
                    return p.returncode or 0
            time.sleep(0.5)
    except KeyboardInterrupt:
        stopping = True
        return 0
    finally:
        signal.signal(signal.SIGTERM, old)
        _stop(procs, stop_timeout_s)
        if stopping:
            echo("evfleet demo --live: stopped")
