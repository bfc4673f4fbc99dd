"""Typed words of the grid-quality assessment: alert states, compliance checks and their verdicts.

These are the contracts between the assessment and its readers (files, CLI, store, reports, dashboard). Every
enum value is the word written in the files and printed today, so text output is unchanged; readers look rows
and words up in these enums (exact values, no substring matching) and raise :class:`InputError` on an unknown one.

* :class:`Status`: the alert state of an indicator at a step (``events.csv``, ``pq_state`` of ``site.csv``) and
  the display level of a figure (``na``: no status);
* :class:`Verdict`: the ``status`` of a compliance row (``pass``, ``fail``, ``info``);
* :class:`Indicator`: the rows of the compliance table; the value is the row's label, units in brackets, ``{h}``
  the harmonic order for the two per-harmonic rows;
* :class:`ComplianceRow`: one row of the table, :func:`compliance_rows` / :func:`compliance_table` convert.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any

import pandas as pd

from evfleet._common.errors import InputError

__all__ = [
    "ALERT_STATES",
    "COMPLIANCE_COLUMNS",
    "ComplianceRow",
    "Indicator",
    "Status",
    "Verdict",
    "check_columns",
    "compliance_rows",
    "compliance_table",
]


class Status(StrEnum):
    """Alert state of an indicator (the first four, in increasing severity) or display level (also ``na``)."""

    OPTIMAL = "optimal"
    GOOD = "good"
    WARNING = "warning"
    CRITICAL = "critical"
    NA = "na"


#: Alert states by state index (0 optimal ... 3 critical), as :func:`evfleet.gridquality.alerts.classify` numbers
#: them.
ALERT_STATES: tuple[Status, ...] = (Status.OPTIMAL, Status.GOOD, Status.WARNING, Status.CRITICAL)


class Verdict(StrEnum):
    """Status of a compliance row: the value is within its limit, beyond it, or the row is information only."""

    PASS = "pass"
    FAIL = "fail"
    INFO = "info"

    @classmethod
    def of(cls, word: Any, where: str = "status") -> Verdict:
        """The verdict named ``word`` exactly; :class:`InputError` naming ``where`` otherwise."""
        try:
            return cls(word)
        except ValueError:
            known = ", ".join(v.value for v in cls)
            raise InputError(f"field '{where}' must be one of {known} (value {word!r})") from None


class Indicator(Enum):
    """A row of the compliance table (``PowerQualityReport.compliance``, ``evfleet grid-report``).

    The value is the row's label as printed; ``{h}`` stands for the harmonic order of the two per-harmonic rows.
    """

    TDD_P95 = "TDD p95 [%]"
    TDD_P95_OTHER_SUMMATION = "TDD p95, other summation [%]"
    HARMONIC_CURRENT_P95 = "harmonic current h={h} p95 [% of I_L]"
    VOLTAGE_THD_P95 = "voltage THD p95 [%]"
    VOLTAGE_THD_MAX = "voltage THD max [%]"
    VOLTAGE_HARMONIC_P95 = "voltage harmonic h={h} p95 [%]"
    BILLED_COS_PHI = "billed cos φ"
    PF_MIN = "power factor min"
    VOLTAGE_UNBALANCE_P95 = "voltage unbalance p95 [%]"
    UNBALANCE_MAX = "current unbalance max [%]"
    NEUTRAL_CURRENT_MAX = "neutral current max [A]"
    TRANSFORMER_LOADING_MAX = "transformer loading max [%]"
    TRANSFORMER_AGEING_MEAN = "transformer relative ageing mean"
    VOLTAGE_DEVIATION_MAX = "voltage deviation max abs [%]"
    CABLE_DROP_MAX = "LV cable voltage drop max [%]"
    GENERATION_SHARE = "generation share of average load [%]"
    FREQUENCY_OUTSIDE_BAND = "time outside frequency band [h]"

    @property
    def per_harmonic(self) -> bool:
        """Whether the label names a harmonic order ``h``."""
        return "{h}" in self.value

    def label(self, h: int | None = None) -> str:
        """The printed label (``h``: the harmonic order, required exactly for the per-harmonic rows)."""
        if self.per_harmonic != (h is not None):
            raise InputError(f"field 'h' of {self.name} must be {'an order' if self.per_harmonic else 'None'} "
                             f"(value {h!r})")  # fmt: skip
        return self.value.format(h=h) if h is not None else self.value

    @classmethod
    def parse(cls, label: Any, where: str = "indicator") -> tuple[Indicator, int | None]:
        """``(indicator, h)`` of a printed label, matched exactly; :class:`InputError` naming ``where`` otherwise."""
        text = str(label)
        for ind in cls:
            if not ind.per_harmonic:
                if text == ind.value:
                    return ind, None
                continue
            head, tail = ind.value.split("{h}")
            m = re.fullmatch(re.escape(head) + r"([0-9]+)" + re.escape(tail), text)
            if m:
                return ind, int(m.group(1))
        known = ", ".join(repr(i.value) for i in cls)
        raise InputError(f"field '{where}' is not a known compliance indicator; known: {known} (value {label!r})")


#: Columns of the compliance table, in order.
COMPLIANCE_COLUMNS = ("indicator", "value", "limit", "status", "clause")


@dataclass(frozen=True)
class ComplianceRow:
    """One compliance check: ``value`` and ``limit`` in the unit of the label, ``h`` the harmonic order (or None)."""

    indicator: Indicator
    value: float
    limit: float
    status: Verdict
    clause: str
    h: int | None = None

    @property
    def label(self) -> str:
        return self.indicator.label(self.h)

    def to_dict(self) -> dict[str, Any]:
        """The table row: ``indicator`` (the label), ``value``, ``limit``, ``status`` (the word), ``clause``."""
        return {"indicator": self.label, "value": self.value, "limit": self.limit, "status": self.status.value,
                "clause": self.clause}  # fmt: skip

    @classmethod
    def from_dict(cls, row: Mapping[str, Any], where: str = "compliance") -> ComplianceRow:
        """A row with exactly the :data:`COMPLIANCE_COLUMNS`; :class:`InputError` naming the bad field."""
        check_columns(row.keys(), COMPLIANCE_COLUMNS, where)
        ind, h = Indicator.parse(row["indicator"], f"{where}.indicator")
        nums = {}
        for key in ("value", "limit"):
            try:
                nums[key] = float(row[key])
            except (TypeError, ValueError):
                raise InputError(f"field '{where}.{key}' must be a number (value {row[key]!r})") from None
        return cls(ind, nums["value"], nums["limit"], Verdict.of(row["status"], f"{where}.status"),
                   "" if _missing(row["clause"]) else str(row["clause"]), h)  # fmt: skip


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def check_columns(columns: Iterable[Any], expected: Iterable[str], where: str) -> None:
    """Raise :class:`InputError` naming the first unknown or missing column (``expected`` in order)."""
    cols = [str(c) for c in columns]
    exp = list(expected)
    unknown = [c for c in cols if c not in exp]
    if unknown:
        raise InputError(f"{where}: column '{unknown[0]}' is not a known column; known: {', '.join(exp)}")
    missing = [c for c in exp if c not in cols]
    if missing:
        raise InputError(f"{where}: column '{missing[0]}' is required (columns {', '.join(cols) or 'none'})")


def compliance_rows(table: pd.DataFrame, where: str = "compliance") -> dict[Indicator, ComplianceRow]:
    """The rows of a compliance table keyed by indicator (strict: unknown labels or columns raise InputError)."""
    check_columns(table.columns, COMPLIANCE_COLUMNS, where)
    out: dict[Indicator, ComplianceRow] = {}
    for i, rec in enumerate(table.to_dict(orient="records")):
        row = ComplianceRow.from_dict(rec, f"{where}[{i}]")
        if row.indicator in out:
            raise InputError(f"field '{where}[{i}].indicator' appears twice (value {rec['indicator']!r})")
        out[row.indicator] = row
    return out


def compliance_table(rows: Iterable[ComplianceRow]) -> pd.DataFrame:
    """The compliance table (:data:`COMPLIANCE_COLUMNS`) of ``rows``, in their order."""
    return pd.DataFrame([r.to_dict() for r in rows], columns=list(COMPLIANCE_COLUMNS))
