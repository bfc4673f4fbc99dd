"""Warm start of online re-plans: the previous re-plan's solution, mapped onto the new model, as HiGHS's start.

Units: power [kW], energy [kWh], time in steps.

Between two re-plans of a receding horizon the vehicles, the columns and the forecasts change only a little: the
previous optimum, moved onto the new columns, is close to the new one. :func:`start_values` maps it column by
column with keys (vehicle, absolute step): a slot's charging and discharging power (and reserve band) take the
previous plan's value for the vehicle at the start time of the new column (the previous column that contains that
step; 0 for a vehicle or step the previous plan did not have), clipped to the new bounds; then the dependent
variables are recomputed from the new model's equalities so that the start is consistent: every stateful slot's
energy from its battery balance, the site import/export from the site balance, the peak from the imports and each
unmet energy from its target. HiGHS (``setSolution``) turns that point into a starting basis for its simplex.

The start changes the path of the simplex, never the problem: the solution is an optimum of the new model. That is
*checked*, not assumed (HiGHS issue #3194 reports a warm-started LP declared optimal above the optimum):
:func:`duality_gap` computes the primal and dual objectives from HiGHS's primal and dual values, and the solve
(:func:`evfleet.strategies.optim.highs.solve`) re-solves cold when the gap or an infeasibility exceeds the
tolerances. Only linear programs are warm-started (QPs use the interior-point HiPO, which takes no start; the MIP
of the minimum FCR offer neither).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evfleet.strategies.optim.model import FleetModel, kva_cut_value, model_sets

__all__ = ["WarmStart", "complete_start", "duality_gap", "start_values", "warm_startable"]

#: Relative duality gap under which a warm-started solution is accepted as optimal [-].
GAP_RTOL = 1e-9
#: Largest primal / dual infeasibility of an accepted warm-started solution [model units].
FEAS_TOL = 1e-7


@dataclass(frozen=True)
class WarmStart:
    """What a re-plan keeps for the next one: its model and its optimal column values ``x``."""

    model: FleetModel
    x: np.ndarray


def warm_startable(model: FleetModel) -> bool:
    """True for a pure LP (no Hessian, no integer columns, no reserve band): the models :func:`start_values` maps."""
    return model.hessian is None and model.integrality is None and model.layout.size.get("r", 0) == 0


def _col_starts(model: FleetModel) -> np.ndarray:
    """Absolute first step of each column of ``model``'s problem, and its end (H + 1,)."""
    p = model.problem
    edges = np.arange(p.n_steps + 1) if p.block_edges is None else np.asarray(p.block_edges)
    return int(p.t0) + edges.astype(np.int64)


