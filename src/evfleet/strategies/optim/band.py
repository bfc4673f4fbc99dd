"""An exactly equivalent, smaller form of the charging-only FCR band (``Objective.reserve_unidirectional``).

Units: power [kW], energy [kWh], ``T`` = ``reserve_duration_h`` [h].

In :func:`~evfleet.strategies.optim.model.build_model`, a slot ``s`` of a vehicle without V2G that holds a band
by modulating its charging has three columns (``ch``, ``ru``, ``e``) and five rows of its own: the energy balance,
``ch + ru <= cmax`` (1), ``ch - ru >= 0`` (2), ``e + eta_c*T*ru <= hi`` (4) and ``e - eta_c*T*ru >= lo`` (5)
(:func:`~evfleet.strategies.optim.model.reserve_unidirectional_rows`). The change of variables ``x = M y``

    lo_p = ch - ru,   hi_p = ch + ru,   g = e + eta_c*T*ru      (ch = (lo_p + hi_p)/2, ru = (hi_p - lo_p)/2)

turns (1), (2) and (4) into the column bounds ``hi_p <= ub_ch``, ``lo_p >= 0``, ``g <= hi`` (``ub_ch`` the
upper bound of ``ch``: ``cmax``, or 0 where the net base load alone exceeds the import limit) and leaves one row,
``hi_p - lo_p >= 0`` (``ru >= 0``). Row (5) is dropped where ``dt_s >= T``: it is implied (below). Every other
row is the original row written in ``y`` (``A M``), the cost is ``M' c``.

**Proof of equivalence** (the feasible sets correspond one to one through ``x = M y``, with equal costs):
(x feasible => y feasible) ``hi_p = ch + ru <= cmax`` by (1), and ``= 0`` where ``ub_ch = 0`` (then ``ch = 0`` and
``0 <= ru <= ch``); ``lo_p >= 0`` by (2); ``g <= hi`` by (4); ``ru >= 0``; the implied bounds added to the new
columns hold too: ``lo_p <= ch <= ub_ch``, ``hi_p >= 0``, ``g >= e >= lo``. (y feasible => x feasible) (1), (2),
(4) and ``ru >= 0`` are the bounds and the row; ``0 <= lo_p <= hi_p <= ub_ch`` gives ``0 <= ch <= ub_ch``;
``e = g - eta_c*T*ru <= g <= hi``; the vehicle never discharges, so its energy balance gives
``e_s = e0 + sum_{s' <= s} eta_c*dt*ch[s'] >= e0 >= lo`` (``lo = min(floor, e0)`` for a vehicle without V2G),
the lower bound of ``e``; and (5): ``e_s - eta_c*T*ru_s >= e_{s-1} + eta_c*(dt_s*ch_s - T*ru_s) >= lo +
eta_c*(dt_s - T)*ch_s >= lo`` when ``dt_s >= T`` (``ru_s <= ch_s``, ``e_{s-1} >= lo``); where ``dt_s < T`` the row
is kept. So the optimum of the smaller LP, mapped back, is an optimum of the original one (its objective equal).

**Energy elimination and lazy rows** (:func:`reduce_band`, :class:`LazyBandSolver`). For the charging-only
vehicles without a binding DC taper, ``g`` is then eliminated by the energy balance (``e`` is the cumulative
charge from ``e0``): their balance rows hold identically and go, and ``g <= hi`` becomes a row. The rows are
split in two sets, the feasible set unchanged: the *core* (every row except those below, plus each vehicle's
ceiling ``e_last <= hi``, implied) and the *lazy* rows, which rarely bind: ``g <= hi``, ``ru >= 0``, the kept
rows (5), the V2G slots' energy headroom rows ``e + eta_c*T*r <= hi``, ``e - T*r/eta_d >= lo``, and the plain DC
taper cuts ``ch <= a + slope*e`` of the tapered charging-only slots (implied by their band's cut
``ch + ru <= a + slope*e``, kept in the core, once ``ru >= 0`` holds). HiGHS solves the core, the lazy rows the
solution violates are added with the other lazy rows of their group (family and vehicle) and the LP re-solved
from the basis (dual simplex), until none is violated: an optimum of a relaxation that satisfies every row of the
full model is an optimum of the full model, whichever rows were added. A start point
(:meth:`LazyBandSolver.start_from`) only changes the simplex path; its result is kept only with a duality-gap
certificate of the LP solved. The solution mapped back to the original columns is checked in the original model
(rows and bounds within :data:`MAP_TOL`), else the caller solves the original model (never a silent
approximation).

Sizes (default fleet of :func:`~evfleet.inputs.generate.generate_scenario`, 2,000 vehicles x 96 steps, the first
LP): the original 310,955 columns x 524,926 rows; the core 217,216 x 23,383, ~14,400 lazy rows (the groups of
~1,190 violated rows) added in 4 rounds from the band-0 start.
Times: docs/benchmarks.md.
"""

