"""The refactored :func:`build_model` builds exactly the model of the code before the refactor.

``_reference_build_model_before_refactor`` below is a verbatim copy of ``build_model`` (and of its helpers
``_slots``, ``discharge_eligible``, ``col_dt``) as it was before the model was split into named column blocks and
one function per row family; only the names and the returned record (a dict) differ. For problems covering every
path of the builder (V2G on/off, DC taper, reserve, the QP's sigma rows, move blocking's ``col_dt_h``, tight site
limits, ``aggregate_plain`` off) the constraint matrix (its CSC arrays), the row and column bounds, the costs,
the Hessian and the index maps must be bit-for-bit equal.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import scipy.sparse as sp

from evfleet._common.tolerances import ENERGY_EPS_KWH
from evfleet.inputs.generate import generate_scenario
from evfleet.problem import ChargingProblem, build_problem
from evfleet.scenario import scenario_from_dict
from evfleet.strategies import get_strategy
from evfleet.strategies.optim.model import FleetModel, Objective, build_model
from evfleet.strategies.optim.receding import block_problem
from factories import scenario_dict

# --- the reference: the builder before the refactor, verbatim ----------------------------------------------------


def _reference_slots(problem: ChargingProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Slot layout: vehicle of each slot, its column, offsets of each vehicle's first slot, lengths."""
    length = np.maximum(problem.departure - problem.arrival, 0).astype(np.int64)
    offsets = np.zeros(len(length) + 1, dtype=np.int64)
    np.cumsum(length, out=offsets[1:])
    slot_vehicle = np.repeat(np.arange(len(length)), length)
    slot_col = np.arange(offsets[-1]) - offsets[slot_vehicle] + problem.arrival[slot_vehicle]
    return slot_vehicle, slot_col.astype(np.int64), offsets, length


def _reference_discharge_eligible(problem: ChargingProblem) -> np.ndarray:
    """Vehicles allowed to discharge: V2G on, a bidirectional charger, and arrival at/above the V2G floor."""
    e_arr = np.asarray(problem.energy_arrival_kwh, dtype=float)
    return (
        bool(problem.v2g)
        & (problem.max_discharge_kw > 0)
        & (e_arr >= problem.energy_v2g_floor_kwh - ENERGY_EPS_KWH)
        & (problem.energy_kwh >= problem.energy_v2g_floor_kwh - ENERGY_EPS_KWH)
    )


def _reference_col_dt(problem: ChargingProblem) -> np.ndarray:
    """Length of each column [h] (move blocking may give columns of different length)."""
    return problem.column_dt_h()


