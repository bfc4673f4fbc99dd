"""The reduced form of the charging-only FCR band (optim.band) has the optimum of the original LP, on random small
scenarios: the substitution alone, the lazy-row solve, and grid_support's two LPs with the minimum offer."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from evfleet.problem import build_problem
from evfleet.strategies import get_strategy
from evfleet.strategies.grid_support import fcr_blocks
from evfleet.strategies.optim.band import LazyBandSolver, max_violation, reduce_band, substitute_band
from evfleet.strategies.optim.highs import solve
from evfleet.strategies.optim.model import build_model
from factories import random_scenario

REL = 1e-7


def _problem(seed: int, step_minutes: int = 15, n: int = 8, n_steps: int = 16, taper: bool = False):
    rng = np.random.default_rng(seed)
    sc = random_scenario(rng, n, n_steps, step_minutes)
    v = sc.vehicles
    p = build_problem(sc, np.arange(sc.n_vehicles), v.energy_arrival_kwh.copy(), 0, sc.n_steps, True)
    if taper:  # a DC curve on every vehicle: some pass the knee (their cuts bind), so they keep energy columns
        p = dataclasses.replace(p, taper_soc=rng.uniform(0.3, 0.8, n), taper_end_kw=rng.uniform(1.0, 5.0, n))
    return p


def _objective(p, **params):
    strat = get_strategy("grid_support", **params)
    obj = strat.objective(p)
    obj.reserve_min_kw = 0.0
    return obj


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= REL * max(1.0, abs(b))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("step_minutes", "taper"), [(15, False), (5, False), (60, False), (15, True)])
def test_substitution_and_lazy_solve_keep_the_optimum(seed: int, step_minutes: int, taper: bool) -> None:
    # 5-min steps: dt < T = 0.25 h, the lower energy rows are kept; 60-min: dt > T, all dropped
    p = _problem(seed, step_minutes, taper=taper)
    obj = _objective(p, reserve_price=1.5)
    model = build_model(p, obj)
    ref = solve(model)  # the original LP
    sub = substitute_band(model)
    assert sub is not None
    assert sub.model.n_row < model.n_row
    y = solve(sub.model)
    x = sub.to_original(y.x)
    assert max_violation(model, x) <= 1e-6
    assert _close(float(model.cost @ x), ref.objective)
    lazy = LazyBandSolver(reduce_band(sub), 60.0, {"presolve": "off"})
    sol = lazy.solve()
    assert max_violation(model, sol.x) <= 1e-6
    assert _close(sol.objective, ref.objective)
    # the mapped-back solution is the original model's column values: the same setpoints and band it reads
    np.testing.assert_allclose(sol.power_kw, sol.charge_kw - sol.discharge_kw)


def test_lazy_solve_adds_rows_where_needed() -> None:
    # energy ceilings near the targets make the band's energy headroom bind: the core alone is not enough
    p = _problem(3)
    p = dataclasses.replace(p, energy_ceiling_kwh=np.maximum(p.energy_target_kwh, p.energy_kwh) + 0.5)
    model = build_model(p, _objective(p, reserve_price=3.0))
    lazy = LazyBandSolver(reduce_band(substitute_band(model)), 60.0)
    sol = lazy.solve()
    assert lazy.rounds >= 1 and lazy.added.any()
    assert _close(sol.objective, solve(model).objective)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(
    ("block_h", "min_kw"), [(1.0, 0.0), (1.0, 15.0), (1.0, 60.0), (0.0, 0.0), (2.0, 30.0), (1.0, 1e6)]
)
def test_grid_support_reduced_equals_original_two_lps(seed: int, block_h: float, min_kw: float) -> None:
    p = _problem(seed, 15, n=10, n_steps=16)
    params = {"reserve_price": 1.0, "fcr_block_h": block_h, "fcr_min_offer_kw": min_kw}
    new = get_strategy("grid_support", **params)
    old = get_strategy("grid_support", **params)
    old.band_reduction = False
    a, b = new.solve_problem(p), old.solve_problem(p)
    assert _close(a.objective, b.objective)
    blk = fcr_blocks(p, block_h)
    if blk is not None and min_kw > 0:  # the minimum-offer rule: every block's pooled band is 0 or >= m
        band = a.reserve_kw.sum(axis=0)
        for k in range(int(blk.max()) + 1):
            assert band[blk == k].max() < 1e-6 or band[blk == k].min() >= min_kw - 1e-6


def test_second_lp_paths_are_exercised() -> None:
    # every block closed (the LP without band variables) and some closed (the reduced model from the first basis)
    p = _problem(0, 15, n=10, n_steps=16)
    seen = set()
    for min_kw in (1e6, 15.0, 30.0, 45.0):
        new = get_strategy("grid_support", reserve_price=1.0, fcr_block_h=1.0, fcr_min_offer_kw=min_kw)
        old = get_strategy("grid_support", reserve_price=1.0, fcr_block_h=1.0, fcr_min_offer_kw=min_kw)
        old.band_reduction = False
        a, b = new.solve_problem(p), old.solve_problem(p)
        assert _close(a.objective, b.objective)
        band = a.reserve_kw.sum(axis=0)
        seen.add("all closed" if band.max() < 1e-6 else "some open")
    assert seen == {"all closed", "some open"}


def test_v2g_only_and_no_reserve_use_the_original_model() -> None:
    p = _problem(1)
    assert substitute_band(build_model(p, _objective(p, fcr_participation="v2g_only"))) is None
    assert substitute_band(build_model(p, _objective(p, reserve_price=0.0))) is None
