"""`evfleet compare`, `run --strategy`, the comparison files and the frequency signal."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from evfleet.analysis.compare import COMPARISON_COLUMNS, compare
from evfleet.cli import app
from evfleet.inputs.frequency import droop_activation, load_frequency_csv, synthetic_frequency
from evfleet.inputs.generate import generate_scenario
from evfleet.scenario import save_scenario
from evfleet.simulation.simulate import SimulationOptions

runner = CliRunner()


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory):
    sc = generate_scenario(vehicles=12, seed=5, start="2026-01-15", step_minutes=60, v2g_ready_2024=True)
    path = tmp_path_factory.mktemp("sc") / "sc.json"
    save_scenario(sc, path)
    return sc, path


def test_compare_all_writes_csv_md_and_prints(scenario_file, tmp_path) -> None:
    sc, path = scenario_file
    res = runner.invoke(app, ["compare", str(path), "--strategies", "all", "--mode", "offline", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    df = pd.read_csv(tmp_path / "comparison.csv")
    assert list(df.columns) == COMPARISON_COLUMNS
    assert df["strategy"].iloc[:2].tolist() == ["uncontrolled", "timer"] and len(df) == 8
    base = df.loc[0, "net_cost_mad"]
    assert np.allclose(df["savings_mad"], base - df["net_cost_mad"])
    assert np.allclose(df["savings_vs_timer_mad"], df.loc[1, "net_cost_mad"] - df["net_cost_mad"])
    md = (tmp_path / "comparison.md").read_text()
    assert sc.content_hash in md and "| price_optimization |" in md and "**Headline:**" in md
    assert "price_optimization" in res.output and "wrote" in res.output and "headline: " in res.output
    # same numbers as the library
    comp = compare(sc, "all", SimulationOptions(mode="offline"), {"grid_support": {"seed": 0}})
    assert np.allclose(comp.table["net_cost_mad"].to_numpy(), df["net_cost_mad"].to_numpy(), rtol=1e-9)


def test_compare_online_no_v2g_subset(scenario_file, tmp_path) -> None:
    _, path = scenario_file
    res = runner.invoke(
        app,
        ["compare", str(path), "--strategies", "peak_shaving,load_balancing", "--mode", "online", "--no-v2g",
         "--out", str(tmp_path)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    df = pd.read_csv(tmp_path / "comparison.csv")
    assert df["strategy"].tolist() == ["uncontrolled", "timer", "peak_shaving", "load_balancing"]
    assert df["v2g_value_mad"].isna().all()  # V2G off: not measured
    assert (df["v2g_energy_kwh"] == 0).all() and (df["mode"] == "online").all()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--strategies", "nope"], "unknown strategy 'nope'"),
        (["--mode", "sometimes"], "option 'mode'"),
        (["--reserve-price", "-1"], "--reserve-price"),
    ],
)
def test_compare_bad_input_names_the_option(scenario_file, tmp_path, args, needle) -> None:
    _, path = scenario_file
    res = runner.invoke(app, ["compare", str(path), "--out", str(tmp_path), *args])
    assert res.exit_code == 2
    assert needle in res.output
    assert not (tmp_path / "comparison.csv").exists()


def test_run_grid_support_with_frequency_csv(scenario_file, tmp_path) -> None:
    sc, path = scenario_file
    f = 50.0 + 0.1 * np.sin(np.arange(sc.n_steps * 4) / 3.0)
    pd.DataFrame({"frequency_hz": f}).to_csv(tmp_path / "f.csv", index=False)
    out = tmp_path / "run"
    res = runner.invoke(
        app,
        ["run", str(path), "--out", str(out), "--strategy", "grid_support", "--reserve-price", "0.3",
         "--frequency-csv", str(tmp_path / "f.csv"), "--quiet"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    kpis = json.loads((out / "kpis.json").read_text())
    assert kpis["strategy_frequency_source"] == "scenario"
    assert kpis["strategy_reserve_price_mad_per_kw_h"] == 0.3
    assert kpis["setpoints_clipped"] == 0
    site = pd.read_csv(out / "site.csv")
    assert np.allclose(site["frequency_hz"], f.reshape(sc.n_steps, 4).mean(axis=1))


def test_droop_characteristic() -> None:
    a = droop_activation(np.array([50.0, 50.009, 50.011, 50.105, 50.2, 50.5, 49.895, 49.7]))
    assert a.tolist() == pytest.approx([0, 0, 1 / 190, 0.5, 1, 1, -0.5, -1])


def test_synthetic_frequency_statistics_and_determinism() -> None:
    f1, a1 = synthetic_frequency(96 * 3, 15, seed=4)
    f2, _ = synthetic_frequency(96, 15, seed=4)
    assert np.array_equal(f1[:96], f2)  # a step does not depend on the horizon asked for
    from evfleet.inputs.frequency import ou_deviation_hz

    x = ou_deviation_hz(200_000, 10.0, np.random.default_rng(1))
    assert np.std(x) == pytest.approx(0.020, rel=0.1)
    lag = round(120 / 10)
    assert np.corrcoef(x[:-lag], x[lag:])[0, 1] == pytest.approx(np.exp(-1), abs=0.05)
    assert np.abs(a1).max() <= 1.0


def test_frequency_csv_errors(tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"hz": [50.0] * 4}).to_csv(bad, index=False)
    with pytest.raises(ValueError, match="frequency_hz"):
        load_frequency_csv(bad, 4)
    pd.DataFrame({"frequency_hz": [50.0, 70.0, 50.0, 50.0]}).to_csv(bad, index=False)
    with pytest.raises(ValueError, match="row 1"):
        load_frequency_csv(bad, 4)
    pd.DataFrame({"frequency_hz": [50.0] * 5}).to_csv(bad, index=False)
    with pytest.raises(ValueError, match="multiple"):
        load_frequency_csv(bad, 4)
