"""Shared helpers of the store tests: small scenarios, a half-power strategy, isolated store locations.

Every test that touches a store uses a temporary path (never the user's data directory): ``isolated_store_env``
points ``EVFLEET_DB``, ``EVFLEET_TRACE_DIR`` and ``XDG_DATA_HOME`` into ``tmp_path``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from evfleet.inputs.generate import generate_scenario
from evfleet.scenario import Scenario
from evfleet.simulation.simulate import RunResult, SimulationOptions, simulate
from evfleet.strategies import ChargingProblem, Strategy
from evfleet.strategies.uncontrolled import Uncontrolled


class HalfPower(Strategy):
    """Test strategy: half the uncontrolled power (a different, still valid schedule)."""

    name = "half-power"

    def schedule(self, problem: ChargingProblem) -> np.ndarray:
        return 0.5 * Uncontrolled().schedule(problem)


@cache
def small_scenario(vehicles: int = 24, seed: int = 3, days: int = 1, pv: bool = True) -> Scenario:
    """A deterministic depot scenario (cached: the PV model is the slow part; ``pv=False`` skips it)."""
    return generate_scenario(vehicles=vehicles, seed=seed, start="2026-03-02", days=days, pv_kwp=None if pv else 0.0)


def run_pair(sc: Scenario) -> dict[str, RunResult]:
    """Two different runs of ``sc``: the uncontrolled baseline and the half-power strategy."""
    return {
        "uncontrolled": simulate(sc, "uncontrolled", SimulationOptions()),
        "half-power": simulate(sc, HalfPower(), SimulationOptions()),
    }


def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every default store location into ``tmp_path``; return the database path."""
    db = tmp_path / "store" / "evfleet.db"
    monkeypatch.setenv("EVFLEET_DB", str(db))
    monkeypatch.delenv("EVFLEET_TRACE_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return db
