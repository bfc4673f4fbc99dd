"""Streamlit glue shared by the pages: the sidebar, cached scenarios/runs, the shared live runner, drawing helpers.

Units follow the package (power [kW], energy [kWh], money [MAD], SOC fraction 0-1).

Caching: scenarios and runs are immutable, so they are cached with ``st.cache_resource`` (no copy on each hit)
under keys built from the generator parameters or the scenario's content hash, strategy, mode and V2G; a small
``max_entries`` bounds the memory. The live runner is one ``st.cache_resource`` object per (scenario, strategy,
V2G): every tab reads the same runner, which alone steps the simulation. Set the environment variable
``EVFLEET_LIVE_AUTOSTEP=0`` to create runners that never step by themselves (tests). Each runner stores its
history in the run store (one live session per simulated day, hourly chunks, see :mod:`evfleet.store.live_record`)
unless ``EVFLEET_LIVE_STORE=0`` (``evfleet dashboard --no-store``).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from evfleet._common.errors import InputError
from evfleet._common.text import csv_safe_frame
from evfleet.analysis.compare import BASELINES, best_baseline
from evfleet.analysis.kpis import compute_kpis
from evfleet.dashboard import background, solver_process, timing
from evfleet.dashboard.i18n import mode_label, strategy_description, strategy_label, t
from evfleet.dashboard.l10n import apply_plotly_locale, csv_bytes, fmt_datetime, fmt_int
from evfleet.dashboard.l10n_widgets import num_slider
from evfleet.dashboard.launch import check_upload_sessions
from evfleet.dashboard.safe_text import colon, md, md_error
from evfleet.dashboard.sweep_plots import SWEEP_METRICS, savings_boxplot
from evfleet.dashboard.views import KpiCard, assumptions_markdown, default_strategy
from evfleet.gridquality import assess as gq_assess
from evfleet.inputs.catalog import load_catalog
from evfleet.inputs.catalog_sources import load_catalog_details
from evfleet.inputs.generate import ScenarioParams, generate_scenario
from evfleet.inputs.importers import fleet_composition, parse_fleet
from evfleet.reports.run import run_report_html
from evfleet.results.alert_files import run_alerts
from evfleet.results.plan import RunPlan, build_plan, plan_export
from evfleet.results.run_files import site_table, vehicle_table
from evfleet.scenario import Scenario
from evfleet.simulation.live import SPEEDS, LiveSimulation
from evfleet.simulation.simulate import RunResult, SimulationOptions, simulate
from evfleet.store.live_record import LiveRecorder
from evfleet.store.sweeps import load_stored_sweep, stored_sweeps
from evfleet.strategies import REGISTRY, StrategyError
from evfleet.strategies.optim.receding import OptimizingStrategy

PLOT_CONFIG = {"displayModeBar": False, "responsive": True}
N_MIN, N_MAX, N_STEP = 50, 2000, 50
#: a live runner nobody has looked at for this long holds its clock (no CPU for unwatched simulations) [s]: a page
#: showing live mode reads the runner every 0.5-1.5 s, so 6 s without a read means the last viewer has left
LIVE_IDLE_PAUSE_S = 6.0
#: Newest chunks kept per live session in the run store (hourly chunks: one day is 24).
LIVE_MAX_CHUNKS = 48


@dataclass(frozen=True)
class Controls:
    """The sidebar's choices."""

    lang: str
    n_vehicles: int
    strategy: str
    v2g: bool
    mode: str
    live: bool
    speed: str


def today_iso(tz: str = "Africa/Casablanca") -> str:
    """Today's date at the site (ISO)."""
    return pd.Timestamp.now(tz=tz).date().isoformat()


def default_params() -> dict[str, Any]:
    """Generator parameters of the default scenario (everything but the fleet size): today, Casablanca, depot."""
    p = asdict(ScenarioParams())
    p.pop("vehicles")
    p["start"] = today_iso(p["timezone"])
    return p


def _init_state() -> None:
    ss = st.session_state
    ss.setdefault("scenario_params", default_params())
    ss.setdefault("uploaded_scenario", None)
    # widget defaults live in the session state (never as widget arguments too: Streamlit warns about both)
    names = list(REGISTRY)
    if ss.get("strategy") not in names:
        ss["strategy"] = default_strategy(names)
    for key, value in (("lang", "en"), ("n_vehicles", 500), ("v2g", True), ("mode", "offline"), ("live_on", False),
                       ("live_speed", "x600")):  # fmt: skip
        ss.setdefault(key, value)
    if not ss.get("_query_applied"):
        # a link may preset the fleet size and language: ?vehicles=2000&lang=fr (applied once per session)
        ss["_query_applied"] = True
        qp = st.query_params
        try:
            n = int(qp.get("vehicles", ""))
            if N_MIN <= n <= N_MAX:
                ss["n_vehicles"] = n - n % N_STEP if n % N_STEP else n
        except ValueError:
            pass
        if qp.get("lang") in ("en", "fr"):
            ss["lang"] = qp.get("lang")
    pending = ss.pop("_pending_widgets", None)
    if pending:  # values set by another page (e.g. Scenario page "Apply") before the widgets are drawn
        for key, value in pending.items():
            ss[key] = value


