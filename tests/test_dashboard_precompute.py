"""The dashboard's pre-computation and waiting logic (evfleet.dashboard.state / background / timing): the queue's
order, that a pre-computed result is the direct computation's, that every input is part of the cache key, that a
run asked for twice while it runs is computed once, and the script-time log. No timing assertion."""

from __future__ import annotations

import json
import os
import threading
import time

import numpy as np
import pytest

from dashboard_helpers import fresh_dashboard  # noqa: F401  (autouse fixture)
from evfleet._common.text import csv_safe_frame
from evfleet.analysis.compare import BASELINES, best_baseline
from evfleet.analysis.kpis import compute_kpis
from evfleet.dashboard import background, solver_process, state, timing
from evfleet.dashboard.l10n import csv_bytes
from evfleet.gridquality import assess as gq_assess
from evfleet.inputs.generate import ScenarioParams, generate_scenario
from evfleet.results.alert_files import run_alerts
from evfleet.results.run_files import site_table, vehicle_table
from evfleet.simulation.simulate import SimulationOptions, simulate
from evfleet.strategies import REGISTRY

N = 60


def _ctrl(**kw) -> state.Controls:
    base = {"lang": "en", "n_vehicles": 500, "strategy": "price_optimization", "v2g": True, "mode": "offline",
            "live": False, "speed": "x600"}  # fmt: skip
    return state.Controls(**{**base, **kw})


def _scenario(n: int = N, **kw):
    params = {**state.default_params(), "vehicles": n, **kw}
    key = state._params_key(params)
    return key, state._generated(key, json.dumps(params, default=str)), params


def test_queue_puts_the_likely_clicks_first_and_covers_every_strategy(monkeypatch):
    monkeypatch.setattr(state, "_COST_S_PER_VEHICLE", {})  # nothing measured yet: the priors order the queue
    ctrl = _ctrl()
    plan = state.precompute_plan(ctrl, "k")
    assert plan[0] == ("price_optimization", "offline", True, "bundle")  # the current run's own pages first
    assert plan[1][3] == "plan" and plan[-1][3] == "report"
    bundles = [(s, m, v) for s, m, v, what in plan if what == "bundle"]
    offline_v2g = [s for s, m, v in bundles if m == "offline" and v]
    assert set(offline_v2g) == set(REGISTRY)  # every strategy of the sidebar, once
    assert len(offline_v2g) == len(set(offline_v2g))
    pos = {s: offline_v2g.index(s) for s in offline_v2g}
    rule_based = [s for s in REGISTRY if not state._is_optimiser(s) and s != ctrl.strategy]
    optimisers = [s for s in REGISTRY if state._is_optimiser(s) and s != ctrl.strategy]
    assert rule_based and optimisers
    # a headline run that cannot be computed on the click within the goal goes first; then milliseconds before
    # seconds, the LP/QPs by expected run time
    first = [s for s in optimisers if state.estimated_run_s(s, "offline", 500) > state.PRECOMPUTE_FIRST_S]
    assert first == ["grid_support"]  # the prior: 2.85 s at 500 vehicles
    assert max(pos[s] for s in first) < min(pos[s] for s in rule_based)
    rest = [s for s in optimisers if s not in first]
    assert max(pos[s] for s in rule_based) < min(pos[s] for s in rest)
    assert [s for s in offline_v2g if s in rest] == sorted(rest, key=lambda s: state.estimated_run_s(s, "offline", 500))
    assert ("price_optimization", "offline", False) in bundles  # the V2G switch
    assert ("price_optimization", "online", True) in bundles  # the other control mode
    fleets = [what for *_, what in plan if what.startswith("fleet")]
    assert fleets == ["fleet 450", "fleet 550"]
    # the runs without V2G (the V2G value card, drawn after the rest of a page) after every click's bundle
    values = [(i, s, m) for i, (s, m, v, what) in enumerate(plan) if what == "v2g value"]
    last_bundle = max(
        i for i, (s, m, v, what) in enumerate(plan) if what in ("bundle", "plan") or what.startswith("fleet")
    )
    assert {(s, m) for _, s, m in values} == {("price_optimization", "online")} | {
        (s, "offline") for s in offline_v2g if s != "price_optimization"
    }
    assert min(i for i, *_ in values) > last_bundle
    assert not [p for p in state.precompute_plan(_ctrl(v2g=False), "k") if p[3] == "v2g value"]  # V2G off: none


