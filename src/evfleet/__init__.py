"""evfleet: energy management for electric-vehicle fleets and charging depots.

Data flows one way: inputs -> scenario -> problem -> strategy -> simulation -> results -> analysis / grid quality
-> store -> views (CLI, dashboard, reports). Units are written in every name: power [kW], energy [kWh], prices
[MAD/kWh], SOC fraction 0-1, ``dt_h`` [h].

The public API is importable from here; ``import evfleet`` stays light: each name is imported from its module on
first use (so HiGHS and the strategies load only when a strategy is asked for)::

    from evfleet import generate_scenario, simulate, SimulationOptions, compute_kpis

    scenario = generate_scenario(vehicles=500, seed=1, start="2026-11-23")
    result = simulate(scenario, "price_optimization", SimulationOptions(mode="offline"))
    print(compute_kpis(result)["net_cost_mad"])
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from evfleet._common.version import __version__

#: Public name -> module that defines it.
_API: dict[str, str] = {
    "EvfleetError": "evfleet._common.errors",
    "InputError": "evfleet._common.errors",
    "RunError": "evfleet._common.errors",
    "Scenario": "evfleet.scenario",
    "ScenarioError": "evfleet.scenario",
    "load_scenario": "evfleet.scenario",
    "save_scenario": "evfleet.scenario",
    "generate_scenario": "evfleet.inputs.generate",
    "ScenarioParams": "evfleet.inputs.generate",
    "load_catalog": "evfleet.inputs.catalog",
    "load_tariff": "evfleet.inputs.tariffs",
    "list_tariffs": "evfleet.inputs.tariffs",
    "simulate": "evfleet.simulation.simulate",
    "SimulationOptions": "evfleet.simulation.simulate",
    "RunResult": "evfleet.simulation.simulate",
    "LiveSimulation": "evfleet.simulation.live",
    "REGISTRY": "evfleet.strategies",
    "get_strategy": "evfleet.strategies",
    "Strategy": "evfleet.strategies.base",
    "StrategyError": "evfleet.strategies.base",
    "compute_kpis": "evfleet.analysis.kpis",
    "compare": "evfleet.analysis.compare",
    "Comparison": "evfleet.analysis.compare",
    "assess_grid_quality": "evfleet.gridquality.assess",
    "write_run_outputs": "evfleet.results.run_files",
    "load_run": "evfleet.results.run_files",
    "open_store": "evfleet.store.runs",
}
#: Names whose attribute in the module differs from the public name.
_ALIASES: dict[str, str] = {"assess_grid_quality": "assess"}

__all__ = [
    "REGISTRY",
    "Comparison",
    "EvfleetError",
    "InputError",
    "LiveSimulation",
    "RunError",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "ScenarioParams",
    "SimulationOptions",
    "Strategy",
    "StrategyError",
    "__version__",
    "assess_grid_quality",
    "compare",
    "compute_kpis",
    "generate_scenario",
    "get_strategy",
    "list_tariffs",
    "load_catalog",
    "load_run",
    "load_scenario",
    "load_tariff",
    "open_store",
    "save_scenario",
    "simulate",
    "write_run_outputs",
]

if TYPE_CHECKING:  # static type checkers and IDEs see the real objects
    from evfleet._common.errors import EvfleetError, InputError, RunError
    from evfleet.analysis.compare import Comparison, compare
    from evfleet.analysis.kpis import compute_kpis
    from evfleet.gridquality.assess import assess as assess_grid_quality
    from evfleet.inputs.catalog import load_catalog
    from evfleet.inputs.generate import ScenarioParams, generate_scenario
    from evfleet.inputs.tariffs import list_tariffs, load_tariff
    from evfleet.results.run_files import load_run, write_run_outputs
    from evfleet.scenario import Scenario, ScenarioError, load_scenario, save_scenario
    from evfleet.simulation.live import LiveSimulation
    from evfleet.simulation.simulate import RunResult, SimulationOptions, simulate
    from evfleet.store.runs import open_store
    from evfleet.strategies import REGISTRY, get_strategy
    from evfleet.strategies.base import Strategy, StrategyError


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562)."""
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'evfleet' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), _ALIASES.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
