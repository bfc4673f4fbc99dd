"""Grid quality of a run, the way a power engineer checks it: IEEE 519 harmonics, PF, unbalance, transformer,
voltage, frequency; alert states and an event log. All figures are MODEL ESTIMATES from the run's powers and the
site's electrical model (:class:`~evfleet.gridquality.site.SiteElectrical`), never measurements.

Units: power [kW], reactive power [kvar], apparent power [kVA], current [A] rms per phase, voltage deviation and
distortion [%], frequency [Hz], temperatures [°C], time [h].

The pipeline (:func:`assess`) runs the numbered steps of :mod:`evfleet.gridquality.steps`, one pure function each
with its equation and standard (vectorised over steps and vehicles; charger types are aggregated with numpy, no
Python loop over vehicles):

- 1-4, devices: charger type -> phases, spectrum model and loading x = |p| / P_ref; displacement PF and reactive
  power from the type's PF-vs-loading curve; fundamental current ``I_1`` and harmonic ``I_h = spectrum_h(x) · I_1``;
  sums per (spectrum model, phase slot) group;
- 5-6, per phase: P, Q and I_1 with the base load and PV; IEC 61000-3-6 summation of all devices on a phase, per
  harmonic order (α = 1, 1.4, 2), plus the base load's and the PV inverters' spectra;
- 7-8, IEEE 519: TDD = sqrt(Σ I_h²) / I_L and each harmonic against Table 2 for the site's I_SC/I_L; voltage
  harmonics ``V_h = I_h · |R + j h X|`` and voltage THD against Table 1;
- 9-13, site: P, Q, PF; NEMA current unbalance of the three phases; transformer loading and IEC 60076-7 ageing;
  voltage deviation ``-(R·P + X·Q)/V²``; frequency series and time outside the band;
- 14, alert states and the event log (:mod:`.alerts`);
- 15-17, the spectrum at the worst step, the fleet frequency response, the summary KPIs and assumptions
  (:mod:`.summary`) and the compliance table.

References: see :mod:`evfleet.gridquality.models` and ``docs/grid-quality.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError
from evfleet.gridquality import steps
from evfleet.gridquality.alerts import ALERT_INDICATORS, STATES, Thresholds, detect_events
from evfleet.gridquality.layout import FleetLayout, fleet_layout
from evfleet.gridquality.models import fleet_frequency_response
from evfleet.gridquality.site import HARMONICS, SiteElectrical, load_ieee519_limits
from evfleet.gridquality.summary import assumptions_text, summary_kpis

if TYPE_CHECKING:
    from evfleet.simulation.simulate import RunResult

__all__ = [
    "PER_STEP_COLUMNS",
    "FleetLayout",
    "PowerQualityReport",
    "assess",
    "charger_curves",
    "fleet_layout",
    "generation_share",
    "tariff_contract",
]

#: Columns of ``PowerQualityReport.per_step`` (all also written to ``site.csv``, see docs/grid-quality.md).
PER_STEP_COLUMNS = [
    "time",
    "step",
    "p_kw",
    "q_kvar",
    "s_kva",
    "pf",
    "pf_true",
    "tdd_pct",
    "thd_i_pct",
    "thd_v_pct",
    "v_h_max_pct",
    "harmonic_limit_ratio",
    "unbalance_pct",
    "i_l1_a",
    "i_l2_a",
    "i_l3_a",
    "transformer_loading_pct",
    "transformer_hot_spot_c",
    "transformer_ageing_rate",
    "voltage_deviation_pct",
    "frequency_hz",
    "frequency_deviation_mhz",
    "pq_state",
    "tdd_iec_pct",
    "tdd_alpha1_pct",
    "vuf_pct",
    "i_neg_seq_a",
    "i_n_a",
    "q_capacitor_kvar",
    "capacitor_steps",
    "cable_drop_pct",
]


@dataclass(frozen=True, eq=False)
class PowerQualityReport:
    """Result of :func:`assess` (model estimates).

    ``per_step``: one row per step (:data:`PER_STEP_COLUMNS`); ``summary``: flat JSON-ready KPIs (``pq_*``);
    ``compliance``: ``indicator, value, limit, status, clause``; ``spectrum``: ``h, current_pct_of_il, limit_pct``
    at the worst step (largest TDD) on its worst phase; ``events``: ``time, step, indicator, value, limit, state,
    previous_state``; ``assumptions``: the model, its inputs and sources, in words. ``harmonics_pct_of_il``
    (T, 49): harmonic currents h = 2..50 [% of I_L] on each step's worst phase (see :meth:`spectrum_at`);
    ``harmonic_limits_pct`` (49,): their IEEE 519 limits. ``alert_bounds``: the boundaries (b1, b2, b3) used for
    each indicator's states (units of the indicator; mHz of deviation for frequency, see :mod:`.alerts`);
    ``alert_clauses``: the standard or contract clause of each alert indicator's limit (what a warning rests on).
    """

    per_step: pd.DataFrame
    summary: dict[str, Any]
    compliance: pd.DataFrame
    spectrum: pd.DataFrame
    events: pd.DataFrame
    assumptions: list[str]
    harmonics_pct_of_il: np.ndarray | None = None
    harmonic_limits_pct: np.ndarray | None = None
    alert_bounds: Mapping[str, tuple[float, float, float]] | None = None
    alert_clauses: Mapping[str, str] | None = None

    def spectrum_at(self, step: int) -> pd.DataFrame:
        """``h, current_pct_of_il, limit_pct`` at ``step`` (worst phase of that step)."""
        if self.harmonics_pct_of_il is None or self.harmonic_limits_pct is None:
            raise InputError("field 'harmonics_pct_of_il' is not available in this report (value None)")
        n_steps = self.harmonics_pct_of_il.shape[0]
        if not 0 <= step < n_steps:
            raise InputError(f"field 'step' must be within 0-{n_steps - 1} (value {step!r})")
        return pd.DataFrame({"h": HARMONICS, "current_pct_of_il": self.harmonics_pct_of_il[step],
                             "limit_pct": self.harmonic_limits_pct})  # fmt: skip


def _thresholds(thresholds: Thresholds | Mapping[str, Any] | None) -> Thresholds:
    if thresholds is None:
        return Thresholds()
    if isinstance(thresholds, Thresholds):
        return thresholds
    if isinstance(thresholds, Mapping):
        return Thresholds(levels=dict(thresholds))
    raise InputError(f"field 'thresholds' must be Thresholds or a mapping (value {type(thresholds).__name__!r})")


def _power_kw(result: RunResult) -> np.ndarray:
    """The run's power (N, T) [kW], checked against its scenario."""
    sc = result.scenario
    p = np.asarray(result.power_kw, dtype=float)
    n, n_steps = p.shape
    if (n, n_steps) != (sc.n_vehicles, sc.n_steps):
        raise InputError(f"field 'power_kw' must have shape {(sc.n_vehicles, sc.n_steps)} (value {p.shape})")
    if not np.isfinite(p).all():
        raise InputError("field 'power_kw' must be finite (value contains NaN or inf)")
    return p


