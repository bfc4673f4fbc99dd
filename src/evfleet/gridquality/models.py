"""Pure, vectorised power-quality models (numpy in, numpy out): summation, unbalance, voltage, transformer, frequency.

Units: current [A] rms per phase, voltage [V] phase-to-neutral, impedance [Ω] per phase, power [kW]/[kvar] per
phase unless named ``_total``, temperature [°C], time [h] or [min] as named, frequency [Hz].

All functions are model estimates; their equations, inputs and sources are listed in ``docs/grid-quality.md``.

References
----------
IEC TR 61000-3-6:2008, "Assessment of emission limits for the connection of distorting installations to MV, HV
and EHV power systems", general summation law (exponent α = 1 for h < 5, 1.4 for 5 <= h <= 10, 2 for h > 10).
IEEE Std 519-2014, Tables 1 and 2 (TDD = RSS harmonic current / I_L).
NEMA MG 1, unbalance = maximum deviation from the mean / mean.
EN 50160:2010, voltage unbalance: negative- / positive-sequence voltage <= 2 % for 95 % of the 10-min values.
IEC 60364-5-52:2009 Annex G, voltage drop ``u = b (ρ L / S cos φ + λ L sin φ) I`` (λ = 0.08 mΩ/m).
IEC 60076-7:2018, loading guide: top-oil and hot-spot rise, relative ageing rate V = 2^((θh - 98)/6)
(non-thermally-upgraded paper) or exp(15000/383 - 15000/(θh + 273)) (thermally upgraded paper).
ENTSO-E frequency containment reserve: normal band 49.8-50.2 Hz, ±10 mHz deadband (regelleistung.net).
"""

from __future__ import annotations

import math

import numpy as np

from evfleet._common.errors import InputError
from evfleet._common.recurrence import first_order_recurrence

__all__ = [
    "A_OP",
    "billed_cos_phi",
    "cable_impedance_ohm",
    "cable_voltage_drop_pct",
    "capacitor_bank_steps",
    "fleet_frequency_response",
    "nema_unbalance_pct",
    "neutral_current_a",
    "phase_current_phasors",
    "relative_ageing_rate",
    "sequence_components",
    "sum_harmonic",
    "summation_exponent",
    "transformer_thermal",
    "voltage_deviation_pct",
    "voltage_harmonics_v",
    "voltage_unbalance_factor_pct",
]


def summation_exponent(h: np.ndarray | int) -> np.ndarray:
    """IEC 61000-3-6 summation exponent α of harmonic order h: 1 (h < 5), 1.4 (5 <= h <= 10), 2 (h > 10)."""
    h = np.asarray(h)
    return np.where(h < 5, 1.0, np.where(h <= 10, 1.4, 2.0))


def sum_harmonic(currents_a: np.ndarray, alpha: float, axis: int = 0) -> np.ndarray:
    """IEC 61000-3-6 general summation law: ``(Σ I_i^α)^(1/α)`` along ``axis`` [A]."""
    return np.power(np.power(np.abs(currents_a), alpha).sum(axis=axis), 1.0 / alpha)