def test_queue_puts_online_right_after_the_current_run_and_the_slow_strategies_last(monkeypatch):
    monkeypatch.setattr(state, "_COST_S_PER_VEHICLE", {})
    ctrl = _ctrl(n_vehicles=2000)
    plan = state.precompute_plan(ctrl, "k")
    # the other control mode right after the current run's plan, as one bundle (one lane: the other lane goes on
    # with the next strategies meanwhile); no run of it queued alone
    assert plan[2] == ("price_optimization", "online", True, "bundle")
    assert plan[3][1] == "offline" and not [p for p in plan if p[3] == "run"]
    # at 2,000 vehicles the prior puts grid support (11.4 s) above PRECOMPUTE_FIRST_S: queued next
    assert plan[3] == ("grid_support", "offline", True, "bundle")
    # measured costs reorder the LP/QP strategies: a slow one (known to take longer than the deferral time) goes
    # after the fleet-size notches; those above PRECOMPUTE_FIRST_S first, the longest first; the others by time
    monkeypatch.setitem(state._COST_S_PER_VEHICLE, ("grid_support", "offline"), 0.05)  # 100 s at 2,000 vehicles
    monkeypatch.setitem(state._COST_S_PER_VEHICLE, ("renewable_integration", "offline"), 0.0002)  # 0.4 s
    monkeypatch.setitem(state._COST_S_PER_VEHICLE, ("valley_filling", "offline"), 0.003)  # 6 s
    monkeypatch.setitem(state._COST_S_PER_VEHICLE, ("peak_shaving", "offline"), 0.0015)  # 3 s
    monkeypatch.setitem(state._COST_S_PER_VEHICLE, ("load_balancing", "offline"), 0.0)
    plan = state.precompute_plan(ctrl, "k")
    order = [s for s, m, v, what in plan if what == "bundle" and m == "offline" and v]
    assert order[:3] == ["price_optimization", "valley_filling", "peak_shaving"]  # the current run, then longest
    assert order.index("load_balancing") < order.index("renewable_integration")  # rule-based before the rest
    whats = [(s, what) for s, m, v, what in plan]
    last_notch = max(i for i, (_, what) in enumerate(whats) if what.startswith("fleet"))
    assert whats.index(("grid_support", "bundle")) > last_notch
    assert whats[-1] == ("price_optimization", "report")
    assert state.estimated_run_s("grid_support", "offline", 1000) == pytest.approx(50.0)
    # rule-based and not measured yet in this test (earlier tests of the session may have measured it)
    monkeypatch.delitem(state._COST_S_PER_VEHICLE, ("uncontrolled", "online"), raising=False)
    assert state.estimated_run_s("uncontrolled", "online", 1000) == 0.0
    monkeypatch.delitem(state._COST_S_PER_VEHICLE, ("grid_support", "offline"))
    assert state.estimated_run_s("grid_support", "offline", 1000) == pytest.approx(5.7)  # the prior


def test_the_cost_of_a_run_is_measured_for_the_queue_order():
    key, sc, _ = _scenario()
    state._COST_S_PER_VEHICLE.pop(("timer", "offline"), None)
    assert state.estimated_run_s("timer", "offline", N) == 0.0
    state.compute_run(key, sc, "timer", "offline", True)
    assert ("timer", "offline") in state._COST_S_PER_VEHICLE  # measured on its first run


def test_queue_stays_inside_the_fleet_size_range_and_skips_notches_for_an_upload():
    assert [w for *_, w in state.precompute_plan(_ctrl(n_vehicles=state.N_MIN), "k") if w.startswith("fleet")] == [
        f"fleet {state.N_MIN + state.N_STEP}"
    ]
    assert not [w for *_, w in state.precompute_plan(_ctrl(), "k", n_known=False) if w.startswith("fleet")]


