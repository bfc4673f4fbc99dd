"""The numpy first-order recurrence equals scipy.signal.lfilter, and the run path does not import scipy.signal."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy.signal import lfilter

from evfleet._common.recurrence import MAX_BLOCK, first_order_recurrence
from evfleet.gridquality.models import transformer_thermal
from evfleet.inputs.frequency import ou_deviation_hz


@pytest.mark.parametrize("a", [0.92, 0.5, 0.999, 1e-3, 1e-200, -0.7, 0.0, 1.0, 1.01])
@pytest.mark.parametrize("n", [1, 7, MAX_BLOCK - 1, MAX_BLOCK, MAX_BLOCK + 1, 8640])
def test_equals_lfilter(a: float, n: int) -> None:
    rng = np.random.default_rng(n)
    x = 3.0 * rng.standard_normal(n) + 1.0
    y_init = 0.7
    ref, _ = lfilter([1.3], [1.0, -a], x, zi=[a * y_init])
    out = first_order_recurrence(x, a, 1.3, y_init)
    scale = max(1.0, float(np.max(np.abs(ref))))
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-12 * scale)


def test_empty_and_bad_shape() -> None:
    assert first_order_recurrence(np.zeros(0), 0.5).shape == (0,)
    with pytest.raises(ValueError, match="1-D"):
        first_order_recurrence(np.zeros((2, 2)), 0.5)


def test_transformer_and_frequency_match_their_lfilter_definitions() -> None:
    """The two former scipy.signal call sites give what lfilter gave."""
    k = np.abs(np.random.default_rng(1).normal(0.8, 0.3, 200))
    top, _ = transformer_thermal(k, 0.25)
    ult = 55.0 * ((1.0 + 5.0 * k**2) / 6.0) ** 0.8
    a = np.exp(-0.25 * 60.0 / 180.0)
    ref, _ = lfilter([1.0 - a], [1.0, -a], ult, zi=np.array([a * ult[0]]))
    np.testing.assert_allclose(top, 30.0 + ref, rtol=1e-12)
    out = ou_deviation_hz(5000, 10.0, np.random.default_rng(3))
    rng = np.random.default_rng(3)
    phi = np.exp(-10.0 / 120.0)
    eps = rng.standard_normal(5000)
    x0 = 0.020 * rng.standard_normal()
    ref, _ = lfilter([0.020 * np.sqrt(1.0 - phi**2)], [1.0, -phi], eps, zi=[phi * x0])
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-15)


def test_run_path_does_not_import_scipy_signal() -> None:
    """`evfleet run` imports the CLI, the KPIs, grid quality and the frequency model: none needs scipy.signal."""
    code = (
        "import sys\n"
        "import evfleet.cli, evfleet.cli.core, evfleet.batch.depots, evfleet.analysis.kpis\n"
        "import evfleet.gridquality.models, evfleet.gridquality.steps, evfleet.inputs.frequency\n"
        "import evfleet.simulation.simulate, evfleet.results.run_files\n"
        "print(sorted(m for m in sys.modules if m.startswith('scipy.signal')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
