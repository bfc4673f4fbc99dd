"""Solving a :class:`~evfleet.strategies.optim.model.FleetModel` with HiGHS and reading its solution.

Units: power [kW], energy [kWh], objective [MAD], times [s].

HiGHS gets the model as CSC arrays (one thread): dual simplex for LPs; for QPs its interior-point solver HiPO
(optimality tolerance 1e-8; needs ``highspy-extras``), or its active-set solver ``qpasm`` where HiPO is not
installed. A solver failure raises :class:`~evfleet.strategies.base.StrategyError` naming the scenario and the
HiGHS model status. The solution is read back block by block through the model's
:class:`~evfleet.strategies.optim.model.ColumnLayout`.

References: HiGHS, Huangfu & Hall, "Parallelizing the dual revised simplex method", Math. Prog. Comp. 10 (2018);
HiPO, Zanetti & Gondzio, "A factorisation-based regularised interior point method using the augmented system",
arXiv:2508.04370 (2025).
"""

from __future__ import annotations

import functools
import importlib.util
import time
from dataclasses import dataclass

import highspy
import numpy as np

from evfleet._common.tolerances import QP_NOISE_KW
from evfleet.strategies.base import StrategyError
from evfleet.strategies.optim.model import FleetModel, col_dt
from evfleet.strategies.optim.warm import FEAS_TOL, GAP_RTOL, duality_gap, warm_startable

__all__ = ["Solution", "qp_solver", "read_solution", "set_start", "solve"]


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
    #: the raw column values (what a warm start of the next re-plan maps), and how the solve started:
    #: "cold", "warm" (from a start point, optimality certified by the duality gap) or "warm-rejected" (the
    #: warm-started result failed the certificate and was solved again cold)
    x: np.ndarray | None = None
    start: str = "cold"
    iterations: int = 0
    #: the row duals (n_row,) in HiGHS's signs (``col_dual = c - A' row_dual``) when asked for
    #: (``solve(..., duals=True)``; :mod:`~evfleet.strategies.optim.relaxed` certifies with them), else None
    row_dual: np.ndarray | None = None


@functools.cache
def qp_solver() -> str:
    """Default HiGHS QP solver: ``"hipo"`` (interior point) with ``highspy-extras`` installed, else ``"qpasm"``."""
    return "hipo" if importlib.util.find_spec("highspy_extras") is not None else "qpasm"


def solve(
    model: FleetModel,
    time_limit_s: float = 600.0,
    solver: str = "choose",
    options: dict | None = None,
    start: np.ndarray | None = None,
    warm_options: dict | None = None,
    duals: bool = False,
) -> Solution:
    """Solve ``model`` with HiGHS; raise :class:`StrategyError` (scenario name, model status) unless optimal.

    ``start`` (n_col,) column values of a start point (an LP only; :mod:`evfleet.strategies.optim.warm`): HiGHS
    starts its simplex from them; the result is accepted only with a duality gap below
    :data:`~evfleet.strategies.optim.warm.GAP_RTOL` and infeasibilities below ``FEAS_TOL``, else solved again cold.
    ``warm_options``: HiGHS options of the warm-started run only (e.g. ``{"simplex_strategy": 4}``, the primal
    simplex, which keeps a primal-feasible start feasible); a cold re-solve runs with their previous values.
    ``duals``: also read the row duals (``Solution.row_dual``; None if HiGHS has no valid duals).
    """
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
    # the array form of passModel: no copy through HighsLp/HighsModel members (~60 ms at 2,000 vehicles)
    a = model.matrix
    f64 = np.ascontiguousarray
    i32 = functools.partial(np.ascontiguousarray, dtype=np.int32)
    # the FCR minimum offer has one binary per product block (a small MIP); all zeros: all continuous (an LP)
    integrality = i32(model.integrality if model.integrality is not None else np.zeros(model.n_col))
    arrays = (f64(model.cost, dtype=float), f64(model.col_lower, dtype=float), f64(model.col_upper, dtype=float),
              f64(model.row_lower, dtype=float), f64(model.row_upper, dtype=float), i32(a.indptr), i32(a.indices),
              f64(a.data, dtype=float))  # fmt: skip
    colwise, minimize = int(highspy.MatrixFormat.kColwise), int(highspy.ObjSense.kMinimize)
    if model.hessian is not None:
        q = model.hessian
        status = h.passModel(model.n_col, model.n_row, a.nnz, q.nnz, colwise, int(highspy.HessianFormat.kTriangular),
                             minimize, 0.0, *arrays, i32(q.indptr), i32(q.indices), f64(q.data, dtype=float),
                             integrality)  # fmt: skip
    else:
        status = h.passModel(model.n_col, model.n_row, a.nnz, colwise, minimize, 0.0, *arrays, integrality)
    name = model.problem.scenario_name or "<unnamed>"
    if status == highspy.HighsStatus.kError:
        raise StrategyError(f"scenario {name!r}: HiGHS rejected the model (status {status})")
    how, x = "cold", None
    if start is not None and warm_startable(model) and len(start) == model.n_col:
        how, x = _run_warm(h, model, start, warm_options or {})
    else:
        h.run()
    ms = h.getModelStatus()
    if (
        ms != highspy.HighsModelStatus.kOptimal
        and model.hessian is not None
        and _option(h, "hipo_system") == "normaleq"
    ):
        # HiPO's normal equations fail on some small models (status Unknown) where its augmented system solves
        # them (tests/test_valley_filling_relaxed.py, clustered fleets): retry once on that system
        h.setOptionValue("hipo_system", "augmented")
        h.clearSolver()
        h.run()
        ms = h.getModelStatus()
    if ms != highspy.HighsModelStatus.kOptimal:
        raise StrategyError(
            f"scenario {name!r}: HiGHS did not find an optimum (model status: {h.modelStatusToString(ms)})"
        )
    row_dual = None
    if x is None or duals:  # (a certified warm run has read x already)
        got = h.getSolution()
        if x is None:
            x = _values(got.col_value, model.n_col)
        if duals and got.dual_valid:
            row_dual = _values(got.row_dual, model.n_row)
    info = h.getInfo()
    obj = float(info.objective_function_value)
    solve_s = time.perf_counter() - t0
    sol = _read_solution(model, x, obj, h.modelStatusToString(ms), solve_s)
    sol.x, sol.start, sol.row_dual = x, how, row_dual
    sol.iterations = int(info.simplex_iteration_count)
    return sol


