"""Background runs in separate, lower-priority processes (no Streamlit import here).

The background pre-computation (:mod:`evfleet.dashboard.background`) used to simulate in a thread of the server
process. A thread cannot have its own CPU share for Python code: while it holds the interpreter lock, the server's
event loop (static files, WebSocket messages) and the pages' scripts wait, and a low-priority thread preempted
while holding the lock makes them wait longest (priority inversion). Here the simulation runs in worker processes
(one per background lane, started with ``spawn``, never ``fork``: a forked HiGHS thread pool can deadlock) at
``nice`` +10; the server thread that asked for it only waits for the pickled
:class:`~evfleet.simulation.simulate.RunResult`, which goes into the same caches under the same keys. The result is
the one ``simulate`` gives in the server process: the same code, scenario, strategy class and options.

Worker processes end with the server and never start workers (the causes of the orphaned and chained workers seen
on 3 Dec 2026, fixed on 4 Dec):

- **No re-run of the dashboard script in a worker.** Streamlit replaces ``sys.modules["__main__"]`` by a module
  whose ``__file__`` is the dashboard script, and ``spawn`` re-runs the parent's ``__main__`` in the child (as
  ``__mp_main__``): each worker drew the dashboard, whose background started a worker of its own. The workers are
  now spawned without the parent's ``__main__`` (:func:`_preparation_data`), and a process that is itself a
  multiprocessing child never starts one (:func:`process_enabled` is False there).
- **Parent-death watch.** A worker asks the kernel for ``SIGKILL`` when its parent dies (Linux ``prctl
  PR_SET_PDEATHSIG``; the kernel ties it to the parent *thread*, so workers are spawned by one long-lived thread,
  :func:`_spawn_in_spawner`), checks that its parent is still the one that started it, and a watchdog thread ends it
  when the parent's sentinel closes (other systems).
- **Stopped with the server.** :func:`stop` kills the workers; it runs when the server's ``run`` returns
  (:func:`evfleet.dashboard.launch.run_server`) and at interpreter exit *before* ``concurrent.futures`` joins its
  workers (which would wait for a solve of minutes).

A background run has a budget (``EVFLEET_PRECOMPUTE_BUDGET_S``, default :data:`BUDGET_S`): one that takes longer
while no page waits for it is stopped (the worker process is killed and a new one started) and reported as not
pre-computed (:class:`BudgetExceeded`). A run that has used more than :data:`DEFER_S` of CPU time while other
background tasks wait is stopped the same way and put at the end of the queue (:class:`Deferred`, once per task):
one slow solve does not hold up the rest of the queue; a page that asks for that run computes it itself (and shows
its error, if any).

A strategy whose class is not in the ``evfleet`` package (e.g. one registered by a test) is simulated in the server
process (:func:`simulate_elsewhere` returns ``None``). ``EVFLEET_PRECOMPUTE_PROCESS=0`` turns the processes off (the
background then simulates in one thread of the server); on by default since 4 Dec 2026.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import multiprocessing
import multiprocessing.connection
import multiprocessing.spawn as mp_spawn
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from evfleet._common.errors import InputError
from evfleet.simulation.simulate import SimulationOptions, simulate
from evfleet.strategies import REGISTRY

__all__ = ["DEFER_S", "ENV_BUDGET", "ENV_PROCESS", "BudgetExceeded", "Deferred", "process_enabled", "set_priority",
           "simulate_elsewhere", "start", "stop", "worker_pids"]  # fmt: skip

ENV_PROCESS = "EVFLEET_PRECOMPUTE_PROCESS"
ENV_BUDGET = "EVFLEET_PRECOMPUTE_BUDGET_S"
#: default budget of one background run [s] (wall clock, at nice +10 on a shared machine)
BUDGET_S = 90.0
#: a background run that has used more CPU time than this while other tasks wait is stopped and queued last (once)
#: [s] (the worker process's CPU time where the OS tells it, else wall clock: on a loaded machine a quick run
#: takes long in wall time, and stopping it would waste its work)
DEFER_S = 15.0
#: how often the waiting thread checks the budget and whether a page waits [s]
_POLL_S = 1.0


class BudgetExceeded(RuntimeError):
    """A background run took longer than its budget and was stopped (not an error of the strategy)."""


class Deferred(BudgetExceeded):
    """A background run took longer than :data:`DEFER_S` while other tasks waited: stopped, to be queued last."""


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


#: nice value of the worker processes (raised to 0 while a page waits for a run, see :func:`set_priority`)
WORKER_NICE = 10
_LOCK = threading.Lock()
_state: dict[str, Any] = {"pools": {}, "spawner": None, "stopped": False}
_SPAWN = threading.local()
_PR_SET_PDEATHSIG = 1


def in_child_process() -> bool:
    """True in a process started by :mod:`multiprocessing` (e.g. a worker): such a process never starts workers."""
    return multiprocessing.parent_process() is not None


def process_enabled() -> bool:
    """True unless ``EVFLEET_PRECOMPUTE_PROCESS=0``, and never inside a multiprocessing child (a worker does not
    start workers)."""
    return os.environ.get(ENV_PROCESS, "1") != "0" and not in_child_process()


def _preparation_data(name: str) -> dict[str, Any]:
    """``multiprocessing.spawn.get_preparation_data`` without the parent's ``__main__`` for the workers spawned
    here (:data:`_SPAWN` ``.clean``): under Streamlit it is the dashboard script, which a worker must not run."""
    data = _ORIGINAL_PREPARATION(name)
    if getattr(_SPAWN, "clean", False):
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
    return data


_ORIGINAL_PREPARATION = mp_spawn.get_preparation_data
if getattr(mp_spawn.get_preparation_data, "__name__", "") != "_preparation_data":
    mp_spawn.get_preparation_data = _preparation_data  # only threads that set _SPAWN.clean are affected


def _watch_parent(parent_pid: int) -> None:
    """End this worker when its parent is gone (the sentinel of the parent process closes)."""
    parent = multiprocessing.parent_process()
    sentinel = getattr(parent, "sentinel", None)
    if sentinel is not None:
        with contextlib.suppress(Exception):
            multiprocessing.connection.wait([sentinel])
    while os.getppid() == parent_pid:  # no sentinel: poll
        time.sleep(1.0)
    os._exit(1)


def _init_worker(parent_pid: int) -> None:
    """Worker start: lower priority, die with the parent (Linux: kernel ``SIGKILL``; elsewhere a watchdog)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, 0, WORKER_NICE)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the watch was set
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="evfleet-parent-watch", daemon=True).start()


