"""Economics of a run: cost by tariff period, V2G value, degradation, and infrastructure ROI / payback.

Units: money [MAD], energy [kWh], time [days, months, years], rates [fraction per year].

The operating figures come from simulations (:func:`evfleet.analysis.kpis.compute_kpis` of a strategy and of the
uncontrolled baseline on the same scenario); the investment figures (charger capex, installation, software,
yearly opex) are **user inputs**: evfleet ships no sourced price for them, so their defaults are placeholders
labelled as assumptions in the dashboard and in ``docs/dashboard.md``.

Definitions:
``savings_per_day_mad = (baseline_net_cost_mad - strategy_net_cost_mad) / simulated_days``;
``annual_savings_mad = savings_per_day_mad * operating_days_per_year``;
``net_annual_benefit_mad = annual_savings_mad - opex_mad_per_year``;
``investment_mad = n_chargers * (charger_capex_mad + installation_mad) + software_capex_mad``;
``simple_payback_months = 12 * investment_mad / net_annual_benefit_mad`` (``None`` when the benefit is <= 0);
``npv_mad = -investment_mad + sum_{y=1..lifetime} net_annual_benefit_mad / (1 + discount_rate)^y``;
``roi_pct = 100 * (lifetime_years * net_annual_benefit_mad - investment_mad) / investment_mad``.

Investment and benefit on the same baseline (``docs/strategies.md``, "ROI"):

* :func:`ems_roi` -- the **EMS itself** against the **timer**: the depot already has its chargers (a timer needs
  nothing more), so the investment is only what the EMS adds (:class:`EmsInputs`: software and integration,
  metering, optionally the extra price of bidirectional chargers over plain ones) and the benefit is the annual
  saving of the strategy against the ``timer`` baseline (``timer`` cost - strategy cost, per year);
* :func:`infrastructure_vs_diesel` -- optionally, the **whole infrastructure** (chargers, installation and EMS:
  :class:`EconomicInputs`) against the **fuel a diesel fleet would burn** (:class:`DieselInputs`, user inputs):
  benefit = diesel fuel cost per year - the EV fleet's electricity cost per year.

:func:`roi` is the arithmetic both use (investment, yearly benefit, payback, NPV, ROI).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError
from evfleet.analysis.cost import run_cost_mad

__all__ = [
    "DIESEL_STATUS",
    "EMS_STATUS",
    "DieselInputs",
    "EconomicInputs",
    "EmsInputs",
    "RoiResult",
    "cost_by_period_table",
    "ems_roi",
    "infrastructure_vs_diesel",
    "operating_summary",
    "roi",
]


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


def operating_summary(
    kpis: dict[str, Any], baseline_kpis: dict[str, Any] | None, no_v2g_kpis: dict[str, Any] | None = None
) -> dict[str, float | None]:
    """Operating economics of one run [MAD]: import cost, export revenue, the gross displaced cost of the
    discharged energy, degradation, cost (:func:`~evfleet.analysis.cost.run_cost_mad`), savings against
    ``baseline_kpis`` (absolute and % of its cost) and, given the same strategy's run without V2G
    (``no_v2g_kpis``), ``v2g_value_mad`` = its cost − this run's cost (else ``None``)."""
    cost = run_cost_mad(kpis)
    out: dict[str, float | None] = {
        "import_cost_mad": float(kpis["import_cost_mad"]),
        "export_revenue_mad": float(kpis["export_revenue_mad"]),
        "v2g_displaced_cost_mad": float(kpis["v2g_displaced_cost_mad"]),
        "degradation_cost_mad": float(kpis["degradation_cost_mad"]),
        "net_cost_mad": cost,
        "v2g_value_mad": run_cost_mad(no_v2g_kpis) - cost if no_v2g_kpis is not None else None,
        "savings_mad": None,
        "savings_pct": None,
    }
    if baseline_kpis is not None:
        base = run_cost_mad(baseline_kpis)
        sav = base - cost
        out["savings_mad"] = sav
        out["savings_pct"] = 100.0 * sav / base if base else None
    return out


#: Status of every default of :class:`EmsInputs` (all assumptions: no sourced Moroccan price was found).
EMS_STATUS: dict[str, str] = {
    "software_capex_mad": "assumption: EMS licence and integration, no sourced price",
    "metering_capex_mad": "assumption: site meter, current transformers and gateway, no sourced price",
    "n_bidirectional_chargers": "input: 0 unless V2G is bought",
    "bidirectional_extra_mad_per_charger": "assumption: extra price of a bidirectional over a plain charger",
    "opex_mad_per_year": "assumption: EMS subscription and upkeep",
    "lifetime_years": "assumption",
    "discount_rate": "assumption",
}


