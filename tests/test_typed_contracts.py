"""Typed contracts instead of guessed dicts: a run read back from its files, one frequency loader, the KPI record,
grid-quality events as records, compliance rows and statuses as enums."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import evfleet
from evfleet._common.errors import InputError, InputFileNotFoundError
from evfleet.analysis.kpis import Kpis, compute_kpis, kpi_record
from evfleet.cli import app
from evfleet.dashboard import analysis_views as A
from evfleet.dashboard import views as V
from evfleet.gridquality.alerts import (
    EVENT_COLUMNS,
    STATES,
    Event,
    detect_events,
    events_frame,
    events_from_rows,
    find_events,
)
from evfleet.gridquality.assess import assess
from evfleet.gridquality.records import (
    COMPLIANCE_COLUMNS,
    Indicator,
    Status,
    Verdict,
    compliance_rows,
    compliance_table,
)
from evfleet.inputs.generate import generate_scenario
from evfleet.results import pq_files, run_files
from evfleet.results.alert_files import split_events
from evfleet.results.pq_files import event_table, report_events
from evfleet.results.run_files import load_run, write_run_outputs
from evfleet.scenario import save_scenario
from evfleet.simulation.simulate import simulate
from evfleet.store.runs import StoreError, open_store, store_run
from store_factories import isolated_env

runner = CliRunner()

#: The ``kpis.json`` keys of a run before the per-period and strategy keys, in order (docs/cli.md).
KPI_KEYS = [
    "strategy", "mode", "v2g", "n_vehicles", "n_steps", "step_minutes", "energy_charged_kwh",
    "energy_discharged_kwh", "import_energy_kwh", "export_energy_kwh", "import_cost_mad", "export_revenue_mad",
    "degradation_cost_mad", "net_cost_mad", "demand_charge_rate_mad_per_kw", "v2g_value_mad", "peak_import_kw",
    "peak_ev_kw", "peak_base_net_kw", "mean_import_kw", "load_factor", "peak_to_average", "import_limit_kw",
    "site_over_limit_steps", "curtailed_energy_kwh", "curtailed_export_kwh", "setpoints_clipped",
    "unmet_energy_kwh", "vehicles_unmet", "vehicles_served_pct", "mean_soc_departure", "pv_energy_kwh",
    "pv_self_consumption_pct", "runtime_s",
]  # fmt: skip


@pytest.fixture(scope="module")
def short_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A run directory written by `evfleet run` of a depot whose import limit leaves energy unmet."""
    tmp = tmp_path_factory.mktemp("contracts")
    sc = generate_scenario(vehicles=60, seed=3, import_limit_kw=120.0)
    save_scenario(sc, tmp / "sc.json")
    res = runner.invoke(app, ["run", str(tmp / "sc.json"), "--out", str(tmp / "run"), "--quiet", "--no-store"])
    assert res.exit_code == 0, res.output
    return tmp / "sc.json", tmp / "run"


@pytest.fixture(scope="module")
def report(short_run: tuple[Path, Path]):
    return assess(load_run(short_run[1]))


# --- 1. load_run reads vehicles.csv ---------------------------------------------------------------------------


def test_load_run_gives_back_the_unmet_energy_and_kpis(short_run: tuple[Path, Path]) -> None:
    _, run = short_run
    written = json.loads((run / "kpis.json").read_text())
    vehicles = pd.read_csv(run / "vehicles.csv", keep_default_na=False)
    assert written["unmet_energy_kwh"] > 1.0 and written["vehicles_served_pct"] < 100.0  # the case that matters
    result = load_run(run)
    assert np.array_equal(result.unmet_kwh, vehicles["unmet_kwh"].to_numpy(dtype=float))
    assert result.unmet_reason.tolist() == vehicles["unmet_reason"].tolist()
    assert set(result.unmet_reason[result.unmet_kwh > 1e-3]) - {""}  # every unmet session has its reason
    again = compute_kpis(result)
    for key in ("unmet_energy_kwh", "vehicles_unmet", "vehicles_served_pct", "net_cost_mad", "peak_import_kw",
                "site_over_limit_steps", "setpoints_clipped", "strategy", "mode", "v2g"):  # fmt: skip
        assert again[key] == written[key], key
    # not stored per session: unknown, not a wrong 0
    assert written["curtailed_energy_kwh"] > 0 and again["curtailed_energy_kwh"] is None
    out = runner.invoke(app, ["grid-report", str(run), "--format", "json"])
    assert out.exit_code == 0, out.output


