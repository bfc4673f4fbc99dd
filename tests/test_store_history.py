"""History by day and month (evfleet.store.history) and `evfleet history --live / --by / --csv`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from evfleet.analysis.kpis import compute_kpis
from evfleet.cli import app
from evfleet.store.history import HISTORY_COLUMNS, history_by_period
from evfleet.store.runs import open_store
from store_factories import isolated_env, run_pair, small_scenario


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolated_env(tmp_path, monkeypatch)


@pytest.fixture(scope="module")
def runs() -> dict:
    return run_pair(small_scenario(days=2))


def _store_live(st, result, chunk: int = 24) -> str:
    sc = result.scenario
    session = st.start_live_session(sc, name="live uncontrolled", options=result.options)
    for t0 in range(0, sc.n_steps, chunk):
        t1 = min(t0 + chunk, sc.n_steps)
        st.save_live_chunk(
            session,
            sc,
            t0,
            result.power_kw[:, t0:t1],
            result.soc[:, t0 : t1 + 1],
            result.site_kw[t0:t1],
            strategy="uncontrolled",
        )
    return session


def _expected_by_day(result) -> pd.DataFrame:
    sc = result.scenario
    days = np.asarray([t.isoformat()[:10] for t in sc.times])
    imp = np.maximum(result.site_kw, 0.0)
    df = pd.DataFrame(
        {
            "day": days,
            "cost": imp * sc.price_import_mad_per_kwh * sc.dt_h,
            "charged": np.maximum(result.power_kw, 0).sum(axis=0) * sc.dt_h,
            "imp": imp,
        }
    )
    return df.groupby("day").agg(cost=("cost", "sum"), charged=("charged", "sum"), peak=("imp", "max"))


def test_runs_by_day_match_the_simulation_and_count_a_repeat_once(env: Path, runs: dict) -> None:
    res = runs["uncontrolled"]
    with open_store() as st:
        st.save_run(res, compute_kpis(res), source="test")
        st.save_run(res, compute_kpis(res), source="test")  # the same simulation again: counted once
        st.save_run(runs["half-power"], compute_kpis(runs["half-power"]), source="test")
        _store_live(st, res)
        table = history_by_period(st, "day", "runs")
    assert list(table.columns) == HISTORY_COLUMNS
    assert set(table["source"]) == {"runs"}  # live chunks are kept apart
    unc = table[table["strategy"] == "uncontrolled"].set_index("period").sort_index()
    exp = _expected_by_day(res)
    assert list(unc.index) == list(exp.index) and len(unc) >= 2
    np.testing.assert_allclose(unc["import_cost_mad"], exp["cost"], rtol=1e-9)
    np.testing.assert_allclose(unc["energy_charged_kwh"], exp["charged"], rtol=1e-9)
    assert set(table["cost_status"]) == {compute_kpis(res)["bill_status"]}  # the status next to the MAD columns
    np.testing.assert_allclose(unc["peak_import_kw"], exp["peak"], rtol=1e-9)
    assert (unc["n_runs"] == 1).all()
    # unmet energy of the departures, by departure day, adds up to the run's KPI
    assert unc["unmet_energy_kwh"].sum() == pytest.approx(compute_kpis(res)["unmet_energy_kwh"], abs=1e-6)
    assert table["period"].tolist() == sorted(table["period"], reverse=True)


def test_live_history_by_month_and_unmet_from_the_traces(env: Path, runs: dict) -> None:
    res = runs["half-power"]  # half power leaves vehicles short: unmet energy > 0
    with open_store() as st:
        st.save_run(runs["uncontrolled"], compute_kpis(runs["uncontrolled"]), source="test")
        _store_live(st, res)
        live = history_by_period(st, "month", "live")
        day = history_by_period(st, "day", "live")
    assert set(live["source"]) == {"live"} and len(live) == 1
    row = live.iloc[0]
    sc = res.scenario
    assert row["period"] == sc.times[0].isoformat()[:7]
    assert row["steps"] == sc.n_steps and row["n_runs"] == 1
    assert row["import_cost_mad"] == pytest.approx(
        float((np.maximum(res.site_kw, 0) * sc.price_import_mad_per_kwh).sum() * sc.dt_h)
    )
    kpis = compute_kpis(res)
    assert kpis["unmet_energy_kwh"] > 0
    # sessions departing at the last step are never in a chunk trace; the others add up to the run's unmet energy
    assert row["unmet_energy_kwh"] == pytest.approx(day["unmet_energy_kwh"].sum())
    assert 0 < row["unmet_energy_kwh"] <= kpis["unmet_energy_kwh"] + 1e-6


def test_bad_period_is_refused(env: Path) -> None:
    from evfleet._common.errors import InputError

    with open_store() as st, pytest.raises(InputError, match="'--by'"):
        history_by_period(st, "week")


def test_cli_history_keeps_live_sessions_apart_and_exports_csv(env: Path, runs: dict, tmp_path: Path) -> None:
    res = runs["uncontrolled"]
    with open_store() as st:
        run_id = st.save_run(res, compute_kpis(res), source="test")
        session = _store_live(st, res)
    cli = CliRunner()
    out = cli.invoke(app, ["history"])
    assert out.exit_code == 0, out.output
    assert run_id in out.output and session not in out.output and "live-chunk" not in out.output
    out = cli.invoke(app, ["history", "--live"])
    assert out.exit_code == 0, out.output
    assert session in out.output and run_id not in out.output
    csv = tmp_path / "by_day.csv"
    out = cli.invoke(app, ["history", "--by", "day", "--csv", str(csv)])
    assert out.exit_code == 0, out.output
    df = pd.read_csv(csv)
    assert list(df.columns) == HISTORY_COLUMNS and set(df["source"]) == {"runs"}
    live_csv = tmp_path / "live_month.csv"
    out = cli.invoke(app, ["history", "--live", "--by", "month", "--csv", str(live_csv)])
    assert out.exit_code == 0, out.output
    assert set(pd.read_csv(live_csv)["source"]) == {"live"}
    listing = tmp_path / "live.csv"
    assert cli.invoke(app, ["history", "--live", "--csv", str(listing)]).exit_code == 0
    assert pd.read_csv(listing)["id"].tolist() == [session]


def test_cli_history_bad_options_exit_2(env: Path, tmp_path: Path) -> None:
    cli = CliRunner()
    out = cli.invoke(app, ["history", "--by", "week", "--csv", str(tmp_path / "x.csv")])
    assert out.exit_code == 2 and "'--by'" in out.output
    assert not (tmp_path / "x.csv").exists()
    out = cli.invoke(app, ["history", "--live", "--imports"])
    assert out.exit_code == 2
