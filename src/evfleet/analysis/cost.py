"""The one cost every comparison, saving, V2G value, ROI and year uses [MAD].

Every saving in evfleet (``compare``, the headline saving, ``v2g_value_mad``, the ROI, ``evfleet year``, the
dashboard) is a difference of :func:`run_cost_mad` between two runs of the same scenario, so the definition of
"what a run costs" lives here only. Today it is the KPI ``net_cost_mad`` (import cost - export revenue +
degradation cost, ``docs/model.md``); when the bill KPIs land, this function returns the bill total instead and
every comparison follows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["COST_KPI", "run_cost_mad"]

#: The KPI key :func:`run_cost_mad` reads.
COST_KPI = "net_cost_mad"


def run_cost_mad(kpis: Mapping[str, Any]) -> float:
    """What a run costs the depot [MAD], from its KPIs (:func:`evfleet.analysis.kpis.compute_kpis`)."""
    return float(kpis[COST_KPI])
