"""Sweeps against both baselines: each point's savings against ``uncontrolled``, ``timer`` and the cheaper of the
two (the rule of ``analysis.compare``), checked against independent runs; the summary, markdown and report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evfleet.analysis.compare import SAVING_KEYS, baseline_savings, comparison_table
from evfleet.analysis.kpis import compute_kpis
from evfleet.analysis.sweep_summary import BEST_COLUMNS, UNCONTROLLED_COLUMNS, cost_status, summary_frame
from evfleet.batch.spec import expand_points, parse_spec
from evfleet.batch.sweep import run_point, summary_markdown
from evfleet.inputs.generate import generate_scenario
from evfleet.reports.sweep import sweep_report_body
from evfleet.simulation.simulate import SimulationOptions, simulate

BASE = {"vehicles": 12, "days": 1, "start": "2026-06-01", "seed": 3}


def _point(strategy: str):
    spec = parse_spec({"base": {**BASE, "strategy": strategy}})
    (p,) = expand_points(spec, default_start="2026-06-01")
    return p


@pytest.fixture(scope="module")
def independent() -> dict[str, dict]:
    """KPIs of the baselines and of price optimisation, run here outside the sweep code."""
    sc = generate_scenario(**BASE)
    opts = SimulationOptions()
    return {s: compute_kpis(simulate(sc, s, opts)) for s in ("uncontrolled", "timer", "price_optimization")}


def test_point_savings_against_both_baselines_match_independent_runs(independent: dict[str, dict]) -> None:
    row = run_point(_point("price_optimization"))
    cost = {s: k["net_cost_mad"] for s, k in independent.items()}
    assert row["net_cost_mad"] == pytest.approx(cost["price_optimization"], abs=1e-6)
    assert row["baseline_net_cost_mad"] == pytest.approx(cost["uncontrolled"], abs=1e-6)
    assert row["timer_net_cost_mad"] == pytest.approx(cost["timer"], abs=1e-6)
    assert row["savings_mad"] == pytest.approx(cost["uncontrolled"] - cost["price_optimization"], abs=1e-6)
    assert row["savings_vs_timer_mad"] == pytest.approx(cost["timer"] - cost["price_optimization"], abs=1e-6)
    assert row["savings_vs_timer_pct"] == pytest.approx(100 * row["savings_vs_timer_mad"] / cost["timer"])
    best = min(("uncontrolled", "timer"), key=cost.__getitem__)
    assert row["best_baseline"] == best
    assert row["best_baseline_net_cost_mad"] == pytest.approx(cost[best], abs=1e-6)
    # the headline is the smaller of the two savings
    assert row["savings_vs_best_baseline_mad"] == pytest.approx(
        min(row["savings_mad"], row["savings_vs_timer_mad"]), abs=1e-9
    )
    assert row["nothing_to_do_reason"] == ""
    assert row["timer_runtime_s"] >= 0.0


def test_point_of_a_baseline_saves_nothing_against_itself() -> None:
    row = run_point(_point("timer"))
    assert row["savings_vs_timer_mad"] == 0.0 and row["timer_runtime_s"] == 0.0
    assert row["timer_net_cost_mad"] == row["net_cost_mad"]
    row = run_point(_point("uncontrolled"))
    assert row["savings_mad"] == 0.0 and row["baseline_runtime_s"] == 0.0


def test_sweep_and_compare_share_one_rule(independent: dict[str, dict]) -> None:
    table = comparison_table(independent).set_index("strategy")
    base = {b: independent[b] for b in ("uncontrolled", "timer")}
    for name, k in independent.items():
        saved = baseline_savings(base, k)
        assert set(saved) == set(SAVING_KEYS)
        for key in SAVING_KEYS:
            assert table.loc[name, key] == saved[key], (name, key)


def _table() -> pd.DataFrame:
    """A synthetic result table: on seed 1 uncontrolled is cheaper, on seed 2 the timer is."""
    rows = []
    for seed, (cu, ct) in {1: (100.0, 120.0), 2: (100.0, 80.0)}.items():
        for strategy, cost in (("uncontrolled", cu), ("timer", ct), ("price_optimization", 70.0 + seed)):
            k = {"net_cost_mad": cost}
            saved = baseline_savings({"uncontrolled": {"net_cost_mad": cu}, "timer": {"net_cost_mad": ct}}, k)
            rows.append({"strategy": strategy, "seed": seed, **saved, "peak_reduction_pct": 0.0,
                         "unmet_energy_kwh": 0.0, "nothing_to_do_reason": "", "bill_status": "secondary"})  # fmt: skip
    return pd.DataFrame(rows)


def test_summary_headline_uses_the_cheaper_baseline_of_each_point() -> None:
    summ = summary_frame(_table()).set_index("strategy")
    po = summ.loc["price_optimization"]
    # seed 1: 71 vs the cheaper 100 -> 29 %; seed 2: 72 vs the cheaper 80 -> 10 %
    assert po["savings_vs_best_baseline_pct_min"] == pytest.approx(10.0)
    assert po["savings_vs_best_baseline_pct_max"] == pytest.approx(29.0)
    assert po["savings_vs_best_baseline_mad_mean"] == pytest.approx((29.0 + 8.0) / 2)
    assert po["savings_pct_median"] == pytest.approx((29.0 + 28.0) / 2)  # against uncontrolled, unchanged
    assert po["timer_best_points"] == 1 and po["nothing_to_do_points"] == 0
    assert summ.loc["timer", "savings_vs_timer_pct_median"] == 0.0


def test_summary_of_an_old_table_without_timer_columns_keeps_its_columns() -> None:
    old = _table().drop(columns=[c for c in SAVING_KEYS if c not in ("savings_mad", "savings_pct")])
    summ = summary_frame(old)
    assert set(UNCONTROLLED_COLUMNS) <= set(summ.columns)
    assert not set(BEST_COLUMNS) & set(summ.columns)
    text = summary_markdown(old)
    assert "cheaper baseline" not in text and "| price_optimization |" in text


def test_summary_markdown_and_report_show_the_headline_and_the_status() -> None:
    t = _table()
    assert cost_status(t) == "secondary"
    text = summary_markdown(t)
    assert "## Against the cheaper baseline (headline)" in text
    assert "savings MAD mean (secondary)" in text and "status **secondary**" in text
    po = next(line for line in text.splitlines() if line.startswith("| price_optimization |"))
    assert "| 10.00 |" in po and "| 29.00 |" in po  # min and max against the cheaper baseline
    body = sweep_report_body(t, {"n_points": len(t)}, {})
    assert "savings vs the cheaper baseline [%] (headline)" in body
    assert "savings_mad_mean (secondary)" in body and "<b>secondary</b>" in body
    assert body.count("<svg") == 4  # headline, vs uncontrolled, peak reduction, unmet energy
    assert np.isfinite(summary_frame(t)["savings_vs_best_baseline_pct_median"]).all()