def _slot_keys(model: FleetModel, slots: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(vehicle index in the scenario, absolute start step) of the slots ``slots`` (all slots by default)."""
    sv, st = model.slot_vehicle, model.slot_col
    if slots is not None:
        sv, st = sv[slots], st[slots]
    return np.asarray(model.problem.vehicle_index)[sv], _col_starts(model)[st]


def _lookup(prev: FleetModel, prev_vals: np.ndarray, prev_slots: np.ndarray | None, model: FleetModel,
            slots: np.ndarray | None) -> np.ndarray:  # fmt: skip
    """Values of the previous model's slot block (``prev_vals`` on ``prev_slots``) at the new slots' keys."""
    pv, pt = _slot_keys(prev, prev_slots)
    nv, nt = _slot_keys(model, slots)
    out = np.zeros(len(nv))
    if not len(pv) or not len(nv):
        return out
    # the previous column containing the new column's start: the last previous slot of the vehicle starting
    # at or before it (slots are vehicle-major and in column order, so (vehicle, start) is sorted)
    span = int(max(pt.max(), nt.max())) + 2
    key_prev = pv.astype(np.int64) * span + pt
    key_new = nv.astype(np.int64) * span + nt
    order = np.argsort(key_prev, kind="stable")
    key_sorted = key_prev[order]
    pos = np.searchsorted(key_sorted, key_new, side="right") - 1
    ok = pos >= 0
    hit = np.zeros(len(nv), dtype=bool)
    hit[ok] = pv[order[pos[ok]]] == nv[ok]
    # the previous slot must still cover the new start (a gap means the vehicle was not connected then)
    prev_col = prev.slot_col if prev_slots is None else prev.slot_col[prev_slots]
    prev_end = _col_starts(prev)[prev_col + 1]
    hit[ok] &= nt[ok] < prev_end[order[pos[ok]]]
    out[hit] = prev_vals[order[pos[hit]]]
    return out


def start_values(prev: WarmStart, model: FleetModel) -> np.ndarray:
    """A start point (n_col,) for ``model`` from the previous re-plan ``prev`` (see the module docstring)."""
    pm, x_prev = prev.model, prev.x
    cols, pcols = model.layout, pm.layout
    lo, hi = model.col_lower, model.col_upper
    x = np.zeros(model.n_col)
    ch = _lookup(pm, x_prev[pcols.span("ch")], None, model, None)
    x[cols.span("ch")] = np.clip(ch, lo[cols.span("ch")], hi[cols.span("ch")])
    if cols.size["dis"]:
        dis = _lookup(pm, x_prev[pcols.span("dis")], pm.dis_slots, model, model.dis_slots)
        x[cols.span("dis")] = np.clip(dis, lo[cols.span("dis")], hi[cols.span("dis")])
    return complete_start(model, x)


def complete_start(model: FleetModel, x: np.ndarray) -> np.ndarray:
    """``x`` (n_col,) with its ``ch`` and ``dis`` blocks set (within their bounds), completed in place and returned:
    the energies, site import / export, peak and unmet energies from the model's equalities (module docstring)."""
    cols = model.layout
    lo, hi = model.col_lower, model.col_upper
    p = model.problem
    ms = model.sets if model.sets is not None else model_sets(p, model.objective)
    power = np.zeros(len(model.slot_vehicle))
    power_ch = x[cols.span("ch")]
    power += power_ch
    dis_full = np.zeros(len(model.slot_vehicle))
    dis_full[model.dis_slots] = x[cols.span("dis")]
    power -= dis_full
    # stateful slots: the energy at each slot's end from the battery balance (vehicle-major cumulative sums)
    if cols.size["e"]:
        st = ms.st_slots
        delta = (ms.eta_c[st] * power_ch[st] - dis_full[st] / ms.eta_d[st]) * ms.dt_s[st]
        cum = np.cumsum(delta)
        first = ms.first[st]
        base = np.maximum.accumulate(np.where(first, np.arange(len(st)), 0))
        start_cum = (cum - delta)[base]
        x[cols.span("e")] = ms.e0[ms.slot_v[st]] + cum - start_cum
    # site import / export from the site balance
    site = ms.net_base + np.bincount(ms.slot_t, power, minlength=ms.H)
    x[cols.span("imp")] = np.clip(np.maximum(site, 0.0), lo[cols.span("imp")], hi[cols.span("imp")])
    x[cols.span("exp")] = np.clip(np.maximum(-site, 0.0), lo[cols.span("exp")], hi[cols.span("exp")])
    if cols.size.get("z", 0):
        imp = x[cols.span("imp")]
        z = float(np.max(imp, initial=0.0))
        q = model.objective.peak_reactive_kvar
        if q is not None:  # the kVA cuts: z >= cos(th) imp + sin(th) Q at every column and angle
            z = kva_cut_value(imp, q)
        x[cols.span("z")] = max(float(lo[cols.span("z")][0]), z)
    if cols.size["u"]:
        gained = np.bincount(ms.slot_v, ms.eta_c * power_ch * ms.dt_s - dis_full / ms.eta_d * ms.dt_s,
                             minlength=len(ms.e0))  # fmt: skip
        e_end = ms.e0 + gained
        x[cols.span("u")] = np.maximum(ms.e_tgt - e_end[ms.tgt], 0.0)
    return x


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """``a . b`` without BLAS (whose threads stall on a loaded machine: 15 ms for 25,000 entries, measured)."""
    return float(np.multiply(a, b).sum())


def duality_gap(
    model: FleetModel, x: np.ndarray, row_dual: np.ndarray, col_dual: np.ndarray | None = None
) -> tuple[float, float, float]:
    """(relative duality gap, primal infeasibility, dual infeasibility) of an LP solution and its duals.

    HiGHS's signs (minimisation): ``col_dual = c - A' row_dual``; a positive dual prices the lower bound, a
    negative one the upper bound. The dual objective ``sum(max(y,0) L + min(y,0) U) + sum(max(d,0) l + min(d,0) u)``
    is a lower bound of every feasible point's cost when the duals are feasible (no dual on an infinite bound):
    ``primal - dual <= GAP_RTOL * max(1, |primal|)`` proves the solution optimal to that tolerance. The reduced
    costs ``d`` are recomputed from ``row_dual`` (the bound holds for any ``row_dual``); ``col_dual``, when given,
    is only compared with them (HiGHS's consistency, in the dual infeasibility), not needed for the proof.
    """
    a = model.matrix
    c = model.cost
    ax = a @ x
    primal = _dot(c, x)
    p_inf = max(
        float(np.max(model.row_lower - ax, initial=0.0)),
        float(np.max(ax - model.row_upper, initial=0.0)),
        float(np.max(model.col_lower - x, initial=0.0)),
        float(np.max(x - model.col_upper, initial=0.0)),
    )
    d = c - a.T @ row_dual  # recomputed: the reduced costs of these duals
    d_inf = 0.0 if col_dual is None else float(np.max(np.abs(d - col_dual), initial=0.0))

    def bound_terms(dual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> tuple[float, float]:
        pos, neg = np.maximum(dual, 0.0), np.minimum(dual, 0.0)
        bad = ((pos > 0) & ~np.isfinite(lower)) | ((neg < 0) & ~np.isfinite(upper))
        inf = float(np.max(np.abs(dual[bad]), initial=0.0))
        lo_f = np.where(np.isfinite(lower), lower, 0.0)
        up_f = np.where(np.isfinite(upper), upper, 0.0)
        return _dot(pos, lo_f) + _dot(neg, up_f), inf

    row_obj, row_inf = bound_terms(row_dual, model.row_lower, model.row_upper)
    col_obj, col_inf = bound_terms(d, model.col_lower, model.col_upper)
    gap = (primal - (row_obj + col_obj)) / max(1.0, abs(primal))
    return gap, p_inf, max(d_inf, row_inf, col_inf)
