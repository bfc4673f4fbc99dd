"""The shared sparse LP/QP model of a charging problem, built directly as CSC arrays and solved by HiGHS.

Units: power [kW] (grid side), battery energy [kWh], prices [MAD/kWh], step length ``dt_h`` [h].

Variables exist only while a vehicle is connected ("slots": one per vehicle and connected column), laid out
vehicle-major, so the model grows with the number of plug-in hours, not with ``n_vehicles * n_steps``:

* ``ch[s] in [0, max_charge_kw]`` charging power, ``dis[s] in [0, max_discharge_kw]`` discharging power (only for
  V2G-eligible vehicles), ``e[s]`` battery energy at the *end* of slot s, ``r[s] >= 0`` reserved symmetric
  frequency band (V2G-eligible slots, only when a reserve is priced);
* per column t: ``imp[t], exp[t] >= 0`` site import/export, optionally ``z`` (peak import) and per vehicle with a
  binding target a slack ``u[i] >= 0`` of unmet battery energy.

Constraints (the simulator's physics, see :mod:`evfleet.physics` and :mod:`evfleet.simulation.engine`):

* energy: ``e[s] = e[s-1] + eta_c*dt*ch[s] - dt/eta_d*dis[s]`` (``e[-1] = energy_kwh``);
* window: ``lo_i <= e[s] <= hi_i`` with ``hi_i = max(ceiling, e0)`` and ``lo_i`` the V2G floor ``soc_min*B`` for
  vehicles allowed to discharge, the session floor otherwise (never binding without discharge);
* V2G eligibility: a vehicle may discharge only if it arrived at or above its V2G floor (the simulator stops V2G
  at ``soc_min``; the exact rule "discharge only while above the floor" is non-convex, so a vehicle arriving
  below the floor is not discharged during that session: a conservative, physics-safe restriction);
* site: ``imp[t] - exp[t] - sum_s(ch - dis) = base[t] - pv[t]``, ``imp <= max(I, net_base)``,
  ``exp <= max(E, -net_base)``; where the net base load alone exceeds the import limit no vehicle charges
  (the simulator would curtail it), where it exceeds the export limit none discharges;
* target: ``e[last slot of i] + u[i] >= target_i`` for vehicles departing inside the horizon (penalised slack:
  an unreachable target never makes the model infeasible; ``u`` > 0 only where physics forbid the target);
* reserve (optional): ``ch - dis + r <= max_charge``, ``ch - dis - r >= -max_discharge``, energy headroom
  ``e + eta_c*T_res*r <= hi``, ``e - T_res/eta_d*r >= lo``, and the site limits with ``+-sum r``.

* site power (QP only): ``sigma[t]`` free, ``imp[t] - exp[t] - S * sigma[t] = 0`` with ``S = 1/sqrt(w)`` [kW].

Objective: ``sum c.x + 1/2 x'Qx`` assembled from an :class:`Objective`. Solved by HiGHS: dual simplex for LPs;
for QPs its interior-point solver HiPO (optimality tolerance 1e-8; needs ``highspy-extras``), or its active-set
solver ``qpasm`` where HiPO is not installed. A solver failure raises
:class:`~evfleet.strategies.base.StrategyError` naming the scenario and the HiGHS model status.

References: HiGHS, Huangfu & Hall, "Parallelizing the dual revised simplex method", Math. Prog. Comp. 10 (2018);
HiPO, Zanetti & Gondzio, "A factorisation-based regularised interior point method using the augmented system",
arXiv:2508.04370 (2025).
"""

from __future__ import annotations

import functools
import importlib.util
import time
from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy.sparse as sp

from evfleet._common.tolerances import ENERGY_EPS_KWH, QP_NOISE_KW
from evfleet.physics import next_energy_kwh, power_bounds_kw
from evfleet.problem import ChargingProblem
from evfleet.strategies.base import StrategyError

__all__ = ["FleetModel", "Objective", "Solution", "build_model", "project_to_physics", "solve"]

_EPS = 1e-9


