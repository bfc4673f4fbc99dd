"""The strategy recommendation (evfleet.analysis.recommend): ranking on weighted goals, summaries in fr/en."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from evfleet._common.errors import InputError
from evfleet.analysis.recommend import (
    DEFAULT_WEIGHTS,
    GOAL_KPIS,
    GOALS,
    RECOMMENDATION_COLUMNS,
    STRATEGY_SUMMARIES,
    recommend,
    strategy_summary,
)
from evfleet.strategies import REGISTRY


def _k(cost: float, peak: float, unmet: float, v2g: float) -> dict[str, float]:
    return {"net_cost_mad": cost, "peak_import_kw": peak, "unmet_energy_kwh": unmet, "energy_discharged_kwh": v2g}


KPIS = {
    "uncontrolled": _k(1000.0, 900.0, 0.0, 0.0),
    "load_balancing": _k(1000.0, 900.0, 0.0, 0.0),
    "peak_shaving": _k(950.0, 500.0, 0.0, 0.0),
    "price_optimization": _k(700.0, 1100.0, 0.0, 300.0),
}


def test_weights_decide_the_ranking() -> None:
    assert recommend(KPIS, {"cost": 1}).best == "price_optimization"
    assert recommend(KPIS, {"peak": 1}).best == "peak_shaving"
    rec = recommend(KPIS, {"v2g_wear": 1})
    assert rec.table.loc[rec.table["strategy"] == "price_optimization", "score"].item() == 0.0
    assert list(rec.table.columns) == RECOMMENDATION_COLUMNS
    assert rec.table["rank"].tolist() == [1, 2, 3, 4]


def test_strategy_with_nothing_to_do_is_flagged() -> None:
    t = recommend(KPIS).table.set_index("strategy")
    assert bool(t.loc["load_balancing", "same_as_baseline"]) is True
    assert not t.loc[["uncontrolled", "peak_shaving", "price_optimization"], "same_as_baseline"].any()


def test_default_weights_and_ties() -> None:
    rec = recommend({"a": _k(1, 1, 0, 0), "b": _k(1, 1, 0, 0)})
    assert rec.weights == DEFAULT_WEIGHTS
    assert rec.table["score"].tolist() == [1.0, 1.0] and rec.best == "a"  # ties keep the given order


@pytest.mark.parametrize(
    ("weights", "field"),
    [
        ({"cost": -1}, "weights.cost"),
        ({"speed": 1}, "unknown goal 'speed'"),
        ({"cost": 0, "peak": 0}, "all be 0"),
        ({"peak": "x"}, "weights.peak"),
        ({"peak": float("nan")}, "weights.peak"),
    ],
)
def test_bad_weights_are_refused_naming_the_field(weights: dict, field: str) -> None:
    with pytest.raises(InputError, match=field.replace(".", r"\.")):
        recommend(KPIS, weights)


def test_missing_kpi_is_refused() -> None:
    with pytest.raises(InputError, match="peak_import_kw"):
        recommend({"a": {"net_cost_mad": 1.0, "unmet_energy_kwh": 0.0, "energy_discharged_kwh": 0.0}})


values = hst.floats(0, 1e6, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    hst.lists(hst.tuples(values, values, values, values), min_size=1, max_size=6),
    hst.dictionaries(hst.sampled_from(GOALS), hst.floats(0.01, 10), min_size=1),
)
def test_scores_are_bounded_and_a_dominant_strategy_ranks_first(rows: list, weights: dict) -> None:
    kpis = {f"s{i}": _k(*r) for i, r in enumerate(rows)}
    kpis["best"] = _k(*(min(r[j] for r in rows) for j in range(4)))  # as good as the best on every goal
    t = recommend(kpis, weights).table
    assert ((t["score"] >= -1e-12) & (t["score"] <= 1 + 1e-12)).all()
    assert t["score"].is_monotonic_decreasing
    assert t.loc[t["strategy"] == "best", "score"].item() == pytest.approx(t["score"].max())
    for g in GOALS:
        col = t[f"{g}_value"]
        assert (t.loc[col == col.min(), f"{g}_score"] == 1.0).all()
        assert set(t[f"{g}_value"]) <= {k[GOAL_KPIS[g]] for k in kpis.values()}


def test_every_registered_strategy_has_a_sentence_in_both_languages() -> None:
    for name in REGISTRY:
        assert name in STRATEGY_SUMMARIES, name
        en, fr = strategy_summary(name, "en"), strategy_summary(name, "fr")
        assert en and fr and en != fr and en.count(".") <= 1 and fr.count(".") <= 1


def test_unknown_strategy_summary_falls_back_to_its_description() -> None:
    assert strategy_summary("no-such", "en") == "no-such"
    assert "anglais" in strategy_summary("no-such", "fr")