def sidebar() -> Controls:
    """Draw the sidebar controls and return them."""
    _init_state()
    names = list(REGISTRY)
    with st.sidebar:
        lang = st.segmented_control(
            "Language / Langue",
            options=["en", "fr"],
            format_func=lambda x: {"en": "English", "fr": "Français"}[x],
            key="lang",
        )
        lang = lang or "en"
        n = num_slider(t("fleet_size", lang), N_MIN, N_MAX, step=N_STEP, key="n_vehicles", lang=lang)
        default = default_strategy(names)
        strategy = st.selectbox(
            t("strategy", lang),
            names,
            key="strategy",
            format_func=lambda name: strategy_label(name, lang),
        )
        if desc := strategy_description(strategy, lang):
            st.caption(desc)
        v2g = st.toggle(t("v2g", lang), key="v2g")
        mode = st.radio(
            t("mode", lang),
            ["offline", "online"],
            format_func=lambda m: t(f"mode_{m}", lang),
            key="mode",
        )
        st.divider()
        st.markdown(f"**{t('live', lang)}**")
        live = st.toggle(t("live_on", lang), key="live_on")
        speed = st.select_slider(
            t("speed", lang),
            options=list(SPEEDS),
            format_func=lambda s: t("speed_realtime", lang) if s == "realtime" else "×" + s[1:],
            key="live_speed",
        )
        ctrl = Controls(lang, int(n), strategy, bool(v2g), mode, bool(live), speed)
        if live:
            runner = live_runner(ctrl)
            runner.set_speed(SPEEDS[speed])
            c1, c2, c3 = st.columns(3)
            if runner.paused:
                if c1.button(
                    "", key="live_resume", icon=":material/play_arrow:", help=t("resume", lang), width="stretch"
                ):
                    runner.resume()
                    st.rerun()
            elif c1.button("", key="live_pause", icon=":material/pause:", help=t("pause", lang), width="stretch"):
                runner.pause()
                st.rerun()
            if c2.button(
                "",
                key="live_step",
                icon=":material/skip_next:",
                help=t("step_once", lang),
                width="stretch",
                disabled=not runner.paused and runner.auto,
            ):
                runner.step()
            if c3.button("", key="live_reset", icon=":material/restart_alt:", help=t("reset", lang), width="stretch"):
                runner.reset()
            st.caption(t("live_note", lang))
            rec = runner.recorder
            if rec is not None:
                st.caption(t("live_stored", lang, session=md(rec.session_id or "–"), chunks=rec.chunks_saved))
                if rec.last_error:
                    st.caption(t("live_store_error", lang, n=rec.errors, error=md_error(rec.last_error)))
        if default == "uncontrolled" and len(names) == 1:
            st.caption(t("default_fallback", lang))
    return ctrl


def controls() -> Controls:
    """The current controls (as drawn by :func:`sidebar` in this run)."""
    ss = st.session_state
    return Controls(
        ss.get("lang") or "en",
        int(ss.get("n_vehicles", 500)),
        ss.get("strategy") or default_strategy(list(REGISTRY)),
        bool(ss.get("v2g", True)),
        ss.get("mode", "offline"),
        bool(ss.get("live_on", False)),
        ss.get("live_speed", "x600"),
    )


# --- scenarios and runs ----------------------------------------------------------------------------------------


@st.cache_resource(max_entries=6, show_spinner=False)
def _generated(key: str, params_json: str) -> Scenario:
    # the JSON keeps the parameters' order: the charger mix order matters to the (seeded) draw
    return generate_scenario(ScenarioParams(**json.loads(params_json)))


def scenario_params(n_vehicles: int) -> dict[str, Any]:
    """Full generator parameters of the generated scenario for ``n_vehicles``."""
    p = dict(st.session_state.get("scenario_params") or default_params())
    p["vehicles"] = int(n_vehicles)
    if p.get("composition"):
        total = sum(int(c) for c in p["composition"].values())
        if total != n_vehicles:  # the fleet size slider moved away from the uploaded composition
            p["composition"] = None
    return p


def current_scenario(ctrl: Controls) -> tuple[str, Scenario]:
    """(cache key, scenario): the uploaded scenario if any, else the one generated from the parameters."""
    up = st.session_state.get("uploaded_scenario")
    if up is not None:
        return "upload:" + up.content_hash, up
    params = scenario_params(ctrl.n_vehicles)
    return _params_key(params), _generated(_params_key(params), json.dumps(params, default=str))


def _params_key(params: dict[str, Any]) -> str:
    """Cache key of generator parameters (order-independent)."""
    return "gen:" + hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:16]


def generated_check(params: dict[str, Any]) -> Scenario:
    """Generate (and cache) the scenario of ``params``; raises the generator's error naming the bad parameter."""
    return _generated(_params_key(params), json.dumps(params, default=str))


def composition_from_csv(data: bytes, name: str = "fleet CSV") -> dict[str, int]:
    """Fleet composition from an uploaded fleet CSV, through the CLI's importer
    (:func:`evfleet.inputs.importers.parse_fleet`: ``model,count`` or per-vehicle rows, ``,``/``;`` separators,
    decimal commas, unknown models answered with the closest catalogue names); raises ``InputError``."""
    comp = fleet_composition(parse_fleet(Path(name), data=data))
    total = sum(comp.values())
    check_upload_sessions(total, "fleet CSV")
    if not N_MIN <= total <= N_MAX:
        raise InputError(f"fleet CSV: counts sum to {total}; the dashboard takes {N_MIN}-{N_MAX} vehicles")
    return comp


#: (strategy, mode) -> wall seconds per vehicle of its latest run in this process (a lower bound for a background
#: run stopped before its end): orders the background's queue (:func:`precompute_plan`)
_COST_S_PER_VEHICLE: dict[tuple[str, str], float] = {}


def _note_cost(strategy: str, mode: str, wall_s: float, n_vehicles: int) -> None:
    _COST_S_PER_VEHICLE[(strategy, mode)] = wall_s / max(int(n_vehicles), 1)


#: runs being computed now (inside :func:`_run`, by a lane or a page's helper thread): (scenario key, strategy,
#: mode, V2G) -> the computing thread's ident
_RUNNING: dict[tuple[str, str, str, bool], int] = {}
_RUNNING_LOCK = threading.Lock()


def running_elsewhere(key: str, strategy: str, mode: str, v2g: bool) -> bool:
    """True when another thread (a background lane or a page's helper thread) is computing this run right now."""
    with _RUNNING_LOCK:
        owner = _RUNNING.get((key, strategy, mode, bool(v2g)))
    return owner is not None and owner != threading.get_ident()


