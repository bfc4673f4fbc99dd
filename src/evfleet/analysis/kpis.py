"""Economic, grid and fleet KPIs computed from a :class:`~evfleet.simulation.simulate.RunResult`.

Units: energy [kWh] (grid side unless named ``battery``), power [kW], money [MAD], shares [%].

Definitions (the contract, see ``docs/model.md``):
``import_cost_mad = Σ max(site,0)·price_import·dt``; ``export_revenue_mad = Σ max(-site,0)·price_export·dt``;
``degradation_cost_mad = degradation_mad_per_kwh · energy_discharged_kwh``;
``net_cost_mad = import_cost_mad - export_revenue_mad + degradation_cost_mad``;
``load_factor = mean(max(site,0)) / peak_import_kw``; ``peak_to_average = 1 / load_factor``;
``pv_self_consumption_pct = 100·(1 - min(export, pv)/pv)`` summed over the run (``null`` without PV);
``v2g_displaced_cost_mad``: discharged energy valued at the price it displaced (import price while the site
imports, export price while it exports); a gross figure, not the value of V2G (that is ``v2g_value_mad`` of
:func:`evfleet.analysis.compare.compare`: the cost without V2G minus the cost with it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

import numpy as np

from evfleet._common.tolerances import POWER_EPS_KW, UNMET_TOL_KWH
from evfleet.simulation.simulate import RunResult

__all__ = [
    "KpiValue",
    "Kpis",
    "compute_kpis",
    "cost_by_period",
    "fleet_state_counts",
    "kpi_record",
    "step_table_columns",
]


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
    charging = (p > POWER_EPS_KW).sum(axis=0)
    discharging = (p < -POWER_EPS_KW).sum(axis=0)
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


#: A KPI value as written to ``kpis.json`` (``None``: not applicable or not known).
KpiValue = float | int | str | bool | None


@dataclass(frozen=True)
class Kpis:
    """All KPIs of a run (see the module docstring for definitions); each field name is its ``kpis.json`` key.

    Units in the names: energy [kWh], power [kW], money [MAD], shares [%], SOC fraction 0-1, time [s]. ``None``
    marks a figure that does not apply (e.g. PV self-consumption without PV) or is not known (e.g. the curtailed
    energy of a run rebuilt from its files). ``import_cost_by_period_mad`` (tariff period -> import cost [MAD])
    gives the keys ``import_cost_<period>_mad``; ``strategy_report`` (the strategy's scalar figures) the keys
    ``strategy_<key>``. :meth:`to_dict` is the ``kpis.json`` object, keys in this order.
    """

    strategy: str
    mode: str
    v2g: bool
    n_vehicles: int
    n_steps: int
    step_minutes: int
    energy_charged_kwh: float
    energy_discharged_kwh: float
    import_energy_kwh: float
    export_energy_kwh: float
    import_cost_mad: float
    export_revenue_mad: float
    degradation_cost_mad: float
    net_cost_mad: float
    demand_charge_rate_mad_per_kw: float | None
    v2g_displaced_cost_mad: float
    peak_import_kw: float
    peak_ev_kw: float
    peak_base_net_kw: float
    mean_import_kw: float
    load_factor: float | None
    peak_to_average: float | None
    import_limit_kw: float
    site_over_limit_steps: int
    curtailed_energy_kwh: float | None
    curtailed_export_kwh: float | None
    setpoints_clipped: int
    unmet_energy_kwh: float
    vehicles_unmet: int
    vehicles_served_pct: float
    mean_soc_departure: float | None
    pv_energy_kwh: float
    pv_self_consumption_pct: float | None
    runtime_s: float
    # New scalar KPIs go above this line (their position is their place in kpis.json).
    import_cost_by_period_mad: Mapping[str, float] = field(default_factory=dict)
    strategy_report: Mapping[str, KpiValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # own copies: a caller's later change to its dicts does not reach the record
        object.__setattr__(self, "import_cost_by_period_mad", dict(self.import_cost_by_period_mad))
        object.__setattr__(self, "strategy_report", dict(self.strategy_report))

    def to_dict(self) -> dict[str, KpiValue]:
        """The flat ``kpis.json`` object: the scalar fields in order, then ``import_cost_<period>_mad`` per tariff
        period, then ``strategy_<key>`` per strategy figure."""
        out: dict[str, KpiValue] = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _MAPPINGS}
        for period, cost in self.import_cost_by_period_mad.items():
            out[f"import_cost_{period}_mad"] = cost
        for key, value in self.strategy_report.items():
            out[f"strategy_{key}"] = value
        return out


_MAPPINGS = ("import_cost_by_period_mad", "strategy_report")


def kpi_record(result: RunResult) -> Kpis:
    """All KPIs of a run as a :class:`Kpis` record (see module docstring for definitions)."""
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
    return Kpis(
        strategy=result.strategy,
        mode=result.options.mode,
        v2g=bool(result.options.v2g),
        n_vehicles=n,
        n_steps=sc.n_steps,
        step_minutes=sc.step_minutes,
        energy_charged_kwh=charged,
        energy_discharged_kwh=discharged,
        import_energy_kwh=float(imp.sum() * dt),
        export_energy_kwh=float(exp.sum() * dt),
        import_cost_mad=import_cost,
        export_revenue_mad=export_rev,
        degradation_cost_mad=float(degr),
        net_cost_mad=import_cost - export_rev + degr,
        demand_charge_rate_mad_per_kw=_f(sc.site_extra.get("demand_charge_mad_per_kw", 0.0)),
        v2g_displaced_cost_mad=float((dis_kw * v2g_price).sum() * dt),
        peak_import_kw=peak,
        peak_ev_kw=float(p.sum(axis=0).max()) if p.size else 0.0,
        peak_base_net_kw=float(base_only.max()),
        mean_import_kw=mean_imp,
        load_factor=_f(mean_imp / peak) if peak > 0 else None,
        peak_to_average=_f(peak / mean_imp) if mean_imp > 0 else None,
        import_limit_kw=sc.import_limit_kw,
        site_over_limit_steps=int(result.site_over_limit_steps),
        curtailed_energy_kwh=_f(result.curtailed_kwh.sum()),
        curtailed_export_kwh=_f(np.sum(result.curtailed_export_kwh)),
        setpoints_clipped=int(result.requested_clip_count),
        unmet_energy_kwh=float(unmet.sum()),
        vehicles_unmet=int((unmet > UNMET_TOL_KWH).sum()),
        vehicles_served_pct=float(100.0 * (unmet <= UNMET_TOL_KWH).mean()) if n else 100.0,
        mean_soc_departure=_f(soc_dep.mean()) if n else None,
        pv_energy_kwh=pv_kwh,
        pv_self_consumption_pct=_f(100.0 * (1.0 - pv_exported / pv_kwh)) if pv_kwh > 0 else None,
        runtime_s=float(result.runtime_s),
        import_cost_by_period_mad=cost_by_period(result),
        strategy_report={
            key: value
            for key, value in result.strategy_report.to_dict().items()
            if isinstance(value, int | float | str | bool) or value is None
        },
    )


def compute_kpis(result: RunResult) -> dict[str, KpiValue]:
    """All KPIs of a run as the flat JSON-ready ``kpis.json`` dict (:meth:`Kpis.to_dict` of :func:`kpi_record`)."""
    return kpi_record(result).to_dict()


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
