"""Live mode: a simulated clock stepping a fleet with online re-planning, in one background thread.

Units: power [kW] (positive = charging), energy [kWh], money [MAD], SOC fraction 0-1, time [s] of wall clock
for the pacing and steps of ``step_minutes`` of simulated time.

One :class:`LiveSimulation` owns its stepping: a single daemon thread advances the physics
(:class:`evfleet.simulation.engine.Engine`) one step at a time; at each step the strategy re-plans from the current
state with the receding-horizon loop of ``simulate``'s online mode (:class:`evfleet.simulation.control.RecedingLoop`:
the same horizons, forecasts and forecast noise), so a day stepped live gives the same trajectory as
``simulate(..., SimulationOptions(mode="online", ...))`` with the same options. Viewers only read immutable
:class:`LiveSnapshot` objects, so any number of them can watch without changing the speed. When a day's scenario
ends, the next day's scenario comes from ``scenario_factory(day)`` (the forecast noise continues from one random
stream started at ``seed``).

Pacing: the thread computes each step ahead of its beat (by :meth:`LiveSimulation.lead_s`, from the last steps'
compute times) and publishes its snapshot on the beat, so viewers see one new step per period even when a re-plan
takes longer one step than the next.

Memory is bounded: the site series are kept in preallocated ring buffers of ``window_steps`` steps, and the
per-vehicle state of only the current day is held.

No Streamlit here: the dashboard shares one instance per live simulation through ``st.cache_resource``.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError
from evfleet._common.tolerances import POWER_EPS_KW
from evfleet.scenario import Scenario
from evfleet.simulation.control import RecedingLoop, frequency_seed
from evfleet.simulation.engine import Engine, RealisedFrequency
from evfleet.strategies import get_strategy

__all__ = ["SPEEDS", "LiveRecorder", "LiveSimulation", "LiveSnapshot"]


class LiveRecorder(Protocol):
    """What :class:`LiveSimulation` calls after each applied step (``evfleet.store.live_record.LiveRecorder`` keeps
    the history in the run store). Called from the stepping thread; units: [kW], SOC 0-1."""

    def start_day(self, scenario: Scenario, day: int, meta: dict[str, Any] | None = None) -> None: ...

    def record(
        self, t: int, soc_before: np.ndarray, power_kw: np.ndarray, soc_after: np.ndarray, site_kw: float
    ) -> None: ...

    def end_day(self) -> None: ...

    def discard(self) -> None: ...

    def flush(self) -> str | None: ...

    def close(self) -> None: ...


#: Speed presets: name -> simulated seconds per wall-clock second.
SPEEDS: dict[str, float] = {"realtime": 1.0, "x60": 60.0, "x600": 600.0}


@dataclass(frozen=True, eq=False)
class LiveSnapshot:
    """The state of a live simulation at one instant (read-only copies).

    Per vehicle of the current day's scenario (length N): ``soc`` [0-1], ``power_kw`` [kW], ``connected``.
    Window series (length <= ``window_steps``, oldest first): ``time``, ``site_kw``, ``ev_kw``, ``base_load_kw``,
    ``pv_kw``, ``price_import_mad_per_kwh``, ``tou_period``, ``n_connected``, ``n_charging``, ``n_discharging``.
    Totals since the last reset: ``import_kwh``, ``export_kwh``, ``cost_mad`` (import cost - export revenue +
    degradation), ``v2g_kwh`` (discharged), ``unmet_kwh`` (battery energy missing at departures), ``steps_done``.
    """

    scenario: Scenario
    strategy: str
    day: int
    step: int
    time: pd.Timestamp
    speed: float
    paused: bool
    steps_done: int
    soc: np.ndarray
    power_kw: np.ndarray
    connected: np.ndarray
    window: dict[str, np.ndarray] = field(default_factory=dict)
    totals: dict[str, float] = field(default_factory=dict)
    last_step_s: float = 0.0

    @property
    def site_kw(self) -> float:
        """Site power of the last applied step [kW] (0 before the first step)."""
        return float(self.window["site_kw"][-1]) if len(self.window.get("site_kw", ())) else 0.0

    @property
    def counts(self) -> dict[str, int]:
        """Vehicles connected / charging / discharging / idle now."""
        conn = int(self.connected.sum())
        ch = int((self.power_kw > POWER_EPS_KW).sum())
        dis = int((self.power_kw < -POWER_EPS_KW).sum())
        return {"connected": conn, "charging": ch, "discharging": dis, "idle": conn - ch - dis}


#: steps whose compute time sets how far ahead of its beat the stepping thread computes the next (:meth:`lead_s`)
LEAD_STEPS = 8
_WINDOW_FLOAT = ("site_kw", "ev_kw", "base_load_kw", "pv_kw", "price_import_mad_per_kwh")
_WINDOW_INT = ("n_connected", "n_charging", "n_discharging")


class LiveSimulation:
    """A live, online-controlled simulation stepped by one background thread.

    ``scenario_factory(day)`` returns the scenario of day ``day`` (0, 1, ...); ``strategy`` is a registered name.
    ``speed`` is simulated seconds per wall second (see :data:`SPEEDS`). ``window_steps`` bounds the history kept
    (default: two scenario days). ``auto=False`` never starts the thread: call :meth:`step` yourself (tests).
    ``horizon_h`` [h] caps the look-ahead of the re-planning; ``forecast_noise`` (relative, 0-1) and ``seed`` are
    the base-load and PV forecast noise, as in ``SimulationOptions``. ``start_step`` starts the clock later in
    day 0 (e.g. at the current time of day): the steps before it are simulated at once, with the same online
    control, and are part of the history. With ``idle_pause_s`` [s], the thread holds the clock while nobody has read a
    snapshot for that long (no viewer: no CPU spent) and goes on at the next read. With a ``recorder`` (a
    :class:`LiveRecorder`, e.g. ``evfleet.store.live_record.LiveRecorder``), the history is stored in the run store
    in rolling chunks from the stepping thread (a store error is logged, never raised); ``None`` stores nothing.
    """

    def __init__(
        self,
        scenario_factory: Callable[[int], Scenario],
        strategy: str = "uncontrolled",
        v2g: bool = True,
        speed: float = SPEEDS["x600"],
        window_steps: int | None = None,
        horizon_h: float = 24.0,
        auto: bool = True,
        strategy_params: dict[str, Any] | None = None,
        start_step: int = 0,
        idle_pause_s: float | None = None,
        recorder: LiveRecorder | None = None,
        forecast_noise: float = 0.0,
        seed: int = 0,
    ) -> None:
        if not speed > 0:
            raise InputError(f"option 'speed' must be > 0 (value {speed!r})")
        if not horizon_h > 0:
            raise InputError(f"option 'horizon_h' must be > 0 (value {horizon_h!r})")
        if not 0 <= forecast_noise <= 1:
            raise InputError(f"option 'forecast_noise' must be within 0-1 (value {forecast_noise!r})")
        self.forecast_noise = float(forecast_noise)
        self.seed = int(seed)
        self._factory = scenario_factory
        self.strategy_name = strategy
        self.strategy_params = dict(strategy_params or {})
        # fails early on an unknown strategy or parameter; each day is a new run of it (``start_run``)
        self._strategy = get_strategy(strategy, **self.strategy_params)
        self.v2g = bool(v2g)
        self.horizon_h = float(horizon_h)
        self.auto = bool(auto)
        self._speed = float(speed)
        self._lock = threading.Lock()  # serialises step() and reset()
        self._recent_step_s: collections.deque[float] = collections.deque(maxlen=LEAD_STEPS)
        #: ``time.monotonic()`` when the stepping thread last published a step, and the beat it was due at (None
        #: before the first)
        self.published_at: float | None = None
        self.published_beat: float | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._paused = False
        self._thread: threading.Thread | None = None
        self.idle_pause_s = idle_pause_s
        self.recorder = recorder
        self._last_read = time.monotonic()
        first = scenario_factory(0)
        self.window_steps = int(window_steps) if window_steps is not None else 2 * first.n_steps
        if self.window_steps < 1:
            raise InputError(f"option 'window_steps' must be >= 1 (value {window_steps!r})")
        if not 0 <= start_step < first.n_steps:
            raise InputError(f"option 'start_step' must be within 0-{first.n_steps - 1} (value {start_step!r})")
        self.start_step = int(start_step)
        self._reset_state(first)

    # --- state ----------------------------------------------------------------------------------------------

    def _reset_state(self, first: Scenario) -> None:
        w = self.window_steps
        self._ring_f = {k: np.zeros(w) for k in _WINDOW_FLOAT}
        self._ring_i = {k: np.zeros(w, dtype=np.int64) for k in _WINDOW_INT}
        self._ring_time = np.zeros(w, dtype="datetime64[ns]")
        self._ring_period = np.full(w, "", dtype=object)
        self._ring_len = 0
        self._ring_pos = 0
        self._totals = dict.fromkeys(("import_kwh", "export_kwh", "cost_mad", "v2g_kwh", "unmet_kwh"), 0.0)
        self._steps_done = 0
        self._day = 0
        self._last_step_s = 0.0
        self._rng = np.random.default_rng(self.seed)
        if self.recorder is not None:
            self.recorder.discard()
        self._start_day(first)
        for _ in range(self.start_step):
            self._step_once()
        self._snapshot = self._make_snapshot()

    def _start_day(self, sc: Scenario) -> None:
        self._sc = sc
        self._strategy.start_run()  # each day is a new run of the same strategy object
        self._engine = Engine(sc, self.v2g, RealisedFrequency(sc, frequency_seed(self._strategy)))
        self._loop = RecedingLoop(
            sc,
            self._strategy,
            self._engine,
            online=True,
            horizon_h=self.horizon_h,
            forecast_noise=self.forecast_noise,
            rng=self._rng,
        )
        self._t = 0
        self._power = np.zeros(sc.n_vehicles)
        self._times_utc = sc.times.tz_convert("UTC").tz_localize(None).to_numpy(dtype="datetime64[ns]")
        if self.recorder is not None:
            opts = {"strategy": self.strategy_name, "v2g": self.v2g, "horizon_h": self.horizon_h}
            if self.forecast_noise:
                opts.update(forecast_noise=self.forecast_noise, seed=self.seed)
            self.recorder.start_day(sc, self._day, {"strategy": self.strategy_name, "options": opts})

    def step(self, n: int = 1) -> LiveSnapshot:
        """Advance ``n`` steps now (re-planning at each) and return the new snapshot."""
        for _ in range(int(n)):
            with self._lock:
                self._step_once()
                self._snapshot = self._make_snapshot()
        return self._snapshot

    def _step_once(self) -> None:
        t0 = time.perf_counter()
        sc, eng, t = self._sc, self._engine, self._t
        conn = eng.connected(t)
        rec = self.recorder
        soc_before = eng.e / sc.vehicles.battery_kwh if rec is not None else None
        p, site = self._loop.step(t)
        if rec is not None:
            rec.record(t, soc_before, p, eng.e / sc.vehicles.battery_kwh, site)
        self._power = p
        dt = sc.dt_h
        price_imp = float(sc.price_import_mad_per_kwh[t])
        price_exp = float(sc.price_export_mad_per_kwh[t])
        dis_kwh = float(np.maximum(-p, 0.0).sum() * dt)
        imp, exp = max(site, 0.0) * dt, max(-site, 0.0) * dt
        tot = self._totals
        tot["import_kwh"] += imp
        tot["export_kwh"] += exp
        tot["v2g_kwh"] += dis_kwh
        tot["cost_mad"] += imp * price_imp - exp * price_exp + sc.degradation_mad_per_kwh * dis_kwh
        v = sc.vehicles
        leaving = v.departure_step == t + 1
        if leaving.any():
            tot["unmet_kwh"] += float(np.maximum(v.energy_target_kwh[leaving] - eng.e[leaving], 0.0).sum())
        # ring buffer
        i = self._ring_pos
        self._ring_time[i] = self._times_utc[t]
        self._ring_period[i] = str(sc.tou_period[t])
        self._ring_f["site_kw"][i] = site
        self._ring_f["ev_kw"][i] = float(p.sum())
        self._ring_f["base_load_kw"][i] = float(sc.base_load_kw[t])
        self._ring_f["pv_kw"][i] = float(sc.pv_kw[t])
        self._ring_f["price_import_mad_per_kwh"][i] = price_imp
        self._ring_i["n_connected"][i] = int(conn.sum())
        self._ring_i["n_charging"][i] = int((p > POWER_EPS_KW).sum())
        self._ring_i["n_discharging"][i] = int((p < -POWER_EPS_KW).sum())
        self._ring_pos = (i + 1) % self.window_steps
        self._ring_len = min(self._ring_len + 1, self.window_steps)
        self._steps_done += 1
        self._t += 1
        if self._t >= sc.n_steps:
            if rec is not None:
                rec.end_day()
            self._day += 1
            self._start_day(self._factory(self._day))
        self._last_step_s = time.perf_counter() - t0

    def _ordered(self, a: np.ndarray) -> np.ndarray:
        n, w = self._ring_len, self.window_steps
        if n < w:
            return a[:n].copy()
        return np.concatenate([a[self._ring_pos :], a[: self._ring_pos]])

    def _make_snapshot(self) -> LiveSnapshot:
        sc, eng, t = self._sc, self._engine, self._t
        tz = sc.timezone
        window: dict[str, np.ndarray] = {k: self._ordered(a) for k, a in {**self._ring_f, **self._ring_i}.items()}
        window["time"] = pd.DatetimeIndex(self._ordered(self._ring_time)).tz_localize("UTC").tz_convert(tz)
        window["tou_period"] = self._ordered(self._ring_period)
        now = sc.times[t] if t < sc.n_steps else sc.times[-1]
        return LiveSnapshot(
            scenario=sc,
            strategy=self.strategy_name,
            day=self._day,
            step=t,
            time=now,
            speed=self._speed,
            paused=self._paused,
            steps_done=self._steps_done,
            soc=eng.e / sc.vehicles.battery_kwh,
            power_kw=self._power.copy(),
            connected=eng.connected(t),
            window=window,
            totals=dict(self._totals),
            last_step_s=self._last_step_s,
        )

    def snapshot(self) -> LiveSnapshot:
        """The latest snapshot (immutable; cheap: no computation). Counts as a viewer's read."""
        self._last_read = time.monotonic()
        return self._snapshot

    @property
    def idle(self) -> bool:
        """True when ``idle_pause_s`` is set and no snapshot was read for that long."""
        return self.idle_pause_s is not None and time.monotonic() - self._last_read > self.idle_pause_s

    # --- control --------------------------------------------------------------------------------------------

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def running(self) -> bool:
        """True when the background thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def seconds_per_step(self) -> float:
        """Wall-clock seconds between two steps at the current speed [s]."""
        return self._sc.step_minutes * 60.0 / self._speed

    def set_speed(self, speed: float) -> None:
        """Change the speed (simulated s per wall s) without losing state."""
        if not speed > 0:
            raise InputError(f"option 'speed' must be > 0 (value {speed!r})")
        self._speed = float(speed)
        self._wake.set()

    def pause(self) -> None:
        self._paused = True
        self._refresh_flags()

    def resume(self) -> None:
        self._paused = False
        self._refresh_flags()
        self._wake.set()

    def reset(self) -> None:
        """Back to day 0 at ``start_step``, totals and history restarted from there (keeps speed and pause)."""
        with self._lock:
            self._reset_state(self._factory(0))
        self._wake.set()

    def _refresh_flags(self) -> None:
        with self._lock:
            self._snapshot = self._make_snapshot()

    def start(self) -> LiveSimulation:
        """Start the stepping thread (no-op when ``auto`` is False or it already runs)."""
        if self.auto and not self.running:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="evfleet-live", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread (the state is kept; :meth:`start` continues)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def lead_s(self) -> float:
        """How long before its beat the stepping thread computes a step [s]: 1.5x the longest of the last
        :data:`LEAD_STEPS` steps plus 50 ms, at most half the period (so the views see one step per period however
        long each one takes to compute)."""
        longest = max(self._recent_step_s, default=0.0)
        return min(1.5 * longest + 0.05, 0.5 * self.seconds_per_step())

    def _run(self) -> None:
        due = time.monotonic() + self.seconds_per_step()
        while not self._stop.is_set():
            if self._paused or self.idle:
                self._wake.wait(0.25)
                self._wake.clear()
                due = time.monotonic() + self.seconds_per_step()
                continue
            now = time.monotonic()
            due = min(due, now + self.seconds_per_step())  # a speed-up takes effect at once
            start = due - self.lead_s()
            if now < start:
                self._wake.wait(min(start - now, 0.25))
                self._wake.clear()
                continue
            t0 = time.perf_counter()
            with self._lock:  # computed ahead of its beat, published on it: evenly spaced updates
                self._step_once()
                pending = self._make_snapshot()
            self._recent_step_s.append(time.perf_counter() - t0)
            while (wait := due - time.monotonic()) > 0 and not self._stop.is_set():
                time.sleep(min(wait, 0.05))
            self._snapshot = pending
            self.published_at, self.published_beat = time.monotonic(), due
            if pending.paused != self._paused or pending.speed != self._speed:  # changed meanwhile: say so now
                self._refresh_flags()
            # never build a backlog: if planning is slower than the pace, step as fast as planning allows
            due = max(due + self.seconds_per_step(), time.monotonic())
