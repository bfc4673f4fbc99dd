"""The offline valley-filling QP solved on a relaxed, much smaller model, certified optimal on the full one.

Units: power [kW], energy [kWh], objective [the strategy's unit], times [s].

The exact merge of :mod:`~evfleet.strategies.optim.aggregate` barely shrinks the valley-filling QP (its bin rule
keeps 1,509 groups of 1,838 plain vehicles at 2,000 vehicles) and HiGHS's interior-point solver HiPO spends
~3.8 s of CPU on the 115,000 columns. :func:`solve_relaxed` solves a *relaxation* instead and proves, on the
full model, that its solution is optimal there too:

1. **Relaxation** (:func:`relax`). The DC taper rows are dropped (every vehicle's knee at 100 %: the tapered
   vehicles become plain, without energy variables), then the plain vehicles are merged into super-vehicles by
   the rule of :mod:`~evfleet.strategies.optim.aggregate` (allowed for the QP here: a HiPO failure falls back).
   Dropping rows enlarges the feasible set, and a merged model is never above the one it merges (the naive
   aggregate contains the Minkowski sum of its members' sets; their unmet penalty ``sum_i (F_i + (N_i - E_i)^+)
   >= sum F + (sum N - E)^+``, the same site power and charge costs: the members share ``eta``), so the relaxed
   optimum plus the members' forced unmet ``M * sum F`` is a lower bound of the full optimum. The relaxed model
   gives each plain vehicle's energy its own column (``Objective.plain_energy_column``: the same model, 2 instead
   of 3 nonzeros per plain slot, HiPO ~15 % faster). The V2G vehicles keep their exact columns. (Coarser merges,
   e.g. every plain vehicle of a window, are relaxations too, but measured 0.2-0.5 % below the optimum: small
   needs cannot take full steps at the evening ramp; they never certify.)
2. **Solve** the relaxed QP with HiPO (the same options as the full model), reading its row duals.
3. **Disaggregate** (:func:`~evfleet.strategies.optim.aggregate.disaggregate`: the water-filling split of each
   group's energy, then the "largest remaining energy first" split of each column) and assemble the column values
   ``x`` of the *full* model (charging, discharging, battery energies by their balance, site flows by the site
   balance, unmet energies by the targets, the scaled site power).
4. **Certificate** (:func:`certify`). ``x`` must satisfy every row and bound of the full model within
   ``FEAS_TOL_QP`` (the DC taper cuts included: a dropped cut that the solution breaks fails here), and its
   objective ``P = c.x + x'Qx/2`` must be within ``GAP_RTOL_QP * max(1, |P|)`` of the Lagrangian lower bound
   ``D(y) + M sum F`` of the relaxed model at HiPO's row duals ``y`` (:func:`qp_dual_bound`; weak duality holds
   for any ``y``). Then ``P - OPT_full <= P - D(y) - M sum F <= GAP_RTOL_QP * max(1, |P|)``: the solution is the
   full QP's optimum to that tolerance (the site curve, unique in the QP, up to the gap's square root).

Anything else (nothing to relax, a HiGHS failure on the relaxed model, a split that misses, a broken row, a gap
above the tolerance) solves the full model as before (:func:`~evfleet.strategies.optim.aggregate.solve_merged`):
never a silent approximation. ``Solution.start`` tells which path answered: ``"relaxed"`` (certified) or
``"relaxed-rejected: <reason>"`` (the full model's answer). Figures: docs/benchmarks.md.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import replace

import numpy as np

from evfleet.problem import ChargingProblem
from evfleet.strategies.base import StrategyError
from evfleet.strategies.optim.aggregate import PlainAggregation, aggregate_plain, disaggregate, solve_merged
from evfleet.strategies.optim.highs import Solution, read_solution, solve
from evfleet.strategies.optim.model import FleetModel, Objective, build_model, col_dt, model_sets

__all__ = ["FEAS_TOL_QP", "GAP_RTOL_QP", "certify", "full_point", "qp_dual_bound", "relax", "solve_relaxed"]

#: Largest certified relative gap ``(P - lower bound) / max(1, |P|)`` of an accepted relaxed solution [-].
GAP_RTOL_QP = 1e-7
#: Largest row or bound violation of the assembled full-model point [kW, kWh] (HiPO's own feasibility is ~1e-9).
FEAS_TOL_QP = 1e-6


def relax(problem: ChargingProblem, objective: Objective) -> tuple[ChargingProblem, PlainAggregation | None] | None:
    """The relaxed problem of step 1: ``problem`` without DC taper (every vehicle's knee at 100 %), and the exact
    merge of its plain vehicles (``None`` when none merge); ``None`` when that relaxes nothing (no tapered vehicle
    and no merge) or the objective holds a reserve."""
    if objective.reserve_revenue is not None:
        return None
    ms = model_sets(problem, objective)
    untapered = problem
    if ms.tapered.any():
        untapered = dataclasses.replace(
            problem,
            taper_soc=np.ones(problem.n_vehicles),
            taper_end_kw=np.asarray(problem.max_charge_kw, dtype=float).copy(),
        )
    agg = aggregate_plain(untapered, objective, allow_qp=True)
    if agg is None and not ms.tapered.any():
        return None
    return untapered, agg


def qp_dual_bound(model: FleetModel, row_dual: np.ndarray) -> float:
    """The Lagrangian lower bound ``D(y)`` of ``model``'s optimum at row duals ``y`` (HiGHS's signs), for a
    diagonal (or no) Hessian: ``sum_r (max(y,0) L_r + min(y,0) U_r) + sum_j min_{l_j <= x_j <= u_j} (d_j x_j +
    Q_jj x_j^2 / 2)`` with ``d = c - A'y``. Weak duality: a lower bound for any ``y`` (a dual on an infinite
    row bound is dropped first; ``-inf`` if a column's minimum is unbounded)."""
    y = np.asarray(row_dual, dtype=float).copy()
    y[(y > 0) & ~np.isfinite(model.row_lower)] = 0.0
    y[(y < 0) & ~np.isfinite(model.row_upper)] = 0.0
    row_terms = float(np.dot(np.maximum(y, 0.0), np.where(np.isfinite(model.row_lower), model.row_lower, 0.0)))
    row_terms += float(np.dot(np.minimum(y, 0.0), np.where(np.isfinite(model.row_upper), model.row_upper, 0.0)))
    d = model.cost - model.matrix.T @ y
    q = np.zeros(model.n_col)
    if model.hessian is not None:
        hq = model.hessian.tocoo()
        if np.any(hq.row != hq.col):
            raise ValueError("qp_dual_bound: the Hessian must be diagonal")
        np.add.at(q, hq.row, hq.data)
    lo, up = model.col_lower, model.col_upper
    quad = q > 0
    xq = np.clip(-d[quad] / q[quad], lo[quad], up[quad])
    total = row_terms + float(np.dot(d[quad], xq) + 0.5 * np.dot(q[quad], xq * xq))
    dl = d[~quad]
    lo_l, up_l = lo[~quad], up[~quad]
    if np.any((dl > 0) & ~np.isfinite(lo_l)) or np.any((dl < 0) & ~np.isfinite(up_l)):
        return -np.inf
    total += float(np.dot(np.maximum(dl, 0.0), np.where(np.isfinite(lo_l), lo_l, 0.0)))
    total += float(np.dot(np.minimum(dl, 0.0), np.where(np.isfinite(up_l), up_l, 0.0)))
    return total


