"""The time-stepped simulator: applies a strategy's setpoints and enforces the physics.

Units: power [kW] grid side (positive = charging), energy [kWh] battery side, ``dt_h`` [h], SOC fraction 0-1.

Per step t, vectorised over all vehicles (no Python loop over vehicles):

1. setpoints are zero outside ``arrival_step <= t < departure_step``; with V2G off, negative setpoints are 0;
2. clipped to ``[-max_discharge_kw, max_charge_kw]``; when the scenario has the optional per-session fields
   ``taper_soc``/``taper_end_kw`` (DC charging curve, ``docs/catalog.md``) the charge limit above the knee falls
   linearly with the SOC at the start of the step: ``max_charge_kw - (max_charge_kw - taper_end_kw) *
   (soc - taper_soc) / (1 - taper_soc)``;
3. clipped so that the battery stays within its window: charging stops at ``max(soc_max, soc_arrival)``,
   V2G stops at ``soc_min`` (never below ``min(soc_min, soc_arrival)``);
4. site protection: if ``base - pv + sum(p)`` would exceed ``import_limit_kw``, charging is curtailed
   proportionally (never silently exceeded); likewise discharging against ``export_limit_kw``;
5. ``e[t+1] = e[t] + eta_c * max(p, 0) * dt_h - max(-p, 0) * dt_h / eta_d``.

Every clip is counted, so a test can assert that an optimiser's schedule needed none.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evfleet._common.errors import InputError, RunError
from evfleet.inputs.charging_curve import taper_cuts, taper_fields
from evfleet.scenario import Scenario
from evfleet.strategies import ChargingProblem, Strategy, get_strategy
from evfleet.strategies.report import StrategyReport

__all__ = ["Engine", "RunResult", "SimulationOptions", "build_problem", "simulate", "unmet_reasons"]

_TOL_KW = 1e-6


@dataclass(frozen=True)
class SimulationOptions:
    """Run options. ``mode``: ``offline`` (perfect foresight) or ``online`` (receding horizon).

    ``horizon_h`` [h] caps the online look-ahead; ``forecast_noise`` is the relative standard deviation of the
    multiplicative noise on base load and PV forecasts in online mode (0 = perfect forecasts); ``seed`` drives it.
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
    (``strategy_report.to_dict()`` is what files and the store keep).
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

    @property
    def ev_kw(self) -> np.ndarray:
        """Total EV power per step [kW]."""
        return self.power_kw.sum(axis=0)

    @property
    def energy_kwh(self) -> np.ndarray:
        """Battery energy (N, T+1) [kWh]."""
        return self.soc * self.scenario.vehicles.battery_kwh[:, None]


def build_problem(
    scenario: Scenario,
    idx: np.ndarray,
    energy_kwh: np.ndarray,
    t0: int,
    n_steps: int,
    v2g: bool,
    base_load_kw: np.ndarray | None = None,
    pv_kw: np.ndarray | None = None,
) -> ChargingProblem:
    """The :class:`ChargingProblem` for vehicles ``idx`` with battery energy ``energy_kwh`` from step ``t0``.

    ``base_load_kw``/``pv_kw`` override the scenario's series over the window (forecasts).
    """
    v = scenario.vehicles
    t1 = t0 + n_steps
    arrival = np.maximum(v.arrival_step[idx] - t0, 0)
    dep_abs = v.departure_step[idx]
    departure = np.minimum(dep_abs - t0, n_steps)
    s = scenario.series
    return ChargingProblem(
        dt_h=scenario.dt_h,
        t0=t0,
        n_steps=n_steps,
        vehicle_index=idx,
        arrival=arrival,
        departure=departure,
        departs_in_horizon=dep_abs <= t1,
        battery_kwh=v.battery_kwh[idx],
        energy_kwh=energy_kwh,
        energy_target_kwh=v.energy_target_kwh[idx],
        energy_floor_kwh=v.energy_floor_kwh[idx],
        energy_v2g_floor_kwh=v.energy_v2g_floor_kwh[idx],
        energy_ceiling_kwh=v.energy_ceiling_kwh[idx],
        max_charge_kw=v.max_charge_kw[idx],
        max_discharge_kw=v.max_discharge_kw[idx] if v2g else np.zeros(len(idx)),
        charge_efficiency=v.charge_efficiency[idx],
        discharge_efficiency=v.discharge_efficiency[idx],
        base_load_kw=s["base_load_kw"][t0:t1] if base_load_kw is None else base_load_kw,
        pv_kw=s["pv_kw"][t0:t1] if pv_kw is None else pv_kw,
        price_import_mad_per_kwh=s["price_import_mad_per_kwh"][t0:t1],
        price_export_mad_per_kwh=s["price_export_mad_per_kwh"][t0:t1],
        tou_period=scenario.tou_period[t0:t1],
        import_limit_kw=scenario.import_limit_kw,
        export_limit_kw=scenario.export_limit_kw,
        degradation_mad_per_kwh=scenario.degradation_mad_per_kwh,
        v2g=v2g,
        frequency_hz=s["frequency_hz"][t0:t1] if "frequency_hz" in s else None,
        scenario_name=scenario.name,
        extra={
            "step_minutes": scenario.step_minutes,
            "times": scenario.times[t0:t1],
            "energy_arrival_kwh": v.energy_arrival_kwh[idx],
            # DC-curve fields when present: limit p <= max_charge_kw - (max_charge_kw - taper_end_kw)
            # * (soc - taper_soc) / (1 - taper_soc) above the knee (docs/catalog.md).
            **{k: np.asarray(v.extra[k], dtype=float)[idx] for k in ("taper_soc", "taper_end_kw") if k in v.extra},
        },
    )


