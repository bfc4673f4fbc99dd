"""Run the dashboard server and drive it in headless Chromium (tests, benchmark, screenshots). No Streamlit import.

Needs Debian's ``chromium`` at ``/usr/bin/chromium`` and the ``playwright`` Python package (dev extra); the
browser is never downloaded. Times are wall-clock seconds [s].
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from evfleet.dashboard.launch import dashboard_command

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "browser_page", "free_port", "serve", "wait_ready"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(port: int | None = None, env: dict[str, str] | None = None, timeout_s: float = 60.0) -> Iterator[str]:
    """Start ``evfleet dashboard`` on 127.0.0.1 and yield its URL once ``/_stcore/health`` answers ok."""
    port = port or free_port()
    full_env = {**os.environ, **(env or {})}
    src = str(Path(__file__).resolve().parents[2])
    full_env["PYTHONPATH"] = src + os.pathsep + full_env.get("PYTHONPATH", "")
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in finally) a file, not a pipe: a full pipe blocks
    proc = subprocess.Popen(dashboard_command(port, "127.0.0.1"), env=full_env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                log.seek(0)
                err = log.read().decode(errors="replace")
                raise RuntimeError(f"dashboard server exited with {proc.returncode}: {err[-2000:]}")
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.read().decode().strip() == "ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"dashboard server did not answer on {url} within {timeout_s} s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


@contextmanager
def browser_page(width: int = 1600, height: int = 1000) -> Iterator[Any]:
    """A Playwright page in headless Debian Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            yield page
        finally:
            browser.close()


def wait_ready(page: Any, charts: int = 1, timeout_ms: float = 60_000) -> None:
    """Wait until the app is connected, the script has finished, no skeleton remains and ``charts`` Plotly
    charts are drawn."""
    page.wait_for_selector("[data-testid=stApp][data-test-connection-state=CONNECTED]", timeout=timeout_ms)
    page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=timeout_ms)
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=stSkeleton]').length === 0", timeout=timeout_ms
    )
    if charts:
        page.wait_for_function(
            "n => document.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot .main-svg').length >= n",
            arg=charts,
            timeout=timeout_ms,
        )


def full_screenshot(page: Any, path: str | Path, width: int = 1600) -> None:
    """Screenshot of the whole page (the app scrolls inside ``stMain``: grow the viewport to its height first)."""
    h = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": width, "height": int(min(max(h, 800), 6000))})
    page.wait_for_timeout(600)
    page.screenshot(path=str(path), full_page=True)
