"""Background pre-computation of the dashboard (evfleet.dashboard.background): order, once per key, switch, and the
scheduling rules: lanes (a slow task holds one lane, not the queue), the page first, slow tasks deferred to the end.
Behaviour only (which task started or finished before which): no timing assertion."""

from __future__ import annotations

import threading
import time

import pytest

from evfleet.dashboard import background, solver_process


def test_tasks_run_in_order_once_per_key(monkeypatch):
    monkeypatch.setenv(background.ENV_PRECOMPUTE, "1")
    monkeypatch.setenv(background.ENV_LANES, "1")  # one lane: the queue's order is the order of completion
    done: list[str] = []
    gate = threading.Event()

    def task(name: str):
        def run() -> None:
            gate.wait(5)
            done.append(name)

        return (name, run)

    job = background.schedule(("k1",), [task("a"), task("b"), task("c")])
    assert job is not None
    again = background.schedule(("k1",), [task("x")])  # the same key is not queued twice
    gate.set()
    assert background.wait(10)
    assert done == ["a", "b", "c"] and again is job
    assert job.done == ["a", "b", "c"] and job.failed == []


def test_a_failing_task_does_not_stop_the_others(monkeypatch):
    monkeypatch.setenv(background.ENV_PRECOMPUTE, "1")
    done: list[str] = []

    def boom() -> None:
        raise RuntimeError("solver failed")

    job = background.schedule(("k2",), [("bad", boom), ("good", lambda: done.append("good"))])
    assert background.wait(10)
    assert job is not None and job.failed == ["bad"] and done == ["good"]


def test_switched_off_by_the_environment(monkeypatch):
    monkeypatch.setenv(background.ENV_PRECOMPUTE, "0")
    assert background.schedule(("k3",), [("a", lambda: None)]) is None


