"""Pre-compute, after the first paint, what the next clicks will ask for (no Streamlit widgets here).

After each page has been drawn, :func:`schedule` queues the tasks of :func:`evfleet.dashboard.state.precompute_plan`
(the most likely next click first, the slow runs last) for one (scenario, strategy, mode, V2G) and starts the
background *lanes* that work through them: they fill the same ``st.cache_resource`` caches the pages read
(:func:`evfleet.dashboard.state.compute_run`), under the same keys, so a result computed here is the one a page
finds. A page asking for a run a lane is computing waits for it (Streamlit's per-key compute lock): nothing is
computed twice.

Scheduling rules (each tested in ``tests/test_dashboard_background.py``):

- **Lanes.** :func:`lanes` lanes (``EVFLEET_PRECOMPUTE_LANES``; default 2 with the worker processes, 1 without:
  threads of one process share the interpreter lock) take the next task from the same queue, so a slow run holds up
  one lane, never the queue. Each lane simulates in its own worker process (:mod:`evfleet.dashboard.solver_process`)
  at ``nice`` +10, or in its thread at ``nice`` +10 when the processes are off.
- **The page first.** Lanes in threads (worker processes off): while a page computes a run of its own
  (:func:`page_run`, the runs a page starts in its helper threads), no lane starts a new task for the first
  :data:`PAGE_FIRST_S` seconds of that run, so that the page gets the interpreter lock (a task already started goes
  on). Worker processes at nice +10 only take the CPU the page leaves, so they go on (:func:`page_first`).
- **Boost.** When a page waits for exactly the run a lane computes, that lane and its worker get the page's
  priority (nice 0) until the task ends (:func:`boost`, where the OS allows it).
- **One click, one lane.** Each task computes what one click needs (its runs one after the other, the headline run
  first), so the lanes work on different next clicks: a slow task (e.g. the other control mode: 73 re-plans, two
  runs) holds up one lane while the other goes on with the next strategies (the order itself is
  :func:`evfleet.dashboard.state.precompute_plan`'s).
- **A lane never waits for another's run.** A task that needs a run another lane or a page is computing right now
  (the two would only wait for the same result) stops (:class:`Busy`) and goes to the end of the queue, once, while
  other tasks wait (:func:`may_defer`): the lane takes the next task, the other computation fills the cache, and the
  task finds its run there later. Without other work the lane waits for it (nothing is computed twice).
- **Slow runs last.** A run stopped after :data:`~evfleet.dashboard.solver_process.DEFER_S` while other tasks
  wait (worker processes only) is put back at the end of the queue, once (:func:`may_defer`); the state module
  also remembers how long each strategy took, to queue the slow ones last next time.
- **The newest controls win, the pending clicks stay first.** A new :func:`schedule` replaces the rest of the older
  queue (the tasks running go on; one of them running longer than the deferral time is stopped, :func:`may_defer`);
  for the same scenario, the new queue's tasks that were still waiting in the old one come first, after the new
  controls' own run and plan (:func:`_carry_over`): trying the strategies one after the other does not put each
  one's online run before the next strategy. Going back to controls seen before queues theirs again (their
  finished tasks are cache hits); a rerun of the current controls keeps the queue.
- **Boosts lapse.** A page that waited for a lane's run renews its boost every 0.5 s; one not renewed for
  :data:`BOOST_STALE_S` (the page was left) lapses: nice +10 again, and the run's budget and deferral apply again.

``EVFLEET_PRECOMPUTE=0`` turns it off (tests).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from evfleet._common.errors import InputError
from evfleet.dashboard import solver_process, timing

__all__ = ["ENV_LANES", "ENV_PRECOMPUTE", "PAGE_FIRST_S", "Busy", "Job", "boost", "boosted", "computing", "in_worker",
           "lanes", "may_defer", "page_first", "page_run", "precompute_enabled", "schedule", "status",
           "wait"]  # fmt: skip

ENV_PRECOMPUTE = "EVFLEET_PRECOMPUTE"
ENV_LANES = "EVFLEET_PRECOMPUTE_LANES"
#: how long a page's own run keeps the lanes from starting new tasks [s]
PAGE_FIRST_S = 15.0
#: nice value of a lane's thread while no page waits for its current task
BACKGROUND_NICE = 10
#: a page waiting for a lane's run asks again every ``state.WAIT_POLL_S``; a boost not renewed for this long lapses
#: (the page was left): the lane goes back to its nice value and its run to its budget [s]
BOOST_STALE_S = 3.0
_LOG = logging.getLogger("evfleet.dashboard.background")
_LOCK = threading.Lock()
_COND = threading.Condition(_LOCK)
_LOCAL = threading.local()


@dataclass
class Job:
    """One queue of tasks (name, callable) for a (scenario key, strategy, mode, V2G); ``done`` names the finished
    ones, ``running`` the task of each busy lane, ``deferred`` the tasks put back at the end of the queue."""

    key: tuple
    tasks: list[tuple[str, Callable[[], object]]]
    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    running: dict[int, str] = field(default_factory=dict)
    current: str | None = None
    total: int = 0

    def __post_init__(self) -> None:
        self.total = len(self.tasks)


@dataclass
class _Lane:
    index: int
    thread: threading.Thread | None = None
    native_id: int | None = None
    boosted: bool = False
    boost_at: float = 0.0  # when a page last asked (monotonic [s]); a boost older than BOOST_STALE_S lapses
    task: str | None = None
    run: str | None = None  # the run (task name) it is computing now, see computing()
    job: Job | None = None


class Busy(solver_process.Deferred):
    """A background task needs a run another lane or a page is computing now: put back at the end of the queue
    (once, like a deferred task) instead of waiting for it."""


_state: dict[str, object] = {"job": None, "lanes": {}, "page_runs": {}}
_PAGE_SEQ = iter(range(1 << 62))


def precompute_enabled() -> bool:
    """False when ``EVFLEET_PRECOMPUTE=0``."""
    return os.environ.get(ENV_PRECOMPUTE, "1") != "0"


def lanes() -> int:
    """Number of background lanes: ``EVFLEET_PRECOMPUTE_LANES`` (1-8), else 2 with the worker processes (1 on a
    one-core machine) and 1 without them; raises ``InputError`` naming a bad value."""
    raw = os.environ.get(ENV_LANES, "").strip()
    if raw:
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if not 1 <= value <= 8:
            raise InputError(f"{ENV_LANES} must be an integer within 1-8 (value {raw!r})")
        return value
    if not solver_process.process_enabled():
        return 1
    return max(1, min(2, os.cpu_count() or 1))


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
    """True in a background lane's thread (its runs are simulated in its worker process, see
    :mod:`evfleet.dashboard.solver_process`)."""
    return bool(getattr(_LOCAL, "worker", False))


def lane() -> int:
    """The index of this thread's lane (0 outside the lanes)."""
    return int(getattr(_LOCAL, "lane", 0))


