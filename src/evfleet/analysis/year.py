"""A year from representative days: each tariff season's weekdays and weekends, and Ramadan, with the power charge
billed monthly on each month's called power (``evfleet year``, ``docs/strategies.md``).

Units: money [MAD], power [kW], energy [kWh], days.

1. Every date of ``year`` gets a day type: ``ramadan-weekday`` / ``ramadan-weekend`` when Morocco's legal time is
   GMT+0 at noon that day (the time zone's own rule: Morocco keeps GMT+1 except during Ramadan), otherwise
   ``<season>-weekday`` / ``<season>-weekend`` with the tariff's season of the month (one season ``all`` if the
   tariff has none). Weekend = Saturday and Sunday. A type's weight is its number of dates; its representative date
   is its middle date (so its time posts, PV and legal time are those of the season).
2. Each type's day is generated from the scenario parameters with ``start`` = its date and ``days = 1`` (a weekend
   day runs ``round(weekend_fleet_share * vehicles)`` vehicles, an assumption), and every strategy plus both
   baselines is run on it (:func:`evfleet.analysis.compare.compare`).
3. ``energy_cost_mad`` (year) = Σ_types days × the day's :func:`~evfleet.analysis.cost.run_energy_cost_mad`;
   month m's called power = max over the types that have dates in m of the day's ``peak_import_kw``;
   ``power_charge_mad`` = ``demand_charge_mad_per_kw_month`` × Σ_m called power (an input, default 0: the shipped
   tariffs carry no sourced power charge); ``total_mad`` = energy + power. Savings against ``uncontrolled``,
   ``timer`` and the cheaper of the two, as in ``compare``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError
from evfleet._common.files import write_files_atomic
from evfleet.analysis.bill import weakest_status
from evfleet.analysis.compare import BASELINES, compare, resolve_strategies
from evfleet.analysis.cost import run_energy_cost_mad
from evfleet.inputs.generate import ScenarioParams, generate_scenario
from evfleet.inputs.tariffs import load_tariff
from evfleet.simulation.simulate import SimulationOptions

__all__ = ["DayType", "YearOptions", "YearResult", "aggregate_year", "day_types", "load_scenario_params", "run_year",
           "write_year"]  # fmt: skip


@dataclass(frozen=True)
class DayType:
    """A representative day: ``key``, ``season``, ``kind`` (weekday/weekend), ``ramadan``, its ``date`` (ISO),
    ``days`` (weight) and ``days_by_month`` (month 1-12 -> dates of this type in it)."""

    key: str
    season: str
    kind: str
    ramadan: bool
    date: str
    days: int
    days_by_month: dict[int, int]


@dataclass(frozen=True)
class YearOptions:
    """Options of :func:`run_year`: ``year``; ``strategies`` (besides both baselines); ``weekend_fleet_share``
    [0-1] (assumption 0.5); ``demand_charge_mad_per_kw_month`` [MAD/kW/month] (default 0, an assumption);
    ``mode`` and ``v2g`` as for a run."""

    year: int = 2026
    strategies: tuple[str, ...] = ("price_optimization",)
    weekend_fleet_share: float = 0.5
    demand_charge_mad_per_kw_month: float = 0.0
    mode: str = "offline"
    v2g: bool = True

    def validate(self) -> None:
        if not 1970 <= self.year <= 2100:
            raise InputError(f"option 'year' must be within 1970-2100 (value {self.year!r})")
        if not 0.0 <= self.weekend_fleet_share <= 1.0:
            raise InputError(f"option 'weekend_fleet_share' must be within 0-1 (value {self.weekend_fleet_share!r})")
        rate = self.demand_charge_mad_per_kw_month
        if not (math.isfinite(rate) and rate >= 0):
            raise InputError(f"option 'demand_charge_mad_per_kw_month' must be a number >= 0 (value {rate!r})")


def day_types(year: int, tariff_id: str, timezone: str = "Africa/Casablanca") -> list[DayType]:
    """The representative day types of ``year`` (see the module docstring), in calendar order of first date."""
    tariff = load_tariff(tariff_id)
    season_of = {m: name for name, s in tariff.seasons.items() for m in s.get("months", [])}
    dates = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
    noon = pd.DatetimeIndex([pd.Timestamp(f"{d.date().isoformat()} 12:00") for d in dates]).tz_localize(timezone)
    offset_h = np.array([t.utcoffset().total_seconds() / 3600.0 for t in noon])
    ramadan = offset_h == 0.0
    kind = np.where(dates.day_of_week >= 5, "weekend", "weekday")
    season = np.array([season_of.get(int(m), "all") for m in dates.month], dtype=object)
    keys = np.where(ramadan, "ramadan-" + kind, season.astype(str) + "-" + kind)
    out = []
    for key in dict.fromkeys(keys.tolist()):
        sel = np.flatnonzero(keys == key)
        months = pd.Series(dates.month[sel]).value_counts().sort_index()
        out.append(
            DayType(
                key=key,
                season="ramadan" if ramadan[sel[0]] else str(season[sel[0]]),
                kind=str(kind[sel[0]]),
                ramadan=bool(ramadan[sel[0]]),
                date=dates[sel[len(sel) // 2]].date().isoformat(),
                days=len(sel),
                days_by_month={int(m): int(c) for m, c in months.items()},
            )
        )
    return out


def aggregate_year(days: pd.DataFrame, demand_charge_mad_per_kw_month: float) -> pd.DataFrame:
    """Annual figures per strategy from one row per (day type, strategy).

    ``days`` columns: ``strategy``, ``day_type``, ``days`` (weight), ``energy_cost_mad`` (one day),
    ``peak_import_kw``, ``days_by_month`` (month -> dates), optionally ``cost_status`` (the day's ``bill_status``).
    Returns one row per strategy (input order): ``energy_cost_mad``, ``power_charge_mad``, ``total_mad``,
    ``max_called_power_kw``, ``called_power_kw_m01`` ... ``_m12`` and ``cost_status`` (the weakest status of the
    days' bills, ``assumption`` when a power charge rate is given: that rate is an input assumption).
    """
    rows = []
    for strategy, g in days.groupby("strategy", sort=False):
        energy = float((g["days"] * g["energy_cost_mad"]).sum())
        called = {}
        for m in range(1, 13):
            present = [p for p, dm in zip(g["peak_import_kw"], g["days_by_month"], strict=True) if dm.get(m, 0) > 0]
            called[m] = max(present) if present else 0.0
        power = demand_charge_mad_per_kw_month * sum(called.values())
        row = {"strategy": strategy, "energy_cost_mad": energy, "power_charge_mad": power, "total_mad": energy + power,
               "max_called_power_kw": max(called.values())}  # fmt: skip
        row.update({f"called_power_kw_m{m:02d}": called[m] for m in range(1, 13)})
        statuses = list(g["cost_status"]) if "cost_status" in g else ["assumption"]
        row["cost_status"] = weakest_status([*statuses, *(["assumption"] if power > 0 else [])])
        rows.append(row)
    out = pd.DataFrame(rows)
    for base in BASELINES:
        if base in set(out["strategy"]):
            cost = float(out.loc[out["strategy"] == base, "total_mad"].iloc[0])
            suffix = "" if base == "uncontrolled" else "_vs_timer"
            out[f"savings{suffix}_mad"] = cost - out["total_mad"]
    present = [b for b in BASELINES if b in set(out["strategy"])]
    if present:
        totals = out.set_index("strategy")["total_mad"]
        best = min(present, key=lambda b: totals[b])
        out["best_baseline"] = best
        out["savings_vs_best_baseline_mad"] = totals[best] - out["total_mad"]
    return out


@dataclass(frozen=True, eq=False)
class YearResult:
    """What :func:`run_year` computed: ``day_types``, ``days`` (one row per day type × strategy), ``annual`` (one
    row per strategy), ``headline`` and the inputs (``params``, ``options``)."""

    params: dict[str, Any]
    options: YearOptions
    day_types: list[DayType]
    days: pd.DataFrame
    annual: pd.DataFrame
    headline: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The ``year.json`` object."""

        def clean(x: Any) -> Any:
            if isinstance(x, float) and not math.isfinite(x):
                return None
            return x.item() if hasattr(x, "item") else x

        annual = [{k: clean(v) for k, v in r.items()} for r in self.annual.to_dict(orient="records")]
        return {
            "format": "evfleet.year/1",
            "year": self.options.year,
            "scenario_params": self.params,
            "options": asdict(self.options),
            "assumptions": {
                "weekend_fleet_share": "assumption: share of the fleet that works on a weekend day",
                "demand_charge_mad_per_kw_month": "assumption: no sourced power charge in the shipped tariffs; "
                "set your contract's",
            },
            "day_types": [asdict(d) for d in self.day_types],
            "annual": annual,
            "headline": {k: clean(v) for k, v in self.headline.items()},
        }


def _headline(annual: pd.DataFrame, flagged: set[str]) -> dict[str, Any]:
    totals = annual.set_index("strategy")["total_mad"]
    best = str(annual["best_baseline"].iloc[0])
    cands = [s for s in totals.index if s not in BASELINES and s not in flagged]
    status = annual.set_index("strategy")["cost_status"] if "cost_status" in annual else None
    out: dict[str, Any] = {"baseline": best, "baseline_total_mad": float(totals[best]), "strategy": None,
                           "total_mad": None, "savings_mad": None, "savings_pct": None,
                           "cost_status": None if status is None else str(status[best])}  # fmt: skip
    if cands:
        s = min(cands, key=lambda n: totals[n])
        sav = float(totals[best] - totals[s])
        out.update(strategy=s, total_mad=float(totals[s]), savings_mad=sav,
                   savings_pct=100.0 * sav / float(totals[best]) if totals[best] else None)  # fmt: skip
        if status is not None:
            out["cost_status"] = weakest_status((status[best], status[s]))
    return out


def run_year(params: ScenarioParams, options: YearOptions | None = None) -> YearResult:
    """Simulate the representative days of a year for ``params`` and aggregate them (module docstring)."""
    opts = options or YearOptions()
    opts.validate()
    params.validate()
    names = resolve_strategies(list(opts.strategies))
    types = day_types(opts.year, params.tariff, params.timezone)
    sim = SimulationOptions(mode=opts.mode, v2g=opts.v2g)
    rows = []
    flagged_all: dict[str, int] = {}
    for i, dt in enumerate(types):
        n = params.vehicles if dt.kind == "weekday" else max(1, round(opts.weekend_fleet_share * params.vehicles))
        day = ScenarioParams(**{**asdict(params), "start": dt.date, "days": 1, "vehicles": n,
                                "seed": params.seed + i, "composition": None if n != params.vehicles
                                else params.composition})  # fmt: skip
        comp = compare(generate_scenario(day), names, sim, v2g_value=False)
        for name, k in comp.kpis.items():
            rows.append({"day_type": dt.key, "date": dt.date, "days": dt.days, "vehicles": n, "strategy": name,
                         "energy_cost_mad": run_energy_cost_mad(k), "peak_import_kw": float(k["peak_import_kw"]),
                         "energy_charged_kwh": float(k["energy_charged_kwh"]),
                         "unmet_energy_kwh": float(k["unmet_energy_kwh"]),
                         "nothing_to_do": bool(k.get("nothing_to_do_reason")),
                         "cost_status": str(k.get("bill_status", "assumption")),
                         "days_by_month": dt.days_by_month})  # fmt: skip
            if k.get("nothing_to_do_reason"):
                flagged_all[name] = flagged_all.get(name, 0) + 1
    days = pd.DataFrame(rows)
    annual = aggregate_year(days, opts.demand_charge_mad_per_kw_month)
    flagged = {s for s, c in flagged_all.items() if c == len(types)}  # nothing to do on every day type
    annual["nothing_to_do"] = annual["strategy"].isin(flagged)
    record = {k: v for k, v in asdict(params).items() if v is not None}
    return YearResult(record, opts, types, days, annual, _headline(annual, flagged))


def load_scenario_params(path: str | Path) -> ScenarioParams:
    """Scenario parameters from a JSON file: an object of :class:`ScenarioParams` fields, or a generated scenario
    file (its ``generator.evfleet_params``). An unknown field is refused naming it."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a JSON file ({exc})") from None
    if not isinstance(data, Mapping):
        raise InputError(f"{path}: must hold a JSON object of scenario parameters")
    if "generator" in data:
        data = data["generator"].get("evfleet_params", {})
    valid = set(ScenarioParams.__dataclass_fields__)
    for key in data:
        if key not in valid:
            raise InputError(f"{path}: unknown scenario parameter {key!r} (valid: {', '.join(sorted(valid))})")
    data = {k: v for k, v in data.items() if k != "start"}  # the year sets each day's date
    return ScenarioParams(**data)


def write_year(result: YearResult, out_dir: str | Path) -> dict[str, Path]:
    """Write ``year.json``, ``year_days.csv`` and ``year_annual.csv`` into ``out_dir`` (all or nothing)."""
    days = result.days.drop(columns="days_by_month")
    files = {
        "year.json": (json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n").encode(),
        "year_days.csv": days.to_csv(index=False).encode(),
        "year_annual.csv": result.annual.to_csv(index=False).encode(),
    }
    return write_files_atomic(out_dir, files)


def annual_frame(result: YearResult, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The annual table (optionally only ``columns``)."""
    return result.annual if columns is None else result.annual[list(columns)]