@st.cache_resource(max_entries=40, show_spinner=False)
def _run(key: str, strategy: str, mode: str, v2g: bool, _scenario: Scenario) -> RunResult:
    ident = (key, strategy, mode, bool(v2g))
    with _RUNNING_LOCK:
        _RUNNING[ident] = threading.get_ident()
    try:
        return _run_now(key, strategy, mode, v2g, _scenario)
    finally:
        with _RUNNING_LOCK:
            _RUNNING.pop(ident, None)


def _run_now(key: str, strategy: str, mode: str, v2g: bool, _scenario: Scenario) -> RunResult:
    t0 = time.monotonic()
    try:
        res = None
        if background.in_worker():  # the background's runs: in the lower-priority worker process, same result
            with background.computing(run_task_name(strategy, mode, v2g)):
                res = solver_process.simulate_elsewhere(
                    _scenario, strategy, mode, v2g, background.boosted, background.lane(), background.may_defer
                )
                if res is None:
                    res = simulate(_scenario, strategy, SimulationOptions(mode=mode, v2g=v2g))
        if res is None:
            res = simulate(_scenario, strategy, SimulationOptions(mode=mode, v2g=v2g))
    except solver_process.BudgetExceeded:  # stopped before its end: it takes at least this long
        wall = time.monotonic() - t0
        if wall / _scenario.n_vehicles > _COST_S_PER_VEHICLE.get((strategy, mode), 0.0):
            _note_cost(strategy, mode, wall, _scenario.n_vehicles)
        raise
    _note_cost(strategy, mode, time.monotonic() - t0, _scenario.n_vehicles)
    return res


@st.cache_resource(max_entries=40, show_spinner=False)
def _kpis(key: str, strategy: str, mode: str, v2g: bool, _result: RunResult) -> dict:
    return compute_kpis(_result)


#: (scenario key, strategy, mode, V2G) of the runs computed in this process (read by the recommendation)
_COMPUTED: set[tuple[str, str, str, bool]] = set()


def compute_run(key: str, sc: Scenario, strategy: str, mode: str, v2g: bool) -> tuple[RunResult, dict]:
    """(result, KPIs) from the shared caches, computing them if needed (no Streamlit element: any thread). In a
    background lane with other tasks waiting, a run another thread is computing now raises
    :class:`~evfleet.dashboard.background.Busy` instead of waiting for it (the task is queued last, once)."""
    if background.in_worker() and running_elsewhere(key, strategy, mode, v2g) and background.may_defer():
        raise background.Busy(f"{run_task_name(strategy, mode, v2g)} is being computed elsewhere: queued last")
    res = _run(key, strategy, mode, v2g, sc)
    k = _kpis(key, strategy, mode, v2g, res)
    _COMPUTED.add((key, strategy, mode, bool(v2g)))
    return res, k


def is_computed(key: str, strategy: str, mode: str, v2g: bool) -> bool:
    """True when this run was computed in this process (so a page gets it from the cache, or recomputes it once
    if the cache evicted it)."""
    return (key, strategy, mode, bool(v2g)) in _COMPUTED


def forget_computed() -> None:
    """Forget which runs were computed (after ``st.cache_resource.clear()``, e.g. in tests)."""
    _COMPUTED.clear()


def run_task_name(strategy: str, mode: str, v2g: bool) -> str:
    """Name of the background task that computes what a page shows for this run (:func:`run_bundle`)."""
    return f"{strategy}·{mode}·{'v2g' if v2g else 'no-v2g'}"


#: runs requested by pages and being computed in a helper thread: (scenario key, strategy, mode, V2G) -> future
_INFLIGHT: dict[tuple[str, str, str, bool], Future] = {}
_INFLIGHT_LOCK = threading.Lock()
#: seconds between two updates of the progress line while a page waits for a run
WAIT_POLL_S = 0.5
#: (scenario key, strategy, mode, V2G) -> native thread id of the helper thread computing it (for its priority)
_HELPER_TID: dict[tuple[str, str, str, bool], int] = {}


def _helper_priority(ident: tuple[str, str, str, bool], nice: int) -> bool:
    """Set the nice value of the helper thread computing ``ident`` (0 while a page waits for it, the background's
    once no page does: a run the user left behind goes on without slowing the pages); False when refused."""
    with _INFLIGHT_LOCK:
        tid = _HELPER_TID.get(ident)
    return background._set_nice(tid, nice)


def _in_helper_thread(ident: tuple[str, str, str, bool], fn: Callable[[], Any]) -> Future:
    """The future of ``fn()`` run in a helper thread, shared by every page asking for the same ``ident`` while
    it runs (so leaving the page does not stop it and asking again does not start it twice)."""
    with _INFLIGHT_LOCK:
        fut = _INFLIGHT.get(ident)
        if fut is not None:
            return fut
        fut = Future()
        _INFLIGHT[ident] = fut

    def work() -> None:
        _HELPER_TID[ident] = threading.get_native_id()
        start, t0, c0 = time.time(), time.perf_counter(), time.thread_time()
        try:
            with background.page_run():  # the background lanes start no new task meanwhile
                out = fn()
            fut.set_result(out)
        except BaseException as exc:  # handed to the page that waits (a solver error is shown there)
            fut.set_exception(exc)
        finally:
            timing.log_page_run(run_task_name(*ident[1:]), start, time.perf_counter() - t0, time.thread_time() - c0)
            with _INFLIGHT_LOCK:
                _INFLIGHT.pop(ident, None)
                _HELPER_TID.pop(ident, None)

    threading.Thread(target=work, name="evfleet-page-run", daemon=True).start()
    return fut


def background_progress() -> tuple[int, int] | None:
    """(tasks done, tasks queued in all) of the background pre-computation's current job, or ``None``."""
    job = background.status()
    if job is None or job.total == 0:
        return None
    return len(job.done) + len(job.failed), job.total