from __future__ import annotations

import dataclasses
import functools
import time
import types

import highspy
import numpy as np
import scipy.sparse as sp

from evfleet.strategies.base import StrategyError
from evfleet.strategies.optim.highs import Solution, read_solution, set_start
from evfleet.strategies.optim.model import FleetModel, model_sets
from evfleet.strategies.optim.warm import FEAS_TOL, GAP_RTOL, duality_gap

__all__ = ["MAP_TOL", "BandSubstitution", "max_violation", "substitute_band"]

#: Largest row or bound violation [model units] of a mapped-back solution in the original model.
MAP_TOL = 1e-6

#: make the plain DC taper cuts of the tapered charging-only slots lazy (:func:`reduce_band`; False for A/B)
LAZY_TAPER = True
#: target and ceiling of an eliminated departing vehicle in one ranged core row (:func:`reduce_band`; False for A/B)
MERGE_CEILING = True


@dataclasses.dataclass(frozen=True)
class BandSubstitution:
    """The smaller model (``model``), the map ``x = matrix @ y`` back to the original's columns, and the original."""

    model: FleetModel
    matrix: sp.csc_matrix
    original: FleetModel
    #: the original model's rows kept in ``model`` (its first rows, in order; the ``ru >= 0`` rows follow)
    kept_rows: np.ndarray
    #: the substituted columns: ``lo_p`` (at ``ch``), ``hi_p`` (at ``ru``), ``g`` (at ``e``), and ``eta_c*T`` [h]
    subst_cols: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    def to_original(self, y: np.ndarray) -> np.ndarray:
        """Column values of the original model from those of the smaller one."""
        return self.matrix @ np.asarray(y, dtype=float)

    def from_original(self, x: np.ndarray) -> np.ndarray:
        """Column values of the smaller model from those of the original one (the inverse of :meth:`to_original`:
        ``lo_p = ch - ru``, ``hi_p = ch + ru``, ``g = e + eta_c*T*ru``)."""
        assert self.subst_cols is not None
        c_lo, c_hi, c_g, a = self.subst_cols
        x = np.asarray(x, dtype=float)
        y = x.copy()
        y[c_lo] = x[c_lo] - x[c_hi]
        y[c_hi] = x[c_lo] + x[c_hi]
        y[c_g] = x[c_g] + a * x[c_hi]
        return y


