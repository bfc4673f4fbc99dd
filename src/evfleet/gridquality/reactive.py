"""The site's reactive power per step: the grid-quality model's Q, for the bill and the grid-quality page.

Units: power [kW], reactive power [kvar] (positive inductive). A MODEL ESTIMATE (``docs/grid-quality.md``).

``Q_t = Σ_i sign_i · |p_i,t| · tan φ_i(x_i,t) + base_t · tan(acos(PF_base))`` with the PF-vs-loading curve of each
charger's spectrum model (:func:`evfleet.gridquality.steps.device_power_factor`) and PV at unity PF: the same
steps 1, 2 and 5 that :func:`evfleet.gridquality.assess.assess` runs, so ``site.csv``'s ``q_kvar`` and the bill's
kvarh agree. :mod:`evfleet.analysis.bill` calls :func:`site_reactive_kvar` (analysis sits above grid quality).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from evfleet.gridquality import steps
from evfleet.gridquality.layout import fleet_layout
from evfleet.gridquality.site import SiteElectrical

__all__ = ["site_reactive_kvar"]


def site_reactive_kvar(scenario: Any, power_kw: np.ndarray, electrical: SiteElectrical | None = None) -> np.ndarray:
    """Site reactive power Q (T,) [kvar] of a run with EV powers ``power_kw`` (N, T) [kW] on ``scenario``.

    ``electrical`` defaults to the scenario's ``site.electrical`` (:meth:`SiteElectrical.from_scenario`).
    """
    el = electrical if electrical is not None else SiteElectrical.from_scenario(scenario)
    p = np.asarray(power_kw, dtype=float)
    base = np.asarray(scenario.base_load_kw, dtype=float)
    q_base = base * (math.sqrt(1.0 - el.base_load_pf**2) / el.base_load_pf)
    if p.shape[0] == 0:
        return q_base
    dev = steps.device_loading(p, fleet_layout(scenario, el, p))
    _, q_dev = steps.device_power_factor(dev, el.spectra())
    return q_dev.sum(axis=0) + q_base
