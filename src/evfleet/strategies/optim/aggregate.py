"""Exact aggregation of plain vehicles into "super-vehicles" (offline LP/QP), and the disaggregation of a solution.

Units: power [kW], energy [kWh], time [h].

Vehicles couple only through the site rows, so any objective that sees the plain vehicles (no V2G, no DC taper,
no reserve: :func:`~evfleet.strategies.optim.model.model_sets`) only through the site power and per-column charge
costs depends on them only through each group's aggregate profile. A group of k plain vehicles is replaced by one
plain vehicle when the aggregate feasible set is exactly the Minkowski sum of the members' sets.

Per plain vehicle i (window ``[a, d)``, charging columns ``t`` with ``cap_t = eta*cmax*dt_t`` [kWh], 0 where the
net base load alone is above the import limit): the energy it takes ``E_i = sum_t y_i,t``, ``0 <= y_i,t <=
cap_t``, ``E_i <= C_i`` with ``C_i = min(hi_i - e0_i, sum_t cap_t)``, and the penalty ``M * u_i``,
``u_i >= R_i - E_i`` with ``R_i = target_i - e0_i``. With ``N_i = clip(R_i, 0, C_i)`` the "useful" energy and
``F_i = max(R_i, 0) - N_i`` the unmet energy no schedule avoids, ``min u_i = F_i + (N_i - E_i)^+``.

**Grouping rule.** Same window, departure flag, ``cmax`` and ``eta_c``, and both ``N_i`` and ``C_i`` in the same
closed bin ``[j*q, (j+1)*q]`` with ``q = eta*cmax*dt_h`` (one step at full power; every column length is a
multiple of ``dt_h``). The super-vehicle: ``cmax = k*cmax``, ``e0 = 0``, ceiling ``sum C_i``, target
``sum N_i``, and the constant ``M * sum F_i`` is added to the objective.

**Proof of exactness.** (<=) Any member schedule gives the aggregate ``Y_t = sum_i y_i,t``, feasible for the
super-vehicle, with ``sum_i (F_i + (N_i - E_i)^+) >= sum F + (sum N - E)^+``. (>=) Given a feasible aggregate
``Y`` (``0 <= Y_t <= k*cap_t``, ``E = sum Y <= sum C``), split ``E`` by water-filling: ``e_i = min(N_i, lam)``
if ``E <= sum N``, else ``e_i = clip(lam, N_i, C_i)``; the penalty is then ``sum F + (sum N - E)^+``, and a case
analysis on ``lam`` shows that every ``e_i`` lies in one common bin ``[j*q, (j+1)*q]`` (or all are equal). Each
member's set ``{y : 0 <= y_t <= cap_t, sum y = e_i}`` is the base polytope of the submodular function
``f_i(T) = min(cap(T), e_i)``; the Minkowski sum of base polytopes is the base polytope of the sum of the functions
(Fujishige, "Submodular Functions and Optimization", 2nd ed. 2005, Thm 3.8; Schrijver, "Combinatorial
Optimization", 2003, Cor. 44.6a), ``sum_i min(cap(T), e_i)``. Since every ``cap(T)`` is a multiple of ``q`` and
no multiple of ``q`` lies strictly between two ``e_i``, this equals ``min(k*cap(T), E)``, the function of the
naive aggregate ``{0 <= Y_t <= k*cap_t, sum Y = E}``: every feasible aggregate profile has a feasible split.
(Without the bin rule it fails: two members of one 2-step window needing 2 steps and 0 steps of energy cannot
share an aggregate that charges 2 units in one step.)

**Disaggregation** (:func:`disaggregate`): the split above, then column by column the "largest remaining
energy first" level rule (Horvath, Lam & Sethi, J. ACM 24(1), 1977): ``y_i,t = clip(r_i - mu, 0, min(cap_t,
r_i))`` with ``sum_i y_i,t = Y_t`` per group (the exact projection of :mod:`~evfleet.strategies.optim.level`).
The residual energy is checked; a split that misses by more than ``1e-6`` kWh is reported (``ok`` False) and the
caller solves the plain model instead (never a silent approximation), as it does when HiGHS fails on the merged
model. Vehicles that can take no energy (``C_i = 0``) or need every step at full power are not merged.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from evfleet._common.tolerances import ENERGY_TOL_KWH
from evfleet.problem import ChargingProblem
from evfleet.strategies.base import StrategyError
from evfleet.strategies.optim.highs import Solution, solve
from evfleet.strategies.optim.level import project_box_sum
from evfleet.strategies.optim.model import Objective, build_model, col_dt, model_sets

__all__ = ["PlainAggregation", "aggregate_plain", "charge_upper_kw", "disaggregate", "solve_merged"]

#: Largest energy a disaggregated schedule may miss its split by [kWh] before the aggregation is refused.
SPLIT_TOL_KWH = 1e-6


@dataclass(frozen=True, eq=False)
class PlainAggregation:
    """The aggregated problem and the maps back to the original vehicles.

    ``problem``: the kept vehicles (``keep``, original indices, rows ``0..len(keep)-1``) then one super-vehicle
    per group. ``members`` (m,) original indices of the merged vehicles, ``group`` (m,) their group, ``need_kwh``
    ``N_i``, ``cap_kwh`` ``C_i``, ``forced_kwh`` ``F_i`` (module docstring); ``offset`` = ``M * sum F`` [objective].
    """

    problem: ChargingProblem
    keep: np.ndarray
    members: np.ndarray
    group: np.ndarray
    n_groups: int
    need_kwh: np.ndarray
    cap_kwh: np.ndarray
    forced_kwh: np.ndarray
    offset: float


def charge_upper_kw(problem: ChargingProblem) -> np.ndarray:
    """The model's charging bound (n, H) [kW]: ``max_charge_kw`` while connected, 0 where the net base load alone is
    above the import limit (the ``ch`` column bounds of :func:`~evfleet.strategies.optim.model.column_bounds`)."""
    no_charge = problem.net_base_kw() > max(problem.import_limit_kw, 0.0) - 1e-9
    return np.where(problem.connected() & ~no_charge[None, :], problem.max_charge_kw[:, None], 0.0)


def _window_cap_kwh(problem: ChargingProblem) -> np.ndarray:
    """Energy each vehicle can take at full power over its window [kWh] (the ``cap_t`` summed)."""
    no_charge = problem.net_base_kw() > max(problem.import_limit_kw, 0.0) - 1e-9
    dt_ok = np.where(no_charge, 0.0, col_dt(problem))
    cum = np.concatenate([[0.0], np.cumsum(dt_ok)])
    hours = cum[problem.departure] - cum[np.minimum(problem.arrival, problem.departure)]
    return problem.charge_efficiency * problem.max_charge_kw * hours


def aggregate_plain(problem: ChargingProblem, objective: Objective, allow_qp: bool = False) -> PlainAggregation | None:
    """Merge the plain vehicles of ``problem`` by the grouping rule (module docstring); ``None`` when no two merge,
    the objective holds a reserve (every vehicle then has its own band) or is the QP (HiGHS's interior-point QP
    solver HiPO fails on some merged models where the plain one solves: not merged until understood), unless
    ``allow_qp`` (:mod:`~evfleet.strategies.optim.relaxed`, which falls back to the full model on a failure)."""
    if objective.reserve_revenue is not None or not objective.aggregate_plain:
        return None
    if objective.site_quadratic and not allow_qp:
        return None
    if problem.n_vehicles < 2:
        return None
    ms = model_sets(problem, objective)
    length = problem.departure - problem.arrival
    window = _window_cap_kwh(problem)
    cap_all = np.minimum(np.maximum(ms.hi - ms.e0, 0.0), window)
    need_all = np.where(problem.departs_in_horizon, problem.energy_target_kwh - ms.e0, 0.0)
    # a vehicle that can take nothing, or must charge at full power at every step to meet its target, stays as
    # is (merged, the latter would leave the interior-point QP solver a super-vehicle without interior)
    plain = ~ms.stateful & (length > 0) & (cap_all > ENERGY_TOL_KWH) & (need_all < window - ENERGY_TOL_KWH)
    members = np.flatnonzero(plain)
    if members.size < 2:
        return None
    e0 = ms.e0[members]
    cap = cap_all[members]
    departs = problem.departs_in_horizon[members]
    need_raw = np.where(departs, problem.energy_target_kwh[members] - e0, 0.0)
    need = np.clip(need_raw, 0.0, cap)
    forced = np.maximum(need_raw, 0.0) - need
    cmax = problem.max_charge_kw[members].astype(float)
    eta = problem.charge_efficiency[members].astype(float)
    q = eta * cmax * problem.dt_h
    safe_q = np.where(q > 0, q, 1.0)
    bin_need = np.where(q > 0, np.floor(need / safe_q), 0.0)
    bin_cap = np.where(q > 0, np.floor(cap / safe_q), 0.0)
    keys = np.column_stack(
        [problem.arrival[members], problem.departure[members], departs, cmax, eta, bin_need, bin_cap]
    )
    _, first, group = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    group = group.ravel()
    n_groups = len(first)
    if n_groups == members.size:
        return None
    keep = np.flatnonzero(~plain)
    rep = members[first]  # a representative member of each group (window, cmax, eta)
    size = np.bincount(group, minlength=n_groups).astype(float)

    def gsum(a: np.ndarray) -> np.ndarray:
        return np.bincount(group, weights=a, minlength=n_groups)

    def cat(kept: np.ndarray, merged: np.ndarray) -> np.ndarray:
        return np.concatenate([np.asarray(kept)[keep], np.asarray(merged, dtype=np.asarray(kept).dtype)])

    zeros = np.zeros(n_groups)
    taper = {}
    if problem.taper_soc is not None and problem.taper_end_kw is not None:
        taper = {
            "taper_soc": cat(problem.taper_soc, np.ones(n_groups)),  # knee 1: no taper (plain members have none)
            "taper_end_kw": cat(problem.taper_end_kw, size * cmax[first]),
        }
    agg = dataclasses.replace(
        problem,
        vehicle_index=cat(problem.vehicle_index, np.full(n_groups, -1)),
        arrival=cat(problem.arrival, problem.arrival[rep]),
        departure=cat(problem.departure, problem.departure[rep]),
        departs_in_horizon=cat(problem.departs_in_horizon, problem.departs_in_horizon[rep] & (gsum(need) > 0)),
        battery_kwh=cat(problem.battery_kwh, gsum(problem.battery_kwh[members])),
        energy_kwh=cat(problem.energy_kwh, zeros),
        energy_target_kwh=cat(problem.energy_target_kwh, gsum(need)),
        energy_floor_kwh=cat(problem.energy_floor_kwh, zeros),
        energy_v2g_floor_kwh=cat(problem.energy_v2g_floor_kwh, zeros),
        energy_ceiling_kwh=cat(problem.energy_ceiling_kwh, gsum(cap)),
        max_charge_kw=cat(problem.max_charge_kw, size * cmax[first]),
        max_discharge_kw=cat(problem.max_discharge_kw, zeros),
        charge_efficiency=cat(problem.charge_efficiency, eta[first]),
        discharge_efficiency=cat(problem.discharge_efficiency, problem.discharge_efficiency[rep]),
        energy_arrival_kwh=cat(problem.energy_arrival_kwh, zeros),
        **taper,
    )
    return PlainAggregation(
        problem=agg,
        keep=keep,
        members=members,
        group=group,
        n_groups=n_groups,
        need_kwh=need,
        cap_kwh=cap,
        forced_kwh=forced,
        offset=float(objective.unmet_penalty) * float(forced.sum()),
    )


def _split_energy(agg: PlainAggregation, total_kwh: np.ndarray) -> np.ndarray:
    """Water-filling split of each group's energy ``total_kwh`` (G,) [kWh] onto its members (module docstring)."""
    g = agg.group
    sum_need = np.bincount(g, weights=agg.need_kwh, minlength=agg.n_groups)
    over = total_kwh > sum_need
    lo = np.where(over[g], agg.need_kwh, 0.0)
    hi = np.where(over[g], agg.cap_kwh, agg.need_kwh)
    span = np.bincount(g, weights=hi - lo, minlength=agg.n_groups)
    target = np.clip(np.where(over, total_kwh - sum_need, total_kwh), 0.0, span)
    return lo + project_box_sum(-lo, hi - lo, g, target, agg.n_groups)


