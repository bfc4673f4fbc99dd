"""The shared sparse LP/QP model of a charging problem, built directly as CSC arrays (solved in ``optim.highs``).

Units: power [kW] (grid side), battery energy [kWh], prices [MAD/kWh], column length ``dt`` [h].

Variables exist only while a vehicle is connected ("slots": one per vehicle and connected column), laid out
vehicle-major, so the model grows with the number of plug-in hours, not with ``n_vehicles * n_steps``. The
:class:`ColumnLayout` allocates the column blocks in this order (a block may be empty):

* ``ch[s] in [0, max_charge_kw]`` charging power of every slot;
* ``dis[s] in [0, max_discharge_kw]`` discharging power of the V2G-eligible slots;
* ``e[s]`` battery energy at the *end* of slot s, for the "stateful" slots (V2G-eligible or DC-tapered vehicles);
* ``r[s] >= 0`` reserved symmetric frequency band of the V2G-eligible slots (only when a reserve is priced);
* ``imp[t], exp[t] >= 0`` site import/export per column;
* ``z >= 0`` the peak import (only with a peak cost);
* ``u[i] >= 0`` unmet battery energy per vehicle departing inside the horizon;
* ``sigma[t]`` free, the scaled site power (QP only).

The row families, one function each, appended in this order by :func:`build_model` (the simulator's physics, see
:mod:`evfleet.physics` and :mod:`evfleet.simulation.engine`):

* :func:`energy_balance_rows` ``e[s] - e[s-1] - eta_c*dt*ch[s] + dt/eta_d*dis[s] = 0`` (``e[-1] = e0``);
* :func:`site_balance_rows` ``imp[t] - exp[t] - sum_s(ch - dis) = base[t] - pv[t]``;
* :func:`plain_ceiling_rows` ``sum_s eta_c*dt*ch[s] <= hi - e0`` for a "plain" vehicle (no energy variables);
* :func:`target_rows` ``e[last slot of i] + u[i] >= target_i`` (plain: ``sum eta_c*dt*ch + u >= target - e0``);
* :func:`dc_taper_rows` ``ch[s] - slope*e[s-1] <= a`` (the DC charging curve, tapered vehicles);
* :func:`peak_rows` ``imp[t] - z <= 0``, or with a kVA demand (``Objective.peak_reactive_kvar`` = Q) the outer
  tangent cuts of :func:`kva_peak_rows` ``cos(th_k)*imp[t] - z <= -sin(th_k)*Q[t]`` (``z >= sqrt(imp^2 + Q^2)``
  within a stated relative error);
* :func:`reserve_power_rows`, :func:`reserve_taper_rows`, :func:`reserve_energy_rows`, :func:`reserve_site_rows`:
  the band ``r`` fits the power limits, the DC taper, the energy window for ``T_res`` hours and the site limits;
* :func:`site_power_rows` ``imp[t] - exp[t] - S*sigma[t] = 0`` with ``S = 1/sqrt(w)`` [kW] (QP only), and the
  diagonal Hessian of :func:`site_quadratic_hessian`.

The energy window ``lo_i <= e[s] <= hi_i`` (``hi_i = max(ceiling, e0)``; ``lo_i`` the V2G floor ``soc_min*B`` for
vehicles allowed to discharge, the session floor otherwise) and the site limits ``imp <= max(I, net_base)``,
``exp <= max(E, -net_base)`` are column bounds (:func:`column_bounds`). Where the net base load alone exceeds
the import limit no vehicle charges (the simulator would curtail it), where it exceeds the export limit none
discharges. V2G eligibility: a vehicle may discharge only if it arrived at or above its V2G floor (the simulator
stops V2G at ``soc_min``; the exact rule "discharge only while above the floor" is non-convex, so a vehicle
arriving below the floor is not discharged during that session: a conservative, physics-safe restriction). The
target slack ``u`` is penalised: an unreachable target never makes the model infeasible.

Objective: ``sum c.x + 1/2 x'Qx`` assembled from an :class:`Objective` (:func:`column_costs`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from evfleet._common.tolerances import ENERGY_EPS_KWH
from evfleet.problem import ChargingProblem

__all__ = [
    "ColumnLayout",
    "FleetModel",
    "ModelSets",
    "Objective",
    "RowBuilder",
    "build_model",
    "col_dt",
    "discharge_eligible",
    "kva_cut_value",
    "kva_import_cap_kw",
]


@dataclass
class Objective:
    """Objective terms (all optional; zero by default). Costs multiply the variable values.

    ``import_cost[t]``/``export_cost[t]`` per kW of ``imp``/``exp`` (already times ``dt_h``);
    ``charge_cost`` per kWh charged (scalar or per column), ``discharge_cost`` per kWh discharged (scalar), both
    grid side and times ``dt_h`` per slot;
    ``peak_cost`` per kW of the peak variable ``z`` (``None``: no peak variable), ``peak_floor_kw`` its lower
    bound [kW] (the overrun term: ``z >= max(floor, imp[t])`` costs only above the floor);
    ``site_quadratic`` weight ``w`` of ``w * sum_t (imp - exp)^2`` [1/kW^2], exact (a QP; see :func:`build_model`);
    ``reserve_revenue[t]`` per kW of reserved band at column t (``None``: no reserve variables);
    ``reserve_block[t]`` (H,) the product block of column t: the pooled band is one constant ``B_k`` on every
    column of block k (``None``: a band per column); ``reserve_min_kw``: the smallest pooled offer of a block
    (``B_k = 0`` or ``>= reserve_min_kw``, one binary per block: a MIP; 0: none); ``reserve_unidirectional``:
    vehicles without V2G may hold a band by modulating their charging (``0 <= ch -+ r <= cmax``);
    ``reserve_block_cap_kw`` (K,) an upper bound of each block's pooled band (0: no offer in that block);
    ``unmet_penalty`` per kWh of unmet battery energy; ``peak_reactive_kvar`` (H,) [kvar] the site's reactive
    power: the peak variable then measures the apparent power ``sqrt(imp^2 + Q^2)`` [kVA] (:func:`kva_peak_rows`);
    ``plain_energy_column``: each plain vehicle's energy ``E[i] = sum_s eta_c*dt*ch[s]`` gets its own column (the
    ceiling its bound, the target row on it): the same model with 2 instead of 3 nonzeros per plain slot (HiPO ~15 %
    faster on the valley-filling QP, :mod:`~evfleet.strategies.optim.relaxed`).
    """

    import_cost: np.ndarray | None = None
    export_cost: np.ndarray | None = None
    charge_cost: float | np.ndarray = 0.0
    discharge_cost: float = 0.0
    peak_cost: float | None = None
    peak_floor_kw: float = 0.0
    site_quadratic: float = 0.0
    reserve_revenue: np.ndarray | None = None
    reserve_duration_h: float = 0.25
    unmet_penalty: float = 100.0
    aggregate_plain: bool = True
    reserve_block: np.ndarray | None = None
    reserve_min_kw: float = 0.0
    reserve_unidirectional: bool = False
    reserve_block_cap_kw: np.ndarray | None = None
    peak_reactive_kvar: np.ndarray | None = None
    plain_energy_column: bool = False


@dataclass
class ColumnLayout:
    """The model's variable blocks, allocated in order: each block's first column and size by name."""

    start: dict[str, int] = field(default_factory=dict)
    size: dict[str, int] = field(default_factory=dict)
    n_col: int = 0

    def allocate(self, name: str, size: int) -> None:
        """Append block ``name`` of ``size`` columns after the blocks allocated so far."""
        self.start[name] = self.n_col
        self.size[name] = int(size)
        self.n_col += int(size)

    def span(self, name: str) -> slice:
        """The columns of block ``name`` as a slice (to index column arrays or a solution)."""
        return slice(self.start[name], self.start[name] + self.size[name])

    def cols(self, name: str, k: np.ndarray | None = None) -> np.ndarray:
        """Column indices of block ``name``: all of them, or its entries ``k``."""
        return self.start[name] + (np.arange(self.size[name]) if k is None else np.asarray(k))


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
    layout: ColumnLayout
    build_s: float = 0.0
    uni_slots: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    integrality: np.ndarray | None = None
    #: first row of some row families by name: "balance" (one row per stateful slot, in ``e`` order), "target"
    #: (one per departing vehicle, in ``u`` order), "uni_up",
    #: "uni_down", "uni_energy_up", "uni_energy_down" (one row per charging-only band slot, in ``uni_slots``
    #: order), "dc_taper" (one per DC-tapered slot, in slot order); for :mod:`~evfleet.strategies.optim.band`
    row_start: dict[str, int] = field(default_factory=dict)
    #: the index sets the model was built from (:func:`model_sets`; reused by the warm start's completion)
    sets: ModelSets | None = None


def _integrality(cols: ColumnLayout) -> np.ndarray | None:
    """HiGHS integrality of the columns (1 = integer) when the model has the minimum-offer binaries, else None."""
    if not cols.size.get("y"):
        return None
    out = np.zeros(cols.n_col, dtype=np.int32)
    out[cols.span("y")] = 1
    return out


@dataclass
class RowBuilder:
    """Rows of the model as COO triplets and row bounds, appended family by family."""

    n_row: int = 0
    rows: list[np.ndarray] = field(default_factory=list)
    cols: list[np.ndarray] = field(default_factory=list)
    vals: list[np.ndarray] = field(default_factory=list)
    lower: list[np.ndarray] = field(default_factory=list)
    upper: list[np.ndarray] = field(default_factory=list)

    def open(self, lower: np.ndarray, upper: np.ndarray) -> int:
        """Append ``len(lower)`` rows ``lower <= a.x <= upper``; return the index of the first one."""
        first = self.n_row
        self.lower.append(lower)
        self.upper.append(upper)
        self.n_row += len(lower)
        return first

    def add(self, r: np.ndarray, c: np.ndarray, v: np.ndarray | float) -> None:
        """Coefficients ``v`` at rows ``r`` and columns ``c`` (a scalar ``v`` is broadcast)."""
        self.rows.append(np.asarray(r, dtype=np.int64))
        self.cols.append(np.asarray(c, dtype=np.int64))
        self.vals.append(np.broadcast_to(np.asarray(v, dtype=float), np.shape(r)))

    def matrix(self, n_col: int) -> sp.csc_matrix:
        """The constraint matrix (``n_row`` x ``n_col``)."""
        r_all = np.concatenate(self.rows)
        c_all = np.concatenate(self.cols)
        v_all = np.concatenate(self.vals)
        return sp.csc_matrix((v_all, (r_all, c_all)), shape=(self.n_row, n_col))


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


@dataclass(frozen=True)
class ModelSets:
    """Index sets and per-slot data of a problem's model (slots ``s``, vehicles ``i``, columns ``t``).

    Slots: ``slot_v``/``slot_t`` vehicle and column of each slot, ``slot_start[i]`` the first slot of vehicle i
    (``slot_start[n]`` the number of slots), ``first[s]`` the first slot of its vehicle; ``dis_slots`` the
    V2G-eligible slots, ``st_slots`` the stateful ones (with an energy variable, at ``e_pos[s]`` in the ``e``
    block), ``plain_slots`` the others. Vehicles: ``eligible`` may discharge, ``stateful`` has energy variables,
    ``tapered`` has a binding DC taper cut ``p <= a + slope*e`` (``cut = (a, slope)``), ``tgt`` departs inside the
    horizon (``e_tgt`` its target [kWh]), ``plain`` is connected and not stateful; ``e0``, ``hi``, ``lo`` [kWh].
    Columns: ``dt_col`` [h], ``net_base = base - pv`` [kW], ``no_charge_col``/``no_dis_col`` where the net base
    alone is above the import / below minus the export limit (``imp_cap``, ``exp_cap`` [kW]). Per slot:
    ``eta_c``, ``eta_d``, ``dt_s`` [h].
    """

    H: int
    dt_col: np.ndarray
    slot_v: np.ndarray
    slot_t: np.ndarray
    slot_start: np.ndarray
    first: np.ndarray
    eligible: np.ndarray
    stateful: np.ndarray
    tapered: np.ndarray
    cut: tuple[np.ndarray, np.ndarray] | None
    net_base: np.ndarray
    imp_cap: float
    exp_cap: float
    no_charge_col: np.ndarray
    no_dis_col: np.ndarray
    dis_slots: np.ndarray
    st_slots: np.ndarray
    e_pos: np.ndarray
    plain_slots: np.ndarray
    tgt: np.ndarray
    e_tgt: np.ndarray
    plain: np.ndarray
    eta_c: np.ndarray
    eta_d: np.ndarray
    dt_s: np.ndarray
    e0: np.ndarray
    hi: np.ndarray
    lo: np.ndarray
    departs: np.ndarray
    uni_slots: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def model_sets(problem: ChargingProblem, objective: Objective) -> ModelSets:
    """The index sets of ``problem``'s model under ``objective`` (which vehicles need energy variables).

    A vehicle that never discharges and holds no reserve ("plain") charges monotonically, so its energy window
    reduces to one row (:func:`plain_ceiling_rows`): no energy variables. Energy variables exist only for
    "stateful" vehicles: V2G-eligible ones (all with ``aggregate_plain=False``) and those whose DC taper cut can
    bind (the battery can pass the knee: ``a + slope*max(ceiling, e0) < max_charge_kw``).
    """
    dt_col = col_dt(problem)
    slot_v, slot_t, offsets, length = _slots(problem)
    S = len(slot_v)
    first = np.zeros(S, dtype=bool)
    first[offsets[:-1][length > 0]] = True
    eligible = discharge_eligible(problem)
    stateful = eligible.copy() if objective.aggregate_plain else np.ones(problem.n_vehicles, dtype=bool)
    cut = problem.taper_cut()
    tapered = np.zeros(problem.n_vehicles, dtype=bool)
    if cut is not None:
        e_max = np.maximum(problem.energy_ceiling_kwh, problem.energy_kwh)
        tapered = (cut[1] < 0) & (cut[0] + cut[1] * e_max < problem.max_charge_kw - 1e-9)
        stateful |= tapered  # they need energy variables for the cut
    if objective.reserve_revenue is not None and objective.reserve_unidirectional:
        stateful |= ~eligible  # a charging-only band needs the energy window of every slot
    net_base = problem.base_load_kw - problem.pv_kw
    imp_cap = max(problem.import_limit_kw, 0.0)
    exp_cap = max(problem.export_limit_kw, 0.0)
    st_slots = np.flatnonzero(stateful[slot_v])
    e_pos = np.full(S, -1, dtype=np.int64)
    e_pos[st_slots] = np.arange(len(st_slots))
    has = length > 0
    tgt = np.flatnonzero(problem.departs_in_horizon & has)
    e0 = problem.energy_kwh
    lo_v2g = np.minimum(problem.energy_v2g_floor_kwh, e0)
    return ModelSets(
        H=problem.n_steps,
        dt_col=dt_col,
        slot_v=slot_v,
        slot_t=slot_t,
        slot_start=offsets,
        first=first,
        eligible=eligible,
        stateful=stateful,
        tapered=tapered,
        cut=cut,
        net_base=net_base,
        imp_cap=imp_cap,
        exp_cap=exp_cap,
        no_charge_col=net_base > imp_cap - 1e-9,
        no_dis_col=net_base < -exp_cap + 1e-9,
        dis_slots=np.flatnonzero(eligible[slot_v]),
        st_slots=st_slots,
        e_pos=e_pos,
        plain_slots=np.flatnonzero(~stateful[slot_v]),
        tgt=tgt,
        e_tgt=problem.energy_target_kwh[tgt],
        plain=np.flatnonzero(~stateful & has),
        eta_c=problem.charge_efficiency[slot_v],
        eta_d=problem.discharge_efficiency[slot_v],
        dt_s=dt_col[slot_t],
        e0=e0,
        hi=np.maximum(problem.energy_ceiling_kwh, e0),
        lo=np.where(eligible, lo_v2g, np.minimum(problem.energy_floor_kwh, e0)),
        departs=problem.departs_in_horizon,
        uni_slots=(
            np.flatnonzero(~eligible[slot_v])
            if objective.reserve_revenue is not None and objective.reserve_unidirectional
            else np.zeros(0, dtype=np.int64)
        ),
    )


def column_layout(ms: ModelSets, objective: Objective) -> ColumnLayout:
    """The column blocks in order: ``ch``, ``dis``, ``e``, ``r``, ``imp``, ``exp``, ``z``, ``u``, ``sigma``, ``E``."""
    cols = ColumnLayout()
    cols.allocate("ch", len(ms.slot_v))
    cols.allocate("dis", len(ms.dis_slots))
    cols.allocate("e", len(ms.st_slots))
    cols.allocate("r", len(ms.dis_slots) if objective.reserve_revenue is not None else 0)
    cols.allocate("ru", len(ms.uni_slots))
    n_blocks = _n_blocks(objective)
    cols.allocate("B", n_blocks)
    cols.allocate("y", n_blocks if objective.reserve_min_kw > 0 else 0)
    cols.allocate("imp", ms.H)
    cols.allocate("exp", ms.H)
    cols.allocate("z", 1 if objective.peak_cost is not None else 0)
    cols.allocate("u", len(ms.tgt))
    cols.allocate("sigma", ms.H if objective.site_quadratic else 0)
    cols.allocate("E", len(ms.plain) if objective.plain_energy_column else 0)
    return cols


def column_bounds(problem: ChargingProblem, ms: ModelSets, cols: ColumnLayout,
                  objective: Objective | None = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Lower and upper bounds of every column [kW, kWh].

    ``0 <= ch[s] <= cmax_i`` (0 where ``net_base[t] > I``); ``0 <= dis[s] <= dmax_i`` (0 where
    ``net_base[t] < -E``); the energy window ``lo_i <= e[s] <= hi_i``; ``r[s] >= 0``; the site limits
    ``0 <= imp[t] <= max(I, net_base[t])``, ``0 <= exp[t] <= max(E, -net_base[t])``; ``z >= 0``;
    ``0 <= u[i] <= max(target_i - lo_i, 0)``; ``sigma[t]`` free.
    """
    sv, st, ds = ms.slot_v, ms.slot_t, ms.dis_slots
    lower = np.zeros(cols.n_col)
    upper = np.empty(cols.n_col)
    upper[cols.span("ch")] = np.where(ms.no_charge_col[st], 0.0, problem.max_charge_kw[sv])
    upper[cols.span("dis")] = np.where(ms.no_dis_col[st[ds]], 0.0, problem.max_discharge_kw[sv[ds]])
    lower[cols.span("e")] = ms.lo[sv[ms.st_slots]]
    upper[cols.span("e")] = ms.hi[sv[ms.st_slots]]
    upper[cols.span("r")] = np.inf
    upper[cols.span("ru")] = np.inf
    upper[cols.span("B")] = np.inf
    if cols.size["B"] and objective is not None and objective.reserve_block_cap_kw is not None:
        upper[cols.span("B")] = np.asarray(objective.reserve_block_cap_kw, dtype=float)[: cols.size["B"]]
    upper[cols.span("y")] = 1.0
    upper[cols.span("imp")] = np.maximum(ms.imp_cap, ms.net_base)
    upper[cols.span("exp")] = np.maximum(ms.exp_cap, -ms.net_base)
    upper[cols.span("z")] = np.inf
    upper[cols.span("u")] = np.maximum(ms.e_tgt - ms.lo[ms.tgt], 0.0)
    lower[cols.span("sigma")] = -np.inf
    upper[cols.span("sigma")] = np.inf
    if cols.size.get("E"):
        upper[cols.span("E")] = ms.hi[ms.plain] - ms.e0[ms.plain]
    return lower, upper