def _until(cond, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_slow_task_holds_one_lane_not_the_queue(monkeypatch):
    monkeypatch.setenv(background.ENV_PRECOMPUTE, "1")
    monkeypatch.setenv(background.ENV_LANES, "2")
    gate, done = threading.Event(), []
    tasks = [("slow", lambda: gate.wait(10) and done.append("slow"))]
    tasks += [(x, lambda x=x: done.append(x)) for x in ("a", "b", "c")]
    job = background.schedule(("k-lanes",), tasks)
    assert job is not None
    assert _until(lambda: job.done == ["a", "b", "c"])  # the other lane went on while "slow" ran
    assert job.running == {0: "slow"} or list(job.running.values()) == ["slow"]
    gate.set()
    assert background.wait(10)
    assert done == ["a", "b", "c", "slow"]


def test_lanes_setting(monkeypatch):
    monkeypatch.setenv(background.ENV_LANES, "3")
    assert background.lanes() == 3
    monkeypatch.delenv(background.ENV_LANES)
    monkeypatch.setenv(solver_process.ENV_PROCESS, "0")
    assert background.lanes() == 1  # threads of one process share the interpreter lock: one lane
    for bad in ("0", "9", "two"):
        monkeypatch.setenv(background.ENV_LANES, bad)
        with pytest.raises(ValueError, match=background.ENV_LANES):
            background.lanes()


def test_no_new_task_starts_while_a_page_computes_its_own_run(monkeypatch):
    monkeypatch.setenv(background.ENV_PRECOMPUTE, "1")
    monkeypatch.setenv(solver_process.ENV_PROCESS, "0")  # lanes in threads: they would take the page's GIL
    monkeypatch.setenv(background.ENV_LANES, "2")
    monkeypatch.setattr(background, "PAGE_FIRST_S", 60.0)
    page_done, ran = threading.Event(), []

    def page() -> None:
        with background.page_run():
            page_done.wait(10)

    th = threading.Thread(target=page)
    th.start()
    assert _until(lambda: bool(background._state["page_runs"]))
    job = background.schedule(("k-page",), [("a", lambda: ran.append("a")), ("b", lambda: ran.append("b"))])
    assert job is not None
    time.sleep(0.3)
    assert job.started == [] and ran == []  # held back while the page's run goes on
    page_done.set()
    th.join(10)
    assert background.wait(10)
    assert sorted(job.done) == ["a", "b"]


def test_a_long_page_run_holds_the_background_for_page_first_s_only(monkeypatch):
    monkeypatch.setenv(background.ENV_PRECOMPUTE, "1")
    monkeypatch.setenv(solver_process.ENV_PROCESS, "0")
    monkeypatch.setenv(background.ENV_LANES, "1")
    monkeypatch.setattr(background, "PAGE_FIRST_S", 0.2)
    release = threading.Event()

    def page() -> None:
        with background.page_run():
            release.wait(20)

    th = threading.Thread(target=page)
    th.start()
    assert _until(lambda: bool(background._state["page_runs"]))
    job = background.schedule(("k-page-cap",), [("a", lambda: None)])
    assert job is not None
    assert background.wait(10) and job.done == ["a"]  # done while the page's (slow) run still goes on
    assert th.is_alive()
    release.set()
    th.join(10)


def test_a_page_run_inside_a_lane_does_not_hold_the_lanes(monkeypatch):
    monkeypatch.setenv(background.ENV_PRECOMPUTE, "1")
    monkeypatch.setenv(solver_process.ENV_PROCESS, "0")
    monkeypatch.setenv(background.ENV_LANES, "1")
    monkeypatch.setattr(background, "PAGE_FIRST_S", 60.0)

    def inner() -> None:
        with background.page_run():  # e.g. a helper-thread run started from a lane: not a page's
            pass

    job = background.schedule(("k-page-lane",), [("a", inner), ("b", lambda: None)])
    assert job is not None
    assert background.wait(10) and job.done == ["a", "b"]


def test_a_deferred_task_goes_to_the_end_once(monkeypatch):
    monkeypatch.setenv(background.ENV_PRECOMPUTE, "1")
    monkeypatch.setenv(background.ENV_LANES, "1")
    calls, may = [], []

    def slow() -> None:
        may.append(background.may_defer())
        calls.append("slow")
        if len(calls) == 1:
            raise solver_process.Deferred("over the deferral time")

    def last() -> None:
        may.append(background.may_defer())  # the deferred "slow" waits behind it: it may be deferred too
        calls.append("last")

    job = background.schedule(("k-defer",), [("slow", slow), ("last", last)])
    assert job is not None
    assert background.wait(10)
    assert calls == ["slow", "last", "slow"] and job.deferred == ["slow"]
    assert job.done == ["last", "slow"] and job.failed == []
    assert may == [True, True, False]  # "slow" is deferred once only (and is the last task then)
    assert background.may_defer() is False  # outside the lanes


def test_boost_finds_the_lane_computing_the_run(monkeypatch):
    monkeypatch.setenv(background.ENV_PRECOMPUTE, "1")
    monkeypatch.setenv(background.ENV_LANES, "2")
    inside, gate = threading.Event(), threading.Event()

    def bundle() -> None:
        with background.computing("s·offline·no-v2g"):  # the bundle's first run (state._run marks it so)
            inside.set()
            gate.wait(10)

    job = background.schedule(("k-boost2", "s", "offline", True), [("s·offline·v2g", bundle)])
    assert job is not None and inside.wait(10)
    assert background.boost("k-boost2", "s·offline·no-v2g") in (True, False)  # found (raising nice may be refused)
    lane = next(ln for ln in background._lanes().values() if ln.task == "s·offline·v2g")
    assert lane.run == "s·offline·no-v2g"
    assert background.boost("k-boost2", "t·offline·v2g") is False  # no lane computes that
    gate.set()
    assert background.wait(10)
    assert lane.run is None and not lane.boosted


def test_worker_processes_do_not_hold_back_for_a_page(monkeypatch):
    monkeypatch.setenv(background.ENV_PRECOMPUTE, "1")
    monkeypatch.setenv(solver_process.ENV_PROCESS, "1")
    monkeypatch.setenv(background.ENV_LANES, "1")
    monkeypatch.setattr(background, "PAGE_FIRST_S", 60.0)
    assert background.page_first() is False
    release = threading.Event()

    def page() -> None:
        with background.page_run():
            release.wait(20)

    th = threading.Thread(target=page)
    th.start()
    assert _until(lambda: bool(background._state["page_runs"]))
    job = background.schedule(("k-proc-page",), [("a", lambda: None)])
    assert job is not None and background.wait(10) and job.done == ["a"]  # nice +10 processes go on
    release.set()
    th.join(10)


def test_a_new_queue_keeps_the_pending_clicks_of_the_old_one_first(monkeypatch):
    monkeypatch.setenv(background.ENV_PRECOMPUTE, "1")
    monkeypatch.setenv(background.ENV_LANES, "1")
    gate, done = threading.Event(), []

    def t(name: str):
        return (name, lambda: gate.wait(10) and done.append(name))

    # the first page (strategy A): its run, its plan, A online, then the other strategies B and C
    old = background.schedule(("sc", "A"), [t("A"), t("planA"), t("A online"), t("B"), t("C")])
    assert old is not None and _until(lambda: old.running == {0: "A"})
    # the user switches to B while A's bundle runs: B's own queue puts B online before A and C
    new = background.schedule(("sc", "B"), [t("B"), t("planB"), t("B online"), t("A"), t("C")])
    assert new is not None
    # C was still waiting in the old queue: before B online; A was running, not waiting: it keeps its place
    assert [name for name, _ in new.tasks] == ["B", "planB", "C", "B online", "A"]
    back = background.schedule(("sc", "A"), [t("A"), t("planA"), t("A online"), t("B"), t("C")])
    assert back is not None and back is not old and back is not new  # back to A: its queue again (cache hits)
    assert [name for name, _ in back.tasks] == ["A", "planA", "B", "C", "A online"]  # B and C were still waiting
    assert background.schedule(("sc", "A"), [t("z")]) is back  # a rerun of the same controls: the same queue
    other = background.schedule(("other scenario", "A"), [t("A"), t("x"), t("y"), t("C")])
    assert [name for name, _ in other.tasks] == ["A", "x", "y", "C"]  # another scenario: its own order
    gate.set()
    assert background.wait(10)


def test_a_boost_lapses_when_the_page_stops_asking(monkeypatch):
    monkeypatch.setenv(background.ENV_PRECOMPUTE, "1")
    monkeypatch.setenv(background.ENV_LANES, "1")
    monkeypatch.setattr(background, "BOOST_STALE_S", 0.2)
    seen, inside, gate = [], threading.Event(), threading.Event()

    def task() -> None:
        inside.set()
        gate.wait(10)
        seen.append(background.boosted())  # asked 0.5 s ago at most: still boosted? no: lapsed after 0.2 s
        seen.append(background.may_defer())

    job = background.schedule(("k-lapse", "s", "offline", True), [("s·offline·v2g", task)])
    assert job is not None and inside.wait(10)
    background.boost("k-lapse", "s·offline·v2g")
    lane = background._lanes()[0]
    assert lane.boost_at > 0
    time.sleep(0.5)
    gate.set()
    assert background.wait(10)
    assert seen == [False, False] and not lane.boosted


def test_a_running_task_of_a_replaced_queue_may_be_stopped(monkeypatch):
    monkeypatch.setenv(background.ENV_PRECOMPUTE, "1")
    monkeypatch.setenv(background.ENV_LANES, "1")
    inside, replaced, seen = threading.Event(), threading.Event(), []

    def old_task() -> None:
        seen.append(background.may_defer())  # the only task of the current queue: not deferred
        inside.set()
        replaced.wait(10)
        seen.append(background.may_defer())  # newer controls wait: may be stopped
        raise solver_process.Deferred("stale")

    old = background.schedule(("k-replaced", "A"), [("old", old_task)])
    assert old is not None and inside.wait(10)
    new = background.schedule(("k-replaced", "B"), [("new", lambda: None)])
    replaced.set()
    assert background.wait(10)
    assert seen == [False, True]
    assert old.deferred == ["old"] and old.tasks == []  # dropped from the replaced queue, not re-queued
    assert new is not None and new.done == ["new"]
