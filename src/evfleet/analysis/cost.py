"""The one cost every comparison, saving, V2G value, ROI and year uses [MAD].

Every saving in evfleet (``compare``, the headline saving, ``v2g_value_mad``, the ROI, ``evfleet year``, the
dashboard) is a difference of :func:`run_cost_mad` between two runs of the same scenario, so the definition of
"what a run costs" lives here only. Today it is the KPI ``net_cost_mad`` (import cost - export revenue +
degradation cost, ``docs/model.md``); when the bill KPIs land, this function returns the bill total instead and
every comparison follows.

:func:`run_energy_cost_mad` is the part of that cost that scales with the days simulated (no item billed per
month on the month's peak): ``evfleet year`` sums it over representative days and adds the monthly power charge
on each month's called power itself. Today both functions are equal (the net cost has no monthly item); with the
bill, ``run_energy_cost_mad`` is the bill total minus its monthly power and overrun items.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["COST_KPI", "run_cost_mad", "run_energy_cost_mad"]

#: The KPI key :func:`run_cost_mad` reads.
COST_KPI = "net_cost_mad"


def run_cost_mad(kpis: Mapping[str, Any]) -> float:
    """What a run costs the depot [MAD], from its KPIs (:func:`evfleet.analysis.kpis.compute_kpis`)."""
    return float(kpis[COST_KPI])


def run_energy_cost_mad(kpis: Mapping[str, Any]) -> float:
    """The day-proportional part of :func:`run_cost_mad` [MAD] (without items billed on a month's peak)."""
    return float(kpis[COST_KPI])