def column_costs(ms: ModelSets, cols: ColumnLayout, objective: Objective) -> np.ndarray:
    """The linear costs ``c`` of the objective [MAD per unit of each column].

    ``c_ch[s] = charge_cost[t]*dt``, ``c_dis[s] = discharge_cost*dt``, ``c_r[s] = -reserve_revenue[t]*dt``,
    ``c_imp[t] = import_cost[t]``, ``c_exp[t] = export_cost[t]``, ``c_z = peak_cost``, ``c_u = unmet_penalty``;
    ``e`` and ``sigma`` cost nothing (the QP's cost is the Hessian's).
    """
    ds, dt_s = ms.dis_slots, ms.dt_s
    cost = np.zeros(cols.n_col)
    cost[cols.span("ch")] = np.broadcast_to(np.asarray(objective.charge_cost, dtype=float), (ms.H,))[ms.slot_t] * dt_s
    cost[cols.span("dis")] = objective.discharge_cost * dt_s[ds]
    if objective.reserve_revenue is not None:
        cost[cols.span("r")] = -np.asarray(objective.reserve_revenue, dtype=float)[ms.slot_t[ds]] * dt_s[ds]
        us = ms.uni_slots
        cost[cols.span("ru")] = -np.asarray(objective.reserve_revenue, dtype=float)[ms.slot_t[us]] * dt_s[us]
    if objective.import_cost is not None:
        cost[cols.span("imp")] = objective.import_cost
    if objective.export_cost is not None:
        cost[cols.span("exp")] = objective.export_cost
    if objective.peak_cost is not None:
        cost[cols.span("z")] = objective.peak_cost
    cost[cols.span("u")] = objective.unmet_penalty
    return cost


