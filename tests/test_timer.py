"""The `timer` baseline: start times at heures creuses, the fallback, and the site limit acting as a breaker."""

from __future__ import annotations

import numpy as np
import pytest

from evfleet.analysis.kpis import compute_kpis
from evfleet.scenario import scenario_from_dict
from evfleet.simulation.simulate import SimulationOptions, build_problem, simulate
from evfleet.strategies import get_strategy
from evfleet.strategies.timer import next_offpeak_column, offpeak_mask
from factories import scenario_dict

#: 8 hourly steps: pleines 0-2, creuses 3-5, pointe 6-7 (prices 1.0 / 0.6 / 2.0 MAD/kWh).
PERIODS = ["pleines"] * 3 + ["creuses"] * 3 + ["pointe"] * 2
PRICE = [1.0] * 3 + [0.6] * 3 + [2.0] * 2


def timer_scenario(vehicles: list[dict], import_limit_kw: float = 100.0, periods: list[str] | None = PERIODS):
    d = scenario_dict(n_steps=8, vehicles=vehicles, price=PRICE, import_limit_kw=import_limit_kw)
    if periods is not None:
        d["series"]["tou_period"] = periods
    return scenario_from_dict(d)


def power(sc, mode: str = "offline", **params) -> np.ndarray:
    return simulate(sc, "timer", SimulationOptions(mode=mode, v2g=False), **params).power_kw


@pytest.mark.parametrize("mode", ["offline", "online"])
def test_start_at_first_offpeak_step_or_on_arrival_if_later(mode: str) -> None:
    # need 20 kWh at 10 kW = 2 full steps (efficiency 1)
    vehicles = [
        {"arrival_step": 0, "departure_step": 8, "soc_arrival": 0.4, "soc_target": 0.8},  # waits until step 3
        {"arrival_step": 4, "departure_step": 8, "soc_arrival": 0.4, "soc_target": 0.8},  # arrives in creuses
        {"arrival_step": 2, "departure_step": 8, "soc_arrival": 0.7, "soc_target": 0.8},  # 5 kWh: half a step
    ]
    p = power(timer_scenario(vehicles), mode)
    np.testing.assert_allclose(p[0], [0, 0, 0, 10, 10, 0, 0, 0], atol=1e-9)
    np.testing.assert_allclose(p[1], [0, 0, 0, 0, 10, 10, 0, 0], atol=1e-9)
    np.testing.assert_allclose(p[2], [0, 0, 0, 5, 0, 0, 0, 0], atol=1e-9)


@pytest.mark.parametrize("mode", ["offline", "online"])
def test_keeps_charging_after_offpeak_ends(mode: str) -> None:
    # 40 kWh at 10 kW from step 3: steps 3, 4, 5 in creuses and step 6 in pointe (the timer only switches on)
    p = power(timer_scenario([{"arrival_step": 0, "departure_step": 8, "soc_arrival": 0.0, "soc_target": 0.8}]), mode)
    np.testing.assert_allclose(p[0], [0, 0, 0, 10, 10, 10, 10, 0], atol=1e-9)


@pytest.mark.parametrize("mode", ["offline", "online"])
def test_no_offpeak_in_stay_fallback(mode: str) -> None:
    vehicles = [{"arrival_step": 6, "departure_step": 8, "soc_arrival": 0.6, "soc_target": 0.8}]
    sc = timer_scenario(vehicles)
    np.testing.assert_allclose(power(sc, mode)[0], [0, 0, 0, 0, 0, 0, 10, 0], atol=1e-9)
    np.testing.assert_allclose(power(sc, mode, fallback="none")[0], np.zeros(8), atol=1e-9)
    r = simulate(sc, "timer", SimulationOptions(mode=mode, v2g=False), fallback="none")
    assert compute_kpis(r)["unmet_energy_kwh"] == pytest.approx(10.0)


@pytest.mark.parametrize("mode", ["offline", "online"])
def test_site_limit_acts_as_a_breaker(mode: str) -> None:
    # three vehicles switch on together at step 3 (30 kW) behind a 15 kW limit: every one is curtailed by the same
    # factor (0.5), the import sits at the limit, nothing trips and they go on until their targets
    vehicles = [{"arrival_step": 0, "departure_step": 8, "soc_arrival": 0.6, "soc_target": 0.8}] * 3
    r = simulate(timer_scenario(vehicles, import_limit_kw=15.0), "timer", SimulationOptions(mode=mode, v2g=False))
    np.testing.assert_allclose(r.power_kw[:, 3], [5.0, 5.0, 5.0], atol=1e-9)
    assert r.site_kw.max() == pytest.approx(15.0)
    np.testing.assert_allclose(r.site_kw, [0, 0, 0, 15, 15, 0, 0, 0], atol=1e-9)
    k = compute_kpis(r)
    assert k["unmet_energy_kwh"] == pytest.approx(0.0, abs=1e-6)
    assert k["curtailed_energy_kwh"] == pytest.approx(15.0 + 0.0)  # step 3 cuts 15 kW·h, step 4 cuts none
    assert k["setpoints_clipped"] == 0


def test_offpeak_is_the_cheapest_period_else_the_lowest_price() -> None:
    sc = timer_scenario([{}])
    pb = build_problem(sc, np.arange(1), sc.vehicles.energy_arrival_kwh, 0, 8, False)
    np.testing.assert_array_equal(offpeak_mask(pb), [p == "creuses" for p in PERIODS])
    unnamed = timer_scenario([{}], periods=None)
    pb = build_problem(unnamed, np.arange(1), unnamed.vehicles.energy_arrival_kwh, 0, 8, False)
    np.testing.assert_array_equal(offpeak_mask(pb), np.asarray(PRICE) == 0.6)
    np.testing.assert_array_equal(next_offpeak_column(np.array([False, True, False, False])), [1, 1, 4, 4, 4])


def test_schedule_matches_the_simulated_offline_run() -> None:
    rng = np.random.default_rng(3)
    vehicles = []
    for _ in range(12):
        a = int(rng.integers(0, 7))
        vehicles.append({"arrival_step": a, "departure_step": int(rng.integers(a + 1, 9)),
                         "soc_arrival": float(rng.uniform(0.2, 0.7)), "soc_target": 0.8})  # fmt: skip
    sc = timer_scenario(vehicles, import_limit_kw=1000.0)
    pb = build_problem(sc, np.arange(sc.n_vehicles), sc.vehicles.energy_arrival_kwh, 0, 8, False)
    planned = get_strategy("timer").schedule(pb)
    np.testing.assert_allclose(power(sc), planned, atol=1e-9)
