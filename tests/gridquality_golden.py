"""Golden record of :func:`evfleet.gridquality.assess.assess` (imported by a test module; also a script).

``python tests/gridquality_golden.py`` simulates a few generated scenarios (different strategies, V2G on/off,
with and without PV, default and custom site models, synthetic / scenario / user frequency) and writes, per case,
the assessment's *inputs* (scenario JSON, power N×T [kW], strategy name/params/report, site model, thresholds,
frequency) and every array and figure of the resulting report to ``tests/data/gridquality_golden.npz``.

The file was first generated with the code of ``assess`` before it was split into step functions
(``gridquality/steps.py``) and deliberately regenerated (recomputed by this script, never edited) for issue 14:
site-defined I_L and MV PCC, IEEE 519-2022, voltage unbalance, billed cos φ, LV cables, both summations, and the
FCR activation Δf / 200 mHz that moves the grid_support run. ``tests/test_gridquality_golden.py`` rebuilds each
case from the stored inputs only (no simulation, so later changes to the simulator or the strategies cannot move
the reference) and compares.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from evfleet.gridquality.assess import PowerQualityReport, assess
from evfleet.gridquality.site import SiteElectrical
from evfleet.inputs.generate import generate_scenario
from evfleet.scenario import scenario_from_dict
from evfleet.simulation.simulate import RunResult, SimulationOptions, simulate
from evfleet.strategies.report import StrategyReport

GOLDEN = Path(__file__).resolve().parent / "data" / "gridquality_golden.npz"
SEP = "__"


def _json(x: Any) -> str:
    """Canonical JSON of plain data (floats keep their repr, so they round-trip exactly)."""
    return json.dumps(x, sort_keys=True, allow_nan=True, default=_default)


def _default(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if hasattr(x, "isoformat"):
        return x.isoformat()
    raise TypeError(f"not JSON: {type(x).__name__}")


def case_inputs(case: dict[str, np.ndarray]) -> dict[str, Any]:
    """The stored inputs of one case as Python objects."""
    return {
        "scenario": json.loads(str(case["in_scenario"])),
        "power_kw": np.asarray(case["in_power_kw"], dtype=float),
        "strategy": str(case["in_strategy"]),
        "strategy_params": json.loads(str(case["in_strategy_params"])),
        "strategy_report": json.loads(str(case["in_strategy_report"])),
        "electrical": json.loads(str(case["in_electrical"])),
        "thresholds": json.loads(str(case["in_thresholds"])),
        "frequency_hz": None if case["in_frequency_hz"].size == 0 else np.asarray(case["in_frequency_hz"]),
    }


def run_case(inputs: dict[str, Any]) -> PowerQualityReport:
    """``assess`` on a case's inputs (a :class:`RunResult` rebuilt around the stored power)."""
    sc = scenario_from_dict(inputs["scenario"])
    p = inputs["power_kw"]
    n, t = p.shape
    result = RunResult(
        scenario=sc,
        strategy=inputs["strategy"],
        options=SimulationOptions(),
        power_kw=p,
        soc=np.zeros((n, t + 1)),
        site_kw=sc.base_load_kw - sc.pv_kw + p.sum(axis=0),
        requested_clip_count=0,
        requested_clip_max_kw=0.0,
        curtailed_kwh=np.zeros(n),
        site_over_limit_steps=0,
        unmet_kwh=np.zeros(n),
        unmet_reason=np.full(n, "", dtype=object),
        runtime_s=0.0,
        strategy_params=inputs["strategy_params"],
        strategy_report=StrategyReport.from_dict(inputs["strategy_report"]),
    )
    el = None if inputs["electrical"] is None else SiteElectrical.from_mapping(inputs["electrical"])
    th = None if inputs["thresholds"] is None else {k: tuple(v) for k, v in inputs["thresholds"].items()}
    return assess(result, el, th, frequency_hz=inputs["frequency_hz"])


def flatten(report: PowerQualityReport) -> dict[str, np.ndarray]:
    """Every array and figure of a report: numeric columns as float arrays, text as JSON strings."""
    out: dict[str, np.ndarray] = {}
    for name, frame in (("per_step", report.per_step), ("spectrum", report.spectrum)):
        out[f"{name}{SEP}columns"] = np.asarray(_json(list(frame.columns)))
        for col in frame.columns:
            values = frame[col]
            if values.dtype.kind in "biuf":
                out[f"{name}{SEP}{col}"] = values.to_numpy(dtype=float)
            else:
                out[f"{name}{SEP}{col}"] = np.asarray(_json([_default(v) if hasattr(v, "isoformat") else v
                                                              for v in values]))  # fmt: skip
    out["per_step_index"] = np.asarray(_json(report.per_step.index.tolist()))
    out["summary"] = np.asarray(_json(report.summary))
    out["compliance"] = np.asarray(_json(report.compliance.to_dict(orient="list")))
    out["compliance_columns"] = np.asarray(_json(list(report.compliance.columns)))
    events = report.events.copy()
    events["time"] = [t.isoformat() for t in events["time"]]
    out["events"] = np.asarray(_json(events.to_dict(orient="list")))
    out["events_columns"] = np.asarray(_json(list(report.events.columns)))
    out["assumptions"] = np.asarray(_json(report.assumptions))
    out["harmonics_pct_of_il"] = np.asarray(report.harmonics_pct_of_il, dtype=float)
    out["harmonic_limits_pct"] = np.asarray(report.harmonic_limits_pct, dtype=float)
    out["alert_bounds"] = np.asarray(_json(dict(report.alert_bounds or {})))
    out["alert_clauses"] = np.asarray(_json(dict(report.alert_clauses or {})))
    return out


