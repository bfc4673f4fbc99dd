"""A corpus of scenario mappings, good and bad, and the record of what loading each gave (imported by tests; a script).

``python tests/scenario_corpus.py`` applies every single mutation of :data:`MUTATIONS` (at least one bad value per
field of the ``evfleet.scenario/1`` table: wrong type, NaN, out of range, missing, unknown key) and seeded
combinations of two or three of them to :func:`base_scenario`, loads each with ``scenario_from_dict`` and writes
the outcome to ``tests/data/scenario_corpus.json``: the exception type and message (the first offending field, so
the order of the checks is recorded too) or, for a valid mapping, the SHA-256 of the canonical JSON.

The record was written with the hand-written validation of ``scenario.py``, before it was driven by the field
table of ``scenario_schema.py``; ``tests/test_scenario_schema.py`` replays the corpus and compares.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from evfleet.scenario import scenario_from_dict

RECORD = Path(__file__).resolve().parent / "data" / "scenario_corpus.json"
NAN = math.nan
INF = math.inf

#: Operations: ("set", path, value), ("del", path) or ("root", value); a path is a tuple of keys and indices.
Op = tuple[Any, ...]


def base_scenario() -> dict[str, Any]:
    """A valid mapping with every optional kind of field: 3 sessions, 4 steps."""
    return {
        "format": "evfleet.scenario/1",
        "name": "corpus",
        "start": "2026-01-05T00:00:00+01:00",
        "step_minutes": 60,
        "n_steps": 4,
        "site": {"import_limit_kw": 100.0, "export_limit_kw": 80, "pv_kwp": 10.0},
        "degradation_mad_per_kwh": 0.4,
        "series": {
            "price_import_mad_per_kwh": [1.0, 1.2, 1.5, 1.0],
            "price_export_mad_per_kwh": [0.0, 0.0, 0.5, 0.0],
            "base_load_kw": [10.0, 12.0, 8, 9.5],
            "pv_kw": [0.0, 3.0, 5.0, 0.0],
            "tou_period": ["creuse", "pleine", "pointe", "creuse"],
            "frequency_hz": [50.0, 49.98, 50.02, 50.0],
        },
        "vehicles": {
            "id": ["V0", "V1", "V2"],
            "model": ["Test EV", "Other EV", "Test EV"],
            "arrival_step": [0, 1, 2],
            "departure_step": [4, 3, 4],
            "battery_kwh": [50.0, 40, 60.0],
            "soc_arrival": [0.3, 0.5, 0.95],
            "soc_target": [0.8, 0.8, 0.9],
            "soc_min": [0.2, 0.2, 0.1],
            "soc_max": [0.9, 0.9, 0.9],
            "max_charge_kw": [11.0, 7.4, 22.0],
            "max_discharge_kw": [0.0, 7.4, 0.0],
            "charge_efficiency": [0.93, 1.0, 0.9],
            "discharge_efficiency": [0.93, 1.0, 0.9],
            "charger": ["ac11", "ac7.4", "ac22"],
            "vehicle": ["car-1", "car-2", "car-1"],
            "bidirectional_charger": [False, True, False],
        },
        "timezone": "Africa/Casablanca",
        "meta": {"owner": "depot 3"},
    }


def _s(*path: Any) -> tuple[Any, ...]:
    return path


V = "vehicles"
S = "series"
#: Named single mutations, grouped by the field they break (or keep valid: names ending in ``_ok``).
MUTATIONS: dict[str, list[Op]] = {
    "root_list": [("root", [])],
    "root_str": [("root", "scenario")],
    "format_other": [("set", _s("format"), "other/1")],
    "format_missing": [("del", _s("format"))],
    "format_int": [("set", _s("format"), 1)],
    "name_missing": [("del", _s("name"))],
    "name_int_ok": [("set", _s("name"), 123)],
    "start_missing": [("del", _s("start"))],
    "start_no_offset": [("set", _s("start"), "2026-01-05T00:00:00")],
    "start_text": [("set", _s("start"), "yesterday")],
    "start_list": [("set", _s("start"), [2026, 1, 5])],
    "start_utc_ok": [("set", _s("start"), "2026-01-05T00:00:00Z")],
    "step_minutes_zero": [("set", _s("step_minutes"), 0)],
    "step_minutes_big": [("set", _s("step_minutes"), 1441)],
    "step_minutes_float": [("set", _s("step_minutes"), 15.0)],
    "step_minutes_bool": [("set", _s("step_minutes"), True)],
    "step_minutes_str": [("set", _s("step_minutes"), "15")],
    "step_minutes_missing": [("del", _s("step_minutes"))],
    "step_minutes_15_ok": [("set", _s("step_minutes"), 15)],
    "n_steps_zero": [("set", _s("n_steps"), 0)],
    "n_steps_float": [("set", _s("n_steps"), 4.0)],
    "n_steps_bool": [("set", _s("n_steps"), True)],
    "n_steps_missing": [("del", _s("n_steps"))],
    "n_steps_mismatch": [("set", _s("n_steps"), 5)],
    "site_missing": [("del", _s("site"))],
    "site_list": [("set", _s("site"), [100.0, 80.0])],
    "site_none": [("set", _s("site"), None)],
    "import_limit_negative": [("set", _s("site", "import_limit_kw"), -1)],
    "import_limit_nan": [("set", _s("site", "import_limit_kw"), NAN)],
    "import_limit_inf": [("set", _s("site", "import_limit_kw"), INF)],
    "import_limit_str": [("set", _s("site", "import_limit_kw"), "100")],
    "import_limit_bool": [("set", _s("site", "import_limit_kw"), True)],
    "import_limit_missing": [("del", _s("site", "import_limit_kw"))],
    "export_limit_negative": [("set", _s("site", "export_limit_kw"), -0.5)],
    "export_limit_none": [("set", _s("site", "export_limit_kw"), None)],
    "export_limit_missing": [("del", _s("site", "export_limit_kw"))],
    "export_limit_zero_ok": [("set", _s("site", "export_limit_kw"), 0)],
    "site_extra_ok": [("set", _s("site", "latitude"), 33.57)],
    "latitude_high": [("set", _s("site", "latitude"), 1000)],
    "latitude_low": [("set", _s("site", "latitude"), -90.5)],
    "latitude_nan": [("set", _s("site", "latitude"), NAN)],
    "latitude_bool": [("set", _s("site", "latitude"), True)],
    "latitude_str": [("set", _s("site", "latitude"), "33.57")],
    "longitude_high": [("set", _s("site", "longitude"), 180.5)],
    "longitude_low": [("set", _s("site", "longitude"), -1000)],
    "longitude_inf": [("set", _s("site", "longitude"), -INF)],
    "longitude_ok": [("set", _s("site", "longitude"), -7.59)],
    "site_other_key_ok": [("set", _s("site", "altitude_m"), 56)],
    "degradation_negative": [("set", _s("degradation_mad_per_kwh"), -0.1)],
    "degradation_nan": [("set", _s("degradation_mad_per_kwh"), NAN)],
    "degradation_str": [("set", _s("degradation_mad_per_kwh"), "0.4")],
    "degradation_bool": [("set", _s("degradation_mad_per_kwh"), False)],
    "degradation_missing": [("del", _s("degradation_mad_per_kwh"))],
    "series_missing": [("del", _s(S))],
    "series_list": [("set", _s(S), [])],
    "price_import_missing": [("del", _s(S, "price_import_mad_per_kwh"))],
    "price_import_short": [("set", _s(S, "price_import_mad_per_kwh"), [1.0, 2.0])],
    "price_import_nan": [("set", _s(S, "price_import_mad_per_kwh", 2), NAN)],
    "price_import_inf": [("set", _s(S, "price_import_mad_per_kwh", 0), -INF)],
    "price_import_str_item": [("set", _s(S, "price_import_mad_per_kwh", 1), "1.2")],
    "price_import_bool_item": [("set", _s(S, "price_import_mad_per_kwh", 3), True)],
    "price_import_none_item": [("set", _s(S, "price_import_mad_per_kwh", 1), None)],
    "price_import_scalar": [("set", _s(S, "price_import_mad_per_kwh"), 1.0)],
    "price_import_negative_ok": [("set", _s(S, "price_import_mad_per_kwh", 1), -0.2)],
    "price_export_missing": [("del", _s(S, "price_export_mad_per_kwh"))],
    "price_export_nan": [("set", _s(S, "price_export_mad_per_kwh", 0), NAN)],
    "price_export_nested": [("set", _s(S, "price_export_mad_per_kwh", 0), [0.0])],
    "base_load_missing": [("del", _s(S, "base_load_kw"))],
    "base_load_nan": [("set", _s(S, "base_load_kw", 2), NAN)],
    "base_load_negative": [("set", _s(S, "base_load_kw", 3), -1.0)],
    "base_load_dict": [("set", _s(S, "base_load_kw"), {"0": 1.0})],
    "pv_missing": [("del", _s(S, "pv_kw"))],
    "pv_negative": [("set", _s(S, "pv_kw", 1), -3.0)],
    "pv_short": [("set", _s(S, "pv_kw"), [0.0, 0.0])],
    "pv_int_ok": [("set", _s(S, "pv_kw"), [0, 1, 2, 0])],
    "tou_period_str": [("set", _s(S, "tou_period"), "pointe")],
    "tou_period_short": [("set", _s(S, "tou_period"), ["pointe"])],
    "tou_period_numbers_ok": [("set", _s(S, "tou_period"), [1, 2, 3, 1])],
    "tou_period_missing_ok": [("del", _s(S, "tou_period"))],
    "frequency_low": [("set", _s(S, "frequency_hz", 1), 44.0)],
    "frequency_high": [("set", _s(S, "frequency_hz", 3), 56)],
    "frequency_nan": [("set", _s(S, "frequency_hz", 0), NAN)],
    "frequency_str": [("set", _s(S, "frequency_hz"), "50")],
    "frequency_missing_ok": [("del", _s(S, "frequency_hz"))],
    "series_unknown_text": [("set", _s(S, "carbon_g_per_kwh"), ["a", "b", "c", "d"])],
    "series_unknown_scalar": [("set", _s(S, "carbon_g_per_kwh"), 5)],
    "series_unknown_short": [("set", _s(S, "carbon_g_per_kwh"), [1.0])],
    "series_unknown_ok": [("set", _s(S, "carbon_g_per_kwh"), [500, 480.5, 450, 470])],
    "vehicles_missing": [("del", _s(V))],
    "vehicles_list": [("set", _s(V), [{"id": "V0"}])],
    "id_missing": [("del", _s(V, "id"))],
    "id_str": [("set", _s(V, "id"), "V0")],
    "id_int_item": [("set", _s(V, "id", 1), 1)],
    "id_empty_item": [("set", _s(V, "id", 0), "")],
    "id_duplicate": [("set", _s(V, "id", 2), "V0")],
    "id_short": [("set", _s(V, "id"), ["V0"])],
    "model_missing": [("del", _s(V, "model"))],
    "model_short": [("set", _s(V, "model"), ["Test EV"])],
    "model_str": [("set", _s(V, "model"), "Test EV")],
    "model_none_item": [("set", _s(V, "model", 1), None)],
    "model_empty_item": [("set", _s(V, "model", 2), "")],
    "arrival_missing": [("del", _s(V, "arrival_step"))],
    "arrival_fraction": [("set", _s(V, "arrival_step", 0), 1.5)],
    "arrival_negative": [("set", _s(V, "arrival_step", 1), -1)],
    "arrival_nan": [("set", _s(V, "arrival_step", 2), NAN)],
    "arrival_str_item": [("set", _s(V, "arrival_step", 0), "0")],
    "arrival_bool_item": [("set", _s(V, "arrival_step", 1), True)],
    "arrival_scalar": [("set", _s(V, "arrival_step"), 0)],
    "arrival_long": [("set", _s(V, "arrival_step"), [0, 1, 2, 3])],
    "arrival_beyond_2_53": [("set", _s(V, "arrival_step", 0), 2**53 + 1)],
    "arrival_float_ok": [("set", _s(V, "arrival_step", 0), 0.0)],
    "departure_missing": [("del", _s(V, "departure_step"))],
    "departure_equal_arrival": [("set", _s(V, "departure_step", 1), 1)],
    "departure_before_arrival": [("set", _s(V, "departure_step", 2), 0)],
    "departure_beyond_n_steps": [("set", _s(V, "departure_step", 0), 99)],
    "departure_fraction": [("set", _s(V, "departure_step", 0), 2.5)],
    "departure_inf": [("set", _s(V, "departure_step", 1), INF)],
    "battery_missing": [("del", _s(V, "battery_kwh"))],
    "battery_zero": [("set", _s(V, "battery_kwh", 0), 0.0)],
    "battery_negative": [("set", _s(V, "battery_kwh", 2), -5)],
    "battery_nan": [("set", _s(V, "battery_kwh", 1), NAN)],
    "battery_str_item": [("set", _s(V, "battery_kwh", 1), "40")],
    "soc_arrival_percent": [("set", _s(V, "soc_arrival", 0), 85.0)],
    "soc_arrival_negative": [("set", _s(V, "soc_arrival", 1), -0.1)],
    "soc_arrival_nan": [("set", _s(V, "soc_arrival", 2), NAN)],
    "soc_arrival_missing": [("del", _s(V, "soc_arrival"))],
    "soc_target_above_max": [("set", _s(V, "soc_target", 0), 0.95)],
    "soc_target_percent": [("set", _s(V, "soc_target", 1), 80)],
    "soc_target_missing": [("del", _s(V, "soc_target"))],
    "soc_target_below_min_ok": [("set", _s(V, "soc_target", 0), 0.1)],
    "soc_min_above_max": [("set", _s(V, "soc_min", 1), 0.95)],
    "soc_min_negative": [("set", _s(V, "soc_min", 0), -0.2)],
    "soc_min_missing": [("del", _s(V, "soc_min"))],
    "soc_max_above_one": [("set", _s(V, "soc_max", 2), 1.2)],
    "soc_max_low": [("set", _s(V, "soc_max", 0), 0.1)],
    "soc_max_bool_item": [("set", _s(V, "soc_max", 0), False)],
    "soc_max_missing": [("del", _s(V, "soc_max"))],
    "max_charge_negative": [("set", _s(V, "max_charge_kw", 0), -7.0)],
    "max_charge_nan": [("set", _s(V, "max_charge_kw", 1), NAN)],
    "max_charge_str": [("set", _s(V, "max_charge_kw"), "11")],
    "max_charge_missing": [("del", _s(V, "max_charge_kw"))],
    "max_discharge_negative": [("set", _s(V, "max_discharge_kw", 1), -1)],
    "max_discharge_missing": [("del", _s(V, "max_discharge_kw"))],
    "charge_eff_zero": [("set", _s(V, "charge_efficiency", 0), 0.0)],
    "charge_eff_above_one": [("set", _s(V, "charge_efficiency", 1), 1.1)],
    "charge_eff_missing": [("del", _s(V, "charge_efficiency"))],
    "discharge_eff_negative": [("set", _s(V, "discharge_efficiency", 2), -0.5)],
    "discharge_eff_two": [("set", _s(V, "discharge_efficiency", 0), 2)],
    "discharge_eff_inf": [("set", _s(V, "discharge_efficiency", 0), INF)],
    "discharge_eff_missing": [("del", _s(V, "discharge_efficiency"))],
    "charger_custom_ok": [("set", _s(V, "charger", 1), "hpc350")],  # a type a grid site file may define
    "charger_blank_item": [("set", _s(V, "charger", 0), " ")],
    "charger_number_item": [("set", _s(V, "charger", 2), 22)],
    "charger_none_item": [("set", _s(V, "charger", 0), None)],
    "charger_short": [("set", _s(V, "charger"), ["ac11"])],
    "vehicles_unknown_short": [("set", _s(V, "charger"), ["ac11"])],
    "vehicles_unknown_scalar": [("set", _s(V, "charger"), "ac11")],
    "vehicles_other_short": [("set", _s(V, "phase"), [1])],
    "vehicles_other_scalar": [("set", _s(V, "phase"), 3)],
    "vehicles_other_inf_item": [("set", _s(V, "phase"), [1, INF, 3])],
    "vehicles_unknown_numbers_ok": [("set", _s(V, "phase"), [1, 2, 3])],
    "vehicles_unknown_mixed_ok": [("set", _s(V, "note"), ["a", 1, None])],
    "timezone_unknown": [("set", _s("timezone"), "Mars/Olympus")],
    "timezone_int_ok": [("set", _s("timezone"), 5)],  # accepted: pandas reads an int as a fixed offset
    "timezone_utc_ok": [("set", _s("timezone"), "UTC")],
    "timezone_missing_ok": [("del", _s("timezone"))],
    "unknown_key_ok": [("set", _s("generator"), {"seed": 1})],
}


def apply(data: Any, ops: list[Op]) -> Any:
    """``data`` after the operations (a deep copy); ``KeyError``/``IndexError``/``TypeError`` if a path is gone."""
    data = copy.deepcopy(data)
    for op in ops:
        if op[0] == "root":
            data = copy.deepcopy(op[1])
            continue
        path = op[1]
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        if op[0] == "set":
            if isinstance(parent, list) and not isinstance(path[-1], int):
                raise TypeError("list index")
            parent[path[-1]] = copy.deepcopy(op[2])
        else:
            del parent[path[-1]]
    return data


def corpus(n_combinations: int = 200, seed: int = 20260105) -> list[tuple[str, list[Op]]]:
    """Every single mutation, then seeded combinations of 2-3 (those whose paths still exist): ``n_combinations``
    over all fields, as many within ``vehicles`` and within ``series`` (where the order of the checks matters)."""
    cases = [(name, ops) for name, ops in MUTATIONS.items()]
    anywhere = [n for n in MUTATIONS if not n.startswith("root")]
    in_vehicles = [n for n in anywhere if MUTATIONS[n][0][1][0] == V]
    in_series = [n for n in anywhere if MUTATIONS[n][0][1][0] == S]
    rng = np.random.default_rng(seed)
    base = base_scenario()
    seen = set(MUTATIONS)
    for pool in (anywhere, in_vehicles, in_series):
        target = len(cases) + n_combinations
        while len(cases) < target:
            picked = [pool[i] for i in rng.choice(len(pool), size=int(rng.integers(2, 4)), replace=False)]
            name = "+".join(picked)
            ops = [op for n in picked for op in MUTATIONS[n]]
            if name in seen:
                continue
            try:
                apply(base, ops)
            except (KeyError, IndexError, TypeError):
                continue
            seen.add(name)
            cases.append((name, ops))
    return cases


def outcome(data: Any) -> dict[str, str]:
    """What loading ``data`` gives: the exception type and message, or the content hash of the scenario."""
    try:
        sc = scenario_from_dict(data)
    except Exception as exc:  # every outcome is recorded, also an exception that is not a ScenarioError
        return {"error": type(exc).__name__, "message": str(exc)}
    return {"ok": sc.content_hash}


def _encode(x: Any) -> Any:
    """JSON-ready operations (tuples become lists; NaN and infinities are written as JSON extensions)."""
    if isinstance(x, tuple | list):
        return [_encode(v) for v in x]
    if isinstance(x, dict):
        return {k: _encode(v) for k, v in x.items()}
    return x


def write_record(path: Path = RECORD) -> Path:
    cases = [{"name": name, "ops": _encode(ops), **outcome(apply(base_scenario(), ops))} for name, ops in corpus()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"base": base_scenario(), "cases": cases}, indent=0) + "\n", encoding="utf-8")
    return path


def load_record(path: Path = RECORD) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


if __name__ == "__main__":
    out = write_record()
    rec = load_record(out)
    n_err = sum("error" in c for c in rec["cases"])
    print(f"wrote {out}: {len(rec['cases'])} cases, {n_err} errors ({out.stat().st_size / 1024:.0f} KiB)")
