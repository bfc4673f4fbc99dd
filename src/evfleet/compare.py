"""Compare strategies on the same scenario against the uncontrolled baseline.

Units: money [MAD], power [kW], energy [kWh], savings [MAD] and [%] of the baseline's net cost.
Every figure comes from a simulation of the same scenario; nothing is typed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from evfleet.kpis import compute_kpis
from evfleet.scenario import Scenario
from evfleet.simulate import RunResult, SimulationOptions, simulate
from evfleet.strategies import REGISTRY

__all__ = ["BASELINE", "Comparison", "compare", "comparison_table", "resolve_strategies"]

BASELINE = "uncontrolled"

#: Columns of ``comparison.csv`` (a public format; see docs).
COMPARISON_COLUMNS = [
    "strategy",
    "mode",
    "v2g",
    "net_cost_mad",
    "savings_mad",
    "savings_pct",
    "peak_import_kw",
    "load_factor",
    "v2g_energy_kwh",
    "v2g_revenue_mad",
    "unmet_energy_kwh",
    "runtime_s",
]


@dataclass(frozen=True, eq=False)
class Comparison:
    """Results of several strategies on one scenario (``results``/``kpis`` keyed by strategy name)."""

    scenario: Scenario
    options: SimulationOptions
    results: dict[str, RunResult] = field(default_factory=dict)
    kpis: dict[str, dict] = field(default_factory=dict)

    @property
    def table(self) -> pd.DataFrame:
        """One row per strategy (columns :data:`COMPARISON_COLUMNS`)."""
        return comparison_table(self.kpis)


def resolve_strategies(names: str | Sequence[str]) -> list[str]:
    """Expand ``"all"`` / a comma list into registered names, baseline first; raise naming an unknown one."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    out: list[str] = []
    for name in names:
        expanded = list(REGISTRY) if name == "all" else [name]
        for n in expanded:
            if n not in REGISTRY:
                raise ValueError(f"unknown strategy {n!r}; known: {', '.join(REGISTRY)}")
            if n not in out:
                out.append(n)
    if BASELINE in out:
        out.remove(BASELINE)
    return [BASELINE, *out]


def comparison_table(kpis: dict[str, dict]) -> pd.DataFrame:
    """Table of strategies with savings against the baseline's net cost (baseline must be present)."""
    if BASELINE not in kpis:
        raise ValueError(f"the comparison needs the {BASELINE!r} baseline")
    base_cost = kpis[BASELINE]["net_cost_mad"]
    rows = []
    for name, k in kpis.items():
        savings = base_cost - k["net_cost_mad"]
        rows.append(
            {
                "strategy": name,
                "mode": k["mode"],
                "v2g": k["v2g"],
                "net_cost_mad": k["net_cost_mad"],
                "savings_mad": savings,
                "savings_pct": 100.0 * savings / base_cost if base_cost else None,
                "peak_import_kw": k["peak_import_kw"],
                "load_factor": k["load_factor"],
                "v2g_energy_kwh": k["energy_discharged_kwh"],
                "v2g_revenue_mad": k["v2g_value_mad"],
                "unmet_energy_kwh": k["unmet_energy_kwh"],
                "runtime_s": k["runtime_s"],
            }
        )
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def compare(
    scenario: Scenario,
    strategies: str | Sequence[str] = "all",
    options: SimulationOptions | None = None,
) -> Comparison:
    """Simulate each strategy (and the baseline) on ``scenario`` with the same options."""
    opts = options or SimulationOptions()
    comp = Comparison(scenario=scenario, options=opts)
    for name in resolve_strategies(strategies):
        result = simulate(scenario, name, opts)
        comp.results[name] = result
        comp.kpis[name] = compute_kpis(result)
    return comp
