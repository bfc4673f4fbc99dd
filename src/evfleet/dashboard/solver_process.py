"""Background runs in a separate, lower-priority process (no Streamlit import here).

The background pre-computation (:mod:`evfleet.dashboard.background`) used to simulate in a thread of the server
process. A thread cannot have its own CPU share for Python code: while it holds the interpreter lock, the server's
event loop (static files, WebSocket messages) and the pages' scripts wait, and a low-priority thread preempted
while holding the lock makes them wait longest (priority inversion). Here the simulation runs in one worker
process (started with ``spawn``, never ``fork``: a forked HiGHS thread pool can deadlock) at ``nice`` +10; the
server thread that asked for it only waits for the pickled :class:`~evfleet.simulation.simulate.RunResult`, which
goes into the same caches under the same keys. The result is the one ``simulate`` gives in the server process: the
same code, scenario, strategy class and options.

A background run has a budget (``EVFLEET_PRECOMPUTE_BUDGET_S``, default :data:`BUDGET_S`): one that takes longer
while no page waits for it is stopped (the worker process is killed and a new one started) and reported as not
pre-computed (:class:`BudgetExceeded`), so that one slow or failing solve does not hold up the rest of the queue; a
page that asks for that run later computes it itself (and shows its error, if any).

A strategy whose class is not in the ``evfleet`` package (e.g. one registered by a test) is simulated in the server
process (:func:`simulate_elsewhere` returns ``None``). ``EVFLEET_PRECOMPUTE_PROCESS=1`` turns the process on; it
is OFF by default (the background then simulates in its thread, as before): workers outliving a stopped server,
and workers starting workers, were seen on 3 Dec 2026.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from evfleet._common.errors import InputError
from evfleet.simulation.simulate import SimulationOptions, simulate
from evfleet.strategies import REGISTRY

__all__ = ["ENV_BUDGET", "ENV_PROCESS", "BudgetExceeded", "process_enabled", "set_priority", "simulate_elsewhere",
           "start"]  # fmt: skip

ENV_PROCESS = "EVFLEET_PRECOMPUTE_PROCESS"
ENV_BUDGET = "EVFLEET_PRECOMPUTE_BUDGET_S"
#: default budget of one background run [s] (wall clock, at nice +10 on a shared machine)
BUDGET_S = 90.0
#: how often the waiting thread checks the budget and whether a page waits [s]
_POLL_S = 1.0


class BudgetExceeded(RuntimeError):
    """A background run took longer than its budget and was stopped (not an error of the strategy)."""


def budget_s() -> float:
    """The budget of one background run [s]: ``EVFLEET_PRECOMPUTE_BUDGET_S`` (a positive number) or
    :data:`BUDGET_S`; raises ``InputError`` naming the variable and value when it is not a positive number."""
    raw = os.environ.get(ENV_BUDGET)
    if raw is None or raw == "":
        return BUDGET_S
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise InputError(f"{ENV_BUDGET} must be a positive number of seconds (value {raw!r})")
    return value


#: nice value of the worker process (raised to 0 while a page waits for its run, see :func:`set_priority`)
WORKER_NICE = 10
_LOCK = threading.Lock()
_state: dict[str, Any] = {"pool": None}


def process_enabled() -> bool:
    """True only when ``EVFLEET_PRECOMPUTE_PROCESS=1``: off by default until worker processes are known to end with
    the server (orphaned and chained workers were seen on 3 Dec 2026)."""
    return os.environ.get(ENV_PROCESS, "0") == "1"


def _init_worker() -> None:
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, 0, WORKER_NICE)


def _simulate(scenario: Any, name: str, path: str, mode: str, v2g: bool) -> Any:
    REGISTRY[name] = path  # the server's class for this name (its registry may differ from the default one)
    return simulate(scenario, name, SimulationOptions(mode=mode, v2g=v2g))


def _pool() -> ProcessPoolExecutor:
    with _LOCK:
        if _state["pool"] is None:
            ctx = multiprocessing.get_context("spawn")
            _state["pool"] = ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=_init_worker)
        return _state["pool"]


def start() -> None:
    """Start the worker process now (server start-up), so that its imports are done before the first run."""
    if process_enabled():
        _pool().submit(int, 0)


def _class_path(name: str) -> str | None:
    try:
        cls = REGISTRY[name]
    except Exception:  # unknown name: the server process raises the proper error
        return None
    module, qual = getattr(cls, "__module__", ""), getattr(cls, "__qualname__", "")
    if not module.startswith("evfleet.") or "." in qual:
        return None
    return f"{module}:{qual}"


def _restart() -> None:
    """Kill the worker process (a run over its budget) and forget the pool: the next run starts a new one."""
    with _LOCK:
        pool, _state["pool"] = _state["pool"], None
    if pool is None:
        return
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            proc.kill()
    with contextlib.suppress(Exception):
        pool.shutdown(wait=False, cancel_futures=True)


def simulate_elsewhere(
    scenario: Any, name: str, mode: str, v2g: bool, page_waits: Callable[[], bool] = lambda: False
) -> Any | None:
    """``simulate(scenario, name, SimulationOptions(mode, v2g))`` computed in the worker process, or ``None`` when
    it must run in this process (process off, or a strategy class outside the package). Raises what ``simulate``
    raises, or :class:`BudgetExceeded` when it ran longer than :func:`budget_s` while ``page_waits()`` was False."""
    if not process_enabled():
        return None
    path = _class_path(name)
    if path is None:
        return None
    budget = budget_s()
    fut = _pool().submit(_simulate, scenario, name, path, mode, bool(v2g))
    t0 = time.monotonic()
    while True:
        try:
            return fut.result(timeout=_POLL_S)
        except TimeoutError:
            if time.monotonic() - t0 > budget and not page_waits():
                _restart()
                raise BudgetExceeded(f"{name} · {mode}: stopped after its {budget:g} s budget") from None


def set_priority(nice: int) -> bool:
    """Set the worker process's nice value (0 while a page waits for its current run, :data:`WORKER_NICE`
    otherwise); False where the OS refuses or no worker runs."""
    pool = _state["pool"]
    procs = getattr(pool, "_processes", None) or {}
    ok = False
    for pid in list(procs):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, pid, nice)
            ok = True
    return ok
