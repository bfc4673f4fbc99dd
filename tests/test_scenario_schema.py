"""Scenario validation driven by the field table: the record of the old validation, the bad-input corpus, the doc."""

from __future__ import annotations

import copy
import dataclasses
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evfleet.scenario import (
    REQUIRED_SERIES,
    REQUIRED_VEHICLE_FIELDS,
    Scenario,
    ScenarioError,
    Vehicles,
    scenario_from_dict,
)
from evfleet.scenario_schema import (
    CROSS_RULES,
    FIELDS,
    Range,
    column_fields,
    cross_rules_after,
    field_for,
    main,
    markdown_table,
    replace_doc_table,
)
from scenario_corpus import MUTATIONS, apply, base_scenario, load_record

RECORD = load_record()
MODEL_MD = Path(__file__).resolve().parents[1] / "docs" / "model.md"
MESSAGE = re.compile(r"^field '(?P<field>[^'\[]+)(?:\[(?P<index>\d+)\])?' (?P<what>.+) \(value (?P<value>.*)\)$")


@pytest.mark.parametrize("case", RECORD["cases"], ids=[c["name"] for c in RECORD["cases"]])
def test_loading_gives_the_recorded_outcome(case) -> None:
    """Same exception type and message (the first offending field) or the same scenario (content hash) as the
    hand-written validation gave when the record was written (tests/scenario_corpus.py)."""
    data = apply(RECORD["base"], case["ops"])
    if "ok" in case:
        assert scenario_from_dict(data).content_hash == case["ok"]
    else:
        with pytest.raises(ScenarioError) as info:
            scenario_from_dict(data)
        assert type(info.value).__name__ == case["error"]
        assert str(info.value) == case["message"]


def test_the_record_replays_the_corpus_of_today() -> None:
    """The record holds exactly the corpus of tests/scenario_corpus.py (nobody edited one without the other)."""
    assert RECORD["base"] == base_scenario()
    assert [c["name"] for c in RECORD["cases"][: len(MUTATIONS)]] == list(MUTATIONS)


# --- the bad-input corpus: at least one bad value for every row of the table ---------------------------------------


def _row_of(op: tuple) -> str:
    """The table row an operation of the corpus targets (``*`` rows for keys without their own)."""
    path = [p for p in op[1] if isinstance(p, str)]
    section, key = (path[0], path[1]) if len(path) > 1 else ("", path[0])
    return field_for(section, key).path


def _quotable(op: tuple) -> set[str]:
    """Reprs the message of a single-operation case may quote: the bad value (or one of its elements; as a float
    once it is in a float array), its type name or length, or ``None`` for a missing field."""
    if op[0] == "del":
        return {"None"}
    value = op[2]
    out = {repr(type(value).__name__)} | ({repr(len(value))} if isinstance(value, list | str) else set())
    for x in [value, *(value if isinstance(value, list) else [])]:
        out.add(repr(x))
        if isinstance(x, int | float) and not isinstance(x, bool):
            out.add(repr(float(x)))
    return out


SINGLE = {name: ops for name, ops in MUTATIONS.items() if len(ops) == 1 and ops[0][0] != "root"}


@pytest.mark.parametrize("row", [f.path for f in FIELDS])
def test_every_row_has_bad_values_in_the_corpus(row: str) -> None:
    """Each row of the table is broken at least once (wrong type, NaN, out of range, missing, unknown key); a row
    that accepts anything (``site.*``, ``*``) has a valid example that is kept instead."""
    bad = [n for n, ops in SINGLE.items() if _row_of(ops[0]) == row and not n.endswith("_ok")]
    kind = next(f.kind for f in FIELDS if f.path == row)
    if kind == "any":
        assert not bad and any(_row_of(ops[0]) == row for n, ops in SINGLE.items() if n.endswith("_ok"))
    else:
        assert bad, f"no bad value for {row}"


