"""The live plan: a :class:`ChargingProblem` of the vehicles connected now, an online strategy, the depot's limits.

This is the one module of ``evfleet.operate`` that imports the problem type (from ``evfleet.strategies``); the
strategies are the simulator's, unchanged (``get_strategy(name).first_step(problem)``). The problem is built
here directly from the sessions (arrays of length n connected vehicles, H steps of ``plan_step_minutes``):
vehicle i is connected from column 0 to its departure (rounded down to a column edge, at least one column: never
more time than it has), its energy is its SOC times its battery, its target and
limits come from the session (catalogue, EVSE, ISO 15118), the base load is the site's forecast and the import
limit is the binding site limit minus what the controller cannot steer (connectors that rejected a profile or do
not answer, counted at their last measured power).

The problem has one site limit and per-vehicle limits, no station limit: :func:`first_step_within_stations` makes
the stations' rooms explicit to the strategy. Each vehicle's limit is first its EVSE's and its station's room; when
the strategy's first column still puts more on a station than its room, that station's vehicles are capped at their
proportional share of the room and the strategy plans again, so that the power a full station cannot take goes to
the vehicles of stations with room (the strategy decides who gets it; at most one round per station).

The first column is then made feasible for the hardware (:func:`enforce_limits`): each EVSE at most its own and its
vehicle's limit, each station at most its limit, and the site at most its limit (proportional cuts).
Units: power [kW], energy [kWh], time [h].
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from evfleet._common.tolerances import POWER_EPS_KW, QP_NOISE_KW
from evfleet.inputs.tariffs import Tariff, load_tariff
from evfleet.operate.config import DepotConfig
from evfleet.operate.registry import Evse, Station
from evfleet.physics import NOMINAL_HZ
from evfleet.problem import ChargingProblem
from evfleet.strategies import Strategy, get_strategy

__all__ = [
    "Plan",
    "build_live_problem",
    "enforce_limits",
    "first_step_within_stations",
    "load_site_tariff",
    "make_strategy",
    "plan_depot",
    "safe_shares_kw",
]


@dataclass
class Plan:
    """One control cycle's plan: setpoints [kW] per (station id, EVSE id) and the site's figures [kW]."""

    at: datetime
    strategy: str
    setpoints_kw: dict[tuple[str, int], float]
    fixed_kw: dict[tuple[str, int], float]
    limit_kw: float
    base_kw: float
    runtime_s: float
    n_vehicles: int
    notes: list[str] = field(default_factory=list)

    @property
    def total_kw(self) -> float:
        return float(sum(self.setpoints_kw.values()) + sum(self.fixed_kw.values()))

    def view(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "strategy": self.strategy,
            "n_vehicles": self.n_vehicles,
            "limit_kw": self.limit_kw,
            "base_kw": self.base_kw,
            "planned_ev_kw": self.total_kw,
            "runtime_s": self.runtime_s,
            "setpoints": [
                {"station_id": s, "evse_id": e, "setpoint_kw": kw, "steered": True}
                for (s, e), kw in self.setpoints_kw.items()
            ]
            + [
                {"station_id": s, "evse_id": e, "setpoint_kw": kw, "steered": False}
                for (s, e), kw in self.fixed_kw.items()
            ],
            "notes": list(self.notes),
        }


def make_strategy(name: str) -> Strategy:
    """An online strategy of ``evfleet.strategies`` by name (raises ``InputError`` for an unknown one)."""
    return get_strategy(name)


def safe_shares_kw(config: DepotConfig, stations: list[Station]) -> dict[str, float]:
    """Each station's fail-safe cap [kW]: its share of ``limit - worst base load`` in proportion to its maximum
    (never above its maximum), so that the caps of all registered stations sum to at most the site's room."""
    room = max(config.site.limit_kw - config.site.worst_base_kw, 0.0)
    total = sum(st.max_power_kw for st in stations)
    if total <= 0:
        return {}
    scale = min(1.0, room / total)
    return {st.id: math.floor(st.max_power_kw * scale * 10.0) / 10.0 for st in stations}


