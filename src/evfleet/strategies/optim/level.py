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
  Imaging Sci. 2 (2009)), vectorised over all (vehicle, window) pairs, in the metric scaled by the number of
  moving entries of each column (the step ``1 / count_t`` of each entry: ``A D A' = I`` for the column-sum map
  ``A``, so the scaled step is a valid majoriser; the plain step ``1 / max_t count_t`` is the slowest column's),
  started from the even spread of each pair's energy over its columns (projected); each projection onto
  ``{0 <= x <= u, sum x = E}`` is ``clip(y - mu d, 0, u)``, its multiplier ``mu`` per pair found by a safeguarded
  Newton iteration on the piecewise-linear sum (exact once on the root's segment; warm-started from the previous
  iteration's ``mu``; the exact sort of the breakpoints, :func:`project_box_sum`, for any pair it has not solved
  in ``NEWTON_STEPS``).

Every window's import stays > = 0, the largest import (with a kVA demand: the apparent power of every
column) does not rise and no column goes above the site's import limit (checked; a window breaking any of these
keeps the LP's schedule), so the energy cost ``price·sum imp·dt`` of each window, the called power (overrun),
the export revenue, the degradation and every vehicle's energy are exactly the LP's: the bill stays optimal. The
levelled load is the secondary objective, not proven optimal (a heuristic tie-break, bounded by
``iterations``, stopped early at a fixed point; measured no worse than 30 plain-step iterations from the LP's
schedule, docs/benchmarks.md).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from evfleet.problem import ChargingProblem
from evfleet.strategies.optim.highs import Solution
from evfleet.strategies.optim.model import col_dt

__all__ = ["flat_windows", "level_flat_periods", "project_box_sum", "project_box_sum_newton"]

#: Newton steps of :func:`project_box_sum_newton` before the exact sort takes over the unsolved pairs.
NEWTON_STEPS = 30
#: Relative sum error under which a pair's projection is solved [-] (of ``max(E, 1)``).
SUM_RTOL = 1e-12


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


def project_box_sum(
    y: np.ndarray, u: np.ndarray, g: np.ndarray, target: np.ndarray, n_groups: int, w: np.ndarray | None = None
) -> np.ndarray:
    """Per group g: the exact projection ``clip(y - mu_g w, 0, u)`` that sums to ``target[g]`` (0 <= target <= Σu;
    weights ``w`` > 0, 1 by default).

    The group sum ``f(mu)`` is piecewise linear and decreasing, with breakpoints ``(y - u) / w`` (an entry leaves
    its cap) and ``y / w`` (it reaches 0): one sort of all breakpoints by (group, value), then ``f`` at every
    breakpoint by cumulative sums, and the root by linear interpolation on its segment.
    """
    m = len(y)
    if w is None:
        b = np.concatenate([y - u, y])
        d = np.concatenate([np.ones(m), -np.ones(m)])  # free weight gained at each breakpoint
    else:
        b = np.concatenate([(y - u) / w, y / w])
        d = np.concatenate([w, -w])
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
    # weights summed by cumsum leave ~1e-17 where no entry is free (counts of 1 are exact): that is no slope
    has_slope = slope > (0.0 if w is None else 1e-9 * float(np.max(w, initial=1.0)))
    mu = b[k] + np.where(has_slope, (f_at[k] - target) / np.where(has_slope, slope, 1.0), 0.0)
    return np.clip(y - mu[g] if w is None else y - mu[g] * w, 0.0, u)


