"""MeterValues throughput of ``evfleet serve`` with real ``ocpp`` clients on 127.0.0.1 (and a profile of it).

The server runs as its own process (``evfleet serve``, optionally under ``cProfile``); the stations are emulated in
this process by the depot simulator (the ``ocpp`` library's ChargePoint, OCPP 1.6J or 2.0.1). Every connector has a
transaction and sends one MeterValues of 6 sampled values per round (power, energy register, current on 3 phases,
SoC), as fast as the answers come. Prints messages/s answered, sampled values/s, whether the store kept up (rows
written vs. sampled values sent, queue length) and the ratio to the issue's goal (2,000 msg/s). The emulator shares
the machine's cores with the server, so that figure is a lower bound of what the server alone can take; the
server's own CPU time per message (``/proc``, all its threads) gives its capacity on one core whatever the load.

    python benchmarks/bench_ocpp.py [--stations 200] [--evses 2] [--rounds 10] [--ocpp 1.6|2.0.1]
        [--profile serve.prof]          # cProfile of the server process; print its top functions
        [--client-validation]           # the emulator also validates its own frames (the ocpp library default)

No assertion: the figures are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pstats
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

from evfleet.operate.depot_sim import SimDepot, SimEV

GOAL_MSG_PER_S = 2000.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) used so far by process ``pid`` (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _http(port: int, path: str, timeout: float = 60) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
        return json.loads(r.read())


async def main(a: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="evfleet-bench-ocpp-"))
    ocpp_port, api_port = _free_port(), _free_port()
    depot = SimDepot(
        None, a.stations, f"ws://127.0.0.1:{ocpp_port}/ocpp", version=a.ocpp, evses_per_station=a.evses,
        meter_interval_s=1e9,
    )  # fmt: skip
    n_conn = a.stations * a.evses
    cfg = {
        "site": {"import_limit_kw": 0.6 * 22 * n_conn, "base_load_kw": 10, "base_load_max_kw": 20},
        "control": {"interval_s": 3600, "profile_timeout_s": 60, "min_replan_gap_s": 5},
        "ocpp": {"response_timeout_s": 60},
        "stations": depot.bodies()["stations"],
        "id_tokens": [{"id_token": f"T{i}", "status": "Accepted"} for i in range(n_conn)],
    }
    (tmp / "depot.yaml").write_text(yaml.safe_dump(cfg))
    cmd = [sys.executable]
    if a.profile:
        cmd += ["-m", "cProfile", "-o", str(Path(a.profile).resolve())]
    cmd += ["-m", "evfleet.cli", "serve", "--config", str(tmp / "depot.yaml"), "--db", str(tmp / "op.db")]
    cmd += ["--ocpp-port", str(ocpp_port), "--api-port", str(api_port), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(tmp / "serve.log", "w"))  # noqa: SIM115
    t0 = time.perf_counter()
    try:
        while True:
            try:
                _http(api_port, "/healthz", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.perf_counter() - t0 > 600:
                    raise RuntimeError((tmp / "serve.log").read_text()[-2000:]) from None
                await asyncio.sleep(0.3)
        await depot.start()
        await depot.wait_booted(600)
        if not a.client_validation:
            for st in depot.stations:
                st.skip_validation = True
        k = 0
        for st in depot.stations:
            for c in st.connectors:
                depot.plug(st, c, SimEV(f"V{k}", f"T{k}", 60.0, 0.2, 1.0, 22.0, 10**9, 0.9))
                k += 1
        ticker = asyncio.create_task(depot.run(3600))
        t0 = time.perf_counter()
        while _http(api_port, "/api/v1/site")["n_connected"] < n_conn:
            if time.perf_counter() - t0 > 300:
                raise RuntimeError("transactions did not all start")
            await asyncio.sleep(0.3)
        await asyncio.sleep(6)  # the event-driven control cycles settle
        before = _http(api_port, "/api/v1/stats")
        cpu0 = _cpu_s(proc.pid)
        t = time.perf_counter()
        for _ in range(a.rounds):
            await asyncio.gather(*(st.send_meter_values() for st in depot.stations))
        elapsed = time.perf_counter() - t
        n_msgs = a.rounds * n_conn
        await asyncio.sleep(0.5)  # the store's last group commit
        cpu = _cpu_s(proc.pid) - cpu0
        after = _http(api_port, "/api/v1/stats")
        rows = after["rows_written"] - before["rows_written"]
        rate = n_msgs / elapsed
        print(
            f"MeterValues (OCPP {a.ocpp}, {a.stations} stations x {a.evses} EVSEs, {a.rounds} rounds, client "
            f"validation {'on' if a.client_validation else 'off'}): {n_msgs} messages answered in {elapsed:.2f} s = "
            f"{rate:.0f} msg/s ({6 * n_msgs / elapsed:.0f} sampled values/s), {rate / GOAL_MSG_PER_S:.2f} x the "
            f"goal of {GOAL_MSG_PER_S:.0f} msg/s; store wrote {rows} rows (expected {6 * n_msgs}), queue "
            f"{after['store_queue']}"
        )
        print(
            f"server CPU: {cpu:.2f} s for {n_msgs} messages = {1e6 * cpu / n_msgs:.0f} us per message (receive, "
            f"check, store, answer; writer thread included) = at most {n_msgs / cpu:.0f} msg/s on one core, "
            f"{n_msgs / cpu / GOAL_MSG_PER_S:.2f} x the goal"
        )
        ticker.cancel()
        await asyncio.gather(ticker, return_exceptions=True)
    finally:
        await depot.stop()
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
    if a.profile:
        pstats.Stats(str(Path(a.profile).resolve())).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stations", type=int, default=200)
    ap.add_argument("--evses", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--ocpp", choices=["1.6", "2.0.1"], default="1.6")
    ap.add_argument("--profile", default=None)
    ap.add_argument("--client-validation", action="store_true")
    asyncio.run(main(ap.parse_args()))