def nema_unbalance_pct(phase_a: np.ndarray) -> np.ndarray:
    """NEMA unbalance [%] of three phase magnitudes (3, T): ``100 · max|I_k - mean| / mean`` (0 where mean = 0)."""
    phase_a = np.asarray(phase_a, dtype=float)
    if phase_a.shape[0] != 3:
        raise InputError(f"field 'phase_a' must have 3 rows (value shape {phase_a.shape})")
    mean = phase_a.mean(axis=0)
    dev = np.abs(phase_a - mean).max(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(mean > 1e-12, 100.0 * dev / np.where(mean > 1e-12, mean, 1.0), 0.0)
    return out


def voltage_deviation_pct(p_kw: np.ndarray, q_kvar: np.ndarray, r_ohm: float, x_ohm: float, v_ph: float) -> np.ndarray:
    """Voltage change at the PCC [% of nominal] caused by a per-phase load P, Q: ``-(R·P + X·Q)/V_ph² · 100``.

    The linearised drop ΔV ≈ (R·P + X·Q)/V² (per phase: P, Q per phase and V phase-to-neutral), signed so that an
    importing, inductive load gives a negative deviation (voltage below nominal). Inputs [kW], [kvar], [Ω], [V].
    """
    return -(r_ohm * np.asarray(p_kw) + x_ohm * np.asarray(q_kvar)) * 1e3 / v_ph**2 * 100.0


def voltage_harmonics_v(ih_a: np.ndarray, h: np.ndarray, r_ohm: float, x_ohm: float) -> np.ndarray:
    """Harmonic voltages [V] from harmonic currents [A] (last axis = order h): ``V_h = I_h · |R + j·h·X|``.

    The resistance is taken constant with frequency (skin effect neglected, a conservative simplification for
    voltage distortion) and the reactance proportional to h.
    """
    z_h = np.sqrt(r_ohm**2 + (np.asarray(h, dtype=float) * x_ohm) ** 2)
    return np.asarray(ih_a) * z_h


def transformer_thermal(
    load_factor: np.ndarray,
    dt_h: float,
    ambient_c: float = 30.0,
    top_oil_rise_k: float = 55.0,
    hot_spot_gradient_k: float = 23.0,
    loss_ratio: float = 5.0,
    oil_exponent: float = 0.8,
    winding_exponent: float = 1.6,
    oil_time_constant_min: float = 180.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-oil and hot-spot temperature [°C] per step for the load factor K = I / I_rated (IEC 60076-7 model).

    Ultimate top-oil rise ``Δθo,u = Δθor · ((1 + R·K²)/(1 + R))^x``; the top-oil rise follows it with the
    first-order oil time constant τo (exact exponential response over each step, starting in steady state with
    the first step's load); the hot-spot gradient ``H·gr · K^y`` is taken in steady state (the winding time
    constant, a few minutes, is short against a step of 15 min; the k21/k22 overshoot is neglected).
    Returns ``(top_oil_c, hot_spot_c)``.
    """
    k = np.asarray(load_factor, dtype=float)
    if k.size == 0:
        return k.copy(), k.copy()
    ult = top_oil_rise_k * ((1.0 + loss_ratio * k**2) / (1.0 + loss_ratio)) ** oil_exponent
    a = math.exp(-dt_h * 60.0 / oil_time_constant_min)
    # y[t] = a·y[t-1] + (1-a)·u[t], with y[-1] = u[0] (steady state at the start).
    rise = first_order_recurrence(ult, a, 1.0 - a, y_init=float(ult[0]))
    top_oil = ambient_c + rise
    hot_spot = top_oil + hot_spot_gradient_k * k**winding_exponent
    return top_oil, hot_spot


def relative_ageing_rate(hot_spot_c: np.ndarray, insulation: str = "normal") -> np.ndarray:
    """IEC 60076-7 relative ageing rate V (1 at the reference hot-spot: 98 °C normal paper, 110 °C upgraded)."""
    th = np.asarray(hot_spot_c, dtype=float)
    if insulation == "normal":
        return np.power(2.0, (th - 98.0) / 6.0)
    if insulation == "upgraded":
        return np.exp(15000.0 / (110.0 + 273.0) - 15000.0 / (th + 273.0))
    raise InputError(f"field 'insulation' must be 'normal' or 'upgraded' (value {insulation!r})")


def fleet_frequency_response(
    ev_kw: np.ndarray, frequency_hz: np.ndarray, nominal_hz: float = 50.0, deadband_mhz: float = 10.0
) -> dict[str, float | int | None]:
    """Observed fleet response to frequency: least-squares slope of EV power on the frequency deviation.

    Uses the steps with ``|Δf| > deadband``; a positive ``slope_kw_per_hz`` means the fleet charges more at high
    frequency and less at low frequency (supportive, as FCR asks). An observed statistic, not a control claim.
    """
    df = np.asarray(frequency_hz, dtype=float) - nominal_hz
    p = np.asarray(ev_kw, dtype=float)
    use = np.abs(df) > deadband_mhz / 1000.0
    n = int(use.sum())
    out: dict[str, float | int | None] = {"steps_outside_deadband": n, "slope_kw_per_hz": None, "correlation": None}
    if n < 3:
        return out
    x, y = df[use], p[use]
    xc, yc = x - x.mean(), y - y.mean()
    sxx = float((xc**2).sum())
    syy = float((yc**2).sum())
    if sxx <= 0:
        return out
    out["slope_kw_per_hz"] = float((xc * yc).sum() / sxx)
    out["correlation"] = float((xc * yc).sum() / math.sqrt(sxx * syy)) if syy > 0 else 0.0
    return out


#: The operator a = e^(j 120°) of symmetrical components.
A_OP = complex(-0.5, math.sqrt(3.0) / 2.0)


def phase_current_phasors(p_kw: np.ndarray, q_kvar: np.ndarray, v_ph: float) -> np.ndarray:
    """Fundamental phase-current phasors (3, T) [A] of per-phase loads P, Q (3, T) [kW, kvar] on a balanced
    positive-sequence supply ``V_k = V_ph·a^-k`` (k = 0, 1, 2 for L1, L2, L3): ``I_k = conj(S_k / V_k)``."""
    rot = np.array([1.0, A_OP**2, A_OP])[:, None]  # a^0, a^-1 = a^2, a^-2 = a
    return (np.asarray(p_kw) - 1j * np.asarray(q_kvar)) * 1e3 / v_ph * rot


def sequence_components(phasors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Zero, positive and negative sequence (Fortescue) of three phasors (3, ...):
    ``X0 = (Xa + Xb + Xc)/3``, ``X1 = (Xa + a Xb + a² Xc)/3``, ``X2 = (Xa + a² Xb + a Xc)/3``."""
    xa, xb, xc = np.asarray(phasors, dtype=complex)
    a, a2 = A_OP, A_OP**2
    return (xa + xb + xc) / 3.0, (xa + a * xb + a2 * xc) / 3.0, (xa + a2 * xb + a * xc) / 3.0


def voltage_unbalance_factor_pct(i1_a: np.ndarray, i2_a: np.ndarray, r_ohm: float, x_ohm: float,
                                 v_ph: float) -> np.ndarray:  # fmt: skip
    """Voltage unbalance factor [%] at a bus of source impedance ``R + jX`` [Ω per phase] (the same in positive
    and negative sequence, a static network) fed by a positive-sequence source ``V_ph`` [V], loaded with the
    current sequence components ``I1``, ``I2`` [A]: ``VUF = |Z·I2| / |V_ph - Z·I1| · 100``."""
    z = complex(r_ohm, x_ohm)
    v1 = np.abs(v_ph - z * np.asarray(i1_a))
    return 100.0 * np.abs(z * np.asarray(i2_a)) / np.where(v1 > 1e-12, v1, 1.0)


def neutral_current_a(phasors: np.ndarray, ih_a: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Neutral current rms [A] (T,) of a 4-wire LV system: fundamental ``|Ia + Ib + Ic|`` plus the triplen
    harmonics (h = 3, 9, 15, ...: zero sequence, taken in phase on the three phases, a conservative bound)
    ``Σ_ph I_h,ph``; the non-triplen harmonics are taken to cancel. ``phasors`` (3, T), ``ih_a`` (3, T, H)."""
    i_n1 = np.abs(np.asarray(phasors).sum(axis=0))
    triplen = (np.asarray(h) % 3) == 0
    i_nh = np.asarray(ih_a)[:, :, triplen].sum(axis=0)  # (T, n_triplen)
    return np.sqrt(i_n1**2 + (i_nh**2).sum(axis=1))


def capacitor_bank_steps(q_kvar: np.ndarray, step_kvar: float, n_steps: int) -> np.ndarray:
    """Steps switched in (T,) by an automatic capacitor bank of ``n_steps`` x ``step_kvar`` [kvar]: as many as fit
    in the inductive reactive power without over-compensating, ``n = clip(floor(Q / step), 0, n_steps)``."""
    q = np.asarray(q_kvar, dtype=float)
    if step_kvar <= 0 or n_steps <= 0:
        return np.zeros(q.shape, dtype=np.int64)
    return np.clip(np.floor(q / step_kvar + 1e-9), 0, n_steps).astype(np.int64)


def billed_cos_phi(p_kw: np.ndarray, q_kvar: np.ndarray, dt_h: float) -> tuple[float, float, float]:
    """The period's cos φ as a meter bills it: ``kWh / sqrt(kWh² + kvarh²)`` with the imported active energy
    ``Σ max(P, 0)·dt`` [kWh] and the inductive reactive energy ``Σ max(Q, 0)·dt`` [kvarh] (capacitive kvarh not
    counted). Returns ``(cos_phi, kwh, kvarh)``; cos φ is 1 when no energy was imported and none absorbed."""
    kwh = float(np.maximum(np.asarray(p_kw, dtype=float), 0.0).sum() * dt_h)
    kvarh = float(np.maximum(np.asarray(q_kvar, dtype=float), 0.0).sum() * dt_h)
    s = math.hypot(kwh, kvarh)
    return (kwh / s if s > 0 else 1.0), kwh, kvarh


def cable_impedance_ohm(length_m: float, cross_section_mm2: float, resistivity_ohm_mm2_per_m: float,
                        reactance_ohm_per_m: float, parallel: int = 1) -> tuple[float, float]:  # fmt: skip
    """Resistance and reactance [Ω] of one conductor path: ``R = ρ L / (S n)``, ``X = λ L / n``."""
    return (resistivity_ohm_mm2_per_m * length_m / (cross_section_mm2 * parallel),
            reactance_ohm_per_m * length_m / parallel)  # fmt: skip


def cable_voltage_drop_pct(p_kw: np.ndarray, q_kvar: np.ndarray, i_n_a: np.ndarray, r_ohm: float, x_ohm: float,
                           v_ph: float) -> np.ndarray:  # fmt: skip
    """Voltage drop [% of V_ph] along a three-phase feeder with a neutral of the same section, per phase:
    ``(R·P_ph + X·Q_ph) / V_ph² + R·I_N / V_ph`` (IEC 60364-5-52 Annex G form: b = 1 for a balanced three-phase
    circuit; the neutral's drop added in full, a bound for unbalanced 1-phase loads). ``p_kw``, ``q_kvar``
    (3, T) per phase [kW, kvar], ``i_n_a`` (T,) the neutral current [A]."""
    line = (r_ohm * np.asarray(p_kw) + x_ohm * np.asarray(q_kvar)) * 1e3 / v_ph**2
    return 100.0 * (line + r_ohm * np.asarray(i_n_a)[None, :] / v_ph)
