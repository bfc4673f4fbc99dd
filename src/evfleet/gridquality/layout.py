"""Charger layout of a fleet for the power-quality model: charger type, spectrum model, phase, reference power.

Units: power [kW]. Phases: slot 0..2 = L1..L3 for 1-phase chargers, 3 = all three phases.
The phase of a 1-phase session comes from, in order: the scenario field ``vehicles.phase`` (1, 2, 3 or L1-L3),
``SiteElectrical.phase_map`` (by session id or vehicle name), then ``SiteElectrical.phase_assignment``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError
from evfleet.gridquality.site import SiteElectrical

__all__ = ["FleetLayout", "fleet_layout"]


@dataclass(frozen=True, eq=False)
class FleetLayout:
    """Per session (N,): charger type name, spectrum model index, phase slot (0..2 = L1..L3 for 1-phase chargers,
    3 = all three phases), number of phases and reference power P_ref [kW] of the loading x = |p| / P_ref."""

    charger: np.ndarray
    model_names: tuple[str, ...]
    model_idx: np.ndarray
    slot: np.ndarray
    n_phases: np.ndarray
    p_ref_kw: np.ndarray


def _charger_names(scenario: Any, el: SiteElectrical) -> np.ndarray:
    v = scenario.vehicles
    n = len(v)
    types = el.charger_types
    if "charger" in v.extra:
        names = np.asarray(v.extra["charger"], dtype=object)
        known = np.isin(names.astype(str), np.asarray(list(types), dtype=str))
        if not known.all():
            i = int(np.flatnonzero(~known)[0])
            raise InputError(f"field 'vehicles.charger[{i}]' is not a known charger type; known: "
                             f"{', '.join(types)} (value {_py(names[i])!r})")  # fmt: skip
        return names
    if el.default_charger is not None:
        return np.full(n, el.default_charger, dtype=object)
    # No charger field: infer from the session's power limit (an assumption, documented).
    ac = sorted((ct.rated_kw, name) for name, ct in types.items() if ct.current == "AC")
    dc = sorted((ct.rated_kw, name) for name, ct in types.items() if ct.current == "DC")
    need = np.asarray(v.max_charge_kw, dtype=float) - 1e-9
    out = np.empty(n, dtype=object)
    todo = np.ones(n, dtype=bool)
    for ladder in (ac, dc):  # the smallest AC type that covers the limit, else the smallest DC type
        if not ladder:
            continue
        rated = np.array([r for r, _ in ladder])
        idx = np.searchsorted(rated, need, side="left")
        fits = todo & (idx < len(ladder))
        out[fits] = np.asarray([name for _, name in ladder], dtype=object)[idx[fits]]
        todo &= ~fits
    largest = max(((ct.rated_kw, name) for name, ct in types.items()))[1]
    out[todo] = largest
    return out


def _py(x: Any) -> Any:
    """A numpy scalar as a plain Python value (for error messages)."""
    return x.item() if hasattr(x, "item") else x


def _phase_slots(scenario: Any, el: SiteElectrical, single: np.ndarray, power_kw: np.ndarray) -> np.ndarray:
    """Phase slot 0..2 of each 1-phase session (``-1`` elsewhere): explicit data first, then the rule."""
    v = scenario.vehicles
    n = len(v)
    slot = np.full(n, -1, dtype=np.int64)
    if "phase" in v.extra:
        raw = np.asarray(v.extra["phase"])
        ok = np.isin(raw.astype(str), ["1", "2", "3", "L1", "L2", "L3"])
        if not ok[single].all():
            i = int(np.flatnonzero(single & ~ok)[0])
            raise InputError(f"field 'vehicles.phase[{i}]' must be 1, 2, 3 or L1-L3 (value {_py(raw[i])!r})")
        num = np.char.lstrip(raw.astype(str), "L")
        slot = np.where(single & ok, np.where(ok, num, "0").astype(np.int64) - 1, -1)
    if el.phase_map:
        ids = pd.Series(np.asarray(v.id, dtype=object))
        mapped = ids.map(el.phase_map)
        if "vehicle" in v.extra:
            mapped = mapped.fillna(pd.Series(np.asarray(v.extra["vehicle"], dtype=object)).map(el.phase_map))
        m = mapped.to_numpy(dtype=float, na_value=np.nan)
        use = single & np.isfinite(m)
        slot = np.where(use, np.nan_to_num(m, nan=1.0).astype(np.int64) - 1, slot)
    todo = np.flatnonzero(single & (slot < 0))
    if todo.size == 0:
        return slot
    rule = el.phase_assignment
    if rule == "single":
        slot[todo] = 0
    elif rule == "round_robin":
        slot[todo] = np.arange(todo.size) % 3
    else:  # balanced: greedy, largest energy first, onto the phase whose resulting peak is lowest (set-up only)
        load = np.zeros((3, power_kw.shape[1]))
        fixed = np.flatnonzero(single & (slot >= 0))
        for ph in range(3):
            load[ph] = np.abs(power_kw[fixed[slot[fixed] == ph]]).sum(axis=0)
        ap = np.abs(power_kw[todo])
        order = np.argsort(-ap.sum(axis=1), kind="stable")
        for j in order:  # one-off assignment over the 1-phase sessions, O(n1·T); not a per-step computation
            peak = (load + ap[j][None, :]).max(axis=1) + 1e-9 * load.sum(axis=1)
            ph = int(np.argmin(peak))
            load[ph] += ap[j]
            slot[todo[j]] = ph
    return slot


def fleet_layout(scenario: Any, el: SiteElectrical, power_kw: np.ndarray) -> FleetLayout:
    """Charger type, spectrum model, phase slot and reference power of every session."""
    types = el.charger_types
    names = _charger_names(scenario, el)
    uniq, inv = np.unique(names.astype(str), return_inverse=True)
    models = tuple(dict.fromkeys(types[u].model for u in uniq))
    model_of_type = np.array([models.index(types[u].model) for u in uniq], dtype=np.int64)
    nph_of_type = np.array([types[u].phases for u in uniq], dtype=np.int64)
    rated_of_type = np.array([types[u].rated_kw for u in uniq])
    ac_of_type = np.array([types[u].current == "AC" for u in uniq])
    nph = nph_of_type[inv] if len(uniq) else np.zeros(0, dtype=np.int64)
    rated = rated_of_type[inv] if len(uniq) else np.zeros(0)
    mc = np.asarray(scenario.vehicles.max_charge_kw, dtype=float)
    # AC: the vehicle's on-board charger is the converter, limited by the EVSE; DC: the off-board charger.
    p_ref = np.where(ac_of_type[inv] & (mc > 0), np.minimum(mc, rated), rated) if len(uniq) else np.zeros(0)
    single = nph == 1
    slot = np.where(single, _phase_slots(scenario, el, single, power_kw), 3)
    return FleetLayout(names, models, model_of_type[inv] if len(uniq) else np.zeros(0, dtype=np.int64), slot,
                       nph, p_ref)  # fmt: skip
