"""Economics of a run: cost by tariff period, V2G value, degradation, and infrastructure ROI / payback.

Units: money [MAD], energy [kWh], time [days, months, years], rates [fraction per year].

The operating figures come from simulations (:func:`evfleet.analysis.kpis.compute_kpis` of a strategy and of the
uncontrolled baseline on the same scenario); the investment figures (charger capex, installation, software,
yearly opex) are **user inputs**: evfleet ships no sourced price for them, so their defaults are placeholders
labelled as assumptions in the dashboard and in ``docs/dashboard.md``.

Definitions:
``net_cost_mad`` is the bill-based cost (:mod:`evfleet.analysis.bill`: bill before VAT - export revenue +
degradation); ``savings_per_day_mad = (baseline_net_cost_mad - strategy_net_cost_mad) / simulated_days``;
``annual_savings_mad = savings_per_day_mad * operating_days_per_year``;
``net_annual_benefit_mad = annual_savings_mad - opex_mad_per_year``;
``investment_mad = n_chargers * (charger_capex_mad + installation_mad) + software_capex_mad``;
``simple_payback_months = 12 * investment_mad / net_annual_benefit_mad`` (``None`` when the benefit is <= 0);
``npv_mad = -investment_mad + sum_{y=1..lifetime} net_annual_benefit_mad / (1 + discount_rate)^y``;
``roi_pct = 100 * (lifetime_years * net_annual_benefit_mad - investment_mad) / investment_mad``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError
from evfleet.analysis.bill import BILL_ITEMS, run_bill

__all__ = ["EconomicInputs", "RoiResult", "bill_table", "cost_by_period_table", "operating_summary", "roi"]


@dataclass(frozen=True)
class EconomicInputs:
    """Investment inputs (all user-editable assumptions, not sourced figures).

    ``n_chargers`` [count]; ``charger_capex_mad`` and ``installation_mad`` per charger [MAD];
    ``software_capex_mad`` one-off EMS cost [MAD]; ``opex_mad_per_year`` [MAD/year];
    ``operating_days_per_year`` [days]; ``lifetime_years`` [years]; ``discount_rate`` [fraction/year].
    """

    n_chargers: int = 100
    charger_capex_mad: float = 25_000.0
    installation_mad: float = 5_000.0
    software_capex_mad: float = 150_000.0
    opex_mad_per_year: float = 30_000.0
    operating_days_per_year: int = 365
    lifetime_years: int = 10
    discount_rate: float = 0.06

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad input and its value."""
        for name in ("charger_capex_mad", "installation_mad", "software_capex_mad", "opex_mad_per_year"):
            val = getattr(self, name)
            if not (isinstance(val, int | float) and math.isfinite(val) and val >= 0):
                raise InputError(f"input '{name}' must be a number >= 0 (value {val!r})")
        if not (isinstance(self.n_chargers, int) and self.n_chargers >= 0):
            raise InputError(f"input 'n_chargers' must be an integer >= 0 (value {self.n_chargers!r})")
        if not 1 <= self.operating_days_per_year <= 366:
            raise InputError(
                f"input 'operating_days_per_year' must be within 1-366 (value {self.operating_days_per_year!r})"
            )
        if not 1 <= self.lifetime_years <= 50:
            raise InputError(f"input 'lifetime_years' must be within 1-50 (value {self.lifetime_years!r})")
        if not 0 <= self.discount_rate < 1:
            raise InputError(f"input 'discount_rate' must be within 0-1 (value {self.discount_rate!r})")

    @property
    def investment_mad(self) -> float:
        """Total up-front investment [MAD]."""
        return float(self.n_chargers * (self.charger_capex_mad + self.installation_mad) + self.software_capex_mad)


