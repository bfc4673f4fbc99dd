"""Site overrides on an existing scenario: import/export limit, PV size and tariff.

Units: power [kW], PV peak [kWp], prices [MAD/kWh].

Used by sweeps over a base scenario file and by multi-depot fleet files, where a depot may reuse a scenario file
with its own import limit, PV or tariff. A generated scenario takes these as generation parameters instead
(:class:`evfleet.inputs.generate.ScenarioParams`), which gives the same series.

- ``pv_kwp``: the PV series is recomputed with the same clear-sky model as the generator
  (:func:`evfleet.inputs.site.pv_profile_kw`, pvlib) at the site's latitude/longitude (Casablanca when absent).
- ``tariff``: import/export prices and the ``tou_period`` series are recomputed from the tariff at the scenario's
  local times (:meth:`evfleet.inputs.tariffs.Tariff.price_series`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evfleet.inputs.site import CASABLANCA, SiteLocation, pv_profile_kw
from evfleet.inputs.tariffs import load_tariff, tariff_record
from evfleet.scenario import Scenario, ScenarioError, scenario_from_dict

__all__ = ["OVERRIDE_KEYS", "apply_site_overrides"]

#: Keys that can be applied to an existing scenario.
OVERRIDE_KEYS = ("import_limit_kw", "export_limit_kw", "pv_kwp", "tariff", "degradation_mad_per_kwh")


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value) or value < 0:
        raise ScenarioError(f"override '{name}' must be a number >= 0 (value {value!r})")
    return float(value)


def apply_site_overrides(
    scenario: Scenario,
    import_limit_kw: float | None = None,
    export_limit_kw: float | None = None,
    pv_kwp: float | None = None,
    tariff: str | None = None,
    degradation_mad_per_kwh: float | None = None,
) -> Scenario:
    """A validated copy of ``scenario`` with the given site quantities replaced (``None`` keeps the original)."""
    if all(v is None for v in (import_limit_kw, export_limit_kw, pv_kwp, tariff, degradation_mad_per_kwh)):
        return scenario
    data = scenario.to_dict()
    site = data["site"]
    series = data["series"]
    if import_limit_kw is not None:
        site["import_limit_kw"] = _number("import_limit_kw", import_limit_kw)
    if export_limit_kw is not None:
        site["export_limit_kw"] = _number("export_limit_kw", export_limit_kw)
    if degradation_mad_per_kwh is not None:
        data["degradation_mad_per_kwh"] = _number("degradation_mad_per_kwh", degradation_mad_per_kwh)
    if pv_kwp is not None:
        kwp = _number("pv_kwp", pv_kwp)
        location = SiteLocation(
            float(site.get("latitude", CASABLANCA.latitude)),
            float(site.get("longitude", CASABLANCA.longitude)),
            CASABLANCA.altitude_m,
            scenario.timezone,
        )
        series["pv_kw"] = pv_profile_kw(scenario.times, scenario.step_minutes, kwp, location).tolist()
        site["pv_kwp"] = kwp
    if tariff is not None:
        if not isinstance(tariff, str) or not tariff:
            raise ScenarioError(f"override 'tariff' must be a tariff id or file (value {tariff!r})")
        t = load_tariff(tariff)
        price_imp, price_exp, periods = t.price_series(scenario.times)
        series["price_import_mad_per_kwh"] = np.asarray(price_imp, dtype=float).tolist()
        series["price_export_mad_per_kwh"] = np.asarray(price_exp, dtype=float).tolist()
        series["tou_period"] = [str(p) for p in periods]
        old = data.get("tariff")
        sub = old.get("subscribed_power_kva") if isinstance(old, dict) else None
        data["tariff"] = tariff_record(t, sub, float(site["import_limit_kw"]))
    return scenario_from_dict(data)