def tariff_contract(scenario: Any) -> tuple[float | None, float | None]:
    """``(subscribed_power_kva, cos_phi_threshold)`` of the scenario's tariff contract when its top-level
    ``tariff`` is an object carrying them (format ``evfleet.tariff/2``), else ``(None, None)``."""
    raw = scenario.extra.get("tariff") if hasattr(scenario, "extra") else None
    if not isinstance(raw, Mapping):
        return None, None
    out: list[float | None] = []
    for key in ("subscribed_power_kva", "cos_phi_threshold"):
        v = raw.get(key)
        ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        ok = ok and (0 <= v <= 1 if key == "cos_phi_threshold" else v > 0)  # a threshold of 0: no cos φ rule
        if v is not None and not ok:
            what = "a number from 0 to 1" if key == "cos_phi_threshold" else "a number > 0"
            raise InputError(f"field 'tariff.{key}' must be {what} (value {v!r})")
        out.append(float(v) if ok else None)
    return out[0], out[1]


def generation_share(sc: Any, p_kw: np.ndarray, pv_kwp: float) -> float:
    """Generation (DER/IBR) capacity over the average load: (PV peak [kWp] + the largest V2G discharge capability
    connected at once [kW]) / mean(base load + EV charging) [kW]; a site figure for the IEEE 519-2022 note."""
    v = sc.vehicles
    n_steps = sc.n_steps
    v2g_kw = 0.0
    if len(v) and n_steps:
        conn = np.zeros(n_steps + 1)
        np.add.at(conn, np.asarray(v.arrival_step), np.asarray(v.max_discharge_kw, dtype=float))
        np.add.at(conn, np.asarray(v.departure_step), -np.asarray(v.max_discharge_kw, dtype=float))
        v2g_kw = float(np.cumsum(conn)[:n_steps].max())
    load = np.asarray(sc.base_load_kw, dtype=float) + (np.maximum(p_kw, 0.0).sum(axis=0) if p_kw.size else 0.0)
    mean = float(load.mean()) if load.size else 0.0
    return (pv_kwp + v2g_kw) / mean if mean > 0 else 0.0


