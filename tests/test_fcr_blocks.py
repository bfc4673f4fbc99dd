"""FCR as traded in grid_support: 4-h symmetric blocks (a constant pooled band), a pooled minimum offer (two LPs,
checked against the exact MIP), charging-only vehicles offering by modulating their charging."""

from __future__ import annotations

import numpy as np
import pytest

from evfleet.problem import build_problem
from evfleet.scenario import scenario_from_dict
from evfleet.simulation.simulate import SimulationOptions, simulate
from evfleet.strategies import get_strategy
from evfleet.strategies.grid_support import fcr_blocks
from evfleet.strategies.optim.highs import solve
from evfleet.strategies.optim.model import build_model
from factories import scenario_dict


def _scenario(v2g_share: int = 2, n: int = 4, hours: int = 8) -> object:
    vehicles = [{"battery_kwh": 60.0, "soc_arrival": 0.5, "soc_target": 0.6, "max_charge_kw": 11.0,
                 "max_discharge_kw": 11.0 if i < v2g_share else 0.0} for i in range(n)]  # fmt: skip
    d = scenario_dict(n_steps=hours, step_minutes=60, vehicles=vehicles, import_limit_kw=200.0,
                      price=[1.0 + 0.1 * (k % 3) for k in range(hours)])  # fmt: skip
    d["start"] = "2026-06-15T00:00:00+01:00"
    return scenario_from_dict(d)


def _problem(sc, v2g: bool = True):
    v = sc.vehicles
    return build_problem(sc, np.arange(sc.n_vehicles), v.energy_arrival_kwh.copy(), 0, sc.n_steps, v2g)


def _block_bands(reserve_kw: np.ndarray, blk: np.ndarray) -> list[np.ndarray]:
    band = reserve_kw.sum(axis=0)
    return [band[blk == k] for k in range(int(blk.max()) + 1)]


def test_blocks_follow_the_local_clock() -> None:
    sc = _scenario(hours=8)
    assert fcr_blocks(_problem(sc), 4.0).tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert fcr_blocks(_problem(sc), 0.0) is None


def test_pooled_band_is_constant_in_each_block_and_charging_only_vehicles_offer() -> None:
    sc = _scenario()
    strat = get_strategy("grid_support", reserve_price=2.0, fcr_min_offer_kw=0.0)
    p = _problem(sc)
    sol = strat.solve_problem(p)
    for band in _block_bands(sol.reserve_kw, fcr_blocks(p, 4.0)):
        np.testing.assert_allclose(band, band[0], atol=1e-6)
    assert sol.reserve_kw[2:].sum() > 1e-3  # vehicles 2 and 3 have no V2G: they modulate their charging
    ch = sol.charge_kw[2:]
    r = sol.reserve_kw[2:]
    assert (ch - r >= -1e-6).all() and (ch + r <= 11.0 + 1e-6).all()
    only = get_strategy("grid_support", reserve_price=2.0, fcr_min_offer_kw=0.0, fcr_participation="v2g_only")
    assert only.solve_problem(p).reserve_kw[2:].sum() == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("min_kw", [5.0, 20.0, 60.0])
def test_minimum_offer_two_lps_meet_the_rule_and_never_beat_the_mip(min_kw: float) -> None:
    sc = _scenario()
    p = _problem(sc)
    strat = get_strategy("grid_support", reserve_price=2.0, fcr_min_offer_kw=min_kw)
    heur = strat.solve_problem(p)
    blk = fcr_blocks(p, 4.0)
    for band in _block_bands(heur.reserve_kw, blk):
        assert band[0] < 1e-6 or band[0] >= min_kw - 1e-6
    obj = strat.objective(p)
    assert obj.reserve_min_kw == min_kw
    mip = solve(build_model(p, obj))  # the exact rule: one binary per block
    for band in _block_bands(mip.reserve_kw, blk):
        np.testing.assert_allclose(band, band[0], atol=1e-6)
        assert band[0] < 1e-6 or band[0] >= min_kw - 1e-6
    assert heur.objective >= mip.objective - 1e-6 * max(1.0, abs(mip.objective))


def test_grid_support_run_reports_the_products() -> None:
    sc = _scenario()
    r = simulate(sc, "grid_support", SimulationOptions(v2g=True), reserve_price=2.0, fcr_min_offer_kw=10.0)
    rep = r.strategy_report.to_dict()
    assert rep["reserve_block_h"] == 4.0 and rep["reserve_min_offer_kw"] == 10.0
    assert rep["reserve_value_mad"] >= 0.0