def energy_balance_rows(rows: RowBuilder, cols: ColumnLayout, ms: ModelSets) -> None:
    """Battery dynamics of the stateful slots [kWh], one row per slot ``s`` of vehicle i.

    ``e[s] - e[s-1] - eta_c*dt*ch[s] + dt/eta_d*dis[s] = 0``, and ``= e0_i`` on the first slot (``e[-1] = e0``).
    """
    st, ds, e_pos = ms.st_slots, ms.dis_slots, ms.e_pos
    rhs = np.where(ms.first[st], ms.e0[ms.slot_v[st]], 0.0)
    r0 = rows.open(rhs, rhs)
    rows.add(r0 + np.arange(len(st)), cols.cols("e"), 1.0)
    prev = st[~ms.first[st]]
    rows.add(r0 + e_pos[prev], cols.cols("e", e_pos[prev] - 1), -1.0)
    rows.add(r0 + e_pos[st], cols.cols("ch", st), -ms.eta_c[st] * ms.dt_s[st])
    rows.add(r0 + e_pos[ds], cols.cols("dis"), ms.dt_s[ds] / ms.eta_d[ds])


def site_balance_rows(rows: RowBuilder, cols: ColumnLayout, ms: ModelSets) -> None:
    """Site power balance per column t [kW]: ``imp[t] - exp[t] - sum_s(ch[s] - dis[s]) = base[t] - pv[t]``."""
    t = np.arange(ms.H)
    r0 = rows.open(ms.net_base, ms.net_base)
    rows.add(r0 + t, cols.cols("imp"), 1.0)
    rows.add(r0 + t, cols.cols("exp"), -1.0)
    rows.add(r0 + ms.slot_t, cols.cols("ch"), -1.0)
    rows.add(r0 + ms.slot_t[ms.dis_slots], cols.cols("dis"), 1.0)