def _station_cap_kw(st: Station) -> float:
    """A station's room [kW]: its maximum, or its accepted fail-safe cap when lower (the station enforces it)."""
    if st.default_profile_status == "Accepted" and st.default_profile_kw is not None:
        return min(st.max_power_kw, st.default_profile_kw)
    return st.max_power_kw


def build_live_problem(
    config: DepotConfig,
    evses: list[tuple[Station, Evse]],
    now: datetime,
    import_limit_kw: float,
    tariff: Tariff | None = None,
) -> ChargingProblem:
    """The :class:`ChargingProblem` of the sessions on ``evses`` at ``now`` (see module docstring)."""
    c, d = config.control, config.defaults
    dt_h = c.plan_step_minutes / 60.0
    sessions = [e.session for _st, e in evses]
    n = len(sessions)
    horizon = max(1, round(c.horizon_h / dt_h))
    dep_h = np.array(
        [max((s.departure - now).total_seconds() / 3600.0, dt_h) if s.departure else c.horizon_h for s in sessions],
        dtype=float,
    )
    # a departure between two column edges is rounded down to the edge before it (at least the first column): the
    # plan never counts on time the vehicle does not have (rounded up, 16 min left counted as 30 and halved the
    # power a vehicle needed to meet its target)
    dep_steps = np.maximum(np.floor(dep_h / dt_h + 1e-9), 1).astype(np.int64)
    H = int(min(horizon, max(1, int(dep_steps.max()) if n else 1)))
    battery = np.array([s.battery_kwh for s in sessions], dtype=float)
    soc = np.array([s.soc for s in sessions], dtype=float)
    target = np.array([s.target_soc for s in sessions], dtype=float)
    energy = soc * battery
    times = pd.date_range(
        pd.Timestamp(now).tz_convert(config.site.timezone), periods=H, freq=f"{c.plan_step_minutes}min"
    )
    if tariff is not None:
        price_imp, price_exp, periods = tariff.price_series(times)
    else:
        price_imp, price_exp, periods = np.zeros(H), np.zeros(H), np.full(H, "-", dtype=object)
    return ChargingProblem(
        dt_h=dt_h,
        t0=0,
        n_steps=H,
        vehicle_index=np.arange(n),
        arrival=np.zeros(n, dtype=np.int64),
        departure=np.minimum(dep_steps, H),
        departs_in_horizon=dep_steps <= H,
        battery_kwh=battery,
        energy_kwh=energy,
        energy_target_kwh=target * battery,
        energy_floor_kwh=np.minimum(d.soc_min, soc) * battery,
        energy_v2g_floor_kwh=np.full(n, d.soc_min) * battery,
        energy_ceiling_kwh=np.maximum(1.0, soc) * battery,
        max_charge_kw=np.array([s.max_charge_kw for s in sessions], dtype=float),
        max_discharge_kw=np.array([s.max_discharge_kw for s in sessions], dtype=float),
        charge_efficiency=np.array([s.charge_efficiency for s in sessions], dtype=float),
        discharge_efficiency=np.full(n, 0.92),
        base_load_kw=np.full(H, config.site.base_load_kw),
        pv_kw=np.zeros(H),
        price_import_mad_per_kwh=np.asarray(price_imp, dtype=float),
        price_export_mad_per_kwh=np.asarray(price_exp, dtype=float),
        tou_period=np.asarray(periods),
        import_limit_kw=float(import_limit_kw),
        export_limit_kw=float(config.site.export_limit_kw),
        degradation_mad_per_kwh=0.0,
        v2g=bool(any(s.max_discharge_kw > 0 for s in sessions)),
        step_minutes=int(c.plan_step_minutes),
        times=times,
        energy_arrival_kwh=energy,
        frequency_forecast_hz=np.full(H, NOMINAL_HZ),  # a live depot has no frequency forecast: nominal
        scenario_name=config.site.name,
    )


