"""Live mode runner: advances, pause/resume, reset, bounded memory, one thread owns the stepping."""

from __future__ import annotations

import time

import numpy as np
import pytest

from evfleet.inputs.generate import generate_scenario
from evfleet.simulation.live import SPEEDS, LiveSimulation
from evfleet.simulation.simulate import SimulationOptions, simulate


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


class _PowerLog:
    """A :class:`~evfleet.simulation.live.LiveRecorder` that keeps the applied power of day 0 in memory."""

    def __init__(self) -> None:
        self.day = -1
        self.power: dict[int, np.ndarray] = {}

    def start_day(self, scenario, day, meta=None) -> None:
        self.day = day

    def record(self, t, soc_before, power_kw, soc_after, site_kw) -> None:
        if self.day == 0:
            self.power[t] = power_kw.copy()

    def end_day(self) -> None: ...

    def discard(self) -> None:
        self.power.clear()

    def flush(self) -> str | None:
        return None

    def close(self) -> None: ...


@pytest.mark.parametrize(
    ("strategy", "noise", "params"),
    [
        ("load_balancing", 0.0, {}),  # a causal rule: the same look-ahead (departures) as simulate's
        ("price_optimization", 0.3, {}),  # forecast noise and its seed
        ("grid_support", 0.2, {"reserve_price": 0.4}),  # the reserve activated by the engine
    ],
)
def test_a_live_day_is_the_online_simulation(strategy, noise, params):
    """One receding-horizon loop: live mode gives simulate's online trajectory with the same options."""

    def tight(day: int):
        sc = generate_scenario(vehicles=30, seed=day, start=f"2026-01-{5 + day:02d}", days=1, step_minutes=60,
                               v2g_ready_2024=True)  # fmt: skip
        return sc.replace(import_limit_kw=sc.import_limit_kw * 0.3)  # the site limit binds

    sc = tight(0)
    opts = SimulationOptions(mode="online", horizon_h=10.0, forecast_noise=noise, seed=4)
    ref = simulate(sc, strategy, opts, **params)
    log = _PowerLog()
    kwargs = {"forecast_noise": noise, "seed": 4} if noise else {}
    live = LiveSimulation(tight, strategy, auto=False, horizon_h=10.0, recorder=log, strategy_params=params, **kwargs)
    live.step(sc.n_steps)
    assert sorted(log.power) == list(range(sc.n_steps))
    power = np.column_stack([log.power[t] for t in range(sc.n_steps)])
    np.testing.assert_allclose(power, ref.power_kw, rtol=0, atol=1e-9)
    if strategy == "load_balancing":
        assert ref.curtailed_kwh.sum() == 0 and (ref.site_kw >= sc.import_limit_kw - 1e-6).any()


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


# --- history in the run store ----------------------------------------------------------------------------------


def test_recorder_stores_rolling_chunks_in_the_store(tmp_path, monkeypatch):
    from evfleet.store.live_record import LiveRecorder
    from evfleet.store.runs import open_store

    db = tmp_path / "live.db"
    monkeypatch.setenv("EVFLEET_DB", str(db))
    fac = _factory(n=20)
    sc = fac(0)
    ref = simulate(sc, "uncontrolled", SimulationOptions(mode="online"))
    rec = LiveRecorder(chunk_steps=5)
    live = LiveSimulation(fac, "uncontrolled", auto=False, recorder=rec, start_step=2)
    live.step(12)  # steps 0-1 (simulated at start) + 2..13: chunks [0,5) and [5,10) stored, 4 steps buffered
    assert rec.chunks_saved == 2 and rec.errors == 0
    with open_store() as st:
        hist = st.live_history(rec.session_id)
        assert hist["step"].tolist() == list(range(10))
        np.testing.assert_allclose(hist["site_kw"], ref.site_kw[:10], atol=1e-9)
        group = st.get_group(rec.session_id)
        assert group["kind"] == "live" and len(group["runs"]) == 2
    live.step(sc.n_steps - 14 + 5)  # end of day 0 flushes the partial chunk; day 1 gets its own session
    assert len(rec.session_ids) == 2
    with open_store() as st:
        hist0 = st.live_history(rec.session_ids[0])
        assert hist0["step"].tolist() == list(range(sc.n_steps))
        assert st.live_history(rec.session_ids[1])["step"].tolist() == [0, 1, 2, 3, 4]


