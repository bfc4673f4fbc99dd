"""Load balancing: share the site's available capacity among connected vehicles (fast heuristic, no solver).

Units: power [kW], energy [kWh], time [h].

At each step, with ``C = import_limit - base_load + pv`` the available capacity [kW] (>= 0), each connected
vehicle ``i`` has a demand ``d_i = min(max_charge_i, (target_i - e_i)/(eta_i dt), (ceiling_i - e_i)/(eta_i dt))``
(it never charges past its target), a *necessary rate* ``m_i = min(d_i, need_i / (eta_i * remaining_h_i))`` (the
constant power that just meets the target by departure) and a *laxity* ``remaining_h_i - need_i / (eta_i *
max_charge_i)`` [h] (slack time before it must charge at full power; Least-Laxity-First, Dertouzos & Mok 1989).

* If ``sum m_i <= C``: every vehicle gets ``p_i = min(d_i, m_i + lambda)`` with the common water level ``lambda``
  >= 0 chosen so that ``sum p_i = min(C, sum d_i)`` (water-filling). A vehicle runs at full power only when its
  share reaches its limit; nobody is starved while capacity is left.
* Otherwise capacity goes to the necessary rates in order of least laxity (the last served gets a part).

Never discharges (a capacity-sharing rule). Vectorised over vehicles (one sort per step).
"""

from __future__ import annotations

import numpy as np

from evfleet.physics import charge_limit_kw
from evfleet.strategies.base import ChargingProblem, Strategy

__all__ = ["LoadBalancing", "allocate", "water_fill"]


def water_fill(base_kw: np.ndarray, cap_kw: np.ndarray, total_kw: float) -> np.ndarray:
    """``min(cap, base + lambda)`` with ``lambda >= 0`` such that the sum is ``min(total, sum cap)`` [kW]."""
    room = np.maximum(cap_kw - base_kw, 0.0)
    extra = total_kw - base_kw.sum()
    if extra <= 0 or room.sum() <= extra:
        return base_kw + room if extra > 0 else base_kw.copy()
    order = np.sort(room)
    n = len(order)
    # filled(k) = sum of the k smallest rooms + (n - k) * order[k-1]... find lambda in the right segment
    csum = np.concatenate([[0.0], np.cumsum(order)])
    k = np.arange(n + 1)
    level_at = np.concatenate([[0.0], order])  # lambda at breakpoints
    filled = csum + (n - k) * level_at  # total extra if lambda = level_at[k]
    j = int(np.searchsorted(filled, extra, side="right")) - 1
    lam = level_at[j] + (extra - filled[j]) / max(n - j, 1)
    return base_kw + np.minimum(room, lam)


def allocate(
    capacity_kw: float,
    energy_kwh: np.ndarray,
    target_kwh: np.ndarray,
    ceiling_kwh: np.ndarray,
    max_charge_kw: np.ndarray,
    eta_c: np.ndarray,
    dt_h: float,
    remaining_h: np.ndarray,
) -> np.ndarray:
    """Charging power [kW] of each connected vehicle for one step (see module docstring)."""
    need = np.maximum(target_kwh - energy_kwh, 0.0)
    room = np.maximum(ceiling_kwh - energy_kwh, 0.0)
    demand = np.minimum(max_charge_kw, np.minimum(need, room) / (eta_c * dt_h))
    rem = np.maximum(remaining_h, dt_h)
    necessary = np.minimum(demand, need / (eta_c * rem))
    cap = max(float(capacity_kw), 0.0)
    if necessary.sum() <= cap:
        return water_fill(necessary, demand, cap)
    with np.errstate(divide="ignore", invalid="ignore"):
        laxity = rem - np.where(max_charge_kw > 0, need / (eta_c * max_charge_kw), np.inf)
    order = np.argsort(laxity, kind="stable")
    csum = np.cumsum(necessary[order])
    granted = np.clip(cap - (csum - necessary[order]), 0.0, necessary[order])
    out = np.zeros_like(necessary)
    out[order] = granted
    return out


class LoadBalancing(Strategy):
    """Least-laxity water-filling of the available site capacity."""

    name = "load_balancing"
    feedback = True
    description = "Heuristic: share import limit - base load + PV among vehicles, least laxity first, water-filling."

    def first_step(self, problem: ChargingProblem) -> np.ndarray:
        cap = problem.import_limit_kw - problem.base_load_kw[0] + problem.pv_kw[0]
        conn = problem.arrival <= 0
        remaining_h = (problem.departure - np.maximum(problem.arrival, 0)) * problem.dt_h
        p = allocate(
            cap,
            problem.energy_kwh,
            problem.energy_target_kwh,
            problem.energy_ceiling_kwh,
            np.where(conn, problem.charge_limit_kw(problem.energy_kwh), 0.0),
            problem.charge_efficiency,
            problem.dt_h,
            remaining_h,
        )
        return np.where(conn, p, 0.0)

    def schedule(self, problem: ChargingProblem) -> np.ndarray:
        """Step through the horizon applying :func:`allocate` (energies advance as in the simulator)."""
        n, H = problem.n_vehicles, problem.n_steps
        out = np.zeros((n, H))
        e = problem.energy_kwh.astype(float).copy()
        conn = problem.connected()
        cut = problem.taper_cut()
        for k in range(H):
            c = conn[:, k]
            cap = problem.import_limit_kw - problem.base_load_kw[k] + problem.pv_kw[k]
            p = allocate(
                cap,
                e[c],
                problem.energy_target_kwh[c],
                problem.energy_ceiling_kwh[c],
                charge_limit_kw(problem.max_charge_kw[c], e[c], None if cut is None else (cut[0][c], cut[1][c])),
                problem.charge_efficiency[c],
                problem.dt_h,
                (problem.departure[c] - k) * problem.dt_h,
            )
            out[c, k] = p
            e[c] += problem.charge_efficiency[c] * p * problem.dt_h
        return out
