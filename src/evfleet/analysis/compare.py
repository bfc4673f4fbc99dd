"""Compare strategies on the same scenario against both baselines, ``uncontrolled`` and ``timer``.

Units: money [MAD], power [kW], energy [kWh], savings [MAD] and [%] of a baseline's cost.
Every figure comes from a simulation of the same scenario; nothing is typed in. Every cost is
:func:`evfleet.analysis.cost.run_cost_mad` of a run's KPIs (today ``net_cost_mad``).

* ``savings_mad``/``savings_pct``: against ``uncontrolled``; ``savings_vs_timer_mad``/``_pct``: against ``timer``;
  ``savings_vs_best_baseline_mad``/``_pct``: against the cheaper of the two (``best_baseline``), the headline.
* ``v2g_value_mad`` = cost of the same strategy run without V2G − cost of the run with V2G, on the same scenario
  with the same options (a second run; exactly 0 without a V2G-capable session or for a strategy that never
  discharges; ``None`` with V2G off).
* ``nothing_to_do``: the strategy's lever never binds on the scenario (:mod:`evfleet.analysis.levers`); its saving
  is then only its tie-breaker's, and the headline leaves it out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from evfleet._common.errors import InputError
from evfleet._common.files import write_csv_atomic, write_text_atomic
from evfleet.analysis.bill import weakest_status
from evfleet.analysis.cost import run_cost_mad
from evfleet.analysis.kpis import compute_kpis
from evfleet.analysis.levers import nothing_to_do
from evfleet.scenario import Scenario
from evfleet.simulation.simulate import RunResult, SimulationOptions, simulate
from evfleet.strategies import REGISTRY

__all__ = [
    "BASELINE",
    "BASELINES",
    "CLI_COLUMNS",
    "COMPARISON_COLUMNS",
    "NEVER_DISCHARGES",
    "SAVING_KEYS",
    "Comparison",
    "baseline_savings",
    "best_baseline",
    "compare",
    "comparison_markdown",
    "comparison_table",
    "headline_saving",
    "headline_text",
    "needs_no_v2g_run",
    "resolve_strategies",
    "v2g_value_of",
    "write_comparison",
]

BASELINE = "uncontrolled"
#: The two baselines every comparison runs, in this order: no EMS at all, and a plain heures-creuses timer.
BASELINES = ("uncontrolled", "timer")
#: Strategies that never discharge: their V2G and no-V2G runs are the same run (no second run needed).
NEVER_DISCHARGES = frozenset({"uncontrolled", "timer", "load_balancing"})

#: The keys :func:`baseline_savings` returns (also columns of ``comparison.csv`` and of a sweep's result table).
SAVING_KEYS = (
    "savings_mad",
    "savings_pct",
    "savings_vs_timer_mad",
    "savings_vs_timer_pct",
    "best_baseline",
    "savings_vs_best_baseline_mad",
    "savings_vs_best_baseline_pct",
)


#: Columns of ``comparison.csv`` (a public format; see docs).
COMPARISON_COLUMNS = [
    "strategy",
    "mode",
    "v2g",
    "net_cost_mad",
    *SAVING_KEYS,
    "peak_import_kw",
    "load_factor",
    "v2g_energy_kwh",
    "v2g_value_mad",
    "unmet_energy_kwh",
    "nothing_to_do",
    "nothing_to_do_reason",
    "runtime_s",
    "cost_status",
]

#: The columns ``evfleet compare`` prints (the files hold all of :data:`COMPARISON_COLUMNS`).
CLI_COLUMNS = [
    "strategy",
    "mode",
    "net_cost_mad",
    "savings_mad",
    "savings_vs_timer_mad",
    "savings_vs_best_baseline_pct",
    "peak_import_kw",
    "v2g_energy_kwh",
    "v2g_value_mad",
    "unmet_energy_kwh",
    "nothing_to_do",
    "runtime_s",
    "cost_status",
]


@dataclass(frozen=True, eq=False)
class Comparison:
    """Results of several strategies on one scenario (``results``/``kpis`` keyed by strategy name).

    ``kpis[name]`` is the run's :func:`compute_kpis` plus ``v2g_value_mad`` and ``nothing_to_do_reason``;
    ``no_v2g_results`` holds the second runs without V2G behind ``v2g_value_mad``.
    """

    scenario: Scenario
    options: SimulationOptions
    results: dict[str, RunResult] = field(default_factory=dict)
    kpis: dict[str, dict] = field(default_factory=dict)
    no_v2g_results: dict[str, RunResult] = field(default_factory=dict)

    @property
    def headline(self) -> dict[str, Any]:
        """:func:`headline_saving` of this comparison."""
        return headline_saving(self.kpis)

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
    rest = [n for n in out if n not in BASELINES]
    return [*BASELINES, *rest]


def best_baseline(kpis: Mapping[str, Mapping[str, Any]]) -> str:
    """The cheaper baseline present in ``kpis`` (by :func:`run_cost_mad`; ``uncontrolled`` on a tie)."""
    present = [b for b in BASELINES if b in kpis]
    if not present:
        raise InputError(f"the comparison needs the {BASELINE!r} baseline")
    return min(present, key=lambda b: run_cost_mad(kpis[b]))


def _saving(base: Mapping[str, Any] | None, k: Mapping[str, Any]) -> tuple[float | None, float | None]:
    if base is None:
        return None, None
    base_cost = run_cost_mad(base)
    sav = base_cost - run_cost_mad(k)
    return sav, (100.0 * sav / base_cost if base_cost else None)


def baseline_savings(baselines: Mapping[str, Mapping[str, Any]], k: Mapping[str, Any]) -> dict[str, Any]:
    """Savings of the run with KPIs ``k`` against each baseline in ``baselines`` (KPIs by baseline name, at least
    one of :data:`BASELINES`) and against the cheaper one (:func:`best_baseline`), in [MAD] and [%] of that
    baseline's cost; a missing baseline gives ``None``. Keys :data:`SAVING_KEYS`. The one rule behind
    ``compare``, the headline, sweeps and fleets."""
    best = best_baseline(baselines)
    sav_u, pct_u = _saving(baselines.get(BASELINE), k)
    sav_t, pct_t = _saving(baselines.get("timer"), k)
    sav_b, pct_b = _saving(baselines[best], k)
    return {
        "savings_mad": sav_u,
        "savings_pct": pct_u,
        "savings_vs_timer_mad": sav_t,
        "savings_vs_timer_pct": pct_t,
        "best_baseline": best,
        "savings_vs_best_baseline_mad": sav_b,
        "savings_vs_best_baseline_pct": pct_b,
    }


def _v2g_value(k: Mapping[str, Any]) -> float | None:
    """``v2g_value_mad`` of a comparison's KPIs. Records written before the rename (no ``v2g_displaced_cost_mad``
    key) held the gross displaced cost under that name: it is not a value, so it is not shown (``None``)."""
    return k.get("v2g_value_mad") if "v2g_displaced_cost_mad" in k else None


def comparison_table(kpis: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Table of strategies with savings against each baseline and against the cheaper one (a baseline must be
    present). ``v2g_value_mad`` and ``nothing_to_do`` come from the comparison's KPIs (:func:`compare` adds them;
    absent in older stored comparisons: ``None`` / False)."""
    baselines = {b: kpis[b] for b in BASELINES if b in kpis}
    rows = []
    for name, k in kpis.items():
        reason = k.get("nothing_to_do_reason")
        rows.append(
            {
                "strategy": name,
                "mode": k["mode"],
                "v2g": k["v2g"],
                "net_cost_mad": run_cost_mad(k),
                **baseline_savings(baselines, k),
                "peak_import_kw": k["peak_import_kw"],
                "load_factor": k["load_factor"],
                "v2g_energy_kwh": k["energy_discharged_kwh"],
                "v2g_value_mad": _v2g_value(k),
                "unmet_energy_kwh": k["unmet_energy_kwh"],
                "nothing_to_do": bool(reason),
                "nothing_to_do_reason": reason or "",
                "runtime_s": k["runtime_s"],
                "cost_status": k.get("bill_status", "assumption"),
            }
        )
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def headline_saving(kpis: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The headline: the cheapest strategy that is not a baseline and has something to do, and its saving against
    the cheaper baseline. Keys ``baseline``, ``baseline_cost_mad``, ``strategy`` (``None`` when no strategy
    qualifies), ``cost_mad``, ``savings_mad``, ``savings_pct``."""
    best = best_baseline(kpis)
    base_cost = run_cost_mad(kpis[best])
    candidates = [n for n, k in kpis.items() if n not in BASELINES and not k.get("nothing_to_do_reason")]
    out: dict[str, Any] = {"baseline": best, "baseline_cost_mad": base_cost, "strategy": None, "cost_mad": None,
                           "savings_mad": None, "savings_pct": None}  # fmt: skip
    if candidates:
        name = min(candidates, key=lambda n: run_cost_mad(kpis[n]))
        sav, pct = _saving(kpis[best], kpis[name])
        out.update(strategy=name, cost_mad=run_cost_mad(kpis[name]), savings_mad=sav, savings_pct=pct)
    return out


def needs_no_v2g_run(scenario: Scenario, name: str) -> bool:
    """Whether ``v2g_value_mad`` of strategy ``name`` on ``scenario`` (V2G on) needs a second run without V2G:
    the scenario has a V2G-capable session and the strategy may discharge (else the value is exactly 0)."""
    return bool((scenario.vehicles.max_discharge_kw > 0).any()) and name not in NEVER_DISCHARGES


def v2g_value_of(kpis: Mapping[str, Any], without_kpis: Mapping[str, Any] | None) -> float:
    """``v2g_value_mad`` [MAD] of a run with V2G (``kpis``): the cost of the same run without V2G (``without_kpis``)
    minus its cost; ``None`` for ``without_kpis`` when :func:`needs_no_v2g_run` is False (the value is then 0.0:
    the run without V2G is this same run)."""
    if without_kpis is None:
        return 0.0
    return run_cost_mad(without_kpis) - run_cost_mad(kpis)


def compare(
    scenario: Scenario,
    strategies: str | Sequence[str] = "all",
    options: SimulationOptions | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    v2g_value: bool = True,
) -> Comparison:
    """Simulate each strategy (and both baselines) on ``scenario`` with the same options.

    ``params`` maps a strategy name to its parameters (e.g. ``{"grid_support": {"reserve_price": 0.2}}``). With
    V2G on and ``v2g_value`` True, each strategy that can discharge is run a second time without V2G for
    ``v2g_value_mad`` (see the module docstring).
    """
    opts = options or SimulationOptions()
    comp = Comparison(scenario=scenario, options=opts)
    params = params or {}
    for name in resolve_strategies(strategies):
        kw = dict(params.get(name, {}))
        result = simulate(scenario, name, opts, **kw)
        comp.results[name] = result
        k = compute_kpis(result)
        k["v2g_value_mad"] = None
        if opts.v2g and v2g_value:
            without_kpis = None
            if needs_no_v2g_run(scenario, name):
                without = simulate(scenario, name, dataclasses.replace(opts, v2g=False), **kw)
                comp.no_v2g_results[name] = without
                without_kpis = compute_kpis(without)
            k["v2g_value_mad"] = v2g_value_of(k, without_kpis)
        k["nothing_to_do_reason"] = nothing_to_do(name, result)
        comp.kpis[name] = k
    return comp


def _fmt(x: Any) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return ""
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:,.2f}" if abs(x) >= 100 else f"{x:.4g}"
    return str(x)


def headline_text(comp_or_kpis: Comparison | Mapping[str, Mapping[str, Any]]) -> str:
    """The headline sentence: the best strategy's saving against the cheaper baseline (both named)."""
    kpis = comp_or_kpis.kpis if isinstance(comp_or_kpis, Comparison) else comp_or_kpis
    h = headline_saving(kpis)
    st = {n: str(k.get("bill_status", "assumption")) for n, k in kpis.items()}
    base = f"`{h['baseline']}` ({_fmt(h['baseline_cost_mad'])} MAD, {st[h['baseline']]}), the cheaper baseline"
    if h["strategy"] is None:
        return f"no strategy with something to do was compared against {base}"
    pct = "" if h["savings_pct"] is None else f" ({h['savings_pct']:.2f} %)"
    verb = "saves" if h["savings_mad"] >= 0 else "costs"
    both = weakest_status((st[h["strategy"]], st[h["baseline"]]))
    return (f"`{h['strategy']}` {verb} {_fmt(abs(h['savings_mad']))} MAD ({both}){pct} against {base}; "
            f"its cost {_fmt(h['cost_mad'])} MAD ({st[h['strategy']]})")  # fmt: skip


_SAVING_COLUMNS = ("savings_mad", "savings_pct", "savings_vs_timer_mad", "savings_vs_timer_pct",
                   "savings_vs_best_baseline_mad", "savings_vs_best_baseline_pct")  # fmt: skip


def comparison_markdown(comp: Comparison) -> str:
    """``comparison.md``: a header naming the scenario and options, the headline saving (against the cheaper
    baseline), the strategies with nothing to do, then the table in Markdown (a strategy with nothing to do shows
    "nothing to do" instead of its savings)."""
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
        f"- savings are against `{BASELINE}` (`savings_*`), `timer` (`savings_vs_timer_*`) and the cheaper of the "
        "two (`savings_vs_best_baseline_*`) on the same scenario; every figure comes from a simulation",
        "- `v2g_value_mad` = the strategy's cost without V2G − its cost with V2G (a second run of the same scenario)",
        "- cost: `net_cost_mad` = the bill before VAT (energy, power charge, overrun, cos phi penalty, fixed fees) - "
        "export revenue + degradation (docs/tariffs.md); "
        f"tariff `{comp.kpis[BASELINE].get('bill_tariff', '-')}`; the status of the values each MAD figure is "
        "built on follows it in brackets",
        "",
        f"**Headline:** {headline_text(comp)}.",
        "",
    ]
    flagged = table[table["nothing_to_do"]]
    if len(flagged):
        lines.append("**Nothing to do** (the lever never binds on this scenario; savings are a tie-breaker's):")
        lines.append("")
        lines += [f"- `{r.strategy}`: {r.nothing_to_do_reason}" for r in flagged.itertuples(index=False)]
        lines.append("")
    lines += [
        "| " + " | ".join(table.columns) + " |",
        "|" + "|".join("---" for _ in table.columns) + "|",
    ]
    for row in table.to_dict(orient="records"):
        cells = []
        for col, x in row.items():
            if row["nothing_to_do"] and col in _SAVING_COLUMNS:
                cells.append("nothing to do")
            elif col.endswith("_mad") and _fmt(x) and row.get("cost_status"):
                cells.append(f"{_fmt(x)} ({row['cost_status']})")
            else:
                cells.append(_fmt(x))
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
