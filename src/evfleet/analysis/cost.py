"""The one cost every comparison, saving, V2G value, ROI and year uses [MAD].

Every saving in evfleet (``compare``, the headline saving, ``v2g_value_mad``, the ROI, ``evfleet year``, the
dashboard) is a difference of :func:`run_cost_mad` between two runs of the same scenario, so the definition of
"what a run costs" lives here only: the KPI ``net_cost_mad``, the bill before VAT (energy, power charge, overrun,
cos φ penalty, fixed fees: ``docs/tariffs.md``) - export revenue + degradation cost.

:func:`run_energy_cost_mad` is the part of that cost that scales with the days simulated (no item billed per
month on the month's peak): ``evfleet year`` sums it over representative days and adds the monthly power charge
on each month's called power itself: ``run_energy_cost_mad`` is the net cost minus the bill's power charge and
overrun items (``bill_power_charge_mad``, ``bill_overrun_mad``; 0 for a run billed for energy only).
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
    """The day-proportional part of :func:`run_cost_mad` [MAD] (without the items billed on a month's peak)."""
    monthly = float(kpis.get("bill_power_charge_mad", 0.0)) + float(kpis.get("bill_overrun_mad", 0.0))
    return float(kpis[COST_KPI]) - monthly
