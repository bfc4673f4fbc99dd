"""Multi-depot fleets: several depots, each an independent problem, run in parallel on one Dask client.

Units: power [kW], energy [kWh], money [MAD], PV peak [kWp], SOC fraction 0-1.

A fleet file (YAML or JSON, format in ``docs/sweep.md``) names the depots::

    name: casablanca-region
    upstream_limit_kw: 2500              # optional: reported against, not yet enforced (see below)
    depots:
      - name: ain-sebaa
        scenario: ain-sebaa.json         # a scenario file, relative to the fleet file ...
        import_limit_kw: 900             # ... with optional site overrides
      - name: bouskoura
        generate: {vehicles: 150, seed: 2, start: 2026-06-01}   # ... or `scenario new` options
        import_limit_kw: 600
        pv_kwp: 100
        tariff: onee_bt_bihoraire

Each (depot, strategy) pair is one Dask task; the depot's scenario is built once (one task) and shared by its
strategies. Fleet-wide KPIs are sums over depots, plus the *coincident* fleet peak: the maximum over time of the
sum of the depots' net site power [kW] on a common UTC time axis (depots with the same step length), which is what
an upstream transformer or a shared grid contract sees; the sum of the depots' own peaks is reported beside it.

Shared upstream limit (a later step, designed for): today ``upstream_limit_kw`` is only checked (steps over the
limit and the largest excess are reported). Enforcing it couples the depots through one constraint
``sum_d site_d[t] <= U[t]``; the intended method is dual decomposition, which keeps this module's structure: a
coordinator on the client holds one price ``lambda[t] >= 0`` [MAD/kWh] per step, adds it to every depot's import
price (``Scenario.replace(price_import_mad_per_kwh=...)``), re-solves the depots in parallel as here, and updates
``lambda[t] += step * (sum_d site_d[t] - U[t])`` (projected at 0) until the coupled constraint holds; the
per-depot tasks, the shared client and the coincident-sum KPI above are the pieces it reuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError, InputFileNotFoundError
from evfleet._common.structured import read_structured_file
from evfleet._common.tolerances import POWER_EPS_KW
from evfleet.analysis.bill import weakest_status
from evfleet.analysis.compare import BASELINE, comparison_table
from evfleet.analysis.kpis import compute_kpis
from evfleet.batch.spec import SCENARIO_KEYS, SpecError, coerce_value, scenario_path
from evfleet.inputs.generate import ScenarioParams, generate_scenario
from evfleet.inputs.overrides import OVERRIDE_KEYS, apply_site_overrides
from evfleet.scenario import ScenarioError, load_scenario
from evfleet.simulation.simulate import SimulationOptions, simulate
from evfleet.strategies import REGISTRY

__all__ = [
    "DepotSpec",
    "Fleet",
    "FleetRun",
    "build_depot_scenario",
    "fleet_kpis",
    "is_fleet_file",
    "load_fleet",
    "parse_fleet",
    "run_fleet",
]

_DEPOT_KEYS = ("name", "scenario", "generate", *OVERRIDE_KEYS)
_FLEET_KEYS = ("name", "depots", "upstream_limit_kw")
#: KPIs summed over depots for the fleet-wide row.
SUMMED_KPIS = (
    "n_vehicles",
    "energy_charged_kwh",
    "energy_discharged_kwh",
    "import_energy_kwh",
    "export_energy_kwh",
    "import_cost_mad",
    "export_revenue_mad",
    "degradation_cost_mad",
    "net_cost_mad",
    "v2g_displaced_cost_mad",
    "curtailed_energy_kwh",
    "unmet_energy_kwh",
    "vehicles_unmet",
    "pv_energy_kwh",
    "site_over_limit_steps",
    "runtime_s",
)


@dataclass(frozen=True)
class DepotSpec:
    """One depot: a scenario file or generation parameters, plus site overrides."""

    name: str
    scenario_file: Path | None = None
    generate: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Fleet:
    """Depots of a fleet file; ``upstream_limit_kw`` [kW] is checked, not yet enforced."""

    name: str
    depots: tuple[DepotSpec, ...]
    upstream_limit_kw: float | None = None
    origin: str = "<fleet>"


def _read_mapping(path: Path) -> Any:
    return read_structured_file(path, as_yaml=path.suffix.lower() != ".json")


def is_fleet_file(path: str | Path) -> bool:
    """True if ``path`` is a fleet file (a mapping with a ``depots`` list) rather than a scenario file."""
    p = Path(path)
    if not p.is_file() or p.suffix.lower() not in (".yaml", ".yml", ".json"):
        return False
    try:
        data = _read_mapping(p)
    except Exception:
        return False
    return isinstance(data, dict) and "depots" in data and "format" not in data


def parse_fleet(data: Any, origin: str = "<fleet>", base_dir: Path | None = None) -> Fleet:
    """Validate a fleet mapping; errors name the depot, key and value."""
    if not isinstance(data, dict) or not isinstance(data.get("depots"), list) or not data["depots"]:
        raise SpecError(f"{origin}: a fleet file needs a non-empty 'depots' list (value {data!r:.200})")
    for key in data:
        if key not in _FLEET_KEYS:
            raise SpecError(f"{origin}: unknown key {key!r}; known: {', '.join(_FLEET_KEYS)}")
    upstream = data.get("upstream_limit_kw")
    if upstream is not None:
        upstream = coerce_value("import_limit_kw", upstream, f"{origin}: upstream_limit_kw")
        if upstream <= 0:
            raise SpecError(f"{origin}: upstream_limit_kw must be > 0 (value {upstream!r})")
    depots: list[DepotSpec] = []
    for i, raw in enumerate(data["depots"]):
        where = f"{origin}: depots[{i}]"
        if not isinstance(raw, dict):
            raise SpecError(f"{where} must be a mapping (value {raw!r})")
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip() or "/" in name or name in (".", ".."):
            raise SpecError(f"{where}.name must be a non-empty name without '/' (value {name!r})")
        where = f"{origin}: depot {name!r}"
        if name in {d.name for d in depots}:
            raise SpecError(f"{where}: the name is used twice (value {name!r})")
        for key in raw:
            if key not in _DEPOT_KEYS:
                raise SpecError(f"{where}: unknown key {key!r}; known: {', '.join(_DEPOT_KEYS)}")
        has_file, has_gen = "scenario" in raw, "generate" in raw
        if has_file == has_gen:
            raise SpecError(f"{where}: give exactly one of 'scenario' (a file) or 'generate' (parameters)")
        overrides = {}
        for key in OVERRIDE_KEYS:
            if key in raw and raw[key] is not None:
                overrides[key] = coerce_value(key, raw[key], f"{where}.{key}")
        scenario_file = None
        generate: dict[str, Any] = {}
        if has_file:
            scenario_file = scenario_path(raw["scenario"], base_dir, f"{where}.scenario")
        else:
            gen = raw["generate"]
            if not isinstance(gen, dict):
                raise SpecError(f"{where}.generate must be a mapping of `scenario new` options (value {gen!r})")
            for key, value in gen.items():
                k = key.replace("-", "_") if isinstance(key, str) else key
                if k not in SCENARIO_KEYS:
                    raise SpecError(f"{where}.generate: unknown key {key!r}; known: {', '.join(SCENARIO_KEYS)}")
                generate[k] = coerce_value(k, value, f"{where}.generate.{key}")
            generate.update(overrides)  # site keys are generation parameters of a generated depot
            generate.setdefault("name", name)

            try:
                ScenarioParams(**generate).validate()
            except ScenarioError as exc:
                raise SpecError(f"{where}.generate: {exc}") from None
            overrides = {}
        depots.append(DepotSpec(name=name, scenario_file=scenario_file, generate=generate, overrides=overrides))
    name = data.get("name") or (Path(origin).stem if origin != "<fleet>" else "fleet")
    return Fleet(name=str(name), depots=tuple(depots), upstream_limit_kw=upstream, origin=origin)


def load_fleet(path: str | Path) -> Fleet:
    """Read and validate a fleet file (YAML or JSON)."""
    p = Path(path)
    if not p.is_file():
        raise InputFileNotFoundError(f"fleet file not found: {p}")
    try:
        data = _read_mapping(p)
    except InputError as exc:
        raise SpecError(str(exc)) from None
    return parse_fleet(data, origin=str(p), base_dir=p.parent)


# --- tasks ------------------------------------------------------------------------------------------------------


def build_depot_scenario(depot: DepotSpec) -> Any:
    """The depot's :class:`~evfleet.scenario.Scenario` (generated, or loaded with its site overrides)."""

    if depot.scenario_file is not None:
        return apply_site_overrides(load_scenario(depot.scenario_file), **depot.overrides)
    return generate_scenario(**depot.generate)