@pytest.mark.parametrize("name", sorted(n for n in SINGLE if not n.endswith("_ok")))
def test_each_bad_value_raises_naming_the_field_and_the_value(name: str) -> None:
    (op,) = SINGLE[name]
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(apply(base_scenario(), [op]))
    m = MESSAGE.match(str(info.value))
    assert m, str(info.value)
    target = ".".join(p for p in op[1] if isinstance(p, str))
    also = {c.field for c in CROSS_RULES if target in (c.other, c.field)}  # a cross-field rule names its field
    also |= {"vehicles.model"} if name == "id_short" else set()  # N is len(id): the next column is "too long"
    also |= {"series.price_import_mad_per_kwh"} if name == "n_steps_mismatch" else set()  # T is n_steps
    assert m["field"] in {target} | also, str(info.value)
    if m["field"] == target:
        assert m["value"] in _quotable(op), str(info.value)
        if isinstance(op[1][-1], int):  # a bad element is named by its index
            assert m["index"] == str(op[1][-1]), str(info.value)


def test_unknown_keys_are_kept_not_refused() -> None:
    """The format is open: keys without a row are kept on a round trip (the ``*`` rows), so an 'unknown key' is
    refused only when it breaks its ``*`` row (a series that is not T numbers, a session field not N long)."""
    data = apply(base_scenario(), [op for n in ("series_unknown_ok", "site_extra_ok", "unknown_key_ok",
                                                "vehicles_unknown_mixed_ok") for op in MUTATIONS[n]])  # fmt: skip
    sc = scenario_from_dict(data)
    assert sc.to_dict()["series"]["carbon_g_per_kwh"] == [500, 480.5, 450, 470]
    assert sc.site_extra["latitude"] == 33.57 and sc.extra["generator"] == {"seed": 1}
    assert list(sc.vehicles.extra["note"]) == ["a", "1", "None"]
    for name in ("series_unknown_text", "series_unknown_scalar", "vehicles_unknown_short"):
        with pytest.raises(ScenarioError, match=r"field '(series\.carbon_g_per_kwh|vehicles\.charger)"):
            scenario_from_dict(apply(base_scenario(), MUTATIONS[name]))


# --- the table itself ----------------------------------------------------------------------------------------------


def test_the_table_names_the_scenario_attributes() -> None:
    assert tuple(f.name for f in dataclasses.fields(Vehicles) if f.name != "extra") == REQUIRED_VEHICLE_FIELDS
    assert REQUIRED_SERIES == ("price_import_mad_per_kwh", "price_export_mad_per_kwh", "base_load_kw", "pv_kw")
    assert all(isinstance(getattr(Scenario, k), property) for k in REQUIRED_SERIES)
    assert [f.path for f in column_fields("vehicles")][:2] == ["vehicles.id", "vehicles.model"]
    paths = [f.path for f in FIELDS]
    assert len(paths) == len(set(paths))
    for rule in CROSS_RULES:
        assert rule.field in paths and rule.other in paths
        assert sum(rule in cross_rules_after(p) for p in paths) == 1


def test_messages_use_the_words_of_the_table() -> None:
    """Every range error of the record quotes its row's rule (so the doc and the messages say the same)."""
    seen = set()
    for case in RECORD["cases"]:
        m = MESSAGE.match(case.get("message", ""))
        if not m:
            continue
        f = field_for(*m["field"].rsplit(".", 1)) if "." in m["field"] else field_for("", m["field"])
        if f.rule is not None and f.rule.describe({"n_steps": 4}) in m["what"]:
            seen.add(f.path)
    assert seen == {f.path for f in FIELDS if f.rule is not None}


