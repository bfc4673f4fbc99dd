"""Edits of single sessions of a scenario: departure, target SOC and priority (the dashboard's vehicle table).

Units: steps of the scenario (a session is connected for ``arrival_step <= t < departure_step``), SOC fraction 0-1.
``priority`` is an integer 1 (highest) to 5 kept in the scenario file as the per-session field ``vehicles.priority``
(default 3 for sessions not edited); no strategy uses it yet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from evfleet._common.errors import InputError
from evfleet.scenario import Scenario, scenario_from_dict

__all__ = ["DEFAULT_PRIORITY", "PRIORITIES", "edit_sessions", "session_priority"]

PRIORITIES = (1, 2, 3, 4, 5)
DEFAULT_PRIORITY = 3


def session_priority(scenario: Scenario) -> np.ndarray:
    """Priority of each session (N,): ``vehicles.priority`` or :data:`DEFAULT_PRIORITY`."""
    v = scenario.vehicles
    if "priority" in v.extra:
        return np.asarray(v.extra["priority"], dtype=np.int64)
    return np.full(len(v), DEFAULT_PRIORITY, dtype=np.int64)


def edit_sessions(scenario: Scenario, edits: Sequence[Mapping[str, Any]]) -> Scenario:
    """A validated copy of ``scenario`` with the edits applied.

    Each edit is ``{"id": session id, "departure_step"?: int, "soc_target"?: float, "priority"?: int}``. Raises
    :class:`InputError` naming the session, field and value: an unknown id, a departure not after the arrival or
    beyond the horizon, a target outside ``0``-``soc_max`` of the session, a priority outside 1-5.
    """
    v = scenario.vehicles
    index = {str(x): i for i, x in enumerate(v.id)}
    dep = np.asarray(v.departure_step, dtype=np.int64).copy()
    target = np.asarray(v.soc_target, dtype=float).copy()
    prio = session_priority(scenario).copy()
    touched_priority = "priority" in v.extra
    for e in edits:
        sid = str(e.get("id"))
        if sid not in index:
            raise InputError(f"field 'vehicles.id' has no session {sid!r}")
        i = index[sid]
        if "departure_step" in e and e["departure_step"] is not None:
            d = e["departure_step"]
            if isinstance(d, bool) or not float(d).is_integer():
                raise InputError(f"field 'vehicles.departure_step' of session {sid} must be a step index (value {d!r})")
            d = int(d)
            if not int(v.arrival_step[i]) < d <= scenario.n_steps:
                raise InputError(
                    f"field 'vehicles.departure_step' of session {sid} must be after its arrival (step "
                    f"{int(v.arrival_step[i])}) and at most {scenario.n_steps} (value {d})"
                )
            dep[i] = d
        if "soc_target" in e and e["soc_target"] is not None:
            s = float(e["soc_target"])
            if not (np.isfinite(s) and 0.0 <= s <= float(v.soc_max[i])):
                raise InputError(
                    f"field 'vehicles.soc_target' of session {sid} must be within 0-{float(v.soc_max[i]):g} "
                    f"(its soc_max) (value {e['soc_target']!r})"
                )
            target[i] = s
        if "priority" in e and e["priority"] is not None:
            p = e["priority"]
            if isinstance(p, bool) or not float(p).is_integer() or int(p) not in PRIORITIES:
                raise InputError(f"field 'vehicles.priority' of session {sid} must be an integer 1-5 (value {p!r})")
            prio[i] = int(p)
            touched_priority = True
    data = scenario.to_dict()
    data["vehicles"]["departure_step"] = dep.tolist()
    data["vehicles"]["soc_target"] = target.tolist()
    if touched_priority:
        data["vehicles"]["priority"] = prio.tolist()
    try:
        return scenario_from_dict(data, origin="edited scenario")
    except ValueError as exc:
        raise InputError(str(exc)) from None