def test_load_run_without_curtailment_keeps_zeros(tmp_path: Path) -> None:
    result = simulate(generate_scenario(vehicles=10, seed=1, pv_kwp=0.0))
    kpis = compute_kpis(result)
    assert kpis["curtailed_energy_kwh"] == 0.0
    write_run_outputs(result, tmp_path, kpis, power_quality=False)
    back = load_run(tmp_path)
    assert np.array_equal(back.curtailed_kwh, np.zeros(10)) and compute_kpis(back)["curtailed_energy_kwh"] == 0.0
    assert np.array_equal(back.unmet_kwh, result.unmet_kwh)


def test_load_run_rejects_a_missing_or_malformed_vehicles_csv(tmp_path: Path) -> None:
    result = simulate(generate_scenario(vehicles=10, seed=1, pv_kwp=0.0))
    write_run_outputs(result, tmp_path, power_quality=False)
    path = tmp_path / "vehicles.csv"
    good = pd.read_csv(path, keep_default_na=False)
    cases = [
        (good.drop(columns="unmet_kwh"), "column 'unmet_kwh' is required"),
        (good.drop(columns="unmet_reason"), "column 'unmet_reason' is required"),
        (good.assign(unmet_kwh=["x"] + [0.0] * 9), r"'unmet_kwh\[0\]' must be a number"),
        (good.assign(unmet_kwh=[-1.0] + [0.0] * 9), r"'unmet_kwh\[0\]' must be a number >= 0"),
        (good.iloc[:-1], "one row per session"),
        (good.assign(id=good["id"][::-1].to_numpy()), r"'id\[0\]' must be the session id"),
    ]
    for frame, needle in cases:
        frame.to_csv(path, index=False)
        with pytest.raises(InputError, match=needle) as err:
            load_run(tmp_path)
        assert "vehicles.csv" in str(err.value)
    path.unlink()
    with pytest.raises(InputFileNotFoundError, match=r"vehicles\.csv"):
        load_run(tmp_path)
    res = runner.invoke(app, ["grid-report", str(tmp_path)])
    assert res.exit_code == 2 and "vehicles.csv" in res.output


def test_load_run_has_one_home_next_to_the_writer() -> None:
    assert evfleet.load_run is run_files.load_run
    assert not hasattr(pq_files, "load_run") and not hasattr(pq_files, "load_frequency_csv")


# --- 2. one frequency-CSV loader -------------------------------------------------------------------------------


def _frequency_files(sc_path: Path, tmp: Path) -> tuple[Path, Path, np.ndarray]:
    from evfleet.scenario import load_scenario

    sc = load_scenario(sc_path)
    n = sc.n_steps
    f = 50.0 + 0.06 * np.sin(np.arange(4 * n) / 7.0)
    times = np.repeat(sc.times, 4) + pd.to_timedelta(np.tile([0, 200, 400, 600], n), unit="s")
    sampled = tmp / "f_time.csv"
    pd.DataFrame({"time": [t.isoformat() for t in times], "frequency_hz": f}).to_csv(sampled, index=False)
    per_step = tmp / "f_step.csv"
    means = f.reshape(n, 4).mean(axis=1)
    pd.DataFrame({"frequency_hz": means}).to_csv(per_step, index=False)
    return sampled, per_step, means


def test_run_and_grid_report_read_the_same_frequency_file(short_run: tuple[Path, Path], tmp_path: Path) -> None:
    sc_path, run = short_run
    sampled, per_step, means = _frequency_files(sc_path, tmp_path)
    for name, file in (("sampled", sampled), ("per-step", per_step)):
        out = tmp_path / f"gs-{name}"
        res = runner.invoke(app, ["run", str(sc_path), "--out", str(out), "--strategy", "grid_support",
                                  "--frequency-csv", str(file), "--quiet", "--no-store"])  # fmt: skip
        assert res.exit_code == 0, res.output
        assert np.allclose(pd.read_csv(out / "site.csv")["frequency_hz"], means)
        copy = tmp_path / f"gr-{name}"
        copy.mkdir()
        for f in run.iterdir():
            (copy / f.name).write_bytes(f.read_bytes())
        res = runner.invoke(app, ["grid-report", str(copy), "--frequency-csv", str(file), "--write"])
        assert res.exit_code == 0, res.output  # the sampled file: "must have 96 rows" before
        assert np.allclose(pd.read_csv(copy / "site.csv")["frequency_hz"], means)
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"frequency_hz": [50.0] * 5}).to_csv(bad, index=False)
    for args in (["grid-report", str(run)], ["run", str(sc_path), "--out", str(tmp_path / "x"), "--no-store"]):
        res = runner.invoke(app, [*args, "--frequency-csv", str(bad)])
        assert res.exit_code == 2 and "must have 96 rows" in res.output and "multiple" in res.output


