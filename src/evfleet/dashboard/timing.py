"""Server-side time of each script run of the dashboard, for the benchmark (no Streamlit import here).

When ``EVFLEET_DASHBOARD_TIMING`` names a file, every script run appends one JSON line to it:
``{"page": url path, "start": Unix time [s], "wall_s": wall-clock [s], "cpu_s": CPU time of the script thread [s],
"completed": false when the run was stopped by a newer one}``; each refresh of the Overview's live panel (a
fragment run) appends one too, page ``overview#live``. Off by default (nothing is written).
``benchmarks/bench_dashboard.py`` reads it to report the server's share of each measure (on a loaded machine the
browser's wall time says more about the load than about the dashboard).

Each background pre-computation task (:mod:`evfleet.dashboard.background`) appends one line too:
``{"background": task name, "lane": lane index, "start": Unix time [s], "wall_s": wall-clock [s], "outcome":
"done" | "failed" | "deferred"}`` (:func:`log_background`, read by :func:`read_background`); :func:`read_timings`
returns the script runs only.

Each run a page computes in a helper thread (:func:`evfleet.dashboard.state.prefetch` / ``run``; the script
waits for it, so its CPU time is not the script thread's) appends ``{"page_run": run name, "start": Unix time [s],
"wall_s": wall-clock [s], "cpu_s": CPU time of the helper thread [s]}`` (:func:`log_page_run`, read by
:func:`read_page_runs`; a run found in the cache, or computed by a background lane meanwhile, costs ~0).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["ENV_TIMING", "log_background", "log_page_run", "read_background", "read_page_runs", "read_timings",
           "timed_script"]  # fmt: skip

ENV_TIMING = "EVFLEET_DASHBOARD_TIMING"
_LOCK = threading.Lock()


@contextmanager
def timed_script(page: str) -> Iterator[None]:
    """Time the enclosed script run of ``page`` and append it to the ``EVFLEET_DASHBOARD_TIMING`` file (if set)."""
    path = os.environ.get(ENV_TIMING)
    if not path:
        yield
        return
    start, t0, c0 = time.time(), time.perf_counter(), time.thread_time()
    completed = False
    try:
        yield
        completed = True
    finally:
        row = {"page": page, "start": start, "wall_s": time.perf_counter() - t0, "cpu_s": time.thread_time() - c0,
               "completed": completed}  # fmt: skip
        with _LOCK, open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")


def log_background(task: str, lane: int, start: float, wall_s: float, outcome: str) -> None:
    """Append one background task (started at Unix time ``start`` [s], ``wall_s`` long) to the
    ``EVFLEET_DASHBOARD_TIMING`` file (if set)."""
    path = os.environ.get(ENV_TIMING)
    if not path:
        return
    row = {"background": task, "lane": int(lane), "start": start, "wall_s": wall_s, "outcome": outcome}
    with _LOCK, open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


def log_page_run(run: str, start: float, wall_s: float, cpu_s: float) -> None:
    """Append one run a page computed in a helper thread (started at Unix time ``start`` [s], ``wall_s`` long,
    ``cpu_s`` of the helper thread's CPU) to the ``EVFLEET_DASHBOARD_TIMING`` file (if set)."""
    path = os.environ.get(ENV_TIMING)
    if not path:
        return
    row = {"page_run": run, "start": start, "wall_s": wall_s, "cpu_s": cpu_s}
    with _LOCK, open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


def _rows(path: str) -> list[dict]:
    try:
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def read_timings(path: str, since: float = 0.0, until: float = float("inf")) -> list[dict]:
    """The script runs recorded in ``path`` that started in [``since``, ``until``] (Unix time [s])."""
    return [r for r in _rows(path) if "page" in r and since <= r["start"] <= until]


def read_background(path: str, since: float = 0.0, until: float = float("inf")) -> list[dict]:
    """The background tasks recorded in ``path`` that started in [``since``, ``until``] (Unix time [s])."""
    return [r for r in _rows(path) if "background" in r and since <= r["start"] <= until]


def read_page_runs(path: str, since: float = 0.0, until: float = float("inf")) -> list[dict]:
    """The runs pages computed in helper threads recorded in ``path`` that started in [``since``, ``until``]."""
    return [r for r in _rows(path) if "page_run" in r and since <= r["start"] <= until]