def _wait(fut: Future, key: str, ident: tuple[str, str, str, bool], lang: str, label: str) -> Any:
    """The result of ``fut``, showing a spinner with the elapsed time and the background's progress meanwhile.
    Each progress update lets Streamlit stop this run when the user clicks elsewhere (the run goes on in its
    thread and fills the cache): a slow solve never blocks the other pages."""
    t0 = time.monotonic()
    line = st.empty()
    _helper_priority(ident, 0)  # a page waits for it (again): full speed where the OS allows it
    try:
        with st.spinner(label, show_time=True):
            while True:
                try:
                    out = fut.result(timeout=WAIT_POLL_S)
                    break
                except TimeoutError:
                    pass
                background.boost(key, run_task_name(*ident[1:]))  # the background computes exactly this: full speed
                prog = background_progress()
                text = t("computing_wait", lang, s=fmt_int(round(time.monotonic() - t0), lang))
                if prog is not None:
                    done, total = fmt_int(prog[0], lang), fmt_int(prog[1], lang)
                    text += " " + t("computing_background", lang, done=done, total=total)
                line.caption(text)
    except BaseException:  # the page was left (Streamlit stopped the script): the run goes on at low priority
        if not fut.done():
            _helper_priority(ident, background.BACKGROUND_NICE)
        raise
    line.empty()
    return out


def prefetch(ctrl: Controls, strategies: list[str] | None = None, without_v2g: bool = True) -> None:
    """Start computing, side by side in helper threads, the runs a page is about to ask for one after the other
    (default: the sidebar's strategy, the two baselines and, with V2G on, the strategy without V2G), so that the
    solver of one runs while another waits; :func:`run` then waits for the same computations (never twice)."""
    key, sc = current_scenario(ctrl)
    m = ctrl.mode
    wanted = [(s, ctrl.v2g) for s in dict.fromkeys(strategies or [ctrl.strategy, *BASELINES])]
    if without_v2g and ctrl.v2g:
        wanted.append((ctrl.strategy, False))
    for s, v in wanted:
        if not is_computed(key, s, m, v):
            _in_helper_thread((key, s, m, bool(v)), lambda s=s, v=v: compute_run(key, sc, s, m, v))


def run(ctrl: Controls, strategy: str | None = None, mode: str | None = None) -> tuple[RunResult, dict]:
    """(result, KPIs) of ``strategy`` (default: the sidebar's) on the current scenario."""
    return _run_for(ctrl, strategy or ctrl.strategy, mode or ctrl.mode, ctrl.v2g)


def _run_for(ctrl: Controls, s: str, m: str, v2g: bool) -> tuple[RunResult, dict]:
    key, sc = current_scenario(ctrl)
    try:
        if is_computed(key, s, m, v2g):  # from the cache (or recomputed once if it was evicted)
            return compute_run(key, sc, s, m, v2g)
        ident = (key, s, m, bool(v2g))
        fut = _in_helper_thread(ident, lambda: compute_run(key, sc, s, m, v2g))
        label = t("computing", ctrl.lang, strategy=strategy_label(s, ctrl.lang), mode=mode_label(m, ctrl.lang))
        return _wait(fut, key, ident, ctrl.lang, label)
    except (StrategyError, ValueError) as exc:  # e.g. a solver failure: say so, show no number
        st.error(f"{t('error', ctrl.lang)}{colon(ctrl.lang)} {md_error(exc)}")
        st.stop()
        raise  # unreachable: st.stop() raises


def run_bundle(key: str, sc: Scenario, strategy: str, mode: str, v2g: bool, without_v2g: bool = True) -> None:
    """Compute into the shared caches everything the Overview and Economics pages show for this run: the run,
    the two baselines, the grid-quality report, the operator alerts and (``without_v2g``) the run without V2G (for
    the V2G value). No Streamlit element: any thread. The same cached functions as the pages, under the same keys."""
    res, _ = compute_run(key, sc, strategy, mode, v2g)
    runs = {name: compute_run(key, sc, name, mode, v2g) for name in BASELINES}
    base = runs[best_baseline({name: k for name, (_, k) in runs.items()})][0]
    _pq(key, strategy, mode, v2g, res)
    _alerts(key, strategy, mode, v2g, res, base)
    if v2g and without_v2g:
        compute_run(key, sc, strategy, mode, False)


def _is_optimiser(name: str) -> bool:
    """True for the LP/QP strategies (seconds per solve at 2,000 vehicles); the rule-based ones take milliseconds."""
    try:
        return issubclass(REGISTRY[name], OptimizingStrategy)
    except Exception:  # an entry that cannot be loaded: treat it as slow (it goes last)
        return True


#: Prior guess of one run's wall time [s] for an LP/QP strategy not yet run in this process (orders the queue only;
#: replaced by the measured time after its first run).
UNKNOWN_OPTIMISER_RUN_S = 5.0


def estimated_run_s(name: str, mode: str, n_vehicles: int) -> float:
    """Expected wall time of one run [s] for the background's order: the latest measured run of ``name`` in
    ``mode`` in this process scaled to ``n_vehicles`` (a stopped run counts as at least its elapsed time), else
    the prior :data:`PRIOR_OFFLINE_S_PER_VEHICLE` (offline), else :data:`UNKNOWN_OPTIMISER_RUN_S` for an LP/QP
    strategy and 0 for a rule-based one."""
    per_vehicle = _COST_S_PER_VEHICLE.get((name, mode))
    if per_vehicle is not None:
        return per_vehicle * n_vehicles
    if mode == "offline" and name in PRIOR_OFFLINE_S_PER_VEHICLE:
        return PRIOR_OFFLINE_S_PER_VEHICLE[name] * n_vehicles
    return UNKNOWN_OPTIMISER_RUN_S if _is_optimiser(name) else 0.0


#: Prior guess of one offline run's wall time per vehicle [s] for the LP/QP strategies not yet run in this process
#: (orders the background's queue only; replaced by the measured time after the first run). Measured with
#: ``simulate`` on the default generated fleet at 2,000 vehicles, V2G on, on an idle 2-core machine (2026-12-04):
#: grid support 11.5 s, valley filling 1.9 s, peak shaving 1.4 s, price optimisation 0.37 s, renewable 0.29 s.
PRIOR_OFFLINE_S_PER_VEHICLE = {
    "grid_support": 5.7e-3,
    "valley_filling": 0.95e-3,
    "peak_shaving": 0.72e-3,
    "price_optimization": 0.19e-3,
    "renewable_integration": 0.15e-3,
}
#: A first-time click must be drawn within 3 s (issue 16); a headline run expected to take longer than this [s]
#: cannot be computed on the click within it (the page's own drawing takes the rest), so it is queued first
PRECOMPUTE_FIRST_S = 2.0