def assess(
    result: RunResult,
    electrical: SiteElectrical | None = None,
    thresholds: Thresholds | Mapping[str, Any] | None = None,
    *,
    frequency_hz: np.ndarray | None = None,
) -> PowerQualityReport:
    """Assess a run's grid quality against IEEE 519, EN 50160, IEC 60364 and the tariff contract (model estimates).

    ``result`` is a :class:`.RunResult` (``power_kw`` N×T [kW], ``scenario``); ``electrical``
    defaults to the scenario's ``site.electrical`` object or :class:`SiteElectrical` defaults; ``thresholds``
    are the alert boundaries (:class:`~evfleet.gridquality.alerts.Thresholds` or its ``levels`` mapping);
    ``frequency_hz`` (T,) [Hz] overrides the frequency series (else the scenario's ``frequency_hz``, else the
    synthetic generator). The IEEE 519 limits (I_L, I_SC/I_L, Table 2 row) are the site's: they never depend on
    the run.
    """
    sc = result.scenario
    el = electrical if electrical is not None else SiteElectrical.from_scenario(sc)
    th = _thresholds(thresholds)
    p = _power_kw(result)
    models = el.spectra()
    limits519 = load_ieee519_limits(el.ieee519_edition)
    lay = fleet_layout(sc, el, p)
    v_ph = el.lv_kv * 1e3 / math.sqrt(3.0)
    base = np.asarray(sc.base_load_kw, dtype=float)
    pv = np.asarray(sc.pv_kw, dtype=float)
    pv_kwp = float(sc.site_extra.get("pv_kwp", 0.0) or 0.0)
    subscribed_kva, tariff_cos_phi = tariff_contract(sc)

    # 1-4: devices grouped by (spectrum model, phase slot); 5-6: fundamental and harmonic currents per phase
    dev = steps.device_loading(p, lay)
    dpf, q_dev = steps.device_power_factor(dev, models)
    _, g_dev = steps.device_currents(dev, dpf, models, v_ph)
    groups = steps.group_sums(dev, q_dev, g_dev)
    fund = steps.phase_fundamentals(groups, base, pv, el.base_load_pf, v_ph, el.pv_pf, el.capacitor_bank_step_kvar,
                                    el.capacitor_bank_steps)  # fmt: skip
    correlated = el.harmonic_summation == "correlated"
    ih = steps.harmonic_currents(groups, models, base, fund.q_base_kvar, pv, pv_kwp, v_ph, correlated)
    ih_other = steps.harmonic_currents(groups, models, base, fund.q_base_kvar, pv, pv_kwp, v_ph, not correlated)
    # 7-8: IEEE 519 current and voltage distortion, limits from the site (never from the run)
    pcc = steps.pcc_impedance(el, sc.import_limit_kw, v_ph)
    i_l, il_basis, demand_kva = steps.demand_current(el, pcc.rated_kva, subscribed_kva, v_ph)
    cur = steps.current_distortion(ih, fund.i1_a, i_l, pcc.i_sc_a, limits519)
    tdd_other = 100.0 * np.sqrt((ih_other**2).sum(axis=2)).max(axis=0) / i_l
    vd = steps.voltage_distortion(ih, pcc, el, limits519, v_ph)
    # 9-13: site power and PF (billed), unbalance, transformer, voltage at the PCC and along the LV cables
    site = steps.site_power(fund, cur.harm_rss_a, v_ph)
    billed = steps.billed_power_factor(site, fund, sc.dt_h, el, tariff_cos_phi)
    unb = steps.unbalance(fund, ih, pcc, v_ph, sc.step_minutes)
    tr = steps.transformer_loading(fund.i1_a, pcc.rated_kva, sc.dt_h, el, v_ph)
    dv = steps.voltage_deviation(fund, pcc, el, v_ph)
    specs, feeder_of, feeder_src = steps.lv_feeders(el, lay.position, sc.import_limit_kw, base)
    feeders = steps.cable_drops(dev, q_dev, specs, feeder_of, feeder_src, v_ph)
    freq = steps.frequency_series(sc.n_steps, sc.step_minutes, sc.series, result.strategy_params, el, frequency_hz)

    # 14: alert states and events (.alerts), the per-step table
    ind_limits, series = _indicators(cur, vd, site, unb, tr, dv, feeders, freq, el)
    bounds = th.boundaries(ind_limits)
    events, states = detect_events(sc.times, {k: series[k] for k in ALERT_INDICATORS}, bounds,
                                   {"frequency_hz": el.nominal_hz})  # fmt: skip
    worst_state = (np.max(np.vstack([states[k] for k in ALERT_INDICATORS]), axis=0) if sc.n_steps
                   else np.zeros(0, dtype=int))  # fmt: skip
    tdd_iec, tdd_a1 = (tdd_other, cur.tdd_pct) if correlated else (cur.tdd_pct, tdd_other)
    per_step = _per_step_table(sc.times, fund, cur, vd, site, unb, tr, dv, freq,
                               np.asarray(STATES, dtype=object)[worst_state], feeders, tdd_iec, tdd_a1)  # fmt: skip

    # 15-17: spectrum at the worst step, fleet frequency response, summary, compliance, assumptions
    hs = steps.harmonic_summary(cur, vd, ih, v_ph)
    resp = fleet_frequency_response(p.sum(axis=0), freq.hz, el.nominal_hz)
    grid_support, freq_keys = steps.grid_support_run(result.strategy, result.strategy_report.to_dict())
    gen_share = generation_share(sc, p, pv_kwp)
    pcc_scale = el.lv_kv / el.pcc_kv()  # LV-referred currents -> amperes at the PCC voltage
    summary = summary_kpis(series, ind_limits, sc.dt_h, el, {
        "isc_il": cur.isc_il, "i_sc_a": pcc.i_sc_a * pcc_scale, "i_l_a": i_l * pcc_scale,
        "tdd_lim": cur.tdd_limit_pct, "rated_kva": pcc.rated_kva, "z": pcc.z_ohm, "ageing": tr.ageing_rate,
        "hot_spot": tr.hot_spot_c, "thd_i": cur.thd_i_pct, "ratio": cur.limit_ratio, "vh_max": vd.vh_max_pct,
        "resp": resp, "grid_support": grid_support, "freq_keys": freq_keys, "events": len(events),
        "pf_true": site.pf_true, "fdev": freq.deviation_mhz, "q": site.q_kvar,
    })  # fmt: skip
    summary.update(_site_kpis(el, limits519, cur, tdd_iec, tdd_a1, demand_kva, billed, unb, fund, feeders,
                              gen_share))  # fmt: skip
    compliance = steps.compliance_table(cur, vd, hs, site, unb, tr, dv, freq, pcc, el, limits519, sc.dt_h,
                                        tdd_other_pct=tdd_other, billed=billed, feeders=feeders,
                                        generation_share=gen_share, il_basis=il_basis)  # fmt: skip
    summary["pq_compliant"] = bool((compliance["status"] != "fail").all())
    summary["pq_checks_failed"] = int((compliance["status"] == "fail").sum())
    assumptions = assumptions_text(el, lay, models, pcc.rated_kva, pcc.r_ohm, pcc.x_ohm, pcc.i_sc_a, i_l, il_basis,
                                   cur.isc_il, freq.source, grid_support, freq_keys, resp)  # fmt: skip
    assumptions += _more_assumptions(el, limits519, lay, billed, feeders, gen_share)
    clauses = _alert_clauses(compliance)
    return PowerQualityReport(per_step, summary, compliance, hs.spectrum, events, assumptions, hs.ih_worst_phase_pct,
                              cur.ih_limit_pct, dict(bounds), clauses)  # fmt: skip