@dataclass(frozen=True)
class RoiResult:
    """Result of :func:`roi` (money [MAD], payback [months]); ``cashflow`` has one row per year 0..lifetime."""

    investment_mad: float
    savings_per_day_mad: float
    annual_savings_mad: float
    net_annual_benefit_mad: float
    simple_payback_months: float | None
    npv_mad: float
    roi_pct: float | None
    cashflow: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures (without the cash-flow table)."""
        d = asdict(self)
        d.pop("cashflow")
        return d


def roi(inputs: EconomicInputs, baseline_net_cost_mad: float, strategy_net_cost_mad: float, days: float) -> RoiResult:
    """Payback and ROI of an investment whose benefit is the simulated saving against the baseline.

    ``baseline_net_cost_mad`` and ``strategy_net_cost_mad`` [MAD] are net costs over ``days`` simulated days.
    """
    inputs.validate()
    if not days > 0:
        raise InputError(f"input 'days' must be > 0 (value {days!r})")
    per_day = (float(baseline_net_cost_mad) - float(strategy_net_cost_mad)) / float(days)
    annual = per_day * inputs.operating_days_per_year
    benefit = annual - inputs.opex_mad_per_year
    invest = inputs.investment_mad
    payback = 12.0 * invest / benefit if benefit > 0 else None
    years = np.arange(inputs.lifetime_years + 1)
    flows = np.where(years == 0, -invest, benefit)
    disc = flows / (1.0 + inputs.discount_rate) ** years
    npv = float(disc.sum())
    roi_pct = 100.0 * (inputs.lifetime_years * benefit - invest) / invest if invest > 0 else None
    cashflow = pd.DataFrame(
        {
            "year": years,
            "cashflow_mad": flows,
            "cumulative_mad": np.cumsum(flows),
            "discounted_cumulative_mad": np.cumsum(disc),
        }
    )
    return RoiResult(
        investment_mad=invest,
        savings_per_day_mad=per_day,
        annual_savings_mad=annual,
        net_annual_benefit_mad=benefit,
        simple_payback_months=payback,
        npv_mad=npv,
        roi_pct=roi_pct,
        cashflow=cashflow,
    )


def cost_by_period_table(result: Any, baseline: Any | None = None) -> pd.DataFrame:
    """Import energy [kWh] and cost [MAD] per tariff period for a run (and optionally the baseline run).

    ``result``/``baseline`` are :class:`~evfleet.simulation.simulate.RunResult`. Columns: ``period, price_mad_per_kwh,
    import_kwh, import_cost_mad`` and, with a baseline, ``baseline_import_kwh, baseline_import_cost_mad``.
    Periods are ordered by price (cheapest first).
    """
    sc = result.scenario
    periods = np.asarray(sc.tou_period, dtype=object)
    names = list(dict.fromkeys(periods.tolist()))
    price = sc.price_import_mad_per_kwh

    def per_period(site_kw: np.ndarray) -> tuple[list[float], list[float]]:
        imp = np.maximum(site_kw, 0.0) * sc.dt_h
        kwh = [float(imp[periods == p].sum()) for p in names]
        cost = [float((imp * price)[periods == p].sum()) for p in names]
        return kwh, cost

    kwh, cost = per_period(result.site_kw)
    data: dict[str, Any] = {
        "period": names,
        "price_mad_per_kwh": [float(price[periods == p].mean()) for p in names],
        "import_kwh": kwh,
        "import_cost_mad": cost,
    }
    if baseline is not None:
        bkwh, bcost = per_period(baseline.site_kw)
        data["baseline_import_kwh"] = bkwh
        data["baseline_import_cost_mad"] = bcost
    return pd.DataFrame(data).sort_values("price_mad_per_kwh", kind="stable").reset_index(drop=True)


def bill_table(result: Any, baseline: Any | None = None) -> pd.DataFrame:
    """The run's bill (:func:`evfleet.analysis.bill.run_bill`) as rows ``item, mad, status`` (and
    ``baseline_mad``): the items of ``bill.json`` in bill order, then export revenue, degradation and the net cost
    that comparisons use [MAD]."""
    items = (*BILL_ITEMS, "export_revenue_mad", "degradation_cost_mad", "net_cost_mad")
    bill = run_bill(result).to_dict()
    data: dict[str, Any] = {
        "item": list(items),
        "mad": [float(bill[k]) for k in items],
        "status": [bill["status"].get(k, "assumption") for k in items],
    }
    if baseline is not None:
        base = run_bill(baseline).to_dict()
        data["baseline_mad"] = [float(base[k]) for k in items]
    return pd.DataFrame(data)


def operating_summary(kpis: dict[str, Any], baseline_kpis: dict[str, Any] | None) -> dict[str, float | None]:
    """Operating economics of one run [MAD]: import cost, export revenue, V2G value, degradation, net cost,
    savings against the baseline (absolute and % of the baseline's net cost)."""
    out: dict[str, float | None] = {
        "import_cost_mad": float(kpis["import_cost_mad"]),
        "export_revenue_mad": float(kpis["export_revenue_mad"]),
        "v2g_value_mad": float(kpis["v2g_value_mad"]),
        "degradation_cost_mad": float(kpis["degradation_cost_mad"]),
        "net_cost_mad": float(kpis["net_cost_mad"]),
        "v2g_net_value_mad": float(kpis["v2g_value_mad"]) - float(kpis["degradation_cost_mad"]),
        "savings_mad": None,
        "savings_pct": None,
    }
    if baseline_kpis is not None:
        base = float(baseline_kpis["net_cost_mad"])
        sav = base - float(kpis["net_cost_mad"])
        out["savings_mad"] = sav
        out["savings_pct"] = 100.0 * sav / base if base else None
    return out
