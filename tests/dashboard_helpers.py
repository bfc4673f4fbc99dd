"""Shared pieces of the dashboard's AppTests (imported by test modules; not a test module itself)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import streamlit as st

from evfleet.dashboard import background, solver_process, state
from evfleet.strategies import ChargingProblem, Strategy

APP = str(Path(__file__).resolve().parents[1] / "src" / "evfleet" / "dashboard" / "app.py")


class HalfPower(Strategy):
    """Test-only strategy: charge at half power until the target (a different, honest schedule)."""

    name = "half_power_test"
    feedback = True

    def first_step(self, problem: ChargingProblem) -> np.ndarray:
        need = np.maximum(problem.energy_target_kwh - problem.energy_kwh, 0.0)
        p = np.minimum(0.5 * problem.max_charge_kw, need / (problem.charge_efficiency * problem.dt_h))
        return np.where(problem.arrival <= 0, p, 0.0)

    def schedule(self, problem: ChargingProblem) -> np.ndarray:
        raise NotImplementedError


@pytest.fixture(autouse=True)
def fresh_dashboard(monkeypatch):
    """Empty Streamlit caches and the computed-runs record around each test; live mode does not step by itself."""
    st.cache_data.clear()
    st.cache_resource.clear()
    state.forget_computed()
    monkeypatch.setenv("EVFLEET_LIVE_AUTOSTEP", "0")
    yield
    background.wait(120)  # a test's background lanes end before the next test (their caches are cleared)
    solver_process.stop()  # no worker process outlives the test
    st.cache_resource.clear()
