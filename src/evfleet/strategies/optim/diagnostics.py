"""Diagnostics of a solved schedule: its projection onto the simulator's physics, the reasons of unmet energy.

Units: power [kW], energy [kWh].
"""

from __future__ import annotations

import numpy as np

from evfleet.physics import next_energy_kwh, power_bounds_kw
from evfleet.problem import ChargingProblem
from evfleet.strategies.optim.highs import Solution
from evfleet.strategies.optim.model import col_dt

__all__ = ["project_to_physics", "unmet_reasons_from_solution"]


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