def _lanes() -> dict[int, _Lane]:
    return _state["lanes"]  # type: ignore[return-value]


def boost(key: object, name: str) -> bool:
    """A page waits for run/task ``name`` of the job for ``key``: when a lane is computing exactly that, give it
    (its thread and worker process) the page's priority (nice 0) until its task ends (where the OS allows it).
    True when it was boosted."""
    with _LOCK:
        job = _state["job"]
        for ln in _lanes().values():
            jb = ln.job if ln.job is not None else job
            if not isinstance(jb, Job) or jb.key[:1] != (key,) or name not in (ln.task, ln.run):
                continue
            ln.boost_at = time.monotonic()
            if ln.boosted:
                return True
            thread_ok = _set_nice(ln.native_id, 0)
            ln.boosted = solver_process.set_priority(0, ln.index) or thread_ok
            return ln.boosted
        return False


def boosted() -> bool:
    """True while a page waits for this lane's current task (:func:`boost` renewed within :data:`BOOST_STALE_S`);
    a lapsed boost is undone here (nice values back)."""
    ln = _lanes().get(lane())
    if ln is None or not ln.boosted:
        return False
    if time.monotonic() - ln.boost_at > BOOST_STALE_S:
        with _LOCK:
            _unboost(ln)
        return False
    return True


@contextmanager
def computing(name: str) -> Iterator[None]:
    """Mark the run ``name`` (``state.run_task_name``) as being computed by this lane (for :func:`boost`)."""
    ln = _lanes().get(lane()) if in_worker() else None
    if ln is None:
        yield
        return
    before, ln.run = ln.run, name
    try:
        yield
    finally:
        ln.run = before


def may_defer() -> bool:
    """True in a lane whose current task may be stopped and put back at the end of the queue: other tasks wait and
    it was not deferred before; or its job was replaced by newer controls (the new queue has it again if it still
    matters, at its place)."""
    if not in_worker():
        return False
    with _LOCK:
        ln = _lanes().get(lane())
        job, current = (ln.job if ln is not None else None), _state["job"]
        if not isinstance(job, Job):
            return False
        if job is not current:
            return isinstance(current, Job) and bool(current.tasks)
        return bool(job.tasks) and ln.task not in job.deferred


@contextmanager
def page_run() -> Iterator[None]:
    """Enclose a run a page computes itself: the lanes start no new task meanwhile (for :data:`PAGE_FIRST_S`)."""
    if in_worker():  # a lane's own computation is not a page's
        yield
        return
    runs: dict[int, float] = _state["page_runs"]  # type: ignore[assignment]
    with _LOCK:
        ident = next(_PAGE_SEQ)
        runs[ident] = time.monotonic()
    try:
        yield
    finally:
        with _COND:
            runs.pop(ident, None)
            _COND.notify_all()