@pytest.mark.parametrize(
    ("rule", "text", "inside", "outside"),
    [
        (Range(0), ">= 0", [0.0, 5.0], [-1e-9]),
        (Range(0, lo_open=True), "> 0", [1e-9], [0.0, -1.0]),
        (Range(0, 1, note="(a fraction, not %)"), "within 0-1 (a fraction, not %)", [0.0, 1.0], [-0.1, 1.01]),
        (Range(0, 1, lo_open=True), "within (0, 1]", [1.0, 0.5], [0.0, 1.5]),
        (Range(45, 55, note="Hz"), "within 45-55 Hz", [45.0, 55.0], [44.99, 55.01]),
        (Range(1, 1440), "within 1-1440", [1, 1440], [0, 1441]),
        (Range(hi="n_steps"), "<= n_steps (4)", [4, 0], [5]),
    ],
)
def test_range_rules(rule: Range, text: str, inside: list, outside: list) -> None:
    refs = {"n_steps": 4}
    assert rule.describe(refs) == text
    assert not rule.violated(np.asarray(inside), refs).any()
    assert rule.violated(np.asarray(outside), refs).all()
    assert all(not rule.violated(x, refs) for x in inside) and all(rule.violated(x, refs) for x in outside)


# --- the doc's table is the generated one --------------------------------------------------------------------------


def test_model_md_field_table_is_generated_from_the_table() -> None:
    text = MODEL_MD.read_text(encoding="utf-8")
    assert replace_doc_table(text) == text, "run: python -m evfleet.scenario_schema --write docs/model.md"
    assert markdown_table() in text
    assert main(["--check", str(MODEL_MD)]) == 0


def test_doc_generator_rewrites_a_stale_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "model.md"
    stale = replace_doc_table(MODEL_MD.read_text(encoding="utf-8"), "| field |\n|---|\n| `old` |\n")
    page.write_text(stale, encoding="utf-8")
    assert main(["--check", str(page)]) == 1
    assert main(["--write", str(page)]) == 0
    assert page.read_text(encoding="utf-8") == MODEL_MD.read_text(encoding="utf-8")
    capsys.readouterr()
    assert main([]) == 0 and capsys.readouterr().out == markdown_table()
    with pytest.raises(ValueError, match="markers"):
        replace_doc_table("no markers here")


# --- the vectorised element checks agree with the element-by-element rule they replace ----------------------------


def _old_element_check(values: Any, integer: bool) -> tuple[int, Any] | None:
    """The element loop of the hand-written validation (copied from scenario.py before the table)."""
    for i, x in enumerate(values):
        ok = isinstance(x, int | float | np.integer | np.floating) and not isinstance(x, bool)
        if not ok or not np.isfinite(x) or (integer and float(x) != int(x)):
            return i, x
    return None


ODD_ELEMENTS = [0.5, 2.0, -3.0, 2.0**53, 2.0**53 + 2, math.nan, math.inf, -math.inf, True, False, None, "1", [1.0],
                np.float64(1.5), np.int64(3), np.float32("nan")]  # fmt: skip
ELEMENTS = st.one_of(
    st.integers(-(2**60), 2**60),
    st.integers(-5, 5),
    st.floats(-1e17, 1e17),  # within int64: beyond it np.asarray(..., int64) overflows, before and after alike
    st.sampled_from(ODD_ELEMENTS),
)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(ELEMENTS, min_size=3, max_size=3), as_array=st.booleans())
def test_vectorised_number_checks_agree_with_the_element_loop(values: list, as_array: bool) -> None:
    if as_array:
        try:
            values = np.asarray(values)
        except (ValueError, OverflowError):
            return
    for key, integer in (("arrival_step", True), ("battery_kwh", False)):
        data = copy.deepcopy(base_scenario())
        data["vehicles"][key] = values
        data["vehicles"]["departure_step"] = [4, 4, 4]
        old = _old_element_check(values, integer)
        try:
            scenario_from_dict(data)
            message = ""
        except ScenarioError as exc:
            message = str(exc)
        except OverflowError:  # an integer beyond int64: np.asarray(..., int64) fails, as it did before
            assert old is None and integer
            continue
        if old is None:
            assert "must be a finite" not in message
        else:
            i, x = old
            kind = "integer" if integer else "number"
            assert message == f"field 'vehicles.{key}[{i}]' must be a finite {kind} (value {x!r})"