def project_box_sum_newton(
    y: np.ndarray, w: np.ndarray, u: np.ndarray, starts: np.ndarray, target: np.ndarray, mu: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`project_box_sum` with weights ``w`` for groups stored contiguously (group k: entries
    ``starts[k]`` to ``starts[k + 1] - 1``), by a safeguarded Newton iteration on each group's ``mu`` from the
    guess ``mu`` (n_groups,): the Newton step of the piecewise-linear sum, bisection of the bracket where that
    step leaves it or has no slope. Each step works on the groups not yet solved only (after the first step from
    a warm ``mu`` a few per cent of them). Returns ``(x, mu)``; a group not within ``SUM_RTOL`` after
    ``NEWTON_STEPS`` steps is projected by the exact sort."""
    counts = np.diff(np.r_[starts, len(y)])
    lo = np.minimum.reduceat((y - u) / w, starts)  # f(lo) = sum u - E >= 0
    hi = np.maximum.reduceat(y / w, starts)  # f(hi) = -E <= 0
    mu = np.clip(mu, lo, hi)
    tol = SUM_RTOL * np.maximum(target, 1.0)
    x = np.empty_like(y)
    # the unsolved groups (ids ``grp``) and their entries (``ent``), compacted after every step
    grp, ent = np.arange(len(starts)), np.arange(len(y))
    ya, wa, ua, ca, sa, ta, tola, la, ha, ma = y, w, u, counts, starts, target, tol, lo, hi, mu
    for _ in range(NEWTON_STEPS):
        z = ya - np.repeat(ma, ca) * wa
        xa = np.clip(z, 0.0, ua)
        f = np.add.reduceat(xa, sa) - ta
        done = np.abs(f) <= tola
        if done.all():
            x[ent] = xa
            mu[grp] = ma
            return x, mu
        slope = np.add.reduceat(np.where((z > 0.0) & (z < ua), wa, 0.0), sa)
        la = np.where(f > 0.0, ma, la)
        ha = np.where(f < 0.0, ma, ha)
        step = ma + f / np.where(slope > 0.0, slope, 1.0)
        bisect = (slope <= 0.0) | (step <= la) | (step >= ha)
        if done.any():
            done_e = np.repeat(done, ca)
            x[ent[done_e]] = xa[done_e]
            mu[grp[done]] = ma[done]
            keep, keep_e = ~done, ~done_e
            grp, ent = grp[keep], ent[keep_e]
            ya, wa, ua, ca, ta, tola = ya[keep_e], wa[keep_e], ua[keep_e], ca[keep], ta[keep], tola[keep]
            sa = np.r_[0, np.cumsum(ca)[:-1]]
            la, ha, step, bisect = la[keep], ha[keep], step[keep], bisect[keep]
        ma = np.where(bisect, 0.5 * (la + ha), step)
    # the exact sort for the groups still unsolved
    sub_g = np.repeat(np.arange(len(grp)), ca)
    x[ent] = project_box_sum(ya, ua, sub_g, ta, len(grp), wa)
    mu[grp] = ma
    return x, mu


def level_flat_periods(
    problem: ChargingProblem,
    model_upper_ch: np.ndarray,
    sol: Solution,
    iterations: int = 20,
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
    cols = np.flatnonzero(in_win)
    new_win = np.r_[True, wid[cols][1:] != wid[cols][:-1]]
    n_win = int(new_win.sum())
    w_safe = np.zeros(H, dtype=np.int64)  # compact window index per column (0 outside: masked by in_win)
    w_safe[cols] = np.cumsum(new_win) - 1
    w_first = np.flatnonzero(new_win)  # windows are runs of columns: sums per window by reduceat
    dis_in = np.add.reduceat(dis[:, cols], w_first, axis=1)
    ch_in = np.add.reduceat(ch[:, cols], w_first, axis=1)
    movable_pair = (dis_in <= 1e-9) & ~tapered[:, None] & (ch_in > 1e-9)
    vi, tt = np.nonzero((model_upper_ch > 1e-12) & in_win[None, :])
    keep = movable_pair[vi, w_safe[tt]]
    vi, tt = vi[keep], tt[keep]
    if vi.size == 0:
        return sol
    pair = vi * n_win + w_safe[tt]  # sorted: np.nonzero lists by vehicle, then column (windows increase)
    new_pair = np.r_[True, pair[1:] != pair[:-1]]
    starts = np.flatnonzero(new_pair)  # each pair's entries are contiguous
    counts = np.diff(np.r_[starts, len(pair)])
    u = model_upper_ch[vi, tt]
    x0 = ch[vi, tt]
    target = np.add.reduceat(x0, starts)
    site0 = sol.import_kw - sol.export_kw
    fixed = site0 - np.bincount(tt, x0, minlength=H)  # the load that does not move [kW]
    step = 1.0 / np.bincount(tt, minlength=H)[tt]  # per entry: 1 / moving entries of its column (module docstring)
    x, mu = project_box_sum_newton(np.repeat(target / counts, counts), step, u, starts, target, np.zeros(len(starts)))
    x_prev, k_momentum = x.copy(), 1.0
    for _ in range(iterations):
        k_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * k_momentum**2))
        y = x + ((k_momentum - 1.0) / k_next) * (x - x_prev)
        total = fixed + np.bincount(tt, y, minlength=H)
        x_prev = x
        x, mu = project_box_sum_newton(y - step * total[tt], step, u, starts, target, mu)
        k_momentum = k_next
        if np.max(np.abs(x - x_prev)) <= 1e-12:  # a fixed point (e.g. the even spread is already level)
            break
    site = fixed + np.bincount(tt, x, minlength=H)
    # every window keeps importing and no column rises above the LP's largest import
    cap = float(np.max(sol.import_kw, initial=0.0)) if import_cap_kw is None else np.asarray(import_cap_kw)
    # nor above the site's import limit (where the LP's own import is above it, the base load alone: not above that)
    cap = np.minimum(cap, np.maximum(problem.import_limit_kw, sol.import_kw)) + 1e-6
    bad_col = in_win & ((site < -1e-9) | (site > cap))
    bad_win = np.unique(w_safe[bad_col])
    if bad_win.size:
        back = np.isin(w_safe[tt], bad_win)
        x[back] = x0[back]
        site = fixed + np.bincount(tt, x, minlength=H)
    new_ch = ch.copy()
    new_ch[vi, tt] = x
    imp = np.where(in_win, np.maximum(site, 0.0), sol.import_kw)
    active = sol.site_active & (imp >= sol.import_kw - 1e-6)  # at the limit before and still there
    return dataclasses.replace(sol, charge_kw=new_ch, power_kw=new_ch - dis, import_kw=imp, site_active=active)
