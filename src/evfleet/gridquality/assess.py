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
from evfleet.gridquality.alerts import INDICATORS, STATES, Thresholds, detect_events
from evfleet.gridquality.layout import FleetLayout, fleet_layout
from evfleet.gridquality.models import fleet_frequency_response, nema_unbalance_pct
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
    each indicator's states (units of the indicator; mHz of deviation for frequency, see :mod:`.alerts`).
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


def assess(
    result: RunResult,
    electrical: SiteElectrical | None = None,
    thresholds: Thresholds | Mapping[str, Any] | None = None,
    *,
    frequency_hz: np.ndarray | None = None,
) -> PowerQualityReport:
    """Assess a run's grid quality against IEEE 519 and the site's limits (model estimates).

    ``result`` is a :class:`.RunResult` (``power_kw`` N×T [kW], ``scenario``); ``electrical``
    defaults to the scenario's ``site.electrical`` object or :class:`SiteElectrical` defaults; ``thresholds``
    are the alert boundaries (:class:`~evfleet.gridquality.alerts.Thresholds` or its ``levels`` mapping);
    ``frequency_hz`` (T,) [Hz] overrides the frequency series (else the scenario's ``frequency_hz``, else the
    synthetic generator).
    """
    sc = result.scenario
    el = electrical if electrical is not None else SiteElectrical.from_scenario(sc)
    th = _thresholds(thresholds)
    p = _power_kw(result)
    models = el.spectra()
    limits519 = load_ieee519_limits()
    lay = fleet_layout(sc, el, p)
    v_ph = el.lv_kv * 1e3 / math.sqrt(3.0)
    base = np.asarray(sc.base_load_kw, dtype=float)
    pv = np.asarray(sc.pv_kw, dtype=float)
    pv_kwp = float(sc.site_extra.get("pv_kwp", 0.0) or 0.0)

    # 1-4: devices grouped by (spectrum model, phase slot); 5-6: fundamental and harmonic currents per phase
    dev = steps.device_loading(p, lay)
    dpf, q_dev = steps.device_power_factor(dev, models)
    _, g_dev = steps.device_currents(dev, dpf, models, v_ph)
    groups = steps.group_sums(dev, q_dev, g_dev)
    fund = steps.phase_fundamentals(groups, base, pv, el.base_load_pf, v_ph)
    ih = steps.harmonic_currents(groups, models, base, fund.q_base_kvar, pv, pv_kwp, v_ph)
    # 7-8: IEEE 519 current and voltage distortion
    pcc = steps.pcc_impedance(el, sc.import_limit_kw, v_ph)
    i_l, il_basis = steps.demand_current(el, fund.i1_a, v_ph)
    cur = steps.current_distortion(ih, fund.i1_a, i_l, pcc.i_sc_a, limits519)
    vd = steps.voltage_distortion(ih, pcc, el, limits519, v_ph)
    # 9-13: site power and PF, unbalance, transformer, voltage, frequency
    site = steps.site_power(fund, cur.harm_rss_a, v_ph)
    unbalance = nema_unbalance_pct(fund.i1_a)
    tr = steps.transformer_loading(fund.i1_a, pcc.rated_kva, sc.dt_h, el, v_ph)
    dv = steps.voltage_deviation(fund, pcc, el, v_ph)
    freq = steps.frequency_series(sc.n_steps, sc.step_minutes, sc.series, result.strategy_params, el, frequency_hz)

    # 14: alert states and events (.alerts), the per-step table
    ind_limits, series = _indicators(cur, vd, site, unbalance, tr, dv, freq, el)
    bounds = th.boundaries(ind_limits)
    events, states = detect_events(sc.times, series, bounds, {"frequency_hz": el.nominal_hz})
    worst_state = np.max(np.vstack([states[k] for k in INDICATORS]), axis=0) if sc.n_steps else np.zeros(0, dtype=int)
    per_step = _per_step_table(sc.times, fund, cur, vd, site, unbalance, tr, dv, freq,
                               np.asarray(STATES, dtype=object)[worst_state])  # fmt: skip

    # 15-17: spectrum at the worst step, fleet frequency response, summary, compliance, assumptions
    hs = steps.harmonic_summary(cur, vd, ih, v_ph)
    resp = fleet_frequency_response(p.sum(axis=0), freq.hz, el.nominal_hz)
    grid_support, freq_keys = steps.grid_support_run(result.strategy, result.strategy_report.to_dict())
    summary = summary_kpis(series, ind_limits, sc.dt_h, el, {
        "isc_il": cur.isc_il, "i_sc_a": pcc.i_sc_a, "i_l_a": i_l, "tdd_lim": cur.tdd_limit_pct,
        "rated_kva": pcc.rated_kva, "z": pcc.z_ohm, "ageing": tr.ageing_rate, "hot_spot": tr.hot_spot_c,
        "thd_i": cur.thd_i_pct, "ratio": cur.limit_ratio, "vh_max": vd.vh_max_pct, "resp": resp,
        "grid_support": grid_support, "freq_keys": freq_keys, "events": len(events), "pf_true": site.pf_true,
        "fdev": freq.deviation_mhz, "q": site.q_kvar,
    })  # fmt: skip
    compliance = steps.compliance_table(cur, vd, hs, site, unbalance, tr, dv, freq, pcc, el, limits519, sc.dt_h)
    summary["pq_compliant"] = bool((compliance["status"] != "fail").all())
    summary["pq_checks_failed"] = int((compliance["status"] == "fail").sum())
    assumptions = assumptions_text(el, lay, models, pcc.rated_kva, pcc.r_ohm, pcc.x_ohm, pcc.i_sc_a, i_l, il_basis,
                                   cur.isc_il, freq.source, grid_support, freq_keys, resp)  # fmt: skip
    return PowerQualityReport(per_step, summary, compliance, hs.spectrum, events, assumptions, hs.ih_worst_phase_pct,
                              cur.ih_limit_pct, dict(bounds))  # fmt: skip


def _indicators(
    cur: steps.CurrentDistortion,
    vd: steps.VoltageDistortion,
    site: steps.SitePower,
    unbalance_pct: np.ndarray,
    tr: steps.Transformer,
    dv_pct: np.ndarray,
    freq: steps.Frequency,
    el: SiteElectrical,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Step 14a: the limits and the per-step series (T,) of the alert indicators (:data:`.alerts.INDICATORS`)."""
    limits = {
        "tdd_pct": cur.tdd_limit_pct,
        "thd_v_pct": float(vd.limits["thd_pct"]),
        "pf": el.pf_limit,
        "unbalance_pct": el.unbalance_limit_pct,
        "transformer_loading_pct": el.loading_limit_pct,
        "voltage_deviation_pct": el.voltage_band_pct,
        "frequency_band_mhz": el.frequency_band_mhz,
    }
    series = {
        "tdd_pct": cur.tdd_pct,
        "thd_v_pct": vd.thd_v_pct,
        "pf": site.pf,
        "unbalance_pct": unbalance_pct,
        "transformer_loading_pct": 100.0 * tr.loading_pu,
        "voltage_deviation_pct": dv_pct,
        "frequency_hz": freq.hz,
    }
    return limits, series


def _per_step_table(
    times: pd.DatetimeIndex,
    fund: steps.PhaseFundamentals,
    cur: steps.CurrentDistortion,
    vd: steps.VoltageDistortion,
    site: steps.SitePower,
    unbalance_pct: np.ndarray,
    tr: steps.Transformer,
    dv_pct: np.ndarray,
    freq: steps.Frequency,
    pq_state: np.ndarray,
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
            "unbalance_pct": unbalance_pct,
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