def plain_ceiling_rows(rows: RowBuilder, cols: ColumnLayout, ms: ModelSets) -> None:
    """Energy ceiling of each plain vehicle i [kWh] (its energy rises monotonically).

    ``sum_s eta_c*dt*ch[s] <= hi_i - e0_i`` over the slots of i; with energy columns ``E`` (``plain_energy_column``)
    ``sum_s eta_c*dt*ch[s] - E[i] = 0`` (the ceiling is the bound of ``E[i]``).
    """
    plain, ps = ms.plain, ms.plain_slots
    with_e = bool(cols.size.get("E"))
    if with_e:
        r0 = rows.open(np.zeros(len(plain)), np.zeros(len(plain)))
        rows.add(r0 + np.arange(len(plain)), cols.cols("E"), -1.0)
    else:
        r0 = rows.open(np.full(len(plain), -np.inf), ms.hi[plain] - ms.e0[plain])
    plain_row = np.full(len(ms.e0), -1, dtype=np.int64)
    plain_row[plain] = r0 + np.arange(len(plain))
    rows.add(plain_row[ms.slot_v[ps]], cols.cols("ch", ps), ms.eta_c[ps] * ms.dt_s[ps])


def target_rows(rows: RowBuilder, cols: ColumnLayout, ms: ModelSets) -> None:
    """Departure target of every vehicle i leaving inside the horizon [kWh], with the penalised slack ``u[i]``.

    Stateful: ``e[last slot of i] + u[i] >= target_i``; plain: ``sum_s eta_c*dt*ch[s] + u[i] >= target_i - e0_i``.
    """
    tgt, m = ms.tgt, len(ms.tgt)
    r0 = rows.open(np.where(ms.stateful[tgt], ms.e_tgt, ms.e_tgt - ms.e0[tgt]), np.full(m, np.inf))
    tgt_row = np.full(len(ms.e0), -1, dtype=np.int64)
    tgt_row[tgt] = r0 + np.arange(m)
    st_t = tgt[ms.stateful[tgt]]
    last_slot = ms.slot_start[1:][st_t] - 1
    rows.add(tgt_row[st_t], cols.cols("e", ms.e_pos[last_slot]), 1.0)
    if cols.size.get("E"):  # plain: ``E[i] + u[i] >= target_i - e0_i``
        pos = np.full(len(ms.e0), -1, dtype=np.int64)
        pos[ms.plain] = np.arange(len(ms.plain))
        pt = tgt[~ms.stateful[tgt] & (pos[tgt] >= 0)]
        rows.add(tgt_row[pt], cols.cols("E", pos[pt]), 1.0)
    else:
        ps = ms.plain_slots[ms.departs[ms.slot_v[ms.plain_slots]]]
        rows.add(tgt_row[ms.slot_v[ps]], cols.cols("ch", ps), ms.eta_c[ps] * ms.dt_s[ps])
    rows.add(r0 + np.arange(m), cols.cols("u"), 1.0)


