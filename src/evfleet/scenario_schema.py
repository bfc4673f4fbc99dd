"""The fields of the scenario file format ``evfleet.scenario/1``, as one table: the contract of ``docs/model.md``.

Each :class:`Field` row names a field by its path (``vehicles.soc_min``), its kind (which also fixes its length:
one value, T per step or N per session), its unit, whether it is required, the :class:`Range` every value must
keep and whether the values must be unique; :data:`CROSS_RULES` lists the rules between two fields. The rows are
in the order the fields are checked. :func:`evfleet.scenario.scenario_from_dict` validates a mapping by looping
over this table, and :func:`markdown_table` renders it for the documentation::

    python -m evfleet.scenario_schema                        # print the table (Markdown)
    python -m evfleet.scenario_schema --write docs/model.md  # replace the table between the markers
    python -m evfleet.scenario_schema --check docs/model.md  # exit status 1 if the doc's table is stale

A test asserts that the table in ``docs/model.md`` is the generated one, so the doc cannot drift from the code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "CHARGER_TYPES",
    "CROSS_RULES",
    "DEFAULT_TZ",
    "DOC_BEGIN",
    "DOC_END",
    "FIELDS",
    "FORMAT",
    "Compare",
    "Field",
    "Kind",
    "Range",
    "column_fields",
    "cross_rules_after",
    "field_for",
    "fields_in",
    "markdown_table",
    "replace_doc_table",
]

FORMAT = "evfleet.scenario/1"
DEFAULT_TZ = "Africa/Casablanca"

#: What a field holds. One value: ``format`` (the constant :data:`FORMAT`), ``text`` (anything, kept as text),
#: ``time`` (ISO-8601 with a UTC offset), ``integer``, ``number`` (finite), ``object`` (a JSON object),
#: ``zone`` (an IANA time zone), ``any``. Arrays (T per step in ``series``, N per session in ``vehicles``):
#: ``numbers``/``integers`` (finite), ``strings`` (non-empty), ``names`` (anything, kept as text), ``values``.
Kind = Literal[
    "format", "text", "time", "integer", "number", "object", "zone", "any",
    "numbers", "integers", "strings", "names", "values",
]  # fmt: skip
ARRAY_KINDS = ("numbers", "integers", "strings", "names", "values")

#: Bounds of a scenario (docs/model.md): steps (a year of 5-min steps), sessions, sessions x steps (the simulator
#: holds arrays of that size), length of a text (names, ids, models; control characters are refused too).
MAX_N_STEPS = 105_120
MAX_SESSIONS = 200_000
MAX_SESSION_STEPS = 50_000_000
MAX_TEXT_CHARS = 200

#: Charger types: name -> (rated power [kW], current type, phases). IEC 61851 mode 3 (AC) / mode 4 (DC). A
#: scenario's ``vehicles.charger`` names one of them (checked at load); the generator draws them.
CHARGER_TYPES: dict[str, tuple[float, str, int]] = {
    "ac7.4": (7.4, "AC", 1),
    "ac11": (11.0, "AC", 3),
    "ac22": (22.0, "AC", 3),
    "dc50": (50.0, "DC", 3),
    "dc150": (150.0, "DC", 3),
}


@dataclass(frozen=True)
class Range:
    """Allowed values ``lo <= v <= hi`` (``<`` on an ``open`` side; ``None``: unbounded), in the field's unit.

    ``hi`` may name a top-level integer field (``"n_steps"``), whose value is then the bound. ``note`` follows
    the range in messages and in the doc (``"Hz"``, ``"(a fraction, not %)"``).
    """

    lo: float | None = None
    hi: float | str | None = None
    lo_open: bool = False
    hi_open: bool = False
    note: str = ""

    def bound(self, refs: Mapping[str, Any]) -> float | None:
        """The upper bound (the referenced field's value if ``hi`` names one)."""
        return refs[self.hi] if isinstance(self.hi, str) else self.hi

    def describe(self, refs: Mapping[str, Any] | None = None) -> str:
        """The rule in the words of the error messages: ``>= 0``, ``within (0, 1]``, ``<= n_steps (96)``."""
        lo, hi = self.lo, self.hi
        if isinstance(hi, str):
            text = f"<= {hi}" + (f" ({refs[hi]})" if refs is not None else "")
        elif lo is not None and hi is not None:
            if self.lo_open or self.hi_open or lo < 0:  # [-90, 90] reads better than -90-90
                text = f"within {'(' if self.lo_open else '['}{lo:g}, {hi:g}{')' if self.hi_open else ']'}"
            else:
                text = f"within {lo:g}-{hi:g}"
        elif lo is not None:
            text = f"{'>' if self.lo_open else '>='} {lo:g}"
        elif hi is not None:
            text = f"{'<' if self.hi_open else '<='} {hi:g}"
        else:
            text = "any value"
        return f"{text} {self.note}" if self.note else text

    def violated(self, values: Any, refs: Mapping[str, Any]) -> Any:
        """Where ``values`` (a number or a numpy array) break the range: a bool or a bool array."""
        bad: Any = False
        if self.lo is not None:
            bad = values <= self.lo if self.lo_open else values < self.lo
        hi = self.bound(refs)
        if hi is not None:
            bad = bad | (values >= hi if self.hi_open else values > hi)
        return bad


@dataclass(frozen=True)
class Compare:
    """A rule between two fields of one section: ``field op other`` per element (``op`` is ``>`` or ``<=``).

    A break is reported on ``field`` as ``must be > arrival_step``."""

    field: str
    op: Literal[">", "<="]
    other: str

    def describe(self) -> str:
        """The rule in the words of the error messages: ``> arrival_step``."""
        return f"{self.op} {self.other.rsplit('.', 1)[-1]}"

    def violated(self, values: Any, other: Any) -> Any:
        """Where ``values`` break the rule against ``other`` (same unit, same shape): a bool array."""
        return values <= other if self.op == ">" else values > other


@dataclass(frozen=True)
class Field:
    """One field of the format. ``path`` is dotted (``site.import_limit_kw``); ``*`` stands for any other key of
    its object (``series.*``). ``unit`` as in ``docs/glossary.md``; ``meaning`` is the doc's explanation."""

    path: str
    kind: Kind
    unit: str = ""
    required: bool = True
    rule: Range | None = None
    unique: bool = False
    meaning: str = ""

    @property
    def section(self) -> str:
        """The object holding the field: ``""`` (top level), ``site``, ``series`` or ``vehicles``."""
        return self.path.rpartition(".")[0]

    @property
    def key(self) -> str:
        """The field's key in its object."""
        return self.path.rpartition(".")[2]

    @property
    def length(self) -> str:
        """``T`` (one value per step), ``N`` (one per session) or ``""`` (one value)."""
        if self.kind not in ARRAY_KINDS:
            return ""
        return "N" if self.section == "vehicles" else "T"


_SOC = Range(0, 1, note="(a fraction, not %)")
_EFFICIENCY = Range(0, 1, lo_open=True)
_GE0 = Range(0)

#: The table of the format, in the order the fields are checked.
FIELDS: tuple[Field, ...] = (
    Field("format", "format", meaning="file format and version"),
    Field("name", "text", meaning="name of the scenario"),
    Field("start", "time", meaning="start of step 0; step t starts at `start + t·step_minutes`"),
    Field("step_minutes", "integer", "min", rule=Range(1, 1440), meaning="step length"),
    Field("n_steps", "integer", "steps", rule=Range(1, MAX_N_STEPS), meaning="T: every series has this length"),
    Field("site", "object", meaning="the connection point"),
    Field("site.import_limit_kw", "number", "kW", rule=_GE0, meaning="largest import from the grid"),
    Field("site.export_limit_kw", "number", "kW", rule=_GE0, meaning="largest export to the grid"),
    Field("site.latitude", "number", "degree", required=False, rule=Range(-90, 90),
          meaning="latitude of the site (PV model); default Casablanca"),
    Field("site.longitude", "number", "degree", required=False, rule=Range(-180, 180),
          meaning="longitude of the site (PV model); default Casablanca"),
    Field("site.*", "any", required=False,
          meaning="any other site key (`pv_kwp`, `latitude`, `longitude`, `electrical`, ...), kept"),
    Field("degradation_mad_per_kwh", "number", "MAD/kWh", rule=_GE0,
          meaning="battery wear cost per kWh discharged (grid side)"),
    Field("series", "object", meaning="site series, one value per step"),
    Field("series.price_import_mad_per_kwh", "numbers", "MAD/kWh", meaning="import price"),
    Field("series.price_export_mad_per_kwh", "numbers", "MAD/kWh", meaning="export price"),
    Field("series.base_load_kw", "numbers", "kW", rule=_GE0, meaning="site load without the chargers"),
    Field("series.pv_kw", "numbers", "kW", rule=_GE0, meaning="PV production"),
    Field("series.tou_period", "names", required=False, meaning="tariff period name of each step"),
    Field("series.frequency_hz", "numbers", "Hz", required=False, rule=Range(45, 55, note="Hz"),
          meaning="grid frequency"),
    Field("series.*", "numbers", required=False, meaning="any other series, kept"),
    Field("vehicles", "object", meaning="plug-in sessions, one value per session; N is the length of `id`"),
    Field("vehicles.id", "strings", unique=True, meaning="session id"),
    Field("vehicles.model", "strings", meaning="vehicle model"),
    Field("vehicles.arrival_step", "integers", "step", rule=_GE0, meaning="first connected step"),
    Field("vehicles.departure_step", "integers", "step", rule=Range(hi="n_steps"),
          meaning="connected for `arrival_step <= t < departure_step`"),
    Field("vehicles.battery_kwh", "numbers", "kWh", rule=Range(0, lo_open=True), meaning="usable capacity"),
    Field("vehicles.soc_arrival", "numbers", "fraction", rule=_SOC, meaning="SOC at arrival"),
    Field("vehicles.soc_target", "numbers", "fraction", rule=_SOC, meaning="SOC wanted at departure"),
    Field("vehicles.soc_min", "numbers", "fraction", rule=_SOC, meaning="lowest SOC (the V2G floor)"),
    Field("vehicles.soc_max", "numbers", "fraction", rule=_SOC, meaning="highest SOC"),
    Field("vehicles.max_charge_kw", "numbers", "kW", rule=_GE0, meaning="charging power limit, grid side"),
    Field("vehicles.max_discharge_kw", "numbers", "kW", rule=_GE0,
          meaning="discharging (V2G) power limit, grid side; 0 without V2G"),
    Field("vehicles.charge_efficiency", "numbers", "fraction", rule=_EFFICIENCY, meaning="grid to battery"),
    Field("vehicles.discharge_efficiency", "numbers", "fraction", rule=_EFFICIENCY, meaning="battery to grid"),
    Field("vehicles.charger", "strings", required=False,
          meaning="charger type of the session: " + ", ".join(f"`{c}`" for c in CHARGER_TYPES)
          + " or a type of the grid site file"),
    Field("vehicles.*", "values", required=False,
          meaning="any other per-session field (`vehicle`, `charger`, `bidirectional_charger`, `phase`, ...), kept"),
    Field("timezone", "zone", required=False, meaning=f"time zone of the site; default `{DEFAULT_TZ}`"),
    Field("*", "any", required=False, meaning="any other top-level key (`tariff`, `generator`, `meta`, ...), kept"),
)  # fmt: skip

#: Rules between fields, each checked right after the range of the later of its two fields (in table order).
CROSS_RULES: tuple[Compare, ...] = (
    Compare("vehicles.departure_step", ">", "vehicles.arrival_step"),
    Compare("vehicles.soc_min", "<=", "vehicles.soc_max"),
    Compare("vehicles.soc_target", "<=", "vehicles.soc_max"),
)

_POSITION = {f.path: i for i, f in enumerate(FIELDS)}


def fields_in(section: str) -> tuple[Field, ...]:
    """The named (non-``*``) fields of one object, in table order."""
    return tuple(f for f in FIELDS if f.section == section and f.key != "*")


def field_for(section: str, key: str) -> Field:
    """The row of ``key`` in ``section``, else the section's ``*`` row (any other key)."""
    path = f"{section}.{key}" if section else key
    if path in _POSITION:
        return FIELDS[_POSITION[path]]
    return FIELDS[_POSITION[f"{section}.*" if section else "*"]]


def column_fields(section: str) -> tuple[Field, ...]:
    """The required array fields of ``series`` or ``vehicles`` (the named columns of the Scenario)."""
    return tuple(f for f in fields_in(section) if f.required and f.kind in ARRAY_KINDS)


def cross_rules_after(path: str) -> tuple[Compare, ...]:
    """The cross-field rules checked right after the field ``path`` (the later of the rule's two fields)."""
    return tuple(c for c in CROSS_RULES if max(_POSITION[c.field], _POSITION[c.other]) == _POSITION[path])


# --- the table in the documentation --------------------------------------------------------------------------------

DOC_BEGIN = "<!-- scenario fields: generated by `python -m evfleet.scenario_schema --write docs/model.md` -->"
DOC_END = "<!-- end of scenario fields -->"

_TYPE = {"format": "str", "text": "any", "time": "str", "integer": "int", "number": "float", "object": "object",
         "zone": "str", "any": "any", "numbers": "float", "integers": "int", "strings": "str", "names": "any",
         "values": "any"}  # fmt: skip
_KIND_RULE = {"format": f"`{FORMAT}`", "text": "kept as text", "time": "ISO-8601 with a UTC offset (e.g. +01:00)",
              "integer": "", "number": "finite", "object": "", "zone": "an IANA time zone", "any": "",
              "numbers": "finite", "integers": "whole numbers (3 or 3.0)", "strings": "non-empty",
              "names": "kept as text", "values": ""}  # fmt: skip


def _rule_text(f: Field) -> str:
    parts = [_KIND_RULE[f.kind]]
    if f.rule is not None:
        parts.append(f.rule.describe())
    parts += [c.describe() for c in CROSS_RULES if c.field == f.path]
    if f.unique:
        parts.append("unique")
    return "; ".join(p for p in parts if p)


def markdown_table(fields: Sequence[Field] = FIELDS) -> str:
    """The field table as Markdown: ``field | type | unit | required | rule | meaning``."""
    lines = ["| field | type | unit | required | rule | meaning |", "|---|---|---|---|---|---|"]
    for f in fields:
        kind = _TYPE[f.kind] + (f"[{f.length}]" if f.length else "")
        required = "yes" if f.required else "no"
        lines.append(f"| `{f.path}` | {kind} | {f.unit} | {required} | {_rule_text(f)} | {f.meaning} |")
    return "\n".join(lines) + "\n"


def replace_doc_table(text: str, table: str | None = None) -> str:
    """``text`` (a Markdown page) with the block between :data:`DOC_BEGIN` and :data:`DOC_END` regenerated."""
    table = markdown_table() if table is None else table
    if text.count(DOC_BEGIN) != 1 or text.count(DOC_END) != 1:
        raise ValueError(f"the page must hold the markers {DOC_BEGIN!r} and {DOC_END!r} once each")
    head, rest = text.split(DOC_BEGIN)
    _, tail = rest.split(DOC_END)
    return f"{head}{DOC_BEGIN}\n{table}{DOC_END}{tail}"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m evfleet.scenario_schema [--write PAGE | --check PAGE]``."""
    parser = argparse.ArgumentParser(prog="python -m evfleet.scenario_schema", description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", metavar="PAGE", type=Path, help="regenerate the table in PAGE (docs/model.md)")
    group.add_argument("--check", metavar="PAGE", type=Path, help="exit status 1 if the table in PAGE is stale")
    args = parser.parse_args(argv)
    page = args.write or args.check
    if page is None:
        sys.stdout.write(markdown_table())
        return 0
    old = page.read_text(encoding="utf-8")
    new = replace_doc_table(old)
    if args.check:
        if new != old:
            print(f"{page}: the scenario field table is stale; run python -m evfleet.scenario_schema --write {page}")
            return 1
        return 0
    if new != old:
        page.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