def precompute_plan(ctrl: Controls, key: str, n_known: bool = True) -> list[tuple[str, str, bool, str]]:
    """The background's queue for these controls, most likely next click first: (strategy, mode, V2G, what).

    ``what`` is ``"bundle"`` (:func:`run_bundle` without the run without V2G: what one click draws first, in one
    lane), ``"v2g value"`` (the strategy's run without V2G: the Overview's V2G value card, filled in after the
    rest of the page, and the comparison), ``"plan"``, ``"report"`` or ``"fleet N"`` (the scenario of the
    fleet-size slider's neighbouring notch N, its Overview's bundle). Order:

    1. what the other pages of the current run need (its bundle, its plan);
    2. the sidebar's strategy in the other control mode (online: one re-plan per step; one bundle in one lane);
    3. the LP/QP strategies whose headline run is expected to take longer than :data:`PRECOMPUTE_FIRST_S`
       (:func:`estimated_run_s`), the longest first: a click on them cannot be answered within the goal unless
       their run is ready, while a quicker run is computed on the click itself (longest-first also ends the whole
       queue soonest on two lanes);
    4. every rule-based strategy (milliseconds), the V2G switch, the other LP/QP strategies by expected run time
       (the sidebar's order among equals); the fleet-size notches;
    5. the runs without V2G of the strategies queued above (the V2G value, drawn after the rest of a page);
    6. the strategies known to take longer than the background's deferral time
       (:data:`~evfleet.dashboard.solver_process.DEFER_S`), then the report."""
    m, v, n = ctrl.mode, ctrl.v2g, ctrl.n_vehicles
    other = "online" if m == "offline" else "offline"
    names = [name for name in REGISTRY if name != ctrl.strategy]
    fast = [name for name in names if not _is_optimiser(name)]
    optim = sorted((name for name in names if _is_optimiser(name)), key=lambda name: estimated_run_s(name, m, n))
    slow = [name for name in optim if estimated_run_s(name, m, n) > solver_process.DEFER_S]
    first = [name for name in reversed(optim) if name not in slow and estimated_run_s(name, m, n) > PRECOMPUTE_FIRST_S]
    rest = [name for name in optim if name not in slow and name not in first]
    out: list[tuple[str, str, bool, str]] = [(ctrl.strategy, m, v, "bundle"), (ctrl.strategy, m, v, "plan")]
    out.append((ctrl.strategy, other, v, "bundle"))  # one lane (its runs in turn): the other lane goes on
    out += [(name, m, v, "bundle") for name in first]
    out += [(name, m, v, "bundle") for name in fast]
    out.append((ctrl.strategy, m, not v, "bundle"))
    out += [(name, m, v, "bundle") for name in rest]
    if n_known:
        out += [(ctrl.strategy, m, v, f"fleet {x}") for x in (n - N_STEP, n + N_STEP) if N_MIN <= x <= N_MAX]
    if v:
        out.append((ctrl.strategy, other, v, "v2g value"))
        out += [(name, m, v, "v2g value") for name in first + fast + rest]
    out += [(name, m, v, "bundle") for name in slow]
    out.append((ctrl.strategy, m, v, "report"))
    return out


def _bundle_task(key: str, sc: Scenario, s: str, m: str, v: bool) -> None:
    """The background's bundle, what one click draws first (:func:`run_bundle` without the run without V2G, which
    is queued later as its own task)."""
    run_bundle(key, sc, s, m, v, without_v2g=False)


def precompute_after_paint(ctrl: Controls) -> None:
    """Queue the runs the next clicks will need (``evfleet.dashboard.background``): called once the page is drawn."""
    if ctrl.live or not background.precompute_enabled():
        return
    key, sc = current_scenario(ctrl)
    generated = st.session_state.get("uploaded_scenario") is None
    tasks: list[tuple[str, Any]] = []
    for s, m, v, what in precompute_plan(ctrl, key, n_known=generated):
        if what == "bundle":
            tasks.append((run_task_name(s, m, v), lambda s=s, m=m, v=v: _bundle_task(key, sc, s, m, v)))
        elif what == "v2g value":  # the run without V2G (named as that run's own task)
            tasks.append((run_task_name(s, m, False), lambda s=s, m=m: compute_run(key, sc, s, m, False)))
        elif what == "run":
            tasks.append((run_task_name(s, m, v) + " run", lambda s=s, m=m, v=v: compute_run(key, sc, s, m, v)))
        elif what == "plan":
            plan = lambda s=s, m=m, v=v: _plan(key, s, m, v, compute_run(key, sc, s, m, v)[0])  # noqa: E731
            tasks.append((f"plan {run_task_name(s, m, v)}", plan))
        elif what == "report":

            def report_task(s: str = s, m: str = m, v: bool = v) -> None:
                res, k = compute_run(key, sc, s, m, v)
                _report(key, s, m, v, res, k)

            tasks.append((f"report {run_task_name(s, m, v)}", report_task))
        else:  # "fleet N"
            params = scenario_params(int(what.split()[1]))
            name = f"{what} {run_task_name(s, m, v)}"  # the notch of this strategy, mode and V2G
            tasks.append((name, lambda p=params, s=s, m=m, v=v: _warm_scenario(p, s, m, v)))
    background.schedule((key, ctrl.strategy, ctrl.mode, ctrl.v2g), tasks)


def _warm_scenario(params: dict[str, Any], strategy: str, mode: str, v2g: bool) -> None:
    """Generate the scenario of ``params`` and compute what its Overview shows (background pre-computation)."""
    key = _params_key(params)
    run_bundle(key, _generated(key, json.dumps(params, default=str)), strategy, mode, v2g)


