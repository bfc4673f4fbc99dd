"""The time-stepped simulator: applies a strategy's setpoints and enforces the physics.

Units: power [kW] grid side (positive = charging), energy [kWh] battery side, ``dt_h`` [h], SOC fraction 0-1.

:func:`simulate` runs one scenario. Offline, a planning strategy gets the whole horizon once (perfect
foresight, :func:`evfleet.problem.build_problem`); online, and for causal rules in both modes, the receding-horizon
loop of :mod:`evfleet.simulation.control` re-plans at every step (the same loop as live mode). Either way the
:class:`~evfleet.simulation.engine.Engine` applies each step, vectorised over all vehicles (no Python loop over
vehicles), with the physics of :mod:`evfleet.physics`:

1. setpoints are zero outside ``arrival_step <= t < departure_step``; with V2G off, negative setpoints are 0;
2. clipped to ``[-max_discharge_kw, max_charge_kw]``; when the scenario has the optional per-session fields
   ``taper_soc``/``taper_end_kw`` (DC charging curve, ``docs/catalog.md``) the charge limit above the knee falls
   linearly with the SOC at the start of the step: ``max_charge_kw - (max_charge_kw - taper_end_kw) *
   (soc - taper_soc) / (1 - taper_soc)``;
3. clipped so that the battery stays within its window: charging stops at ``max(soc_max, soc_arrival)``,
   V2G stops at ``soc_min`` (never below ``min(soc_min, soc_arrival)``);
4. a planned frequency-containment band ``r`` is activated with the realised frequency of the step,
   ``p + activation(f_t) * r``, within the bounds of 2-3 (the strategy only plans setpoint and band; see
   :class:`~evfleet.simulation.engine.RealisedFrequency`);
5. site protection: if ``base - pv + sum(p)`` would exceed ``import_limit_kw``, charging is curtailed
   proportionally (``curtailed_kwh``; never silently exceeded); likewise discharging against ``export_limit_kw``
   (``curtailed_export_kwh``);
6. ``e[t+1] = e[t] + eta_c * max(p, 0) * dt_h - max(-p, 0) * dt_h / eta_d``.

Every clip of a setpoint (steps 1-3, and the export-side protection of step 5) is counted in
``requested_clip_count``, so a test can assert that an optimiser's schedule needed none; curtailment at the import
limit is counted in ``curtailed_kwh`` (the uncontrolled baseline relies on it, it is not a clip).
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evfleet._common.errors import InputError, RunError
from evfleet._common.tolerances import ENERGY_EPS_KWH, UNMET_TOL_KWH
from evfleet.problem import build_problem
from evfleet.scenario import Scenario
from evfleet.simulation.control import RecedingLoop, frequency_seed
from evfleet.simulation.engine import Engine, RealisedFrequency
from evfleet.strategies import Strategy, get_strategy
from evfleet.strategies.report import ReserveReport, StrategyReport

__all__ = ["RunResult", "SimulationOptions", "simulate", "unmet_reasons"]


@dataclass(frozen=True)
class SimulationOptions:
    """Run options. ``mode``: ``offline`` (perfect foresight) or ``online`` (receding horizon).

    ``horizon_h`` [h] caps the online look-ahead; ``forecast_noise`` is the relative standard deviation of the
    multiplicative noise on base load and PV forecasts in online mode (0 = perfect forecasts); ``seed`` drives it.
    Online, the frequency forecast is the nominal 50 Hz (:mod:`evfleet.simulation.control`).
    """

    mode: str = "offline"
    v2g: bool = True
    horizon_h: float = 24.0
    forecast_noise: float = 0.0
    seed: int = 0

    def validate(self) -> None:
        if self.mode not in ("offline", "online"):
            raise InputError(f"option 'mode' must be 'offline' or 'online' (value {self.mode!r})")
        if not self.horizon_h > 0:
            raise InputError(f"option 'horizon_h' must be > 0 (value {self.horizon_h!r})")
        if not 0 <= self.forecast_noise <= 1:
            raise InputError(f"option 'forecast_noise' must be within 0-1 (value {self.forecast_noise!r})")


@dataclass(frozen=True, eq=False)
class RunResult:
    """What a run produced. Arrays: ``power_kw`` (N, T), ``soc`` (N, T+1), ``site_kw`` (T), per vehicle (N).

    ``soc[:, t]`` is the SOC at the start of step t (``soc[:, T]`` at the end); before arrival it is the arrival
    SOC and after departure it stays at the departure SOC. ``unmet_kwh`` is the battery energy missing at
    departure versus ``soc_target`` [kWh]; ``unmet_reason`` names the binding limit. ``strategy_params`` are all
    the strategy's parameters (``Strategy.params``); ``strategy_report`` is what it reported about this run
    (``strategy_report.to_dict()`` is what files and the store keep). ``curtailed_kwh`` /
    ``curtailed_export_kwh`` (N) are the charging / discharging energies [kWh grid side] removed by the site
    protection at the import / export limit; ``requested_clip_count`` counts the setpoints the simulator changed
    (power bounds, SOC window, export protection), ``requested_clip_max_kw`` the largest change [kW].
    """

    scenario: Scenario
    strategy: str
    options: SimulationOptions
    power_kw: np.ndarray
    soc: np.ndarray
    site_kw: np.ndarray
    requested_clip_count: int
    requested_clip_max_kw: float
    curtailed_kwh: np.ndarray
    site_over_limit_steps: int
    unmet_kwh: np.ndarray
    unmet_reason: np.ndarray
    runtime_s: float
    strategy_params: dict[str, Any] = field(default_factory=dict)
    strategy_report: StrategyReport = field(default_factory=StrategyReport)
    curtailed_export_kwh: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.curtailed_export_kwh is None:  # results read back from files do not carry it
            object.__setattr__(self, "curtailed_export_kwh", np.zeros(self.scenario.n_vehicles))

    @property
    def ev_kw(self) -> np.ndarray:
        """Total EV power per step [kW]."""
        return self.power_kw.sum(axis=0)

    @property
    def energy_kwh(self) -> np.ndarray:
        """Battery energy (N, T+1) [kWh]."""
        return self.soc * self.scenario.vehicles.battery_kwh[:, None]


def unmet_reasons(
    scenario: Scenario,
    unmet_kwh: np.ndarray,
    curtailed_kwh: np.ndarray,
    strategy_reasons: Mapping[int, str] | None = None,
) -> np.ndarray:
    """Why each vehicle left below target: the binding limit (``""`` when the target was met).

    ``stay_too_short``: even full power from arrival cannot reach the target; ``site_limit``: the site protection
    curtailed it; ``strategy``: the strategy chose not to (e.g. a penalised trade-off). An optimiser may name the
    binding limit of its own plan (``strategy_reasons``: scenario vehicle index -> reason, its report's
    ``unmet_reason_by_vehicle``; the simulator adds ``frequency_response`` for a vehicle that delivered reserve
    activation and that the strategy did not name); it replaces ``strategy``. An index outside the scenario raises
    :class:`RunError`.
    """
    v = scenario.vehicles
    stay_h = (v.departure_step - v.arrival_step) * scenario.dt_h
    reachable = np.minimum(v.energy_ceiling_kwh, v.energy_arrival_kwh + v.charge_efficiency * v.max_charge_kw * stay_h)
    short = reachable < v.energy_target_kwh - 1e-6
    reason = np.where(short, "stay_too_short", np.where(curtailed_kwh > 1e-6, "site_limit", "strategy")).astype(object)
    if strategy_reasons:
        idx = np.fromiter(strategy_reasons.keys(), dtype=np.int64, count=len(strategy_reasons))
        named = np.array(list(strategy_reasons.values()), dtype=object)
        bad = (idx < 0) | (idx >= len(reason))
        if bad.any():
            raise RunError(
                f"strategy reported an unmet reason for vehicle index {int(idx[bad][0])}, outside the scenario's "
                f"{len(reason)} vehicles"
            )
        replace = reason[idx] == "strategy"
        reason[idx[replace]] = named[replace]
    return np.where(unmet_kwh > UNMET_TOL_KWH, reason, "").astype(object)


def simulate(
    scenario: Scenario,
    strategy: Strategy | str = "uncontrolled",
    options: SimulationOptions | None = None,
    **strategy_params: Any,
) -> RunResult:
    """Run ``strategy`` on ``scenario`` and return the physically enforced :class:`RunResult`.

    ``strategy`` is a registered name (built with ``strategy_params``) or an instance (then without parameters),
    which starts a new run (:meth:`~evfleet.strategies.base.Strategy.start_run`): nothing of a previous run carries
    over, so an instance run twice gives the same result and report.
    """
    opts = options or SimulationOptions()
    opts.validate()
    strat = get_strategy(strategy, **strategy_params) if isinstance(strategy, str) else strategy
    if strategy_params and not isinstance(strategy, str):
        raise InputError(f"parameters {sorted(strategy_params)} are for a strategy given by name, not an instance")
    strat.start_run()  # nothing of a previous run carries over
    t_start = time.perf_counter()
    n, T = scenario.n_vehicles, scenario.n_steps
    v = scenario.vehicles
    frequency = RealisedFrequency(scenario, frequency_seed(strat))
    engine = Engine(scenario, opts.v2g, frequency)
    power = np.zeros((n, T))
    soc = np.empty((n, T + 1))
    site = np.empty(T)
    soc[:, 0] = engine.e / v.battery_kwh
    dep = v.departure_step

    loop = None
    if opts.mode == "offline" and not strat.feedback:
        problem = build_problem(scenario, np.arange(n), v.energy_arrival_kwh.copy(), 0, T, opts.v2g)
        plan = strat.plan(problem)
        setpoints = np.asarray(plan.setpoint_kw, dtype=float)
        if setpoints.shape != (n, T):
            raise InputError(f"strategy {strat.name!r} returned shape {setpoints.shape}, expected {(n, T)}")
        reserve = None if plan.reserve_kw is None else np.asarray(plan.reserve_kw, dtype=float)
        if reserve is not None and reserve.shape != (n, T):
            raise InputError(f"strategy {strat.name!r} returned a reserve of shape {reserve.shape}, expected {(n, T)}")
    else:
        loop = RecedingLoop(
            scenario,
            strat,
            engine,
            online=opts.mode == "online",
            horizon_h=opts.horizon_h,
            forecast_noise=opts.forecast_noise,
            rng=np.random.default_rng(opts.seed),
        )
    for t in range(T):
        if loop is None:
            p, site[t] = engine.step(t, setpoints[:, t], None if reserve is None else reserve[:, t])
        else:
            p, site[t] = loop.step(t)
        power[:, t] = p
        soc[:, t + 1] = engine.e / v.battery_kwh
    runtime = time.perf_counter() - t_start
    e_dep = soc[np.arange(n), dep] * v.battery_kwh
    unmet = np.maximum(v.energy_target_kwh - e_dep, 0.0)
    unmet = np.where(unmet > ENERGY_EPS_KWH, unmet, 0.0)
    report = copy.deepcopy(strat.report)
    if engine.reserve_planned:
        # What the reserve delivered is measured here, with the realised frequency (the strategy never saw it).
        for i in np.flatnonzero(engine.fcr_active):  # once per run, not per step
            report.unmet_reason_by_vehicle.setdefault(int(i), "frequency_response")
        report.reserve = dataclasses.replace(
            report.reserve or ReserveReport(),
            fcr_energy_up_kwh=engine.fcr_up_kwh,
            fcr_energy_down_kwh=engine.fcr_down_kwh,
            fcr_projection_max_kw=engine.fcr_cut_max_kw,
            frequency_source=frequency.source,
        )
    return RunResult(
        scenario=scenario,
        strategy=strat.name,
        options=opts,
        power_kw=power,
        soc=soc,
        site_kw=site,
        requested_clip_count=engine.clip_count,
        requested_clip_max_kw=engine.clip_max_kw,
        curtailed_kwh=engine.curtailed_kwh,
        site_over_limit_steps=engine.over_limit_steps,
        unmet_kwh=unmet,
        unmet_reason=unmet_reasons(scenario, unmet, engine.curtailed_kwh, report.unmet_reason_by_vehicle),
        runtime_s=runtime,
        strategy_params=strat.params,
        strategy_report=report,
        curtailed_export_kwh=engine.curtailed_export_kwh,
    )