@dataclass
class Objective:
    """Objective terms (all optional; zero by default). Costs multiply the variable values.

    ``import_cost[t]``/``export_cost[t]`` per kW of ``imp``/``exp`` (already times ``dt_h``);
    ``charge_cost`` per kWh charged (scalar or per column), ``discharge_cost`` per kWh discharged (scalar), both
    grid side and times ``dt_h`` per slot;
    ``peak_cost`` per kW of the peak variable ``z`` (``None``: no peak variable);
    ``site_quadratic`` weight ``w`` of ``w * sum_t (imp - exp)^2`` [1/kW^2], exact (a QP; see :func:`build_model`);
    ``reserve_revenue[t]`` per kW of reserved band at column t (``None``: no reserve variables);
    ``unmet_penalty`` per kWh of unmet battery energy.
    """

    import_cost: np.ndarray | None = None
    export_cost: np.ndarray | None = None
    charge_cost: float | np.ndarray = 0.0
    discharge_cost: float = 0.0
    peak_cost: float | None = None
    site_quadratic: float = 0.0
    reserve_revenue: np.ndarray | None = None
    reserve_duration_h: float = 0.25
    unmet_penalty: float = 100.0
    aggregate_plain: bool = True


@dataclass
class FleetModel:
    """The assembled model (CSC matrix and bounds) and the index maps needed to read a solution."""

    problem: ChargingProblem
    objective: Objective
    n_col: int
    n_row: int
    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    matrix: sp.csc_matrix
    hessian: sp.csc_matrix | None
    slot_vehicle: np.ndarray
    slot_col: np.ndarray
    dis_slots: np.ndarray
    target_vehicles: np.ndarray
    offsets: dict[str, int] = field(default_factory=dict)
    build_s: float = 0.0


@dataclass
class Solution:
    """A solved model: setpoints (n, H) [kW] and diagnostics."""

    power_kw: np.ndarray
    charge_kw: np.ndarray
    discharge_kw: np.ndarray
    reserve_kw: np.ndarray
    energy_end_kwh: np.ndarray
    unmet_kwh: np.ndarray
    import_kw: np.ndarray
    export_kw: np.ndarray
    objective: float
    status: str
    build_s: float
    solve_s: float
    n_col: int
    n_row: int
    site_active: np.ndarray