def _option(h: highspy.Highs, key: str) -> object:
    """The value of HiGHS option ``key`` (highspy 1.15 returns ``(status, value)``)."""
    got = h.getOptionValue(key)
    return got[1] if isinstance(got, tuple) else got


def _values(values: list[float], n: int) -> np.ndarray:
    """A HiGHS solution vector (a Python list from highspy) as an array: ``fromiter`` (~1 ms faster than
    ``asarray`` per 160,000 entries, measured)."""
    return np.fromiter(values, dtype=np.float64, count=n)


def set_start(h: highspy.Highs, start: np.ndarray) -> None:
    """Give HiGHS the column values ``start`` (every column): highspy's array form of ``setSolution`` (no
    ``HighsSolution`` built in Python, ~4 ms at 160,000 columns); the ``HighsSolution`` form if HiGHS rejects it."""
    n = len(start)
    status = h.setSolution(n, np.arange(n, dtype=np.int32), np.ascontiguousarray(start, dtype=np.float64))
    if status == highspy.HighsStatus.kError:
        given = highspy.HighsSolution()
        given.col_value = np.asarray(start, dtype=float)
        given.value_valid = True
        h.setSolution(given)


def _run_warm(
    h: highspy.Highs, model: FleetModel, start: np.ndarray, warm_options: dict
) -> tuple[str, np.ndarray | None]:
    """Run from the start point ``start`` (with ``warm_options``); keep the result only if its duality gap
    certifies it, else run cold (with the options as they were before ``warm_options``). Returns how it started
    and, when certified, the column values (read once)."""
    before = {key: h.getOptionValue(key)[1] for key in warm_options}  # highspy 1.15: (status, value)
    for key, value in warm_options.items():
        h.setOptionValue(key, value)
    set_start(h, start)
    h.run()
    if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
        got = h.getSolution()
        if got.dual_valid:
            x = _values(got.col_value, model.n_col)
            # the certificate needs the row duals only (the reduced costs are recomputed from them)
            gap, p_inf, d_inf = duality_gap(model, x, _values(got.row_dual, model.n_row))
            if abs(gap) <= GAP_RTOL and p_inf <= FEAS_TOL and d_inf <= FEAS_TOL:
                return "warm", x
    h.clearSolver()  # forget the basis: the cold solve starts afresh
    for key, value in before.items():
        h.setOptionValue(key, value)
    h.run()
    return "warm-rejected", None


def read_solution(model: FleetModel, x: np.ndarray, obj: float, status: str, solve_s: float) -> Solution:
    """The :class:`Solution` of column values ``x`` of ``model`` (objective ``obj`` [MAD], HiGHS ``status``)."""
    sol = _read_solution(model, x, obj, status, solve_s)
    sol.x = x
    return sol


def _read_solution(model: FleetModel, x: np.ndarray, obj: float, status: str, solve_s: float) -> Solution:
    """Setpoints, reserve band, end energies, unmet energy and site flows of the solution ``x`` of ``model``."""
    p = model.problem
    n, H = p.n_vehicles, p.n_steps
    cols = model.layout
    sv, st = model.slot_vehicle, model.slot_col
    ch = np.zeros((n, H))
    dis = np.zeros((n, H))
    res = np.zeros((n, H))
    ch[sv, st] = np.maximum(x[cols.span("ch")], 0.0)
    ds = model.dis_slots
    dis[sv[ds], st[ds]] = np.maximum(x[cols.span("dis")], 0.0)
    if cols.size["r"] > 0:
        res[sv[ds], st[ds]] = np.maximum(x[cols.span("r")], 0.0)
    if cols.size.get("ru", 0) > 0:
        us = model.uni_slots
        res[sv[us], st[us]] = np.maximum(x[cols.span("ru")], 0.0)
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
    unmet[model.target_vehicles] = np.maximum(x[cols.span("u")], 0.0)
    imp = x[cols.span("imp")]
    exp = x[cols.span("exp")]
    ub = model.col_upper[cols.span("imp")]
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