@st.cache_resource(max_entries=6, show_spinner=False)
def _report(key: str, strategy: str, mode: str, v2g: bool, _result: RunResult, _kpis: dict) -> str:

    return run_report_html(_result, _kpis)


def report_html(ctrl: Controls) -> str:
    """The self-contained HTML report of the current run (same as ``evfleet report``; the user's store untouched)."""
    key, _ = current_scenario(ctrl)
    res, k = run(ctrl)
    return _report(key, ctrl.strategy, ctrl.mode, ctrl.v2g, res, k)


def baseline(ctrl: Controls) -> tuple[RunResult, dict]:
    """The cheaper of the two baselines (``uncontrolled``, ``timer``) on the current scenario (same options): the
    headline saving is against it (:func:`evfleet.analysis.compare.best_baseline`); ``kpis["strategy"]`` names it."""
    runs = {name: run(ctrl, name) for name in BASELINES}
    return runs[best_baseline({name: k for name, (_, k) in runs.items()})]


def no_v2g_run(ctrl: Controls) -> tuple[RunResult, dict] | None:
    """The sidebar's strategy run without V2G (for ``v2g_value_mad``), or ``None`` when V2G is off."""
    if not ctrl.v2g:
        return None
    return _run_for(ctrl, ctrl.strategy, ctrl.mode, False)


#: seconds between two checks of a run a card waits for without blocking its page (:func:`no_v2g_kpis_now`)
PENDING_POLL_S = 1.0


def no_v2g_kpis_now(ctrl: Controls) -> tuple[str, dict | None]:
    """The KPIs of the sidebar's strategy without V2G for the V2G value card, without waiting for them:
    ``("off", None)`` with V2G off, ``("ready", kpis)`` once computed, else ``("pending", None)`` after starting
    the run in a helper thread (shared with a lane or page computing it: never twice). The page draws everything
    else meanwhile and fills the card in when the run is there (a slow solver's second run no longer holds up the
    first display, e.g. grid support at 2,000 vehicles)."""
    if not ctrl.v2g:
        return "off", None
    key, sc = current_scenario(ctrl)
    s, m = ctrl.strategy, ctrl.mode
    ident = (key, s, m, False)
    if is_computed(*ident):
        return "ready", compute_run(key, sc, s, m, False)[1]
    if ident in _PENDING_FAILED:  # its solve failed: not started again at every check
        return "failed", None

    def work() -> tuple[RunResult, dict]:
        try:
            return compute_run(key, sc, s, m, False)
        except (StrategyError, ValueError):
            _PENDING_FAILED.add(ident)
            raise

    fut = _in_helper_thread(ident, work)
    if fut.done() and fut.exception() is None:
        return "ready", fut.result()[1]
    return ("failed", None) if ident in _PENDING_FAILED else ("pending", None)


#: runs :func:`no_v2g_kpis_now` started whose solve failed (the card then says the value is unknown)
_PENDING_FAILED: set[tuple[str, str, str, bool]] = set()


def run_without_v2g(ctrl: Controls, strategy: str, mode: str) -> tuple[RunResult, dict]:
    """``strategy`` in ``mode`` on the current scenario with V2G off (cached like every run; the comparison's
    ``v2g_value_mad``)."""
    return _run_for(ctrl, strategy, mode, False)


@st.cache_resource(max_entries=12, show_spinner=False)
def _pq(key: str, strategy: str, mode: str, v2g: bool, _result: RunResult) -> Any:
    return gq_assess.assess(_result)


def power_quality(ctrl: Controls) -> Any:
    """The power-quality report of the current run (model estimates)."""
    key, _ = current_scenario(ctrl)
    res, _ = run(ctrl)
    return _pq(key, ctrl.strategy, ctrl.mode, ctrl.v2g, res)


@st.cache_resource(max_entries=12, show_spinner=False)
def _plan(key: str, strategy: str, mode: str, v2g: bool, _result: RunResult) -> RunPlan:
    return build_plan(_result)


def run_plan(ctrl: Controls) -> RunPlan:
    """The charging plan of the current run (:func:`evfleet.results.plan.build_plan`)."""
    key, _ = current_scenario(ctrl)
    res, _ = run(ctrl)
    return _plan(key, ctrl.strategy, ctrl.mode, ctrl.v2g, res)


@st.cache_resource(max_entries=24, show_spinner=False)
def _plan_export(key: str, strategy: str, mode: str, v2g: bool, fmt: str, dialect: str, _plan: RunPlan) -> bytes:
    return plan_export(_plan, fmt, dialect)


#: Plans with more sessions than this are exported when the user clicks (a deferred download), not on each display.
PLAN_EAGER_MAX_SESSIONS = 500


def plan_file(ctrl: Controls, fmt: str, dialect: str = "excel") -> bytes | Callable[[], bytes]:
    """The plan export (``evfleet plan --format fmt --dialect dialect``) of the current run: the bytes, or for a
    plan of more than :data:`PLAN_EAGER_MAX_SESSIONS` sessions a function that builds them (cached) when the
    download is clicked."""
    key, _ = current_scenario(ctrl)
    plan = run_plan(ctrl)
    args = (key, ctrl.strategy, ctrl.mode, ctrl.v2g, fmt, dialect, plan)
    if len(plan.vehicles) > PLAN_EAGER_MAX_SESSIONS:
        return lambda: _plan_export(*args)
    return _plan_export(*args)


@st.cache_resource(max_entries=12, show_spinner=False)
def _run_csv(key: str, strategy: str, mode: str, v2g: bool, which: str, dialect: str, _result: RunResult) -> bytes:
    table = site_table(_result) if which == "site" else vehicle_table(_result)
    return csv_bytes(csv_safe_frame(table), dialect)