def _taper_cut_rows(
    rows: RowBuilder, cols: ColumnLayout, ms: ModelSets, ts: np.ndarray, extra: list[tuple[np.ndarray, float]]
) -> None:
    """Taper cuts ``ch[s] (+ extra terms) - slope*e[s-1] <= a`` [kW] for slots ``ts``.

    On a vehicle's first slot ``e[s-1] = e0`` is a constant: ``ch[s] (+ extra) <= max(a + slope*e0, 0)``.
    """
    assert ms.cut is not None
    kt = np.arange(len(ts))
    a_s, slope_s = ms.cut[0][ms.slot_v[ts]], ms.cut[1][ms.slot_v[ts]]
    upper = np.where(ms.first[ts], np.maximum(a_s + slope_s * ms.e0[ms.slot_v[ts]], 0.0), a_s)
    r0 = rows.open(np.full(len(ts), -np.inf), upper)
    rows.add(r0 + kt, cols.cols("ch", ts), 1.0)
    for cols_extra, coef in extra:
        rows.add(r0 + kt, cols_extra, coef)
    later = ~ms.first[ts]
    rows.add(r0 + kt[later], cols.cols("e", ms.e_pos[ts[later]] - 1), -slope_s[later])


def dc_taper_rows(rows: RowBuilder, cols: ColumnLayout, ms: ModelSets) -> None:
    """DC charging curve of the tapered slots [kW]: ``ch[s] <= a_i + slope_i*e[s-1]`` (energy at the step's start)."""
    _taper_cut_rows(rows, cols, ms, np.flatnonzero(ms.tapered[ms.slot_v]), [])


def peak_rows(rows: RowBuilder, cols: ColumnLayout, ms: ModelSets) -> None:
    """Peak import per column t [kW]: ``imp[t] - z <= 0``."""
    t = np.arange(ms.H)
    r0 = rows.open(np.full(ms.H, -np.inf), np.zeros(ms.H))
    rows.add(r0 + t, cols.cols("imp"), 1.0)
    rows.add(r0 + t, cols.cols("z", np.zeros(ms.H, dtype=np.int64)), -1.0)


#: Largest relative error of the kVA tangent cuts: ``1/cos(span/(2K)) - 1`` below this (0.1 %).
KVA_CUT_REL_ERROR = 1e-3