def _cases() -> dict[str, dict[str, Any]]:
    """Simulate the recorded cases (only the generator calls this; the test reads the stored inputs)."""

    def run(sc: Any, strategy: str, v2g: bool, **kw: Any) -> dict[str, Any]:
        res = simulate(sc, strategy, SimulationOptions(v2g=v2g), **kw)
        return {
            "scenario": json.loads(sc.to_json()),
            "power_kw": res.power_kw,
            "strategy": res.strategy,
            "strategy_params": json.loads(_json(res.strategy_params)),
            "strategy_report": json.loads(_json(res.strategy_report.to_dict())),
            "electrical": None,
            "thresholds": None,
            "frequency_hz": None,
        }

    v2g_fleet = {"bidirectional_share": 1.0, "v2g_ready_2024": True}
    no_pv = generate_scenario(vehicles=24, seed=3, start="2026-01-05", pv_kwp=0.0, **v2g_fleet)
    pv = generate_scenario(vehicles=24, seed=4, start="2026-07-01", pv_kwp=30.0, **v2g_fleet)
    workplace = generate_scenario(vehicles=16, seed=5, start="2026-03-02", profile="workplace", pv_kwp=20.0,
                                  step_minutes=30)  # fmt: skip
    cases = {
        "uncontrolled_no_pv_no_v2g": run(no_pv, "uncontrolled", False),
        "price_optimization_pv_v2g": run(pv, "price_optimization", True),
        "grid_support_pv_v2g": run(pv, "grid_support", True),
        "price_optimization_no_pv_v2g": run(no_pv, "price_optimization", True),
        "peak_shaving_pv_v2g": run(pv, "peak_shaving", True),
        "load_balancing_pv_no_v2g": run(workplace, "load_balancing", False),
    }
    # A custom site model embedded in the scenario (site.electrical), a measured frequency series and thresholds.
    custom = run(workplace, "valley_filling", False)
    freq = 50.0 + 0.15 * np.sin(np.linspace(0.0, 6.0, workplace.n_steps))
    custom["scenario"]["series"]["frequency_hz"] = freq.tolist()
    custom["scenario"]["site"]["electrical"] = {"phase_assignment": "balanced", "background_thd_v_pct": 1.5,
                                               "max_demand_kva": 150.0, "base_load_pf": 0.85}  # fmt: skip
    custom["thresholds"] = {"tdd_pct": [1.0, 2.0, 3.0], "pf": [0.98, 0.96, 0.9]}
    cases["valley_filling_custom_site"] = custom
    # An explicit site model (MV PCC, one phase for every 1-phase charger), a user frequency series.
    mv = run(pv, "renewable_integration", False)
    mv["electrical"] = {"pcc_side": "mv", "phase_assignment": "single", "transformer_kva": 250.0,
                        "source_voltage_offset_pct": 2.0, "ambient_c": 40.0}  # fmt: skip
    mv["frequency_hz"] = 50.0 - 0.25 * np.cos(np.linspace(0.0, 9.0, pv.n_steps))
    cases["renewable_integration_mv_pcc"] = mv
    # No session at all (the empty-fleet branches).
    empty = json.loads(no_pv.to_json())
    empty["vehicles"] = {k: [] for k in empty["vehicles"]}
    cases["empty_fleet"] = {**run(no_pv, "uncontrolled", False), "scenario": empty,
                            "power_kw": np.zeros((0, no_pv.n_steps))}  # fmt: skip
    return cases


def write_golden(path: Path = GOLDEN) -> Path:
    """Record the inputs and the report of every case (run with the code to be preserved)."""
    arrays: dict[str, np.ndarray] = {}
    for name, inputs in _cases().items():
        arrays[f"{name}{SEP}in_scenario"] = np.asarray(_json(inputs["scenario"]))
        arrays[f"{name}{SEP}in_power_kw"] = np.asarray(inputs["power_kw"], dtype=float)
        arrays[f"{name}{SEP}in_strategy"] = np.asarray(inputs["strategy"])
        for key in ("strategy_params", "strategy_report", "electrical", "thresholds"):
            arrays[f"{name}{SEP}in_{key}"] = np.asarray(_json(inputs[key]))
        freq = inputs["frequency_hz"]
        arrays[f"{name}{SEP}in_frequency_hz"] = np.zeros(0) if freq is None else np.asarray(freq, dtype=float)
        stored = {k[len(name) + len(SEP) :]: v for k, v in arrays.items() if k.startswith(name + SEP)}
        for key, value in flatten(run_case(case_inputs(stored))).items():
            arrays[f"{name}{SEP}out{SEP}{key}"] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return path


def load_golden(path: Path = GOLDEN) -> dict[str, dict[str, np.ndarray]]:
    """Cases of the golden file: ``{case: {"in_...": array, "out__...": array}}``."""
    with np.load(path, allow_pickle=False) as data:
        cases: dict[str, dict[str, np.ndarray]] = {}
        for key in data.files:
            case, rest = key.split(SEP, 1)
            cases.setdefault(case, {})[rest] = data[key]
    return cases


if __name__ == "__main__":
    out = write_golden()
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB)")