@pytest.mark.parametrize("strategy", ["uncontrolled", "price_optimization"])
def test_a_precomputed_bundle_equals_the_direct_computation(strategy):
    key, sc, params = _scenario()
    state.run_bundle(key, sc, strategy, "offline", True)
    for name in (strategy, *BASELINES):
        assert state.is_computed(key, name, "offline", True)
    assert state.is_computed(key, strategy, "offline", False)  # the run without V2G (the V2G value)
    direct_sc = generate_scenario(ScenarioParams(**params))  # independently of the dashboard's caches
    direct = simulate(direct_sc, strategy, SimulationOptions(mode="offline", v2g=True))
    cached, k = state.compute_run(key, sc, strategy, "offline", True)
    np.testing.assert_allclose(cached.power_kw, direct.power_kw, atol=1e-9)
    timings = {"runtime_s", "strategy_solve_s", "strategy_build_s"}  # wall-clock of each run: differ by nature
    direct_k = compute_kpis(direct)
    assert {a: b for a, b in k.items() if a not in timings} == {a: b for a, b in direct_k.items() if a not in timings}
    no_v2g, _ = state.compute_run(key, sc, strategy, "offline", False)
    direct_no = simulate(direct_sc, strategy, SimulationOptions(mode="offline", v2g=False))
    np.testing.assert_allclose(no_v2g.power_kw, direct_no.power_kw, atol=1e-9)
    pq = state._pq(key, strategy, "offline", True, cached)
    assert pq.compliance.equals(gq_assess.assess(direct).compliance)
    bases = {n: simulate(direct_sc, n, SimulationOptions(mode="offline", v2g=True)) for n in BASELINES}
    base = bases[best_baseline({n: compute_kpis(r) for n, r in bases.items()})]
    alerts = state._alerts(key, strategy, "offline", True, cached, None)
    assert alerts == run_alerts(direct, base)


def test_every_input_is_part_of_the_cache_key():
    key, sc, _ = _scenario()
    other_seed, sc_seed, _ = _scenario(seed=7)
    other_n, sc_n, _ = _scenario(n=N + 50)
    assert len({key, other_seed, other_n}) == 3  # a changed generator input is a new scenario key
    a, _ = state.compute_run(key, sc, "uncontrolled", "offline", True)
    b, _ = state.compute_run(other_seed, sc_seed, "uncontrolled", "offline", True)
    assert a is not b and not np.array_equal(a.power_kw, b.power_kw)  # not the cached result of the old input
    c, _ = state.compute_run(other_n, sc_n, "uncontrolled", "offline", True)
    assert c.power_kw.shape[0] == N + 50
    # strategy, mode and V2G are keys too: each is its own entry, equal to its direct computation
    d, _ = state.compute_run(key, sc, "timer", "offline", True)
    assert d is not a and np.allclose(d.power_kw, simulate(sc, "timer").power_kw)
    assert state.compute_run(key, sc, "uncontrolled", "offline", False)[0] is not a
    assert state.compute_run(key, sc, "uncontrolled", "offline", True)[0] is a  # the same input: the cache


def test_a_run_asked_for_twice_while_it_runs_is_computed_once():
    gate, calls = threading.Event(), []

    def fn():
        calls.append(1)
        gate.wait(10)
        return "result"

    ident = ("k-dedupe", "s", "offline", True)
    f1 = state._in_helper_thread(ident, fn)
    f2 = state._in_helper_thread(ident, fn)
    assert f1 is f2
    gate.set()
    assert f1.result(10) == "result" and calls == [1]


def test_a_failure_in_the_helper_thread_reaches_the_page_and_is_not_kept():
    def boom():
        raise ValueError("solver failed")

    ident = ("k-fail", "s", "offline", True)
    fut = state._in_helper_thread(ident, boom)
    with pytest.raises(ValueError, match="solver failed"):
        fut.result(10)
    again = state._in_helper_thread(ident, lambda: "ok")  # asked again: computed again, not the old failure
    assert again.result(10) == "ok"


def test_boost_only_for_the_task_being_computed(monkeypatch):
    monkeypatch.setenv(background.ENV_PRECOMPUTE, "1")
    gate, started = threading.Event(), threading.Event()

    def task():
        started.set()
        gate.wait(10)

    job = background.schedule(("k-boost", "s", "offline", True), [("a·offline·v2g", task)])
    assert job is not None and job.total == 1
    assert started.wait(10)
    assert background.boost("other-key", "a·offline·v2g") is False
    assert background.boost("k-boost", "b·offline·v2g") is False
    background.boost("k-boost", "a·offline·v2g")  # True where the OS lets a thread's priority rise
    gate.set()
    assert background.wait(10)
    assert job.done == ["a·offline·v2g"]


def test_large_fleet_downloads_are_built_on_click_and_equal_the_run_files(monkeypatch):
    key, sc, _ = _scenario()
    monkeypatch.setattr(state, "PLAN_EAGER_MAX_SESSIONS", N - 1)  # this small fleet counts as a large one
    monkeypatch.setattr(state, "current_scenario", lambda ctrl: (key, sc))
    monkeypatch.setattr(state, "run", lambda ctrl, *a: state.compute_run(key, sc, ctrl.strategy, ctrl.mode, ctrl.v2g))
    ctrl = _ctrl(strategy="uncontrolled", n_vehicles=N)
    site, veh = state.run_csv(ctrl, "site"), state.run_csv(ctrl, "vehicles", "excel_fr")
    assert callable(site) and callable(veh)
    res = simulate(sc, "uncontrolled")
    assert site() == csv_bytes(csv_safe_frame(site_table(res)), "standard")
    assert veh() == csv_bytes(csv_safe_frame(vehicle_table(res)), "excel_fr")
    with pytest.raises(ValueError, match="which"):
        state.run_csv(ctrl, "bill")


