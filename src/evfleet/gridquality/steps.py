"""The steps of the grid-quality assessment (:func:`evfleet.gridquality.assess.assess`), one pure function each.

All figures are MODEL ESTIMATES. Shapes: N sessions, T steps, G device groups (spectrum model × phase slot),
M spectrum models, 3 phases, 49 harmonic orders h = 2..50 (:data:`~evfleet.gridquality.site.HARMONICS`).
Units: power [kW], reactive power [kvar], apparent power [kVA], current [A] rms per phase, voltage [V]
phase-to-neutral (``v_ph_v``), distortion and deviations [%], frequency [Hz], temperatures [°C], time [h].

The steps, in the order ``assess`` runs them (vectorised over steps and devices; a loop runs per spectrum model or
per device group, never per vehicle):

1. :func:`device_loading`: sessions sorted into (model, phase slot) groups, loading ``x = |p| / P_ref``;
2. :func:`device_power_factor`: displacement PF and reactive power from the PF-vs-loading curve;
3. :func:`device_currents`: fundamental current of every device and its harmonic scale ``g = m(x) · I_1``;
4. :func:`group_sums` and :func:`on_phases`: sums per group, spread onto the three phases;
5. :func:`phase_fundamentals`: P, Q and fundamental current per phase (EVs, base load, PV);
6. :func:`harmonic_currents`: IEC TR 61000-3-6 summation per phase and order;
7. :func:`pcc_impedance`, :func:`demand_current`, :func:`current_distortion`: IEEE 519 Table 2 (TDD, I_h);
8. :func:`voltage_distortion`: ``V_h = I_h · |R + j h X|``, THD_V against IEEE 519 Table 1;
9. :func:`site_power`: site P, Q, S, displacement and true PF;
10. NEMA current unbalance (:func:`~evfleet.gridquality.models.nema_unbalance_pct`);
11. :func:`transformer_loading`: loading, IEC 60076-7 hot spot and ageing;
12. :func:`voltage_deviation`: ``dV = -(R·P + X·Q) / V²``;
13. :func:`frequency_series`: the frequency the fleet saw;
14. (alert states and events: :mod:`evfleet.gridquality.alerts`, called by ``assess``);
15. :func:`harmonic_summary`: the spectrum at the worst step, p95 per order;
16. :func:`grid_support_run`: is this a frequency-response run;
17. :func:`compliance_table`: one row per check with its limit and clause.

References: :mod:`evfleet.gridquality.models`, ``docs/grid-quality.md``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError
from evfleet.gridquality.layout import FleetLayout
from evfleet.gridquality.models import (
    billed_cos_phi,
    cable_impedance_ohm,
    cable_voltage_drop_pct,
    capacitor_bank_steps,
    nema_unbalance_pct,
    neutral_current_a,
    phase_current_phasors,
    relative_ageing_rate,
    sequence_components,
    summation_exponent,
    transformer_thermal,
    voltage_deviation_pct,
    voltage_harmonics_v,
    voltage_unbalance_factor_pct,
)
from evfleet.gridquality.site import (
    CABLE_REACTANCE_OHM_PER_M,
    HARMONICS,
    RESISTIVITY_OHM_MM2_PER_M,
    Ieee519Limits,
    SiteElectrical,
    SpectrumModel,
)
from evfleet.inputs.frequency import synthetic_frequency

__all__ = [
    "ALPHAS",
    "SUMMATION_WORDS",
    "BilledCosPhi",
    "CurrentDistortion",
    "DeviceGroups",
    "Devices",
    "Feeders",
    "Frequency",
    "HarmonicSummary",
    "Pcc",
    "PhaseFundamentals",
    "SitePower",
    "Transformer",
    "Unbalance",
    "VoltageDistortion",
    "billed_power_factor",
    "cable_drops",
    "compliance_table",
    "current_distortion",
    "demand_current",
    "device_currents",
    "device_loading",
    "device_power_factor",
    "displacement_pf",
    "frequency_series",
    "grid_support_run",
    "group_sums",
    "harmonic_currents",
    "harmonic_summary",
    "loading_multiplier",
    "lv_feeders",
    "on_phases",
    "pcc_impedance",
    "phase_fundamentals",
    "site_power",
    "ten_minute_values",
    "transformer_loading",
    "unbalance",
    "voltage_deviation",
    "voltage_distortion",
]

#: The IEC TR 61000-3-6 summation exponents α (h < 5: 1; 5 <= h <= 10: 1.4; h > 10: 2).
ALPHAS = (1.0, 1.4, 2.0)
#: Below this [A] or [kVA] a current or power counts as zero (no division by it).
_EPS = 1e-9


# --- the charger models ------------------------------------------------------------------------------------------


def displacement_pf(model: SpectrumModel, loading: np.ndarray) -> np.ndarray:
    """Displacement PF at loading x (fraction of P_ref): the model's PF-vs-loading curve, linearly interpolated."""
    return np.interp(loading, model.dpf_loading, model.dpf)


def loading_multiplier(model: SpectrumModel, loading: np.ndarray) -> np.ndarray:
    """Loading multiplier m(x) of the spectrum: ``max(x, min_loading)^-β`` (THD_i rises at part load)."""
    if model.loading_exponent == 0:
        return np.ones_like(loading)
    return np.power(np.maximum(loading, model.min_loading), -model.loading_exponent)


# --- 1-4: devices, their currents, their groups ------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Devices:
    """The sessions sorted by group ``model_idx · 4 + slot`` (slot 0..2 = L1..L3, 3 = three-phase) so that every
    group is one block of rows.

    ``p_kw``/``abs_p_kw`` (N, T) [kW]: signed and absolute power; ``loading`` (N, T): x = |p| / P_ref;
    ``n_phases``, ``model_idx`` (N,); ``starts`` (G,): first row of each group, ``group_ids`` (G,) its id;
    ``model_bounds``: row bounds of each spectrum model's block; ``model_names`` (M,).
    """

    p_kw: np.ndarray
    abs_p_kw: np.ndarray
    loading: np.ndarray
    n_phases: np.ndarray
    model_idx: np.ndarray
    starts: np.ndarray
    group_ids: np.ndarray
    model_bounds: np.ndarray
    model_names: tuple[str, ...]
    order: np.ndarray | None = None
    slot: np.ndarray | None = None

    def model_blocks(self) -> Iterator[tuple[int, int, str]]:
        """``(first row, end row, model name)`` of each spectrum model's block (one per model, not per vehicle)."""
        for a, b in itertools.pairwise(self.model_bounds):
            yield int(a), int(b), self.model_names[int(self.model_idx[a])]


