"""Grid frequency signals for frequency-containment reserve (FCR): a synthetic generator, CSV loading, droop.

Units: frequency [Hz], time [s] for the fine process, step length [min]; activation is a fraction in [-1, 1]
of the reserved band (positive = over-frequency = the fleet absorbs more power).

Activation (ENTSO-E FCR, Continental Europe; regelleistung.net, see docs/strategies.md): linear in the deviation
from 50.00 Hz, ``a = clip(df / 0.200, -1, 1)``, and no response within the +-10 mHz deadband (the line is not
shifted by the deadband: 50 % at 100 mHz); defined with its constants in :mod:`evfleet.physics` (the simulator
applies it) and re-exported here. Morocco has no FCR market: a what-if.

Synthetic signal (an *assumption*, not measured data): an Ornstein-Uhlenbeck process around 50 Hz,
``df(t+h) = df(t) * exp(-h/tau) + sigma * sqrt(1 - exp(-2h/tau)) * N(0, 1)``, stationary standard deviation
``sigma = 0.020 Hz`` and correlation time ``tau = 120 s`` (defaults), sampled every 10 s. With these values the
deviation stays within the +-50 mHz standard frequency range of Continental Europe about 99 % of the time, which
is the order of magnitude of the system's frequency-quality target (EU SOGL 2017/1485, Annex III); the values
are labelled assumptions and are parameters. Each day is drawn from its own seeded stream
(``numpy.random.default_rng([seed, day])``), so a step's value does not depend on the horizon requested.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError, InputFileNotFoundError
from evfleet._common.recurrence import first_order_recurrence
from evfleet.physics import DEADBAND_HZ, FULL_ACTIVATION_HZ, NOMINAL_HZ, droop_activation

__all__ = [
    "DEADBAND_HZ",
    "FULL_ACTIVATION_HZ",
    "NOMINAL_HZ",
    "droop_activation",
    "load_frequency_csv",
    "ou_deviation_hz",
    "synthetic_frequency",
]


def ou_deviation_hz(
    n_samples: int, sample_s: float, rng: np.random.Generator, sigma_hz: float = 0.020, tau_s: float = 120.0
) -> np.ndarray:
    """Frequency deviation [Hz] from an exact-discretised OU process, started in its stationary law."""
    if n_samples <= 0:
        return np.zeros(0)
    phi = float(np.exp(-sample_s / tau_s))
    eps = rng.standard_normal(n_samples)
    x0 = sigma_hz * rng.standard_normal()
    scale = sigma_hz * np.sqrt(1.0 - phi**2)
    return first_order_recurrence(eps, phi, scale, y_init=x0)


def synthetic_frequency(
    n_steps: int,
    step_minutes: int,
    seed: int = 0,
    sigma_hz: float = 0.020,
    tau_s: float = 120.0,
    sample_s: float = 10.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Per step: mean frequency [Hz] and mean droop activation (of the 10-s samples) [-1, 1]."""
    per_step = max(1, round(step_minutes * 60.0 / sample_s))
    steps_per_day = max(1, round(24 * 60 / step_minutes))
    days = -(-n_steps // steps_per_day) if n_steps else 0
    chunks = [
        ou_deviation_hz(steps_per_day * per_step, sample_s, np.random.default_rng([seed, d]), sigma_hz, tau_s)
        for d in range(days)
    ]
    dev = np.concatenate(chunks)[: n_steps * per_step] if chunks else np.zeros(0)
    f = NOMINAL_HZ + dev
    f_step = f.reshape(n_steps, per_step).mean(axis=1)
    a_step = droop_activation(f).reshape(n_steps, per_step).mean(axis=1)
    return f_step, a_step


def load_frequency_csv(
    path: str | Path, n_steps: int, start: pd.Timestamp | None = None, step_minutes: int = 15
) -> np.ndarray:
    """Per-step mean frequency [Hz] (``n_steps``,) from a CSV with a ``frequency_hz`` column (45-55 Hz).

    The one loader of ``evfleet run/compare --frequency-csv`` and ``evfleet grid-report --frequency-csv``; it
    accepts two shapes:

    * with a ``time`` column (ISO timestamps; without an offset they are taken as UTC): samples are averaged per
      step of ``step_minutes`` [min] from ``start`` (required then); every step needs a sample, samples outside
      the run are ignored;
    * without one: one row per step, or a multiple of ``n_steps`` rows averaged in consecutive blocks.

    Raises :class:`~evfleet._common.errors.InputError` (``InputFileNotFoundError`` for a missing file) naming the
    file, the column or row and the value.
    """
    path = Path(path)
    where = f"frequency file {str(path)!r}"
    if not path.exists():
        raise InputFileNotFoundError(f"{where} does not exist")
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{where}: not a readable CSV: {exc}") from exc
    if "frequency_hz" not in df.columns:
        raise InputError(f"{where}: missing column 'frequency_hz' (columns: {list(df.columns)})")
    f = pd.to_numeric(df["frequency_hz"], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(f) | (f < 45.0) | (f > 55.0))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"{where}: 'frequency_hz' row {i} must be a number within 45-55 Hz (value {df['frequency_hz'].iloc[i]!r})"
        )
    if "time" in df.columns:
        if start is None:
            raise InputError(f"{where}: a 'time' column needs the scenario start (value start=None)")
        times = pd.to_datetime(df["time"], utc=True, errors="coerce")
        if times.isna().any():
            i = int(np.flatnonzero(times.isna().to_numpy())[0])
            raise InputError(f"{where}: 'time' row {i} must be an ISO-8601 time (value {df['time'].iloc[i]!r})")
        step = ((times - start.tz_convert("UTC")) / pd.Timedelta(minutes=step_minutes)).to_numpy(dtype=float)
        idx = np.floor(step).astype(np.int64)
        ok = (idx >= 0) & (idx < n_steps)
        sums = np.bincount(idx[ok], weights=f[ok], minlength=n_steps)
        counts = np.bincount(idx[ok], minlength=n_steps)
        if (counts == 0).any():
            missing = int(np.flatnonzero(counts == 0)[0])
            raise InputError(f"{where}: no sample for step {missing} of the scenario")
        return sums / counts
    if len(f) == 0 or len(f) % n_steps:
        raise InputError(
            f"{where}: field 'frequency_hz' must have {n_steps} rows, one per step, or a multiple of {n_steps} "
            f"(block means), or a 'time' column to resample (value {len(f)} rows)"
        )
    return f.reshape(n_steps, -1).mean(axis=1)