def test_script_time_log(tmp_path, monkeypatch):
    path = tmp_path / "runs.jsonl"
    monkeypatch.delenv(timing.ENV_TIMING, raising=False)
    with timing.timed_script("overview"):
        pass
    assert not path.exists()  # off by default
    monkeypatch.setenv(timing.ENV_TIMING, str(path))
    with timing.timed_script("fleet"):
        sum(range(1000))
    with pytest.raises(RuntimeError), timing.timed_script("economics"):
        raise RuntimeError("stopped")
    rows = timing.read_timings(str(path))
    assert [(r["page"], r["completed"]) for r in rows] == [("fleet", True), ("economics", False)]
    assert all(r["wall_s"] >= 0 and r["cpu_s"] >= 0 for r in rows)
    assert timing.read_timings(str(path), since=rows[1]["start"]) == rows[1:]
    assert timing.read_timings(str(tmp_path / "none.jsonl")) == []
    timing.log_background("timer·offline·v2g", 1, rows[1]["start"] + 1.0, 0.25, "done")
    assert timing.read_timings(str(path)) == rows  # the script runs only
    assert [(r["background"], r["lane"], r["outcome"]) for r in timing.read_background(str(path))] == [
        ("timer·offline·v2g", 1, "done")
    ]


def test_prefetch_computes_the_page_runs_side_by_side_once(monkeypatch):
    key, sc, _ = _scenario()
    monkeypatch.setattr(state, "current_scenario", lambda ctrl: (key, sc))
    ctrl = _ctrl(strategy="timer", n_vehicles=N)
    state.prefetch(ctrl)
    wanted = [("timer", True), ("uncontrolled", True), ("timer", False)]
    futures = [state._INFLIGHT.get((key, s, "offline", v)) for s, v in wanted]
    for fut in futures:
        if fut is not None:  # still running: wait for it (a finished one has left the in-flight table)
            fut.result(60)
    for s, v in wanted:
        assert state.is_computed(key, s, "offline", v), (s, v)
        res, _ = state.compute_run(key, sc, s, "offline", v)
        np.testing.assert_allclose(res.power_kw, simulate(sc, s, SimulationOptions(v2g=v)).power_kw, atol=1e-9)


def test_a_background_run_over_its_budget_is_stopped_and_the_next_one_works(monkeypatch):
    from evfleet.dashboard import solver_process

    _, sc, _ = _scenario()
    monkeypatch.setenv(solver_process.ENV_PROCESS, "1")
    monkeypatch.setenv(solver_process.ENV_BUDGET, "0.001")  # far less than the worker's start-up: over budget
    monkeypatch.setattr(solver_process, "_POLL_S", 0.001)
    with pytest.raises(solver_process.BudgetExceeded, match="budget"):
        solver_process.simulate_elsewhere(sc, "uncontrolled", "offline", True)
    monkeypatch.setenv(solver_process.ENV_BUDGET, "600")
    monkeypatch.setattr(solver_process, "_POLL_S", 1.0)
    res = solver_process.simulate_elsewhere(sc, "uncontrolled", "offline", True)  # a new worker process
    np.testing.assert_allclose(res.power_kw, simulate(sc, "uncontrolled").power_kw, atol=1e-9)
    assert solver_process.simulate_elsewhere(sc, "no_such_strategy", "offline", True) is None  # here: its error
    for bad in ("0", "-3", "abc", "inf"):
        monkeypatch.setenv(solver_process.ENV_BUDGET, bad)
        with pytest.raises(ValueError, match=solver_process.ENV_BUDGET):
            solver_process.budget_s()


