"""``evfleet demo --live``: the central system, a simulated depot and the dashboard in one command, on free
127.0.0.1 ports; the API answers, the stations connect, the dashboard serves, and Ctrl+C stops all three."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from evfleet.operate.demo import plan_live_demo


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, r.read()


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended


def test_plan_uses_free_ports_and_the_same_store(tmp_path):
    plan = plan_live_demo(tmp_path, stations=2, vehicles=4, ocpp_port=0, api_port=0, dashboard_port=0)
    assert len({plan.ocpp_port, plan.api_port, plan.dashboard_port}) == 3 and 0 not in (plan.ocpp_port, plan.api_port)
    db = str(tmp_path / "operate.db")
    assert db in plan.serve and db in plan.dashboard and "127.0.0.1" in plan.dashboard
    assert f"http://127.0.0.1:{plan.api_port}" in plan.depot_sim
    with pytest.raises(Exception, match="--port"):
        plan_live_demo(tmp_path, dashboard_port=70000)


@pytest.mark.slow
def test_demo_live_starts_all_three_and_ctrl_c_stops_them(tmp_path):
    cmd = [sys.executable, "-m", "evfleet.cli", "demo", "--live", "--stations", "3", "--vehicles", "6", "--speed",
           "600", "--ocpp-port", "0", "--api-port", "0", "--port", "0", "--dir", str(tmp_path)]  # fmt: skip
    log = open(tmp_path / "demo.log", "w+")  # noqa: SIM115
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True)
    pids: list[int] = []
    try:
        deadline = time.monotonic() + 240
        banner = None
        while banner is None:
            assert proc.poll() is None, (tmp_path / "demo.log").read_text()[-3000:]
            assert time.monotonic() < deadline, (tmp_path / "demo.log").read_text()[-3000:]
            banner = re.search(
                r"API http://127\.0\.0\.1:(\d+)/docs .*dashboard http://127\.0\.0\.1:(\d+)/depot\s+\(pids ([\d ]+);",
                (tmp_path / "demo.log").read_text(),
            )
            time.sleep(0.5)
        api, dash = int(banner.group(1)), int(banner.group(2))
        pids = [int(p) for p in banner.group(3).split()]
        assert len(pids) == 3
        while True:  # the stations register, connect and boot
            site = json.loads(_get(f"http://127.0.0.1:{api}/api/v1/site")[1])
            if site["stations"] == 3 and site["stations_online"] == 3:
                break
            assert time.monotonic() < deadline, site
            time.sleep(0.5)
        while True:  # the dashboard serves (Streamlit's health endpoint)
            try:
                if _get(f"http://127.0.0.1:{dash}/_stcore/health")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "demo.log").read_text()[-3000:]
            time.sleep(0.5)
        assert (tmp_path / "operate.db").is_file() and (tmp_path / "day.json").is_file()
        proc.send_signal(signal.SIGINT)  # Ctrl+C
        assert proc.wait(timeout=60) == 0
        assert "stopped" in (tmp_path / "demo.log").read_text()
        time.sleep(0.5)
        assert not [p for p in pids if _alive(p)]  # all three children ended
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        for p in pids:
            if _alive(p):
                subprocess.run(["kill", "-9", str(p)], check=False)
        log.close()
