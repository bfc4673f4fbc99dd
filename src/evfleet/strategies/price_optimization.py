"""Price optimisation: minimise the site's bill under the tariff (LP), then break its ties smoothly (QP).

Units: power [kW], energy [kWh], prices [MAD/kWh], cost [MAD].

Stage 1, the bill (``dt`` the column length [h], ``pi``/``pe`` import/export price before VAT, ``c_deg`` the
degradation cost, ``c_ov`` the overrun cost per kW of called power above the floor ``F`` =
max(subscribed power, the month's called power so far), :func:`evfleet.problem.billing_terms`)::

    min  sum_t (pi_t * imp_t - min(pe_t, pi_t) * exp_t) * dt
       + (c_deg + 1e-4) * sum_s dis_s * dt  +  M * sum_i u_i  +  (c_ov + eps) * z,    F <= z,  imp_t <= z

subject to the fleet model of :mod:`evfleet.strategies.optim.model`. The bill terms it includes: ``energy_mad``,
``overrun_mad`` (in the tariff's measure: with ``demand_measure: kva`` the called power is ``z >=
sqrt(imp_t^2 + Q_t^2)`` through outer tangent cuts ``cos(th_k) imp_t + sin(th_k) Q_t <= z``, K = 18 or 36
angles, worst-case relative error ``1/cos(span/2K) - 1`` = 9.5e-4 (:func:`~evfleet.strategies.optim.model.
kva_cut_angles`), ``Q_t`` the base load's reactive power, :func:`evfleet.problem.base_reactive_kvar`; the
chargers' own Q is not in the LP), export revenue and degradation; the power charge and fixed fees are
constants (nothing a schedule changes), the cos φ penalty is not modelled (non-linear; the bill reports it),
VAT is proportional. With V2G the optimiser arbitrages between cheap and expensive periods whenever the price
spread beats the round-trip losses and the degradation cost.
The export price is capped at the import price so that the LP cost equals the KPI cost (a site never imports
and exports in the same step). ``M`` = ``unmet_penalty`` [MAD/kWh] (default 100, far above any tariff, so energy
is left unmet only when physics forbid the target). ``eps`` = ``peak_tiebreak`` [MAD/kW] (default 0). When the floor
``F`` is at or above the largest import the site can draw (``max(import limit, net base load)``, e.g. a subscribed
power equal to the import limit), no schedule can pay an overrun and the term (and its coupling variable ``z``,
which slows the simplex) is left out: exact.

Stage 2 (``tie_break='level'``, the default), the tie-break: a bill-optimal LP vertex on a flat-price period
can charge in spikes up to the import limit that the bill does not pay for. :func:`~evfleet.strategies.optim.level.
level_flat_periods` then moves charging *inside* each flat-price importing window (vehicles that do not
discharge there and have no DC taper), towards the least ``sum_t imp_t^2``, keeping each window's energy, the
largest import and every vehicle's energy: the bill of the schedule is exactly the LP optimum's (lexicographic:
bill first, level load second). A quadratic second stage (``min sum imp^2`` subject to ``cost <= C*``) would
find the most level schedule exactly but took 4-6 s at 500 vehicles (HiGHS HiPO), too slow for the 5 s goal at
2,000: the levelling is a vectorised projected gradient (no solver), not a proven optimum of the tie-break.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from evfleet.strategies.base import ChargingProblem
from evfleet.strategies.optim.aggregate import charge_upper_kw, solve_merged
from evfleet.strategies.optim.highs import Solution
from evfleet.strategies.optim.level import level_flat_periods
from evfleet.strategies.optim.model import (
    Objective,
    build_model,
    col_dt,
    discharge_eligible,
    kva_cut_value,
    kva_import_cap_kw,
)
from evfleet.strategies.optim.receding import OptimizingStrategy, SolverParams, discharge_cost_mad_per_kwh
from evfleet.strategies.optim.two_phase import solve_two_phase
from evfleet.strategies.params import StrategyParams, param

__all__ = ["PHASE2_OPTIONS", "PriceOptimization", "PriceOptimizationParams", "price_objective"]

#: HiGHS options of phase 2 of the offline two-phase solve (the full LP started from the no-V2G optimum): the
#: primal simplex, which keeps the feasible start feasible. 2,000 vehicles x 96 steps, V2G: ~1,400 iterations,
#: 0.37 s of CPU, against ~5,000 and 0.50 s with the dual simplex from the same start (docs/benchmarks.md).
PHASE2_OPTIONS: dict[str, int] = {"simplex_strategy": 4}


@dataclass(frozen=True)
class PriceOptimizationParams(SolverParams):
    """Parameters of :class:`PriceOptimization` (and the solver parameters of :class:`SolverParams`)."""

    unmet_penalty: float = param(
        100.0, "M: penalty of a kWh left unmet at departure (far above any tariff)", "MAD/kWh", gt=0.0
    )
    peak_tiebreak: float = param(
        0.0, "eps: cost of the peak import added to the overrun cost (0: off)", "MAD/kW", ge=0.0,
    )  # fmt: skip
    tie_break: str = param(
        "level", "stage 2: 'level' moves charging inside each flat-price period towards a level site load, bill "
        "unchanged (no spikes the bill does not pay for); 'off' keeps the LP vertex", choices=("level", "off"),
    )  # fmt: skip


def price_objective(problem: ChargingProblem, unmet_penalty: float = 100.0, weight: float = 1.0) -> Objective:
    """The bill's objective terms (energy, export, degradation, overrun), scaled by ``weight`` (used as a
    tie-breaker by other strategies: they get the overrun term only from ``price_optimization``)."""
    dt = col_dt(problem)
    pi = problem.price_import_mad_per_kwh
    pe = problem.price_export_mad_per_kwh.clip(max=pi)
    return Objective(
        import_cost=weight * pi * dt,
        export_cost=-weight * pe * dt,
        discharge_cost=weight * discharge_cost_mad_per_kwh(problem),
        unmet_penalty=unmet_penalty,
    )


class PriceOptimization(OptimizingStrategy):
    """Minimum bill (energy + overrun - export + degradation) over the horizon, ties broken by a level load."""

    name = "price_optimization"
    description = (
        "LP: minimise the bill (energy + overrun above the subscribed power - export + degradation) under the "
        "tariff; then, among bill-optimal schedules, a level site load inside each flat-price period."
    )
    params_class: ClassVar[type[StrategyParams]] = PriceOptimizationParams
    config: PriceOptimizationParams
    #: offline with discharging vehicles: the two-phase solve (:mod:`~evfleet.strategies.optim.two_phase`); False:
    #: the merged full model in one cold solve (the path before issue 13; the benchmark's A/B switch)
    two_phase: ClassVar[bool] = True
    #: fewest V2G-eligible vehicles for the two-phase solve: below, its second HiGHS run costs more than it saves
    #: (96 steps, CPU: 10 vehicles / 2 eligible 5 ms against 3 ms in one phase, 30 / 6 8 ms against 7 ms,
    #: 50 / 11 11 ms against 13 ms, 100 / 26 24 ms against 34 ms; docs/benchmarks.md)
    two_phase_min_v2g: ClassVar[int] = 10

    def objective(self, problem: ChargingProblem) -> Objective:
        obj = price_objective(problem, self.config.unmet_penalty)
        eps = self.config.peak_tiebreak
        overrun = float(problem.overrun_mad_per_kw)
        imp_top = np.maximum(float(problem.import_limit_kw), problem.net_base_kw())
        kva = problem.demand_kva and problem.reactive_kvar is not None
        if kva:  # the largest apparent power the site can call [kVA]
            imp_top = np.hypot(imp_top, np.asarray(problem.reactive_kvar, dtype=float))
        top = float(np.max(imp_top, initial=0.0))
        if problem.called_power_floor_kw >= top:  # no schedule can call more than the floor: no overrun (exact)
            overrun = 0.0
        if overrun > 0 or eps > 0:
            obj.peak_cost = overrun + eps
            obj.peak_floor_kw = float(problem.called_power_floor_kw) if overrun > 0 else 0.0
            if kva and overrun > 0:  # the bill's kVA: z >= sqrt(imp^2 + Q^2) (tangent cuts, error <= 0.1 %)
                obj.peak_reactive_kvar = np.asarray(problem.reactive_kvar, dtype=float)
        return obj

    def solve_problem(self, problem: ChargingProblem, online: bool = False) -> Solution:
        obj = self.objective(problem)
        if not online and self.config.merge == "plain":  # exact super-vehicles (optim.aggregate), offline only
            options = {"presolve": self.config.presolve or self.presolve_offline}
            limit = self.config.time_limit_s
            if self.two_phase and discharge_eligible(problem).sum() >= max(self.two_phase_min_v2g, 1):
                # the no-V2G optimum, then the full LP from it (certified, else solved cold)
                sol = solve_two_phase(problem, self.objective, PHASE2_OPTIONS, limit, options)
            else:
                sol = solve_merged(problem, obj, time_limit_s=limit, options=options)
        else:
            sol = self.solve_model(build_model(problem, obj), online)
        if obj.peak_cost is not None:  # report the overrun above the floor only: (c_ov + eps) * (z - F)
            sol = dataclasses.replace(sol, objective=sol.objective - obj.peak_cost * obj.peak_floor_kw)
        if self.config.tie_break == "off" or problem.n_vehicles == 0:
            return sol
        cap = None
        if obj.peak_reactive_kvar is not None:  # keep the LP's called kVA (its cut value z) at every column
            q = obj.peak_reactive_kvar
            cap = kva_import_cap_kw(kva_cut_value(sol.import_kw, q), q)
        return level_flat_periods(problem, charge_upper_kw(problem), sol, import_cap_kw=cap)