class Engine:
    """Vectorised physics state of one run; ``step(t, setpoint_kw)`` applies one step (simulate and live mode)."""

    def __init__(self, scenario: Scenario, v2g: bool) -> None:
        v = scenario.vehicles
        self.sc = scenario
        self.v2g = v2g
        self.dt_h = scenario.dt_h
        self.e = v.energy_arrival_kwh.copy()
        self.e_ceiling = v.energy_ceiling_kwh
        self.e_v2g_floor = v.energy_v2g_floor_kwh
        self.cmax = v.max_charge_kw
        self.dmax = v.max_discharge_kw if v2g else np.zeros(len(v))
        self.eta_c = v.charge_efficiency
        self.eta_d = v.discharge_efficiency
        taper = taper_fields(v.extra, len(v))  # (knee SOC, end power [kW]) or None
        self.taper_cut: tuple[np.ndarray, np.ndarray] | None = None
        if taper is not None:  # linear cut p <= a + (b / battery_kwh) * e  (exact above the knee, slack below)
            a, b = taper_cuts(v.max_charge_kw, taper[0], taper[1])
            self.taper_cut = (a, b / v.battery_kwh)
        self.net_base = scenario.base_load_kw - scenario.pv_kw
        self.clip_count = 0
        self.clip_max_kw = 0.0
        self.curtailed_kwh = np.zeros(len(v))
        self.over_limit_steps = 0

    def connected(self, t: int) -> np.ndarray:
        v = self.sc.vehicles
        return (v.arrival_step <= t) & (t < v.departure_step)

    def step(self, t: int, setpoint_kw: np.ndarray) -> tuple[np.ndarray, float]:
        """Apply ``setpoint_kw`` (N,) at step t; return the applied power (N,) and site power [kW]."""
        conn = self.connected(t)
        p = np.where(conn, setpoint_kw, 0.0)
        requested = p.copy()
        if not self.v2g:
            p = np.maximum(p, 0.0)
        dt = self.dt_h
        charge_room = np.maximum(self.e_ceiling - self.e, 0.0) / (self.eta_c * dt)
        discharge_room = np.maximum(self.e - self.e_v2g_floor, 0.0) * self.eta_d / dt
        upper = np.minimum(self.cmax, charge_room)
        if self.taper_cut is not None:
            upper = np.minimum(upper, self.taper_cut[0] + self.taper_cut[1] * self.e)
        lower = -np.minimum(self.dmax, discharge_room)
        p = np.clip(p, lower, upper)
        diff = np.abs(p - requested)
        worst = float(diff.max()) if diff.size else 0.0
        if worst > _TOL_KW:
            self.clip_count += int((diff > _TOL_KW).sum())
            self.clip_max_kw = max(self.clip_max_kw, worst)
        site = self.net_base[t] + p.sum()
        limit = self.sc.import_limit_kw
        if site > limit + _TOL_KW:
            pos = np.maximum(p, 0.0)
            total = pos.sum()
            if total > 0:
                factor = max(0.0, 1.0 - (site - limit) / total)
                cut = pos * (1.0 - factor)
                self.curtailed_kwh += cut * dt
                p = p - cut
                site = self.net_base[t] + p.sum()
            if site > limit + _TOL_KW:
                self.over_limit_steps += 1
        elif site < -self.sc.export_limit_kw - _TOL_KW:
            neg = np.maximum(-p, 0.0)
            total = neg.sum()
            if total > 0:
                factor = max(0.0, 1.0 - (-self.sc.export_limit_kw - site) / total)
                p = p + neg * (1.0 - factor)
                site = self.net_base[t] + p.sum()
            if site < -self.sc.export_limit_kw - _TOL_KW:
                self.over_limit_steps += 1
        self.e = self.e + self.eta_c * np.maximum(p, 0.0) * dt - np.maximum(-p, 0.0) * dt / self.eta_d
        return p, float(site)


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
    ``unmet_reason_by_vehicle``); it replaces ``strategy``. An index outside the scenario raises :class:`RunError`.
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
    return np.where(unmet_kwh > 1e-3, reason, "").astype(object)


