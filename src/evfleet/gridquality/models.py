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
IEC 60076-7:2018, loading guide: top-oil and hot-spot rise, relative ageing rate V = 2^((θh - 98)/6)
(non-thermally-upgraded paper) or exp(15000/383 - 15000/(θh + 273)) (thermally upgraded paper).
ENTSO-E frequency containment reserve: normal band 49.8-50.2 Hz, ±10 mHz deadband (regelleistung.net).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import lfilter

from evfleet._common.errors import InputError

__all__ = [
    "fleet_frequency_response",
    "nema_unbalance_pct",
    "relative_ageing_rate",
    "sum_harmonic",
    "summation_exponent",
    "transformer_thermal",
    "voltage_deviation_pct",
    "voltage_harmonics_v",
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
    rise, _ = lfilter([1.0 - a], [1.0, -a], ult, zi=np.array([a * ult[0]]))
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
