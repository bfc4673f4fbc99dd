"""Uncontrolled charging (the baseline): each vehicle charges at full power from arrival until its target.

This is what a depot does with no energy-management system: no site limit awareness (the site protection in
the simulator curtails if the import limit is hit), no price awareness, never any discharge.
"""

from __future__ import annotations

import numpy as np

from evfleet.strategies.base import ChargingProblem, Strategy


class Uncontrolled(Strategy):
    """Charge at ``max_charge_kw`` while the battery is below target, from arrival on (grid side [kW])."""

    name = "uncontrolled"
    feedback = True
    description = "Each vehicle charges at full power from arrival until it reaches its target SOC."

    def first_step(self, problem: ChargingProblem) -> np.ndarray:
        need_kwh = np.maximum(problem.energy_target_kwh - problem.energy_kwh, 0.0)
        limit_kw = problem.charge_limit_kw(problem.energy_kwh)  # power limit and DC taper
        p_kw = np.minimum(limit_kw, need_kwh / (problem.charge_efficiency * problem.dt_h))
        return np.where(problem.arrival <= 0, p_kw, 0.0)

    def schedule(self, problem: ChargingProblem) -> np.ndarray:
        # Closed form: full power for whole steps, the remainder in the next one, from arrival.
        cap_kwh = problem.charge_efficiency * problem.max_charge_kw * problem.dt_h  # battery kWh per full step
        need_kwh = np.maximum(problem.energy_target_kwh - problem.energy_kwh, 0.0)
        k = np.arange(problem.n_steps)[None, :] - problem.arrival[:, None]  # steps since arrival
        with np.errstate(divide="ignore", invalid="ignore"):
            done_before = np.where(cap_kwh[:, None] > 0, k * cap_kwh[:, None], np.inf)
        frac = np.clip((need_kwh[:, None] - done_before) / np.where(cap_kwh > 0, cap_kwh, 1.0)[:, None], 0.0, 1.0)
        p = frac * problem.max_charge_kw[:, None]
        return np.where(problem.connected(), p, 0.0)