# --- 3. the KPI record -----------------------------------------------------------------------------------------


def test_kpi_record_is_frozen_and_gives_the_kpis_json_keys_in_order(short_run: tuple[Path, Path]) -> None:
    sc_path, run = short_run
    from evfleet.scenario import load_scenario

    result = simulate(load_scenario(sc_path), "price_optimization")
    rec = kpi_record(result)
    assert isinstance(rec, Kpis)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.net_cost_mad = 0.0  # type: ignore[misc]
    kpis = compute_kpis(result)
    assert kpis == rec.to_dict() and type(kpis) is dict
    keys = list(kpis)
    scalar = [
        f.name for f in dataclasses.fields(Kpis) if f.name not in ("import_cost_by_period_mad", "strategy_report")
    ]
    assert scalar == KPI_KEYS and keys[: len(KPI_KEYS)] == KPI_KEYS
    periods = [f"import_cost_{p}_mad" for p in rec.import_cost_by_period_mad]
    strategy = [f"strategy_{k}" for k in rec.strategy_report]
    assert periods and strategy and keys == KPI_KEYS + periods + strategy
    assert all(getattr(rec, k) == kpis[k] for k in KPI_KEYS)
    assert json.loads(json.dumps(kpis)) == kpis
    written = json.loads((run / "kpis.json").read_text())  # `evfleet run`: the same keys first, pq_* after
    assert list(written)[: len(KPI_KEYS)] == KPI_KEYS


# --- 4. events as records ---------------------------------------------------------------------------------------


def test_alert_code_emits_events_written_to_events_csv_unchanged(short_run: tuple[Path, Path], report) -> None:
    events = report_events(report)
    assert events and all(isinstance(e, Event) for e in events)
    assert [f.name for f in dataclasses.fields(Event)] == EVENT_COLUMNS
    pd.testing.assert_frame_equal(events_frame(events), report.events)
    # events.csv keeps the grid-quality columns and adds the operator alerts' (evfleet.results.alert_files)
    grid_rows, _alerts = split_events(pd.read_csv(short_run[1] / "events.csv"))
    from_file = events_from_rows(grid_rows)
    assert from_file == events  # `evfleet run` wrote exactly these records
    pd.testing.assert_frame_equal(event_table(events), grid_rows, check_dtype=False)
    e = events[0]
    assert Event.from_row(e.to_row()) == e and e.unit == {"pf": "-", "frequency_hz": "Hz"}.get(e.indicator, "%")
    idx = pd.date_range("2026-01-01", periods=5, freq="15min", tz="UTC")
    series = {"tdd_pct": np.array([1.0, 6.0, 6.0, 3.0, 1.0])}
    found, _ = find_events(idx, series, {"tdd_pct": (2.5, 4.0, 5.0)})
    assert [(e.step, e.state, e.previous_state) for e in found] == [
        (1, Status.CRITICAL, Status.OPTIMAL), (3, Status.GOOD, Status.CRITICAL), (4, Status.OPTIMAL, Status.GOOD)
    ]  # fmt: skip
    frame, _ = detect_events(idx, series, {"tdd_pct": (2.5, 4.0, 5.0)})
    pd.testing.assert_frame_equal(frame, events_frame(found))


def test_store_takes_events_strictly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, report) -> None:
    isolated_env(tmp_path, monkeypatch)
    result = simulate(generate_scenario(vehicles=10, seed=1, pv_kwp=0.0))
    events = report_events(report)[:3]
    good = event_table(events)
    bad_tables = {
        "'kind'": good.rename(columns={"indicator": "kind"}),  # an alias: not guessed any more
        "'severity'": good.assign(severity="warning"),  # an unknown extra column
        "'previous_state' is required": good.drop(columns="previous_state"),
        "'events[0].state'": good.assign(state="alert"),
        "'events[1].step'": good.assign(step=[1, "x", 2]),
        "'events[0].indicator'": good.assign(indicator="flicker"),
    }
    for needle, table in bad_tables.items():
        with pytest.raises(StoreError, match=re.escape(needle)):
            store_run(result, events=table)
        with pytest.raises(InputError, match=re.escape(needle)):
            store_run(result, events=table.to_dict(orient="records"))
    with pytest.raises(InputError, match="'kind'"):
        store_run(result, events=[{"kind": "flicker", "value": 0.4}])
    with open_store() as st:
        assert st.stats["runs"] == 0  # nothing half-stored
    run_from_records = store_run(result, events=events)
    run_from_rows = store_run(result, events=good)
    with open_store() as st:
        for rid in (run_from_records, run_from_rows):
            pd.testing.assert_frame_equal(st.events(rid), good)
        with st.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT kind, severity, value, limit_value, unit, step FROM grid_events WHERE run_id = :r "
                    "ORDER BY seq"
                ),
                {"r": run_from_records},
            ).fetchall()
    assert [tuple(r) for r in rows] == [(e.indicator, e.state.value, e.value, e.limit, e.unit, e.step) for e in events]