def kva_cut_angles(reactive_kvar: np.ndarray) -> tuple[np.ndarray, float]:
    """Angles ``th_k`` [rad] of the kVA tangent cuts and their worst-case relative error.

    The called power's direction ``(P, Q)`` with ``P >= 0`` spans ``[-pi/2, pi/2]`` (``[0, pi/2]`` when Q >= 0 at
    every column): K cuts at the centres of K equal sectors of that span leave at most ``span/(2K)`` between any
    direction and its nearest cut, so ``max_k (cos th_k P + sin th_k Q) >= cos(span/(2K)) * sqrt(P^2 + Q^2)``:
    the true kVA exceeds the LP's by at most ``1/cos(span/(2K)) - 1``; K is the least with that below
    :data:`KVA_CUT_REL_ERROR` (K = 18 for a quarter plane, 36 for a half plane: 9.5e-4).
    """
    q = np.asarray(reactive_kvar, dtype=float)
    lo = 0.0 if (q >= 0).all() else -np.pi / 2
    span = np.pi / 2 - lo
    k = int(np.ceil(span / (2.0 * np.arccos(1.0 / (1.0 + KVA_CUT_REL_ERROR)))))
    angles = lo + span * (np.arange(k) + 0.5) / k
    return angles, float(1.0 / np.cos(span / (2 * k)) - 1.0)


def kva_cut_value(import_kw: np.ndarray, reactive_kvar: np.ndarray) -> float:
    """The called power the kVA cuts give a schedule [kVA]: ``max_k,t (cos th_k imp_t + sin th_k Q_t)`` (0 at
    least), the value of the LP's ``z`` at that schedule (:func:`kva_cut_angles`)."""
    q = np.asarray(reactive_kvar, dtype=float)[None, :]
    th = kva_cut_angles(reactive_kvar)[0][:, None]
    return float(np.max(np.cos(th) * np.asarray(import_kw, dtype=float)[None, :] + np.sin(th) * q, initial=0.0))


def kva_import_cap_kw(called_kva: float, reactive_kvar: np.ndarray) -> np.ndarray:
    """Per column, the largest import [kW] (0 at least) that keeps every kVA cut at or below ``called_kva``:
    ``min_k (S - sin th_k Q_t) / cos th_k``."""
    q = np.asarray(reactive_kvar, dtype=float)[None, :]
    th = kva_cut_angles(reactive_kvar)[0][:, None]
    return np.maximum(np.min((called_kva - np.sin(th) * q) / np.cos(th), axis=0), 0.0)


def kva_peak_rows(rows: RowBuilder, cols: ColumnLayout, ms: ModelSets, reactive_kvar: np.ndarray) -> None:
    """Peak apparent power per column t [kVA]: ``cos(th_k)*imp[t] - z <= -sin(th_k)*Q[t]`` for every cut angle
    ``th_k`` (:func:`kva_cut_angles`), so ``z >= sqrt(imp[t]^2 + Q[t]^2)`` within the stated error.

    The bill counts only importing steps; at a column that does not import the cuts ask ``z >= max(Q, 0)``
    (conservative: a higher z is never cheaper).
    """
    angles, _ = kva_cut_angles(reactive_kvar)
    q = np.asarray(reactive_kvar, dtype=float)
    t = np.tile(np.arange(ms.H), len(angles))
    th = np.repeat(angles, ms.H)
    r0 = rows.open(np.full(t.size, -np.inf), -np.sin(th) * q[t])
    k = np.arange(t.size)
    rows.add(r0 + k, cols.cols("imp", t), np.cos(th))
    rows.add(r0 + k, cols.cols("z", np.zeros(t.size, dtype=np.int64)), -1.0)


def reserve_power_rows(rows: RowBuilder, cols: ColumnLayout, ms: ModelSets, problem: ChargingProblem) -> None:
    """The symmetric band within the power limits of each V2G-eligible slot [kW].

    Up: ``ch[s] - dis[s] + r[s] <= cmax_i``; down: ``ch[s] - dis[s] - r[s] >= -dmax_i``.
    """
    ds = ms.dis_slots
    k = np.arange(len(ds))
    for sign in (1.0, -1.0):
        if sign > 0:
            r0 = rows.open(np.full(len(ds), -np.inf), problem.max_charge_kw[ms.slot_v[ds]].astype(float))
        else:
            r0 = rows.open(-problem.max_discharge_kw[ms.slot_v[ds]].astype(float), np.full(len(ds), np.inf))
        rows.add(r0 + k, cols.cols("ch", ds), 1.0)
        rows.add(r0 + k, cols.cols("dis"), -1.0)
        rows.add(r0 + k, cols.cols("r"), sign)


def reserve_taper_rows(rows: RowBuilder, cols: ColumnLayout, ms: ModelSets) -> None:
    """The upward band under the DC taper [kW]: ``ch[s] - dis[s] + r[s] <= a_i + slope_i*e[s-1]`` (tapered slots)."""
    ds = ms.dis_slots
    k = np.arange(len(ds))
    sel = ms.tapered[ms.slot_v[ds]]
    _taper_cut_rows(rows, cols, ms, ds[sel], [(cols.cols("dis", k[sel]), -1.0), (cols.cols("r", k[sel]), 1.0)])