def page_first() -> bool:
    """True when the lanes hold back for the pages' own runs: lanes simulating in threads of the server (they would
    take the interpreter lock from the page); worker processes at nice +10 take only the CPU the page leaves."""
    return not solver_process.process_enabled()


def _page_hold_s() -> float:
    """Seconds the lanes must still hold back for the pages' own runs (0: start the next task); under ``_LOCK``."""
    runs: dict[int, float] = _state["page_runs"]  # type: ignore[assignment]
    if not runs or not page_first():
        return 0.0
    return max(0.0, min(runs.values()) + PAGE_FIRST_S - time.monotonic())


def _unboost(ln: _Lane) -> None:
    if ln.boosted:  # the task a page waited for is done: back to the background's priority
        ln.boosted = False
        _set_nice(ln.native_id, BACKGROUND_NICE)
        solver_process.set_priority(solver_process.WORKER_NICE, ln.index)


def _worker(ln: _Lane) -> None:
    _LOCAL.worker, _LOCAL.lane = True, ln.index
    ln.native_id = threading.get_native_id()
    _set_nice(ln.native_id, BACKGROUND_NICE)
    while True:
        with _COND:
            _unboost(ln)
            while (hold := _page_hold_s()) > 0:  # the page's own runs first
                _COND.wait(hold)
            job = _state["job"]
            if not isinstance(job, Job) or not job.tasks:
                ln.thread, ln.job = None, None
                _COND.notify_all()
                return
            name, fn = job.tasks.pop(0)
            ln.task, ln.job = name, job
            job.current = name
            job.running[ln.index] = name
            job.started.append(name)
        start, t0, outcome = time.time(), time.perf_counter(), "failed"
        try:
            fn()
            job.done.append(name)
            outcome = "done"
        except solver_process.Deferred as exc:  # a slow run stopped, or a run computed elsewhere (Busy)
            _LOG.info("pre-computing %s deferred: %s", name, exc)
            outcome = "busy" if isinstance(exc, Busy) else "deferred"
            with _LOCK:
                job.deferred.append(name)
                if job is _state["job"]:  # a replaced job's task is dropped (the new queue has its own)
                    job.tasks.append((name, fn))
        except Exception as exc:  # a failing strategy must not stop the others; the page will show the error
            _LOG.warning("pre-computing %s failed: %s", name, exc)
            job.failed.append(name)
        finally:
            timing.log_background(name, ln.index, start, time.perf_counter() - t0, outcome)
            with _LOCK:
                ln.task = None
                job.running.pop(ln.index, None)
                job.current = next(iter(job.running.values()), None)


#: the first tasks of a queue that are its own controls' (their run's bundle and plan): never moved
KEEP_FIRST = 2


def _carry_over(old: object, key: tuple, tasks: list[tuple[str, Callable[[], object]]]) -> list:
    """The new queue's order when it replaces ``old`` for the same scenario (``key[0]``): after its first
    :data:`KEEP_FIRST` tasks, those that were still waiting in the old queue (what the user was likely to ask next
    before this click, e.g. the other strategies while they are tried one after the other), then the rest."""
    if not isinstance(old, Job) or old.key[:1] != key[:1] or not old.tasks:
        return tasks
    pending = {name for name, _ in old.tasks}
    head, rest = tasks[:KEEP_FIRST], tasks[KEEP_FIRST:]
    return head + [t for t in rest if t[0] in pending] + [t for t in rest if t[0] not in pending]


def schedule(key: tuple, tasks: list[tuple[str, Callable[[], object]]]) -> Job | None:
    """Queue ``tasks`` for ``key`` (unless ``key`` is the current job's: a rerun of the same controls) and make sure
    the lanes run; return the job."""
    if not precompute_enabled():
        return None
    n_lanes = lanes()
    with _LOCK:
        job = _state["job"]
        if isinstance(job, Job) and job.key == key:  # the same controls' rerun: their queue goes on
            return job
        job = Job(key=key, tasks=_carry_over(_state["job"], key, list(tasks)))
        _state["job"] = job  # replaces the rest of an older queue: the newest controls matter most
        for i in range(n_lanes):
            ln = _lanes().setdefault(i, _Lane(i))
            if ln.thread is None:
                ln.thread = threading.Thread(target=_worker, args=(ln,), name=f"evfleet-precompute-{i}", daemon=True)
                ln.thread.start()
    return job


def status() -> Job | None:
    """The current (or last) job."""
    job = _state["job"]
    return job if isinstance(job, Job) else None


def wait(timeout_s: float = 60.0) -> bool:
    """Wait for every lane to finish (tests, benchmarks); True when they did."""
    deadline = time.monotonic() + timeout_s
    for ln in list(_lanes().values()):
        th = ln.thread
        if isinstance(th, threading.Thread):
            th.join(max(0.0, deadline - time.monotonic()))
            if th.is_alive():
                return False
    return True