#: The compliance row whose clause each alert indicator's limit comes from.
_ALERT_ROWS = {
    "tdd_pct": "TDD p95 [%]",
    "thd_v_pct": "voltage THD p95 [%]",
    "vuf_pct": "voltage unbalance p95 [%]",
    "transformer_loading_pct": "transformer loading max [%]",
    "voltage_deviation_pct": "voltage deviation max abs [%]",
    "cable_drop_pct": "LV cable voltage drop max [%]",
    "frequency_hz": "time outside frequency band [h]",
}


def _alert_clauses(compliance: pd.DataFrame) -> dict[str, str]:
    """``{alert indicator: clause}`` from the compliance table (the same clause as the verdict)."""
    by_label = dict(zip(compliance["indicator"], compliance["clause"], strict=True))
    return {ind: str(by_label.get(label, "")) for ind, label in _ALERT_ROWS.items()}


def _site_kpis(el: SiteElectrical, limits519: Any, cur: steps.CurrentDistortion, tdd_iec: np.ndarray,
               tdd_a1: np.ndarray, demand_kva: float, billed: steps.BilledCosPhi, unb: steps.Unbalance,
               fund: steps.PhaseFundamentals, feeders: steps.Feeders, gen_share: float) -> dict[str, Any]:  # fmt: skip
    """The ``pq_*`` KPIs of the corrected quantities (edition, summation, billed cos φ, VUF, neutral, cables)."""

    def p95(a: np.ndarray) -> float | None:
        return float(np.percentile(a, 95)) if a.size else None

    cap = fund.cap_steps if fund.cap_steps is not None else np.zeros(0, dtype=int)
    note = limits519.generation_share is not None and gen_share >= limits519.generation_share
    return {
        "pq_ieee519_edition": limits519.edition,
        "pq_pcc": el.pcc_side,
        "pq_max_demand_kva": demand_kva,
        "pq_tdd_limit_pct": cur.tdd_limit_pct,
        "pq_harmonic_summation": el.harmonic_summation,
        "pq_tdd_iec_pct_p95": p95(tdd_iec),
        "pq_tdd_alpha1_pct_p95": p95(tdd_a1),
        "pq_cos_phi_billed": billed.cos_phi,
        "pq_cos_phi_billed_no_bank": billed.cos_phi_no_bank,
        "pq_cos_phi_threshold": billed.threshold,
        "pq_energy_import_kwh": billed.kwh,
        "pq_reactive_energy_kvarh": billed.kvarh,
        "pq_capacitor_steps_max": int(cap.max()) if cap.size else 0,
        "pq_vuf_pct_p95_10min": unb.vuf_p95_pct,
        "pq_neutral_current_max_a": float(unb.i_n_a.max()) if unb.i_n_a.size else None,
        "pq_lv_feeders": len(feeders.specs),
        "pq_generation_share_pct": 100.0 * gen_share,
        "pq_generation_note": bool(note),
    }


