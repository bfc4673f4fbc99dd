"""Physics invariants of the simulator, on hand-made and random scenarios."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evfleet.scenario import Scenario
from evfleet.simulation.simulate import SimulationOptions, simulate
from evfleet.strategies import ChargingProblem, Strategy, StrategyParams
from evfleet.strategies.params import param
from factories import random_scenario, tiny_scenario


@dataclass(frozen=True)
class RandomSetpointsParams(StrategyParams):
    seed: int = param(0, "seed of the setpoints", ge=0)


class RandomSetpoints(Strategy):
    """Deliberately wild setpoints (outside every limit) to exercise the simulator's enforcement."""

    name = "random_setpoints"
    params_class = RandomSetpointsParams

    def schedule(self, problem: ChargingProblem) -> np.ndarray:
        rng = np.random.default_rng(self.params.get("seed", 0) + problem.t0)
        return rng.uniform(-80.0, 80.0, (problem.n_vehicles, problem.n_steps))


def check_physics(sc: Scenario, result, v2g: bool = True) -> None:
    v = sc.vehicles
    dt = sc.dt_h
    p = result.power_kw
    tol = 1e-9
    # Zero outside the connection window.
    t = np.arange(sc.n_steps)
    conn = (v.arrival_step[:, None] <= t) & (t < v.departure_step[:, None])
    assert np.all(p[~conn] == 0.0)
    # Power limits.
    assert np.all(p <= v.max_charge_kw[:, None] + tol)
    assert np.all(p >= -v.max_discharge_kw[:, None] - tol)
    if not v2g:
        assert np.all(p >= 0.0)
    # Energy balance per vehicle (battery side) within 1e-6 kWh.
    e = result.energy_kwh
    flows = (v.charge_efficiency[:, None] * np.maximum(p, 0) - np.maximum(-p, 0) / v.discharge_efficiency[:, None]) * dt
    np.testing.assert_allclose(e[:, -1] - e[:, 0], flows.sum(axis=1), atol=1e-6)
    np.testing.assert_allclose(np.diff(e, axis=1), flows, atol=1e-9)
    # SOC window.
    assert np.all(result.soc <= np.maximum(v.soc_max, v.soc_arrival)[:, None] + 1e-9)
    assert np.all(result.soc >= np.minimum(v.soc_min, v.soc_arrival)[:, None] - 1e-9)
    # V2G never takes a battery below soc_min.
    discharging = p < -tol
    assert np.all((result.soc[:, 1:] >= v.soc_min[:, None] - 1e-9) | ~discharging)
    # Site power definition and limits.
    np.testing.assert_allclose(result.site_kw, sc.base_load_kw - sc.pv_kw + p.sum(axis=0), atol=1e-9)
    net_base = sc.base_load_kw - sc.pv_kw
    over = result.site_kw > sc.import_limit_kw + 1e-6
    # Above the limit only when the base load alone exceeds it, and then no vehicle charges.
    assert np.all(net_base[over] > sc.import_limit_kw)
    assert np.all(p[:, over] <= 1e-9)
    under = result.site_kw < -sc.export_limit_kw - 1e-6
    assert np.all(p[:, under] >= -1e-9)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 12), n_steps=st.integers(2, 30), v2g=st.booleans())
def test_physics_invariants_random_setpoints(seed: int, n: int, n_steps: int, v2g: bool) -> None:
    sc = random_scenario(np.random.default_rng(seed), n, n_steps)
    result = simulate(sc, RandomSetpoints(seed=seed), SimulationOptions(v2g=v2g))
    check_physics(sc, result, v2g)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 12), n_steps=st.integers(2, 30))
def test_physics_invariants_online_mode(seed: int, n: int, n_steps: int) -> None:
    sc = random_scenario(np.random.default_rng(seed), n, n_steps)
    result = simulate(sc, RandomSetpoints(seed=seed), SimulationOptions(mode="online", horizon_h=2.0))
    check_physics(sc, result)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 15), n_steps=st.integers(2, 40))