def device_loading(power_kw: np.ndarray, layout: FleetLayout) -> Devices:
    """Step 1: each session's group (spectrum model, phase slot) and loading ``x = |p| / P_ref`` (P_ref > 0)."""
    n = power_kw.shape[0]
    group = layout.model_idx * 4 + layout.slot
    order = np.argsort(group, kind="stable")
    gs = group[order]
    starts = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]]) if n else np.zeros(0, dtype=np.int64)
    p_sorted = power_kw[order]
    abs_p = np.abs(p_sorted)
    m_sorted = layout.model_idx[order]
    return Devices(
        p_kw=p_sorted,
        abs_p_kw=abs_p,
        loading=abs_p / np.maximum(layout.p_ref_kw[order], _EPS)[:, None],
        n_phases=layout.n_phases[order],
        model_idx=m_sorted,
        starts=starts,
        group_ids=gs[starts] if n else np.zeros(0, dtype=np.int64),
        model_bounds=np.r_[np.flatnonzero(np.r_[True, m_sorted[1:] != m_sorted[:-1]]), n] if n else np.zeros(1, int),
        model_names=layout.model_names,
        order=order,
        slot=layout.slot[order],
    )


def device_power_factor(devices: Devices, spectra: Mapping[str, SpectrumModel]) -> tuple[np.ndarray, np.ndarray]:
    """Step 2: displacement PF (N, T) and reactive power ``Q = sign · |P| · tan φ`` (N, T) [kvar] of every device,
    ``tan φ = sqrt(1 - DPF²) / DPF`` (``sign`` +1 inductive, -1 capacitive)."""
    dpf = np.empty_like(devices.p_kw)
    q_kvar = np.empty_like(devices.p_kw)
    for a, b, name in devices.model_blocks():
        model = spectra[name]
        dpf[a:b] = displacement_pf(model, devices.loading[a:b])
        tan_phi = np.sqrt(np.maximum(1.0 - dpf[a:b] ** 2, 0.0)) / dpf[a:b]
        q_kvar[a:b] = model.q_sign * devices.abs_p_kw[a:b] * tan_phi
    return dpf, q_kvar


def device_currents(
    devices: Devices, dpf: np.ndarray, spectra: Mapping[str, SpectrumModel], v_ph_v: float
) -> tuple[np.ndarray, np.ndarray]:
    """Step 3: fundamental current per phase ``I_1 = (|P| / DPF) / (n_phases · V_ph)`` (N, T) [A] of every device and
    its harmonic scale ``g = m(x) · I_1`` (N, T) [A]: the device's h-th harmonic is ``spectrum_h · g``."""
    i1_a = np.empty_like(devices.p_kw)
    g_a = np.empty_like(devices.p_kw)
    for a, b, name in devices.model_blocks():
        s_kva = devices.abs_p_kw[a:b] / dpf[a:b]
        i1_a[a:b] = s_kva * 1e3 / (devices.n_phases[a:b, None] * v_ph_v)
        g_a[a:b] = loading_multiplier(spectra[name], devices.loading[a:b]) * i1_a[a:b]
    return i1_a, g_a


@dataclass(frozen=True, eq=False)
class DeviceGroups:
    """Sums over the devices of each group (G, T): ``p_kw`` [kW], ``q_kvar`` [kvar] and, per summation exponent α,
    ``g_pow[α] = Σ g^α``; ``group_ids`` (G,) = model index · 4 + slot; ``model_names`` (M,)."""

    group_ids: np.ndarray
    p_kw: np.ndarray
    q_kvar: np.ndarray
    g_pow: Mapping[float, np.ndarray]
    model_names: tuple[str, ...]


def group_sums(devices: Devices, q_kvar: np.ndarray, g_a: np.ndarray) -> DeviceGroups:
    """Step 4a: P, Q and ``Σ g^α`` (α in :data:`ALPHAS`) of every (model, slot) group."""
    n, n_steps = devices.p_kw.shape

    def per_group(a: np.ndarray) -> np.ndarray:
        return np.add.reduceat(a, devices.starts, axis=0) if n else np.zeros((0, n_steps))

    return DeviceGroups(
        group_ids=devices.group_ids,
        p_kw=per_group(devices.p_kw),
        q_kvar=per_group(q_kvar),
        g_pow={al: per_group(np.power(g_a, al)) for al in ALPHAS},
        model_names=devices.model_names,
    )


def on_phases(group_values: np.ndarray, groups: DeviceGroups, three_phase_share: float) -> np.ndarray:
    """Step 4b: (G, T) -> (M, 3, T): a 1-phase group on its phase, a 3-phase group on every phase times
    ``three_phase_share`` (1/3 for powers, 1 for currents)."""
    out = np.zeros((len(groups.model_names), 3, group_values.shape[1]))
    for k, gid in enumerate(groups.group_ids):  # one iteration per (model, slot) group: at most 4 per model
        mi, sl = divmod(int(gid), 4)
        if sl == 3:
            out[mi] += group_values[k] * three_phase_share
        else:
            out[mi, sl] += group_values[k]
    return out


# --- 5-6: per phase ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PhaseFundamentals:
    """Per phase (3, T): ``p_kw`` [kW], ``q_kvar`` [kvar], fundamental current ``i1_a`` [A] and its phasor
    ``phasors`` [A] (L1 at 0°); per step (T,): ``q_base_kvar`` reactive power of the base load, ``q_pv_kvar`` of
    the PV inverters (negative: supplied), ``cap_steps`` capacitor-bank steps switched in and ``q_cap_kvar`` the
    bank's reactive power (negative: supplied) [kvar]; ``q_before_bank_kvar`` the site's Q without the bank."""

    p_kw: np.ndarray
    q_kvar: np.ndarray
    i1_a: np.ndarray
    q_base_kvar: np.ndarray
    phasors: np.ndarray | None = None
    q_pv_kvar: np.ndarray | None = None
    cap_steps: np.ndarray | None = None
    q_cap_kvar: np.ndarray | None = None
    q_before_bank_kvar: np.ndarray | None = None