def substitute_band(model: FleetModel) -> BandSubstitution | None:
    """The substituted model of the module docstring; ``None`` when ``model`` has no charging-only band slots."""
    us = model.uni_slots
    if not len(us) or "uni_up" not in model.row_start or model.hessian is not None:
        return None
    cols = model.layout
    ms = model_sets(model.problem, model.objective)
    n = model.n_col
    m = len(us)
    c_lo = cols.cols("ch", us)
    c_hi = cols.cols("ru")
    c_g = cols.cols("e", ms.e_pos[us])
    a = ms.eta_c[us] * float(model.objective.reserve_duration_h)
    ident = np.ones(n, dtype=bool)
    ident[np.concatenate([c_lo, c_hi, c_g])] = False
    keep_cols = np.flatnonzero(ident)
    half = np.full(m, 0.5)
    m_rows = np.concatenate([keep_cols, c_lo, c_lo, c_hi, c_hi, c_g, c_g, c_g])
    m_cols = np.concatenate([keep_cols, c_lo, c_hi, c_lo, c_hi, c_g, c_lo, c_hi])
    m_vals = np.concatenate([np.ones(len(keep_cols)), half, half, -half, half, np.ones(m), 0.5 * a, -0.5 * a])
    mmat = sp.csc_matrix((m_vals, (m_rows, m_cols)), shape=(n, n))

    drop = np.zeros(model.n_row, dtype=bool)
    for name in ("uni_up", "uni_down", "uni_energy_up"):
        r0 = model.row_start[name]
        drop[r0 : r0 + m] = True
    r0 = model.row_start["uni_energy_down"]
    t_res = float(model.objective.reserve_duration_h)
    drop[r0 : r0 + m] = ms.dt_s[us] >= t_res - 1e-12  # implied (module docstring); kept for shorter columns
    kept = np.flatnonzero(~drop)
    a_new = (model.matrix.tocsr()[kept] @ mmat).tocsr()
    # ru >= 0: hi_p - lo_p >= 0
    k = np.arange(m)
    ru_rows = sp.csr_matrix(
        (np.concatenate([np.ones(m), -np.ones(m)]), (np.concatenate([k, k]), np.concatenate([c_hi, c_lo]))),
        shape=(m, n),
    )
    matrix = sp.vstack([a_new, ru_rows], format="csc")
    row_lower = np.concatenate([model.row_lower[kept], np.zeros(m)])
    row_upper = np.concatenate([model.row_upper[kept], np.full(m, np.inf)])
    col_lower = model.col_lower.copy()
    col_upper = model.col_upper.copy()
    ub_ch = model.col_upper[c_lo]
    col_lower[c_lo], col_upper[c_lo] = 0.0, ub_ch
    col_lower[c_hi], col_upper[c_hi] = 0.0, ub_ch
    col_lower[c_g], col_upper[c_g] = ms.lo[ms.slot_v[us]], ms.hi[ms.slot_v[us]]
    small = dataclasses.replace(
        model,
        n_row=matrix.shape[0],
        cost=mmat.T @ model.cost,
        col_lower=col_lower,
        col_upper=col_upper,
        row_lower=row_lower,
        row_upper=row_upper,
        matrix=matrix,
        row_start={},
    )
    return BandSubstitution(model=small, matrix=mmat, original=model, kept_rows=kept, subst_cols=(c_lo, c_hi, c_g, a))


def max_violation(model: FleetModel, x: np.ndarray) -> float:
    """Largest row or column-bound violation of the column values ``x`` in ``model`` [model units]."""
    ax = model.matrix @ x
    return max(
        float(np.max(model.row_lower - ax, initial=0.0)),
        float(np.max(ax - model.row_upper, initial=0.0)),
        float(np.max(model.col_lower - x, initial=0.0)),
        float(np.max(x - model.col_upper, initial=0.0)),
    )


@dataclasses.dataclass(frozen=True)
class ReducedBand:
    """The band model with the energy columns of the untapered charging-only vehicles eliminated (``y = N z + y0``):
    the core rows (``core``, bounds ``core_lower``/``core_upper``) solved first, and the lazy rows (``lazy``, bounds
    ``lazy_lower``/``lazy_upper``) added only where the solution violates them; the cost ``cost`` of ``z``, its
    bounds, and the maps back (``n_matrix``, ``y0``, then ``sub``)."""

    sub: BandSubstitution
    n_matrix: sp.csr_matrix
    y0: np.ndarray
    cost: np.ndarray
    offset: float
    col_lower: np.ndarray
    col_upper: np.ndarray
    core: sp.csc_matrix
    core_lower: np.ndarray
    core_upper: np.ndarray
    lazy: sp.csr_matrix
    lazy_lower: np.ndarray
    lazy_upper: np.ndarray
    z_of_y: np.ndarray
    #: the column t of each ``ru >= 0`` row (the first lazy rows, in ``uni_slots`` order)
    ru_col: np.ndarray
    #: the group of each lazy row (its family and vehicle: rows of one group are added together, see
    #: :class:`LazyBandSolver`)
    lazy_group: np.ndarray | None = None

    def to_original(self, z: np.ndarray) -> np.ndarray:
        """Column values of the original model from those of the reduced one."""
        return self.sub.to_original(self.n_matrix @ np.asarray(z, dtype=float) + self.y0)

    def from_original(self, x: np.ndarray) -> np.ndarray:
        """Column values of the reduced model from those of the original one (the kept columns of
        :meth:`BandSubstitution.from_original`; the eliminated ``g`` follow from the others)."""
        y = self.sub.from_original(x)
        return y[self.z_of_y >= 0]


