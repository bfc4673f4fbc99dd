"""Economic, grid and fleet KPIs computed from a :class:`~evfleet.simulation.simulate.RunResult`.

Units: energy [kWh] (grid side unless named ``battery``), power [kW], money [MAD], shares [%].

Definitions (the contract, see ``docs/model.md``):
``import_cost_mad = Σ max(site,0)·price_import·dt``; ``export_revenue_mad = Σ max(-site,0)·price_export·dt``;
``degradation_cost_mad = degradation_mad_per_kwh · energy_discharged_kwh``;
``net_cost_mad = import_cost_mad - export_revenue_mad + degradation_cost_mad``;
``load_factor = mean(max(site,0)) / peak_import_kw``; ``peak_to_average = 1 / load_factor``;
``pv_self_consumption_pct = 100·(1 - min(export, pv)/pv)`` summed over the run (``null`` without PV);
``v2g_value_mad``: discharged energy valued at the price it displaced (import price while the site imports,
export price while it exports).
"""

from __future__ import annotations

import math

import numpy as np

from evfleet.simulation.simulate import RunResult

__all__ = ["compute_kpis", "cost_by_period", "fleet_state_counts", "step_table_columns"]


def _f(x: float) -> float | None:
    """A JSON-safe float (``None`` for NaN/inf)."""
    x = float(x)
    return x if math.isfinite(x) else None


def fleet_state_counts(result: RunResult) -> dict[str, np.ndarray]:
    """Per step (T,): number of vehicles connected, charging (p > 0), discharging (p < 0) and idle."""
    v = result.scenario.vehicles
    t = np.arange(result.scenario.n_steps)
    conn = (v.arrival_step[:, None] <= t[None, :]) & (t[None, :] < v.departure_step[:, None])
    p = result.power_kw
    charging = (p > 1e-6).sum(axis=0)
    discharging = (p < -1e-6).sum(axis=0)
    connected = conn.sum(axis=0)
    return {
        "connected": connected,
        "charging": charging,
        "discharging": discharging,
        "idle": connected - charging - discharging,
    }


def cost_by_period(result: RunResult) -> dict[str, float]:
    """Import cost per tariff period [MAD]."""
    sc = result.scenario
    cost = np.maximum(result.site_kw, 0.0) * sc.price_import_mad_per_kwh * sc.dt_h
    periods = sc.tou_period
    return {str(p): float(cost[periods == p].sum()) for p in dict.fromkeys(periods.tolist())}


def compute_kpis(result: RunResult) -> dict[str, float | int | str | None]:
    """All KPIs of a run as a flat JSON-ready dict (see module docstring for definitions)."""
    sc = result.scenario
    dt = sc.dt_h
    p = result.power_kw
    site = result.site_kw
    imp = np.maximum(site, 0.0)
    exp = np.maximum(-site, 0.0)
    charged = float(np.maximum(p, 0.0).sum() * dt)
    dis_kw = np.maximum(-p, 0.0).sum(axis=0)
    discharged = float(dis_kw.sum() * dt)
    import_cost = float((imp * sc.price_import_mad_per_kwh).sum() * dt)
    export_rev = float((exp * sc.price_export_mad_per_kwh).sum() * dt)
    degr = sc.degradation_mad_per_kwh * discharged
    peak = float(imp.max()) if imp.size else 0.0
    mean_imp = float(imp.mean()) if imp.size else 0.0
    pv_kwh = float(sc.pv_kw.sum() * dt)
    pv_exported = float(np.minimum(exp, sc.pv_kw).sum() * dt)
    v2g_price = np.where(site >= 0, sc.price_import_mad_per_kwh, sc.price_export_mad_per_kwh)
    unmet = result.unmet_kwh
    n = sc.n_vehicles
    v = sc.vehicles
    soc_dep = result.soc[np.arange(n), v.departure_step]
    base_only = sc.base_load_kw - sc.pv_kw
    kpis: dict[str, float | int | str | None] = {
        "strategy": result.strategy,
        "mode": result.options.mode,
        "v2g": bool(result.options.v2g),
        "n_vehicles": n,
        "n_steps": sc.n_steps,
        "step_minutes": sc.step_minutes,
        "energy_charged_kwh": charged,
        "energy_discharged_kwh": discharged,
        "import_energy_kwh": float(imp.sum() * dt),
        "export_energy_kwh": float(exp.sum() * dt),
        "import_cost_mad": import_cost,
        "export_revenue_mad": export_rev,
        "degradation_cost_mad": float(degr),
        "net_cost_mad": import_cost - export_rev + degr,
        "demand_charge_rate_mad_per_kw": _f(sc.site_extra.get("demand_charge_mad_per_kw", 0.0)),
        "v2g_value_mad": float((dis_kw * v2g_price).sum() * dt),
        "peak_import_kw": peak,
        "peak_ev_kw": float(p.sum(axis=0).max()) if p.size else 0.0,
        "peak_base_net_kw": float(base_only.max()),
        "mean_import_kw": mean_imp,
        "load_factor": _f(mean_imp / peak) if peak > 0 else None,
        "peak_to_average": _f(peak / mean_imp) if mean_imp > 0 else None,
        "import_limit_kw": sc.import_limit_kw,
        "site_over_limit_steps": int(result.site_over_limit_steps),
        "curtailed_energy_kwh": float(result.curtailed_kwh.sum()),
        "setpoints_clipped": int(result.requested_clip_count),
        "unmet_energy_kwh": float(unmet.sum()),
        "vehicles_unmet": int((unmet > 1e-3).sum()),
        "vehicles_served_pct": float(100.0 * (unmet <= 1e-3).mean()) if n else 100.0,
        "mean_soc_departure": _f(soc_dep.mean()) if n else None,
        "pv_energy_kwh": pv_kwh,
        "pv_self_consumption_pct": _f(100.0 * (1.0 - pv_exported / pv_kwh)) if pv_kwh > 0 else None,
        "runtime_s": float(result.runtime_s),
    }
    for period, cost in cost_by_period(result).items():
        kpis[f"import_cost_{period}_mad"] = cost
    for key, value in result.strategy_report.to_dict().items():
        if isinstance(value, int | float | str | bool) or value is None:
            kpis[f"strategy_{key}"] = value
    return kpis


def step_table_columns(result: RunResult) -> dict[str, np.ndarray]:
    """Per-step columns for ``site.csv`` (T rows): prices, base load, PV, EV power, site power, fleet counts."""
    sc = result.scenario
    p = result.power_kw
    counts = fleet_state_counts(result)
    cols: dict[str, np.ndarray] = {
        "time": np.asarray([t.isoformat() for t in sc.times]),
        "step": np.arange(sc.n_steps),
        "tou_period": sc.tou_period,
        "price_import_mad_per_kwh": sc.price_import_mad_per_kwh,
        "price_export_mad_per_kwh": sc.price_export_mad_per_kwh,
        "base_load_kw": sc.base_load_kw,
        "pv_kw": sc.pv_kw,
        "ev_kw": p.sum(axis=0),
        "ev_charge_kw": np.maximum(p, 0.0).sum(axis=0),
        "ev_discharge_kw": np.maximum(-p, 0.0).sum(axis=0),
        "site_kw": result.site_kw,
        "import_limit_kw": np.full(sc.n_steps, sc.import_limit_kw),
    }
    for key in ("connected", "charging", "discharging", "idle"):
        cols[f"n_{key}"] = counts[key]
    if "frequency_hz" in sc.series:
        cols["frequency_hz"] = sc.series["frequency_hz"]
    return cols