def _reference_build_model_before_refactor(problem: ChargingProblem, objective: Objective) -> dict:
    """Assemble the sparse model of ``problem`` with ``objective`` (no Python loop over vehicles).

    A vehicle that never discharges and holds no reserve ("plain") charges monotonically, so its energy window
    reduces to one row ``sum_s eta_c*dt*ch[s] <= hi - e0`` (and its target row): no energy variables. Energy
    variables and dynamics rows exist only for "stateful" vehicles (V2G-eligible). This is exact and shrinks the model.
    """
    t_start = time.perf_counter()
    H = problem.n_steps
    dt_col = _reference_col_dt(problem)
    slot_v, slot_t, offsets, length = _reference_slots(problem)
    S = len(slot_v)
    slots = np.arange(S)
    first = np.zeros(S, dtype=bool)
    first[offsets[:-1][length > 0]] = True
    eligible = _reference_discharge_eligible(problem)
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
        lower[o_z] = max(float(objective.peak_floor_kw), 0.0)  # (issue 13) the overrun floor: z >= F
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
    if peak and objective.peak_reactive_kvar is not None:
        # (added with the kVA demand, issue 13) outer tangent cuts cos(th) imp_t - z <= -sin(th) Q_t, angle-major:
        # K sector centres of [0, pi/2] (Q >= 0) or [-pi/2, pi/2], K the least with 1/cos(span/2K) - 1 < 1e-3
        q = np.asarray(objective.peak_reactive_kvar, dtype=float)
        lo_th = 0.0 if (q >= 0).all() else -np.pi / 2
        span = np.pi / 2 - lo_th
        n_cut = 1
        while 1.0 / np.cos(span / (2 * n_cut)) - 1.0 >= 1e-3:
            n_cut += 1
        for k in range(n_cut):
            th = lo_th + span * (k + 0.5) / n_cut
            add(n_row + np.arange(H), o_imp + np.arange(H), np.cos(th))
            add(n_row + np.arange(H), np.full(H, o_z), -1.0)
            row_lower.append(np.full(H, -np.inf))
            row_upper.append(-np.sin(th) * q)
            n_row += H
    elif peak:
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
    return dict(
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


# --- the problems ------------------------------------------------------------------------------------------------


def _generated(n: int, seed: int, limit_factor: float = 1.0, v2g_share: float = 0.8, steps: int = 60):
    sc = generate_scenario(
        vehicles=n,
        seed=seed,
        start="2026-01-15",
        step_minutes=steps,
        bidirectional_share=v2g_share,
        charger_mix={"ac7.4": 0.3, "ac11": 0.4, "ac22": 0.3},
        v2g_ready_2024=True,
    )
    return sc.replace(import_limit_kw=sc.import_limit_kw * limit_factor) if limit_factor != 1.0 else sc


def _tapered(export_limit_kw: float = 100.0):
    n_steps = 16
    vehicles = [
        {"battery_kwh": 60.0, "soc_arrival": s, "soc_target": 0.85, "soc_max": 0.9, "max_charge_kw": 50.0,
         "max_discharge_kw": 10.0 * (i % 2), "charge_efficiency": 0.95, "discharge_efficiency": 0.92,
         "arrival_step": i % 3, "departure_step": n_steps - i}
        for i, s in enumerate([0.3, 0.45, 0.6, 0.7, 0.2, 0.5, 0.1])
    ]  # fmt: skip
    data = scenario_dict(
        n_steps=n_steps,
        step_minutes=15,
        vehicles=vehicles,
        price=[1.0 + 0.5 * np.sin(k / 3) for k in range(n_steps)],
        base_load_kw=[20.0 + 60.0 * (k in (5, 6)) for k in range(n_steps)],  # above the import limit at 5, 6
        pv_kw=[60.0 * (k == 10) for k in range(n_steps)],  # net base -40 kW at step 10
        import_limit_kw=70.0,
        export_limit_kw=export_limit_kw,
    )
    data["vehicles"]["taper_soc"] = [0.5] * len(vehicles)
    data["vehicles"]["taper_end_kw"] = [8.0] * len(vehicles)
    return scenario_from_dict(data)


def _problem(sc, v2g: bool, t0: int = 0) -> ChargingProblem:
    v = sc.vehicles
    return build_problem(sc, np.arange(sc.n_vehicles), v.energy_arrival_kwh.copy(), t0, sc.n_steps - t0, v2g)


_STRATEGIES = {
    "price": lambda: get_strategy("price_optimization"),
    "peak": lambda: get_strategy("peak_shaving"),
    "valley": lambda: get_strategy("valley_filling"),
    "renewable": lambda: get_strategy("renewable_integration"),
    "support": lambda: get_strategy("grid_support", reserve_price=0.0),
    # the per-step band of V2G vehicles (the path kept verbatim); the FCR products are tested in test_fcr_blocks.py
    "reserve": lambda: get_strategy(
        "grid_support", reserve_price=0.4, fcr_block_h=0.0, fcr_min_offer_kw=0.0, fcr_participation="v2g_only"
    ),
}


def _cases() -> list:
    cases = []
    for kind in _STRATEGIES:
        for v2g in (True, False):
            cases.append(pytest.param("generated", kind, v2g, 1.0, None, True, id=f"gen-{kind}-v2g{int(v2g)}"))
            cases.append(pytest.param("tapered", kind, v2g, 1.0, None, True, id=f"taper-{kind}-v2g{int(v2g)}"))
        cases.append(pytest.param("generated", kind, True, 0.2, None, True, id=f"gen-tight-{kind}"))
        cases.append(pytest.param("generated", kind, True, 1.0, (3, 4), True, id=f"gen-blocked-{kind}"))
        cases.append(pytest.param("tapered", kind, True, 1.0, (2, 3), True, id=f"taper-blocked-{kind}"))
        cases.append(pytest.param("tapered", kind, True, 1.0, None, False, id=f"taper-stateful-{kind}"))
        cases.append(pytest.param("export", kind, True, 1.0, None, True, id=f"taper-export-{kind}"))
    return cases


def _build_case(scenario: str, kind: str, v2g: bool, limit: float, blocks, aggregate: bool):
    if scenario == "generated":
        sc = _generated(14, 7, limit)
    elif scenario == "tapered":
        sc = _tapered()
    else:  # a tight export limit: columns where nothing may discharge
        sc = _tapered(export_limit_kw=5.0)
    p = _problem(sc, v2g)
    if blocks is not None:
        p = block_problem(p, *blocks)
    obj = _STRATEGIES[kind]().objective(p)
    obj.aggregate_plain = aggregate
    return p, obj


def _same_array(name: str, new, old) -> None:
    new, old = np.asarray(new), np.asarray(old)
    assert new.dtype == old.dtype, (name, new.dtype, old.dtype)
    assert new.shape == old.shape, (name, new.shape, old.shape)
    assert np.array_equal(new, old, equal_nan=True), name


def _same_sparse(name: str, new: sp.csc_matrix | None, old: sp.csc_matrix | None) -> None:
    assert (new is None) == (old is None), name
    if new is None:
        return
    assert new.format == old.format == "csc", name
    assert new.shape == old.shape, (name, new.shape, old.shape)
    for part in ("indptr", "indices", "data"):
        _same_array(f"{name}.{part}", getattr(new, part), getattr(old, part))


def assert_same_model(new: FleetModel, old: dict) -> None:
    """Every array of the model equal bit for bit (matrix as CSC arrays, bounds, costs, Hessian, index maps)."""
    assert (new.n_col, new.n_row) == (old["n_col"], old["n_row"])
    for key in ("cost", "col_lower", "col_upper", "row_lower", "row_upper"):
        _same_array(key, getattr(new, key), old[key])
    for key in ("slot_vehicle", "slot_col", "dis_slots", "target_vehicles"):
        _same_array(key, getattr(new, key), old[key])
    _same_sparse("matrix", new.matrix, old["matrix"])
    _same_sparse("hessian", new.hessian, old["hessian"])
    assert {name: new.layout.start[name] for name in old["offsets"]} == old["offsets"]
    assert new.layout.start["sigma"] == (
        old["n_col"] - old["problem"].n_steps if old["hessian"] is not None else old["n_col"]
    )
    assert new.layout.n_col == new.n_col


# --- the tests ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("scenario", "kind", "v2g", "limit", "blocks", "aggregate"), _cases())
def test_build_model_unchanged_by_the_refactor(scenario, kind, v2g, limit, blocks, aggregate) -> None:
    p, obj = _build_case(scenario, kind, v2g, limit, blocks, aggregate)
    old = _reference_build_model_before_refactor(p, obj)
    assert old["n_row"] > 0
    assert_same_model(build_model(p, obj), old)


def test_the_cases_cover_every_path_of_the_builder() -> None:
    """The problems above exercise taper cuts, discharge, reserve, the QP, peak, blocked columns, curtailed columns."""
    seen = set()
    for param in _cases():
        p, obj = _build_case(*param.values)
        old = _reference_build_model_before_refactor(p, obj)
        cut = p.taper_cut()
        if cut is not None and (cut[1] < 0).any():
            seen.add("taper")
        if len(old["dis_slots"]):
            seen.add("discharge")
        if obj.reserve_revenue is not None and len(old["dis_slots"]):
            seen.add("reserve")
        if obj.reserve_revenue is not None and cut is not None and len(old["dis_slots"]):
            seen.add("reserve-taper")
        if old["hessian"] is not None:
            seen.add("qp")
        if obj.peak_cost is not None:
            seen.add("peak")
        if obj.peak_reactive_kvar is not None:
            seen.add("kva")
        if not np.allclose(p.column_dt_h(), p.dt_h):
            seen.add("blocked")
        net = p.base_load_kw - p.pv_kw
        if (net > p.import_limit_kw - 1e-9).any():
            seen.add("no-charge-column")
        if (net < -p.export_limit_kw + 1e-9).any():
            seen.add("no-discharge-column")
        if not obj.aggregate_plain:
            seen.add("all-stateful")
    expected = {"taper", "discharge", "reserve", "reserve-taper", "qp", "peak", "kva", "blocked", "no-charge-column",
                "no-discharge-column", "all-stateful"}  # fmt: skip
    assert expected <= seen, expected - seen


def test_the_comparison_sees_a_changed_coefficient() -> None:
    """The comparison can fail: one changed coefficient, bound or cost is detected."""
    p, obj = _build_case("tapered", "reserve", True, 1.0, None, True)
    old = _reference_build_model_before_refactor(p, obj)
    for mutate in ("matrix", "row_upper", "cost"):
        new = build_model(p, obj)
        if mutate == "matrix":
            new.matrix.data[len(new.matrix.data) // 2] *= 1.0 + 1e-12
        else:
            arr = getattr(new, mutate)
            arr[np.flatnonzero(np.isfinite(arr) & (arr != 0))[-1]] *= 1.0 + 1e-12
        with pytest.raises(AssertionError):
            assert_same_model(new, old)


def test_reference_builds_an_objective_without_costs() -> None:
    """The default :class:`Objective` (no import cost, no peak) builds too, identically."""
    p = _problem(_generated(6, 3), True)
    obj = Objective()
    assert_same_model(build_model(p, obj), _reference_build_model_before_refactor(p, obj))