def phase_fundamentals(
    groups: DeviceGroups,
    base_kw: np.ndarray,
    pv_kw: np.ndarray,
    base_load_pf: float,
    v_ph_v: float,
    pv_pf: float = 1.0,
    cap_step_kvar: float = 0.0,
    cap_steps: int = 0,
) -> PhaseFundamentals:
    """Step 5: ``P_ph = Σ P_devices on ph + (base - PV) / 3``, ``Q_ph = Σ Q + (Q_base + Q_PV + Q_bank) / 3`` with
    ``Q_base = base · tan(acos(PF_base))`` (lagging), ``Q_PV = -PV · tan(acos(pv_pf))`` (the inverters supply
    reactive power; 0 at unity PF) and the automatic capacitor bank ``Q_bank = -n · step`` with
    ``n = clip(floor(Q_site / step), 0, steps)`` (:func:`~evfleet.gridquality.models.capacitor_bank_steps`: never
    over-compensating), ``I_1,ph = |P_ph + j Q_ph| / V_ph``."""
    q_base = base_kw * (math.sqrt(1.0 - base_load_pf**2) / base_load_pf)
    q_pv = -pv_kw * (math.sqrt(max(1.0 - pv_pf**2, 0.0)) / pv_pf)
    p_ph = on_phases(groups.p_kw, groups, 1.0 / 3.0).sum(axis=0) + (base_kw - pv_kw)[None, :] / 3.0
    q_ph = on_phases(groups.q_kvar, groups, 1.0 / 3.0).sum(axis=0) + (q_base + q_pv)[None, :] / 3.0
    q_site = q_ph.sum(axis=0)
    n_on = capacitor_bank_steps(q_site, cap_step_kvar, cap_steps)
    q_cap = -n_on * cap_step_kvar
    q_ph = q_ph + q_cap[None, :] / 3.0
    return PhaseFundamentals(p_ph, q_ph, np.hypot(p_ph, q_ph) * 1e3 / v_ph_v, q_base,
                             phase_current_phasors(p_ph, q_ph, v_ph_v), q_pv, n_on, q_cap, q_site)  # fmt: skip


def harmonic_currents(
    groups: DeviceGroups,
    spectra: Mapping[str, SpectrumModel],
    base_kw: np.ndarray,
    q_base_kvar: np.ndarray,
    pv_kw: np.ndarray,
    pv_kwp: float,
    v_ph_v: float,
    correlated: bool = False,
) -> np.ndarray:
    """Step 6: harmonic currents per phase and order (3, T, 49) [A] by the IEC TR 61000-3-6 summation law
    ``I_h = (Σ_devices (spectrum_h · g)^α)^(1/α)``, α = 1 (h < 5), 1.4 (5 <= h <= 10), 2 (h > 10); with
    ``correlated`` α = 1 for every order (identical converters in phase: the arithmetic sum, an upper bound).

    The base load (balanced, loading = base / its peak) and the PV inverters (balanced, loading = PV / ``pv_kwp``,
    else / the PV peak) are two more sources with their own spectra.
    """
    h = HARMONICS
    n_steps = base_kw.shape[0]
    n_models = len(groups.model_names)
    spec_frac = np.array([spectra[m].spectrum_pct for m in groups.model_names]).reshape(n_models, h.size) / 100.0
    base_model = spectra["base_load"]
    base_peak = float(base_kw.max()) if base_kw.size and base_kw.max() > 0 else 1.0
    i1_base = np.hypot(base_kw, q_base_kvar) * 1e3 / (3.0 * v_ph_v)
    g_base = loading_multiplier(base_model, base_kw / base_peak) * i1_base
    pv_model = spectra["pv_inverter"]
    pv_ref = pv_kwp if pv_kwp > 0 else (float(pv_kw.max()) if pv_kw.size and pv_kw.max() > 0 else 1.0)
    i1_pv = pv_kw * 1e3 / (3.0 * v_ph_v)
    g_pv = loading_multiplier(pv_model, pv_kw / pv_ref) * i1_pv
    alpha_h = np.ones(h.size) if correlated else summation_exponent(h)
    ih = np.zeros((3, n_steps, h.size))
    for al in ALPHAS:
        cols = np.flatnonzero(alpha_h == al)
        if cols.size == 0:
            continue
        gp = on_phases(groups.g_pow[al], groups, 1.0)  # (M, 3, T): Σ g^α of the devices feeding each phase
        total = np.einsum("mh,mpt->pth", np.power(spec_frac[:, cols], al), gp) if n_models else 0.0
        total = total + (np.power(base_model.spectrum_pct[cols] / 100.0 * g_base[:, None], al)
                         + np.power(pv_model.spectrum_pct[cols] / 100.0 * g_pv[:, None], al))[None, :, :]  # fmt: skip
        ih[:, :, cols] = np.power(total, 1.0 / al)
    return ih


# --- 7-8: IEEE 519 -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pcc:
    """The point of common coupling: transformer ``rated_kva`` [kVA], impedance ``r_ohm``, ``x_ohm``, ``z_ohm``
    [Ω per phase, LV-referred] and short-circuit current ``i_sc_a = V_ph / |Z|`` [A]."""

    rated_kva: float
    r_ohm: float
    x_ohm: float
    z_ohm: float
    i_sc_a: float


def pcc_impedance(el: SiteElectrical, import_limit_kw: float, v_ph_v: float) -> Pcc:
    """Step 7a: transformer rating (IEC 60076-1 standard sizes), PCC impedance (transformer + MV network) and I_SC."""
    rated_kva = el.rated_kva(import_limit_kw)
    r_ohm, x_ohm = el.impedance_ohm(rated_kva)
    z_ohm = math.hypot(r_ohm, x_ohm)
    return Pcc(rated_kva, r_ohm, x_ohm, z_ohm, v_ph_v / z_ohm)