def enforce_limits(
    setpoint_kw: np.ndarray,
    evse_max_kw: np.ndarray,
    station_of: np.ndarray,
    station_room_kw: np.ndarray,
    site_room_kw: float,
    evse_max_discharge_kw: np.ndarray | None = None,
    export_room_kw: float = 0.0,
) -> np.ndarray:
    """Setpoints [kW] within each EVSE's limit, each station's room (indexed by ``station_of``) and the site's room
    (proportional cuts; vectorised). Negative (discharge, V2G) only down to ``-evse_max_discharge_kw`` (0 where not
    given). Charging alone must fit the rooms: a discharge is never counted as room for charging, since a vehicle
    may stop discharging at any moment. Discharges are cut (proportionally) so that the site exports at most
    ``export_room_kw`` (``export limit + base load`` minus the charging)."""
    lower = -np.maximum(evse_max_discharge_kw, 0.0) if evse_max_discharge_kw is not None else 0.0
    p = np.clip(np.nan_to_num(setpoint_kw), lower, np.maximum(evse_max_kw, 0.0))
    if p.size == 0:
        return p
    charge, discharge = np.maximum(p, 0.0), np.minimum(p, 0.0)
    per_station = np.bincount(station_of, weights=charge, minlength=len(station_room_kw))
    room_per_station = np.maximum(np.asarray(station_room_kw, dtype=float), 0.0)
    over = per_station > room_per_station  # never 0/0: a station with no room and no charging is not over
    scale = np.divide(room_per_station, per_station, out=np.ones_like(per_station), where=over)
    charge = charge * scale[station_of]
    total = charge.sum()
    room = max(site_room_kw, 0.0)
    if total > room:
        charge = charge * (room / total)
    charge = np.floor(charge * 10.0 + 1e-9) / 10.0  # whole 0.1 kW towards 0 (the stations' resolution)
    fed = -discharge.sum()
    export_room = max(export_room_kw + charge.sum(), 0.0)
    if fed > export_room:
        discharge = discharge * (export_room / fed)
    return charge - np.floor(-discharge * 10.0 + 1e-9) / 10.0


def first_step_within_stations(
    strategy: Strategy,
    problem: ChargingProblem,
    evse_max_kw: np.ndarray,
    station_of: np.ndarray,
    station_room_kw: np.ndarray,
    max_rounds: int = 16,
) -> tuple[np.ndarray, int]:
    """The strategy's first column [kW] (n,) planned within each station's room [kW] (indexed by ``station_of``),
    and how many re-plans that took.

    Each vehicle's ``max_charge_kw`` is first at most its EVSE's limit and its station's room. While the charging of
    the first column exceeds some stations' rooms, the vehicles of those stations are capped at their proportional
    share of the room (what :func:`enforce_limits` would give them) and the strategy plans again: the power those
    stations cannot take is then the strategy's to give to the others (e.g. load balancing's least-laxity order).
    A capped station fits its room in every later round, so there are at most as many re-plans as stations (and at
    most ``max_rounds``, a bound on a solver's time: what is still over a station's room is then cut by
    :func:`enforce_limits`)."""
    room = np.maximum(np.asarray(station_room_kw, dtype=float), 0.0)
    cap = np.minimum(np.minimum(problem.max_charge_kw, np.maximum(evse_max_kw, 0.0)), room[station_of])
    rounds = 0
    while True:
        prob = (
            problem if np.array_equal(cap, problem.max_charge_kw) else dataclasses.replace(problem, max_charge_kw=cap)
        )
        raw = np.asarray(strategy.first_step(prob), dtype=float)
        charge = np.clip(np.nan_to_num(raw), 0.0, cap)
        per_station = np.bincount(station_of, weights=charge, minlength=len(room))
        over = per_station > room + POWER_EPS_KW
        if not over.any() or rounds >= min(len(room), max_rounds):
            # a vehicle run at its cap within a solver's noise is at its cap (else the 0.1 kW rounding loses 0.1 kW)
            at_cap = (raw < cap) & (raw >= cap - QP_NOISE_KW)
            return np.where(at_cap, cap, raw), rounds
        share = np.divide(room, per_station, out=np.ones_like(room), where=over)
        cap = np.where(over[station_of], charge * share[station_of], cap)
        rounds += 1


