"""``assess`` is unchanged since its record: every array and figure of the report equals the record.

The record (``tests/data/gridquality_golden.npz``) was written by ``python tests/gridquality_golden.py`` (last
regenerated for issue 14, see that module); each case is rebuilt here from its stored inputs only (scenario, power,
strategy name/params/report, site model, thresholds, frequency).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from gridquality_golden import GOLDEN, case_inputs, flatten, load_golden, run_case

CASES = load_golden()
#: Relative tolerance of float comparisons: the record is bitwise equal on the machine that wrote it; the slack is
#: for other numpy builds/CPUs (summation order of einsum/percentile), far below any physical meaning.
RTOL = 1e-12


def _assert_same(key: str, got: np.ndarray, want: np.ndarray) -> None:
    if want.dtype.kind == "U":
        got_v, want_v = json.loads(str(got)), json.loads(str(want))
        _assert_same_json(key, got_v, want_v)
    else:
        assert got.shape == want.shape, key
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-12, err_msg=key)


def _assert_same_json(key: str, got: object, want: object) -> None:
    if isinstance(want, float) and isinstance(got, float):
        assert got == pytest.approx(want, rel=RTOL, abs=1e-12, nan_ok=True), key
    elif isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want), key
        for k in want:
            _assert_same_json(f"{key}.{k}", got[k], want[k])
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), key
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _assert_same_json(f"{key}[{i}]", g, w)
    else:
        assert type(got) is type(want) and got == want, f"{key}: {got!r} != {want!r}"


def test_the_record_is_small_and_covers_the_cases() -> None:
    assert GOLDEN.stat().st_size < 1_000_000
    strategies = {str(c["in_strategy"]) for c in CASES.values()}
    assert {"uncontrolled", "price_optimization", "grid_support", "peak_shaving"} <= strategies
    v2g = [c["in_power_kw"].size and c["in_power_kw"].min() < -1.0 for c in CASES.values()]
    pv = [max(json.loads(str(c["in_scenario"]))["series"]["pv_kw"]) > 0 for c in CASES.values()]
    assert any(v2g) and not all(v2g) and any(pv) and not all(pv)


@pytest.mark.parametrize("name", sorted(CASES))
def test_assess_reproduces_the_record(name: str) -> None:
    case = CASES[name]
    got = flatten(run_case(case_inputs(case)))
    want = {k[len("out__") :]: v for k, v in case.items() if k.startswith("out__")}
    assert sorted(got) == sorted(want)
    for key in sorted(want):
        _assert_same(key, got[key], want[key])