@dataclass(frozen=True)
class EmsInputs:
    """What the EMS adds to a depot that already charges on a timer [MAD] (defaults: :data:`EMS_STATUS`)."""

    software_capex_mad: float = 150_000.0
    metering_capex_mad: float = 20_000.0
    n_bidirectional_chargers: int = 0
    bidirectional_extra_mad_per_charger: float = 30_000.0
    opex_mad_per_year: float = 30_000.0
    lifetime_years: int = 10
    discount_rate: float = 0.06

    @property
    def investment_mad(self) -> float:
        """Software + metering + bidirectional surcharge [MAD]."""
        return float(self.software_capex_mad + self.metering_capex_mad
                     + self.n_bidirectional_chargers * self.bidirectional_extra_mad_per_charger)  # fmt: skip

    def validate(self) -> None:
        """Raise :class:`InputError` naming the first bad input and its value."""
        for name in ("software_capex_mad", "metering_capex_mad", "bidirectional_extra_mad_per_charger",
                     "opex_mad_per_year"):  # fmt: skip
            val = getattr(self, name)
            if not (isinstance(val, int | float) and math.isfinite(val) and val >= 0):
                raise InputError(f"input '{name}' must be a number >= 0 (value {val!r})")
        if not (isinstance(self.n_bidirectional_chargers, int) and self.n_bidirectional_chargers >= 0):
            raise InputError(
                f"input 'n_bidirectional_chargers' must be an integer >= 0 (value {self.n_bidirectional_chargers!r})"
            )


def _as_economic(investment_mad: float, opex: float, lifetime: int, rate: float, days: int) -> EconomicInputs:
    # the shared arithmetic of roi(): the whole investment as "software", no per-charger item
    return EconomicInputs(n_chargers=0, charger_capex_mad=0.0, installation_mad=0.0,
                          software_capex_mad=float(investment_mad), opex_mad_per_year=float(opex),
                          operating_days_per_year=days, lifetime_years=lifetime, discount_rate=rate)  # fmt: skip


def ems_roi(inputs: EmsInputs, annual_saving_vs_timer_mad: float) -> RoiResult:
    """Payback and ROI of the EMS itself against the timer: ``annual_saving_vs_timer_mad`` [MAD/year] is the
    ``timer`` baseline's yearly cost minus the strategy's (e.g. ``savings_vs_timer_mad`` of ``evfleet year``, or a
    day's saving x operating days)."""
    inputs.validate()
    econ = _as_economic(inputs.investment_mad, inputs.opex_mad_per_year, inputs.lifetime_years,
                        inputs.discount_rate, 365)  # fmt: skip
    return roi(econ, float(annual_saving_vs_timer_mad) / 365.0, 0.0, 1.0)


#: Status of every field of :class:`DieselInputs` (user inputs; the defaults are illustrative assumptions).
DIESEL_STATUS: dict[str, str] = {
    "km_per_vehicle_per_year": "assumption: set your fleet's mileage",
    "diesel_l_per_100km": "assumption: a diesel van's consumption, set your fleet's",
    "diesel_price_mad_per_l": "assumption: set today's pump price",
}


@dataclass(frozen=True)
class DieselInputs:
    """The diesel fleet the EVs replace: vehicles, yearly km each, consumption [l/100 km], price [MAD/l]."""

    n_vehicles: int = 100
    km_per_vehicle_per_year: float = 30_000.0
    diesel_l_per_100km: float = 8.0
    diesel_price_mad_per_l: float = 12.0

    @property
    def fuel_cost_mad_per_year(self) -> float:
        """Diesel the fleet would burn in a year [MAD]."""
        return float(self.n_vehicles * self.km_per_vehicle_per_year * self.diesel_l_per_100km / 100.0
                     * self.diesel_price_mad_per_l)  # fmt: skip

    def validate(self) -> None:
        """Raise :class:`InputError` naming the first bad input and its value."""
        for name in ("km_per_vehicle_per_year", "diesel_l_per_100km", "diesel_price_mad_per_l"):
            val = getattr(self, name)
            if not (isinstance(val, int | float) and math.isfinite(val) and val >= 0):
                raise InputError(f"input '{name}' must be a number >= 0 (value {val!r})")
        if not (isinstance(self.n_vehicles, int) and self.n_vehicles >= 0):
            raise InputError(f"input 'n_vehicles' must be an integer >= 0 (value {self.n_vehicles!r})")


def infrastructure_vs_diesel(
    infrastructure: EconomicInputs, diesel: DieselInputs, ev_energy_cost_mad_per_year: float
) -> RoiResult:
    """Payback and ROI of the whole charging infrastructure (chargers, installation, EMS: ``infrastructure``)
    against the fuel of a diesel fleet: benefit = ``diesel.fuel_cost_mad_per_year`` - the EV fleet's electricity
    cost per year [MAD] (e.g. ``total_mad`` of ``evfleet year``) - ``infrastructure.opex_mad_per_year``."""
    diesel.validate()
    per_day_saving = (diesel.fuel_cost_mad_per_year - float(ev_energy_cost_mad_per_year)) / 365.0
    econ = EconomicInputs(**{**asdict(infrastructure), "operating_days_per_year": 365})
    return roi(econ, per_day_saving, 0.0, 1.0)
