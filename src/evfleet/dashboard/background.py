"""Pre-compute, after the first paint, what the next clicks will ask for (no Streamlit widgets here).

After each page has been drawn, :func:`schedule` starts (at most) one background thread per (scenario, mode, V2G)
that fills the same ``st.cache_resource`` caches the pages read (:func:`evfleet.dashboard.state.compute_run`):
in this order the uncontrolled baseline, the grid-quality report of the sidebar's strategy, every other registered
strategy in the sidebar's mode, the sidebar's strategy in the other control mode and with V2G switched, then the
scenarios of the fleet-size slider's two neighbouring notches (± 50 vehicles). Cache keys are the scenario's
generator parameters or content hash (``state.current_scenario``), so a result computed here is the one a page finds.
A page asking for a run the thread is computing waits for it (Streamlit's per-key compute lock): nothing is computed
twice. The thread runs at a lower CPU priority (``nice`` +10 on Linux) so that drawing pages comes first, and only one
runs at a time (a newer request waits for the running one to finish its current run, then replaces the rest of its
queue). ``EVFLEET_PRECOMPUTE=0`` turns it off (tests).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from evfleet.dashboard import solver_process

__all__ = ["ENV_PRECOMPUTE", "Job", "boost", "boosted", "in_worker", "precompute_enabled", "schedule", "status"]

ENV_PRECOMPUTE = "EVFLEET_PRECOMPUTE"
_LOG = logging.getLogger("evfleet.dashboard.background")
_LOCK = threading.Lock()
_LOCAL = threading.local()


@dataclass
class Job:
    """One queue of tasks (name, callable) for a (scenario key, mode, V2G); ``done`` names the finished ones."""

    key: tuple
    tasks: list[tuple[str, Callable[[], object]]]
    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    current: str | None = None
    total: int = 0

    def __post_init__(self) -> None:
        self.total = len(self.tasks)


#: nice value of the worker thread while no page waits for its current task
BACKGROUND_NICE = 10

_state: dict[str, object] = {"job": None, "thread": None, "seen": set(), "native_id": None, "boosted": False}


def precompute_enabled() -> bool:
    """False when ``EVFLEET_PRECOMPUTE=0``."""
    return os.environ.get(ENV_PRECOMPUTE, "1") != "0"


def _set_nice(native_id: object, value: int) -> bool:
    """Set a thread's nice value (Linux: by its native id); False where the OS refuses (e.g. raising priority
    without the capability) or has no per-thread priority."""
    if not isinstance(native_id, int):
        return False
    try:
        os.setpriority(os.PRIO_PROCESS, native_id, value)
    except (AttributeError, OSError):
        return False
    return True


def in_worker() -> bool:
    """True in the background worker thread (its runs are simulated in the worker process, see
    :mod:`evfleet.dashboard.solver_process`)."""
    return bool(getattr(_LOCAL, "worker", False))


def _lower_priority() -> None:
    _LOCAL.worker = True
    _state["native_id"] = threading.get_native_id()
    _state["boosted"] = False
    _set_nice(_state["native_id"], BACKGROUND_NICE)


def boost(key: object, name: str) -> bool:
    """A page waits for task ``name`` of the job for ``key``: when the worker is computing exactly that task, give
    it the page's priority (nice 0) until it finishes (where the OS allows it). True when it was boosted."""
    with _LOCK:
        job = _state["job"]
        if not isinstance(job, Job) or job.key[:1] != (key,) or job.current != name:
            return False
        if _state["boosted"]:
            return True
        thread_ok = _set_nice(_state["native_id"], 0)
        _state["boosted"] = solver_process.set_priority(0) or thread_ok
        return bool(_state["boosted"])


def boosted() -> bool:
    """True while a page waits for the worker's current task (:func:`boost`)."""
    return bool(_state["boosted"])


def _worker() -> None:
    _lower_priority()
    while True:
        with _LOCK:
            if _state["boosted"]:  # the task a page waited for is done: back to the background's priority
                _state["boosted"] = False
                _set_nice(_state["native_id"], BACKGROUND_NICE)
                solver_process.set_priority(solver_process.WORKER_NICE)
            job = _state["job"]
            if not isinstance(job, Job) or not job.tasks:
                _state["thread"] = None
                return
            name, fn = job.tasks.pop(0)
            job.current = name
        try:
            fn()
            job.done.append(name)
        except Exception as exc:  # a failing strategy must not stop the others; the page will show the error
            _LOG.warning("pre-computing %s failed: %s", name, exc)
            job.failed.append(name)
        finally:
            job.current = None


def schedule(key: tuple, tasks: list[tuple[str, Callable[[], object]]]) -> Job | None:
    """Queue ``tasks`` for ``key`` (once per key per process) and make sure the worker runs; return the job."""
    if not precompute_enabled():
        return None
    with _LOCK:
        seen: set = _state["seen"]  # type: ignore[assignment]
        job = _state["job"]
        if key in seen:
            return job if isinstance(job, Job) and job.key == key else None
        seen.add(key)
        if len(seen) > 64:  # bounded memory of what was scheduled (caches evict anyway)
            seen.clear()
            seen.add(key)
        job = Job(key=key, tasks=list(tasks))
        _state["job"] = job  # replaces the rest of an older queue: the newest scenario matters most
        if _state["thread"] is None:
            th = threading.Thread(target=_worker, name="evfleet-precompute", daemon=True)
            _state["thread"] = th
            th.start()
    return job


def status() -> Job | None:
    """The current (or last) job."""
    job = _state["job"]
    return job if isinstance(job, Job) else None


def wait(timeout_s: float = 60.0) -> bool:
    """Wait for the worker to finish (tests, benchmarks); True when it did."""
    th = _state["thread"]
    if isinstance(th, threading.Thread):
        th.join(timeout_s)
        return not th.is_alive()
    return True
