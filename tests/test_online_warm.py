"""Warm-started online re-plans: each is the exact optimum of its model (as a cold solve), and no run keeps state.

The online LP re-plans start from the previous re-plan's solution (``strategies/optim/warm.py``); these tests solve
every warm-started model again cold and compare, check the start point's consistency and the duality-gap
certificate, and check that ``start_run`` forgets the previous run's solution.
"""

from __future__ import annotations

import numpy as np
import pytest

from evfleet.inputs.generate import generate_scenario
from evfleet.simulation.simulate import SimulationOptions, simulate
from evfleet.strategies import get_strategy
from evfleet.strategies.optim import highs
from evfleet.strategies.optim.highs import solve
from evfleet.strategies.optim.warm import GAP_RTOL, WarmStart, duality_gap, start_values

ONLINE = SimulationOptions(mode="online")


@pytest.fixture(scope="module")
def scenario():
    return generate_scenario(vehicles=60, seed=3, start="2026-01-15", fleet_mix="ev2gym_nl", v2g_ready_2024=True)


def recording(name: str):
    """A strategy that records every online model with the solution it used."""
    strat = get_strategy(name)
    strat.records = []
    solve_model = strat.solve_model

    def keep(model, online=False):
        sol = solve_model(model, online)
        if online:
            strat.records.append((model, sol))
        return sol

    strat.solve_model = keep
    return strat


@pytest.mark.parametrize("name", ["price_optimization", "peak_shaving"])
def test_warm_replans_equal_cold_solves(scenario, name: str) -> None:
    strat = recording(name)
    result = simulate(scenario, strat, ONLINE)
    warm = [(m, s) for m, s in strat.records if s.start == "warm"]
    assert len(warm) >= len(strat.records) // 2, strat.start_counts  # the warm start is used
    for model, sol in warm:
        cold = solve(model, options={"presolve": "off"})
        assert cold.start == "cold"
        assert sol.objective == pytest.approx(cold.objective, rel=1e-9, abs=1e-9)
        _, p_inf, _ = duality_gap(model, sol.x, np.zeros(model.n_row), model.cost)
        assert p_inf <= 1e-6  # the warm solution is feasible in its model
        assert np.all(sol.charge_kw >= 0) and np.all(sol.charge_kw <= model.problem.max_charge_kw[:, None] + 1e-9)
    assert result.requested_clip_count == 0  # the applied setpoints are feasible: the engine clipped nothing


def test_warm_start_off_solves_every_replan_cold(scenario) -> None:
    cold = get_strategy("price_optimization")
    cold.warm_start_online = False
    simulate(scenario, cold, ONLINE)
    assert set(cold.start_counts) == {"cold"} and cold.start_counts["cold"] > 10


def test_start_run_forgets_the_warm_start(scenario) -> None:
    strat = get_strategy("price_optimization")
    first = simulate(scenario, strat, ONLINE)
    counts = dict(strat.start_counts)
    assert strat._warm is not None and counts.get("warm", 0) > 0
    strat.start_run()
    assert strat._warm is None and strat.start_counts == {}
    second = simulate(scenario, strat, ONLINE)  # starts cold again: the same run, the same result
    assert strat.start_counts == counts
    np.testing.assert_array_equal(first.power_kw, second.power_kw)


def test_start_point_satisfies_the_balances(scenario) -> None:
    """The mapped start point satisfies every equality row (battery and site balances) of the new model."""
    strat = recording("price_optimization")
    simulate(scenario, strat, ONLINE)
    (m0, s0), (m1, _) = strat.records[10], strat.records[11]
    x = start_values(WarmStart(m0, s0.x), m1)
    eq = m1.row_lower == m1.row_upper
    np.testing.assert_allclose((m1.matrix @ x)[eq], m1.row_lower[eq], atol=1e-9)
    assert np.all(x >= m1.col_lower - 1e-12) and np.all(x <= m1.col_upper + 1e-12)


def test_gap_certifies_only_the_optimum(scenario) -> None:
    """The duality gap of the optimum with its duals is ~0; a feasible start point that is not optimal is refused."""
    strat = recording("price_optimization")
    simulate(scenario, strat, ONLINE)
    (m0, s0), (m1, _) = strat.records[10], strat.records[11]
    cold = solve(m1, options={"presolve": "off"})
    start = start_values(WarmStart(m0, s0.x), m1)
    assert float(m1.cost @ start) > cold.objective + 1e-6  # the start point is not optimal ...
    gap, _, _ = duality_gap(m1, start, np.zeros(m1.n_row), m1.cost)
    assert gap > GAP_RTOL  # ... and its (zero) duals certify nothing


def test_rejected_warm_start_is_solved_cold(scenario, monkeypatch) -> None:
    strat = recording("price_optimization")
    simulate(scenario, strat, ONLINE)
    (m0, s0), (m1, s1) = strat.records[10], strat.records[11]
    monkeypatch.setattr(highs, "duality_gap", lambda *a: (1.0, 0.0, 0.0))  # every certificate fails
    again = solve(m1, options={"presolve": "off"}, start=start_values(WarmStart(m0, s0.x), m1))
    assert again.start == "warm-rejected"
    assert again.objective == pytest.approx(s1.objective, rel=1e-9)