def _simulate(scenario: Any, name: str, path: str, mode: str, v2g: bool) -> Any:
    REGISTRY[name] = path  # the server's class for this name (its registry may differ from the default one)
    return simulate(scenario, name, SimulationOptions(mode=mode, v2g=v2g))


def _worker_facts() -> dict[str, Any]:
    """Facts about a worker process (tests): its pid, parent pid, whether it may start workers, its ``__main__``."""
    main = sys.modules.get("__main__")
    return {"pid": os.getpid(), "ppid": os.getppid(), "may_start_workers": process_enabled(),
            "main_file": getattr(main, "__file__", None), "main_name": getattr(main, "__name__", None),
            "modules": sorted(m for m in sys.modules if m.startswith("evfleet."))}  # fmt: skip


def _spawner_loop(jobs: queue.Queue) -> None:
    _SPAWN.clean = True
    with contextlib.suppress(AttributeError, OSError):  # the workers inherit it: their imports are at nice +10 too
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICE)
    while True:
        fn, fut = jobs.get()
        try:
            fut.set_result(fn())
        except BaseException as exc:  # handed to the caller
            fut.set_exception(exc)


def _spawn_in_spawner(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in the one long-lived spawner thread (the workers' parent thread for the kernel's parent-death
    signal, which fires when the thread that forked a process ends) and return its result."""
    with _LOCK:
        if _state["spawner"] is None:
            jobs: queue.Queue = queue.Queue()
            threading.Thread(target=_spawner_loop, args=(jobs,), name="evfleet-solver-spawner", daemon=True).start()
            _state["spawner"] = jobs
        jobs = _state["spawner"]
    fut: Future = Future()
    jobs.put((fn, fut))
    return fut.result()


def _register_stop() -> None:
    """Stop the workers at interpreter exit, before ``concurrent.futures`` joins them (its exit hook waits for the
    running solve); ``threading._register_atexit`` hooks run in reverse order of registration."""
    if _state.get("exit_hook"):
        return
    _state["exit_hook"] = True
    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        with contextlib.suppress(RuntimeError):  # already shutting down
            register(stop)
    atexit.register(stop)


def _pool(lane: int = 0) -> ProcessPoolExecutor:
    """The worker pool (one process) of background lane ``lane``, started by the spawner thread if needed."""
    if in_child_process():
        raise RuntimeError("a worker process never starts worker processes")
    with _LOCK:
        pool = _state["pools"].get(lane)
        if pool is not None:
            return pool
        _state["stopped"] = False

    def make() -> ProcessPoolExecutor:
        ctx = multiprocessing.get_context("spawn")
        new = ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=_init_worker, initargs=(os.getpid(),))
        new.submit(int, 0)  # the process is spawned now, by this (the spawner) thread
        return new

    new = _spawn_in_spawner(make)
    _register_stop()
    with _LOCK:
        pool = _state["pools"].setdefault(lane, new)
    if pool is not new:  # another thread was quicker
        _kill(new)
    return pool


def _preload() -> int:
    """Import what a run needs in a new worker (this module, the simulator, each strategy class of the registry:
    about 0.6 s of CPU at 2,000 vehicles' scale, paid at server start instead of in the first run); the number of
    strategy classes loaded."""
    loaded = 0
    for name in list(REGISTRY):
        with contextlib.suppress(Exception):  # an entry that cannot be loaded fails in its own run, with its error
            REGISTRY[name]
            loaded += 1
    return loaded


def start(lanes: int = 1) -> None:
    """Start the worker processes of ``lanes`` background lanes now (server start-up), so that their imports are
    done before the first run (:func:`_preload`)."""
    if process_enabled():
        for lane in range(lanes):
            _pool(lane).submit(_preload)


def _class_path(name: str) -> str | None:
    try:
        cls = REGISTRY[name]
    except Exception:  # unknown name: the server process raises the proper error
        return None
    module, qual = getattr(cls, "__module__", ""), getattr(cls, "__qualname__", "")
    if not module.startswith("evfleet.") or "." in qual:
        return None
    return f"{module}:{qual}"


def _kill(pool: ProcessPoolExecutor) -> None:
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            proc.kill()
    with contextlib.suppress(Exception):
        pool.shutdown(wait=False, cancel_futures=True)
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            proc.join(5)


def _restart(lane: int = 0) -> None:
    """Kill the worker process of ``lane`` (a run stopped) and forget its pool: the next run starts a new one."""
    with _LOCK:
        pool = _state["pools"].pop(lane, None)
    if pool is not None:
        _kill(pool)


def stop() -> None:
    """Kill every worker process (server stopped, interpreter exit, tests)."""
    with _LOCK:
        pools = list(_state["pools"].values())
        _state["pools"] = {}
        _state["stopped"] = True
    for pool in pools:
        _kill(pool)


def worker_pids() -> list[int]:
    """Process ids of the live worker processes (tests, diagnostics)."""
    with _LOCK:
        pools = list(_state["pools"].values())
    return [pid for pool in pools for pid, p in list((getattr(pool, "_processes", None) or {}).items())
            if p.is_alive()]  # fmt: skip


def _cpu_s(pid: int | None) -> float | None:
    """CPU time [s] (user + system, all threads) of process ``pid`` so far (Linux ``/proc``), else ``None``."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _worker_pid(pool: ProcessPoolExecutor) -> int | None:
    pids = list(getattr(pool, "_processes", None) or {})
    return pids[0] if len(pids) == 1 else None


def simulate_elsewhere(
    scenario: Any,
    name: str,
    mode: str,
    v2g: bool,
    page_waits: Callable[[], bool] = lambda: False,
    lane: int = 0,
    may_defer: Callable[[], bool] = lambda: False,
) -> Any | None:
    """``simulate(scenario, name, SimulationOptions(mode, v2g))`` computed in the worker process of ``lane``, or
    ``None`` when it must run in this process (processes off, or a strategy class outside the package). Raises what
    ``simulate`` raises, :class:`BudgetExceeded` when it ran longer than :func:`budget_s` while ``page_waits()``
    was False, or :class:`Deferred` when its worker used more than :data:`DEFER_S` of CPU time (wall time where
    the OS does not tell) while ``may_defer()`` was True and no page waited."""
    if not process_enabled():
        return None
    path = _class_path(name)
    if path is None:
        return None
    budget = budget_s()
    pool = _pool(lane)
    fut = pool.submit(_simulate, scenario, name, path, mode, bool(v2g))
    t0 = time.monotonic()
    pid = _worker_pid(pool)
    cpu0 = _cpu_s(pid)
    while True:
        try:
            return fut.result(timeout=_POLL_S)
        except TimeoutError:
            elapsed = time.monotonic() - t0
            cpu = _cpu_s(pid)
            used = elapsed if cpu is None or cpu0 is None else cpu - cpu0
            if used > DEFER_S and not page_waits() and may_defer():
                _restart(lane)
                raise Deferred(f"{name} · {mode}: stopped after {used:.0f} s of CPU, queued last") from None
            if elapsed > budget and not page_waits():
                _restart(lane)
                raise BudgetExceeded(f"{name} · {mode}: stopped after its {budget:g} s budget") from None


def set_priority(nice: int, lane: int | None = None) -> bool:
    """Set the nice value of the worker process of ``lane`` (all lanes when ``None``): 0 while a page waits for its
    current run, :data:`WORKER_NICE` otherwise; False where the OS refuses or no worker runs."""
    with _LOCK:
        pools = [p for ln, p in _state["pools"].items() if lane is None or ln == lane]
    ok = False
    for pool in pools:
        for pid in list(getattr(pool, "_processes", None) or {}):
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, pid, nice)
                ok = True
    return ok
