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


def _first_lp(p, **params):
    """The first LP of grid_support (no minimum offer) in the reduced form, and its original model."""
    strat = get_strategy("grid_support", **params)
    obj = strat.objective(p)
    obj.reserve_min_kw = 0.0
    model = build_model(p, obj)
    return strat, obj, model


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("taper", [False, True])
def test_band_zero_start_is_feasible_certified_and_keeps_the_optimum(seed: int, taper: bool) -> None:
    p = _problem(seed, 15, n=10, n_steps=16, taper=taper)
    strat, obj, model = _first_lp(p, reserve_price=1.5)
    ref = solve(model)
    no_band = strat._no_band(p, obj, False, {})
    x0 = strat._band_zero_start(model, no_band)
    assert max_violation(model, x0) <= 1e-6  # band 0: a feasible point of the band model
    assert np.all(x0[model.layout.span("ru")] == 0.0)
    red = reduce_band(substitute_band(model))
    z0 = red.from_original(x0)
    np.testing.assert_allclose(red.to_original(z0), x0, atol=1e-9)  # the inverse map
    lazy = LazyBandSolver(red, 60.0, {"presolve": "off"})
    lazy.start_from(z0)
    sol = lazy.solve()
    assert sol.start == "warm"
    assert _close(sol.objective, ref.objective)


def test_rejected_warm_start_is_solved_again_from_scratch(monkeypatch: pytest.MonkeyPatch) -> None:
    # the certificate forced to fail: the same LP (core and added rows) is solved again without the start
    p = _problem(2, 15, n=10, n_steps=16)
    p = dataclasses.replace(p, energy_ceiling_kwh=np.maximum(p.energy_target_kwh, p.energy_kwh) + 0.5)
    strat, obj, model = _first_lp(p, reserve_price=3.0)
    ref = solve(model)
    red = reduce_band(substitute_band(model))
    lazy = LazyBandSolver(red, 60.0, {"presolve": "off"})
    lazy.start_from(red.from_original(strat._band_zero_start(model, strat._no_band(p, obj, False, {}))))
    monkeypatch.setattr(LazyBandSolver, "certified", lambda self, z: False)
    sol = lazy.solve()
    assert sol.start == "warm-rejected"
    assert _close(sol.objective, ref.objective)
    assert max_violation(model, sol.x) <= 1e-6


def test_certificate_rejects_a_wrong_point() -> None:
    # the duality-gap check is not a formality: the optimum passes, a feasible non-optimal point does not
    p = _problem(1, 15, n=10, n_steps=16)
    _, _, model = _first_lp(p, reserve_price=1.5)
    lazy = LazyBandSolver(reduce_band(substitute_band(model)), 60.0)
    sol = lazy.solve()
    z = np.fromiter(lazy.h.getSolution().col_value, dtype=float)
    assert lazy.certified(z)
    z_bad = z.copy()
    j = int(np.argmax(np.abs(lazy.red.cost) * (lazy.col_upper > lazy.col_lower)))
    z_bad[j] = lazy.col_lower[j] if z[j] > lazy.col_lower[j] + 1e-6 else min(lazy.col_upper[j], z[j] + 1.0)
    assert not lazy.certified(z_bad)
    assert sol.start == "cold"


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("grouped", "lazy_taper"), [(False, False), (True, False), (False, True)])
def test_row_grouping_and_lazy_taper_keep_the_optimum(monkeypatch: pytest.MonkeyPatch, seed: int, grouped: bool,
                                                      lazy_taper: bool) -> None:  # fmt: skip
    # the forms before (ungrouped rounds, taper cuts in the core) against the original LP, through solve_problem
    from evfleet.strategies.optim import band

    monkeypatch.setattr(LazyBandSolver, "grouped", grouped)
    monkeypatch.setattr(band, "LAZY_TAPER", lazy_taper)
    p = _problem(seed, 15, n=10, n_steps=16, taper=True)
    params = {"reserve_price": 1.0, "fcr_block_h": 1.0, "fcr_min_offer_kw": 15.0}
    new, old = get_strategy("grid_support", **params), get_strategy("grid_support", **params)
    old.band_reduction = False
    assert _close(new.solve_problem(p).objective, old.solve_problem(p).objective)


def test_lazy_groups_are_one_vehicle_each() -> None:
    # every lazy row is on the columns of one vehicle, the vehicle of its group (family * (n + 1) + vehicle + 1)
    p = _problem(4, 15, n=10, n_steps=16, taper=True)
    _, _, model = _first_lp(p, reserve_price=1.5)
    red = reduce_band(substitute_band(model))
    cols, sv = model.layout, model.slot_vehicle
    veh = np.full(model.n_col, -1)
    veh[cols.span("ch")] = sv
    veh[cols.span("dis")] = sv[model.dis_slots]
    veh[cols.span("e")] = sv[model.sets.st_slots]
    veh[cols.span("r")] = sv[model.dis_slots]
    veh[cols.span("ru")] = sv[model.uni_slots]
    veh[cols.span("u")] = model.target_vehicles
    veh_z = veh[red.z_of_y >= 0]
    group_veh = red.lazy_group % (p.n_vehicles + 1) - 1
    lazy = red.lazy.tocsr()
    for i in range(lazy.shape[0]):
        on = veh_z[lazy.indices[lazy.indptr[i] : lazy.indptr[i + 1]]]
        assert len(on) and np.all(on == group_veh[i])


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("merge", [True, False])
def test_merged_target_ceiling_rows_keep_the_optimum(monkeypatch: pytest.MonkeyPatch, seed: int, merge: bool) -> None:
    # half the vehicles with a target above the ceiling (their ceiling row stays), the others below (merged)
    from evfleet.strategies.optim import band

    monkeypatch.setattr(band, "MERGE_CEILING", merge)
    p = _problem(seed, 15, n=10, n_steps=16)
    above = np.arange(p.n_vehicles) % 2 == 0
    ceiling = np.where(above, np.maximum(p.energy_target_kwh - 1.0, p.energy_kwh), p.energy_ceiling_kwh)
    p = dataclasses.replace(p, energy_ceiling_kwh=ceiling)
    _, _, model = _first_lp(p, reserve_price=1.5)
    ref = solve(model)
    red = reduce_band(substitute_band(model))
    sol = LazyBandSolver(red, 60.0).solve()
    assert _close(sol.objective, ref.objective)
    assert max_violation(model, sol.x) <= 1e-6
