"""Charger identities: the default layout, a given layout, session assignment and bad input."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evfleet._common.errors import InputError
from evfleet.inputs.chargers import ChargerLayout, charger_layout, charger_type_for_power
from evfleet.inputs.generate import ScenarioParams, generate_scenario
from evfleet.scenario import scenario_from_dict
from factories import scenario_dict


def _scenario(sessions: list[tuple[int, int]], n_steps: int = 8, extra: dict[str, list[Any]] | None = None,
              chargers: list[dict[str, Any]] | None = None, max_charge_kw: float = 10.0):  # fmt: skip
    d = scenario_dict(n_steps=n_steps, vehicles=[
        {"arrival_step": a, "departure_step": b, "max_charge_kw": max_charge_kw} for a, b in sessions])  # fmt: skip
    d["vehicles"].update(extra or {})
    if chargers is not None:
        d["site"]["chargers"] = chargers
    return scenario_from_dict(d)


def _overlaps(layout: ChargerLayout, arr: np.ndarray, dep: np.ndarray) -> bool:
    for row in range(len(layout)):
        s = np.flatnonzero(layout.session_connector == row)
        s = s[np.argsort(arr[s], kind="stable")]
        if np.any(arr[s][1:] < dep[s][:-1]):
            return True
    return False


def test_type_for_power_picks_the_smallest_covering_ac_then_dc():
    got = charger_type_for_power(np.array([3.7, 7.4, 7.5, 11.0, 22.0, 22.1, 60.0, 500.0]))
    assert list(got) == ["ac7.4", "ac7.4", "ac11", "ac11", "ac22", "dc50", "dc150", "dc150"]


def test_default_layout_shares_a_connector_between_sessions_that_do_not_overlap():
    layout = charger_layout(_scenario([(0, 3), (3, 6), (1, 4), (6, 8)]))
    assert layout.source == "default"
    # V0 0-3 -> C001; V2 1-4 -> C002; V1 3-6 -> C001 again (free at 3); V3 6-8 -> C001
    assert list(layout.charger_id[layout.session_connector]) == ["C001", "C001", "C002", "C001"]
    assert list(layout.charger_type) == ["ac11", "ac11"]
    assert list(layout.phase) == ["L123", "L123"]
    assert list(layout.connector_label()) == ["C001/1", "C002/1"]


def test_default_layout_rotates_single_phase_chargers_over_l1_l2_l3():
    sc = _scenario([(0, 8)] * 5, max_charge_kw=7.0)
    layout = charger_layout(sc)
    assert list(layout.charger_type) == ["ac7.4"] * 5
    assert list(layout.phase) == ["L1", "L2", "L3", "L1", "L2"]
    assert list(layout.session_phase()) == ["L1", "L2", "L3", "L1", "L2"]


def test_session_charger_type_and_bidirectional_split_pools():
    sc = _scenario([(0, 2), (2, 4), (4, 6)], extra={"charger": ["ac22", "ac22", "dc50"],
                                                    "bidirectional_charger": [False, True, False]})  # fmt: skip
    layout = charger_layout(sc)
    assert list(layout.charger_type) == ["ac22", "ac22", "dc50"]
    assert list(layout.bidirectional) == [False, True, False]


def test_given_layout_with_explicit_connectors():
    chargers = [{"charger_id": "A", "connector": 1, "type": "ac22"}, {"charger_id": "A", "connector": 2,
                "type": "ac22", "rating_kw": 11.0}, {"charger_id": "B", "type": "ac7.4", "phase": "L3"}]  # fmt: skip
    sc = _scenario([(0, 4), (0, 4), (4, 8)], extra={"charger_id": ["A", "A/2", "B"]}, chargers=chargers)
    layout = charger_layout(sc)
    assert layout.source == "scenario"
    assert list(layout.session_connector) == [0, 1, 2]
    assert list(layout.phase) == ["L123", "L123", "L3"]
    assert layout.rating_kw.tolist() == [22.0, 11.0, 7.4]
    assert layout.to_records()[2] == {"charger_id": "B", "connector": 1, "type": "ac7.4", "rating_kw": 7.4,
                                      "phase": "L3", "bidirectional": False}  # fmt: skip


def test_given_layout_without_ids_assigns_greedily_and_refuses_when_full():
    chargers = [{"charger_id": "A", "type": "ac11"}]
    layout = charger_layout(_scenario([(0, 4), (4, 8)], chargers=chargers))
    assert list(layout.session_connector) == [0, 0]
    with pytest.raises(InputError, match=r"vehicles.id\[1\].*no free connector"):
        charger_layout(_scenario([(0, 4), (2, 8)], chargers=chargers))


def test_records_round_trip_to_the_same_assignment():
    sc = generate_scenario(ScenarioParams(vehicles=60, seed=3))
    layout = charger_layout(sc)
    d = sc.to_dict()
    d["site"]["chargers"] = layout.to_records()
    d["vehicles"]["charger_id"] = list(layout.connector_label()[layout.session_connector])
    again = charger_layout(scenario_from_dict(d))
    assert again.source == "scenario"
    np.testing.assert_array_equal(again.session_connector, layout.session_connector)
    np.testing.assert_array_equal(again.phase, layout.phase)


@pytest.mark.parametrize(
    ("chargers", "ids", "match"),
    [
        ([], None, r"site.chargers' must be a non-empty list"),
        ("C1", None, r"site.chargers' must be a non-empty list"),
        ([5], None, r"site.chargers\[0\]' must be an object"),
        ([{"type": "ac11"}], None, r"site.chargers\[0\].charger_id' is required"),
        ([{"charger_id": "A"}], None, r"site.chargers\[0\].type' is required"),
        ([{"charger_id": "A", "type": "ac99"}], None, r"type' is not a known charger type.*'ac99'"),
        ([{"charger_id": "A", "type": "ac11", "colour": "red"}], None, r"colour' is not a known key"),
        ([{"charger_id": "", "type": "ac11"}], None, r"charger_id' must be a non-empty text"),
        ([{"charger_id": "A/1", "type": "ac11"}], None, r"must not contain '/'"),
        ([{"charger_id": "A\x1b[2J", "type": "ac11"}], None, r"charger_id' must be a non-empty text"),
        ([{"charger_id": "A", "type": "ac11", "connector": 0}], None, r"connector' must be an integer"),
        ([{"charger_id": "A", "type": "ac11", "connector": True}], None, r"connector' must be an integer"),
        ([{"charger_id": "A", "type": "ac11", "rating_kw": float("nan")}], None, r"rating_kw' must be a finite"),
        ([{"charger_id": "A", "type": "ac11", "rating_kw": -1}], None, r"rating_kw' must be a finite"),
        ([{"charger_id": "A", "type": "ac11", "rating_kw": True}], None, r"rating_kw' must be a finite"),
        ([{"charger_id": "A", "type": "ac7.4", "phase": "L4"}], None, r"phase' must be L1, L2 or L3"),
        ([{"charger_id": "A", "type": "ac11", "phase": "L1"}], None, r"phase' must be L123"),
        ([{"charger_id": "A", "type": "ac11", "bidirectional": "yes"}], None, r"bidirectional' must be true"),
        ([{"charger_id": "A", "type": "ac11"}, {"charger_id": "A", "type": "ac22"}], None, r"repeats a charger_id"),
        ([{"charger_id": "A", "type": "ac11"}], ["B", "A"], r"vehicles.charger_id\[0\]' names no charger"),
        ([{"charger_id": "A", "type": "ac11"}], ["A/2", "A"], r"vehicles.charger_id\[0\]' names no connector"),
        ([{"charger_id": "A", "type": "ac11"}], ["A", "A"], r"still in use by session 'V0'"),
        (None, ["A", "A"], r"vehicles.charger_id' needs 'site.chargers'"),
    ],
)
def test_bad_chargers_are_refused_naming_field_and_value(chargers, ids, match):
    extra = {"charger_id": ids} if ids is not None else None
    with pytest.raises(InputError, match=match):
        charger_layout(_scenario([(0, 4), (2, 6)], chargers=chargers, extra=extra))


def test_unknown_session_charger_type_is_refused():
    with pytest.raises(InputError, match=r"vehicles.charger\[1\]' is not a known charger type.*'ac3'"):
        charger_layout(_scenario([(0, 4), (2, 6)], extra={"charger": ["ac11", "ac3"]}))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 11), st.integers(1, 12)), min_size=1, max_size=40),
       st.sampled_from([3.0, 7.4, 11.0, 40.0]))  # fmt: skip
def test_default_layout_never_overlaps_and_is_minimal_per_type(raw, kw):
    sessions = [(a, max(b, a + 1)) for a, b in raw]
    sc = _scenario(sessions, n_steps=12, max_charge_kw=kw)
    layout = charger_layout(sc)
    arr, dep = np.array([s[0] for s in sessions]), np.array([s[1] for s in sessions])
    assert not _overlaps(layout, arr, dep)
    assert (layout.session_connector >= 0).all()
    # interval-graph colouring by arrival is optimal: as many connectors as the most sessions connected at once
    connected = np.array([((arr <= t) & (t < dep)).sum() for t in range(12)])
    assert len(layout) == connected.max()
