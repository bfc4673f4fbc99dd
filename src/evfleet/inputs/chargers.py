"""Charger identities of a depot: which connector (charger id, connector, type, rating, phase) each session uses.

One row per connector. A scenario describes its chargers in ``site.chargers`` (a list of objects) and the connector of
each session in ``vehicles.charger_id`` (``"C001"`` or ``"C001/2"``); both are optional (``docs/model.md``,
"Chargers"). Without ``site.chargers`` the layout is derived (``source == "default"``):

- sessions sorted by arrival (ties by their order in the file) are assigned to the first connector, in creation
  order, of their charger type and bidirectional capability that is free, i.e. whose previous session departed at or
  before this arrival; a new charger (one connector) is created when none is free, numbered ``C001``, ``C002``, ...;
- a session's charger type is its ``vehicles.charger`` field, else the smallest AC type whose rating covers its
  ``max_charge_kw``, else the smallest DC type covering it, else the largest type (an assumption);
- 1-phase connectors get their phase by position in the rotation L1, L2, L3, L1, ... (the k-th 1-phase connector,
  counting from 0, gets ``L{k mod 3 + 1}``); 3-phase connectors are ``L123``.

With ``site.chargers`` and no ``vehicles.charger_id``, sessions are assigned the same way to the given connectors
(never creating one); a session that finds no free connector is refused. Two sessions on the same connector must not
overlap in time. Units: power [kW]; times are step indices (a session is connected for ``arrival <= t < departure``).
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from evfleet._common.errors import InputError
from evfleet.scenario import Scenario
from evfleet.scenario_schema import MAX_TEXT_CHARS

__all__ = ["CHARGER_KEYS", "CHARGER_TYPE_SPECS", "ChargerLayout", "charger_layout", "charger_type_for_power"]

#: Charger types: name -> (rated power [kW], current, phases). IEC 61851 mode 3 (AC) and mode 4 (DC). The same
#: names as :data:`evfleet.inputs.generate.CHARGER_TYPES`.
CHARGER_TYPE_SPECS: dict[str, tuple[float, str, int]] = {
    "ac7.4": (7.4, "AC", 1),
    "ac11": (11.0, "AC", 3),
    "ac22": (22.0, "AC", 3),
    "dc50": (50.0, "DC", 3),
    "dc150": (150.0, "DC", 3),
}
#: Keys of one ``site.chargers`` object (``charger_id`` and ``type`` required).
CHARGER_KEYS = ("charger_id", "connector", "type", "rating_kw", "phase", "bidirectional")
_PHASES_1 = ("L1", "L2", "L3")
_MAX_CONNECTORS = 100_000


@dataclass(frozen=True, eq=False)
class ChargerLayout:
    """Connectors of a depot (C rows) and the connector of each session (N,).

    ``charger_id`` (str), ``connector`` (int >= 1), ``charger_type`` (str), ``rating_kw`` [kW] (> 0), ``phases``
    (1 or 3), ``phase`` (``L1``/``L2``/``L3`` for 1-phase, ``L123`` for 3-phase), ``bidirectional`` (bool);
    ``session_connector`` (N,) row index; ``source`` ``"scenario"`` or ``"default"``.
    """

    charger_id: np.ndarray
    connector: np.ndarray
    charger_type: np.ndarray
    rating_kw: np.ndarray
    phases: np.ndarray
    phase: np.ndarray
    bidirectional: np.ndarray
    session_connector: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.charger_id)

    def connector_label(self) -> np.ndarray:
        """``"C001/1"`` per connector (C,)."""
        return np.array([f"{c}/{k}" for c, k in zip(self.charger_id, self.connector, strict=True)], dtype=object)

    def session_phase(self) -> np.ndarray:
        """Phase of the connector each session uses (N,): ``L1``/``L2``/``L3`` or ``L123``."""
        return self.phase[self.session_connector]

    def to_records(self) -> list[dict[str, Any]]:
        """One object per connector with the keys of ``site.chargers`` (what a scenario file holds)."""
        return [
            {
                "charger_id": str(self.charger_id[i]),
                "connector": int(self.connector[i]),
                "type": str(self.charger_type[i]),
                "rating_kw": float(self.rating_kw[i]),
                "phase": str(self.phase[i]),
                "bidirectional": bool(self.bidirectional[i]),
            }
            for i in range(len(self))
        ]


def charger_type_for_power(max_charge_kw: np.ndarray) -> np.ndarray:
    """The smallest AC type covering each power [kW], else the smallest DC type, else the largest type (N,)."""
    need = np.asarray(max_charge_kw, dtype=float) - 1e-9
    out = np.full(need.shape, max(CHARGER_TYPE_SPECS, key=lambda k: CHARGER_TYPE_SPECS[k][0]), dtype=object)
    todo = np.ones(need.shape, dtype=bool)
    for current in ("AC", "DC"):
        ladder = sorted((spec[0], name) for name, spec in CHARGER_TYPE_SPECS.items() if spec[1] == current)
        rated = np.array([r for r, _ in ladder])
        idx = np.searchsorted(rated, need, side="left")
        fits = todo & (idx < len(ladder))
        out[fits] = np.array([name for _, name in ladder], dtype=object)[idx[fits]]
        todo &= ~fits
    return out


def _bad(field: str, value: Any, what: str) -> InputError:
    shown = value if not isinstance(value, str) else value[:80]
    return InputError(f"field '{field}' {what} (value {shown!r})")


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT_CHARS or not value.isprintable():
        raise _bad(field, value, f"must be a non-empty text of at most {MAX_TEXT_CHARS} characters")
    if "/" in value:
        raise _bad(field, value, "must not contain '/' (it separates the charger id from the connector)")
    return value


def _session_types(scenario: Scenario) -> np.ndarray:
    v = scenario.vehicles
    if "charger" in v.extra:
        names = np.asarray(v.extra["charger"], dtype=object).astype(str)
        known = np.isin(names, list(CHARGER_TYPE_SPECS))
        if not known.all():
            i = int(np.flatnonzero(~known)[0])
            raise _bad(f"vehicles.charger[{i}]", names[i], f"is not a known charger type; known: "
                       f"{', '.join(CHARGER_TYPE_SPECS)}")  # fmt: skip
        return names.astype(object)
    return charger_type_for_power(v.max_charge_kw)


def _session_bidi(scenario: Scenario) -> np.ndarray:
    v = scenario.vehicles
    if "bidirectional_charger" not in v.extra:
        return np.zeros(len(v), dtype=bool)
    raw = np.asarray(v.extra["bidirectional_charger"], dtype=object)
    ok = np.array([isinstance(x, bool | np.bool_) for x in raw], dtype=bool)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise _bad(f"vehicles.bidirectional_charger[{i}]", raw[i], "must be true or false")
    return raw.astype(bool)


def _read_chargers(raw: Any) -> dict[str, np.ndarray]:
    """Validate ``site.chargers`` and return its columns (phases of 1-phase rows without one: rotation)."""
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes) or not raw:
        raise _bad("site.chargers", raw if not isinstance(raw, list) else "[]", "must be a non-empty list of objects")
    if len(raw) > _MAX_CONNECTORS:
        raise _bad("site.chargers", len(raw), f"must hold at most {_MAX_CONNECTORS} connectors")
    cols: dict[str, list[Any]] = {k: [] for k in CHARGER_KEYS}
    seen: set[tuple[str, int]] = set()
    for i, row in enumerate(raw):
        where = f"site.chargers[{i}]"
        if not isinstance(row, Mapping):
            raise _bad(where, row, "must be an object")
        unknown = sorted(set(row) - set(CHARGER_KEYS))
        if unknown:
            raise _bad(
                f"{where}.{unknown[0]}", row[unknown[0]], f"is not a known key; known: {', '.join(CHARGER_KEYS)}"
            )
        if "charger_id" not in row:
            raise InputError(f"field '{where}.charger_id' is required")
        cid = _text(row["charger_id"], f"{where}.charger_id")
        conn = row.get("connector", 1)
        if isinstance(conn, bool) or not isinstance(conn, int | np.integer) or not 1 <= conn <= 1000:
            raise _bad(f"{where}.connector", conn, "must be an integer from 1 to 1000")
        if (cid, int(conn)) in seen:
            raise _bad(f"{where}", f"{cid}/{conn}", "repeats a charger_id/connector given before")
        seen.add((cid, int(conn)))
        if "type" not in row:
            raise InputError(f"field '{where}.type' is required; known: {', '.join(CHARGER_TYPE_SPECS)}")
        ctype = row["type"]
        if not isinstance(ctype, str) or ctype not in CHARGER_TYPE_SPECS:
            raise _bad(f"{where}.type", ctype, f"is not a known charger type; known: {', '.join(CHARGER_TYPE_SPECS)}")
        rated, _, nph = CHARGER_TYPE_SPECS[ctype]
        rating = row.get("rating_kw", rated)
        if isinstance(rating, bool) or not isinstance(rating, int | float) or not (0 < float(rating) < 1e5):
            raise _bad(f"{where}.rating_kw", rating, "must be a finite number of kW above 0 (and below 100000)")
        phase = row.get("phase")
        if nph == 1:
            if phase is not None and phase not in _PHASES_1:
                raise _bad(f"{where}.phase", phase, "must be L1, L2 or L3 for a 1-phase charger")
        elif phase not in (None, "L123"):
            raise _bad(f"{where}.phase", phase, f"must be L123 (or absent) for the 3-phase type {ctype}")
        bidi = row.get("bidirectional", False)
        if not isinstance(bidi, bool):
            raise _bad(f"{where}.bidirectional", bidi, "must be true or false")
        for key, val in zip(CHARGER_KEYS, (cid, int(conn), ctype, float(rating), phase, bidi), strict=True):
            cols[key].append(val)
    out = {
        "charger_id": np.array(cols["charger_id"], dtype=object),
        "connector": np.array(cols["connector"], dtype=np.int64),
        "charger_type": np.array(cols["type"], dtype=object),
        "rating_kw": np.array(cols["rating_kw"], dtype=float),
        "bidirectional": np.array(cols["bidirectional"], dtype=bool),
    }
    out["phases"] = np.array([CHARGER_TYPE_SPECS[t][2] for t in out["charger_type"]], dtype=np.int64)
    out["phase"] = _phases(out["phases"], np.array(cols["phase"], dtype=object))
    return out


def _phases(phases: np.ndarray, given: np.ndarray | None = None) -> np.ndarray:
    """Phase of each connector: the given one, else the rotation L1, L2, L3 by position among 1-phase rows."""
    single = phases == 1
    rank = np.cumsum(single) - 1
    rotation = np.array(_PHASES_1, dtype=object)[rank % 3]
    out = np.where(single, rotation, "L123").astype(object)
    if given is not None:
        keep = single & np.array([g is not None for g in given], dtype=bool)
        out[keep] = given[keep]
    return out


def _assign_explicit(scenario: Scenario, cols: Mapping[str, np.ndarray]) -> np.ndarray:
    """Connector row of each session from ``vehicles.charger_id`` (``C001`` or ``C001/2``)."""
    v = scenario.vehicles
    raw = np.asarray(v.extra["charger_id"], dtype=object)
    index = {(str(c), int(k)): i for i, (c, k) in enumerate(zip(cols["charger_id"], cols["connector"], strict=True))}
    by_charger: dict[str, list[int]] = {}
    for (c, _), i in index.items():
        by_charger.setdefault(c, []).append(i)
    out = np.full(len(v), -1, dtype=np.int64)
    order = np.lexsort((np.arange(len(v)), np.asarray(v.arrival_step)))
    free_at = np.full(len(cols["charger_id"]), np.iinfo(np.int64).min, dtype=np.int64)
    last = np.full(len(cols["charger_id"]), -1, dtype=np.int64)
    arr, dep = np.asarray(v.arrival_step), np.asarray(v.departure_step)
    for s in order:  # one-off set-up over sessions (not a per-step computation)
        text = str(raw[s])
        cid, _, conn = text.partition("/")
        if cid not in by_charger:
            raise _bad(f"vehicles.charger_id[{s}]", text, "names no charger of site.chargers")
        if conn:
            if not conn.isdigit() or (cid, int(conn)) not in index:
                raise _bad(f"vehicles.charger_id[{s}]", text, "names no connector of site.chargers")
            rows = [index[(cid, int(conn))]]
        else:
            rows = by_charger[cid]
        free = [r for r in rows if free_at[r] <= arr[s]]
        if not free:
            r = rows[0]
            other = v.id[last[r]]
            raise _bad(f"vehicles.charger_id[{s}]", text, f"is still in use by session {other!r} when session "
                       f"{v.id[s]!r} arrives at step {int(arr[s])}")  # fmt: skip
        out[s] = free[0]
        free_at[free[0]], last[free[0]] = dep[s], s
    return out


class _Pool:
    """Connectors of one (type, bidirectional) key: a heap of free rows (lowest row first) and of busy ones."""

    def __init__(self) -> None:
        self.free: list[int] = []
        self.busy: list[tuple[int, int]] = []  # (free_at step, row)

    def take(self, arrival: int) -> int:
        while self.busy and self.busy[0][0] <= arrival:
            heapq.heappush(self.free, heapq.heappop(self.busy)[1])
        return heapq.heappop(self.free) if self.free else -1


def _assign_greedy(
    scenario: Scenario, types: np.ndarray, bidi: np.ndarray, cols: dict[str, Any] | None
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """First free connector of the session's type and capability; create chargers when ``cols`` is None."""
    v = scenario.vehicles
    arr, dep = np.asarray(v.arrival_step), np.asarray(v.departure_step)
    order = np.lexsort((np.arange(len(v)), arr))
    creating = cols is None
    c_type: list[str] = [] if creating else [str(t) for t in cols["charger_type"]]
    c_bidi: list[bool] = [] if creating else [bool(b) for b in cols["bidirectional"]]
    pools: dict[tuple[str, bool], _Pool] = {}
    for row, key in enumerate(zip(c_type, c_bidi, strict=True)):
        heapq.heappush(pools.setdefault(key, _Pool()).free, row)
    out = np.full(len(v), -1, dtype=np.int64)
    for s in order:  # one-off set-up over sessions, O(N log N) (not a per-step computation)
        a = int(arr[s])
        key = (str(types[s]), bool(bidi[s]))
        pool = pools.setdefault(key, _Pool())
        row = pool.take(a)
        if row < 0 and not creating:  # a given layout: any free connector of the type, then any free connector
            for other in (k for k in pools if k[0] == key[0] and k != key), (k for k in pools if k[0] != key[0]):
                for k in sorted(other):
                    row = pools[k].take(a)
                    if row >= 0:
                        pool = pools[k]
                        break
                if row >= 0:
                    break
            if row < 0:
                raise _bad(f"vehicles.id[{s}]", str(v.id[s]), f"finds no free connector of site.chargers at its "
                           f"arrival (step {a})")  # fmt: skip
        if row < 0:
            c_type.append(key[0])
            c_bidi.append(key[1])
            row = len(c_type) - 1
        out[s] = row
        heapq.heappush(pool.busy, (int(dep[s]), row))
    if creating:
        n = len(c_type)
        phases = np.array([CHARGER_TYPE_SPECS[t][2] for t in c_type], dtype=np.int64)
        cols = {
            "charger_id": np.array([f"C{i + 1:03d}" for i in range(n)], dtype=object),
            "connector": np.ones(n, dtype=np.int64),
            "charger_type": np.array(c_type, dtype=object),
            "rating_kw": np.array([CHARGER_TYPE_SPECS[t][0] for t in c_type], dtype=float),
            "phases": phases,
            "phase": _phases(phases),
            "bidirectional": np.array(c_bidi, dtype=bool),
        }
    return out, cols