def _pairs(vehicle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All pairs (j, j') with j' <= j of the same vehicle, for entries sorted by vehicle (positions in the array)."""
    n = len(vehicle)
    new = np.ones(n, dtype=bool)
    new[1:] = vehicle[1:] != vehicle[:-1]
    first = np.maximum.accumulate(np.where(new, np.arange(n), 0))
    cnt = np.arange(n) - first + 1
    row = np.repeat(np.arange(n), cnt)
    within = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    return row, np.repeat(first, cnt) + within


def reduce_band(sub: BandSubstitution) -> ReducedBand:
    """Eliminate the energy columns ``g`` of the untapered charging-only vehicles by their energy balance:
    ``g_s = e0 + sum_{s' <= s} eta_c*dt*(lo_p + hi_p)/2 + eta_c*T*(hi_p - lo_p)/2`` (a vehicle without V2G only
    charges); their balance rows then hold identically and are dropped, ``g <= hi`` becomes a row (lazy), and the
    ceiling ``e_last <= hi`` (implied by ``g_last <= hi`` and ``ru >= 0``) is added to the core. Lazy rows: those
    ``g <= hi``, every ``ru >= 0``, the kept rows (5) and the V2G slots' energy headroom rows. The feasible set
    is unchanged (the rows are only split into the two sets): the solution of the core plus the violated lazy
    rows, once it violates none, is optimal."""
    model, small = sub.original, sub.model
    cols = model.layout
    ms = model_sets(model.problem, model.objective)
    us = model.uni_slots
    m = len(us)
    t_res = float(model.objective.reserve_duration_h)
    # the untapered vehicles (eliminating the tapered ones too, their cuts lazy, is slower: 28.6 s against 10.8 s
    # for the first LP at 2,000 vehicles, the basis carrying more dense rows)
    sel = ~ms.tapered[ms.slot_v[us]]
    elim = us[sel]
    kidx = np.flatnonzero(sel)
    v = ms.slot_v[elim]
    lo_c, hi_c = cols.cols("ch", elim), cols.cols("ru", kidx)
    g_c = cols.cols("e", ms.e_pos[elim])
    n_y = small.n_col
    keep = np.ones(n_y, dtype=bool)
    keep[g_c] = False
    z_of_y = np.cumsum(keep) - 1
    n_z = int(keep.sum())
    w = ms.eta_c[elim] * ms.dt_s[elim] / 2.0
    a = ms.eta_c[elim] * t_res / 2.0
    j, jp = _pairs(v)
    # the rows of g (in z): cumulative charge, plus the band's own headroom term
    # built in CSR form directly (a COO build and conversion took 0.26 s at 2,000 vehicles): row k holds the
    # lo columns of its vehicle's slots up to k, then their hi columns (the ``ch`` block precedes ``ru``: sorted)
    cnt = np.bincount(j, minlength=len(elim))
    start = np.cumsum(cnt) - cnt  # first pair of each row
    within = np.arange(len(j)) - start[j]
    pos_lo = 2 * start[j] + within
    pos_hi = pos_lo + cnt[j]
    diag = jp == j
    g_data = np.empty(2 * len(j))
    g_ind = np.empty(2 * len(j), dtype=np.int64)
    g_data[pos_lo] = w[jp] - np.where(diag, a[j], 0.0)
    g_data[pos_hi] = w[jp] + np.where(diag, a[j], 0.0)
    g_ind[pos_lo] = z_of_y[lo_c[jp]]
    g_ind[pos_hi] = z_of_y[hi_c[jp]]
    g_ptr = np.r_[0, np.cumsum(2 * cnt)]
    g_mat = sp.csr_matrix((g_data, g_ind, g_ptr), shape=(len(elim), n_z))
    # N (y = N z + y0): the identity on the kept columns, the rows of g on the eliminated ones (CSR, row by row)
    kz = np.flatnonzero(keep)
    row_nnz = np.zeros(n_y, dtype=np.int64)
    row_nnz[kz] = 1
    row_nnz[g_c] = 2 * cnt
    nm_ptr = np.r_[0, np.cumsum(row_nnz)]
    nm_data = np.empty(int(nm_ptr[-1]))
    nm_ind = np.empty(int(nm_ptr[-1]), dtype=np.int64)
    nm_data[nm_ptr[kz]] = 1.0
    nm_ind[nm_ptr[kz]] = np.arange(n_z)
    dst = np.repeat(nm_ptr[g_c] - g_ptr[:-1], 2 * cnt) + np.arange(len(g_data))
    nm_data[dst] = g_data
    nm_ind[dst] = g_ind
    nm = sp.csr_matrix((nm_data, nm_ind, nm_ptr), shape=(n_y, n_z))
    y0 = np.zeros(n_y)
    y0[g_c] = ms.e0[v]
    # row sets of the substituted model: the balance rows of the eliminated slots hold identically (dropped); the
    # other rows on their g columns (g's bounds, taper cuts, kept rows (5)) are lazy, except the targets (core)
    n_sub = small.n_row
    a_csr = small.matrix.tocsr()
    on_g = np.diff(small.matrix[:, g_c].tocsr().indptr) > 0 if len(g_c) else np.zeros(n_sub, dtype=bool)
    lazy_sub = on_g.copy()
    lazy_sub[n_sub - m :] = True  # ru >= 0
    if "res_energy" in model.row_start:  # the V2G slots' energy headroom rows (500 V2G-ready vehicles: 17 -> 7.8 s)
        r0 = model.row_start["res_energy"]
        lazy_sub[r0 : r0 + 2 * len(ms.dis_slots)] = True  # before the dropped rows: same index in ``small``
    if LAZY_TAPER and "dc_taper" in model.row_start:
        # the plain DC taper cut ``ch <= a + slope*e`` of a tapered charging-only slot: implied by its band's cut
        # ``ch + ru <= a + slope*e`` (core) once ``ru >= 0`` holds, so lazy (2,000 vehicles: 5,976 core rows fewer)
        ts = np.flatnonzero(ms.tapered[ms.slot_v])
        r0 = model.row_start["dc_taper"]
        lazy_sub[r0 + np.flatnonzero(~ms.eligible[ms.slot_v[ts]])] = True  # before the dropped rows: same index
    tgt0 = model.row_start["target"]
    lazy_sub[tgt0 : tgt0 + len(ms.tgt)] = False
    drop = np.zeros(n_sub, dtype=bool)
    drop[model.row_start["balance"] + ms.e_pos[elim]] = True  # kept as the first rows by substitute_band
    lazy_sub &= ~drop
    core_rows = np.flatnonzero(~lazy_sub & ~drop)
    lazy_rows = np.r_[np.arange(n_sub - m, n_sub), np.flatnonzero(lazy_sub[: n_sub - m])]  # the ru rows first
    shift = a_csr @ y0

    def mapped(idx: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        mat = (a_csr[idx] @ nm).tocsr()
        mat.eliminate_zeros()
        return mat, small.row_lower[idx] - shift[idx], small.row_upper[idx] - shift[idx]

    core, c_lo, c_hi = mapped(core_rows)
    lazy, l_lo, l_hi = mapped(lazy_rows)
    # ceiling e_last <= hi of each eliminated vehicle (implied): its last g row without the band term
    last = np.flatnonzero(np.r_[v[1:] != v[:-1], True]) if len(v) else np.zeros(0, dtype=np.int64)
    sel_pairs = np.isin(j, last)
    ceil_row = np.searchsorted(last, j[sel_pairs])
    ceil = sp.csr_matrix(
        (np.concatenate([w[jp[sel_pairs]], w[jp[sel_pairs]]]),
         (np.concatenate([ceil_row, ceil_row]), z_of_y[np.concatenate([lo_c[jp[sel_pairs]], hi_c[jp[sel_pairs]]])])),
        shape=(len(last), n_z),
    )  # fmt: skip
    c_ceil = ms.hi[v[last]] - ms.e0[v[last]]
    if MERGE_CEILING and len(last):
        # a departing vehicle with its target at or below its ceiling: target and ceiling in one ranged row,
        # ``target - e0 <= cum + u <= hi - e0``. The same optimum: ``u >= 0`` makes the ranged row imply the
        # ceiling, and at every optimum ``u = max(target - e0 - cum, 0)`` (u is penalised, in its row only), so
        # ``cum + u = max(target - e0, cum) <= hi - e0`` holds there (2,000 vehicles: 1,885 dense core rows fewer)
        k_tgt = np.full(len(ms.e0), -1, dtype=np.int64)
        k_tgt[ms.tgt] = np.arange(len(ms.tgt))
        kv = k_tgt[v[last]]
        merge = (kv >= 0) & (ms.e_tgt[np.maximum(kv, 0)] <= ms.hi[v[last]]) if len(ms.tgt) else kv >= 0
        merge &= model.cost[cols.cols("u", np.maximum(kv, 0))] > 0 if len(ms.tgt) else merge  # u penalised
        pos = np.searchsorted(core_rows, tgt0 + kv[merge])
        assert np.all(core_rows[pos] == tgt0 + kv[merge])
        c_hi[pos] = c_ceil[merge]
        ceil, c_ceil = ceil[np.flatnonzero(~merge)], c_ceil[~merge]
    core = sp.vstack([core, ceil], format="csc")
    c_lo = np.concatenate([c_lo, np.full(len(c_ceil), -np.inf)])
    c_hi = np.concatenate([c_hi, c_ceil])
    lazy = sp.vstack([lazy, g_mat], format="csr")
    l_lo = np.concatenate([l_lo, np.full(len(elim), -np.inf)])
    l_hi = np.concatenate([l_hi, ms.hi[v] - ms.e0[v]])
    # the group of each lazy row: family (0 ``ru >= 0``, 1 the kept rows, 2 ``g <= hi``) and vehicle (every lazy
    # row is on the columns of one vehicle; the vehicle of its first column)
    col_veh = np.full(n_y, -1, dtype=np.int64)
    col_veh[cols.span("ch")] = ms.slot_v
    col_veh[cols.span("dis")] = ms.slot_v[ms.dis_slots]
    col_veh[cols.span("e")] = ms.slot_v[ms.st_slots]
    col_veh[cols.span("r")] = ms.slot_v[ms.dis_slots] if cols.size["r"] else col_veh[cols.span("r")]
    col_veh[cols.span("ru")] = ms.slot_v[us]
    col_veh[cols.span("u")] = ms.tgt
    first_col = lazy.indices[np.minimum(lazy.indptr[:-1], max(lazy.nnz - 1, 0))] if lazy.nnz else np.zeros(0, int)
    row_veh = np.where(np.diff(lazy.indptr) > 0, col_veh[np.flatnonzero(keep)][first_col], -1)
    family = np.repeat([0, 1, 2], [m, len(lazy_rows) - m, len(elim)])
    group = family * (model.problem.n_vehicles + 1) + row_veh + 1
    return ReducedBand(
        sub=sub, n_matrix=nm, y0=y0, cost=nm.T @ small.cost, offset=float(small.cost @ y0),
        col_lower=small.col_lower[keep], col_upper=small.col_upper[keep], core=core, core_lower=c_lo,
        core_upper=c_hi, lazy=lazy, lazy_lower=l_lo, lazy_upper=l_hi, z_of_y=np.where(keep, z_of_y, -1),
        ru_col=ms.slot_t[us], lazy_group=group,
    )  # fmt: skip


#: A lazy row counts as violated above this [model units] (HiGHS's primal feasibility tolerance).
LAZY_TOL = 1e-7


class LazyBandSolver:
    """HiGHS on the core rows of a :class:`ReducedBand`, adding the violated lazy rows and re-solving from the
    current basis (the dual simplex: adding rows keeps the basis dual feasible) until none is violated.

    With ``grouped`` (the default) a violated row brings the other lazy rows of its group (same family, same
    vehicle: e.g. the ``ru >= 0`` rows of all its slots): the next violations are mostly there (2,000 vehicles,
    the first LP: 6 rounds instead of 26, 8.1 s of CPU instead of 10.3 s, docs/benchmarks.md). Any set of added
    rows gives the same optimum (the loop ends only when no lazy row is violated)."""

    #: add a violated lazy row's whole group (False: the violated rows only; for A/B measurements)
    grouped: bool = True

    def __init__(self, red: ReducedBand, time_limit_s: float, options: dict | None = None) -> None:
        self.red = red
        #: the original model, with the block caps of :meth:`cap_blocks` (the solution is checked in it)
        self.original = red.sub.original
        self.added = np.zeros(red.lazy.shape[0], dtype=bool)
        self.rounds = 0
        self.iterations = 0
        #: time to build the models [s] (set by the caller; reported as the solution's ``build_s``)
        self.build_s = 0.0
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("time_limit", float(time_limit_s))
        h.setOptionValue("threads", 1)
        for key, value in (options or {}).items():
            h.setOptionValue(key, value)
        a = red.core.tocsc()
        f64 = np.ascontiguousarray
        i32 = functools.partial(np.ascontiguousarray, dtype=np.int32)
        n, nr = a.shape[1], a.shape[0]
        h.passModel(n, nr, a.nnz, int(highspy.MatrixFormat.kColwise), int(highspy.ObjSense.kMinimize), red.offset,
                    f64(red.cost, dtype=float), f64(red.col_lower, dtype=float), f64(red.col_upper, dtype=float),
                    f64(red.core_lower, dtype=float), f64(red.core_upper, dtype=float), i32(a.indptr),
                    i32(a.indices), f64(a.data, dtype=float), i32(np.zeros(n)))  # fmt: skip
        self.h = h
        #: the column bounds of the LP HiGHS holds (:meth:`cap_blocks` changes them), the lazy rows in the order
        #: they were added, and whether the next solve starts from a point (:meth:`start_from`)
        self.col_lower = np.asarray(red.col_lower, dtype=float)
        self.col_upper = np.asarray(red.col_upper, dtype=float).copy()
        self._order: list[np.ndarray] = []
        self._warm = False
        #: how the last solve started: "cold" (slack basis or the previous basis), "warm" (from :meth:`start_from`,
        #: certified) or "warm-rejected" (not certified: solved again from scratch)
        self.start = "cold"

    def start_from(self, z: np.ndarray) -> None:
        """Start the next :meth:`solve` from the column values ``z`` of the reduced model (HiGHS turns them into a
        starting basis of its dual simplex). Its result is accepted only when the duality gap of the LP then
        held (core and added rows; :func:`~evfleet.strategies.optim.warm.duality_gap`) is below ``GAP_RTOL`` with
        infeasibilities below ``FEAS_TOL``, else the same LP is solved again from scratch."""
        set_start(self.h, np.asarray(z, dtype=float))
        self._warm = True

    def certified(self, z: np.ndarray) -> bool:
        """True when HiGHS's duals prove ``z`` optimal for the LP it holds (the core and the rows added so far)."""
        got = self.h.getSolution()
        if not got.dual_valid:
            return False
        red = self.red
        order = np.concatenate(self._order) if self._order else np.zeros(0, dtype=np.int64)
        lp = types.SimpleNamespace(
            matrix=sp.vstack([red.core, red.lazy[order]], format="csr"),
            cost=np.asarray(red.cost, dtype=float),
            row_lower=np.concatenate([red.core_lower, red.lazy_lower[order]]),
            row_upper=np.concatenate([red.core_upper, red.lazy_upper[order]]),
            col_lower=self.col_lower,
            col_upper=self.col_upper,
        )
        row_dual = np.asarray(got.row_dual, dtype=float)
        if len(row_dual) != lp.matrix.shape[0]:
            return False
        gap, p_inf, d_inf = duality_gap(lp, z, row_dual)  # type: ignore[arg-type]
        primal = float(lp.cost @ z)
        # the gap relative to the full objective (the reduced model's cost plus its constant ``offset``)
        gap_abs = gap * max(1.0, abs(primal))
        return abs(gap_abs) <= GAP_RTOL * max(1.0, abs(primal + red.offset)) and max(p_inf, d_inf) <= FEAS_TOL

    def _run(self) -> np.ndarray:
        h = self.h
        while True:
            h.run()
            self.iterations += int(h.getInfo().simplex_iteration_count)
            if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                raise StrategyError(f"HiGHS did not find an optimum of the band model (model status: "
                                    f"{h.modelStatusToString(h.getModelStatus())})")  # fmt: skip
            z = np.asarray(h.getSolution().col_value)
            lz = self.red.lazy @ z
            bad = ~self.added & ((lz < self.red.lazy_lower - LAZY_TOL) | (lz > self.red.lazy_upper + LAZY_TOL))
            if not bad.any():
                return z
            if self.grouped and self.red.lazy_group is not None:
                grp = self.red.lazy_group
                bad |= ~self.added & np.isin(grp, np.unique(grp[bad]))
            self._add(np.flatnonzero(bad))

    def _add(self, idx: np.ndarray) -> None:
        """Add the lazy rows ``idx`` to the model."""
        h = self.h
        if len(idx):
            rows = self.red.lazy[idx]
            h.addRows(len(idx), np.ascontiguousarray(self.red.lazy_lower[idx]),
                      np.ascontiguousarray(self.red.lazy_upper[idx]), rows.nnz,
                      np.ascontiguousarray(rows.indptr[:-1], dtype=np.int32),
                      np.ascontiguousarray(rows.indices, dtype=np.int32), np.ascontiguousarray(rows.data))  # fmt: skip
            self.added[idx] = True
            self._order.append(np.asarray(idx, dtype=np.int64))
            self.rounds += 1

    def solve(self) -> Solution:
        """Solve (or re-solve after :meth:`cap_blocks`); the solution in the original model's columns, checked there."""
        t0 = time.perf_counter()
        z = self._run()
        if self._warm:
            self._warm = False
            self.start = "warm" if self.certified(z) else "warm-rejected"
            if self.start == "warm-rejected":
                self.h.clearSolver()  # forget the basis: the same LP (core and added rows) from scratch
                z = self._run()
        orig = self.original
        x = self.red.to_original(z)
        viol = max_violation(orig, x)
        if viol > MAP_TOL:
            raise StrategyError(f"the band model's solution violates the original model by {viol:.3g}")
        sol = read_solution(orig, x, float(orig.cost @ x), "Optimal", time.perf_counter() - t0)
        sol.iterations = self.iterations
        sol.build_s = self.build_s
        sol.start = self.start
        return sol

    def cap_blocks(self, cap_kw: np.ndarray) -> None:
        """Upper bounds [kW] of the blocks' pooled bands ``B`` (0 closes a block) for the next :meth:`solve`.

        A closed block holds no band: its ``r`` and ``ru`` are all 0 (each is >= 0 and they sum to ``B = 0``), so
        its ``r`` get the upper bound 0 and its ``ru >= 0`` rows (which all bind) are added at once (found one round
        at a time they take ~100 re-solves). The next :meth:`solve` starts from the current basis."""
        orig = self.original
        cols = orig.layout
        cap = np.asarray(cap_kw, dtype=float)
        blk = np.asarray(orig.objective.reserve_block, dtype=np.int64)
        closed_col = cap[blk] <= 0.0
        upper = orig.col_upper.copy()
        upper[cols.span("B")] = cap
        r_closed = cols.cols("r")[closed_col[orig.slot_col[orig.dis_slots]]]
        upper[r_closed] = 0.0
        self.original = dataclasses.replace(orig, col_upper=upper)
        idx = self.red.z_of_y[np.concatenate([cols.cols("B"), r_closed])]
        up = np.concatenate([cap, np.zeros(len(r_closed))])
        self.col_upper[idx] = up
        self.h.changeColsBounds(len(idx), np.ascontiguousarray(idx, dtype=np.int32),
                                np.ascontiguousarray(self.red.col_lower[idx]), np.ascontiguousarray(up))  # fmt: skip
        ru = np.flatnonzero(closed_col[self.red.ru_col])
        self._add(ru[~self.added[ru]])
