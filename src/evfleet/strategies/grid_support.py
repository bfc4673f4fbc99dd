"""Grid support: V2G as a service, (a) peak-period import reduction and (b) frequency containment reserve (LP).

Units: power [kW], energy [kWh], prices [MAD/kWh], reserve price [MAD/kW/h], frequency [Hz].

(a) Peak period. With ``P`` the steps of the tariff's ``pointe`` period (or, if the tariff has none, the steps at
the highest import price) and ``W`` = ``pointe_weight`` [MAD/kWh, default 10]::

    min  sum_t (pi_t + W*[t in P]) * imp_t * dt - min(pe_t, pi_t) * exp_t * dt + (c_deg + 1e-4) * sum dis * dt
         - rho * sum_s r_s * dt + M * sum_i u_i

so discharge of capable vehicles above their V2G floor goes first into the peak period, targets still met.

(b) Frequency containment. With ``rho`` = ``reserve_price`` [MAD/kW/h] > 0, every connected V2G-eligible vehicle
reserves a symmetric band ``r_s`` [kW] (FCR is a V2G service here; none with V2G off): ``p +- r`` within its
power limits, the site within its limits, and enough energy headroom for ``reserve_duration_h`` hours of full
activation: ``e + eta_c*T*r <= ceiling``,
``e - T*r/eta_d >= floor``. The strategy plans the setpoint and the band (a :class:`~evfleet.problem.ChargingPlan`);
the *simulator* delivers the response at each step, ``p = p_plan + r * a(f_t)`` within the physics, with
``a`` the activation of :func:`evfleet.physics.droop_activation` (``df / 200 mHz``, 0 inside +-10 mHz) and
``f_t`` the realised frequency: the scenario's ``frequency_hz`` series, else the seeded synthetic signal of
:mod:`evfleet.inputs.frequency` (this strategy's ``seed`` parameter, default 0). The strategy never sees the
realised frequency ahead of time (the problem holds a forecast, ``frequency_forecast_hz``).

FCR as traded (entsoe.eu, regelleistung.net): the pooled band is constant in 4-h blocks of the local clock
(``fcr_block_h``), a block is offered only from ``fcr_min_offer_kw`` (1 MW, pooled; two LPs, see
:meth:`GridSupport.solve_problem`), and vehicles without V2G may hold a band by modulating their charging
(``fcr_participation``). The reserve revenue is in the objective and reported as ``reserve_value_mad``.

Defaults are assumptions (Morocco has no FCR market: a what-if priced with European figures): ``reserve_price``
0.15 MAD/kW/h (the order of magnitude of European FCR capacity prices, 10-20 EUR/MW/h), ``reserve_duration_h`` 0.25 h.
Parameters: :class:`GridSupportParams`. Report: ``report.reserve``, a :class:`~evfleet.strategies.report.ReserveReport`
(its fields become ``strategy_*`` KPIs): ``reserve_mean_kw``, ``reserve_max_kw``, ``reserve_value_mad``,
``pointe_import_kwh`` (planned); the simulator fills in what it delivered (``None`` in the strategy's own report):
``fcr_energy_up_kwh`` (by lowering charge / discharging), ``fcr_energy_down_kwh`` (absorbed),
``fcr_projection_max_kw`` (the largest activation [kW] the physics cut) and ``frequency_source`` (``scenario``
or ``synthetic_ou``).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from evfleet.problem import ChargingPlan, ChargingProblem
from evfleet.strategies.base import StrategyError
from evfleet.strategies.optim.aggregate import solve_merged
from evfleet.strategies.optim.band import LazyBandSolver, reduce_band, substitute_band
from evfleet.strategies.optim.highs import Solution, solve
from evfleet.strategies.optim.model import FleetModel, Objective, build_model, col_dt
from evfleet.strategies.optim.receding import OptimizingStrategy, SolverParams, min_dt_eta
from evfleet.strategies.optim.warm import complete_start
from evfleet.strategies.params import StrategyParams, param
from evfleet.strategies.price_optimization import price_objective
from evfleet.strategies.report import ReserveReport

__all__ = ["GridSupport", "GridSupportParams", "fcr_blocks", "peak_period_mask"]


@dataclass(frozen=True)
class GridSupportParams(SolverParams):
    """Parameters of :class:`GridSupport` (and the solver parameters of :class:`SolverParams`)."""

    unmet_penalty: float | None = param(
        None, "M: penalty of a kWh left unmet at departure", "MAD/kWh", gt=0.0,
        default_doc="max(100, 10 (pi_max + W) / eta_min + 10 rho H / (eta_min T)), H the horizon [h]",
    )  # fmt: skip
    pointe_weight: float = param(
        10.0, "W: extra cost of a kWh imported in the pointe period (peak-period import reduction)", "MAD/kWh", ge=0.0
    )
    reserve_price: float = param(
        0.15, "rho: value of a kW of symmetric frequency-containment band for one hour (0: no reserve); an "
        "assumption, no Moroccan reserve market exists", "MAD/kW/h", ge=0.0,
    )  # fmt: skip
    reserve_duration_h: float = param(
        0.25, "T: hours of full activation the reserved band must hold in energy headroom (an assumption)", "h",
        gt=0.0,
    )  # fmt: skip
    seed: int = param(0, "seed of the synthetic frequency signal (used when the scenario has no frequency_hz)", ge=0)
    fcr_block_h: float = param(
        4.0, "FCR product length: the pooled band is constant inside each block of this many hours of the local "
        "clock (entsoe.eu: daily auctions of 4-h products; 0: a band per step)", "h", ge=0.0,
    )  # fmt: skip
    fcr_min_offer_kw: float = param(
        1000.0, "smallest pooled offer of a block: the fleet's band is 0 or at least this (regelleistung.net: 1 MW, "
        "pooling allowed; 0: no minimum)", "kW", ge=0.0,
    )  # fmt: skip
    fcr_participation: str = param(
        "v2g_and_charging", "who may hold the band: 'v2g_and_charging' (vehicles without V2G too, by modulating "
        "their charging power, 0 <= p -+ r <= max) or 'v2g_only'", choices=("v2g_and_charging", "v2g_only"),
    )  # fmt: skip


def fcr_blocks(problem: ChargingProblem, block_h: float) -> np.ndarray | None:
    """FCR product block of every column (H,): ``floor(local clock hours / block_h)`` counted from the first
    column's block (blocks of 4 h start at 00, 04, 08, ... local time); ``None`` for ``block_h = 0``."""
    if block_h <= 0 or problem.n_steps == 0:
        return None
    times = pd.DatetimeIndex(problem.times)
    hours = np.asarray((times - times[0].normalize()) / pd.Timedelta(hours=1), dtype=float)
    blk = np.floor(hours / block_h + 1e-9).astype(np.int64)
    return blk - blk[0]