def plan_depot(
    config: DepotConfig,
    strategy: Strategy,
    evses: list[tuple[Station, Evse]],
    now: datetime,
    tariff: Tariff | None = None,
) -> Plan:
    """Plan the connected ``evses``: steered ones get setpoints; offline or failed ones are counted at their last
    measured power (or their EVSE maximum when never measured)."""
    t0 = time.perf_counter()
    steered: list[tuple[Station, Evse]] = []
    fixed: dict[tuple[str, int], float] = {}
    for st, e in evses:
        if st.online and e.failed is None:
            steered.append((st, e))
        else:
            # counted at its last power, never below 0: an EVSE out of control may stop discharging at any time
            fixed[(st.id, e.id)] = max(float(e.measured_kw if e.measured_kw is not None else e.max_power_kw), 0.0)
    limit = config.site.limit_kw
    site_room = limit - config.site.base_load_kw - sum(fixed.values())
    notes = []
    if fixed:
        notes.append(f"{len(fixed)} EVSE(s) not steered (offline, rejected or silent): counted at their last power")
    if tariff is None and strategy.name in PRICE_DRIVEN:
        notes.append(f"no site.tariff: every price is 0, so {strategy.name} has no price to follow and may defer "
                     "charging towards each departure; set site.tariff")  # fmt: skip
    setpoints: dict[tuple[str, int], float] = {}
    if steered:
        problem = build_live_problem(config, steered, now, limit - sum(fixed.values()), tariff)
        station_ids = list(dict.fromkeys(st.id for st, _e in steered))
        index = {sid: i for i, sid in enumerate(station_ids)}
        by_id = {st.id: st for st, _e in steered}
        fixed_per_station = np.zeros(len(station_ids))
        for (sid, _eid), kw in fixed.items():
            if sid in index:
                fixed_per_station[index[sid]] += kw
        station_room = np.array([_station_cap_kw(by_id[s]) for s in station_ids]) - fixed_per_station
        station_of = np.array([index[st.id] for st, _e in steered], dtype=np.int64)
        evse_max = np.minimum(np.array([e.max_power_kw for _st, e in steered]), problem.max_charge_kw)
        raw, rounds = first_step_within_stations(strategy, problem, evse_max, station_of, station_room)
        if rounds:
            notes.append(f"station limits bind: planned again with those stations' vehicles capped ({rounds}x)")
        export_room = config.site.export_limit_kw + config.site.base_load_kw - sum(fixed.values())
        p = enforce_limits(raw, evse_max, station_of, station_room, site_room, problem.max_discharge_kw, export_room)
        if float(raw.min(initial=0.0)) < -POWER_EPS_KW and not problem.v2g:
            notes.append("discharge asked where no vehicle may discharge (catalogue, EVSE or OCPP 1.6): set to 0")
        if float(np.maximum(raw, 0).sum()) > float(np.maximum(p, 0).sum()) + 10 * POWER_EPS_KW + 0.1 * len(p):
            notes.append(f"the strategy's {raw.sum():.1f} kW were cut to {p.sum():.1f} kW by the hardware limits")
        setpoints = {(st.id, e.id): float(v) for (st, e), v in zip(steered, p, strict=True)}
    return Plan(
        at=now,
        strategy=strategy.name,
        setpoints_kw=setpoints,
        fixed_kw=fixed,
        limit_kw=limit,
        base_kw=config.site.base_load_kw,
        runtime_s=time.perf_counter() - t0,
        n_vehicles=len(evses),
        notes=notes,
    )


#: strategies whose plan follows the prices: without a tariff (every price 0) any timing that meets the targets is
#: optimal for them, so their plan may defer charging towards the departures (the plan says so in its notes)
PRICE_DRIVEN = frozenset({"price_optimization", "grid_support"})


def load_site_tariff(config: DepotConfig) -> Tariff | None:
    """The site's tariff (``site.tariff``), or None: every price is then 0, and a :data:`PRICE_DRIVEN` strategy may
    defer charging towards the departures (its plan's notes say so)."""
    return load_tariff(config.site.tariff) if config.site.tariff else None
