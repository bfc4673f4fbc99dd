"""Say when a strategy has nothing to do on a scenario: its lever never binds, so any saving is its tie-breaker's.

Units: power [kW]. Each check reads the scenario and the strategy's own run and returns the reason as one
sentence, or ``None`` when the lever binds (``docs/strategies.md``, "Nothing to do"):

* ``load_balancing`` shares the import limit; if its run never reaches the limit (site import always more than
  ``LIMIT_TOL_KW`` below ``import_limit_kw``), every vehicle got its full demand at every step: it charged exactly
  as ``uncontrolled`` does.
* ``renewable_integration`` moves charging into PV surplus; if no step has both a PV surplus (PV above the base
  load) and a connected vehicle, there is nothing to move (no surplus at all, or no vehicle connected while there
  is one, e.g. at the PV peak), and it minimises the same total import as any schedule.

Other strategies have no check (``None``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from evfleet._common.tolerances import POWER_EPS_KW
from evfleet.simulation.simulate import RunResult

__all__ = ["LEVER_CHECKS", "LIMIT_TOL_KW", "nothing_to_do"]

#: A site import within this of the import limit counts as reaching it [kW].
LIMIT_TOL_KW = 1e-3


def _load_balancing(result: RunResult) -> str | None:
    sc = result.scenario
    peak = float(np.max(result.site_kw)) if result.site_kw.size else 0.0
    if peak < sc.import_limit_kw - LIMIT_TOL_KW:
        return (
            f"the import limit ({sc.import_limit_kw:,.0f} kW) is never reached (peak import {peak:,.0f} kW): "
            "every vehicle charges at full power, as uncontrolled"
        )
    return None


def _renewable_integration(result: RunResult) -> str | None:
    sc = result.scenario
    v = sc.vehicles
    surplus = sc.pv_kw > sc.base_load_kw + POWER_EPS_KW
    t = np.arange(sc.n_steps)
    # vehicles connected per step, from the sessions' [arrival, departure) intervals (no n x T array)
    connected = np.cumsum(np.bincount(v.arrival_step, minlength=sc.n_steps + 1)[: sc.n_steps]) - np.cumsum(
        np.bincount(np.minimum(v.departure_step, sc.n_steps), minlength=sc.n_steps + 1)[: sc.n_steps]
    )
    if not surplus.any():
        return "no PV surplus: PV never exceeds the base load, so there is no surplus to move charging into"
    if not (surplus & (connected[t] > 0)).any():
        peak = int(np.argmax(sc.pv_kw))
        return (
            f"no vehicle is connected while PV exceeds the base load (PV peak at {sc.times[peak]:%H:%M}, "
            f"{int(connected[peak])} connected)"
        )
    return None


#: strategy name -> its check.
LEVER_CHECKS: dict[str, Callable[[RunResult], str | None]] = {
    "load_balancing": _load_balancing,
    "renewable_integration": _renewable_integration,
}


def nothing_to_do(strategy: str, result: RunResult) -> str | None:
    """Why ``strategy`` has nothing to do on ``result``'s scenario (one sentence), or ``None`` if its lever binds."""
    check = LEVER_CHECKS.get(strategy)
    return None if check is None else check(result)