def full_point(model: FleetModel, sol: Solution) -> np.ndarray:
    """The column values of ``model`` (the full model) for the per-vehicle setpoints of ``sol`` (step 3)."""
    p, ms, cols = model.problem, model.sets, model.layout
    assert ms is not None
    x = np.zeros(model.n_col)
    sv, st = ms.slot_v, ms.slot_t
    x[cols.span("ch")] = sol.charge_kw[sv, st]
    ds = ms.dis_slots
    x[cols.span("dis")] = sol.discharge_kw[sv[ds], st[ds]]
    if cols.size["e"]:
        s_ = ms.st_slots
        step = ms.eta_c[s_] * sol.charge_kw[sv[s_], st[s_]] - sol.discharge_kw[sv[s_], st[s_]] / ms.eta_d[s_]
        step = step * ms.dt_s[s_]
        cum = np.cumsum(step)
        first_pos = np.flatnonzero(ms.first[s_])  # stateful slots are vehicle-major: runs start at first slots
        run = np.cumsum(ms.first[s_]) - 1
        before = np.r_[0.0, cum][first_pos][run]
        x[cols.span("e")] = ms.e0[sv[s_]] + cum - before
    site = ms.net_base + np.bincount(st, weights=sol.charge_kw[sv, st], minlength=ms.H)
    site -= np.bincount(st[ds], weights=sol.discharge_kw[sv[ds], st[ds]], minlength=ms.H)
    exp = np.clip(sol.export_kw, 0.0, None)
    x[cols.span("imp")] = site + exp
    x[cols.span("exp")] = exp
    e_end = p.energy_kwh + ((p.charge_efficiency[:, None] * sol.charge_kw - sol.discharge_kw
                             / p.discharge_efficiency[:, None]) * col_dt(p)[None, :]).sum(axis=1)  # fmt: skip
    x[cols.span("u")] = np.maximum(ms.e_tgt - e_end[ms.tgt], 0.0)
    if cols.size["sigma"]:
        x[cols.span("sigma")] = (x[cols.span("imp")] - x[cols.span("exp")]) * np.sqrt(model.objective.site_quadratic)
    return x


