"""Background pre-computation of the dashboard (evfleet.dashboard.background): order, once per key, switch."""

from __future__ import annotations

import threading

from evfleet.dashboard import background


def test_tasks_run_in_order_once_per_key(monkeypatch):
    monkeypatch.setenv(background.ENV_PRECOMPUTE, "1")
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
