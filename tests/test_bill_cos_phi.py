"""The cos φ penalty is in no LP objective (docs/strategies.md, "The bill terms each optimising strategy includes"):
on the default scenario the billed monthly cos φ of every strategy is well above the threshold, so leaving it out
costs nothing there; where a site's power factor is poor the bill reports the penalty itself."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evfleet.analysis.bill import bill_params, run_bill
from evfleet.inputs.generate import ScenarioParams, generate_scenario
from evfleet.simulation.simulate import SimulationOptions, simulate

STRATEGIES = ("uncontrolled", "timer", "price_optimization")


@pytest.fixture(scope="module")
def default_runs() -> dict:
    sc = generate_scenario(ScenarioParams())  # the default scenario of `evfleet scenario new`
    return {s: simulate(sc, s, SimulationOptions()) for s in STRATEGIES}


def test_default_scenario_cos_phi_is_above_the_threshold_for_every_strategy(default_runs: dict) -> None:
    threshold = None
    for name, result in default_runs.items():
        params = bill_params(result.scenario)
        threshold = float(params.values["cos_phi_threshold"])
        assert 0.0 < threshold < 1.0
        bill = run_bill(result)
        assert bill.cos_phi is not None and bill.cos_phi > threshold, name
        assert bill.cos_phi_penalty_mad == 0.0, name
        # the margin: the kvarh would have to grow by this factor before any schedule paid a penalty
        kwh, kvarh = bill.import_energy_kwh, bill.inductive_kvarh
        kvarh_at_threshold = kwh * math.sqrt(1.0 - threshold**2) / threshold
        assert kvarh_at_threshold > 2.0 * kvarh, (name, kvarh, kvarh_at_threshold)


def test_a_poor_site_power_factor_is_billed_with_the_penalty(default_runs: dict) -> None:
    """The same run with 0.9 kvar per kW imported (cos φ 0.74, e.g. a site without compensation): below 0.8, and the
    bill charges penalty_pct x ceil((threshold - cos φ) x 100) % of energy + power + overrun."""
    result = default_runs["price_optimization"]
    bill = run_bill(result, q_kvar=0.9 * np.maximum(result.site_kw, 0.0))
    params = bill_params(result.scenario).values
    threshold = float(params["cos_phi_threshold"])
    assert bill.cos_phi is not None and bill.cos_phi < threshold
    hundredths = math.ceil(round((threshold - bill.cos_phi) * 100, 9))
    rate = float(params["cos_phi_penalty_pct_per_hundredth"]) / 100.0
    expected = rate * hundredths * (bill.energy_mad + bill.power_charge_mad + bill.overrun_mad)
    assert bill.cos_phi_penalty_mad == pytest.approx(expected, rel=1e-12)
    assert bill.cos_phi_penalty_mad > 0.0