def demand_current(el: SiteElectrical, rated_kva: float, subscribed_kva: float | None,
                   v_ph_v: float) -> tuple[float, str, float]:  # fmt: skip
    """Step 7b: IEEE 519 maximum demand current I_L [A, LV-referred], its basis in words and the demand [kVA]:
    a property of the site, never of the run: ``max_demand_kva``, else the tariff contract's subscribed power
    (``subscribed_power_kva``), else the transformer rating; ``I_L = S / (3 V_ph)``."""
    if el.max_demand_kva is not None:
        s_kva, basis = float(el.max_demand_kva), f"max_demand_kva = {el.max_demand_kva:g} kVA (site input)"
    elif subscribed_kva is not None:
        s_kva = float(subscribed_kva)
        basis = f"the tariff contract's subscribed power, {s_kva:g} kVA (subscribed_power_kva)"
    else:
        s_kva = float(rated_kva)
        basis = (f"the transformer rating, {s_kva:g} kVA (no max_demand_kva and no subscribed power in the tariff: "
                 "an upper bound of the maximum demand, an assumption)")  # fmt: skip
    return s_kva * 1e3 / (3.0 * v_ph_v), basis, s_kva


@dataclass(frozen=True, eq=False)
class CurrentDistortion:
    """IEEE 519-2014 Table 2 figures. ``i_l_a`` [A], ``isc_il`` = I_SC / I_L, ``tdd_limit_pct`` [%],
    ``ih_limit_pct`` (49,) [% of I_L]; per step (T,): ``tdd_pct`` and ``thd_i_pct`` on the ``worst_phase`` (by
    TDD), ``limit_ratio`` = max over phases and orders of I_h / limit; ``harm_rss_a`` (3, T) = sqrt(Σ_h I_h²) [A];
    ``ih_pct_of_il`` (3, T, 49) [% of I_L]."""

    i_l_a: float
    isc_il: float
    tdd_limit_pct: float
    ih_limit_pct: np.ndarray
    harm_rss_a: np.ndarray
    tdd_pct: np.ndarray
    worst_phase: np.ndarray
    thd_i_pct: np.ndarray
    ih_pct_of_il: np.ndarray
    limit_ratio: np.ndarray