def _run_depot(
    scenario: Any, strategy: str, options: Any, params: dict[str, Any] | None = None
) -> tuple[Any, dict[str, Any]]:

    result = simulate(scenario, strategy, options, **(params or {}))
    return result, compute_kpis(result)


# --- fleet KPIs -------------------------------------------------------------------------------------------------


def _coincident_site_kw(results: Sequence[Any]) -> pd.Series | None:
    """Sum of the depots' net site power [kW] on a common UTC time axis (None if step lengths differ)."""
    steps = {r.scenario.step_minutes for r in results}
    if len(steps) != 1:
        return None
    series = [pd.Series(r.site_kw, index=r.scenario.times.tz_convert("UTC")) for r in results]
    return pd.concat(series, axis=1).fillna(0.0).sum(axis=1)


def fleet_kpis(results: Sequence[Any], kpis: Sequence[dict[str, Any]], upstream_limit_kw: float | None = None) -> dict:
    """Fleet-wide KPIs of one strategy over its depots' runs (sums, coincident peak, upstream check)."""
    out: dict[str, Any] = {"depot": "(fleet)", "strategy": kpis[0]["strategy"], "mode": kpis[0]["mode"]}
    out["v2g"] = kpis[0]["v2g"]
    out["depots"] = len(kpis)
    for key in SUMMED_KPIS:
        out[key] = (
            float(sum(k[key] for k in kpis)) if key.endswith(("_kwh", "_mad", "_s")) else int(sum(k[key] for k in kpis))
        )
    out["bill_status"] = weakest_status(k.get("bill_status", "assumption") for k in kpis)  # of the depots' bills
    n = out["n_vehicles"]
    out["vehicles_served_pct"] = 100.0 * (n - out["vehicles_unmet"]) / n if n else 100.0
    out["sum_of_depot_peaks_kw"] = float(sum(k["peak_import_kw"] for k in kpis))
    site = _coincident_site_kw(results)
    if site is None:
        out["peak_import_kw"] = None
        out["load_factor"] = None
        out["upstream_over_limit_steps"] = None
    else:
        imp = np.maximum(site.to_numpy(), 0.0)
        out["peak_import_kw"] = float(imp.max())
        out["load_factor"] = float(imp.mean() / imp.max()) if imp.max() > 0 else None
        out["diversity_factor"] = out["sum_of_depot_peaks_kw"] / out["peak_import_kw"] if imp.max() > 0 else None
        if upstream_limit_kw is not None:
            excess = imp - upstream_limit_kw
            out["upstream_limit_kw"] = float(upstream_limit_kw)
            out["upstream_over_limit_steps"] = int((excess > POWER_EPS_KW).sum())
            out["upstream_max_excess_kw"] = float(max(excess.max(), 0.0))
    return out