def peak_period_mask(problem: ChargingProblem) -> np.ndarray:
    """Columns of the ``pointe`` period (else of the highest import price)."""
    periods = np.asarray(problem.tou_period).astype(str)
    mask = periods == "pointe"
    if not mask.any() and problem.n_steps:
        price = problem.price_import_mad_per_kwh
        mask = price >= price.max() - 1e-12
        if np.all(mask):  # a flat tariff has no peak period
            mask = np.zeros(problem.n_steps, dtype=bool)
    return mask


class GridSupport(OptimizingStrategy):
    """Peak-period import reduction by V2G plus a priced symmetric frequency-containment band."""

    name = "grid_support"
    description = "LP: minimise import in the pointe period by V2G; reserve an FCR band and follow the droop."
    #: presolve of the online re-plans (measured 2026-12-04 with the band reduction, 2,000 connected vehicles, the
    #: two LPs of one re-plan: 1.16-1.21 s CPU with "choose", 1.14-1.17 s with "off": no clear difference)
    presolve_online = "choose"
    #: solve the LPs in the reduced form of :mod:`~evfleet.strategies.optim.band` (False: the original model;
    #: the same optimum, for A/B measurements)
    band_reduction: bool = True
    #: offline, start the first reduced LP's dual simplex from the no-reserve optimum (every band 0, a feasible
    #: point), certified by its duality gap (:meth:`LazyBandSolver.start_from`); False: from the slack basis
    band_warm_start: bool = True
    params_class: ClassVar[type[StrategyParams]] = GridSupportParams
    config: GridSupportParams

    def start_run(self) -> None:
        super().start_run()
        # per-run state: the running totals of the reserve band
        self._reserve_kwh = 0.0
        self._reserve_max = 0.0
        self._steps = 0

    def objective(self, problem: ChargingProblem) -> Objective:
        w_peak = self.config.pointe_weight
        rho = self.config.reserve_price
        t_res = self.config.reserve_duration_h
        dt = col_dt(problem)
        _, eta = min_dt_eta(problem)
        horizon_h = float(dt.sum())
        pi_max = float(problem.price_import_mad_per_kwh.max(initial=0.0))
        penalty = self.config.unmet_penalty
        if penalty is None:
            penalty = max(100.0, 10.0 * (pi_max + w_peak) / eta + 10.0 * rho * horizon_h / (eta * t_res))
        obj = price_objective(problem, penalty)
        obj.import_cost = obj.import_cost + w_peak * peak_period_mask(problem) * dt
        if rho > 0:
            obj.reserve_revenue = np.full(problem.n_steps, rho)
            obj.reserve_duration_h = t_res
            obj.reserve_block = fcr_blocks(problem, self.config.fcr_block_h)
            obj.reserve_min_kw = self.config.fcr_min_offer_kw if obj.reserve_block is not None else 0.0
            obj.reserve_unidirectional = self.config.fcr_participation == "v2g_and_charging"
        return obj

    def solve_problem(self, problem: ChargingProblem, online: bool = False) -> Solution:
        """Solve with the FCR minimum offer by two LPs: the blocks' pooled bands without the minimum, then again
        with the blocks that came out below it closed (band 0). A heuristic for the exact rule ``B_k = 0 or
        B_k >= m`` (the MIP of :func:`~evfleet.strategies.optim.model.reserve_block_rows` did not finish in 10 min
        at 500 vehicles): its plan meets the rule; its objective is never better than the MIP's (tested).

        With a charging-only band (``fcr_participation='v2g_and_charging'``) both LPs are solved in the exactly
        equivalent reduced form of :mod:`~evfleet.strategies.optim.band` (``band_reduction``; the second as in
        :meth:`_second_lp`); its solution is checked in the original model (else the original is solved). Offline
        the first starts from the no-reserve optimum (``band_warm_start``; kept only when certified)."""
        obj = self.objective(problem)
        presolve = self.config.presolve or (self.presolve_online if online else self.presolve_offline)
        opts = {"time_limit_s": self.config.time_limit_s, "options": {"presolve": presolve}}
        min_kw = obj.reserve_min_kw
        obj.reserve_min_kw = 0.0
        model = build_model(problem, obj)
        lazy = self._band_solver(model, presolve) if self.band_reduction else None
        sol = None
        no_band = None  # the optimum without reserve (the band-0 start of the first LP; offline only)
        if lazy is not None and not online and self.band_warm_start:
            no_band = self._no_band(problem, obj, online, opts)
            lazy.start_from(lazy.red.from_original(self._band_zero_start(model, no_band)))
        if lazy is not None:
            try:
                sol = lazy.solve()
            except StrategyError:  # not solved or not confirmed in the original model: solve that
                lazy = None
        if sol is None:
            sol = solve(model, **opts)
        elif no_band is not None:  # its time counts in the first LP's
            sol = dataclasses.replace(sol, build_s=sol.build_s + no_band.build_s, solve_s=sol.solve_s + no_band.solve_s)
        if min_kw <= 0 or obj.reserve_block is None:
            return sol
        blk = np.asarray(obj.reserve_block, dtype=np.int64)
        n_blocks = int(blk.max()) + 1
        band = np.zeros(n_blocks)
        np.maximum.at(band, blk, sol.reserve_kw.sum(axis=0))
        small = band < min_kw - 1e-6
        if not (small & (band > 1e-6)).any():
            return sol
        obj.reserve_block_cap_kw = np.where(small, 0.0, np.inf)
        if lazy is not None:
            try:
                return self._second_lp(problem, obj, lazy, small, sol, online, opts, no_band)
            except StrategyError:
                pass  # solved below in the original form
        return solve(build_model(problem, obj), **opts)

    def _no_band(self, problem: ChargingProblem, obj: Objective, online: bool, opts: dict) -> Solution:
        """The optimum of the LP without reserve variables (same costs and penalty; the plain vehicles merged
        offline): the second LP when every block closes (:meth:`_second_lp`), and the band-0 start of the first."""
        no_band = dataclasses.replace(obj, reserve_revenue=None, reserve_block=None, reserve_min_kw=0.0,
                                      reserve_unidirectional=False, reserve_block_cap_kw=None)  # fmt: skip
        if not online and self.config.merge == "plain":
            return solve_merged(problem, no_band, **opts)
        return solve(build_model(problem, no_band), **opts)

    @staticmethod
    def _band_zero_start(model: FleetModel, no_band: Solution) -> np.ndarray:
        """The no-reserve optimum as column values of the band model ``model`` (every band 0): its charging and
        discharging per slot, the energies, site flows and unmet energies completed from the model's equalities
        (:func:`~evfleet.strategies.optim.warm.complete_start`). Feasible: with the band at 0 every reserve row
        reduces to the power limits, the energy window and the site limits the no-reserve optimum keeps."""
        cols = model.layout
        sv, st, ds = model.slot_vehicle, model.slot_col, model.dis_slots
        x = np.zeros(model.n_col)
        ch, dis = cols.span("ch"), cols.span("dis")
        x[ch] = np.clip(no_band.charge_kw[sv, st], model.col_lower[ch], model.col_upper[ch])
        x[dis] = np.clip(no_band.discharge_kw[sv[ds], st[ds]], model.col_lower[dis], model.col_upper[dis])
        return complete_start(model, x)

    def _second_lp(self, problem: ChargingProblem, obj: Objective, lazy: LazyBandSolver, closed: np.ndarray,
                   first: Solution, online: bool, opts: dict, no_band: Solution | None = None) -> Solution:  # fmt: skip
        """The second LP (blocks ``closed`` hold no band) in the fastest exact way (measured, docs/benchmarks.md).

        Every block closed: every band is 0 (each ``r, ru >= 0`` sums to ``B_k = 0``), and with the band at 0 each
        reserve row is implied by the column bounds and the site balance (``ch - dis -+ 0`` within the power
        limits, ``e`` within its window, the site rows within the import/export bounds): the LP is the one without
        reserve variables (same costs and penalty), solved with the plain vehicles merged offline (500 vehicles:
        ~0.1 s against 1.3 s for the reduced band model). Else: the reduced model from the first LP's basis
        (2,000 vehicles, one small block closed: 0.35 s against 15.8 s cold)."""
        if closed.all():
            # (the band-0 start's no-reserve optimum when there was one: that LP, already solved, its time counted)
            second = self._no_band(problem, obj, online, opts) if no_band is None else dataclasses.replace(
                no_band, build_s=0.0, solve_s=0.0)  # fmt: skip
        else:
            lazy.cap_blocks(np.asarray(obj.reserve_block_cap_kw, dtype=float))
            second = lazy.solve()
        return dataclasses.replace(second, build_s=first.build_s + second.build_s,
                                   solve_s=first.solve_s + second.solve_s)  # fmt: skip

    def _band_solver(self, model: FleetModel, presolve: str) -> LazyBandSolver | None:
        """The reduced band model of ``model`` and its solver (``None``: no charging-only band slots)."""
        t0 = time.perf_counter()
        sub = substitute_band(model)
        if sub is None:
            return None
        solver = LazyBandSolver(reduce_band(sub), self.config.time_limit_s, {"presolve": presolve})
        solver.build_s = model.build_s + time.perf_counter() - t0
        return solver

    def finish(self, problem: ChargingProblem, sol: Solution, plan: np.ndarray, online: bool) -> ChargingPlan:
        """The plan with its reserve band (the simulator activates it); adds the band's statistics to the report."""
        dt = col_dt(problem)
        cols = slice(0, 1) if online else slice(None)
        reserve = sol.reserve_kw[:, cols]
        rho = self.config.reserve_price
        band = reserve.sum(axis=0)
        self._reserve_kwh += float((band * dt[cols]).sum())
        self._reserve_max = max(self._reserve_max, float(band.max(initial=0.0)))
        self._steps += band.size
        hours = float(dt[cols].sum()) if not online else self._steps * problem.dt_h
        # What the reserve delivered (fcr_energy_*, frequency_source, fcr_projection_max_kw) is measured by the
        # simulator with the realised frequency: None until then.
        self.report.reserve = ReserveReport(
            reserve_price_mad_per_kw_h=rho,
            reserve_mean_kw=self._reserve_kwh / hours if hours else 0.0,
            reserve_max_kw=self._reserve_max,
            reserve_value_mad=rho * self._reserve_kwh,
            fcr_energy_up_kwh=None,
            fcr_energy_down_kwh=None,
            pointe_import_kwh=float((sol.import_kw * peak_period_mask(problem) * dt).sum()) if not online else None,
            frequency_source=None,
            reserve_block_h=self.config.fcr_block_h,
            reserve_min_offer_kw=self.config.fcr_min_offer_kw,
        )
        return ChargingPlan(plan, reserve_kw=sol.reserve_kw)