# --- 5. compliance rows and statuses as enums ------------------------------------------------------------------


def test_compliance_rows_are_keyed_by_indicator(report) -> None:
    rows = compliance_rows(report.compliance)
    assert list(rows) == list(Indicator)  # every row of assess() is one indicator, in order
    pd.testing.assert_frame_equal(compliance_table(rows.values()), report.compliance)
    assert all(isinstance(r.status, Verdict) for r in rows.values())
    assert rows[Indicator.FREQUENCY_OUTSIDE_BAND].status is Verdict.INFO
    h = rows[Indicator.HARMONIC_CURRENT_P95].h
    assert isinstance(h, int) and rows[Indicator.HARMONIC_CURRENT_P95].label == f"harmonic current h={h} p95 [% of I_L]"
    assert Indicator.parse("voltage harmonic h=11 p95 [%]") == (Indicator.VOLTAGE_HARMONIC_P95, 11)
    for label in ("TDD", "tdd p95 [%]", "transformer loading", "harmonic current h=x p95 [% of I_L]"):
        with pytest.raises(InputError, match="not a known compliance indicator"):
            Indicator.parse(label)
    with pytest.raises(InputError, match=r"'compliance\[0\]\.status'"):
        compliance_rows(report.compliance.assign(status="ok"))
    with pytest.raises(InputError, match="column 'level'"):
        compliance_rows(report.compliance.assign(level=1))
    assert tuple(COMPLIANCE_COLUMNS) == tuple(report.compliance.columns)
    # the words are today's: printed text and files unchanged
    assert [s.value for s in Status] == ["optimal", "good", "warning", "critical", "na"]
    assert STATES == ("optimal", "good", "warning", "critical") and set(report.per_step["pq_state"]) <= set(STATES)
    assert [v.value for v in Verdict] == ["pass", "fail", "info"]


def test_views_map_status_enums_with_dicts(short_run: tuple[Path, Path], report) -> None:
    assert set(V.STATUS_COLORS) == set(Status) and set(A.LEVEL_BACKGROUNDS) == set(Status)
    assert V.compliance_level("pass") is Status.OPTIMAL and V.compliance_level("fail") is Status.CRITICAL
    assert V.compliance_level("info") is Status.NA and V.compliance_level("warning") is Status.WARNING
    for word in ("ok", "PASS", " fail", "violation", "non-compliant", None):  # guessed before
        with pytest.raises(InputError, match=r"'compliance\.status'"):
            V.compliance_level(word)
    assert V.status_of(None, (1, 2, 3)) is Status.NA and V.status_of(2.5, (1, 2, 3)) is Status.WARNING
    pq = V.pq_indicators(report)
    rows = compliance_rows(report.compliance)
    assert pq["tdd"]["indicator"] == Indicator.TDD_P95.value and pq["tdd"]["value"] == rows[Indicator.TDD_P95].value
    assert pq["transformer_loading"]["value"] == rows[Indicator.TRANSFORMER_LOADING_MAX].value
    assert pq["thd_v"]["indicator"] == Indicator.VOLTAGE_THD_P95.value
    fails = [k for k, ind in (("tdd", Indicator.TDD_P95), ("pf", Indicator.PF_MIN)) if rows[ind].status is Verdict.FAIL]
    assert fails and all(pq[k]["status"] is Status.CRITICAL for k in fails)
    comp = A.compliance_frame(report)
    assert [V.COMPLIANCE_LEVELS[s] for s in report.compliance["status"]] == list(comp["level"])
    kpis = json.loads((short_run[1] / "kpis.json").read_text())
    cards = {c.key: c for c in V.grid_cards(kpis, pq, "en")}
    assert all(isinstance(c.status, Status) for c in cards.values())
    assert cards["tdd"].color == V.STATUS_COLORS[cards["tdd"].status]
    mislabelled = dataclasses.replace(report, compliance=report.compliance.replace({"indicator": {
        "transformer loading max [%]": "transformer loading (max)"}}))  # fmt: skip
    with pytest.raises(InputError, match="not a known compliance indicator"):
        V.pq_indicators(mislabelled)  # was matched by the substring "transformer"
