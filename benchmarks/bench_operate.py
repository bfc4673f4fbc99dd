"""Benchmark of ``evfleet serve`` at depot scale: 2,000 connectors (1,000 OCPP 1.6 stations x 2 EVSEs).

The server runs as its own process (``evfleet serve``); the stations are emulated in this process by the depot
simulator, all on 127.0.0.1. Prints:

- the control cycle (problem build, online re-plan with ``load_balancing``, 2,000 TxProfiles sent and acknowledged)
  as timed by the server (``last_cycle_s``) and by the caller of ``POST /api/v1/plan``, over a few repeats;
- MeterValues throughput: every connector sends one MeterValues (6 sampled values) per round, as fast as the
  answers come; messages/s answered, and whether the store kept up (rows written vs. rows received, queue length);
- the server's peak resident memory (VmHWM).

Target of issue #17 on a 2-core machine: cycle < 5 s, 2,000 MeterValues/s with the store keeping up, < 1 GB.
No assertion: the figures are printed. Run: ``python benchmarks/bench_operate.py [--connectors 2000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

from evfleet.operate.depot_sim import SimDepot, SimEV


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _http(port: int, path: str, method: str = "GET", timeout: float = 600) -> dict:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", method=method, data=b"" if method == "POST" else None
    )
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def _vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def main(n_connectors: int, evses: int, rounds: int) -> None:
    n_stations = n_connectors // evses
    tmp = Path(tempfile.mkdtemp(prefix="evfleet-bench-operate-"))
    ocpp_port, api_port = _free_port(), _free_port()
    depot = SimDepot(
        None, n_stations, f"ws://127.0.0.1:{ocpp_port}/ocpp", evses_per_station=evses, meter_interval_s=1e9
    )
    cfg = {
        "site": {"import_limit_kw": 0.6 * 22 * n_connectors, "base_load_kw": 100, "base_load_max_kw": 200},
        "control": {"interval_s": 3600, "profile_timeout_s": 60},
        "ocpp": {"response_timeout_s": 60},
        "stations": depot.bodies()["stations"],
        "id_tokens": [{"id_token": f"T{i}", "status": "Accepted"} for i in range(n_connectors)],
    }
    (tmp / "depot.yaml").write_text(yaml.safe_dump(cfg))
    cmd = [
        sys.executable,
        "-m",
        "evfleet.cli",
        "serve",
        "--config",
        str(tmp / "depot.yaml"),
        "--db",
        str(tmp / "op.db"),
    ]
    cmd += ["--ocpp-port", str(ocpp_port), "--api-port", str(api_port), "--log-level", "warning"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(tmp / "serve.log", "w"))  # noqa: SIM115
    try:
        while True:
            try:
                _http(api_port, "/healthz", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.perf_counter() - t0 > 600:
                    raise RuntimeError((tmp / "serve.log").read_text()[-2000:]) from None
                await asyncio.sleep(0.5)
        print(f"server up with {n_stations} stations registered in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        await depot.start()
        await depot.wait_booted(900)
        print(f"{n_stations} stations connected and booted in {time.perf_counter() - t0:.1f} s")
        k = 0
        for st in depot.stations:
            for c in st.connectors:
                depot.plug(st, c, SimEV(f"V{k}", f"T{k}", 60.0, 0.2, 1.0, 22.0, 10**9, 0.9))
                k += 1
        ticker = asyncio.create_task(depot.run(3600))
        t0 = time.perf_counter()
        while _http(api_port, "/api/v1/site")["n_connected"] < n_connectors:
            if time.perf_counter() - t0 > 600:
                raise RuntimeError("transactions did not all start")
            await asyncio.sleep(0.5)
        print(f"{n_connectors} transactions started in {time.perf_counter() - t0:.1f} s")
        await asyncio.sleep(5)  # let the event-driven cycles settle
        server_s, caller_s = [], []
        for _ in range(3):
            t = time.perf_counter()
            plan = await asyncio.to_thread(_http, api_port, "/api/v1/plan", "POST")
            caller_s.append(time.perf_counter() - t)
            server_s.append(_http(api_port, "/api/v1/stats")["last_cycle_s"])
        accepted = sum(c.tx_profile_kw is not None for st in depot.stations for c in st.connectors)
        print(
            f"control cycle ({plan['n_vehicles']} vehicles, {len(plan['setpoints'])} profiles): "
            f"server {statistics.median(server_s):.2f} s median (min {min(server_s):.2f}, max {max(server_s):.2f}), "
            f"caller {statistics.median(caller_s):.2f} s; {accepted} connectors hold a TxProfile; "
            f"plan {plan['planned_ev_kw']:.0f} kW <= {plan['limit_kw'] - plan['base_kw']:.0f} kW room"
        )
        before = _http(api_port, "/api/v1/stats")
        t = time.perf_counter()
        for _ in range(rounds):
            await asyncio.gather(*(st.send_meter_values() for st in depot.stations))
        elapsed = time.perf_counter() - t
        n_msgs = rounds * n_connectors
        await asyncio.sleep(0.5)
        after = _http(api_port, "/api/v1/stats")
        rows = after["rows_written"] - before["rows_written"]
        print(
            f"MeterValues: {n_msgs} messages answered in {elapsed:.2f} s = {n_msgs / elapsed:.0f} msg/s "
            f"({6 * n_msgs / elapsed:.0f} sampled values/s); store wrote {rows} rows (expected ~{6 * n_msgs}), "
            f"queue {after['store_queue']}"
        )
        print(f"server peak resident memory: {_vm_hwm_mb(proc.pid):.0f} MB")
        ticker.cancel()
        await asyncio.gather(ticker, return_exceptions=True)
    finally:
        await depot.stop()
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connectors", type=int, default=2000)
    ap.add_argument("--evses", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    asyncio.run(main(a.connectors, a.evses, a.rounds))