def current_distortion(
    ih_a: np.ndarray, i1_ph_a: np.ndarray, i_l_a: float, i_sc_a: float, limits: Ieee519Limits
) -> CurrentDistortion:
    """Step 7c: ``TDD = sqrt(Σ_h I_h²) / I_L`` and ``THD_i = sqrt(Σ_h I_h²) / I_1`` [%] per phase (reported on the
    phase of largest TDD), each I_h against IEEE 519 Table 2 of the edition for the site's I_SC / I_L (even
    orders by the edition's rule: 2014 25 % of odd; 2022 50 % for h <= 6, 100 % above)."""
    n_steps = ih_a.shape[1]
    isc_il = i_sc_a / i_l_a
    ih_lim = limits.current_limits_pct(isc_il, HARMONICS)
    harm_rss = np.sqrt((ih_a**2).sum(axis=2))  # (3, T)
    tdd_ph = 100.0 * harm_rss / i_l_a
    worst_ph = tdd_ph.argmax(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        thd_i_ph = np.where(i1_ph_a > _EPS, 100.0 * harm_rss / np.where(i1_ph_a > _EPS, i1_ph_a, 1.0), 0.0)
    ih_pct = 100.0 * ih_a / i_l_a  # (3, T, 49)
    return CurrentDistortion(
        i_l_a=i_l_a,
        isc_il=isc_il,
        tdd_limit_pct=limits.tdd_limit_pct(isc_il),
        ih_limit_pct=ih_lim,
        harm_rss_a=harm_rss,
        tdd_pct=tdd_ph.max(axis=0),
        worst_phase=worst_ph,
        thd_i_pct=thd_i_ph[worst_ph, np.arange(n_steps)],
        ih_pct_of_il=ih_pct,
        limit_ratio=(ih_pct / ih_lim[None, None, :]).max(axis=(0, 2)) if n_steps else np.zeros(0),
    )


@dataclass(frozen=True, eq=False)
class VoltageDistortion:
    """``vh_v`` (3, T, 49) [V]; per step (T,): ``thd_v_pct`` (worst phase, background added in quadrature) and
    ``vh_max_pct`` (largest single harmonic) [% of V_ph]; ``limits``: IEEE 519 Table 1 row (``thd_pct``,
    ``individual_pct``, ``clause``) for the PCC voltage."""

    vh_v: np.ndarray
    thd_v_pct: np.ndarray
    vh_max_pct: np.ndarray
    limits: Mapping[str, Any]


def voltage_distortion(
    ih_a: np.ndarray, pcc: Pcc, el: SiteElectrical, limits: Ieee519Limits, v_ph_v: float
) -> VoltageDistortion:
    """Step 8: ``V_h = I_h · |R + j h X|`` (R constant with frequency), ``THD_V = sqrt(THD_site² + THD_background²)``
    with ``THD_site = max_phase sqrt(Σ_h V_h²) / V_ph``, against IEEE 519-2014 Table 1."""
    vh = voltage_harmonics_v(ih_a, HARMONICS, pcc.r_ohm, pcc.x_ohm)
    thd_v_site = 100.0 * np.sqrt((vh**2).sum(axis=2)).max(axis=0) / v_ph_v
    return VoltageDistortion(
        vh_v=vh,
        thd_v_pct=np.sqrt(thd_v_site**2 + el.background_thd_v_pct**2),
        vh_max_pct=100.0 * vh.max(axis=(0, 2)) / v_ph_v if ih_a.shape[1] else np.zeros(0),
        limits=limits.voltage_limits(el.pcc_kv()),
    )


# --- 9-13: site figures ------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SitePower:
    """Per step (T,): ``p_kw`` [kW], ``q_kvar`` [kvar], ``s_kva`` [kVA], displacement ``pf`` and ``pf_true``."""

    p_kw: np.ndarray
    q_kvar: np.ndarray
    s_kva: np.ndarray
    pf: np.ndarray
    pf_true: np.ndarray


def site_power(fund: PhaseFundamentals, harm_rss_a: np.ndarray, v_ph_v: float) -> SitePower:
    """Step 9: ``P = Σ_ph P_ph``, ``Q = Σ_ph Q_ph``, ``S = |P + j Q|``, ``PF = |P| / S`` and the true PF
    ``|P| / (V_ph · Σ_ph I_rms,ph)`` with ``I_rms = sqrt(I_1² + Σ_h I_h²)`` (1 where S or I is zero)."""
    p = fund.p_kw.sum(axis=0)
    q = fund.q_kvar.sum(axis=0)
    s = np.hypot(p, q)
    i_rms_sum = np.sqrt(fund.i1_a**2 + harm_rss_a**2).sum(axis=0)
    pf = np.where(s > _EPS, np.abs(p) / np.where(s > _EPS, s, 1.0), 1.0)
    pf_true = np.where(i_rms_sum > _EPS, np.abs(p) * 1e3 / (v_ph_v * np.where(i_rms_sum > _EPS, i_rms_sum, 1.0)), 1.0)
    return SitePower(p_kw=p, q_kvar=q, s_kva=s, pf=pf, pf_true=pf_true)


@dataclass(frozen=True, eq=False)
class Transformer:
    """Per step (T,): ``loading_pu`` K = I / I_rated on the worst phase, ``hot_spot_c`` [°C], relative
    ``ageing_rate`` (1 = normal ageing at the reference hot spot)."""

    loading_pu: np.ndarray
    hot_spot_c: np.ndarray
    ageing_rate: np.ndarray


def transformer_loading(
    i1_ph_a: np.ndarray, rated_kva: float, dt_h: float, el: SiteElectrical, v_ph_v: float
) -> Transformer:
    """Step 11: ``K = max_ph I_1,ph / I_rated`` with ``I_rated = S_rated / (3 V_ph)`` (fundamental incl. Q);
    IEC 60076-7 top-oil/hot-spot model (ONAN) and relative ageing rate (harmonic losses, IEEE C57.110, left out)."""
    k_load = i1_ph_a.max(axis=0) / (rated_kva * 1e3 / (3.0 * v_ph_v))
    _, hot_spot = transformer_thermal(k_load, dt_h, el.ambient_c, el.top_oil_rise_k, el.hot_spot_gradient_k,
                                      el.loss_ratio, el.oil_exponent, el.winding_exponent,
                                      el.oil_time_constant_min)  # fmt: skip
    return Transformer(k_load, hot_spot, relative_ageing_rate(hot_spot, el.insulation))


def voltage_deviation(fund: PhaseFundamentals, pcc: Pcc, el: SiteElectrical, v_ph_v: float) -> np.ndarray:
    """Step 12: voltage deviation (T,) [% of nominal] on the phase of largest |dV|: ``dV = -(R·P + X·Q) / V_ph²``
    per phase plus the source's offset above nominal."""
    dv_ph = voltage_deviation_pct(fund.p_kw, fund.q_kvar, pcc.r_ohm, pcc.x_ohm, v_ph_v) + el.source_voltage_offset_pct
    n_steps = dv_ph.shape[1]
    return dv_ph[np.abs(dv_ph).argmax(axis=0), np.arange(n_steps)] if n_steps else np.zeros(0)


@dataclass(frozen=True, eq=False)
class Frequency:
    """``hz`` (T,) [Hz], ``deviation_mhz`` (T,) [mHz] from nominal, ``source`` in words."""

    hz: np.ndarray
    deviation_mhz: np.ndarray
    source: str


def frequency_series(
    n_steps: int,
    step_minutes: int,
    scenario_series: Mapping[str, np.ndarray],
    strategy_params: Mapping[str, Any],
    el: SiteElectrical,
    override_hz: np.ndarray | None = None,
) -> Frequency:
    """Step 13: the frequency series (T,) [Hz]: ``override_hz``, else the scenario's ``frequency_hz``, else the
    seeded synthetic signal the grid_support strategy follows (:mod:`evfleet.inputs.frequency`, seed from the
    strategy's parameters, else ``el.frequency_seed``), so the measured fleet response refers to what it saw."""
    if override_hz is not None:
        freq = np.asarray(override_hz, dtype=float)
        if freq.shape != (n_steps,) or not np.isfinite(freq).all():
            raise InputError(f"field 'frequency_hz' must be {n_steps} finite values (value shape {freq.shape})")
        source = "a user-supplied series"
    elif "frequency_hz" in scenario_series:
        freq = np.asarray(scenario_series["frequency_hz"], dtype=float)
        source = "the scenario's frequency_hz series"
    else:
        seed = int(strategy_params.get("seed", el.frequency_seed))
        freq = synthetic_frequency(n_steps, step_minutes, seed)[0] - 50.0 + el.nominal_hz
        source = (f"a SYNTHETIC series (inputs.frequency: Ornstein-Uhlenbeck, σ = 20 mHz, τ = 120 s, 10-s samples "
                  f"averaged per step, seed {seed}; an assumption, not measured data)")  # fmt: skip
    return Frequency(freq, (freq - el.nominal_hz) * 1e3, source)


# --- 10b, 12b, 9b: unbalance, LV cables, billed cos φ --------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Unbalance:
    """Per step (T,): current sequence components ``i0_a``, ``i1_a``, ``i2_a`` (complex) [A, LV side], the
    voltage unbalance factor ``vuf_pct`` at the PCC [%], the neutral current ``i_n_a`` [A] (fundamental and
    triplen harmonics), the NEMA current deviation ``current_deviation_pct`` [%] (information only) and the
    EN 50160 statistic: ``vuf_10min_pct`` (the 10-min values, or the step values when a step is longer) and
    ``vuf_p95_pct`` their 95th percentile."""

    i0_a: np.ndarray
    i1_a: np.ndarray
    i2_a: np.ndarray
    vuf_pct: np.ndarray
    i_n_a: np.ndarray
    current_deviation_pct: np.ndarray
    vuf_10min_pct: np.ndarray
    vuf_p95_pct: float


def ten_minute_values(x: np.ndarray, step_minutes: int) -> np.ndarray:
    """EN 50160 / IEC 61000-4-30 10-min values of a per-step series: the mean of each complete block of
    ``10 / step_minutes`` steps when the step divides 10 min, else the step values themselves (a step of 15 min
    is one value: the 10-min statistic cannot be finer than the run)."""
    x = np.asarray(x, dtype=float)
    if step_minutes >= 10 or 10 % step_minutes:
        return x
    k = 10 // step_minutes
    m = x.size // k
    return x[: m * k].reshape(m, k).mean(axis=1) if m else x


def unbalance(fund: PhaseFundamentals, ih_a: np.ndarray, pcc: Pcc, v_ph_v: float, step_minutes: int) -> Unbalance:
    """Step 10: sequence components of the phase currents, ``VUF = |Z·I2| / |V - Z·I1|`` at the PCC
    (:func:`~evfleet.gridquality.models.voltage_unbalance_factor_pct`, Z the upstream network's impedance),
    neutral current, and the NEMA current deviation (kept as information)."""
    i0, i1, i2 = sequence_components(fund.phasors)
    vuf = voltage_unbalance_factor_pct(i1, i2, pcc.r_ohm, pcc.x_ohm, v_ph_v)
    ten = ten_minute_values(vuf, step_minutes)
    return Unbalance(
        i0_a=i0,
        i1_a=i1,
        i2_a=i2,
        vuf_pct=vuf,
        i_n_a=neutral_current_a(fund.phasors, ih_a, HARMONICS),
        current_deviation_pct=nema_unbalance_pct(fund.i1_a),
        vuf_10min_pct=ten,
        vuf_p95_pct=_percentile(ten, 95),
    )


@dataclass(frozen=True, eq=False)
class Feeders:
    """The LV feeders: ``specs`` (F,) their cables, ``r_ohm``/``x_ohm`` (F,) [Ω per conductor], ``feeder`` (N,)
    the feeder of each session, ``source`` in words; per step (T,): ``drop_pct`` the largest drop from the LV
    busbar to a feeder's end (the farthest charger) over feeders and phases [%], ``worst_feeder`` its index;
    ``drop_max_pct`` (F,) each feeder's largest drop."""

    specs: tuple[Mapping[str, Any], ...]
    r_ohm: np.ndarray
    x_ohm: np.ndarray
    feeder: np.ndarray
    source: str
    drop_pct: np.ndarray
    worst_feeder: np.ndarray
    drop_max_pct: np.ndarray


def lv_feeders(el: SiteElectrical, position: np.ndarray, import_limit_kw: float, base_kw: np.ndarray) -> tuple[
        tuple[dict[str, Any], ...], np.ndarray, str]:  # fmt: skip
    """Step 12a: the feeders and the feeder of every session (by its charger's position, round robin: the charger
    at position k on feeder k mod F, every connector of a charger on the same feeder). ``feeders`` when given;
    else ``F = max(1, ceil((import_limit - peak base load) / feeder_kw))`` identical feeders of
    ``feeder_length_m`` m x ``feeder_mm2`` mm² ``feeder_material`` (assumptions)."""
    specs = el.cable_specs()
    if specs:
        source = f"{len(specs)} feeders given in the site model"
    else:
        ev_kw = max(import_limit_kw - (float(base_kw.max()) if base_kw.size else 0.0), 0.0)
        f = max(1, math.ceil(ev_kw / el.feeder_kw - 1e-9))
        spec = {"length_m": el.feeder_length_m, "cross_section_mm2": el.feeder_mm2, "material": el.feeder_material,
                "parallel": 1}  # fmt: skip
        specs = [dict(spec) for _ in range(f)]
        source = (f"{f} default feeders (ceil of the EV share of the import limit, {ev_kw:g} kW, / feeder_kw "
                  f"{el.feeder_kw:g} kW), each {el.feeder_length_m:g} m of {el.feeder_mm2:g} mm² "
                  f"{el.feeder_material}: assumptions")  # fmt: skip
    return tuple(specs), np.asarray(position, dtype=np.int64) % len(specs), source


def cable_drops(devices: Devices, q_dev: np.ndarray, specs: tuple[Mapping[str, Any], ...], feeder: np.ndarray,
                source: str, v_ph_v: float) -> Feeders:  # fmt: skip
    """Step 12b: per feeder and phase, P and Q of its sessions (1-phase on their phase, 3-phase a third on each),
    its neutral current, and the drop ``(R·P + X·Q)/V² + R·I_N/V`` to its end
    (:func:`~evfleet.gridquality.models.cable_voltage_drop_pct`; R = ρ L / S at the operating temperature,
    X = 0.08 mΩ/m)."""
    n_f = len(specs)
    n, n_steps = devices.p_kw.shape
    r = np.empty(n_f)
    x = np.empty(n_f)
    for k, fd in enumerate(specs):  # one per feeder (a handful)
        r[k], x[k] = cable_impedance_ohm(fd["length_m"], fd["cross_section_mm2"],
                                         RESISTIVITY_OHM_MM2_PER_M[fd["material"]], CABLE_REACTANCE_OHM_PER_M,
                                         fd["parallel"])  # fmt: skip
    p_f = np.zeros((n_f, 3, n_steps))
    q_f = np.zeros((n_f, 3, n_steps))
    if n:
        fd_dev = feeder[devices.order]
        key = fd_dev * 4 + devices.slot
        order = np.argsort(key, kind="stable")
        ks = key[order]
        starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
        p_sum = np.add.reduceat(devices.p_kw[order], starts, axis=0)
        q_sum = np.add.reduceat(q_dev[order], starts, axis=0)
        for j, kk in enumerate(ks[starts].tolist()):  # one per (feeder, slot) group: at most 4 per feeder
            f, sl = divmod(int(kk), 4)
            if sl == 3:
                p_f[f] += p_sum[j] / 3.0
                q_f[f] += q_sum[j] / 3.0
            else:
                p_f[f, sl] += p_sum[j]
                q_f[f, sl] += q_sum[j]
    drop = np.zeros((n_f, 3, n_steps))
    for f in range(n_f):
        i_n = np.abs(phase_current_phasors(p_f[f], q_f[f], v_ph_v).sum(axis=0))
        drop[f] = cable_voltage_drop_pct(p_f[f], q_f[f], i_n, r[f], x[f], v_ph_v)
    per_f = drop.max(axis=1)  # (F, T)
    worst = per_f.argmax(axis=0) if n_steps else np.zeros(0, dtype=np.int64)
    return Feeders(specs, r, x, feeder, source, per_f.max(axis=0) if n_steps else np.zeros(0), worst,
                   per_f.max(axis=1) if n_steps else np.zeros(n_f))  # fmt: skip


@dataclass(frozen=True)
class BilledCosPhi:
    """The run's cos φ as billed (``cos_phi`` from ``kwh`` imported and ``kvarh`` inductive), the contract's
    ``threshold`` and where it comes from (``threshold_source``); ``cos_phi_no_bank`` without the capacitor bank."""

    cos_phi: float
    kwh: float
    kvarh: float
    threshold: float
    threshold_source: str
    cos_phi_no_bank: float


def billed_power_factor(site: SitePower, fund: PhaseFundamentals, dt_h: float, el: SiteElectrical,
                        tariff_threshold: float | None) -> BilledCosPhi:  # fmt: skip
    """Step 9b: the period's cos φ from kWh and kvarh (:func:`~evfleet.gridquality.models.billed_cos_phi`)
    against the contract threshold: ``cos_phi_threshold`` of the site model, else of the tariff, else 0.8 (the
    Moroccan MT/HT bill rule as quoted by a secondary source, domain facts)."""
    cos, kwh, kvarh = billed_cos_phi(site.p_kw, site.q_kvar, dt_h)
    q0 = fund.q_before_bank_kvar if fund.q_before_bank_kvar is not None else site.q_kvar
    cos0, _, _ = billed_cos_phi(site.p_kw, q0, dt_h)
    if el.cos_phi_threshold is not None:
        thr, src = el.cos_phi_threshold, "cos_phi_threshold of the site model"
    elif tariff_threshold is not None:
        thr, src = float(tariff_threshold), "the tariff's cos_phi_threshold"
    else:
        thr, src = 0.8, "default 0.8 (MT/HT bill rule as quoted by a secondary source; set the contract's value)"
    return BilledCosPhi(cos, kwh, kvarh, thr, src, cos0)


# --- 15-17: summaries --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class HarmonicSummary:
    """``spectrum``: ``h, current_pct_of_il, limit_pct, current_a, voltage_pct`` at the worst step (largest TDD) on
    its worst phase; ``ih_worst_phase_pct`` (T, 49) [% of I_L]: each step's worst phase (read-only);
    ``ih_p95_pct`` (49,): p95 over steps of the largest phase [% of I_L], ``h_worst``: index of the order closest
    to its limit; ``vh_p95_pct`` (49,) [% of V_ph] and ``hv_worst``: the same for voltage."""

    spectrum: pd.DataFrame
    ih_worst_phase_pct: np.ndarray
    ih_p95_pct: np.ndarray
    h_worst: int
    vh_p95_pct: np.ndarray
    hv_worst: int


def harmonic_summary(cur: CurrentDistortion, vd: VoltageDistortion, ih_a: np.ndarray, v_ph_v: float) -> HarmonicSummary:
    """Step 15: the spectrum at the step of largest TDD and the p95 of every order (IEEE 519 assesses p95 values)."""
    h = HARMONICS
    n_steps = ih_a.shape[1]
    t_star = int(cur.tdd_pct.argmax()) if n_steps else 0
    p_star = int(cur.worst_phase[t_star]) if n_steps else 0
    spectrum = pd.DataFrame(
        {
            "h": h,
            "current_pct_of_il": cur.ih_pct_of_il[p_star, t_star] if n_steps else np.zeros(h.size),
            "limit_pct": cur.ih_limit_pct,
            "current_a": ih_a[p_star, t_star] if n_steps else np.zeros(h.size),
            "voltage_pct": 100.0 * vd.vh_v[p_star, t_star] / v_ph_v if n_steps else np.zeros(h.size),
        }
    )
    ih_worst_ph = cur.ih_pct_of_il[cur.worst_phase, np.arange(n_steps)]  # (T, 49): the step's worst phase (by TDD)
    ih_worst_ph.setflags(write=False)
    ih_p95 = np.percentile(cur.ih_pct_of_il.max(axis=0), 95, axis=0) if n_steps else np.zeros(h.size)
    vh_p95 = np.percentile(100.0 * vd.vh_v.max(axis=0) / v_ph_v, 95, axis=0) if n_steps else np.zeros(h.size)
    return HarmonicSummary(spectrum, ih_worst_ph, ih_p95, int(np.argmax(ih_p95 / cur.ih_limit_pct)), vh_p95,
                           int(np.argmax(vh_p95)))  # fmt: skip


def grid_support_run(strategy: str, strategy_report: Mapping[str, Any] | None) -> tuple[bool, dict[str, Any]]:
    """Step 16: whether the run answered the grid frequency (the ``grid_support`` strategy, or a report with
    frequency, FCR or droop keys) and those report entries."""
    report = strategy_report or {}
    freq_keys = {k: v for k, v in report.items() if any(s in k.lower() for s in ("freq", "fcr", "droop"))}
    return strategy == "grid_support" or bool(freq_keys), freq_keys


COMPLIANCE_COLUMNS = ["indicator", "value", "limit", "status", "clause"]


def _percentile(a: np.ndarray, q: float) -> float:
    return float(np.percentile(a, q)) if a.size else 0.0


SUMMATION_WORDS = {
    "iec": "IEC TR 61000-3-6 summation exponents (α = 1 / 1.4 / 2: random phase diversity assumed)",
    "correlated": "α = 1 for every order (identical converters in phase: the correlated upper bound)",
}


def _judge(value: float, limit: float, kind: str) -> str:
    if kind == "info":
        return "info"
    if kind == "low":
        return "pass" if value >= limit - 1e-12 else "fail"
    return "pass" if value <= limit + 1e-12 else "fail"


def compliance_table(
    cur: CurrentDistortion,
    vd: VoltageDistortion,
    hs: HarmonicSummary,
    site: SitePower,
    unb: Unbalance,
    tr: Transformer,
    dv_pct: np.ndarray,
    freq: Frequency,
    pcc: Pcc,
    el: SiteElectrical,
    limits: Ieee519Limits,
    dt_h: float,
    *,
    tdd_other_pct: np.ndarray,
    billed: BilledCosPhi,
    feeders: Feeders,
    generation_share: float,
    il_basis: str,
) -> pd.DataFrame:
    """Step 17: one row per check, ``indicator, value, limit, status, clause``. A ``high`` check passes if
    ``value <= limit``, a ``low`` one if ``value >= limit`` (1e-12 slack); ``info`` rows are not judged (the
    instantaneous PF, the current deviation from the mean, the neutral current, the other harmonic summation,
    the generation share, the frequency). Every clause names the IEEE 519 edition where it applies."""
    h, T = HARMONICS, len(cur.tdd_pct)
    vlim = vd.limits
    ed = limits.edition
    row = limits.ratio_labels[limits.ratio_row(cur.isc_il)]
    used = SUMMATION_WORDS[el.harmonic_summation]
    other = "correlated" if el.harmonic_summation == "iec" else "iec"
    cl_i = (
        f"IEEE 519-{ed} Table 2 at the {el.pcc_side.upper()} PCC, I_SC/I_L = {cur.isc_il:.0f} (row {row}), "
        f"I_L from {il_basis}"
    )
    p95 = "p95 of steps"
    hw, hv = hs.h_worst, hs.hv_worst
    i_rated = pcc.rated_kva * 1e3 / (3.0 * el.lv_kv * 1e3 / math.sqrt(3.0))
    gen_clause = (limits.generation_text if limits.generation_share is not None else
                  f"IEEE 519-{ed} has no generation note")  # fmt: skip
    gen_flag = limits.generation_share is not None and generation_share >= limits.generation_share
    rows = [
        ("TDD p95 [%]", _percentile(cur.tdd_pct, 95), cur.tdd_limit_pct, "high", f"{cl_i}; {p95}; summation: {used}"),
        ("TDD p95, other summation [%]", _percentile(tdd_other_pct, 95), cur.tdd_limit_pct, "info",
         f"information: the same TDD with {SUMMATION_WORDS[other]}; the verdict above uses {el.harmonic_summation}"),
        (f"harmonic current h={h[hw]} p95 [% of I_L]", float(hs.ih_p95_pct[hw]), float(cur.ih_limit_pct[hw]), "high",
         f"{cl_i}; {limits.even_rule_text}; {p95}; summation: {el.harmonic_summation}"),
        ("voltage THD p95 [%]", _percentile(vd.thd_v_pct, 95), float(vlim["thd_pct"]), "high",
         f"{vlim['clause']}; {p95}"),
        ("voltage THD max [%]", float(vd.thd_v_pct.max()) if T else 0.0, 1.5 * float(vlim["thd_pct"]), "high",
         f"{vlim['clause']}; short-time allowance 1.5 x limit"),
        (f"voltage harmonic h={h[hv]} p95 [%]", float(hs.vh_p95_pct[hv]), float(vlim["individual_pct"]),
         "high", f"{vlim['clause']}, individual; {p95}"),
        ("billed cos φ", billed.cos_phi, billed.threshold, "low",
         f"tariff contract: the period's cos φ from {billed.kwh:.4g} kWh and {billed.kvarh:.4g} kvarh (inductive) "
         f"against {billed.threshold:g} ({billed.threshold_source})"),
        ("power factor min", float(site.pf.min()) if T else 1.0, el.pf_limit, "info",
         "information: instantaneous displacement PF of a step (a chart, not a billed or standard quantity)"),
        ("voltage unbalance p95 [%]", unb.vuf_p95_pct, el.vuf_limit_pct, "high",
         f"EN 50160: negative-/positive-sequence voltage at the PCC, 95 % of the 10-min values <= "
         f"{el.vuf_limit_pct:g} % (here {unb.vuf_10min_pct.size} values)"),
        ("current unbalance max [%]", float(unb.current_deviation_pct.max()) if T else 0.0, el.unbalance_limit_pct,
         "info", "information: largest deviation of a phase current from the mean (NEMA form); not a compliance "
         "quantity"),
        ("neutral current max [A]", float(unb.i_n_a.max()) if T else 0.0, i_rated, "info",
         "information: LV neutral at the transformer, fundamental + triplen harmonics; limit shown: rated phase "
         "current"),
        ("transformer loading max [%]", float(100 * tr.loading_pu.max()) if T else 0.0, el.loading_limit_pct, "high",
         f"rated {pcc.rated_kva:g} kVA (IEC 60076-1): largest phase current / rated current {i_rated:.0f} A"),
        ("transformer relative ageing mean", float(tr.ageing_rate.mean()) if T else 0.0, 1.0, "high",
         f"IEC 60076-7 relative ageing rate, {el.insulation} paper"),
        ("voltage deviation max abs [%]", float(np.abs(dv_pct).max()) if T else 0.0, el.voltage_band_pct, "high",
         f"at the {el.pcc_side.upper()} PCC, ±{el.voltage_band_pct:g} % band (IEC 60038)"),
        ("LV cable voltage drop max [%]", float(feeders.drop_pct.max()) if T else 0.0, el.cable_drop_limit_pct,
         "high", f"IEC 60364-5-52 Annex G guide value {el.cable_drop_limit_pct:g} %, LV busbar to the farthest "
         f"charger ({feeders.source})"),
        ("generation share of average load [%]", 100.0 * generation_share,
         100.0 * (limits.generation_share or 0.0), "info",
         gen_clause + ("; this site is above the share: its PV and V2G inverters fall under IEEE 1547 / IEEE 2800"
                       if gen_flag else "")),
        ("time outside frequency band [h]", float((np.abs(freq.deviation_mhz) > el.frequency_band_mhz).sum() * dt_h),
         0.0, "info", f"ENTSO-E normal band ±{el.frequency_band_mhz:g} mHz; not site-controlled"),
    ]  # fmt: skip
    out = [{"indicator": name, "value": value, "limit": limit, "status": _judge(value, limit, kind), "clause": clause}
           for name, value, limit, kind, clause in rows]  # fmt: skip
    return pd.DataFrame(out, columns=COMPLIANCE_COLUMNS)