def reserve_energy_rows(rows: RowBuilder, cols: ColumnLayout, ms: ModelSets, duration_h: float) -> None:
    """Energy headroom for ``T_res = duration_h`` hours of full activation [kWh], per V2G-eligible slot.

    Up: ``e[s] + eta_c*T_res*r[s] <= hi_i``; down: ``e[s] - T_res/eta_d*r[s] >= lo_i``.
    """
    ds = ms.dis_slots
    e_cols = cols.cols("e", ms.e_pos[ds])
    r0 = rows.open(np.full(len(ds), -np.inf), ms.hi[ms.slot_v[ds]])
    rows.add(r0 + np.arange(len(ds)), e_cols, 1.0)
    rows.add(r0 + np.arange(len(ds)), cols.cols("r"), ms.eta_c[ds] * duration_h)
    r0 = rows.open(ms.lo[ms.slot_v[ds]], np.full(len(ds), np.inf))
    rows.add(r0 + np.arange(len(ds)), e_cols, 1.0)
    rows.add(r0 + np.arange(len(ds)), cols.cols("r"), -duration_h / ms.eta_d[ds])


def reserve_site_rows(rows: RowBuilder, cols: ColumnLayout, ms: ModelSets) -> None:
    """The fleet's band within the site limits per column t [kW].

    Up: ``sum_s(ch - dis + r) <= max(I - net_base, 0)``; down: ``sum_s(ch - dis - r) >= min(-E - net_base, 0)``.
    """
    ds = ms.dis_slots
    ub_ev = np.maximum(ms.imp_cap - ms.net_base, 0.0)
    lb_ev = np.minimum(-ms.exp_cap - ms.net_base, 0.0)
    for sign in (1.0, -1.0):
        r0 = rows.open(np.full(ms.H, -np.inf), ub_ev) if sign > 0 else rows.open(lb_ev, np.full(ms.H, np.inf))
        rows.add(r0 + ms.slot_t, cols.cols("ch"), 1.0)
        rows.add(r0 + ms.slot_t[ds], cols.cols("dis"), -1.0)
        rows.add(r0 + ms.slot_t[ds], cols.cols("r"), sign)


def _n_blocks(objective: Objective) -> int:
    if objective.reserve_revenue is None or objective.reserve_block is None:
        return 0
    blk = np.asarray(objective.reserve_block, dtype=np.int64)
    return int(blk.max()) + 1 if blk.size else 0


def reserve_unidirectional_rows(rows: RowBuilder, cols: ColumnLayout, ms: ModelSets, problem: ChargingProblem,
                                duration_h: float) -> dict[str, int]:  # fmt: skip
    """A charging-only band ``ru[s]`` of the slots without V2G [kW, kWh]: ``ch[s] + ru[s] <= cmax_i``,
    ``ch[s] - ru[s] >= 0`` (the charging power is modulated, never reversed), under the DC taper
    ``ch[s] + ru[s] <= a_i + slope_i*e[s-1]``, and the energy window for ``T_res`` hours of full activation,
    ``e[s] + eta_c*T_res*ru[s] <= hi_i`` and ``e[s] - eta_c*T_res*ru[s] >= lo_i``. Returns the first row of each
    per-slot family (``FleetModel.row_start``)."""
    us = ms.uni_slots
    k = np.arange(len(us))
    starts: dict[str, int] = {}
    r0 = starts["uni_up"] = rows.open(np.full(len(us), -np.inf), problem.max_charge_kw[ms.slot_v[us]].astype(float))
    rows.add(r0 + k, cols.cols("ch", us), 1.0)
    rows.add(r0 + k, cols.cols("ru"), 1.0)
    r0 = starts["uni_down"] = rows.open(np.zeros(len(us)), np.full(len(us), np.inf))
    rows.add(r0 + k, cols.cols("ch", us), 1.0)
    rows.add(r0 + k, cols.cols("ru"), -1.0)
    if ms.tapered.any():
        sel = ms.tapered[ms.slot_v[us]]
        _taper_cut_rows(rows, cols, ms, us[sel], [(cols.cols("ru", k[sel]), 1.0)])
    e_cols = cols.cols("e", ms.e_pos[us])
    r0 = starts["uni_energy_up"] = rows.open(np.full(len(us), -np.inf), ms.hi[ms.slot_v[us]])
    rows.add(r0 + k, e_cols, 1.0)
    rows.add(r0 + k, cols.cols("ru"), ms.eta_c[us] * duration_h)
    r0 = starts["uni_energy_down"] = rows.open(ms.lo[ms.slot_v[us]], np.full(len(us), np.inf))
    rows.add(r0 + k, e_cols, 1.0)
    rows.add(r0 + k, cols.cols("ru"), -ms.eta_c[us] * duration_h)
    for sign in (1.0, -1.0):  # the site limits hold with the band activated either way
        ub_ev = np.maximum(ms.imp_cap - ms.net_base, 0.0)
        lb_ev = np.minimum(-ms.exp_cap - ms.net_base, 0.0)
        r0 = rows.open(np.full(ms.H, -np.inf), ub_ev) if sign > 0 else rows.open(lb_ev, np.full(ms.H, np.inf))
        rows.add(r0 + ms.slot_t, cols.cols("ch"), 1.0)
        rows.add(r0 + ms.slot_t[ms.dis_slots], cols.cols("dis"), -1.0)
        rows.add(r0 + ms.slot_t[ms.dis_slots], cols.cols("r"), sign)
        rows.add(r0 + ms.slot_t[us], cols.cols("ru"), sign)
    return starts


