"""The bill a Moroccan MT customer pays for a run (``bill.json``, the ``bill_*`` KPIs, ``evfleet bill RUN_DIR``).

Units: money [MAD], energy [kWh], reactive energy [kvarh], power [kW] / [kVA], time [days].

The formulas (``docs/tariffs.md``, the convention; a tariff's data may only change their parameters). For a run of
``D = n_steps·dt/24`` days, monthly items are prorated by ``D / (365/12)``; ``P_t = site_kw`` (import > 0),
``Q_t = q_kvar`` (the grid-quality model, :func:`evfleet.gridquality.reactive.site_reactive_kvar`), ``price_t``
the step's import price before VAT (the scenario's ``price_import_mad_per_kwh``), ``f_vat = 1 + vat_pct/100``
when the tariff's ``prices_include_vat`` is true (its MAD rates are then divided by it), else 1:

- ``energy_mad = Σ_t price_t · max(P_t, 0) · dt`` (= Σ over periods of the period's price times its kWh);
- called power ``PA = max_t`` of the import demand: ``√(P_t² + Q_t²)`` over the steps with ``P_t > 0``
  (``demand_measure: kva``) or ``max(P_t, 0)`` (``kw``); 0 when the site never imports;
- ``power_charge_mad = Pf/12 · PS · D/(365/12)`` with ``Pf = power_charge_mad_per_kva_year / f_vat``,
  ``PS = subscribed_power_kva``;
- ``overrun_mad = overrun_factor · Pf/12 · max(PA − PS, 0) · D/(365/12)``;
- ``cos φ = kWh / √(kWh² + kvarh²)`` with the import kWh ``Σ max(P_t, 0)·dt`` and the inductive kvarh
  ``Σ_{t: P_t > 0} max(Q_t, 0)·dt`` (``None`` without import); below ``cos_phi_threshold``:
  ``cos_phi_penalty_mad = pct/100 · ⌈(threshold − cos φ)·100⌉ · (energy + power + overrun)`` with ``pct =
  cos_phi_penalty_pct_per_hundredth`` (the product ``(threshold − cos φ)·100`` is rounded to 9 decimals before
  the ceiling, so that 0.80 − 0.79 counts one hundredth, not two);
- ``fixed_fees_mad = fixed_fees_mad_per_month / f_vat · D/(365/12)``;
- ``total_excl_vat_mad`` = the sum of the five items; ``vat_mad = vat_pct/100 · total_excl_vat_mad``;
  ``total_incl_vat_mad = total_excl_vat_mad + vat_mad``;
- export revenue and battery degradation as before: ``export_revenue_mad = Σ max(−P_t, 0)·price_export_t·dt``,
  ``degradation_cost_mad = degradation_mad_per_kwh · discharged kWh``;
- ``net_cost_mad = total_excl_vat_mad − export_revenue_mad + degradation_cost_mad``: the cost every comparison,
  saving, sweep and dashboard figure uses (KPI ``net_cost_mad``).

A scenario without billing terms (its ``tariff`` a plain id, as written before ``evfleet.tariff/2``, or absent)
is billed for energy only (every other item 0, status ``assumption``): its ``net_cost_mad`` is then the former
``import_cost_mad − export_revenue_mad + degradation_cost_mad``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evfleet._common.errors import InputError
from evfleet.gridquality.reactive import site_reactive_kvar
from evfleet.inputs.tariffs import BILLING_DEFAULTS, BILLING_KEYS, STATUS_ORDER, check_billing

__all__ = [
    "BILL_DOC_KEYS",
    "BILL_ITEMS",
    "Bill",
    "BillParams",
    "bill_from_series",
    "bill_params",
    "check_bill_dict",
    "prorate",
    "run_bill",
    "weakest_status",
]

#: The money items of ``bill.json``, in bill order [MAD].
BILL_ITEMS = (
    "energy_mad",
    "power_charge_mad",
    "overrun_mad",
    "cos_phi_penalty_mad",
    "fixed_fees_mad",
    "total_excl_vat_mad",
    "vat_mad",
    "total_incl_vat_mad",
)
_DAYS_PER_MONTH = 365.0 / 12.0


def prorate(days: float) -> float:
    """The share of a month a run of ``days`` days is billed: ``D / (365/12)``."""
    return float(days) / _DAYS_PER_MONTH


#: Keys every ``bill.json`` object has besides :data:`BILL_ITEMS` (``status`` maps items to value statuses).
BILL_DOC_KEYS = ("called_power_kva", "cos_phi", "days", "tariff", "status")


def check_bill_dict(data: Any, origin: str) -> dict[str, Any]:
    """``data`` if it is a ``bill.json`` object (every money item a finite number, the keys of
    :data:`BILL_DOC_KEYS`, ``status`` an object); else raise :class:`InputError` naming ``origin``, field and value."""
    if not isinstance(data, Mapping):
        raise InputError(f"{origin}: the bill must be a JSON object (value {type(data).__name__})")
    for key in (*BILL_ITEMS, *BILL_DOC_KEYS):
        if key not in data:
            raise InputError(f"{origin}: field {key!r} is required (value missing)")
    for key in BILL_ITEMS:
        x = data[key]
        if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
            raise InputError(f"{origin}: field {key!r} must be a finite number of MAD (value {x!r})")
    if not isinstance(data["status"], Mapping):
        raise InputError(f"{origin}: field 'status' must be an object (value {data['status']!r})")
    return dict(data)


def _weakest(*statuses: str) -> str:
    return min(statuses, key=STATUS_ORDER.index) if statuses else "assumption"


def weakest_status(statuses: Iterable[str]) -> str:
    """The weakest of value statuses (``assumption`` < ``inference`` < ``secondary`` < ``sourced``): the status of a
    figure built on all of them; ``assumption`` when there is none or one is unknown."""
    found = [str(x) for x in statuses]
    if any(x not in STATUS_ORDER for x in found):
        return "assumption"
    return _weakest(*found)


@dataclass(frozen=True)
class BillParams:
    """The billing terms of a scenario (``scenario.tariff``; :data:`~evfleet.inputs.tariffs.BILLING_KEYS`) with
    the status of each value (``sourced``, ``secondary``, ``inference`` or ``assumption``)."""

    tariff_id: str
    tariff_name: str
    tariff_status: str
    values: Mapping[str, Any]
    value_status: Mapping[str, str] = field(default_factory=dict)

    @property
    def vat_factor(self) -> float:
        """``1 + vat_pct/100`` if the tariff's MAD rates include VAT, else 1."""
        return 1.0 + float(self.values["vat_pct"]) / 100.0 if self.values["prices_include_vat"] else 1.0

    @property
    def power_rate_mad_per_kva_month(self) -> float:
        """``Pf/12`` before VAT [MAD per kVA (or kW) per month]."""
        return float(self.values["power_charge_mad_per_kva_year"]) / self.vat_factor / 12.0

    def overrun_mad_per_kva(self, days: float) -> float:
        """Cost of one more kVA (kW) of called power above the subscribed power over ``days`` days [MAD/kVA]."""
        return float(self.values["overrun_factor"]) * self.power_rate_mad_per_kva_month * prorate(days)

    def status_of(self, *keys: str) -> str:
        return _weakest(*(self.value_status.get(k, "assumption") for k in keys))


