"""Break the ties of a bill-optimal LP schedule: level the site load inside each flat-price period, bill unchanged.

Units: power [kW], energy [kWh], time [h].

A bill-optimal LP vertex on a flat-price period often charges in spikes up to the import limit: every schedule
that moves charging inside the period costs the same. :func:`level_flat_periods` picks, among those, one with a
level site load, by exact redistribution:

* a *window* is a maximal run of columns with the same import and export price and column length where the
  solution imports at every column (``imp_t > 0``);
* a vehicle's charging inside a window may move to any of its connected columns of that window
  (``0 <= x <= max_charge_kw`` where the model lets it charge) when it does not discharge inside the window and
  has no DC taper (its battery energy is then monotone in the window, so its energy bounds, its target and its
  end energy are unchanged);
* the moved energies minimise ``1/2 sum_t imp_t^2`` by projected gradient (FISTA; Beck & Teboulle, SIAM J.
  Imaging Sci. 2 (2009)), vectorised over all (vehicle, window) pairs: the exact projection onto
  ``{0 <= x <= u, sum x = E}`` of every pair by one sort of the breakpoints.

Every window's import stays > = 0 and the largest import (with a kVA demand: the apparent power of every
column) does not rise (checked; a window breaking either keeps the LP's schedule), so the energy cost
``price·sum imp·dt`` of each window, the called power (overrun), the export revenue, the degradation and every
vehicle's energy are exactly the LP's: the bill stays optimal. The
levelled load is the secondary objective, not proven optimal (a heuristic tie-break, bounded by
``iterations``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from evfleet.problem import ChargingProblem
from evfleet.strategies.optim.highs import Solution
from evfleet.strategies.optim.model import col_dt

__all__ = ["flat_windows", "level_flat_periods", "project_box_sum"]


def flat_windows(problem: ChargingProblem, import_kw: np.ndarray) -> np.ndarray:
    """Window id per column (H,), ``-1`` outside any window (see module docstring)."""
    H = problem.n_steps
    if H == 0:
        return np.zeros(0, dtype=np.int64)
    dt = col_dt(problem)
    pi = np.asarray(problem.price_import_mad_per_kwh, dtype=float)
    pe = np.asarray(problem.price_export_mad_per_kwh, dtype=float)
    importing = np.asarray(import_kw) > 1e-9
    same = np.r_[False, (pi[1:] == pi[:-1]) & (pe[1:] == pe[:-1]) & (dt[1:] == dt[:-1])]
    new = ~same | ~np.r_[False, importing[:-1]]
    wid = np.cumsum(new) - 1
    return np.where(importing, wid, -1)


def project_box_sum(y: np.ndarray, u: np.ndarray, g: np.ndarray, target: np.ndarray, n_groups: int) -> np.ndarray:
    """Per group g: the exact projection ``clip(y - mu_g, 0, u)`` that sums to ``target[g]`` (0 <= target <= Σu).

    The group sum ``f(mu)`` is piecewise linear and decreasing, with breakpoints ``y - u`` (an entry leaves its cap)
    and ``y`` (it reaches 0): one sort of all breakpoints by (group, value), then ``f`` at every breakpoint by
    cumulative sums, and the root by linear interpolation on its segment.
    """
    m = len(y)
    b = np.concatenate([y - u, y])
    d = np.concatenate([np.ones(m), -np.ones(m)])  # free entries gained at each breakpoint
    gg = np.concatenate([g, g])
    span = float(np.abs(b).max(initial=0.0)) * 2.0 + 1.0
    order = np.argsort(b + gg * span)  # by group, then value (one float key: faster than lexsort)
    b, d, gg = b[order], d[order], gg[order]
    starts = np.flatnonzero(np.r_[True, gg[1:] != gg[:-1]])
    counts = np.diff(np.r_[starts, len(b)])
    free = np.cumsum(d)
    free -= np.repeat(free[starts] - d[starts], counts)  # free entries after breakpoint k, within its group
    gap = np.r_[np.diff(b), 0.0]
    gap[starts[1:] - 1] = 0.0
    drop = free * gap
    cum = np.cumsum(drop)
    before = cum - drop - np.repeat(cum[starts] - drop[starts], counts)  # sum of drops before k in the group
    total_u = np.bincount(g, u, minlength=n_groups)
    f_at = np.repeat(total_u, counts) - before
    ok = f_at >= np.repeat(target, counts) - 1e-12
    k = starts + np.add.reduceat(ok.astype(np.int64), starts) - 1
    k = np.maximum(k, starts)
    slope = free[k]
    mu = b[k] + np.where(slope > 0, (f_at[k] - target) / np.where(slope > 0, slope, 1.0), 0.0)
    return np.clip(y - mu[g], 0.0, u)


def level_flat_periods(
    problem: ChargingProblem,
    model_upper_ch: np.ndarray,
    sol: Solution,
    iterations: int = 30,
    import_cap_kw: np.ndarray | None = None,
) -> Solution:
    """``sol`` with the charging of movable vehicles levelled inside each flat window (bill unchanged).

    ``model_upper_ch`` (n, H) [kW] is the model's charging bound per vehicle and column (0 where it may not
    charge or is not connected). ``import_cap_kw`` (H,) [kW], when given, replaces the largest import as the
    per-column cap (a kVA demand: ``sqrt(S^2 - Q_t^2)`` keeps the called apparent power ``S``).
    """
    n, H = problem.n_vehicles, problem.n_steps
    if n == 0 or H < 2:
        return sol
    ch = sol.charge_kw
    dis = sol.discharge_kw
    wid = flat_windows(problem, sol.import_kw)
    n_win = int(wid.max()) + 1 if wid.size else 0
    if n_win == 0:
        return sol
    tapered = np.zeros(n, dtype=bool)
    cut = problem.taper_cut()
    if cut is not None:
        tapered = np.asarray(cut[1]) != 0
    # (vehicle, window) pairs that may move: no discharge in the window, no taper, some charging there
    in_win = wid >= 0
    w_safe = np.where(in_win, wid, 0)
    dis_in = np.zeros((n, n_win))
    np.add.at(dis_in, (slice(None), w_safe[in_win]), dis[:, in_win])
    ch_in = np.zeros((n, n_win))
    np.add.at(ch_in, (slice(None), w_safe[in_win]), ch[:, in_win])
    movable_pair = (dis_in <= 1e-9) & ~tapered[:, None] & (ch_in > 1e-9)
    vi, tt = np.nonzero((model_upper_ch > 1e-12) & in_win[None, :])
    keep = movable_pair[vi, w_safe[tt]]
    vi, tt = vi[keep], tt[keep]
    if vi.size == 0:
        return sol
    pair = vi * n_win + w_safe[tt]  # sorted: np.nonzero lists by vehicle, then column (windows increase)
    uniq, g = np.unique(pair, return_inverse=True)
    n_groups = len(uniq)
    u = model_upper_ch[vi, tt]
    x0 = ch[vi, tt]
    target = np.bincount(g, x0, minlength=n_groups)
    site0 = sol.import_kw - sol.export_kw
    fixed = site0 - np.bincount(tt, x0, minlength=H)  # the load that does not move [kW]
    per_col = np.bincount(tt, minlength=H)
    step = 1.0 / max(int(per_col.max()), 1)
    x, x_prev, k_momentum = x0.copy(), x0.copy(), 1.0
    for _ in range(iterations):
        k_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * k_momentum**2))
        y = x + ((k_momentum - 1.0) / k_next) * (x - x_prev)
        total = fixed + np.bincount(tt, y, minlength=H)
        x_prev = x
        x = project_box_sum(y - step * total[tt], u, g, target, n_groups)
        k_momentum = k_next
    site = fixed + np.bincount(tt, x, minlength=H)
    # every window keeps importing and no column rises above the LP's largest import
    cap = float(np.max(sol.import_kw, initial=0.0)) + 1e-6 if import_cap_kw is None else import_cap_kw + 1e-6
    bad_col = in_win & ((site < -1e-9) | (site > cap))
    bad_win = np.unique(wid[bad_col])
    if bad_win.size:
        back = np.isin(w_safe[tt], bad_win)
        x[back] = x0[back]
        site = fixed + np.bincount(tt, x, minlength=H)
    new_ch = ch.copy()
    new_ch[vi, tt] = x
    imp = np.where(in_win, np.maximum(site, 0.0), sol.import_kw)
    active = sol.site_active & (imp >= sol.import_kw - 1e-6)  # at the limit before and still there
    return dataclasses.replace(sol, charge_kw=new_ch, power_kw=new_ch - dis, import_kw=imp, site_active=active)