# --- running ----------------------------------------------------------------------------------------------------


@dataclass
class FleetRun:
    """Per-(depot, strategy) results and KPIs, and the tables built from them."""

    fleet: Fleet
    strategies: list[str]
    results: dict[tuple[str, str], Any]
    kpis: dict[tuple[str, str], dict[str, Any]]

    def depot_table(self) -> pd.DataFrame:
        """One row per depot and strategy (all KPIs), then one fleet-wide row per strategy."""
        rows = []
        for s in self.strategies:
            for d in self.fleet.depots:
                rows.append({"depot": d.name, **self.kpis[(d.name, s)]})
        for s in self.strategies:
            rows.append(self.fleet_row(s))
        return pd.DataFrame(rows)

    def fleet_row(self, strategy: str) -> dict[str, Any]:
        names = [d.name for d in self.fleet.depots]
        return fleet_kpis(
            [self.results[(n, strategy)] for n in names],
            [self.kpis[(n, strategy)] for n in names],
            self.fleet.upstream_limit_kw,
        )


def run_fleet(
    fleet: Fleet | str | Path,
    strategies: str | Sequence[str] = "uncontrolled",
    options: Any = None,
    client: Any = None,
    strategy_params: dict[str, dict[str, Any]] | None = None,
) -> FleetRun:
    """Run each strategy on each depot: one Dask task per (depot, strategy) on ``client``, or serially if None.

    ``strategy_params`` maps a strategy name to its keyword parameters (as ``analysis.compare.compare`` takes them).

    The depots are independent problems (no shared limit is enforced yet; see the module docstring).
    """

    if not isinstance(fleet, Fleet):
        fleet = load_fleet(fleet)
    names = [strategies] if isinstance(strategies, str) else list(strategies)
    for s in names:
        if s not in REGISTRY:
            raise InputError(f"unknown strategy {s!r}; known: {', '.join(REGISTRY)}")
    opts = options or SimulationOptions()
    opts.validate()
    pairs = [(d.name, s) for s in names for d in fleet.depots]
    params = strategy_params or {}
    if client is None:
        scenarios = {d.name: build_depot_scenario(d) for d in fleet.depots}
        done = {(d, s): _run_depot(scenarios[d], s, opts, params.get(s)) for d, s in pairs}
    else:
        sc_futures = {d.name: client.submit(build_depot_scenario, d, pure=False) for d in fleet.depots}
        futures = {
            (d, s): client.submit(_run_depot, sc_futures[d], s, opts, params.get(s), pure=False) for d, s in pairs
        }
        try:
            gathered = client.gather(list(futures.values()))
        except KeyboardInterrupt:
            client.cancel([*futures.values(), *sc_futures.values()])
            raise
        done = dict(zip(futures, gathered, strict=True))
    return FleetRun(
        fleet=fleet,
        strategies=names,
        results={k: v[0] for k, v in done.items()},
        kpis={k: v[1] for k, v in done.items()},
    )


def fleet_comparison_table(run: FleetRun) -> pd.DataFrame:
    """Per depot and fleet-wide: the comparison columns against each depot's (and the fleet's) baseline."""

    frames = []
    for d in run.fleet.depots:
        t = comparison_table({s: run.kpis[(d.name, s)] for s in run.strategies})
        t.insert(0, "depot", d.name)
        frames.append(t)
    fleet_rows = {s: run.fleet_row(s) for s in run.strategies}
    t = comparison_table(fleet_rows) if BASELINE in fleet_rows else pd.DataFrame()
    if not t.empty:
        t.insert(0, "depot", "(fleet)")
        frames.append(t)
    return pd.concat(frames, ignore_index=True)