def reserve_block_rows(rows: RowBuilder, cols: ColumnLayout, ms: ModelSets, objective: Objective,
                       big_kw: float) -> None:  # fmt: skip
    """FCR as traded: the pooled band is constant in each product block, ``sum_s r[s] + sum_s ru[s] - B_k = 0`` on
    every column t of block k [kW]; with a minimum offer m: ``B_k - m*y_k >= 0`` and ``B_k - M*y_k <= 0``
    (``y_k`` binary, M = ``big_kw`` the fleet's largest possible band)."""
    blk = np.asarray(objective.reserve_block, dtype=np.int64)
    t = np.arange(ms.H)
    r0 = rows.open(np.zeros(ms.H), np.zeros(ms.H))
    rows.add(r0 + ms.slot_t[ms.dis_slots], cols.cols("r"), 1.0)
    rows.add(r0 + ms.slot_t[ms.uni_slots], cols.cols("ru"), 1.0)
    rows.add(r0 + t, cols.cols("B", blk), -1.0)
    if cols.size["y"]:
        kb = np.arange(cols.size["B"])
        r0 = rows.open(np.zeros(kb.size), np.full(kb.size, np.inf))
        rows.add(r0 + kb, cols.cols("B"), 1.0)
        rows.add(r0 + kb, cols.cols("y"), -float(objective.reserve_min_kw))
        r0 = rows.open(np.full(kb.size, -np.inf), np.zeros(kb.size))
        rows.add(r0 + kb, cols.cols("B"), 1.0)
        rows.add(r0 + kb, cols.cols("y"), -float(big_kw))


def site_power_rows(rows: RowBuilder, cols: ColumnLayout, ms: ModelSets, weight: float) -> None:
    """The QP's scaled site power per column t [kW]: ``imp[t] - exp[t] - S*sigma[t] = 0``, ``S = 1/sqrt(w)``.

    The exact quadratic ``w * sum_t c_t * (imp_t - exp_t)^2`` then is ``sum_t c_t * sigma_t^2`` (see
    :func:`site_quadratic_hessian`).
    """
    t = np.arange(ms.H)
    scale_kw = 1.0 / np.sqrt(weight)
    r0 = rows.open(np.zeros(ms.H), np.zeros(ms.H))
    rows.add(r0 + t, cols.cols("imp"), 1.0)
    rows.add(r0 + t, cols.cols("exp"), -1.0)
    rows.add(r0 + t, cols.cols("sigma"), -scale_kw)


def site_quadratic_hessian(problem: ChargingProblem, ms: ModelSets, cols: ColumnLayout) -> sp.csc_matrix:
    """Diagonal Hessian ``Q[sigma_t, sigma_t] = 2 c_t`` with ``c_t = dt_col[t]/dt`` [1].

    ``c_t`` is the number of steps a merged move-blocking column stands for. A separable Hessian keeps HiGHS's
    interior-point Newton system in normal-equation form (fast).
    """
    diag = 2.0 * ms.dt_col / problem.dt_h
    sigma = cols.cols("sigma")
    return sp.csc_matrix((diag, (sigma, sigma)), shape=(cols.n_col, cols.n_col))


def build_model(problem: ChargingProblem, objective: Objective) -> FleetModel:
    """Assemble the sparse model of ``problem`` with ``objective`` (no Python loop over vehicles).

    The columns are the blocks of :func:`column_layout`; the rows are the families below, in this order. A vehicle
    that never discharges and holds no reserve ("plain") needs no energy variables (:func:`model_sets`): exact,
    and it shrinks the model.
    """
    t_start = time.perf_counter()
    ms = model_sets(problem, objective)
    cols = column_layout(ms, objective)
    col_lower, col_upper = column_bounds(problem, ms, cols, objective)
    col_lower[cols.span("z")] = max(float(objective.peak_floor_kw), 0.0)
    cost = column_costs(ms, cols, objective)
    rows = RowBuilder()
    row_start: dict[str, int] = {"balance": rows.n_row}  # one row per stateful slot, in ``e`` order
    energy_balance_rows(rows, cols, ms)
    site_balance_rows(rows, cols, ms)
    plain_ceiling_rows(rows, cols, ms)
    row_start["target"] = rows.n_row  # one row per vehicle departing inside the horizon, in ``u`` order
    target_rows(rows, cols, ms)
    if ms.tapered.any():
        row_start["dc_taper"] = rows.n_row  # one row per tapered slot, in slot order
        dc_taper_rows(rows, cols, ms)
    if objective.peak_cost is not None and objective.peak_reactive_kvar is not None:
        kva_peak_rows(rows, cols, ms, objective.peak_reactive_kvar)
    elif objective.peak_cost is not None:
        peak_rows(rows, cols, ms)
    if objective.reserve_revenue is not None:
        reserve_power_rows(rows, cols, ms, problem)
        if ms.tapered.any():
            reserve_taper_rows(rows, cols, ms)
        row_start["res_energy"] = rows.n_row  # up then down, one row per V2G-eligible slot each
        reserve_energy_rows(rows, cols, ms, objective.reserve_duration_h)
        if len(ms.uni_slots):
            row_start.update(reserve_unidirectional_rows(rows, cols, ms, problem, objective.reserve_duration_h))
        else:
            reserve_site_rows(rows, cols, ms)
        if cols.size["B"]:
            big = float(np.sum(problem.max_charge_kw) + np.sum(problem.max_discharge_kw)) + 1.0
            reserve_block_rows(rows, cols, ms, objective, big)
    hessian = None
    if objective.site_quadratic:
        site_power_rows(rows, cols, ms, objective.site_quadratic)
        hessian = site_quadratic_hessian(problem, ms, cols)
    return FleetModel(
        problem=problem,
        objective=objective,
        n_col=cols.n_col,
        n_row=rows.n_row,
        cost=cost,
        col_lower=col_lower,
        col_upper=col_upper,
        row_lower=np.concatenate(rows.lower),
        row_upper=np.concatenate(rows.upper),
        matrix=rows.matrix(cols.n_col),
        hessian=hessian,
        slot_vehicle=ms.slot_v,
        slot_col=ms.slot_t,
        dis_slots=ms.dis_slots,
        target_vehicles=ms.tgt,
        layout=cols,
        build_s=time.perf_counter() - t_start,
        uni_slots=ms.uni_slots,
        integrality=_integrality(cols),
        row_start=row_start,
        sets=ms,
    )