def run_csv(ctrl: Controls, which: str, dialect: str = "standard") -> bytes | Callable[[], bytes]:
    """``site.csv`` (``which="site"``) or ``vehicles.csv`` (``"vehicles"``) of the current run in the CSV
    ``dialect``, as ``evfleet run`` writes them: the bytes, or for more than :data:`PLAN_EAGER_MAX_SESSIONS`
    sessions a function that builds them (cached) when the download is clicked."""
    if which not in ("site", "vehicles"):
        raise InputError(f"run_csv: which={which!r}; expected 'site' or 'vehicles'")
    key, sc = current_scenario(ctrl)
    res, _ = run(ctrl)
    args = (key, ctrl.strategy, ctrl.mode, ctrl.v2g, which, dialect, res)
    if sc.n_vehicles > PLAN_EAGER_MAX_SESSIONS:
        return lambda: _run_csv(*args)
    return _run_csv(*args)


def report_file(ctrl: Controls) -> str | Callable[[], str]:
    """The HTML report of the current run (:func:`report_html`), built when the download is clicked for more than
    :data:`PLAN_EAGER_MAX_SESSIONS` sessions unless it is already cached."""
    key, sc = current_scenario(ctrl)
    if sc.n_vehicles > PLAN_EAGER_MAX_SESSIONS:
        res, k = run(ctrl)
        return lambda: _report(key, ctrl.strategy, ctrl.mode, ctrl.v2g, res, k)
    return report_html(ctrl)


@st.cache_resource(max_entries=12, show_spinner=False)
def _alerts(key: str, strategy: str, mode: str, v2g: bool, _result: RunResult, _base: RunResult) -> list:
    return run_alerts(_result, _base)


def operator_alerts(ctrl: Controls) -> list:
    """The operator alerts of the current run (:func:`evfleet.results.alert_files.run_alerts`, the same as in
    ``events.csv``), with the cached uncontrolled baseline."""
    key, _ = current_scenario(ctrl)
    res, _ = run(ctrl)
    base, _ = baseline(ctrl)
    return _alerts(key, ctrl.strategy, ctrl.mode, ctrl.v2g, res, base)


@st.cache_resource(show_spinner=False)
def catalog() -> pd.DataFrame:

    return load_catalog()


def warm_default_caches(n_vehicles: int = 500) -> None:
    """Fill the shared caches with the default page's scenario, runs and grid-quality report (server start-up).

    Uses the same keys as :func:`current_scenario` and :func:`run` with the default sidebar choices, so the
    first visitor finds them computed.
    """
    params = {**default_params(), "vehicles": int(n_vehicles)}
    key = _params_key(params)
    sc = _generated(key, json.dumps(params, default=str))
    run_bundle(key, sc, default_strategy(list(REGISTRY)), "offline", True)


@st.cache_resource(show_spinner=False)
def catalog_details() -> pd.DataFrame:
    """The catalogue with its per-number sources (``evfleet.inputs.catalog_sources``)."""
    return load_catalog_details()


# --- live ------------------------------------------------------------------------------------------------------


def _release(runner: LiveSimulation) -> None:
    runner.stop(timeout=1.0)
    rec = runner.recorder
    if rec is not None and not runner.running:  # the thread is gone: store the last partial chunk, close
        rec.flush()
        rec.close()


def live_store_enabled() -> bool:
    """False when ``EVFLEET_LIVE_STORE=0`` (``evfleet dashboard --no-store``): live sessions then store nothing."""
    return os.environ.get("EVFLEET_LIVE_STORE", "1") != "0"


@st.cache_resource(max_entries=4, show_spinner=False, on_release=_release)
def _live(
    key: str, strategy: str, v2g: bool, auto: bool, record: bool, _start_step: int, _factory: Any
) -> LiveSimulation:
    # the start step is not part of the key: the runner keeps running while the wall clock moves on
    recorder = LiveRecorder(name=f"live {strategy}", max_chunks=LIVE_MAX_CHUNKS) if record else None
    return LiveSimulation(
        _factory,
        strategy,
        v2g=v2g,
        auto=auto,
        start_step=_start_step,
        idle_pause_s=LIVE_IDLE_PAUSE_S,
        recorder=recorder,
    ).start()


def live_start_step(sc: Scenario, now: pd.Timestamp | None = None) -> int:
    """The step of day 0 whose time of day is the current one (the live clock starts "now")."""
    now = now or pd.Timestamp.now(tz=sc.timezone)
    minutes = np.asarray(sc.times.hour * 60 + sc.times.minute)
    diff = (now.hour * 60 + now.minute - minutes) % 1440  # the latest step of the day not after now
    return int(np.argmin(diff))


def live_autostep() -> bool:
    """False when ``EVFLEET_LIVE_AUTOSTEP=0`` (tests): runners then never step by themselves."""
    return os.environ.get("EVFLEET_LIVE_AUTOSTEP", "1") != "0"


def live_runner(ctrl: Controls) -> LiveSimulation:
    """The one shared live runner of the current scenario, strategy and V2G choice."""
    key, sc = current_scenario(ctrl)
    up = st.session_state.get("uploaded_scenario")
    if up is not None:

        def factory(day: int, _sc: Scenario = up) -> Scenario:
            return _sc  # an uploaded scenario repeats day after day

    else:
        params = scenario_params(ctrl.n_vehicles)
        start = date.fromisoformat(str(params["start"])[:10])
        days = int(params.get("days", 1))

        def factory(day: int, _p: dict = params) -> Scenario:
            if day == 0:
                return sc
            p = {**_p, "start": (start + timedelta(days=day * days)).isoformat(), "seed": int(_p["seed"]) + day}
            return generate_scenario(ScenarioParams(**p))

    record = live_store_enabled()
    return _live(key, ctrl.strategy, ctrl.v2g, live_autostep(), record, live_start_step(sc), factory)


#: refresh period of the live panels at ×600 [s]: a step every 1.5 s is shown at most 1.5 s + this + the render
#: after the previous one (0.5 s left no margin on the 2 s goal: 2.02 s measured at 2,000 vehicles). The Overview's
#: panel rebuilds its figures only when the runner has stepped (:func:`live_memo`), so a refresh without a new step
#: costs little.
LIVE_REFRESH_X600_S = 0.25
#: the same for the Fleet page's live table (every vehicle's row: heavier, refreshed half as often) [s]
LIVE_TABLE_REFRESH_X600_S = 0.5


