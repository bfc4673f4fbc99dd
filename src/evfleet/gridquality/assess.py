"""Grid quality of a run, the way a power engineer checks it: IEEE 519 harmonics, PF, unbalance, transformer,
voltage, frequency; alert states and an event log. All figures are MODEL ESTIMATES from the run's powers and the
site's electrical model (:class:`~evfleet.gridquality.site.SiteElectrical`), never measurements.

Units: power [kW], reactive power [kvar], apparent power [kVA], current [A] rms per phase, voltage deviation and
distortion [%], frequency [Hz], temperatures [°C], time [h].

Pipeline per step (vectorised over steps and vehicles; charger types are aggregated with numpy, no Python loop
over vehicles):

1. each session's charger type -> phases, spectrum model and loading x = |p| / P_ref;
2. displacement PF and reactive power from the type's PF-vs-loading curve;
3. fundamental current per phase of every device; harmonic current ``I_h = spectrum_h(x) · I_1``;
4. IEC 61000-3-6 summation of all devices on a phase, per harmonic order (α = 1, 1.4, 2), plus the base load's
   and the PV inverters' spectra;
5. TDD = sqrt(Σ I_h²) / I_L and each harmonic against IEEE 519 Table 2 for the site's I_SC/I_L; voltage harmonics
   ``V_h = I_h · |R + j h X|`` and voltage THD against Table 1;
6. site P, Q, PF; NEMA current unbalance of the three phases; transformer loading and IEC 60076-7 ageing;
   voltage deviation ``-(R·P + X·Q)/V²``; frequency series and time outside the band.

References: see :mod:`evfleet.gridquality.models` and ``docs/grid-quality.md``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError
from evfleet.gridquality.alerts import INDICATORS, STATES, Thresholds, detect_events
from evfleet.gridquality.layout import FleetLayout, fleet_layout
from evfleet.gridquality.models import (
    fleet_frequency_response,
    nema_unbalance_pct,
    relative_ageing_rate,
    summation_exponent,
    transformer_thermal,
    voltage_deviation_pct,
    voltage_harmonics_v,
)
from evfleet.gridquality.site import HARMONICS, SiteElectrical, SpectrumModel, load_ieee519_limits
from evfleet.gridquality.summary import assumptions_text, summary_kpis
from evfleet.inputs.frequency import synthetic_frequency

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


def _dpf(model: SpectrumModel, x: np.ndarray) -> np.ndarray:
    return np.interp(x, model.dpf_loading, model.dpf)


def _mult(model: SpectrumModel, x: np.ndarray) -> np.ndarray:
    """Loading multiplier of the spectrum: max(x, min_loading)^-β."""
    if model.loading_exponent == 0:
        return np.ones_like(x)
    return np.power(np.maximum(x, model.min_loading), -model.loading_exponent)


def _percentile(a: np.ndarray, q: float) -> float:
    return float(np.percentile(a, q)) if a.size else 0.0


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
    if thresholds is None:
        th = Thresholds()
    elif isinstance(thresholds, Thresholds):
        th = thresholds
    elif isinstance(thresholds, Mapping):
        th = Thresholds(levels=dict(thresholds))
    else:
        raise InputError(f"field 'thresholds' must be Thresholds or a mapping (value {type(thresholds).__name__!r})")
    p = np.asarray(result.power_kw, dtype=float)
    n, T = p.shape
    if (n, T) != (sc.n_vehicles, sc.n_steps):
        raise InputError(f"field 'power_kw' must have shape {(sc.n_vehicles, sc.n_steps)} (value {p.shape})")
    if not np.isfinite(p).all():
        raise InputError("field 'power_kw' must be finite (value contains NaN or inf)")
    models = el.spectra()
    limits519 = load_ieee519_limits()
    lay = fleet_layout(sc, el, p)
    spec = {name: models[name] for name in lay.model_names}
    v_ph = el.lv_kv * 1e3 / math.sqrt(3.0)
    dt_h = sc.dt_h
    h = HARMONICS
    alpha_h = summation_exponent(h)
    alphas = (1.0, 1.4, 2.0)

    # --- per device, grouped by (spectrum model, phase slot); rows sorted so that groups are contiguous -------
    group = lay.model_idx * 4 + lay.slot
    order = np.argsort(group, kind="stable")
    gs = group[order]
    starts = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]]) if n else np.zeros(0, dtype=np.int64)
    g_ids = gs[starts] if n else np.zeros(0, dtype=np.int64)
    ps = p[order]
    ap = np.abs(ps)
    x = ap / np.maximum(lay.p_ref_kw[order], 1e-9)[:, None]
    q = np.empty_like(ps)
    g = np.empty_like(ps)
    i1 = ap.copy()
    nph_s = lay.n_phases[order]
    m_sorted = lay.model_idx[order]
    bounds = np.r_[np.flatnonzero(np.r_[True, m_sorted[1:] != m_sorted[:-1]]), n] if n else np.zeros(1, int)
    for a, b in itertools.pairwise(bounds):  # one slice per spectrum model (not per vehicle)
        model = spec[lay.model_names[int(m_sorted[a])]]
        xs = x[a:b]
        dpf = _dpf(model, xs)
        tan_phi = np.sqrt(np.maximum(1.0 - dpf**2, 0.0)) / dpf
        q[a:b] = model.q_sign * ap[a:b] * tan_phi
        s_kva = ap[a:b] / dpf
        i1[a:b] = s_kva * 1e3 / (nph_s[a:b, None] * v_ph)
        g[a:b] = _mult(model, xs) * i1[a:b]
    pg = np.add.reduceat(ps, starts, axis=0) if n else np.zeros((0, T))
    qg = np.add.reduceat(q, starts, axis=0) if n else np.zeros((0, T))
    gpow = {al: (np.add.reduceat(np.power(g, al), starts, axis=0) if n else np.zeros((0, T))) for al in alphas}

    n_models = len(lay.model_names)
    spec_frac = np.array([spec[mn].spectrum_pct for mn in lay.model_names]).reshape(n_models, h.size) / 100.0

    def per_phase(gsum: np.ndarray, three_phase_share: float) -> np.ndarray:
        """(n_groups, T) -> (n_models, 3, T): 1-phase groups on their phase, 3-phase groups on every phase."""
        out = np.zeros((n_models, 3, T))
        for k, gid in enumerate(g_ids):  # one iteration per (model, slot) group: at most 4 per model
            mi, sl = divmod(int(gid), 4)
            if sl == 3:
                out[mi] += gsum[k] * three_phase_share
            else:
                out[mi, sl] += gsum[k]
        return out

    # --- fundamental per phase ------------------------------------------------------------------------------
    base = np.asarray(sc.base_load_kw, dtype=float)
    pv = np.asarray(sc.pv_kw, dtype=float)
    tan_base = math.sqrt(1.0 - el.base_load_pf**2) / el.base_load_pf
    q_base = base * tan_base
    p_ph = per_phase(pg, 1.0 / 3.0).sum(axis=0) + (base - pv)[None, :] / 3.0
    q_ph = per_phase(qg, 1.0 / 3.0).sum(axis=0) + q_base[None, :] / 3.0
    i1_ph = np.hypot(p_ph, q_ph) * 1e3 / v_ph

    # --- harmonic currents per phase (3, T, 49) by the IEC 61000-3-6 summation law --------------------------
    i1_base = np.hypot(base, q_base) * 1e3 / (3.0 * v_ph)
    base_model = models["base_load"]
    base_peak = float(base.max()) if base.size and base.max() > 0 else 1.0
    g_base = _mult(base_model, base / base_peak) * i1_base
    pv_model = models["pv_inverter"]
    pv_kwp = float(sc.site_extra.get("pv_kwp", 0.0) or 0.0)
    pv_ref = pv_kwp if pv_kwp > 0 else (float(pv.max()) if pv.size and pv.max() > 0 else 1.0)
    i1_pv = pv * 1e3 / (3.0 * v_ph)
    g_pv = _mult(pv_model, pv / pv_ref) * i1_pv
    ih = np.zeros((3, T, h.size))
    for al in alphas:
        cols = np.flatnonzero(alpha_h == al)
        gp = per_phase(gpow[al], 1.0)  # (models, 3, T): Σ g^α of the devices feeding each phase
        total = np.einsum("mh,mpt->pth", np.power(spec_frac[:, cols], al), gp) if n_models else 0.0
        total = total + (np.power(base_model.spectrum_pct[cols] / 100.0 * g_base[:, None], al)
                         + np.power(pv_model.spectrum_pct[cols] / 100.0 * g_pv[:, None], al))[None, :, :]  # fmt: skip
        ih[:, :, cols] = np.power(total, 1.0 / al)

    # --- IEEE 519 currents -----------------------------------------------------------------------------------
    r_ohm, x_ohm = el.impedance_ohm(el.rated_kva(sc.import_limit_kw))
    z_ohm = math.hypot(r_ohm, x_ohm)
    i_sc = v_ph / z_ohm
    if el.max_demand_kva is not None:
        i_l = el.max_demand_kva * 1e3 / (3.0 * v_ph)
        il_basis = f"max_demand_kva = {el.max_demand_kva:g} kVA (input)"
    else:
        i_l = float(i1_ph.max()) if i1_ph.size else 0.0
        il_basis = "the largest fundamental phase current of the run (IEEE 519 asks for the maximum demand)"
    if not i_l > 0:
        i_l = 1e-9
    isc_il = i_sc / i_l
    tdd_lim = limits519.tdd_limit_pct(isc_il)
    ih_lim = limits519.current_limits_pct(isc_il, h)
    harm_rss = np.sqrt((ih**2).sum(axis=2))  # (3, T)
    tdd_ph = 100.0 * harm_rss / i_l
    worst_ph = tdd_ph.argmax(axis=0)
    tdd = tdd_ph.max(axis=0)
    steps = np.arange(T)
    with np.errstate(invalid="ignore", divide="ignore"):
        thd_i_ph = np.where(i1_ph > 1e-9, 100.0 * harm_rss / np.where(i1_ph > 1e-9, i1_ph, 1.0), 0.0)
    thd_i = thd_i_ph[worst_ph, steps]
    ih_pct = 100.0 * ih / i_l  # (3, T, 49)
    ratio = (ih_pct / ih_lim[None, None, :]).max(axis=(0, 2)) if T else np.zeros(0)

    # --- voltage distortion ----------------------------------------------------------------------------------
    vh = voltage_harmonics_v(ih, h, r_ohm, x_ohm)
    thd_v_site = 100.0 * np.sqrt((vh**2).sum(axis=2)).max(axis=0) / v_ph
    thd_v = np.sqrt(thd_v_site**2 + el.background_thd_v_pct**2)
    vh_max = 100.0 * vh.max(axis=(0, 2)) / v_ph if T else np.zeros(0)
    vlim = limits519.voltage_limits(el.pcc_kv())

    # --- PF, unbalance, transformer, voltage ------------------------------------------------------------------
    p_tot = p_ph.sum(axis=0)
    q_tot = q_ph.sum(axis=0)
    s_tot = np.hypot(p_tot, q_tot)
    pf = np.where(s_tot > 1e-9, np.abs(p_tot) / np.where(s_tot > 1e-9, s_tot, 1.0), 1.0)
    i_rms_sum = np.sqrt(i1_ph**2 + harm_rss**2).sum(axis=0)
    pf_true = np.where(i_rms_sum > 1e-9, np.abs(p_tot) * 1e3 / (v_ph * np.where(i_rms_sum > 1e-9, i_rms_sum, 1.0)),
                       1.0)  # fmt: skip
    unbalance = nema_unbalance_pct(i1_ph)
    rated_kva = el.rated_kva(sc.import_limit_kw)
    i_rated = rated_kva * 1e3 / (3.0 * v_ph)
    k_load = i1_ph.max(axis=0) / i_rated
    _, hot_spot = transformer_thermal(k_load, dt_h, el.ambient_c, el.top_oil_rise_k, el.hot_spot_gradient_k,
                                      el.loss_ratio, el.oil_exponent, el.winding_exponent,
                                      el.oil_time_constant_min)  # fmt: skip
    ageing = relative_ageing_rate(hot_spot, el.insulation)
    dv_ph = voltage_deviation_pct(p_ph, q_ph, r_ohm, x_ohm, v_ph) + el.source_voltage_offset_pct
    dv = dv_ph[np.abs(dv_ph).argmax(axis=0), steps] if T else np.zeros(0)

    # --- frequency -------------------------------------------------------------------------------------------
    if frequency_hz is not None:
        freq = np.asarray(frequency_hz, dtype=float)
        if freq.shape != (T,) or not np.isfinite(freq).all():
            raise InputError(f"field 'frequency_hz' must be {T} finite values (value shape {freq.shape})")
        freq_src = "a user-supplied series"
    elif "frequency_hz" in sc.series:
        freq = np.asarray(sc.series["frequency_hz"], dtype=float)
        freq_src = "the scenario's frequency_hz series"
    else:
        # The same seeded signal the grid_support strategy follows (evfleet.inputs.frequency), so that the measured
        # fleet response refers to the frequency the fleet actually saw.

        seed = int(result.strategy_params.get("seed", el.frequency_seed))
        freq = synthetic_frequency(T, sc.step_minutes, seed)[0] - 50.0 + el.nominal_hz
        freq_src = (f"a SYNTHETIC series (inputs.frequency: Ornstein-Uhlenbeck, σ = 20 mHz, τ = 120 s, 10-s samples "
                    f"averaged per step, seed {seed}; an assumption, not measured data)")  # fmt: skip
    fdev_mhz = (freq - el.nominal_hz) * 1e3

    # --- per-step table, alerts, events ----------------------------------------------------------------------
    ind_limits = {
        "tdd_pct": tdd_lim,
        "thd_v_pct": float(vlim["thd_pct"]),
        "pf": el.pf_limit,
        "unbalance_pct": el.unbalance_limit_pct,
        "transformer_loading_pct": el.loading_limit_pct,
        "voltage_deviation_pct": el.voltage_band_pct,
        "frequency_band_mhz": el.frequency_band_mhz,
    }
    series = {
        "tdd_pct": tdd,
        "thd_v_pct": thd_v,
        "pf": pf,
        "unbalance_pct": unbalance,
        "transformer_loading_pct": 100.0 * k_load,
        "voltage_deviation_pct": dv,
        "frequency_hz": freq,
    }
    bounds = th.boundaries(ind_limits)
    times = sc.times
    events, states = detect_events(times, series, bounds, {"frequency_hz": el.nominal_hz})
    worst_state = np.max(np.vstack([states[k] for k in INDICATORS]), axis=0) if T else np.zeros(0, dtype=int)
    per_step = pd.DataFrame(
        {
            "time": times,
            "step": steps,
            "p_kw": p_tot,
            "q_kvar": q_tot,
            "s_kva": s_tot,
            "pf": pf,
            "pf_true": pf_true,
            "tdd_pct": tdd,
            "thd_i_pct": thd_i,
            "thd_v_pct": thd_v,
            "v_h_max_pct": vh_max,
            "harmonic_limit_ratio": ratio,
            "unbalance_pct": unbalance,
            "i_l1_a": i1_ph[0],
            "i_l2_a": i1_ph[1],
            "i_l3_a": i1_ph[2],
            "transformer_loading_pct": 100.0 * k_load,
            "transformer_hot_spot_c": hot_spot,
            "transformer_ageing_rate": ageing,
            "voltage_deviation_pct": dv,
            "frequency_hz": freq,
            "frequency_deviation_mhz": fdev_mhz,
            "pq_state": np.asarray(STATES, dtype=object)[worst_state],
        }
    )

    # --- spectrum at the worst step, per-harmonic compliance --------------------------------------------------
    t_star = int(tdd.argmax()) if T else 0
    p_star = int(worst_ph[t_star]) if T else 0
    spectrum = pd.DataFrame(
        {
            "h": h,
            "current_pct_of_il": ih_pct[p_star, t_star] if T else np.zeros(h.size),
            "limit_pct": ih_lim,
            "current_a": ih[p_star, t_star] if T else np.zeros(h.size),
            "voltage_pct": 100.0 * vh[p_star, t_star] / v_ph if T else np.zeros(h.size),
        }
    )
    ih_worst_ph = ih_pct[worst_ph, steps]  # (T, 49): the step's worst phase (by TDD)
    ih_p95 = np.percentile(ih_pct.max(axis=0), 95, axis=0) if T else np.zeros(h.size)
    h_worst = int(np.argmax(ih_p95 / ih_lim))
    vh_p95 = np.percentile(100.0 * vh.max(axis=0) / v_ph, 95, axis=0) if T else np.zeros(h.size)
    hv_worst = int(np.argmax(vh_p95))

    resp = fleet_frequency_response(p.sum(axis=0), freq, el.nominal_hz)
    report = result.strategy_report.to_dict()
    freq_keys = {k: v for k, v in report.items() if any(s in k.lower() for s in ("freq", "fcr", "droop"))}
    grid_support = result.strategy == "grid_support" or bool(freq_keys)

    summary = summary_kpis(series, ind_limits, dt_h, el, {
        "isc_il": isc_il, "i_sc_a": i_sc, "i_l_a": i_l, "tdd_lim": tdd_lim, "rated_kva": rated_kva, "z": z_ohm,
        "ageing": ageing, "hot_spot": hot_spot, "thd_i": thd_i, "ratio": ratio, "vh_max": vh_max,
        "resp": resp, "grid_support": grid_support, "freq_keys": freq_keys, "events": len(events),
        "pf_true": pf_true, "fdev": fdev_mhz, "q": q_tot,
    })  # fmt: skip
    row = limits519.ratio_labels[limits519.ratio_row(isc_il)]
    cl_i = f"IEEE 519-2014 Table 2, I_SC/I_L = {isc_il:.0f} (row {row})"
    p95 = "p95 of steps"
    rows = [
        ("TDD p95 [%]", _percentile(tdd, 95), tdd_lim, "high", f"{cl_i}; {p95}"),
        (f"harmonic current h={h[h_worst]} p95 [% of I_L]", float(ih_p95[h_worst]), float(ih_lim[h_worst]), "high",
         f"{cl_i}; even h: 25 % of odd; {p95}"),
        ("voltage THD p95 [%]", _percentile(thd_v, 95), float(vlim["thd_pct"]), "high", f"{vlim['clause']}; {p95}"),
        ("voltage THD max [%]", float(thd_v.max()) if T else 0.0, 1.5 * float(vlim["thd_pct"]), "high",
         f"{vlim['clause']}; short-time allowance 1.5 x limit"),
        (f"voltage harmonic h={h[hv_worst]} p95 [%]", float(vh_p95[hv_worst]), float(vlim["individual_pct"]),
         "high", f"{vlim['clause']}, individual; {p95}"),
        ("power factor min", float(pf.min()) if T else 1.0, el.pf_limit, "low",
         "evfleet flag level (no Moroccan PF rule located)"),
        ("current unbalance max [%]", float(unbalance.max()) if T else 0.0, el.unbalance_limit_pct, "high",
         "NEMA definition on phase currents; evfleet flag level"),
        ("transformer loading max [%]", float(100 * k_load.max()) if T else 0.0, el.loading_limit_pct, "high",
         f"rated {rated_kva:g} kVA (IEC 60076-1), worst phase incl. Q"),
        ("transformer relative ageing mean", float(ageing.mean()) if T else 0.0, 1.0, "high",
         f"IEC 60076-7 relative ageing rate, {el.insulation} paper"),
        ("voltage deviation max abs [%]", float(np.abs(dv).max()) if T else 0.0, el.voltage_band_pct, "high",
         f"±{el.voltage_band_pct:g} % band (IEC 60038: 230/400 V ±10 %)"),
        ("time outside frequency band [h]", float((np.abs(fdev_mhz) > el.frequency_band_mhz).sum() * dt_h), 0.0,
         "info", f"ENTSO-E normal band ±{el.frequency_band_mhz:g} mHz; not site-controlled"),
    ]  # fmt: skip
    comp = []
    for name, value, limit, kind, clause in rows:
        if kind == "info":
            status = "info"
        elif kind == "low":
            status = "pass" if value >= limit - 1e-12 else "fail"
        else:
            status = "pass" if value <= limit + 1e-12 else "fail"
        comp.append({"indicator": name, "value": value, "limit": limit, "status": status, "clause": clause})
    compliance = pd.DataFrame(comp, columns=["indicator", "value", "limit", "status", "clause"])
    summary["pq_compliant"] = bool((compliance["status"] != "fail").all())
    summary["pq_checks_failed"] = int((compliance["status"] == "fail").sum())

    assumptions = assumptions_text(el, lay, models, rated_kva, r_ohm, x_ohm, i_sc, i_l, il_basis, isc_il, freq_src,
                               grid_support, freq_keys, resp)  # fmt: skip
    ih_worst_ph.setflags(write=False)
    return PowerQualityReport(per_step, summary, compliance, spectrum, events, assumptions, ih_worst_ph, ih_lim,
                              dict(bounds))  # fmt: skip


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
        dpf = _dpf(m, x)
        thd = m.thd_full_load_pct * _mult(m, x)
        frames.append(pd.DataFrame({
            "charger": name, "model": ct.model, "loading": x, "dpf": dpf,
            "q_kvar_per_kw": m.q_sign * np.sqrt(np.maximum(1.0 - dpf**2, 0.0)) / dpf,
            "thd_i_pct": thd, "pf_true": dpf / np.sqrt(1.0 + (thd / 100.0) ** 2),
        }))  # fmt: skip
    return pd.concat(frames, ignore_index=True)
