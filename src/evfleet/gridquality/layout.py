"""Charger layout of a fleet for the power-quality model: charger type, spectrum model, phase, reference power.

Units: power [kW]. Phases: slot 0..2 = L1..L3 for 1-phase loads, 3 = all three phases.

A session loads one phase when its charger is 1-phase, or when its charger is 3-phase AC and the vehicle's own
on-board charger is 1-phase (``onboard_phases``: the scenario field ``vehicles.onboard_phases``, else the
catalogue's ``ac_phases`` of ``vehicles.model``, else 3, an assumption). Its phase comes from, in order: the
scenario field ``vehicles.phase`` (1, 2, 3 or L1-L3), ``SiteElectrical.phase_map`` (by session id or vehicle
name), then the wiring of its connector (:func:`session_phase_slots`) or ``SiteElectrical.phase_assignment``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError
from evfleet.gridquality.site import SiteElectrical

__all__ = ["FleetLayout", "fleet_layout", "onboard_phases", "session_phase_slots"]


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
    onboard_phases: np.ndarray | None = None
    onboard_source: str = ""
    position: np.ndarray | None = None


def onboard_phases(scenario: Any) -> tuple[np.ndarray, str]:
    """Phases (N,) of each session's on-board charger (1 or 3) and where they come from in words.

    ``vehicles.onboard_phases`` when the scenario has it; else the catalogue's ``ac_phases`` of
    ``vehicles.model`` (its status, sourced or assumption, is the catalogue's ``ac_phases_src``); else 3 (an
    assumption: a balanced three-phase on-board charger).
    """
    v = scenario.vehicles
    n = len(v)
    if "onboard_phases" in v.extra:
        raw = np.asarray(v.extra["onboard_phases"])
        ok = np.isin(raw.astype(str), ["1", "3", "1.0", "3.0"])
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            raise InputError(f"field 'vehicles.onboard_phases[{i}]' must be 1 or 3 (value {_py(raw[i])!r})")
        return raw.astype(float).astype(np.int64), "the scenario's vehicles.onboard_phases"
    if n:
        from evfleet.inputs.catalog_sources import load_catalog_details  # deferred: the catalogue costs a file read

        cat = load_catalog_details()
        by_name = dict(zip(cat["model"].str.lower(), cat["ac_phases"].astype(int), strict=True))
        src = dict(zip(cat["model"].str.lower(), cat["ac_phases_src"].astype(str), strict=True))
        names = pd.Series(np.asarray(v.model, dtype=object)).astype(str).str.lower()
        ph = names.map(by_name)
        n_known = int(ph.notna().sum())
        n_sourced = int(names.map(src).fillna("assumption").ne("assumption")[ph.notna()].sum())
        out = ph.fillna(3).to_numpy(dtype=np.int64)
        return out, (f"the catalogue's ac_phases of vehicles.model ({n_known} of {n} sessions found, {n_sourced} "
                     f"of them sourced, the others assumptions; unknown models: 3 phases, an assumption)")  # fmt: skip
    return np.full(n, 3, dtype=np.int64), "3 phases for every vehicle (an assumption: no model, no onboard_phases)"


def session_phase_slots(
    connector_phases: np.ndarray, connector_phase: np.ndarray, connector_position: np.ndarray,
    onboard: np.ndarray, is_ac: np.ndarray, rotate_three_phase: bool = True,
) -> np.ndarray:  # fmt: skip
    """Phase slot (N,) of every session from its connector's wiring: 0..2 = L1..L3 (a 1-phase load), 3 = balanced.

    ``connector_phases`` (N,) 1 or 3 and ``connector_phase`` (N,) ``L1``/``L2``/``L3``/``L123`` of the connector
    each session uses (the ``phases``/``phase`` of ``evfleet.inputs.chargers.ChargerLayout`` taken at
    ``session_connector``), ``connector_position`` (N,) the index of that connector's charger, ``onboard`` (N,)
    the vehicle's on-board charger phases, ``is_ac`` (N,). A 1-phase connector loads its wired phase; a 3-phase AC
    connector with a 1-phase vehicle loads one phase only: the connector's first conductor, which is site L1, or
    with ``rotate_three_phase`` (the default wiring rule) L(k mod 3 + 1) for the charger at position k; anything
    else (3-phase vehicle on 3-phase AC, DC) is balanced.
    """
    ph = np.asarray(connector_phase).astype(str)
    wired = np.char.startswith(ph, "L") & (np.char.str_len(ph) == 2)
    wired_slot = np.where(wired, np.char.lstrip(np.where(wired, ph, "L1"), "L").astype(np.int64) - 1, 0)
    one_conn = np.asarray(connector_phases) == 1
    single_vehicle = np.asarray(is_ac, dtype=bool) & (np.asarray(onboard) == 1) & ~one_conn
    rot = np.asarray(connector_position, dtype=np.int64) % 3 if rotate_three_phase else 0
    return np.where(one_conn, wired_slot, np.where(single_vehicle, rot, 3)).astype(np.int64)


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


def _phase_slots(scenario: Any, el: SiteElectrical, single: np.ndarray, power_kw: np.ndarray,
                 explicit_only: bool = False) -> np.ndarray:  # fmt: skip
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
    if todo.size == 0 or explicit_only:
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
    """Charger type, spectrum model, phase slot and reference power of every session.

    A 1-phase vehicle on a 3-phase AC charger is a 1-phase load (model ``ac_1ph`` when the charger's model is
    ``ac_3ph``) on the phase given by :func:`session_phase_slots`: its charger's position among the 3-phase AC
    sessions (one charger per session until a charger layout is given) rotates L1, L2, L3.
    """
    types = el.charger_types
    names = _charger_names(scenario, el)
    n = len(names)
    uniq, inv = np.unique(names.astype(str), return_inverse=True)
    onboard, onboard_src = onboard_phases(scenario)
    nph_of_type = np.array([types[u].phases for u in uniq], dtype=np.int64)
    rated_of_type = np.array([types[u].rated_kw for u in uniq])
    ac_of_type = np.array([types[u].current == "AC" for u in uniq])
    nph_c = nph_of_type[inv] if len(uniq) else np.zeros(0, dtype=np.int64)
    is_ac = ac_of_type[inv] if len(uniq) else np.zeros(0, dtype=bool)
    rated = rated_of_type[inv] if len(uniq) else np.zeros(0)
    model_c = np.array([types[u].model for u in uniq], dtype=object)[inv] if len(uniq) else np.zeros(0, dtype=object)
    single_vehicle = is_ac & (nph_c == 3) & (onboard == 1)
    # the on-board charger is the converter: a 1-phase vehicle's spectrum is that of a 1-phase on-board charger
    model_s = np.where(single_vehicle & (model_c == "ac_3ph") & ("ac_1ph" in el.spectra()), "ac_1ph", model_c)
    models = tuple(dict.fromkeys(model_s.tolist()))
    model_idx = np.array([models.index(m) for m in model_s], dtype=np.int64) if n else np.zeros(0, dtype=np.int64)
    nph = np.where(single_vehicle, 1, nph_c).astype(np.int64)
    mc = np.asarray(scenario.vehicles.max_charge_kw, dtype=float)
    # AC: the vehicle's on-board charger is the converter, limited by the EVSE; DC: the off-board charger.
    p_ref = np.where(is_ac & (mc > 0), np.minimum(mc, rated), rated) if n else np.zeros(0)
    # position of each session's charger among the 3-phase AC ones (one charger per session, in session order)
    three_ac = is_ac & (nph_c == 3)
    position = np.where(three_ac, np.cumsum(three_ac) - 1, np.arange(n))
    wiring = session_phase_slots(nph_c, np.full(n, "L123"), position, onboard, is_ac, el.three_phase_rotation)
    single = nph == 1
    slot = np.where(nph_c == 1, _phase_slots(scenario, el, nph_c == 1, power_kw), wiring)
    if single_vehicle.any():  # an explicit phase (vehicles.phase, phase_map) keeps priority
        explicit = _phase_slots(scenario, el.with_changes(phase_assignment="single"), single_vehicle, power_kw,
                                explicit_only=True)  # fmt: skip
        slot = np.where(single_vehicle & (explicit >= 0), explicit, slot)
    slot = np.where(single, slot, 3)
    return FleetLayout(names, models, model_idx, slot, nph, p_ref, onboard, onboard_src, np.arange(n))