def _more_assumptions(el: SiteElectrical, limits519: Any, lay: FleetLayout, billed: steps.BilledCosPhi,
                      feeders: steps.Feeders, gen_share: float) -> list[str]:  # fmt: skip
    """The assumptions of the corrected quantities, in words."""
    onboard = lay.onboard_phases if lay.onboard_phases is not None else np.full(len(lay.n_phases), 3)
    n_single_vehicle = int(((lay.n_phases == 1) & (onboard == 1)).sum())
    has_bank = el.capacitor_bank_steps > 0 and el.capacitor_bank_step_kvar > 0
    bank = (f"{el.capacitor_bank_steps} x {el.capacitor_bank_step_kvar:g} kvar, switched to the largest number of "
            "steps not exceeding the inductive Q of the step" if has_bank else "none")  # fmt: skip
    return [
        f"IEEE 519 edition {limits519.edition} ({limits519.source}); {limits519.even_rule_text}.",
        f"Harmonic summation for the verdicts: {steps.SUMMATION_WORDS[el.harmonic_summation]}; the other summation "
        "is reported beside it (site option harmonic_summation).",
        f"On-board chargers: {lay.onboard_source}; {n_single_vehicle} sessions of 1-phase vehicles load one phase "
        "only.",
        "Voltage unbalance: negative-/positive-sequence voltage at the PCC from the phase currents and the upstream "
        f"impedance (the grid's own unbalance not included), EN 50160 limit {el.vuf_limit_pct:g} % for 95 % of the "
        "10-min values; the current deviation from the mean is information only.",
        f"Billed cos φ: imported kWh and inductive kvarh of the run (capacitive kvarh not counted), threshold "
        f"{billed.threshold:g} from {billed.threshold_source}; PV inverters at PF {el.pv_pf:g}; capacitor bank: "
        f"{bank} (resonance not modelled); the instantaneous PF is a chart only.",
        f"LV cables: {feeders.source}; chargers on feeders by position (round robin); resistivity at operating "
        "temperature (Cu 0.0225, Al 0.036 Ω·mm²/m), 0.08 mΩ/m reactance, neutral of the same section; all "
        "chargers of a feeder at its end (the farthest charger, a bound).",
        f"Generation share (PV peak + largest connected V2G discharge) / average load = {100 * gen_share:.0f} %.",
    ]


