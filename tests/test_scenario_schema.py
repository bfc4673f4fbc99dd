"""Scenario validation driven by the field table: the record of the old validation, the bad-input corpus, the doc."""

from __future__ import annotations

import pytest

from evfleet.scenario import ScenarioError, scenario_from_dict
from scenario_corpus import apply, load_record

RECORD = load_record()


@pytest.mark.parametrize("case", RECORD["cases"], ids=[c["name"] for c in RECORD["cases"]])
def test_loading_gives_the_recorded_outcome(case) -> None:
    """Same exception type and message (the first offending field) or the same scenario (content hash)."""
    data = apply(RECORD["base"], case["ops"])
    if "ok" in case:
        assert scenario_from_dict(data).content_hash == case["ok"]
    else:
        with pytest.raises(ScenarioError) as info:
            scenario_from_dict(data)
        assert type(info.value).__name__ == case["error"]
        assert str(info.value) == case["message"]