def test_recorder_keeps_only_newest_chunks(tmp_path):
    from evfleet.store.live_record import LiveRecorder
    from evfleet.store.runs import open_store

    rec = LiveRecorder(db=tmp_path / "roll.db", chunk_steps=2, max_chunks=3)
    live = LiveSimulation(_factory(n=10), "uncontrolled", auto=False, recorder=rec)
    live.step(12)
    assert rec.chunks_saved == 6
    with open_store(tmp_path / "roll.db") as st:
        assert st.live_history(rec.session_id)["step"].tolist() == list(range(6, 12))


def test_store_error_is_logged_and_never_stops_stepping(tmp_path, caplog):
    from evfleet.store.live_record import LiveRecorder

    bad = tmp_path / "not-a-dir"
    bad.write_text("x")  # a file where the store's directory should be
    rec = LiveRecorder(db=bad / "sub" / "evfleet.db", chunk_steps=2)
    live = LiveSimulation(_factory(n=10), "uncontrolled", auto=False, recorder=rec)
    with caplog.at_level("WARNING", logger="evfleet.store.live_record"):
        snap = live.step(6)
    assert snap.steps_done == 6
    assert rec.errors == 3 and rec.chunks_saved == 0 and rec.last_error
    assert "not stored" in caplog.text


def test_without_recorder_nothing_is_stored(tmp_path, monkeypatch):
    from evfleet.store.runs import open_store

    monkeypatch.setenv("EVFLEET_DB", str(tmp_path / "none.db"))
    LiveSimulation(_factory(n=10), "uncontrolled", auto=False).step(5)
    with open_store() as st:
        assert st.stats["groups"] == 0 and st.stats["runs"] == 0


def test_recorder_works_from_the_stepping_thread(tmp_path):
    from evfleet.store.live_record import LiveRecorder
    from evfleet.store.runs import open_store

    rec = LiveRecorder(db=tmp_path / "thread.db")  # one chunk per simulated hour = one 60-min step here
    live = LiveSimulation(_factory(n=10), "uncontrolled", speed=3600.0 * 50, recorder=rec).start()
    deadline = time.monotonic() + 20
    while rec.chunks_saved < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    live.stop()
    assert rec.errors == 0 and rec.chunks_saved >= 5
    with open_store(tmp_path / "thread.db") as st:
        steps = [s for sid in rec.session_ids for s in st.live_history(sid)["step"].tolist()]
    assert len(steps) == rec.chunks_saved


def test_steps_are_computed_ahead_and_published_on_their_beat(monkeypatch):
    """A step that takes time to compute starts before its beat and is published on it, never before (so the views
    see evenly spaced updates: docs/dashboard.md, live mode)."""
    live = LiveSimulation(_factory(20), "uncontrolled", speed=3600.0, auto=True)  # 60-min steps: 1 s per step
    slow_step = live._step_once
    events: list[tuple[float, float | None, float | None]] = []

    def step_once() -> None:
        events.append((time.monotonic(), live.published_at, live.published_beat))
        time.sleep(0.1)  # a re-plan of 0.1 s
        slow_step()

    monkeypatch.setattr(live, "_step_once", step_once)
    live.start()
    try:
        deadline = time.monotonic() + 15
        while live.snapshot().steps_done < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        live.stop()
    assert live.snapshot().steps_done >= 5
    assert live.lead_s() == pytest.approx(min(1.5 * max(live._recent_step_s) + 0.05, 0.5), rel=1e-9)
    assert live.lead_s() > 0.15  # learned from the 0.1-s steps
    # each published step came on or after its beat; the next one's computation began before the next beat
    started = [t for t, _, _ in events[1:]]
    beats = [b for _, _, b in events[1:]]
    assert all(b is not None for b in beats)
    ahead = [t < b + 1.0 for t, b in zip(started, beats, strict=True)]  # the beat after the one last published
    assert sum(ahead) >= 2
    assert live.published_at >= live.published_beat