def _forecast(series: np.ndarray, t0: int, n: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    window = series[t0 : t0 + n]
    if noise <= 0:
        return window
    # Error grows with lead time (sqrt of the lead in steps), first step known exactly.
    lead = np.sqrt(np.arange(n))
    return np.maximum(window * (1.0 + noise * lead / max(lead[-1], 1.0) * rng.standard_normal(n)), 0.0)


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
    engine = Engine(scenario, opts.v2g)
    power = np.zeros((n, T))
    soc = np.empty((n, T + 1))
    site = np.empty(T)
    soc[:, 0] = engine.e / v.battery_kwh
    dep = v.departure_step

    plan = None
    if opts.mode == "offline" and not strat.feedback:
        problem = build_problem(scenario, np.arange(n), v.energy_arrival_kwh.copy(), 0, T, opts.v2g)
        plan = np.asarray(strat.schedule(problem), dtype=float)
        if plan.shape != (n, T):
            raise InputError(f"strategy {strat.name!r} returned shape {plan.shape}, expected {(n, T)}")
    rng = np.random.default_rng(opts.seed)
    horizon_steps = max(1, round(opts.horizon_h / scenario.dt_h))
    for t in range(T):
        if plan is not None:
            setpoint = plan[:, t]
        else:
            idx = np.flatnonzero(engine.connected(t))
            setpoint = np.zeros(n)
            if idx.size:
                # Feedback rules see the same look-ahead window (they need the departure times), no forecasts.
                h = int(min(T - t, max(1, min(horizon_steps, int(dep[idx].max()) - t))))
                if strat.feedback:
                    problem = build_problem(scenario, idx, engine.e[idx], t, h, opts.v2g)
                    setpoint[idx] = strat.first_step(problem)
                else:
                    base_fc = _forecast(scenario.base_load_kw, t, h, opts.forecast_noise, rng)
                    pv_fc = _forecast(scenario.pv_kw, t, h, opts.forecast_noise, rng)
                    problem = build_problem(scenario, idx, engine.e[idx], t, h, opts.v2g, base_fc, pv_fc)
                    setpoint[idx] = strat.first_step(problem)
        p, site[t] = engine.step(t, setpoint)
        power[:, t] = p
        soc[:, t + 1] = engine.e / v.battery_kwh
    runtime = time.perf_counter() - t_start
    e_dep = soc[np.arange(n), dep] * v.battery_kwh
    unmet = np.maximum(v.energy_target_kwh - e_dep, 0.0)
    unmet = np.where(unmet > 1e-9, unmet, 0.0)
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
        unmet_reason=unmet_reasons(scenario, unmet, engine.curtailed_kwh, strat.report.unmet_reason_by_vehicle),
        runtime_s=runtime,
        strategy_params=strat.params,
        strategy_report=copy.deepcopy(strat.report),
    )
