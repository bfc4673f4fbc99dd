"""Compare strategies on the same scenario against the uncontrolled baseline.

Units: money [MAD], power [kW], energy [kWh], savings [MAD] and [%] of the baseline's net cost.
Every figure comes from a simulation of the same scenario; nothing is typed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from evfleet._common.errors import InputError
from evfleet._common.files import write_csv_atomic, write_text_atomic
from evfleet.analysis.kpis import compute_kpis
from evfleet.scenario import Scenario
from evfleet.simulation.simulate import RunResult, SimulationOptions, simulate
from evfleet.strategies import REGISTRY

__all__ = [
    "BASELINE",
    "COMPARISON_COLUMNS",
    "Comparison",
    "compare",
    "comparison_markdown",
    "comparison_table",
    "resolve_strategies",
    "write_comparison",
]

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
    "cost_status",
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
                raise InputError(f"unknown strategy {n!r}; known: {', '.join(REGISTRY)}")
            if n not in out:
                out.append(n)
    if BASELINE in out:
        out.remove(BASELINE)
    return [BASELINE, *out]


def comparison_table(kpis: dict[str, dict]) -> pd.DataFrame:
    """Table of strategies with savings against the baseline's net cost (baseline must be present)."""
    if BASELINE not in kpis:
        raise InputError(f"the comparison needs the {BASELINE!r} baseline")
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
                "cost_status": k.get("bill_status", "assumption"),
            }
        )
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def compare(
    scenario: Scenario,
    strategies: str | Sequence[str] = "all",
    options: SimulationOptions | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
) -> Comparison:
    """Simulate each strategy (and the baseline) on ``scenario`` with the same options.

    ``params`` maps a strategy name to its parameters (e.g. ``{"grid_support": {"reserve_price": 0.2}}``).
    """
    opts = options or SimulationOptions()
    comp = Comparison(scenario=scenario, options=opts)
    params = params or {}
    for name in resolve_strategies(strategies):
        result = simulate(scenario, name, opts, **dict(params.get(name, {})))
        comp.results[name] = result
        comp.kpis[name] = compute_kpis(result)
    return comp


def _fmt(x: Any) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return ""
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:,.2f}" if abs(x) >= 100 else f"{x:.4g}"
    return str(x)


def comparison_markdown(comp: Comparison) -> str:
    """``comparison.md``: a header naming the scenario and options, then the table in Markdown."""
    table = comp.table
    sc = comp.scenario
    o = comp.options
    lines = [
        f"# Strategy comparison: {sc.name}",
        "",
        f"- scenario sha256: `{sc.content_hash}`",
        f"- {sc.n_vehicles} sessions, {sc.n_steps} steps of {sc.step_minutes} min from {sc.start.isoformat()}",
        f"- mode: {o.mode}, V2G: {'on' if o.v2g else 'off'}, horizon {o.horizon_h:g} h, "
        f"forecast noise {o.forecast_noise:g}, seed {o.seed}",
        f"- savings are against `{BASELINE}` on the same scenario; every figure comes from a simulation",
        "- cost: `net_cost_mad` = the bill before VAT (energy, power charge, overrun, cos phi penalty, fixed fees) - "
        "export revenue + degradation (docs/tariffs.md); "
        f"tariff `{comp.kpis[BASELINE].get('bill_tariff', '-')}`; the status of the values each MAD figure is "
        "built on follows it in brackets",
        "",
        "| " + " | ".join(table.columns) + " |",
        "|" + "|".join("---" for _ in table.columns) + "|",
    ]
    for row in table.to_dict(orient="records"):
        cells = [
            f"{_fmt(v)} ({row['cost_status']})" if c.endswith("_mad") and _fmt(v) else _fmt(v) for c, v in row.items()
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_comparison(comp: Comparison, out_dir: str | Path) -> dict[str, Path]:
    """Write ``comparison.csv`` and ``comparison.md`` into ``out_dir`` (created if needed)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "comparison.csv", "md": out / "comparison.md"}
    write_csv_atomic(comp.table, paths["csv"])
    write_text_atomic(paths["md"], comparison_markdown(comp))
    return paths
