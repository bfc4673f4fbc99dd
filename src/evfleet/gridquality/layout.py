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
from functools import cache
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError
from evfleet.gridquality.site import SiteElectrical
from evfleet.inputs.catalog_sources import load_catalog_details
from evfleet.inputs.chargers import CHARGER_TYPE_SPECS, charger_layout

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


@cache
def _catalogue_phases() -> dict[str, tuple[int, bool]]:
    """``{model name (lower case): (ac_phases, sourced)}`` of the shipped catalogue."""
    cat = load_catalog_details()
    return {str(m).lower(): (int(ph), str(src) != "assumption")
            for m, ph, src in zip(cat["model"], cat["ac_phases"], cat["ac_phases_src"], strict=True)}  # fmt: skip


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
        table = _catalogue_phases()
        uniq, inv = np.unique(np.asarray(v.model, dtype=object).astype(str), return_inverse=True)
        found = [table.get(u.lower()) for u in uniq]  # one lookup per model name, not per session
        ph_u = np.array([3 if f is None else f[0] for f in found], dtype=np.int64)
        known_u = np.array([f is not None for f in found], dtype=bool)
        sourced_u = np.array([f is not None and f[1] for f in found], dtype=bool)
        n_known, n_sourced = int(known_u[inv].sum()), int(sourced_u[inv].sum())
        return ph_u[inv], (f"the catalogue's ac_phases of vehicles.model ({n_known} of {n} sessions found, "
                           f"{n_sourced} of them sourced, the others assumptions; unknown models: 3 phases, an "
                           "assumption)")  # fmt: skip
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


def _connectors(scenario: Any, el: SiteElectrical) -> Any:
    """The scenario's charger layout (:func:`evfleet.inputs.chargers.charger_layout`); when the sessions name
    charger types of the site model that the layout does not know (custom ``charger_types``) and there is no
    ``site.chargers``: one charger per session, 1-phase ones wired L1, L2, L3 by position (the same rotation)."""
    v = scenario.vehicles
    custom = "charger" in v.extra and not np.isin(np.asarray(v.extra["charger"], dtype=object).astype(str),
                                                  list(CHARGER_TYPE_SPECS)).all()  # fmt: skip
    if scenario.site_extra.get("chargers") is not None or not custom:
        return charger_layout(scenario)
    names = _charger_names(scenario, el)
    n = len(names)
    phases = np.array([el.charger_types[str(x)].phases for x in names], dtype=np.int64)
    rank = np.cumsum(phases == 1) - 1
    phase = np.where(phases == 1, np.array(["L1", "L2", "L3"], dtype=object)[rank % 3], "L123")
    return SimpleNamespace(charger_id=np.array([f"C{i + 1:03d}" for i in range(n)], dtype=object),
                           charger_type=names, rating_kw=np.array([el.charger_types[str(x)].rated_kw for x in names]),
                           phases=phases, phase=phase, session_connector=np.arange(n),
                           source="per session")  # fmt: skip


def _charger_positions(cl: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per connector (C,): index of its physical charger in creation order, and that index among the 3-phase
    chargers (the position the 3-phase rotation uses; -1 for 1-phase chargers)."""
    ids = np.asarray(cl.charger_id, dtype=object).astype(str)
    _, first, inv = np.unique(ids, return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first))  # charger index in order of first appearance
    charger_idx = rank[inv]
    three = np.asarray(cl.phases) == 3
    three_chargers = np.unique(charger_idx[three])
    pos3 = np.full(len(ids), -1, dtype=np.int64)
    if three_chargers.size:
        pos3[three] = np.searchsorted(three_chargers, charger_idx[three])
    return charger_idx.astype(np.int64), pos3


def fleet_layout(scenario: Any, el: SiteElectrical, power_kw: np.ndarray) -> FleetLayout:
    """Charger type, spectrum model, phase slot, reference power and charger position of every session.

    The connectors come from :func:`evfleet.inputs.chargers.charger_layout` (``site.chargers`` or the documented
    default layout): a session uses its connector's type when ``site.chargers`` is given, a 1-phase connector loads
    its wired phase (``phase_assignment`` ``wiring``, the default), and a 1-phase vehicle on a 3-phase AC charger
    is a 1-phase load (model ``ac_1ph`` when the charger's model is ``ac_3ph``) on the phase given by
    :func:`session_phase_slots` (rotation by the charger's position among the 3-phase chargers).
    ``position`` (N,) is the index of each session's physical charger (the LV feeders are assigned by it).
    """
    types = el.charger_types
    cl = _connectors(scenario, el)
    conn = np.asarray(cl.session_connector, dtype=np.int64)
    if cl.source == "scenario":
        names = np.asarray(cl.charger_type, dtype=object)[conn]
        known = np.isin(names.astype(str), np.asarray(list(types), dtype=str))
        if not known.all():
            i = int(np.flatnonzero(~known)[0])
            raise InputError(f"field 'site.chargers' type of session {i} is not a known charger type of the site "
                             f"model; known: {', '.join(types)} (value {_py(names[i])!r})")  # fmt: skip
    else:
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
    if cl.source == "scenario" and n:  # the connector's own power limit
        rated = np.minimum(rated, np.asarray(cl.rating_kw, dtype=float)[conn])
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
    charger_idx, pos3 = _charger_positions(cl)
    position = charger_idx[conn] if n else np.zeros(0, dtype=np.int64)
    conn_phases = np.asarray(cl.phases, dtype=np.int64)[conn] if n else np.zeros(0, dtype=np.int64)
    conn_phase = np.asarray(cl.phase, dtype=object)[conn].astype(str) if n else np.zeros(0, dtype=str)
    # the grid model's type decides the phases; the wiring of a connector of another kind is rotated by position
    wired_1 = np.where(conn_phases == 1, conn_phase, np.array(["L1", "L2", "L3"])[position % 3]) if n else conn_phase
    pos_rot = np.where(pos3[conn] >= 0, pos3[conn], position) if n else position
    wiring = session_phase_slots(np.where(nph_c == 1, 1, 3), np.where(nph_c == 1, wired_1, "L123"), pos_rot, onboard,
                                 is_ac, el.three_phase_rotation)  # fmt: skip
    single_c = nph_c == 1
    if el.phase_assignment == "wiring":
        explicit = _phase_slots(scenario, el, single_c, power_kw, explicit_only=True)
        slot = np.where(single_c & (explicit >= 0), explicit, wiring)
    else:
        slot = np.where(single_c, _phase_slots(scenario, el, single_c, power_kw), wiring)
    if single_vehicle.any():  # an explicit phase (vehicles.phase, phase_map) keeps priority
        explicit = _phase_slots(scenario, el, single_vehicle, power_kw, explicit_only=True)
        slot = np.where(single_vehicle & (explicit >= 0), explicit, slot)
    slot = np.where(nph == 1, slot, 3)
    return FleetLayout(names, models, model_idx, slot, nph, p_ref, onboard, onboard_src, position)
