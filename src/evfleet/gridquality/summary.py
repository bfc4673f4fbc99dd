"""Summary KPIs (``pq_*``) and the assumption list of a power-quality assessment.

Units as in the key names: [%], [h], [A], [kA], [MVA], [kV], [kVA], [°C], [kvar], [kW/Hz].
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from evfleet.gridquality.layout import FleetLayout
from evfleet.gridquality.site import SiteElectrical, SpectrumModel

__all__ = ["assumptions_text", "summary_kpis"]


def _f(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def summary_kpis(series: Mapping[str, np.ndarray], limits: Mapping[str, float], dt_h: float, el: SiteElectrical,
             x: Mapping[str, Any]) -> dict[str, Any]:  # fmt: skip
    """Flat ``pq_*`` KPIs: max, p95 and hours beyond the limit of every indicator, plus site figures."""
    out: dict[str, Any] = {"pq_model": "estimate (IEEE 519 / IEC 61000-3-6 / IEC 60076-7 models; see assumptions)"}
    for name, vals in series.items():
        vals = np.asarray(vals, dtype=float)
        key = "frequency_deviation_mhz" if name == "frequency_hz" else name
        v = np.abs(x["fdev"]) if name == "frequency_hz" else vals
        if name == "voltage_deviation_pct":
            v = np.abs(vals)
        lim = limits["frequency_band_mhz"] if name == "frequency_hz" else limits[name]
        if name == "pf":
            out["pq_pf_min"] = _f(vals.min()) if vals.size else None
            out["pq_pf_p5"] = _f(np.percentile(vals, 5)) if vals.size else None
            out["pq_pf_time_below_limit_h"] = float((vals < lim).sum() * dt_h)
            continue
        out[f"pq_{key}_max"] = _f(v.max()) if v.size else None
        out[f"pq_{key}_p95"] = _f(np.percentile(v, 95)) if v.size else None
        out[f"pq_{key}_time_above_limit_h"] = float((v > lim).sum() * dt_h)
        out[f"pq_{key}_limit"] = _f(lim)
    out["pq_pf_limit"] = limits["pf"]
    out["pq_pf_true_min"] = _f(np.min(x["pf_true"])) if len(x["pf_true"]) else None
    out["pq_q_kvar_max"] = _f(np.max(x["q"])) if len(x["q"]) else None
    out["pq_q_kvar_min"] = _f(np.min(x["q"])) if len(x["q"]) else None
    out["pq_thd_i_pct_max"] = _f(np.max(x["thd_i"])) if len(x["thd_i"]) else None
    out["pq_harmonic_limit_ratio_max"] = _f(np.max(x["ratio"])) if len(x["ratio"]) else None
    out["pq_v_h_max_pct"] = _f(np.max(x["vh_max"])) if len(x["vh_max"]) else None
    out["pq_isc_il_ratio"] = _f(x["isc_il"])
    out["pq_i_sc_ka"] = _f(x["i_sc_a"] / 1e3)
    out["pq_i_l_a"] = _f(x["i_l_a"])
    out["pq_pcc_ssc_mva"] = _f(3.0 * (el.lv_kv * 1e3 / math.sqrt(3.0)) ** 2 / x["z"] / 1e6)
    out["pq_pcc_kv"] = el.pcc_kv()
    out["pq_transformer_kva"] = _f(x["rated_kva"])
    out["pq_transformer_hot_spot_max_c"] = _f(np.max(x["hot_spot"])) if len(x["hot_spot"]) else None
    out["pq_transformer_ageing_rate_mean"] = _f(np.mean(x["ageing"])) if len(x["ageing"]) else None
    out["pq_transformer_loss_of_life_h"] = float(np.sum(x["ageing"]) * dt_h)
    out["pq_grid_support"] = bool(x["grid_support"])
    resp = x["resp"]
    out["pq_fleet_frequency_response_kw_per_hz"] = _f(resp["slope_kw_per_hz"]) if x["grid_support"] else None
    out["pq_fleet_frequency_response_correlation"] = _f(resp["correlation"]) if x["grid_support"] else None
    for k, v in x["freq_keys"].items():
        if isinstance(v, int | float | str | bool) or v is None:
            out[f"pq_strategy_{k}"] = v
    out["pq_events"] = int(x["events"])
    return out


def assumptions_text(el: SiteElectrical, lay: FleetLayout, models: Mapping[str, SpectrumModel], rated_kva: float,
                 r: float, x: float, i_sc: float, i_l: float, il_basis: str, isc_il: float, freq_src: str,
                 grid_support: bool, freq_keys: Mapping[str, Any], resp: Mapping[str, Any]) -> list[str]:  # fmt: skip
    used = sorted(set(lay.model_names) | {"base_load", "pv_inverter"})
    spectra = "; ".join(f"{m}: THDi {models[m].thd_full_load_pct:.1f} % at full load, x^-{models[m].loading_exponent:g}"
                        f" below full load - {models[m].source.split(':')[0]}" for m in used)  # fmt: skip
    n1 = int((lay.n_phases == 1).sum())
    per = np.bincount(lay.slot[lay.n_phases == 1], minlength=3)[:3] if n1 else np.zeros(3, dtype=int)
    size = "input" if el.transformer_kva is not None else f"smallest standard rating >= import limit / {el.sizing_pf:g}"
    out = [
        "All grid-quality figures are MODEL ESTIMATES from the run's powers and the site model below, not "
        "measurements.",
        f"Harmonic spectra (% of fundamental, h = 2..50): {spectra}.",
        "Aggregation per phase and order: IEC TR 61000-3-6 summation law, alpha = 1 (h < 5), 1.4 (5 <= h <= 10), "
        "2 (h > 10), and the correlated bound alpha = 1 for every order (both reported; harmonic_summation chooses "
        "the verdict's); base load and PV inverters included; phase angles not modelled otherwise.",
        f"PCC on the {el.pcc_side.upper()} side ({el.pcc_kv():g} kV); transformer {rated_kva:g} kVA ({size}), "
        f"uk = {el.transformer_uk_pct:g} %, X/R = {el.transformer_x_r:g}; MV network {el.mv_ssc_mva:g} MVA, "
        f"X/R = {el.mv_x_r:g}; PCC impedance R = {r * 1e3:.4g} mΩ, X = {x * 1e3:.4g} mΩ per phase (LV-referred).",
        f"IEEE 519-{el.ieee519_edition} Table 2 at the {el.pcc_side.upper()} PCC: I_SC = {i_sc / 1e3:.3g} kA, "
        f"I_L = {i_l:.4g} A (LV-referred) from {il_basis}; I_SC/I_L = {isc_il:.0f}: limits of the site, the same "
        "for every strategy.",
        f"Voltage harmonics V_h = I_h·|R + j·h·X| (R constant with frequency); THD_V against IEEE "
        f"519-{el.ieee519_edition} Table 1; "
        f"background distortion {el.background_thd_v_pct:g} % added in quadrature.",
        f"Power factor: displacement PF per charger type vs loading (assumed curves), base load PF "
        f"{el.base_load_pf:g} lagging; the instantaneous PF is information (reference {el.pf_limit:g}), the "
        "verdict is the billed cos φ.",
        f"1-phase chargers: {n1} sessions on L1/L2/L3 = {per[0]}/{per[1]}/{per[2]} (rule '{el.phase_assignment}'"
        " unless a phase is given); 3-phase loads, base load and PV balanced; the current deviation from the mean "
        "(NEMA form) is information only.",
        f"Transformer: IEC 60076-7 thermal model (ONAN, x = {el.oil_exponent:g}, y = {el.winding_exponent:g}, "
        f"R = {el.loss_ratio:g}, top-oil rise {el.top_oil_rise_k:g} K, H·gr = {el.hot_spot_gradient_k:g} K, "
        f"τo = {el.oil_time_constant_min:g} min), ambient {el.ambient_c:g} °C (assumption); harmonic losses "
        "(IEEE C57.110) not included.",
        f"Voltage deviation dV = -(R·P + X·Q)/V² per phase, source at {el.source_voltage_offset_pct:+g} % of "
        f"nominal; band ±{el.voltage_band_pct:g} %.",
        f"Frequency: {freq_src}; band ±{el.frequency_band_mhz:g} mHz around {el.nominal_hz:g} Hz. A step value "
        "hides sub-step excursions; evfleet does not control the grid frequency.",
    ]
    if grid_support:
        slope = resp.get("slope_kw_per_hz")
        txt = "n/a (fewer than 3 steps outside the ±10 mHz deadband)" if slope is None else f"{slope:.4g} kW/Hz"
        keys = ", ".join(sorted(freq_keys)) or "none"
        out.append(
            f"Fleet frequency response (grid-support run): observed slope of EV power on Δf = {txt}; "
            f"strategy report keys copied: {keys}."
        )
        if freq_src.startswith("a SYNTHETIC"):
            out.append("Caution: the frequency series assessed here is evfleet's synthetic one; if the strategy "
                       "responded to another series, put it in the scenario (series.frequency_hz) or pass it, "
                       "otherwise the observed response is meaningless.")  # fmt: skip
    else:
        out.append("Fleet frequency response: not assessed (no grid-support strategy in this run).")
    return out