def _indicators(
    cur: steps.CurrentDistortion,
    vd: steps.VoltageDistortion,
    site: steps.SitePower,
    unb: steps.Unbalance,
    tr: steps.Transformer,
    dv_pct: np.ndarray,
    feeders: steps.Feeders,
    freq: steps.Frequency,
    el: SiteElectrical,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Step 14a: the limits and the per-step series (T,) of the indicators (:data:`.alerts.INDICATORS`; those of
    :data:`.alerts.ALERT_INDICATORS` raise alerts)."""
    limits = {
        "tdd_pct": cur.tdd_limit_pct,
        "thd_v_pct": float(vd.limits["thd_pct"]),
        "pf": el.pf_limit,
        "unbalance_pct": el.unbalance_limit_pct,
        "transformer_loading_pct": el.loading_limit_pct,
        "voltage_deviation_pct": el.voltage_band_pct,
        "frequency_band_mhz": el.frequency_band_mhz,
        "vuf_pct": el.vuf_limit_pct,
        "cable_drop_pct": el.cable_drop_limit_pct,
    }
    series = {
        "tdd_pct": cur.tdd_pct,
        "thd_v_pct": vd.thd_v_pct,
        "pf": site.pf,
        "unbalance_pct": unb.current_deviation_pct,
        "transformer_loading_pct": 100.0 * tr.loading_pu,
        "voltage_deviation_pct": dv_pct,
        "frequency_hz": freq.hz,
        "vuf_pct": unb.vuf_pct,
        "cable_drop_pct": feeders.drop_pct,
    }
    return limits, series


def _per_step_table(
    times: pd.DatetimeIndex,
    fund: steps.PhaseFundamentals,
    cur: steps.CurrentDistortion,
    vd: steps.VoltageDistortion,
    site: steps.SitePower,
    unb: steps.Unbalance,
    tr: steps.Transformer,
    dv_pct: np.ndarray,
    freq: steps.Frequency,
    pq_state: np.ndarray,
    feeders: steps.Feeders,
    tdd_iec_pct: np.ndarray,
    tdd_alpha1_pct: np.ndarray,
) -> pd.DataFrame:
    """Step 14b: the per-step table, columns :data:`PER_STEP_COLUMNS`."""
    return pd.DataFrame(
        {
            "time": times,
            "step": np.arange(len(times)),
            "p_kw": site.p_kw,
            "q_kvar": site.q_kvar,
            "s_kva": site.s_kva,
            "pf": site.pf,
            "pf_true": site.pf_true,
            "tdd_pct": cur.tdd_pct,
            "thd_i_pct": cur.thd_i_pct,
            "thd_v_pct": vd.thd_v_pct,
            "v_h_max_pct": vd.vh_max_pct,
            "harmonic_limit_ratio": cur.limit_ratio,
            "unbalance_pct": unb.current_deviation_pct,
            "i_l1_a": fund.i1_a[0],
            "i_l2_a": fund.i1_a[1],
            "i_l3_a": fund.i1_a[2],
            "transformer_loading_pct": 100.0 * tr.loading_pu,
            "transformer_hot_spot_c": tr.hot_spot_c,
            "transformer_ageing_rate": tr.ageing_rate,
            "voltage_deviation_pct": dv_pct,
            "frequency_hz": freq.hz,
            "frequency_deviation_mhz": freq.deviation_mhz,
            "pq_state": pq_state,
            "tdd_iec_pct": tdd_iec_pct,
            "tdd_alpha1_pct": tdd_alpha1_pct,
            "vuf_pct": unb.vuf_pct,
            "i_neg_seq_a": np.abs(unb.i2_a),
            "i_n_a": unb.i_n_a,
            "q_capacitor_kvar": fund.q_cap_kvar,
            "capacitor_steps": fund.cap_steps,
            "cable_drop_pct": feeders.drop_pct,
        }
    )


def charger_curves(electrical: SiteElectrical | None = None, loading: np.ndarray | None = None) -> pd.DataFrame:
    """Per charger type vs loading x (fraction of P_ref): displacement PF, reactive power per kW, THDi (model).

    Columns ``charger, model, loading, dpf, q_kvar_per_kw, thd_i_pct, pf_true`` (``pf_true = dpf /
    sqrt(1 + THDi²)``, sinusoidal voltage assumed); for plotting the assumed curves next to the results.
    """
    el = electrical if electrical is not None else SiteElectrical()
    x = np.linspace(0.05, 1.0, 20) if loading is None else np.asarray(loading, dtype=float)
    if x.ndim != 1 or not np.isfinite(x).all() or (x <= 0).any():
        raise InputError(f"field 'loading' must be a 1-D array of finite values > 0 (value {loading!r})")
    models = el.spectra()
    frames = []
    for name, ct in el.charger_types.items():  # one row block per charger type (a handful), not per vehicle
        m = models[ct.model]
        dpf = steps.displacement_pf(m, x)
        thd = m.thd_full_load_pct * steps.loading_multiplier(m, x)
        frames.append(pd.DataFrame({
            "charger": name, "model": ct.model, "loading": x, "dpf": dpf,
            "q_kvar_per_kw": m.q_sign * np.sqrt(np.maximum(1.0 - dpf**2, 0.0)) / dpf,
            "thd_i_pct": thd, "pf_true": dpf / np.sqrt(1.0 + (thd / 100.0) ** 2),
        }))  # fmt: skip
    return pd.concat(frames, ignore_index=True)