def test_uncontrolled_physics_and_targets(seed: int, n: int, n_steps: int) -> None:
    sc = random_scenario(np.random.default_rng(seed), n, n_steps)
    result = simulate(sc, "uncontrolled")
    check_physics(sc, result)
    assert np.all(result.power_kw >= 0.0)
    v = sc.vehicles
    if result.curtailed_kwh.sum() == 0:
        # Without curtailment every vehicle gets min(target, what full power over its stay can give).
        stay_h = (v.departure_step - v.arrival_step) * sc.dt_h
        reachable = np.minimum(
            v.energy_ceiling_kwh, v.energy_arrival_kwh + v.charge_efficiency * v.max_charge_kw * stay_h
        )
        expected_unmet = np.maximum(v.energy_target_kwh - reachable, 0.0)
        np.testing.assert_allclose(result.unmet_kwh, np.where(expected_unmet > 1e-9, expected_unmet, 0), atol=1e-6)


def test_deterministic() -> None:
    sc = random_scenario(np.random.default_rng(3), 10, 24)
    a = simulate(sc, RandomSetpoints(seed=1))
    b = simulate(sc, RandomSetpoints(seed=1))
    np.testing.assert_array_equal(a.power_kw, b.power_kw)
    np.testing.assert_array_equal(a.soc, b.soc)


def test_uncontrolled_hand_case() -> None:
    # 50 kWh battery at 30 % wants 80 %: 25 kWh at 10 kW, efficiency 1 -> 10, 10, 5 kW then 0.
    sc = tiny_scenario(n_steps=4, step_minutes=60)
    result = simulate(sc, "uncontrolled")
    np.testing.assert_allclose(result.power_kw[0], [10.0, 10.0, 5.0, 0.0])
    np.testing.assert_allclose(result.soc[0], [0.3, 0.5, 0.7, 0.8, 0.8])
    assert result.unmet_kwh[0] == 0.0


def test_site_limit_curtails_proportionally() -> None:
    # Two vehicles want 10 kW each, base load 5 kW, limit 15 kW -> 5 kW each, curtailment recorded.
    ev = {"battery_kwh": 20.0}  # needs 10 kWh: reachable in the hour at 10 kW, not at 5 kW
    sc = tiny_scenario(n_steps=1, vehicles=[ev, ev], base_load_kw=[5.0], import_limit_kw=15.0)
    result = simulate(sc, "uncontrolled")
    np.testing.assert_allclose(result.power_kw[:, 0], [5.0, 5.0])
    np.testing.assert_allclose(result.site_kw, [15.0])
    np.testing.assert_allclose(result.curtailed_kwh, [5.0, 5.0])
    np.testing.assert_allclose(result.unmet_kwh, [5.0, 5.0])
    assert list(result.unmet_reason) == ["site_limit", "site_limit"]


def test_unmet_reason_stay_too_short() -> None:
    sc = tiny_scenario(n_steps=4, vehicles=[{"departure_step": 1}])
    result = simulate(sc, "uncontrolled")
    assert result.unmet_kwh[0] == pytest.approx(15.0)
    assert result.unmet_reason[0] == "stay_too_short"


def test_soc_arrival_below_floor_is_allowed_and_never_discharged() -> None:
    sc = tiny_scenario(vehicles=[{"soc_arrival": 0.1, "max_discharge_kw": 10.0}])
    result = simulate(sc, RandomSetpoints(seed=5))
    assert np.all(result.soc[0] >= 0.1 - 1e-12)
    assert np.all(result.power_kw[0][result.soc[0, :-1] < 0.2] >= 0)


def test_bad_options() -> None:
    sc = tiny_scenario()
    with pytest.raises(ValueError, match="mode"):
        simulate(sc, "uncontrolled", SimulationOptions(mode="sometimes"))
    with pytest.raises(ValueError, match="unknown strategy 'nope'"):
        simulate(sc, "nope")
