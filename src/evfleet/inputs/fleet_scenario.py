"""Build runnable scenarios from imported data: a fleet (per vehicle or per model) and site series.

Units: power [kW], energy [kWh], prices [MAD/kWh], SOC fraction 0-1, step [min].

Series are resampled to the scenario step by time-weighted averaging of piecewise-constant samples (the energy of
every interval is preserved). Defaults for what the user did not import are the generator's documented assumptions
(``docs/model.md``); the catalogue gives battery sizes and power limits (EV2Gym data, see ``evfleet.inputs.catalog``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError
from evfleet.inputs.catalog import load_catalog
from evfleet.inputs.generate import CHARGER_TYPES, ScenarioParams, generate_scenario
from evfleet.inputs.importers import SERIES_COLUMNS, known_models
from evfleet.inputs.site import CASABLANCA, SiteLocation, base_load_profile_kw, pv_profile_kw
from evfleet.inputs.tariffs import load_tariff, tariff_record
from evfleet.scenario import FORMAT, scenario_from_dict

__all__ = ["apply_series", "resample_series", "scenario_from_fleet"]


def resample_series(
    times: pd.DatetimeIndex, values: np.ndarray, start: pd.Timestamp, step_minutes: int, n_steps: int
) -> np.ndarray:
    """Average of a piecewise-constant series over each target step [same unit as ``values``].

    Sample i holds over ``[times[i], times[i+1])``; the last sample holds for the median sampling interval. The
    result preserves energy (kWh) for power series; up-sampling repeats values. Raises ``ValueError`` when the
    series does not cover the target window.
    """
    t_s = (times - start).total_seconds().to_numpy(dtype=float)
    step_s = step_minutes * 60.0
    last = float(np.median(np.diff(t_s))) if len(t_s) > 1 else step_s
    edges = np.append(t_s, t_s[-1] + last)
    target = np.arange(n_steps + 1, dtype=float) * step_s
    if target[0] < edges[0] - 1e-6 or target[-1] > edges[-1] + 1e-6:
        end = start + pd.Timedelta(seconds=float(target[-1]))
        covered_end = times[0] + pd.Timedelta(seconds=float(edges[-1] - edges[0]))
        raise InputError(
            f"the series covers {times[0].isoformat()} to {covered_end.isoformat()}"
            f" but the scenario needs {start.isoformat()} to {end.isoformat()}"
        )
    cum = np.concatenate([[0.0], np.cumsum(np.asarray(values, dtype=float) * np.diff(edges))])
    at = np.interp(target, edges, cum)
    return np.diff(at) / step_s


def apply_series(scenario: Any, payload: Mapping[str, Any]) -> Any:
    """A copy of ``scenario`` with the imported series resampled to its steps.

    When an import price is given, the scenario's ``tou_period`` labels (from a tariff) no longer describe the prices
    and are dropped.
    """

    times = pd.DatetimeIndex([pd.Timestamp(t) for t in payload["time"]])
    data = scenario.to_dict()
    for col in SERIES_COLUMNS:
        if col in payload:
            vals = resample_series(
                times, np.asarray(payload[col], dtype=float), scenario.start, scenario.step_minutes, scenario.n_steps
            )
            data["series"][col] = vals.tolist()
    if "price_import_mad_per_kwh" in payload:
        data["series"].pop("tou_period", None)
    return scenario_from_dict(data, origin="scenario with imported series")


def scenario_from_fleet(
    fleet: Mapping[str, Any],
    *,
    series: Mapping[str, Any] | None = None,
    catalog: pd.DataFrame | None = None,
    step_minutes: int = 15,
    tariff: str = "onee_mt_general",
    import_limit_kw: float | None = None,
    export_limit_kw: float | None = None,
    pv_kwp: float | None = None,
    base_load_peak_kw: float | None = None,
    soc_min: float = 0.20,
    soc_max: float = 0.90,
    efficiency: float = 0.93,
    degradation_mad_per_kwh: float = 0.40,
    start: str | None = None,
    seed: int = 0,
    name: str | None = None,
) -> Any:
    """Build a runnable :class:`~evfleet.scenario.Scenario` from an imported fleet payload (+ optional series).

    Per-vehicle fleets keep their own times and SOCs; the horizon runs from the first arrival (rounded down to a
    step) to the last departure (rounded up). Battery and power limits come from the catalogue: charging power is
    ``min(vehicle AC/DC limit, charger rating)``; V2G only for V2G-capable models on a ``bidirectional`` charger.
    Per-model fleets are generated with :func:`evfleet.inputs.generate.generate_scenario` (``composition``), whose
    arrival/departure model is documented in ``docs/model.md``. Site series not imported come from the tariff and
    the generator's defaults (base load ``50 + 0.3 N`` kW peak, PV ``0.4 N`` kWp, import limit
    ``base peak + 5 N`` kW: assumptions, listed in ``docs/model.md``).
    """

    catalog = load_catalog() if catalog is None else catalog
    tz = str(fleet.get("timezone", "Africa/Casablanca"))
    rows = fleet["rows"]
    if fleet["layout"] == "models":
        composition = {r["model"]: int(r["count"]) for r in rows if int(r["count"]) > 0}
        n = sum(composition.values())
        extra_cat = _catalog_tmp(catalog)
        try:
            sc = generate_scenario(
                ScenarioParams(
                    vehicles=n,
                    composition=composition,
                    seed=seed,
                    start=start,
                    timezone=tz,
                    step_minutes=step_minutes,
                    soc_min=soc_min,
                    soc_max=soc_max,
                    tariff=tariff,
                    import_limit_kw=import_limit_kw,
                    export_limit_kw=export_limit_kw,
                    pv_kwp=pv_kwp,
                    base_load_peak_kw=base_load_peak_kw,
                    degradation_mad_per_kwh=degradation_mad_per_kwh,
                    charge_efficiency=efficiency,
                    discharge_efficiency=efficiency,
                    name=name,
                    catalog_file=extra_cat,
                )
            )
        finally:
            if extra_cat:
                Path(extra_cat).unlink(missing_ok=True)
        return apply_series(sc, series) if series is not None else sc

    n = len(rows)
    arr = pd.DatetimeIndex([pd.Timestamp(r["arrival"]) for r in rows]).tz_convert(tz)
    dep = pd.DatetimeIndex([pd.Timestamp(r["departure"]) for r in rows]).tz_convert(tz)
    t0 = pd.Timestamp(start).tz_localize(tz) if start else arr.min().floor(f"{step_minutes}min")
    if t0 > arr.min():
        raise InputError(f"option 'start' ({t0.isoformat()}) is after the first arrival ({arr.min().isoformat()})")
    dt_s = step_minutes * 60.0
    arrival_step = np.floor((arr - t0).total_seconds().to_numpy() / dt_s + 1e-9).astype(np.int64)
    departure_step = np.ceil((dep - t0).total_seconds().to_numpy() / dt_s - 1e-9).astype(np.int64)
    departure_step = np.maximum(departure_step, arrival_step + 1)
    n_steps = int(departure_step.max())
    times = pd.date_range(t0, periods=n_steps, freq=f"{step_minutes}min")
    index = known_models(catalog)
    idx = np.array([index[r["model"].lower()] for r in rows])
    cat = {c: catalog[c].to_numpy() for c in catalog.columns}
    charger = np.array([r["charger"] for r in rows], dtype=object)
    rated = np.array([CHARGER_TYPES[c][0] for c in charger])
    is_dc = np.array([CHARGER_TYPES[c][1] == "DC" for c in charger])
    bidi = np.array([bool(r.get("bidirectional", False)) for r in rows])
    veh_charge = np.where(is_dc, cat["dc_charge_kw"][idx], cat["ac_charge_kw"][idx]).astype(float)
    veh_dis = np.where(is_dc, cat["dc_discharge_kw"][idx], cat["ac_discharge_kw"][idx]).astype(float)
    soc_arr = np.array([r["soc_arrival"] for r in rows], dtype=float)
    soc_tgt = np.array([r["soc_target"] for r in rows], dtype=float)
    smax = np.maximum(soc_max, soc_tgt)
    smin = np.minimum(soc_min, smax)

    tar = load_tariff(tariff)
    price_imp, price_exp, periods = tar.price_series(times)
    base_peak = 50.0 + 0.3 * n if base_load_peak_kw is None else base_load_peak_kw
    limit = base_peak + 5.0 * n if import_limit_kw is None else import_limit_kw
    kwp = 0.4 * n if pv_kwp is None else pv_kwp
    series_d = {
        "price_import_mad_per_kwh": price_imp.tolist(),
        "price_export_mad_per_kwh": price_exp.tolist(),
        "base_load_kw": base_load_profile_kw(times, base_peak).tolist(),
        "pv_kw": pv_profile_kw(
            times, step_minutes, kwp, SiteLocation(CASABLANCA.latitude, CASABLANCA.longitude, CASABLANCA.altitude_m, tz)
        ).tolist(),
        "tou_period": [str(p) for p in periods],
    }
    data = {
        "format": FORMAT,
        "name": name or f"fleet-{n}ev-{t0.date().isoformat()}",
        "start": t0.isoformat(),
        "step_minutes": int(step_minutes),
        "n_steps": n_steps,
        "site": {
            "import_limit_kw": float(limit),
            "export_limit_kw": float(0.0 if export_limit_kw is None else export_limit_kw),
            "pv_kwp": float(kwp),
            "latitude": CASABLANCA.latitude,
            "longitude": CASABLANCA.longitude,
        },
        "degradation_mad_per_kwh": float(degradation_mad_per_kwh),
        "series": series_d,
        "vehicles": {
            "id": [r["vehicle_id"] for r in rows],
            "model": [r["model"] for r in rows],
            "arrival_step": arrival_step.tolist(),
            "departure_step": departure_step.tolist(),
            "battery_kwh": cat["battery_kwh"][idx].astype(float).tolist(),
            "soc_arrival": soc_arr.tolist(),
            "soc_target": soc_tgt.tolist(),
            "soc_min": smin.tolist(),
            "soc_max": smax.tolist(),
            "max_charge_kw": np.minimum(veh_charge, rated).tolist(),
            "max_discharge_kw": np.where(bidi & cat["v2g"][idx].astype(bool), np.minimum(veh_dis, rated), 0.0).tolist(),
            "charge_efficiency": [efficiency] * n,
            "discharge_efficiency": [efficiency] * n,
            "vehicle": [r["vehicle_id"] for r in rows],
            "charger": charger.tolist(),
            "bidirectional_charger": bidi.tolist(),
        },
        "timezone": tz,
        "tariff": tariff_record(tar, None, float(limit)),
        "generator": {"evfleet_import": {"layout": "vehicles", "step_minutes": step_minutes}},
    }
    sc = scenario_from_dict(data, origin="scenario from fleet")
    return apply_series(sc, series) if series is not None else sc


def _catalog_tmp(catalog: pd.DataFrame) -> str | None:
    """A temporary CSV of the catalogue rows that are not shipped (for :class:`ScenarioParams.catalog_file`)."""
    import tempfile

    shipped = load_catalog()
    merged = catalog.merge(shipped, how="left", indicator=True)
    extra = merged[merged["_merge"] == "left_only"].drop(columns=["_merge"])
    if extra.empty:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, encoding="utf-8") as fh:
        extra.to_csv(fh, index=False)
    return fh.name