def primal_objective(model: FleetModel, x: np.ndarray) -> float:
    """``c.x + x'Qx/2`` of ``model`` at ``x``."""
    obj = float(np.dot(model.cost, x))
    if model.hessian is not None:
        obj += 0.5 * float(x @ (model.hessian @ x))
    return obj


def infeasibility(model: FleetModel, x: np.ndarray) -> float:
    """Largest violation of a row or column bound of ``model`` at ``x`` [model units]."""
    ax = model.matrix @ x
    return max(
        float(np.max(model.row_lower - ax, initial=0.0)),
        float(np.max(ax - model.row_upper, initial=0.0)),
        float(np.max(model.col_lower - x, initial=0.0)),
        float(np.max(x - model.col_upper, initial=0.0)),
    )


def certify(full: FleetModel, x: np.ndarray, lower_bound: float) -> tuple[float, float, float]:
    """(objective ``P``, relative gap ``(P - lower_bound) / max(1, |P|)``, infeasibility) of ``x`` in ``full``."""
    obj = primal_objective(full, x)
    return obj, (obj - lower_bound) / max(1.0, abs(obj)), infeasibility(full, x)


def solve_relaxed(problem: ChargingProblem, objective: Objective, **solve_kw: object) -> Solution:
    """The full QP's optimum of ``problem`` under ``objective`` by the relaxation and its certificate (module
    docstring), or the full model's solve (:func:`solve_merged`) when the certificate fails. ``solve_kw`` go to
    :func:`~evfleet.strategies.optim.highs.solve`. ``build_s`` counts the relaxation, both model builds, the
    disaggregation and the certificate [s]; ``solve_s`` the HiGHS solve (both, after a rejection)."""
    t0 = time.perf_counter()
    reason = "nothing to relax"
    relaxed = relax(problem, objective)
    relaxed_solve_s = 0.0
    if relaxed is not None:
        untapered, agg = relaxed
        # each plain vehicle's energy as a column: 2 nonzeros per plain slot instead of 3 (module docstring)
        model = build_model(untapered if agg is None else agg.problem, replace(objective, plain_energy_column=True))
        t_build = time.perf_counter() - t0
        try:
            sol_r = solve(model, duals=True, **solve_kw)  # type: ignore[arg-type]
        except StrategyError as err:
            sol_r, reason = None, f"HiGHS on the relaxed model: {err}"
        if sol_r is not None:
            relaxed_solve_s = sol_r.solve_s
            t1 = time.perf_counter()
            sol, split_ok = (sol_r, True) if agg is None else disaggregate(untapered, agg, sol_r)
            if not split_ok:
                reason = "split"
            elif sol_r.row_dual is None:
                reason = "no duals"
            else:
                full = build_model(problem, objective)
                x = full_point(full, sol)
                lower = qp_dual_bound(model, sol_r.row_dual) + (0.0 if agg is None else agg.offset)
                obj, gap, p_inf = certify(full, x, lower)
                if p_inf > FEAS_TOL_QP:
                    reason = f"infeasible by {p_inf:.2g}"
                elif gap > GAP_RTOL_QP:
                    reason = f"gap {gap:.2g}"
                else:
                    out = read_solution(full, x, obj, sol_r.status, sol_r.solve_s)
                    out.build_s = t_build + time.perf_counter() - t1
                    out.start = "relaxed"
                    out.iterations = sol_r.iterations
                    return out
    sol = solve_merged(problem, objective, **solve_kw)
    sol.start = f"relaxed-rejected: {reason}"
    sol.solve_s += relaxed_solve_s
    return sol