def charger_layout(scenario: Scenario) -> ChargerLayout:
    """The connectors of ``scenario`` and the connector of each session (module docstring: the rules).

    Raises :class:`InputError` naming the field and value on a malformed ``site.chargers`` or
    ``vehicles.charger_id``, an unknown charger type or two sessions overlapping on one connector.
    """
    v = scenario.vehicles
    raw = scenario.site_extra.get("chargers")
    explicit_ids = "charger_id" in v.extra
    if raw is None and explicit_ids:
        raise InputError("field 'vehicles.charger_id' needs 'site.chargers' (the chargers it names)")
    types = _session_types(scenario)
    bidi = _session_bidi(scenario)
    if raw is None:
        session_connector, cols = _assign_greedy(scenario, types, bidi, None)
        source = "default"
    else:
        cols = _read_chargers(raw)
        if explicit_ids:
            session_connector = _assign_explicit(scenario, cols)
        else:
            session_connector, cols = _assign_greedy(scenario, types, bidi, cols)
        source = "scenario"
    return ChargerLayout(
        charger_id=cols["charger_id"],
        connector=cols["connector"],
        charger_type=cols["charger_type"],
        rating_kw=cols["rating_kw"],
        phases=cols["phases"],
        phase=cols["phase"],
        bidirectional=cols["bidirectional"],
        session_connector=session_connector,
        source=source,
    )
