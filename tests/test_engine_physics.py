"""The engine, the shared physics and the problem: export-limit cuts are counted, the reserve is activated by the
simulator with the realised frequency, online strategies never see that frequency ahead of time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from evfleet.analysis.kpis import compute_kpis
from evfleet.inputs.frequency import synthetic_frequency
from evfleet.inputs.generate import generate_scenario
from evfleet.physics import NOMINAL_HZ, droop_activation, site_protection
from evfleet.problem import ChargingPlan, ChargingProblem, build_problem
from evfleet.scenario import scenario_from_dict
from evfleet.simulation.engine import Engine
from evfleet.simulation.simulate import SimulationOptions, simulate
from evfleet.strategies import Strategy
from evfleet.strategies.optim.diagnostics import project_to_physics
from evfleet.strategies.params import StrategyParams, param
from factories import random_scenario, scenario_dict, tiny_scenario


@dataclass(frozen=True)
class _PowerParams(StrategyParams):
    power_kw: float = param(0.0, "power of every connected vehicle", "kW")


@dataclass(frozen=True)
class _ReserveParams(StrategyParams):
    setpoint_kw: float = param(0.0, "setpoint of every connected vehicle", "kW")
    band_kw: float = param(0.0, "symmetric reserve band of every connected vehicle", "kW", ge=0.0)
    seed: int = param(0, "seed of the synthetic frequency signal", ge=0)


class ConstantPower(Strategy):
    """``power_kw`` to every connected vehicle at every step (a plain, non-causal plan)."""

    name = "constant_power"
    params_class: ClassVar[type[StrategyParams]] = _PowerParams

    def schedule(self, problem: ChargingProblem) -> np.ndarray:
        return np.where(problem.connected(), float(self.params["power_kw"]), 0.0)


class FixedReserve(Strategy):
    """Setpoint ``setpoint_kw`` with a symmetric reserve band ``band_kw`` at every connected step."""

    name = "fixed_reserve"
    params_class: ClassVar[type[StrategyParams]] = _ReserveParams

    def schedule(self, problem: ChargingProblem) -> np.ndarray:
        return self.plan(problem).setpoint_kw

    def plan(self, problem: ChargingProblem) -> ChargingPlan:
        conn = problem.connected()
        return ChargingPlan(
            np.where(conn, self.params["setpoint_kw"], 0.0), np.where(conn, self.params["band_kw"], 0.0)
        )

    def plan_first_step(self, problem: ChargingProblem) -> ChargingPlan:
        full = self.plan(problem)
        return ChargingPlan(full.setpoint_kw[:, 0], full.reserve_kw[:, 0])


class FrequencyProbe(Strategy):
    """Plans ``5 + 100 * (mean frequency it is told of - 50 Hz)`` kW: any frequency information shows in its plan."""

    name = "frequency_probe"

    def __init__(self, **params) -> None:
        super().__init__(**params)
        self.seen: dict[int, np.ndarray] = {}

    def schedule(self, problem: ChargingProblem) -> np.ndarray:
        f = getattr(problem, "frequency_forecast_hz", None)
        if f is None:  # before the fix the problem carried the scenario's (realised) series as ``frequency_hz``
            f = problem.frequency_hz
        f = np.asarray(f, dtype=float)
        self.seen[problem.t0] = f.copy()
        return np.where(problem.connected(), 5.0 + 100.0 * (float(f.mean()) - 50.0), 0.0)


def _v2g_vehicle(**kw) -> dict:
    return {"soc_arrival": 0.8, "soc_target": 0.3, "max_discharge_kw": 20.0, **kw}


# --- export limit ------------------------------------------------------------------------------------------------


def test_discharge_cut_by_the_export_limit_is_counted() -> None:
    # PV 30 kW, nothing else on site, export limit 40 kW: a 20 kW discharge would export 50 kW -> cut to 10 kW.
    sc = tiny_scenario(n_steps=2, vehicles=[_v2g_vehicle()], pv_kw=[30.0, 30.0], export_limit_kw=40.0)
    r = simulate(sc, ConstantPower(power_kw=-20.0))
    np.testing.assert_allclose(r.power_kw[0], [-10.0, -10.0])
    np.testing.assert_allclose(r.site_kw, [-40.0, -40.0])
    np.testing.assert_allclose(r.curtailed_export_kwh, [20.0])  # 10 kW for two 1-h steps
    np.testing.assert_allclose(r.curtailed_kwh, [0.0])
    assert r.requested_clip_count == 2
    assert r.requested_clip_max_kw == pytest.approx(10.0)
    k = compute_kpis(r)
    assert k["curtailed_export_kwh"] == pytest.approx(20.0)
    assert k["setpoints_clipped"] == 2
    assert k["curtailed_energy_kwh"] == 0.0


def test_import_curtailment_keeps_its_own_counter() -> None:
    ev = {"battery_kwh": 20.0}
    sc = tiny_scenario(n_steps=1, vehicles=[ev, ev], base_load_kw=[5.0], import_limit_kw=15.0)
    r = simulate(sc, "uncontrolled")
    np.testing.assert_allclose(r.curtailed_kwh, [5.0, 5.0])
    np.testing.assert_allclose(r.curtailed_export_kwh, [0.0, 0.0])
    assert compute_kpis(r)["curtailed_export_kwh"] == 0.0


def test_site_protection_is_proportional_on_both_sides() -> None:
    cut = site_protection(np.array([10.0, 30.0, -5.0]), 10.0, 25.0, 0.0)  # 45 kW on site, limit 25: 20 kW off
    np.testing.assert_allclose(cut.import_cut_kw, [5.0, 15.0, 0.0])
    assert cut.site_kw == pytest.approx(25.0) and not cut.over_limit
    cut = site_protection(np.array([-10.0, -30.0, 2.0]), -10.0, 50.0, 28.0)  # -48 kW, limit -28: 20 kW off
    np.testing.assert_allclose(cut.export_cut_kw, [5.0, 15.0, 0.0])
    assert cut.site_kw == pytest.approx(-28.0)
    cut = site_protection(np.array([0.0]), 60.0, 50.0, 0.0)  # base load alone above the limit: flagged
    assert cut.over_limit and cut.site_kw == 60.0


# --- one copy of the physics -------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 7, 19])
def test_projection_equals_the_engine(seed: int) -> None:
    """project_to_physics (the optimisers') and the engine (the simulator's) give the same trajectory."""
    sc = random_scenario(np.random.default_rng(seed), 8, 12)
    sc = sc.replace(import_limit_kw=1e6, export_limit_kw=1e6)  # site protection is the engine's only extra
    rng = np.random.default_rng(seed)
    wild = rng.uniform(-60.0, 60.0, (sc.n_vehicles, sc.n_steps))
    v = sc.vehicles
    problem = build_problem(sc, np.arange(sc.n_vehicles), v.energy_arrival_kwh.copy(), 0, sc.n_steps, True)
    projected, worst = project_to_physics(problem, wild)
    assert worst > 1.0  # the wild plan needed clipping
    engine = Engine(sc, v2g=True)
    applied = np.column_stack([engine.step(t, wild[:, t])[0] for t in range(sc.n_steps)])
    np.testing.assert_array_equal(applied, projected)


# --- frequency containment reserve ---------------------------------------------------------------------------------


def _reserve_scenario(frequency_hz: list[float] | None = None):
    data = scenario_dict(n_steps=4, vehicles=[_v2g_vehicle(battery_kwh=100.0, soc_arrival=0.5, max_charge_kw=20.0)])
    if frequency_hz is not None:
        data["series"]["frequency_hz"] = frequency_hz
    return scenario_from_dict(data)


@pytest.mark.parametrize("mode", ["offline", "online"])
def test_simulator_applies_the_reserve_activation_of_the_realised_frequency(mode: str) -> None:
    sc = _reserve_scenario([50.0, 50.1, 49.9, 50.3])  # activation Δf/200 mHz: 0, +0.5, -0.5, +1
    r = simulate(sc, FixedReserve(setpoint_kw=5.0, band_kw=4.0), SimulationOptions(mode=mode))
    np.testing.assert_allclose(r.power_kw[0], [5.0, 7.0, 3.0, 9.0])
    rep = r.strategy_report.to_dict()
    assert rep["frequency_source"] == "scenario"
    assert rep["fcr_energy_down_kwh"] == pytest.approx(2.0 + 4.0)  # absorbed: +2 kW and +4 kW for 1 h
    assert rep["fcr_energy_up_kwh"] == pytest.approx(2.0)
    assert rep["fcr_projection_max_kw"] == 0.0
    assert r.requested_clip_count == 0  # the activation is not a clipped setpoint


def test_reserve_activation_is_cut_by_the_physics_and_reported() -> None:
    # Full over-frequency activation of a 30 kW band on top of 5 kW: the 20 kW charge limit cuts 15 kW.
    sc = _reserve_scenario([50.3, 50.3, 50.0, 50.0])
    r = simulate(sc, FixedReserve(setpoint_kw=5.0, band_kw=30.0))
    np.testing.assert_allclose(r.power_kw[0, :2], [20.0, 20.0])
    assert r.strategy_report.to_dict()["fcr_projection_max_kw"] == pytest.approx(15.0)
    assert r.requested_clip_count == 0


def test_without_a_frequency_series_the_seeded_synthetic_signal_is_realised() -> None:
    sc = _reserve_scenario()
    r = simulate(sc, FixedReserve(setpoint_kw=5.0, band_kw=4.0, seed=3))
    act = synthetic_frequency(sc.n_steps, sc.step_minutes, 3)[1]
    np.testing.assert_allclose(r.power_kw[0], 5.0 + 4.0 * act, atol=1e-12)
    assert r.strategy_report.to_dict()["frequency_source"] == "synthetic_ou"


def _freq_variants(n_steps: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    a = 50.0 + rng.uniform(-0.15, 0.15, n_steps)
    b = a.copy()
    b[k + 1 :] = 50.0 + rng.uniform(-0.3, 0.3, n_steps - k - 1)  # a different realised future after step k
    return a, b


def test_online_problem_holds_a_forecast_not_the_realised_frequency() -> None:
    sc = tiny_scenario(n_steps=8, vehicles=[{}, {"arrival_step": 2}])
    k = 3
    fa, fb = _freq_variants(sc.n_steps, k)
    runs = []
    for f in (fa, fb):
        probe = FrequencyProbe()
        r = simulate(sc.replace(frequency_hz=f), probe, SimulationOptions(mode="online"))
        runs.append((probe, r))
    (pa, ra), (pb, rb) = runs
    for t in range(k + 1):  # what was planned at steps <= k does not depend on the frequency after k
        np.testing.assert_array_equal(pa.seen[t], pb.seen[t])
        np.testing.assert_array_equal(ra.power_kw[:, t], rb.power_kw[:, t])
    np.testing.assert_array_equal(pa.seen[0], np.full(len(pa.seen[0]), NOMINAL_HZ))  # the nominal forecast
    # Offline the problem has perfect foresight of the scenario's series.
    probe = FrequencyProbe()
    simulate(sc.replace(frequency_hz=fa), probe, SimulationOptions(mode="offline"))
    np.testing.assert_array_equal(probe.seen[0], fa)


def test_grid_support_online_setpoints_ignore_the_future_frequency() -> None:
    sc = generate_scenario(vehicles=10, seed=4, start="2026-01-15", step_minutes=60, v2g_ready_2024=True)
    k = 12
    fa, fb = _freq_variants(sc.n_steps, k)
    opts = SimulationOptions(mode="online", horizon_h=8.0)
    ra = simulate(sc.replace(frequency_hz=fa), "grid_support", opts, reserve_price=0.5, fcr_min_offer_kw=0.0)
    rb = simulate(sc.replace(frequency_hz=fb), "grid_support", opts, reserve_price=0.5, fcr_min_offer_kw=0.0)
    assert ra.strategy_report.to_dict()["reserve_mean_kw"] > 0
    np.testing.assert_array_equal(ra.power_kw[:, : k + 1], rb.power_kw[:, : k + 1])
    assert not np.allclose(ra.power_kw, rb.power_kw)  # the realised activation differs after k
    assert ra.strategy_report.to_dict()["fcr_energy_up_kwh"] + ra.strategy_report.to_dict()["fcr_energy_down_kwh"] > 0
    assert droop_activation(fa[: k + 1]).any()
