"""The DC charging curve (taper) is respected by every strategy: the simulator never has to clip."""

from __future__ import annotations

import numpy as np
import pytest

from evfleet.scenario import scenario_from_dict
from evfleet.simulation.simulate import SimulationOptions, simulate
from evfleet.strategies import REGISTRY
from factories import scenario_dict


def tapered_scenario():
    n_steps = 16  # 4 h of 15-min steps
    vehicles = [
        {"battery_kwh": 60.0, "soc_arrival": s, "soc_target": 0.85, "soc_max": 0.9, "max_charge_kw": 50.0,
         "max_discharge_kw": 10.0 * (i % 2), "charge_efficiency": 0.95, "discharge_efficiency": 0.95,
         "departure_step": n_steps - i}
        for i, s in enumerate([0.3, 0.45, 0.6, 0.7, 0.2, 0.5])
    ]  # fmt: skip
    data = scenario_dict(
        n_steps=n_steps,
        step_minutes=15,
        vehicles=vehicles,
        price=[1.0 + 0.5 * np.sin(k / 3) for k in range(n_steps)],
        base_load_kw=[20.0] * n_steps,
        import_limit_kw=200.0,
    )
    data["vehicles"]["taper_soc"] = [0.5] * len(vehicles)  # knee at 50 % SOC
    data["vehicles"]["taper_end_kw"] = [8.0] * len(vehicles)  # 8 kW at 100 %
    return scenario_from_dict(data)


@pytest.mark.parametrize("mode", ["offline", "online"])
@pytest.mark.parametrize("name", list(REGISTRY))
def test_taper_respected_without_clipping(name: str, mode: str) -> None:
    sc = tapered_scenario()
    r = simulate(sc, name, SimulationOptions(mode=mode, v2g=True))
    assert r.requested_clip_count == 0, (name, mode, r.requested_clip_max_kw)
    assert (r.strategy_report.projection_max_kw or 0.0) < 1e-5
    # The applied power never exceeds the curve at the SOC of the start of the step.
    e = r.energy_kwh[:, :-1]
    limit = 50.0 - (50.0 - 8.0) * np.clip((e / 60.0 - 0.5) / 0.5, 0.0, None)
    assert np.all(r.power_kw <= limit + 1e-6)


def test_taper_makes_charging_slower() -> None:
    sc = tapered_scenario()
    plain = sc.to_dict()
    for key in ("taper_soc", "taper_end_kw"):
        plain["vehicles"].pop(key)
    with_taper = simulate(sc, "uncontrolled")
    without = simulate(scenario_from_dict(plain), "uncontrolled")
    # Above the knee the tapered vehicle gains less energy in its first hour.
    assert with_taper.energy_kwh[2, 1] < without.energy_kwh[2, 1] - 0.5
