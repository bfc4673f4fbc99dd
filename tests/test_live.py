"""Live mode runner: advances, pause/resume, reset, bounded memory, one thread owns the stepping."""

from __future__ import annotations

import time

import numpy as np
import pytest

from evfleet.generate import generate_scenario
from evfleet.live import SPEEDS, LiveSimulation
from evfleet.simulate import SimulationOptions, simulate


def _factory(n: int = 60, step_minutes: int = 60):
    cache: dict[int, object] = {}

    def make(day: int):
        if day not in cache:
            start = f"2026-01-{5 + day:02d}"
            cache[day] = generate_scenario(vehicles=n, seed=day, start=start, days=1, step_minutes=step_minutes)
        return cache[day]

    return make


def test_manual_steps_match_online_simulation():
    fac = _factory()
    live = LiveSimulation(fac, "uncontrolled", auto=False)
    sc = fac(0)
    ref = simulate(sc, "uncontrolled", SimulationOptions(mode="online"))
    snap = live.step(sc.n_steps - 1)
    assert snap.day == 0 and snap.step == sc.n_steps - 1
    np.testing.assert_allclose(snap.window["site_kw"], ref.site_kw[: sc.n_steps - 1], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(snap.soc, ref.soc[:, sc.n_steps - 1], atol=1e-12)
    imp = np.maximum(ref.site_kw[: sc.n_steps - 1], 0) * sc.dt_h
    assert snap.totals["import_kwh"] == pytest.approx(imp.sum())
    assert snap.totals["cost_mad"] == pytest.approx((imp * sc.price_import_mad_per_kwh[: sc.n_steps - 1]).sum())


def test_rolls_over_to_next_day_and_memory_is_bounded():
    fac = _factory()
    live = LiveSimulation(fac, "uncontrolled", auto=False, window_steps=30)
    sizes = []
    for _ in range(5):
        snap = live.step(24)
        sizes.append(sum(a.nbytes for a in snap.window.values() if isinstance(a, np.ndarray)))
    assert snap.day == 5 and snap.step == 0 and snap.steps_done == 120
    assert len(snap.window["site_kw"]) == 30
    assert len(set(sizes[1:])) == 1  # constant once the window is full
    assert snap.scenario is fac(5)
    # window is ordered oldest first
    assert (np.diff(snap.window["time"].asi8) > 0).all()


def test_pause_resume_reset_and_speed_validation():
    live = LiveSimulation(_factory(), "uncontrolled", auto=False)
    live.step(3)
    live.pause()
    assert live.snapshot().paused
    live.resume()
    assert not live.snapshot().paused
    live.reset()
    snap = live.snapshot()
    assert snap.steps_done == 0 and snap.step == 0 and len(snap.window["site_kw"]) == 0
    with pytest.raises(ValueError, match="speed"):
        live.set_speed(0)
    with pytest.raises(ValueError, match="unknown strategy"):
        LiveSimulation(_factory(), "nope", auto=False)


def test_background_thread_advances_and_pauses():
    live = LiveSimulation(_factory(20), "uncontrolled", speed=3600.0 * 50, auto=True)  # 60-min steps: 20 ms/step
    assert live.seconds_per_step() == pytest.approx(0.02)
    live.start()
    try:
        deadline = time.monotonic() + 5
        while live.snapshot().steps_done < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert live.snapshot().steps_done >= 5
        live.pause()
        time.sleep(0.1)
        frozen = live.snapshot().steps_done
        time.sleep(0.2)
        assert live.snapshot().steps_done == frozen
        live.resume()
        deadline = time.monotonic() + 5
        while live.snapshot().steps_done <= frozen and time.monotonic() < deadline:
            time.sleep(0.02)
        assert live.snapshot().steps_done > frozen
    finally:
        live.stop()
    assert not live.running


def test_auto_false_never_starts_a_thread():
    live = LiveSimulation(_factory(), "uncontrolled", auto=False).start()
    assert not live.running
    time.sleep(0.05)
    assert live.snapshot().steps_done == 0
    assert SPEEDS["x600"] == 600.0


def test_start_step_fast_forwards_day_zero():
    fac = _factory()
    ref = LiveSimulation(fac, "uncontrolled", auto=False)
    ref.step(10)
    live = LiveSimulation(fac, "uncontrolled", auto=False, start_step=10)
    a, b = ref.snapshot(), live.snapshot()
    assert b.step == 10 and b.steps_done == 10
    np.testing.assert_allclose(a.soc, b.soc)
    assert a.totals == b.totals
    live.step(2)
    live.reset()
    assert live.snapshot().step == 10
    with pytest.raises(ValueError, match="start_step"):
        LiveSimulation(fac, "uncontrolled", auto=False, start_step=24)


def test_idle_runner_holds_its_clock_until_read():
    live = LiveSimulation(_factory(20), "uncontrolled", speed=3600.0 * 50, auto=True, idle_pause_s=0.05)
    time.sleep(0.1)
    assert live.idle
    live.start()
    try:
        time.sleep(0.3)
        held = live._snapshot.steps_done  # read without counting as a viewer
        assert held <= 1
        deadline = time.monotonic() + 5
        while live.snapshot().steps_done < held + 3 and time.monotonic() < deadline:
            time.sleep(0.01)  # reading keeps it going
        assert live.snapshot().steps_done >= held + 3
    finally:
        live.stop()