def disaggregate(problem: ChargingProblem, agg: PlainAggregation, sol: Solution) -> tuple[Solution, bool]:
    """The solution ``sol`` of ``agg.problem`` as a solution of ``problem`` (per-vehicle setpoints), and whether the
    split is exact (every member's energy within ``SPLIT_TOL_KWH`` of its share)."""
    n, H = problem.n_vehicles, problem.n_steps
    n_keep = len(agg.keep)
    m, g = agg.members, agg.group
    dt = col_dt(problem)
    eta = problem.charge_efficiency[m]
    x_group = sol.charge_kw[n_keep:]  # (G, H) [kW]
    eta_g = agg.problem.charge_efficiency[n_keep:]
    y_group = np.maximum(x_group, 0.0) * eta_g[:, None] * dt[None, :]  # energy per column [kWh]
    remaining = _split_energy(agg, y_group.sum(axis=1))
    share = remaining.copy()
    cap_col = charge_upper_kw(problem)[m] * eta[:, None] * dt[None, :]  # (m, H) [kWh]
    y = np.zeros((len(m), H))
    for t in range(H):  # one exact projection per column, vectorised over all groups
        u = np.minimum(cap_col[:, t], np.maximum(remaining, 0.0))
        target = np.minimum(y_group[:, t], np.bincount(g, weights=u, minlength=agg.n_groups))
        if not target.any():
            continue
        y[:, t] = project_box_sum(remaining, u, g, target, agg.n_groups)
        remaining = remaining - y[:, t]
    ok = bool(np.all(np.abs(remaining) <= SPLIT_TOL_KWH * np.maximum(1.0, share)))
    ch_m = y / (eta[:, None] * dt[None, :])
    charge = np.zeros((n, H))
    discharge = np.zeros((n, H))
    reserve = np.zeros((n, H))
    charge[agg.keep] = sol.charge_kw[:n_keep]
    discharge[agg.keep] = sol.discharge_kw[:n_keep]
    reserve[agg.keep] = sol.reserve_kw[:n_keep]
    charge[m] = ch_m
    e_end = problem.energy_kwh + (
        (problem.charge_efficiency[:, None] * charge - discharge / problem.discharge_efficiency[:, None]) * dt
    ).sum(axis=1)
    unmet = np.zeros(n)
    unmet[agg.keep] = sol.unmet_kwh[:n_keep]
    got = share - remaining
    unmet[m] = np.where(problem.departs_in_horizon[m], agg.forced_kwh + np.maximum(agg.need_kwh - got, 0.0), 0.0)
    out = dataclasses.replace(
        sol,
        power_kw=charge - discharge,
        charge_kw=charge,
        discharge_kw=discharge,
        reserve_kw=reserve,
        energy_end_kwh=e_end,
        unmet_kwh=unmet,
        objective=sol.objective + agg.offset,
    )
    return out, ok


def solve_merged(problem: ChargingProblem, objective: Objective, **solve_kw: object) -> Solution:
    """Solve ``problem`` under ``objective`` with its plain vehicles merged (:func:`aggregate_plain`), the solution
    disaggregated onto the original vehicles; the plain model when nothing merges or the split is not exact.
    ``solve_kw`` go to :func:`~evfleet.strategies.optim.highs.solve`. The solution's ``build_s`` counts the
    aggregation, the model build and the disaggregation [s]; ``solve_s`` the HiGHS solve."""
    t0 = time.perf_counter()
    agg = aggregate_plain(problem, objective)
    if agg is not None:
        model = build_model(agg.problem, objective)
        t_build = time.perf_counter() - t0
        try:
            sol_agg = solve(model, **solve_kw)  # type: ignore[arg-type]
        except StrategyError:  # the plain model below decides (and raises if it fails too)
            sol_agg = None
        if sol_agg is not None:
            t1 = time.perf_counter()
            sol, ok = disaggregate(problem, agg, sol_agg)
            if ok:
                return dataclasses.replace(sol, build_s=t_build + time.perf_counter() - t1)
    return solve(build_model(problem, objective), **solve_kw)  # type: ignore[arg-type]