def _slots(problem: ChargingProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Slot layout: vehicle of each slot, its column, offsets of each vehicle's first slot, lengths."""
    length = np.maximum(problem.departure - problem.arrival, 0).astype(np.int64)
    offsets = np.zeros(len(length) + 1, dtype=np.int64)
    np.cumsum(length, out=offsets[1:])
    slot_vehicle = np.repeat(np.arange(len(length)), length)
    slot_col = np.arange(offsets[-1]) - offsets[slot_vehicle] + problem.arrival[slot_vehicle]
    return slot_vehicle, slot_col.astype(np.int64), offsets, length


def discharge_eligible(problem: ChargingProblem) -> np.ndarray:
    """Vehicles allowed to discharge: V2G on, a bidirectional charger, and arrival at/above the V2G floor."""
    e_arr = np.asarray(problem.energy_arrival_kwh, dtype=float)
    return (
        bool(problem.v2g)
        & (problem.max_discharge_kw > 0)
        & (e_arr >= problem.energy_v2g_floor_kwh - ENERGY_EPS_KWH)
        & (problem.energy_kwh >= problem.energy_v2g_floor_kwh - ENERGY_EPS_KWH)
    )


def col_dt(problem: ChargingProblem) -> np.ndarray:
    """Length of each column [h] (move blocking may give columns of different length)."""
    return problem.column_dt_h()


def build_model(problem: ChargingProblem, objective: Objective) -> FleetModel:
    """Assemble the sparse model of ``problem`` with ``objective`` (no Python loop over vehicles).

    A vehicle that never discharges and holds no reserve ("plain") charges monotonically, so its energy window
    reduces to one row ``sum_s eta_c*dt*ch[s] <= hi - e0`` (and its target row): no energy variables. Energy
    variables and dynamics rows exist only for "stateful" vehicles (V2G-eligible). This is exact and shrinks the model.
    """
    t_start = time.perf_counter()
    H = problem.n_steps
    dt_col = col_dt(problem)
    slot_v, slot_t, offsets, length = _slots(problem)
    S = len(slot_v)
    slots = np.arange(S)
    first = np.zeros(S, dtype=bool)
    first[offsets[:-1][length > 0]] = True
    eligible = discharge_eligible(problem)
    reserve = objective.reserve_revenue is not None
    stateful = eligible.copy() if objective.aggregate_plain else np.ones(problem.n_vehicles, dtype=bool)
    # DC taper p <= a + slope*e (energy at the start of the step): binding only if the battery can pass the knee.
    cut = problem.taper_cut()
    tapered = np.zeros(problem.n_vehicles, dtype=bool)
    if cut is not None:
        e_max = np.maximum(problem.energy_ceiling_kwh, problem.energy_kwh)
        tapered = (cut[1] < 0) & (cut[0] + cut[1] * e_max < problem.max_charge_kw - 1e-9)
        stateful |= tapered  # they need energy variables for the cut
    net_base = problem.base_load_kw - problem.pv_kw
    imp_cap = max(problem.import_limit_kw, 0.0)
    exp_cap = max(problem.export_limit_kw, 0.0)
    no_charge_col = net_base > imp_cap - 1e-9
    no_dis_col = net_base < -exp_cap + 1e-9

    dis_slots = np.flatnonzero(eligible[slot_v])
    Sd = len(dis_slots)
    st_slots = np.flatnonzero(stateful[slot_v])  # slots with an energy variable
    Se = len(st_slots)
    e_pos = np.full(S, -1, dtype=np.int64)
    e_pos[st_slots] = np.arange(Se)
    Sr = Sd if reserve else 0
    has = length > 0
    tgt = np.flatnonzero(problem.departs_in_horizon & has)
    m = len(tgt)
    plain = np.flatnonzero(~stateful & has)
    peak = objective.peak_cost is not None

    # Column offsets.
    o_ch, o_dis, o_e = 0, S, S + Sd
    o_r = o_e + Se
    o_imp = o_r + Sr
    o_exp = o_imp + H
    o_z = o_exp + H
    o_u = o_z + (1 if peak else 0)
    n_col = o_u + m

    eta_c = problem.charge_efficiency[slot_v]
    eta_d = problem.discharge_efficiency[slot_v]
    dt_s = dt_col[slot_t]
    e0 = problem.energy_kwh
    hi = np.maximum(problem.energy_ceiling_kwh, e0)
    lo = np.where(eligible, np.minimum(problem.energy_v2g_floor_kwh, e0), np.minimum(problem.energy_floor_kwh, e0))

    # Bounds and costs.
    lower = np.zeros(n_col)
    upper = np.empty(n_col)
    cost = np.zeros(n_col)
    upper[o_ch:o_dis] = np.where(no_charge_col[slot_t], 0.0, problem.max_charge_kw[slot_v])
    upper[o_dis:o_e] = np.where(no_dis_col[slot_t[dis_slots]], 0.0, problem.max_discharge_kw[slot_v[dis_slots]])
    lower[o_e:o_r] = lo[slot_v[st_slots]]
    upper[o_e:o_r] = hi[slot_v[st_slots]]
    upper[o_r:o_imp] = np.inf
    upper[o_imp:o_exp] = np.maximum(imp_cap, net_base)
    upper[o_exp:o_z] = np.maximum(exp_cap, -net_base)
    if peak:
        upper[o_z] = np.inf
        cost[o_z] = objective.peak_cost
    e_tgt = problem.energy_target_kwh[tgt]
    upper[o_u:] = np.maximum(e_tgt - lo[tgt], 0.0)
    cost[o_ch:o_dis] = np.broadcast_to(np.asarray(objective.charge_cost, dtype=float), (H,))[slot_t] * dt_s
    cost[o_dis:o_e] = objective.discharge_cost * dt_s[dis_slots]
    if reserve:
        cost[o_r:o_imp] = -np.asarray(objective.reserve_revenue, dtype=float)[slot_t[dis_slots]] * dt_s[dis_slots]
    if objective.import_cost is not None:
        cost[o_imp:o_exp] = objective.import_cost
    if objective.export_cost is not None:
        cost[o_exp:o_z] = objective.export_cost
    cost[o_u:] = objective.unmet_penalty

    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    row_lower: list[np.ndarray] = []
    row_upper: list[np.ndarray] = []

    def add(r: np.ndarray, c: np.ndarray, v: np.ndarray | float) -> None:
        rows.append(np.asarray(r, dtype=np.int64))
        cols.append(np.asarray(c, dtype=np.int64))
        vals.append(np.broadcast_to(np.asarray(v, dtype=float), np.shape(r)))

    # Dynamics of stateful slots: e[j] - e[j-1] - eta_c*dt*ch + dt/eta_d*dis = e0 (first slot) or 0.
    n_row = 0
    add(n_row + np.arange(Se), o_e + np.arange(Se), 1.0)
    prev = st_slots[~first[st_slots]]
    add(n_row + e_pos[prev], o_e + e_pos[prev] - 1, -1.0)
    add(n_row + e_pos[st_slots], o_ch + st_slots, -eta_c[st_slots] * dt_s[st_slots])
    add(n_row + e_pos[dis_slots], o_dis + np.arange(Sd), dt_s[dis_slots] / eta_d[dis_slots])
    dyn_rhs = np.where(first[st_slots], e0[slot_v[st_slots]], 0.0)
    row_lower.append(dyn_rhs)
    row_upper.append(dyn_rhs)
    n_row += Se

    # Site balance: imp - exp - sum(ch - dis) = net base load.
    add(n_row + np.arange(H), o_imp + np.arange(H), 1.0)
    add(n_row + np.arange(H), o_exp + np.arange(H), -1.0)
    add(n_row + slot_t, o_ch + slots, -1.0)
    add(n_row + slot_t[dis_slots], o_dis + np.arange(Sd), 1.0)
    row_lower.append(net_base)
    row_upper.append(net_base)
    n_row += H

    # Plain vehicles: sum eta_c*dt*ch <= hi - e0 (the ceiling; the energy rises monotonically).
    plain_row = np.full(problem.n_vehicles, -1, dtype=np.int64)
    plain_row[plain] = n_row + np.arange(len(plain))
    plain_slots = np.flatnonzero(~stateful[slot_v])
    add(plain_row[slot_v[plain_slots]], o_ch + plain_slots, eta_c[plain_slots] * dt_s[plain_slots])
    row_lower.append(np.full(len(plain), -np.inf))
    row_upper.append(hi[plain] - e0[plain])
    n_row += len(plain)

    # Targets: e[last] + u >= target (stateful) ; sum eta_c*dt*ch + u >= target - e0 (plain).
    tgt_row = np.full(problem.n_vehicles, -1, dtype=np.int64)
    tgt_row[tgt] = n_row + np.arange(m)
    st_t = tgt[stateful[tgt]]
    last_slot = offsets[1:][st_t] - 1
    add(tgt_row[st_t], o_e + e_pos[last_slot], 1.0)
    pl_t = stateful[slot_v[plain_slots]] | ~problem.departs_in_horizon[slot_v[plain_slots]]
    ps = plain_slots[~pl_t]
    add(tgt_row[slot_v[ps]], o_ch + ps, eta_c[ps] * dt_s[ps])
    add(n_row + np.arange(m), o_u + np.arange(m), 1.0)
    row_lower.append(np.where(stateful[tgt], e_tgt, e_tgt - e0[tgt]))
    row_upper.append(np.full(m, np.inf))
    n_row += m

    def add_taper_rows(ts: np.ndarray, extra: list[tuple[np.ndarray, float]]) -> int:
        """Rows ``ch[j] (+ extra terms) - slope*e[j-1] <= a`` for slots ``ts`` (first slot: ``<= a + slope*e0``)."""
        kt = np.arange(len(ts))
        a_s, slope_s = cut[0][slot_v[ts]], cut[1][slot_v[ts]]
        add(n_row + kt, o_ch + ts, 1.0)
        for cols_extra, coef in extra:
            add(n_row + kt, cols_extra, coef)
        later = ~first[ts]
        add(n_row + kt[later], o_e + e_pos[ts[later]] - 1, -slope_s[later])
        row_lower.append(np.full(len(ts), -np.inf))
        row_upper.append(np.where(first[ts], np.maximum(a_s + slope_s * e0[slot_v[ts]], 0.0), a_s))
        return len(ts)

    if tapered.any():  # DC taper on the charging power
        n_row += add_taper_rows(np.flatnonzero(tapered[slot_v]), [])
    if peak:
        add(n_row + np.arange(H), o_imp + np.arange(H), 1.0)
        add(n_row + np.arange(H), np.full(H, o_z), -1.0)
        row_lower.append(np.full(H, -np.inf))
        row_upper.append(np.zeros(H))
        n_row += H
    if reserve:
        # The band is offered by V2G-eligible vehicles (index k over their slots ds): symmetric around the plan.
        t_res = objective.reserve_duration_h
        ds = dis_slots
        k = np.arange(Sd)
        for sign in (1.0, -1.0):  # p + r <= cmax ; p - r >= -dmax
            add(n_row + k, o_ch + ds, 1.0)
            add(n_row + k, o_dis + k, -1.0)
            add(n_row + k, o_r + k, sign)
            if sign > 0:
                row_lower.append(np.full(Sd, -np.inf))
                row_upper.append(problem.max_charge_kw[slot_v[ds]].astype(float))
            else:
                row_lower.append(-problem.max_discharge_kw[slot_v[ds]].astype(float))
                row_upper.append(np.full(Sd, np.inf))
            n_row += Sd
        if tapered.any():  # the upward band also stays under the DC taper: p + r <= a + slope*e_prev
            sel = tapered[slot_v[ds]]
            n_row += add_taper_rows(ds[sel], [(o_dis + k[sel], -1.0), (o_r + k[sel], 1.0)])
        # energy headroom for T_res hours of full activation
        add(n_row + k, o_e + e_pos[ds], 1.0)
        add(n_row + k, o_r + k, eta_c[ds] * t_res)
        row_lower.append(np.full(Sd, -np.inf))
        row_upper.append(hi[slot_v[ds]])
        n_row += Sd
        add(n_row + k, o_e + e_pos[ds], 1.0)
        add(n_row + k, o_r + k, -t_res / eta_d[ds])
        row_lower.append(lo[slot_v[ds]])
        row_upper.append(np.full(Sd, np.inf))
        n_row += Sd
        ub_ev = np.maximum(imp_cap - net_base, 0.0)
        lb_ev = np.minimum(-exp_cap - net_base, 0.0)
        for sign in (1.0, -1.0):
            add(n_row + slot_t, o_ch + slots, 1.0)
            add(n_row + slot_t[ds], o_dis + k, -1.0)
            add(n_row + slot_t[ds], o_r + k, sign)
            row_lower.append(np.full(H, -np.inf) if sign > 0 else lb_ev)
            row_upper.append(ub_ev if sign > 0 else np.full(H, np.inf))
            n_row += H

    hessian = None
    if objective.site_quadratic:
        # Exact quadratic ``w * sum_t c_t * s_t^2`` (c_t = dt_col/dt, the number of steps a merged move-blocking
        # column stands for) on the site power s_t = imp_t - exp_t: one free column sigma_t per step with the row
        # imp_t - exp_t - S * sigma_t = 0, S = 1/sqrt(w), so the Hessian is diagonal (2 c_t on sigma_t). A
        # separable Hessian keeps HiGHS's interior-point Newton system in normal-equation form (fast).
        scale_kw = 1.0 / np.sqrt(objective.site_quadratic)
        o_s = n_col
        cost = np.concatenate([cost, np.zeros(H)])
        lower = np.concatenate([lower, np.full(H, -np.inf)])
        upper = np.concatenate([upper, np.full(H, np.inf)])
        add(n_row + np.arange(H), o_imp + np.arange(H), 1.0)
        add(n_row + np.arange(H), o_exp + np.arange(H), -1.0)
        add(n_row + np.arange(H), o_s + np.arange(H), -scale_kw)
        row_lower.append(np.zeros(H))
        row_upper.append(np.zeros(H))
        n_row += H
        n_col += H
        diag = 2.0 * dt_col / problem.dt_h
        hessian = sp.csc_matrix((diag, (o_s + np.arange(H), o_s + np.arange(H))), shape=(n_col, n_col))
    r_all = np.concatenate(rows)
    c_all = np.concatenate(cols)
    v_all = np.concatenate(vals)
    matrix = sp.csc_matrix((v_all, (r_all, c_all)), shape=(n_row, n_col))
    return FleetModel(
        problem=problem,
        objective=objective,
        n_col=n_col,
        n_row=n_row,
        cost=cost,
        col_lower=lower,
        col_upper=upper,
        row_lower=np.concatenate(row_lower),
        row_upper=np.concatenate(row_upper),
        matrix=matrix,
        hessian=hessian,
        slot_vehicle=slot_v,
        slot_col=slot_t,
        dis_slots=dis_slots,
        target_vehicles=tgt,
        offsets={"ch": o_ch, "dis": o_dis, "e": o_e, "r": o_r, "imp": o_imp, "exp": o_exp, "z": o_z, "u": o_u},
        build_s=time.perf_counter() - t_start,
    )


@functools.cache
def qp_solver() -> str:
    """Default HiGHS QP solver: ``"hipo"`` (interior point) with ``highspy-extras`` installed, else ``"qpasm"``."""
    return "hipo" if importlib.util.find_spec("highspy_extras") is not None else "qpasm"


def solve(
    model: FleetModel, time_limit_s: float = 600.0, solver: str = "choose", options: dict | None = None
) -> Solution:
    """Solve ``model`` with HiGHS; raise :class:`StrategyError` (scenario name, model status) unless optimal."""
    t0 = time.perf_counter()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("threads", 1)
    if model.hessian is None and solver != "choose":
        h.setOptionValue("solver", solver)
    elif model.hessian is not None:
        chosen = qp_solver() if solver == "choose" else solver
        h.setOptionValue("solver", chosen)
        q = model.hessian.tocoo()
        if chosen == "hipo" and np.all(q.row == q.col):
            # A diagonal Hessian keeps the normal equations A (Q + D)^-1 A' sparse; HiPO's own choice (the
            # augmented system) is 2-3x slower on these models (measured in docs/strategies.md).
            h.setOptionValue("hipo_system", "normaleq")
    for key, value in (options or {}).items():
        h.setOptionValue(key, value)
    lp = highspy.HighsLp()
    lp.num_col_ = model.n_col
    lp.num_row_ = model.n_row
    lp.col_cost_ = model.cost
    lp.col_lower_ = model.col_lower
    lp.col_upper_ = model.col_upper
    lp.row_lower_ = model.row_lower
    lp.row_upper_ = model.row_upper
    a = model.matrix
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data
    lp.a_matrix_.num_col_ = model.n_col
    lp.a_matrix_.num_row_ = model.n_row
    if model.hessian is not None:
        hm = highspy.HighsModel()
        hm.lp_ = lp
        q = model.hessian
        hm.hessian_.dim_ = model.n_col
        hm.hessian_.format_ = highspy.HessianFormat.kTriangular
        hm.hessian_.start_ = q.indptr.astype(np.int32)
        hm.hessian_.index_ = q.indices.astype(np.int32)
        hm.hessian_.value_ = q.data
        status = h.passModel(hm)
    else:
        status = h.passModel(lp)
    name = model.problem.scenario_name or "<unnamed>"
    if status == highspy.HighsStatus.kError:
        raise StrategyError(f"scenario {name!r}: HiGHS rejected the model (status {status})")
    h.run()
    ms = h.getModelStatus()
    if ms != highspy.HighsModelStatus.kOptimal:
        raise StrategyError(
            f"scenario {name!r}: HiGHS did not find an optimum (model status: {h.modelStatusToString(ms)})"
        )
    x = np.asarray(h.getSolution().col_value)
    obj = float(h.getInfo().objective_function_value)
    solve_s = time.perf_counter() - t0
    return _read_solution(model, x, obj, h.modelStatusToString(ms), solve_s)


def _read_solution(model: FleetModel, x: np.ndarray, obj: float, status: str, solve_s: float) -> Solution:
    p = model.problem
    n, H = p.n_vehicles, p.n_steps
    o = model.offsets
    S = len(model.slot_vehicle)
    sv, st = model.slot_vehicle, model.slot_col
    ch = np.zeros((n, H))
    dis = np.zeros((n, H))
    res = np.zeros((n, H))
    ch[sv, st] = np.maximum(x[o["ch"] : o["ch"] + S], 0.0)
    ds = model.dis_slots
    dis[sv[ds], st[ds]] = np.maximum(x[o["dis"] : o["dis"] + len(ds)], 0.0)
    if o["imp"] - o["r"] > 0:
        res[sv[ds], st[ds]] = np.maximum(x[o["r"] : o["imp"]], 0.0)
    if model.hessian is not None:
        # An interior-point solution (no crossover for QPs) leaves 1e-9 to 1e-5 kW on variables that are zero at the
        # optimum; drop such discharges so that no phantom V2G energy is reported (dropping a discharge only
        # raises the battery energy, never a shortfall; the projection keeps the ceiling).
        dis[dis < QP_NOISE_KW] = 0.0
    dt_col = col_dt(p)
    eta_c = p.charge_efficiency[:, None]
    eta_d = p.discharge_efficiency[:, None]
    e_end = p.energy_kwh + ((eta_c * ch - dis / eta_d) * dt_col[None, :]).sum(axis=1)
    unmet = np.zeros(n)
    m = len(model.target_vehicles)
    unmet[model.target_vehicles] = np.maximum(x[o["u"] : o["u"] + m], 0.0)
    imp = x[o["imp"] : o["imp"] + H]
    exp = x[o["exp"] : o["exp"] + H]
    ub = model.col_upper[o["imp"] : o["imp"] + H]
    return Solution(
        power_kw=ch - dis,
        charge_kw=ch,
        discharge_kw=dis,
        reserve_kw=res,
        energy_end_kwh=e_end,
        unmet_kwh=unmet,
        import_kw=imp,
        export_kw=exp,
        objective=obj,
        status=status,
        build_s=model.build_s,
        solve_s=solve_s,
        n_col=model.n_col,
        n_row=model.n_row,
        site_active=imp >= ub - 1e-6 * max(1.0, float(np.max(ub, initial=1.0))),
    )


def project_to_physics(problem: ChargingProblem, power_kw: np.ndarray) -> tuple[np.ndarray, float]:
    """Apply the simulator's per-vehicle limits to a schedule (loop over columns, vectorised over vehicles).

    The bounds and the energy update are those of :mod:`evfleet.physics` (the simulator's engine uses the same
    functions). Removes solver-tolerance excursions (~1e-7) so the simulator never has to clip; returns the
    schedule and the largest adjustment [kW] (a diagnostic: it stays at tolerance level for an exact model).
    """
    n, H = power_kw.shape
    dt_col = col_dt(problem)
    conn = problem.connected()
    out = np.where(conn, power_kw, 0.0)
    if not problem.v2g:
        out = np.maximum(out, 0.0)
    e = problem.energy_kwh.astype(float).copy()
    limits = problem.limits()
    eta_c, eta_d = problem.charge_efficiency, problem.discharge_efficiency
    worst = 0.0
    for k in range(H):
        dt = dt_col[k]
        lower, upper = power_bounds_kw(limits, e, dt)
        col = np.clip(out[:, k], lower, upper)
        if n:
            worst = max(worst, float(np.max(np.abs(col - out[:, k]))))
        out[:, k] = col
        e = next_energy_kwh(e, col, dt, eta_c, eta_d)
    return out, worst


def unmet_reasons_from_solution(problem: ChargingProblem, sol: Solution, tol_kwh: float = 1e-3) -> np.ndarray:
    """Binding limit per vehicle with unmet slack: ``stay_too_short``, ``soc_window``, ``site_limit`` or ``""``."""
    reach = problem.reachable_energy_kwh()
    full_power = problem.energy_kwh + problem.charge_efficiency * problem.max_charge_kw * (
        (problem.departure - problem.arrival) * problem.dt_h
    )
    conn = problem.connected()
    not_full = sol.charge_kw < problem.max_charge_kw[:, None] - 1e-6
    site_bound = (conn & not_full & sol.site_active[None, :]).any(axis=1)
    reason = np.where(
        problem.energy_ceiling_kwh < problem.energy_target_kwh - 1e-9,
        "soc_window",
        np.where(
            full_power < problem.energy_target_kwh - 1e-9,
            "stay_too_short",
            np.where(site_bound | (reach < problem.energy_target_kwh - 1e-9), "site_limit", "strategy"),
        ),
    )
    return np.where(sol.unmet_kwh > tol_kwh, reason, "").astype(object)