def live_refresh_s(ctrl: Controls, table: bool = False) -> float:
    """Fragment refresh period [s]: at ×600 :data:`LIVE_REFRESH_X600_S` (:data:`LIVE_TABLE_REFRESH_X600_S` for the
    Fleet page's table, ``table=True``), 1.5 s at the slower speeds."""
    if ctrl.speed != "x600":
        return 1.5
    return LIVE_TABLE_REFRESH_X600_S if table else LIVE_REFRESH_X600_S


def live_memo(name: str, stamp: tuple, build: Callable[[], Any]) -> Any:
    """``build()``, or the value it gave for the same ``stamp`` (e.g. the runner, its day and step count, the
    language) in this session's previous refresh of panel ``name``: a live panel's refresh without a new step
    re-sends the same figures instead of rebuilding them."""
    memo = st.session_state.setdefault("_live_memo", {})
    hit = memo.get(name)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    value = build()
    memo[name] = (stamp, value)
    return value


# --- sweeps ----------------------------------------------------------------------------------------------------


@st.cache_data(ttl=15, show_spinner=False)
def _stored_sweeps(db: str | None) -> list[dict[str, Any]]:

    return stored_sweeps(db)


@st.cache_data(max_entries=8, show_spinner=False)
def _sweep_table(db: str | None, sweep_id: str) -> pd.DataFrame:

    return load_stored_sweep(sweep_id, db)


def sweeps_panel(lang: str) -> None:
    """The stored sweeps (newest first) and the box plot of savings per strategy of the chosen one."""

    db = os.environ.get("EVFLEET_DB")  # part of the cache key: another store, other sweeps
    try:
        sweeps = _stored_sweeps(db)
    except Exception as exc:  # a store that cannot be opened must not break the page
        st.error(f"{t('error', lang)}{colon(lang)} {md_error(exc)}")
        return
    if not sweeps:
        st.info(t("no_sweeps", lang), icon=":material/info:")
        return
    labels = {s["id"]: t("sweep_label", lang, name=s["name"], id=s["id"], n=fmt_int(s["n_points"], lang),
                         at=_created(s["created_at"], lang)) for s in sweeps}  # fmt: skip
    chosen = st.selectbox(t("sweep_choose", lang), list(labels), format_func=labels.get, key="sweep_id")
    table = _sweep_table(db, chosen)
    metrics = [c for c in SWEEP_METRICS if c in table]  # the cheaper baseline first (sweeps stored since #13)
    column = st.radio(t("sweep_metric", lang), metrics, format_func=lambda c: t(f"sweep_{c}", lang), horizontal=True,
                      key="sweep_metric")  # fmt: skip
    plot(savings_boxplot(table, column, lang=lang), key="sweep_box")
    st.caption(t("sweep_caption", lang, n=len(table), id=md(chosen)))


# --- drawing helpers -------------------------------------------------------------------------------------------


def _created(stamp: str, lang: str) -> str:
    """A stored ISO time stamp as a locale date and time (the text itself when it does not parse)."""
    try:
        return fmt_datetime(pd.Timestamp(stamp), lang)
    except ValueError:
        return str(stamp)[:16]


def plot(fig: Any, key: str | None = None) -> None:
    """Draw a Plotly figure without the mode bar, in the sidebar's language's number and date formats."""
    apply_plotly_locale(fig, st.session_state.get("lang") or "en")
    st.plotly_chart(fig, config=PLOT_CONFIG, width="stretch", key=key)


def kpi_row(cards: list[KpiCard], per_row: int = 6) -> None:
    """KPI cards as bordered metrics; the status colours the line under the value."""
    for start in range(0, len(cards), per_row):
        cols = st.columns(per_row)
        for col, card in zip(cols, cards[start : start + per_row], strict=False):
            col.metric(
                card.label,
                card.value,
                delta=card.detail or None,
                delta_color=card.color if card.status else "off",
                delta_arrow="off",
                help=card.help or None,
                border=True,
            )


#: Streamlit writes the file uploader's button and size line in English whatever the page's language; on a
#: French page they are replaced by French text (CSS: the English text hidden, the French one generated).
FRENCH_CHROME_CSS = """<style>
[data-testid=stFileUploaderDropzone] button [data-testid=stMarkdownContainer] p { display: none; }
[data-testid=stFileUploaderDropzone] button [data-testid=stMarkdownContainer]::after { content: "Parcourir"; }
[data-testid=stFileUploaderDropzoneInstructions] > div > span { display: none; }
[data-testid=stFileUploaderDropzoneInstructions] > div::after {
  content: "16 Mo au plus par fichier"; font-size: 0.875rem; opacity: 0.7; }
</style>"""


def french_chrome(lang: str) -> None:
    """On a French page, Streamlit's own English texts (file uploader) in French."""
    if lang == "fr":
        st.html(FRENCH_CHROME_CSS)


def assumptions_expander(assumptions: Any, lang: str) -> None:
    """The grid-quality model's assumptions in an expander. The text is written in English by
    :mod:`evfleet.gridquality`; a French page says so and marks the block ``lang="en"``."""
    with st.expander(t("assumptions", lang)):
        md = assumptions_markdown(assumptions)
        if lang == "fr":
            st.caption(t("assumptions_lang_note", lang))
            st.markdown(f'<div lang="en">\n\n{md}\n\n</div>', unsafe_allow_html=True)
        else:
            st.markdown(md)


def scenario_caption(sc: Scenario, lang: str) -> None:
    """One line naming the scenario in use."""
    st.caption(
        t(
            "scenario_caption",
            lang,
            name=md(sc.name),
            n=fmt_int(sc.n_vehicles, lang),
            steps=fmt_int(sc.n_steps, lang),
            minutes=sc.step_minutes,
            start=fmt_datetime(sc.times[0], lang),
        )
    )
    up = st.session_state.get("uploaded_scenario")
    if up is not None:
        st.caption(t("uploaded_in_use", lang, name=md(up.name)))