def bill_params(scenario: Any) -> BillParams:
    """The billing terms of ``scenario`` (its ``tariff`` object); energy only when it has none (see module doc)."""
    raw = scenario.extra.get("tariff") if hasattr(scenario, "extra") else None
    if not isinstance(raw, Mapping):
        tid = str(raw) if raw is not None else "-"
        values = dict(BILLING_DEFAULTS)
        return BillParams(tid, tid, "assumption", values, {})
    values = {k: raw.get(k, BILLING_DEFAULTS[k]) for k in BILLING_KEYS}
    check_billing(values, "scenario tariff")
    status = raw.get("value_status") or {}
    return BillParams(
        tariff_id=str(raw.get("id", "-")),
        tariff_name=str(raw.get("name", raw.get("id", "-"))),
        tariff_status=str(raw.get("status", "assumption")),
        values=values,
        value_status={k: str(v) for k, v in status.items()} if isinstance(status, Mapping) else {},
    )


@dataclass(frozen=True)
class Bill:
    """A run's bill (the formulas of the module docstring). ``status`` maps each money item to the status of the
    values it is built on; :meth:`to_dict` is ``bill.json``."""

    tariff_id: str
    tariff_name: str
    tariff_status: str
    days: float
    demand_measure: str
    subscribed_power_kva: float
    called_power_kva: float
    import_energy_kwh: float
    inductive_kvarh: float
    cos_phi: float | None
    energy_mad: float
    power_charge_mad: float
    overrun_mad: float
    cos_phi_penalty_mad: float
    fixed_fees_mad: float
    total_excl_vat_mad: float
    vat_mad: float
    total_incl_vat_mad: float
    export_revenue_mad: float
    degradation_cost_mad: float
    net_cost_mad: float
    status: Mapping[str, str]
    params: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The ``bill.json`` object."""
        return {
            "format": "evfleet.bill/1",
            "tariff": self.tariff_id,
            "tariff_name": self.tariff_name,
            "tariff_status": self.tariff_status,
            "days": self.days,
            "demand_measure": self.demand_measure,
            "subscribed_power_kva": self.subscribed_power_kva,
            "called_power_kva": self.called_power_kva,
            "import_energy_kwh": self.import_energy_kwh,
            "inductive_kvarh": self.inductive_kvarh,
            "cos_phi": self.cos_phi,
            **{k: getattr(self, k) for k in BILL_ITEMS},
            "export_revenue_mad": self.export_revenue_mad,
            "degradation_cost_mad": self.degradation_cost_mad,
            "net_cost_mad": self.net_cost_mad,
            "status": dict(self.status),
            "params": dict(self.params),
        }


def bill_from_series(
    site_kw: np.ndarray,
    q_kvar: np.ndarray,
    price_import_mad_per_kwh: np.ndarray,
    price_export_mad_per_kwh: np.ndarray,
    dt_h: float,
    params: BillParams,
    *,
    period_status: str = "assumption",
    discharged_kwh: float = 0.0,
    degradation_mad_per_kwh: float = 0.0,
    subscribed_default_kva: float = 0.0,
) -> Bill:
    """The bill of per-step site power ``site_kw`` [kW] and reactive power ``q_kvar`` [kvar] (T,) at the step's
    prices [MAD/kWh, before VAT], steps of ``dt_h`` [h]. ``period_status`` is the status of the energy prices;
    ``subscribed_default_kva`` the subscribed power when the terms give none (the import limit)."""
    v = params.values
    p = np.asarray(site_kw, dtype=float)
    q = np.asarray(q_kvar, dtype=float)
    dt = float(dt_h)
    days = len(p) * dt / 24.0
    share = prorate(days)
    imp = np.maximum(p, 0.0)
    importing = p > 0
    energy = float((imp * np.asarray(price_import_mad_per_kwh, dtype=float)).sum() * dt)
    kwh = float(imp.sum() * dt)
    kvarh = float(np.where(importing, np.maximum(q, 0.0), 0.0).sum() * dt)
    measure = str(v["demand_measure"])
    if not importing.any():
        called = 0.0
    elif measure == "kva":
        called = float(np.hypot(p[importing], q[importing]).max())
    else:
        called = float(imp.max())
    sub = v["subscribed_power_kva"]
    ps = float(sub) if sub is not None else float(subscribed_default_kva)
    rate = params.power_rate_mad_per_kva_month
    power = rate * ps * share
    overrun = float(v["overrun_factor"]) * rate * max(called - ps, 0.0) * share
    cos_phi = kwh / math.hypot(kwh, kvarh) if kwh > 0 else None
    threshold = float(v["cos_phi_threshold"])
    penalty = 0.0
    if cos_phi is not None and cos_phi < threshold:
        hundredths = math.ceil(round((threshold - cos_phi) * 100.0, 9))
        penalty = float(v["cos_phi_penalty_pct_per_hundredth"]) / 100.0 * hundredths * (energy + power + overrun)
    fees = float(v["fixed_fees_mad_per_month"]) / params.vat_factor * share
    total = energy + power + overrun + penalty + fees
    vat = float(v["vat_pct"]) / 100.0 * total
    export = float((np.maximum(-p, 0.0) * np.asarray(price_export_mad_per_kwh, dtype=float)).sum() * dt)
    degr = float(degradation_mad_per_kwh) * float(discharged_kwh)
    s = params.status_of
    vat_st = ("vat_pct", "prices_include_vat") if v["prices_include_vat"] else ()
    status = {
        "energy_mad": _weakest(period_status, s("time_posts")),
        "power_charge_mad": s("power_charge_mad_per_kva_year", "subscribed_power_kva", *vat_st),
        "overrun_mad": s(
            "overrun_factor", "power_charge_mad_per_kva_year", "subscribed_power_kva", "demand_measure", *vat_st
        ),
        "cos_phi_penalty_mad": s("cos_phi_threshold", "cos_phi_penalty_pct_per_hundredth"),
        "fixed_fees_mad": s("fixed_fees_mad_per_month", *vat_st),
        "vat_mad": s("vat_pct"),
    }
    status["total_excl_vat_mad"] = _weakest(*(status[k] for k in BILL_ITEMS[:5]))
    status["total_incl_vat_mad"] = _weakest(status["total_excl_vat_mad"], status["vat_mad"])
    status["net_cost_mad"] = status["total_excl_vat_mad"]
    return Bill(
        tariff_id=params.tariff_id,
        tariff_name=params.tariff_name,
        tariff_status=params.tariff_status,
        days=days,
        demand_measure=measure,
        subscribed_power_kva=ps,
        called_power_kva=called,
        import_energy_kwh=kwh,
        inductive_kvarh=kvarh,
        cos_phi=cos_phi,
        energy_mad=energy,
        power_charge_mad=power,
        overrun_mad=overrun,
        cos_phi_penalty_mad=penalty,
        fixed_fees_mad=fees,
        total_excl_vat_mad=total,
        vat_mad=vat,
        total_incl_vat_mad=total + vat,
        export_revenue_mad=export,
        degradation_cost_mad=degr,
        net_cost_mad=total - export + degr,
        status=status,
        params={**{k: v[k] for k in BILLING_KEYS}, "subscribed_power_kva": ps},
    )


def _period_status(scenario: Any) -> str:
    raw = scenario.extra.get("tariff")
    if isinstance(raw, Mapping):
        return str(raw.get("energy_price_status", raw.get("status", "assumption")))
    return "assumption"


def run_bill(result: Any, electrical: Any = None, q_kvar: np.ndarray | None = None) -> Bill:
    """The bill of a :class:`~evfleet.simulation.simulate.RunResult` (Q from the grid-quality model unless
    ``q_kvar`` (T,) [kvar] is given; ``electrical`` a :class:`~evfleet.gridquality.site.SiteElectrical`)."""
    sc = result.scenario
    q = site_reactive_kvar(sc, result.power_kw, electrical) if q_kvar is None else np.asarray(q_kvar, dtype=float)
    discharged = float(np.maximum(-np.asarray(result.power_kw, dtype=float), 0.0).sum() * sc.dt_h)
    return bill_from_series(
        result.site_kw,
        q,
        sc.price_import_mad_per_kwh,
        sc.price_export_mad_per_kwh,
        sc.dt_h,
        bill_params(sc),
        period_status=_period_status(sc),
        discharged_kwh=discharged,
        degradation_mad_per_kwh=sc.degradation_mad_per_kwh,
        subscribed_default_kva=float(sc.import_limit_kw),
    )
