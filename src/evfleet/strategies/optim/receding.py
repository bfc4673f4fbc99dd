"""Common machinery of the solver-based strategies: offline solve, online (MPC) step with move blocking, reports.

Units: power [kW], energy [kWh], prices [MAD/kWh], time [h] / [s] for runtimes.

Offline, :meth:`OptimizingStrategy.schedule` solves the whole horizon once (perfect foresight). Online, the
simulator calls :meth:`OptimizingStrategy.first_step` at each step with the connected vehicles; to keep one
re-plan fast at 2,000 vehicles the look-ahead uses *move blocking* (Cagienard et al., "Move blocking strategies
in receding horizon control", J. Process Control 17 (2007)): the first ``fine_steps`` columns keep the
simulation step, later columns are merged into blocks of ``block_steps`` steps (block-average forecasts; a
vehicle's departure is rounded down to a block edge, which is conservative). The applied first column is always
at full resolution, with the exact site series of that step.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from evfleet.problem import ChargingPlan, ChargingProblem
from evfleet.strategies.base import Strategy
from evfleet.strategies.optim.aggregate import solve_merged
from evfleet.strategies.optim.diagnostics import project_to_physics, unmet_reasons_from_solution
from evfleet.strategies.optim.highs import Solution, solve
from evfleet.strategies.optim.model import FleetModel, Objective, build_model, col_dt
from evfleet.strategies.optim.warm import WarmStart, start_values, warm_startable
from evfleet.strategies.params import StrategyParams, param
from evfleet.strategies.report import OnlineReport, SolveReport

__all__ = ["OptimizingStrategy", "SolverParams", "block_problem", "discharge_cost_mad_per_kwh"]

#: Tiny extra cost per kWh discharged [MAD/kWh] so that charging and discharging one battery in the same step is
#: never a tie (a single charger cannot do both). Part of every formulation (documented in docs/strategies.md).
EPS_DISCHARGE_MAD_PER_KWH = 1e-4


def discharge_cost_mad_per_kwh(problem: ChargingProblem) -> float:
    """Degradation cost plus the tie-breaking epsilon [MAD/kWh grid side]."""
    return float(problem.degradation_mad_per_kwh) + EPS_DISCHARGE_MAD_PER_KWH


def block_problem(problem: ChargingProblem, fine_steps: int, block_steps: int) -> ChargingProblem:
    """A coarser copy of ``problem``: columns ``0..fine_steps-1`` kept, the rest merged in blocks.

    Forecast series become block means (energy-preserving); ``col_dt_h`` gives each column's length [h] and
    ``block_edges`` its first original column. Arrivals round up and departures round down to column edges.
    """
    H = problem.n_steps
    if block_steps <= 1 or fine_steps + 1 >= H:
        return problem
    fine = min(fine_steps, H)
    rest = H - fine
    n_blocks = -(-rest // block_steps)
    # edges[j] = first original column of new column j; edges[-1] = H
    edges = np.concatenate([np.arange(fine), fine + block_steps * np.arange(n_blocks), [H]]).astype(np.int64)
    edges[-1] = H
    widths = np.diff(edges)
    new_h = len(widths)

    def mean(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a, dtype=float)
        return np.add.reduceat(a, edges[:-1]) / widths

    def first(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else np.asarray(a)[edges[:-1]]

    arrival = np.searchsorted(edges, problem.arrival, side="left")
    departure = np.searchsorted(edges, problem.departure, side="right") - 1
    departure = np.maximum(np.minimum(departure, new_h), np.minimum(arrival + 1, new_h))
    return dataclasses.replace(
        problem,
        n_steps=new_h,
        arrival=arrival,
        departure=departure,
        base_load_kw=mean(problem.base_load_kw),
        pv_kw=mean(problem.pv_kw),
        price_import_mad_per_kwh=mean(problem.price_import_mad_per_kwh),
        price_export_mad_per_kwh=mean(problem.price_export_mad_per_kwh),
        tou_period=first(problem.tou_period),
        offpeak=first(problem.offpeak),
        times=problem.times[edges[:-1]],
        frequency_forecast_hz=mean(problem.frequency_forecast_hz),
        reactive_kvar=None if problem.reactive_kvar is None else mean(problem.reactive_kvar),
        col_dt_h=widths * problem.dt_h,
        block_edges=edges,
    )


@dataclass(frozen=True)
class SolverParams(StrategyParams):
    """The parameters every solver strategy takes (its own dataclass adds its objective's parameters)."""

    unmet_penalty: float | None = param(
        None,
        "M: penalty of a kWh of battery energy left unmet at departure (slack only where physics forbid the target)",
        "objective units per kWh",
        gt=0.0,
        default_doc="strategy-specific, above any gain from leaving a kWh unmet",
    )
    fine_steps: int | None = param(
        None, "online move blocking: look-ahead columns kept at the simulation step", "steps", ge=1,
        default_doc="0.5 h of steps",
    )  # fmt: skip
    block_steps: int | None = param(
        None, "online move blocking: steps merged into one column after the fine ones (1: no blocking)", "steps",
        ge=1, default_doc="2 h of steps",
    )  # fmt: skip
    time_limit_s: float = param(600.0, "HiGHS time limit of one solve", "s", gt=0.0)
    presolve: str | None = param(
        None, "HiGHS presolve", choices=("off", "on", "choose"),
        default_doc="per mode, chosen by measurement: off (grid_support online: choose)",
    )  # fmt: skip
    merge: str = param(
        "plain", "offline: merge plain vehicles (no V2G, no DC taper) of the same window into exact super-vehicles "
        "(optim.aggregate); 'off' solves one set of columns per vehicle", choices=("plain", "off"),
    )  # fmt: skip


class OptimizingStrategy(Strategy):
    """Base of the LP/QP strategies: subclasses implement :meth:`objective` (and may post-process the plan).

    Parameters: :class:`SolverParams` (``unmet_penalty``, ``fine_steps``/``block_steps`` of the online move
    blocking, ``time_limit_s``, ``presolve``), extended by each strategy's own dataclass. ``presolve`` ``None``
    uses ``presolve_offline``/``presolve_online`` below (chosen by measurement, see docs/strategies.md).
    """

    uses_solver: ClassVar[bool] = True
    params_class: ClassVar[type[StrategyParams]] = SolverParams
    config: SolverParams
    #: The model is already reduced by construction (variables only while connected, no energy variables for
    #: plain vehicles), so HiGHS's presolve mostly costs time: off by default (2,000 vehicles, V2G: price
    #: optimisation 1.7 -> 1.0 s, grid support with a reserve 217 -> 14 s).
    presolve_offline: ClassVar[str] = "off"
    presolve_online: ClassVar[str] = "off"
    #: Online, start each LP re-plan from the previous re-plan's solution (:mod:`evfleet.strategies.optim.warm`);
    #: the result is certified optimal by its duality gap (else solved again cold). False: every re-plan cold.
    warm_start_online: bool = True

    def start_run(self) -> None:
        super().start_run()
        self._online_replans = 0
        self._online_solve_s = 0.0
        self._online_max_s = 0.0
        #: the previous online re-plan (model and solution) of this run; nothing is kept from one run to the next
        self._warm: WarmStart | None = None
        #: re-plans by how they started: "cold", "warm", "warm-rejected"
        self.start_counts: dict[str, int] = {}

    # --- to implement ---------------------------------------------------------------------------------------
    def objective(self, problem: ChargingProblem) -> Objective:  # pragma: no cover - abstract
        raise NotImplementedError

    def finish(self, problem: ChargingProblem, sol: Solution, plan: np.ndarray, online: bool) -> ChargingPlan:
        """Hook: the plan of the projected setpoints ``plan`` (n, H) [kW] (e.g. with a reserve band) and the report."""
        return ChargingPlan(plan)

    # --- helpers --------------------------------------------------------------------------------------------
    def solve_problem(self, problem: ChargingProblem, online: bool = False) -> Solution:
        """Build and solve the model of ``problem`` (no post-processing); offline with the plain vehicles merged
        (``merge``, :func:`~evfleet.strategies.optim.aggregate.solve_merged`)."""
        if not online and self.config.merge == "plain":  # offline only: online re-plans keep one model shape
            presolve = self.config.presolve or self.presolve_offline
            return solve_merged(
                problem, self.objective(problem), time_limit_s=self.config.time_limit_s, options={"presolve": presolve}
            )
        return self.solve_model(build_model(problem, self.objective(problem)), online)

    def solve_model(self, model: FleetModel, online: bool = False) -> Solution:
        """Solve ``model`` with this strategy's HiGHS options; online, an LP starts from the previous re-plan."""
        presolve = self.config.presolve or (self.presolve_online if online else self.presolve_offline)
        start = None
        warm = online and self.warm_start_online and warm_startable(model)
        if warm and self._warm is not None:
            start = start_values(self._warm, model)
        sol = solve(model, time_limit_s=self.config.time_limit_s, options={"presolve": presolve}, start=start)
        if online:
            self.start_counts[sol.start] = self.start_counts.get(sol.start, 0) + 1
        if warm and sol.x is not None:
            self._warm = WarmStart(model, sol.x)
        return sol

    def _record_reasons(self, problem: ChargingProblem, sol: Solution) -> None:
        reasons = unmet_reasons_from_solution(problem, sol)
        for i in np.flatnonzero(reasons != ""):
            self.report.unmet_reason_by_vehicle[int(problem.vehicle_index[i])] = str(reasons[i])

    # --- the Strategy interface -----------------------------------------------------------------------------
    def schedule(self, problem: ChargingProblem) -> np.ndarray:
        return self.plan(problem).setpoint_kw

    def first_step(self, problem: ChargingProblem) -> np.ndarray:
        return self.plan_first_step(problem).setpoint_kw

    def plan(self, problem: ChargingProblem) -> ChargingPlan:
        sol = self.solve_problem(problem)
        power, adjust = project_to_physics(problem, sol.power_kw)
        plan = self.finish(problem, sol, power, online=False)
        self.report.solve = SolveReport(
            objective=sol.objective,
            solver_status=sol.status,
            build_s=sol.build_s,
            solve_s=sol.solve_s,
            n_variables=sol.n_col,
            n_constraints=sol.n_row,
            planned_unmet_kwh=float(sol.unmet_kwh.sum()),
        )
        self.report.projection_max_kw = adjust
        self._record_reasons(problem, sol)
        return plan

    def plan_first_step(self, problem: ChargingProblem) -> ChargingPlan:
        t0 = time.perf_counter()
        cfg = self.config
        fine = cfg.fine_steps if cfg.fine_steps is not None else max(1, round(0.5 / problem.dt_h))
        block = cfg.block_steps if cfg.block_steps is not None else max(1, round(2.0 / problem.dt_h))
        coarse = block_problem(problem, fine, block)
        sol = self.solve_problem(coarse, online=True)
        power, adjust = project_to_physics(coarse, sol.power_kw)
        plan = self.finish(coarse, sol, power, online=True)
        elapsed = time.perf_counter() - t0
        self._online_replans += 1
        self._online_solve_s += elapsed
        self._online_max_s = max(self._online_max_s, elapsed)
        self.report.online = OnlineReport(
            online_replans=self._online_replans,
            online_replan_mean_s=self._online_solve_s / self._online_replans,
            online_replan_max_s=self._online_max_s,
        )
        self.report.projection_max_kw = max(self.report.projection_max_kw or 0.0, adjust)
        # A vehicle departing at the end of the first column is decided now: record why it falls short.
        leaving = coarse.departs_in_horizon & (coarse.departure <= 1)
        if leaving.any():
            self._record_reasons(coarse, _mask_unmet(sol, leaving))
        reserve = None if plan.reserve_kw is None else plan.reserve_kw[:, 0]
        return ChargingPlan(plan.setpoint_kw[:, 0], reserve)


def _mask_unmet(sol: Solution, keep: np.ndarray) -> Solution:
    return dataclasses.replace(sol, unmet_kwh=np.where(keep, sol.unmet_kwh, 0.0))


def min_dt_eta(problem: ChargingProblem) -> tuple[float, float]:
    """Shortest column [h] and lowest charge efficiency (for penalty scaling)."""
    dts = col_dt(problem)
    dt = float(dts.min()) if dts.size else problem.dt_h
    eta = float(problem.charge_efficiency.min()) if problem.n_vehicles else 1.0
    return max(dt, 1e-6), max(eta, 1e-3)
