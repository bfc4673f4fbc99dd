"""A depot's charger layout from a CSV file, and a scenario that uses it.

Columns (header row, any order; ``,`` or ``;`` separated, a decimal comma accepted with ``;``): ``charger_id``
(required), ``connector`` (integer >= 1, default 1), ``type`` (required: a charger type of
:data:`evfleet.inputs.chargers.CHARGER_TYPE_SPECS`), ``rating_kw`` (kW > 0, default the type's rating), ``phase``
(``L1``/``L2``/``L3`` for a 1-phase type, empty = rotation; ``L123`` or empty for 3-phase), ``bidirectional``
(``true``/``false``/``1``/``0``/``yes``/``no``/``oui``/``non``, default false). Each row is one connector, as one
``site.chargers`` object of the scenario format (``docs/model.md``, "Chargers").

:func:`scenario_with_chargers` puts the layout into a scenario: the sessions are then assigned to these connectors by
the documented greedy rule (any ``vehicles.charger_id`` of the old layout is dropped); a session that finds no free
connector of its type is refused, naming it.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from evfleet._common.errors import InputError
from evfleet.inputs.chargers import CHARGER_KEYS, charger_layout
from evfleet.scenario import Scenario, scenario_from_dict

__all__ = ["chargers_from_csv", "scenario_with_chargers"]

_TRUE = {"true", "1", "yes", "y", "oui", "vrai"}
_FALSE = {"false", "0", "no", "n", "non", "faux", ""}


def _cell(row: dict[str, str], key: str) -> str:
    return (row.get(key) or "").strip()


def chargers_from_csv(data: bytes, origin: str = "charger CSV") -> list[dict[str, Any]]:
    """``site.chargers`` records from CSV bytes; raise :class:`InputError` naming the row, column and value."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{origin}: not UTF-8 text ({exc})") from None
    first = text.splitlines()[0] if text.strip() else ""
    sep = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=sep)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    for need in ("charger_id", "type"):
        if need not in header:
            raise InputError(f"{origin}: column {need!r} is required (columns: {', '.join(header) or 'none'})")
    unknown = [h for h in header if h not in CHARGER_KEYS]
    if unknown:
        raise InputError(f"{origin}: column {unknown[0]!r} is not known; known: {', '.join(CHARGER_KEYS)}")
    out: list[dict[str, Any]] = []
    for i, row in enumerate(reader, start=2):
        rec: dict[str, Any] = {"charger_id": _cell(row, "charger_id"), "type": _cell(row, "type")}
        conn = _cell(row, "connector")
        if conn:
            try:
                rec["connector"] = int(conn)
            except ValueError:
                raise InputError(f"{origin}: row {i}, field 'connector' must be an integer (value {conn!r})") from None
        rating = _cell(row, "rating_kw")
        if rating:
            try:
                rec["rating_kw"] = float(rating.replace(",", ".") if sep == ";" else rating)
            except ValueError:
                raise InputError(f"{origin}: row {i}, field 'rating_kw' must be a number (value {rating!r})") from None
        phase = _cell(row, "phase").upper()
        if phase:
            rec["phase"] = phase
        bidi = _cell(row, "bidirectional").lower()
        if bidi not in _TRUE | _FALSE:
            raise InputError(f"{origin}: row {i}, field 'bidirectional' must be true or false (value {bidi!r})")
        rec["bidirectional"] = bidi in _TRUE
        out.append(rec)
    if not out:
        raise InputError(f"{origin}: no charger row")
    return out


def scenario_with_chargers(scenario: Scenario, records: list[dict[str, Any]]) -> Scenario:
    """A validated copy of ``scenario`` whose ``site.chargers`` is ``records`` (sessions assigned greedily)."""
    data = scenario.to_dict()
    data["site"]["chargers"] = records
    data["vehicles"].pop("charger_id", None)
    try:
        out = scenario_from_dict(data, origin="scenario with the uploaded chargers")
    except ValueError as exc:
        raise InputError(str(exc)) from None
    charger_layout(out)  # refuses a malformed row or a session without a free connector, naming it
    return out