class _Left(Exception):
    """Stands for Streamlit stopping the page's script (the user clicked elsewhere)."""


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="per-thread priority")
def test_a_run_left_behind_by_its_page_goes_on_at_the_background_priority(monkeypatch):
    gate, started = threading.Event(), threading.Event()

    def fn():
        started.set()
        gate.wait(20)
        return "result"

    ident = ("k-left", "s", "offline", True)
    fut = state._in_helper_thread(ident, fn)
    assert started.wait(10)
    tid = state._HELPER_TID[ident]
    monkeypatch.setattr(state, "WAIT_POLL_S", 0.01)

    def leave(*args):
        raise _Left

    monkeypatch.setattr(background, "boost", leave)  # the first progress update: the page is gone
    with pytest.raises(_Left):
        state._wait(fut, "k-left", ident, "en", "computing")
    assert os.getpriority(os.PRIO_PROCESS, tid) == background.BACKGROUND_NICE  # left behind: low priority
    assert not fut.done()
    gate.set()
    assert fut.result(10) == "result"  # it went on and finished
    assert ident not in state._HELPER_TID


def test_a_lane_does_not_wait_for_a_run_computed_elsewhere(monkeypatch):
    """In a lane with other tasks waiting, a run another thread is computing raises Busy (the task is queued last,
    once) instead of waiting on the cache's lock; without other tasks, or outside the lanes, it waits (computed
    once)."""
    monkeypatch.setenv(background.ENV_PRECOMPUTE, "1")
    monkeypatch.setenv(background.ENV_LANES, "1")
    monkeypatch.setenv(solver_process.ENV_PROCESS, "0")  # in-process lanes: the test's monkeypatch applies
    key, sc, _ = _scenario()
    inside, gate = threading.Event(), threading.Event()
    calls: list[str] = []
    real = state._run_now

    def run_now(k, strategy, mode, v2g, scenario):
        calls.append(state.run_task_name(strategy, mode, v2g))
        if strategy == "timer":
            inside.set()
            gate.wait(20)
        return real(k, strategy, mode, v2g, scenario)

    monkeypatch.setattr(state, "_run_now", run_now)
    page = threading.Thread(target=lambda: state.compute_run(key, sc, "timer", "offline", True))
    page.start()  # a page computes the timer run (outside the lanes)
    assert inside.wait(20)
    assert state.running_elsewhere(key, "timer", "offline", True)
    order: list[str] = []

    def needs_timer() -> None:
        order.append("needs timer")
        state.compute_run(key, sc, "timer", "offline", True)

    def other() -> None:
        order.append("other")
        gate.set()  # the page's run ends meanwhile
        page.join(20)

    job = background.schedule((key, "x", "offline", True), [("needs timer", needs_timer), ("other", other)])
    assert job is not None and background.wait(60)
    assert order == ["needs timer", "other", "needs timer"]  # put back behind "other", then found in the cache
    assert job.deferred == ["needs timer"] and job.done == ["other", "needs timer"] and job.failed == []
    assert calls.count("timer·offline·v2g") == 1  # computed once, by the page
    assert not state.running_elsewhere(key, "timer", "offline", True)


def test_a_bundle_computes_what_a_click_draws_first_and_the_run_without_v2g_is_its_own_task(monkeypatch):
    key, sc, _ = _scenario()
    calls: list[str] = []
    real = state._run_now

    def run_now(k, strategy, mode, v2g, scenario):
        calls.append(state.run_task_name(strategy, mode, v2g))
        return real(k, strategy, mode, v2g, scenario)

    monkeypatch.setattr(state, "_run_now", run_now)
    state._bundle_task(key, sc, "load_balancing", "offline", True)
    assert calls[0] == "load_balancing·offline·v2g"  # the headline first
    assert "load_balancing·offline·no-v2g" not in calls  # not in the bundle: queued later ("v2g value")
    assert not state.is_computed(key, "load_balancing", "offline", False)
    calls.clear()
    state.run_bundle(key, sc, "load_balancing", "offline", True)  # the whole bundle (fleet notches) still has it
    assert calls == ["load_balancing·offline·no-v2g"]


def test_the_runs_a_page_computes_in_helper_threads_are_logged(tmp_path, monkeypatch):
    path = tmp_path / "runs.jsonl"
    monkeypatch.setenv(timing.ENV_TIMING, str(path))
    key, sc, _ = _scenario()
    ident = (key, "timer", "offline", False)
    state._in_helper_thread(ident, lambda: state.compute_run(*ident[:1], sc, *ident[1:])).result(60)
    deadline = time.monotonic() + 10
    while not timing.read_page_runs(str(path)) and time.monotonic() < deadline:  # written as the thread ends
        time.sleep(0.01)
    rows = timing.read_page_runs(str(path))
    assert [r["page_run"] for r in rows] == ["timer·offline·no-v2g"]
    assert rows[0]["wall_s"] >= 0 and rows[0]["cpu_s"] >= 0
    assert timing.read_timings(str(path)) == [] and timing.read_background(str(path)) == []
