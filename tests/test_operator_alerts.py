"""Operator alerts (evfleet.analysis.alerts) and their place in events.csv, the store and the report."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from evfleet.analysis.alerts import ALERT_COLUMNS, alerts_frame, operator_alerts, subscribed_power_kva
from evfleet.cli import app
from evfleet.gridquality.alerts import EVENT_COLUMNS, events_from_rows
from evfleet.inputs.chargers import charger_layout
from evfleet.inputs.generate import generate_scenario
from evfleet.results.alert_files import EVENTS_CSV_COLUMNS, run_alerts, split_events
from evfleet.results.run_files import write_run_outputs
from evfleet.scenario import scenario_from_dict
from evfleet.simulation.simulate import simulate

runner = CliRunner()


def _scenario(**kw):
    sc = generate_scenario(vehicles=40, seed=5, **kw)
    d = sc.to_dict()
    for i in (0, 1):  # one step of stay from 10 % SOC: cannot be ready
        d["vehicles"]["departure_step"][i] = d["vehicles"]["arrival_step"][i] + 1
        d["vehicles"]["soc_arrival"][i] = 0.1
    return scenario_from_dict(d)


def test_vehicles_not_ready_say_how_much_and_why():
    sc = _scenario()
    res = simulate(sc, "uncontrolled")
    alerts = [a for a in operator_alerts(res) if a.kind == "vehicle_not_ready"]
    short = np.flatnonzero(res.unmet_kwh > 1e-3)
    assert sorted(a.object for a in alerts) == sorted(np.asarray(sc.vehicles.id)[short].tolist())
    a0 = next(a for a in alerts if a.object == "S000000")
    v = sc.vehicles
    assert a0.value == pytest.approx(res.unmet_kwh[0]) and a0.unit == "kWh"
    assert a0.limit == pytest.approx(v.energy_target_kwh[0] - v.energy_arrival_kwh[0])  # what it needed
    assert a0.reason.startswith("stay_too_short") and a0.action
    assert a0.time == sc.times[v.arrival_step[0] + 1]  # at its departure
    assert a0.severity == "critical"  # misses more than half of its need


def test_import_limit_episodes_cover_the_steps_at_the_limit():
    sc = generate_scenario(vehicles=60, seed=3, import_limit_kw=150)
    res = simulate(sc, "uncontrolled")
    at_limit = res.site_kw >= 150 - 0.15
    alerts = [a for a in operator_alerts(res) if a.kind == "import_limit"]
    assert alerts and all(a.limit == 150 and a.object == "site" for a in alerts)
    steps = sum(int(a.reason.split(" for ")[1].split(" ")[0]) for a in alerts)
    assert steps == int(at_limit.sum())
    starts = np.flatnonzero(at_limit & ~np.concatenate([[False], at_limit[:-1]]))
    assert [a.step for a in alerts] == starts.tolist()


def test_subscribed_power_from_the_tariff_object_and_above_it_is_critical():
    sc = generate_scenario(vehicles=60, seed=3)
    res = simulate(sc, "uncontrolled")
    peak = float(res.site_kw.max())
    assert subscribed_power_kva(sc) is None  # a tariff given by id carries no subscribed power
    alerts = [a for a in operator_alerts(res, subscribed_kva=0.5 * peak) if a.kind == "subscribed_limit"]
    assert alerts and max(a.value for a in alerts) == pytest.approx(peak)
    assert any(a.severity == "critical" for a in alerts)
    d = sc.to_dict()
    d["tariff"] = {"id": "onee_mt_trihoraire", "subscribed_power_kva": 0.5 * peak}
    sc2 = scenario_from_dict(d)
    assert subscribed_power_kva(sc2) == pytest.approx(0.5 * peak)
    d["tariff"]["subscribed_power_kva"] = -1
    with pytest.raises(ValueError, match="subscribed_power_kva"):
        subscribed_power_kva(scenario_from_dict(d))


def test_strategy_with_nothing_to_do():
    sc = generate_scenario(vehicles=30, seed=2)
    base = simulate(sc, "uncontrolled")
    same = dataclasses.replace(base, strategy="load_balancing")  # the same charging as uncontrolled
    kinds = [a.kind for a in operator_alerts(same, baseline=base)]
    assert kinds.count("strategy_nothing_to_do") == 1
    other = simulate(sc, "price_optimization")
    assert "strategy_nothing_to_do" not in [a.kind for a in operator_alerts(other, baseline=base)]
    d = sc.to_dict()
    d["series"]["price_import_mad_per_kwh"] = [1.0] * sc.n_steps
    flat = scenario_from_dict(d)
    flat_run = dataclasses.replace(simulate(flat, "uncontrolled"), strategy="price_optimization",
                                   options=dataclasses.replace(base.options, v2g=False))  # fmt: skip
    alerts = [a for a in operator_alerts(flat_run) if a.kind == "strategy_nothing_to_do"]
    assert alerts and "price" in alerts[0].reason


def test_unused_and_overloaded_connectors():
    sc = generate_scenario(vehicles=4, seed=2)
    d = sc.to_dict()
    d["vehicles"]["arrival_step"] = [0, 0, 0, 0]
    d["vehicles"]["departure_step"] = [40, 40, 40, 40]
    d["vehicles"]["soc_arrival"] = [0.2, 0.2, 0.2, 0.2]
    d["vehicles"]["max_charge_kw"] = [11.0, 11.0, 11.0, 11.0]
    d["site"]["chargers"] = [
        {"charger_id": "C1", "type": "ac22"}, {"charger_id": "C2", "type": "ac22"},
        {"charger_id": "C3", "type": "ac22"}, {"charger_id": "C4", "type": "ac22", "rating_kw": 5.0},
        {"charger_id": "C5", "type": "ac22"},
    ]  # fmt: skip
    d["vehicles"]["charger_id"] = ["C1", "C2", "C3", "C4"]
    sc = scenario_from_dict(d)
    res = simulate(sc, "uncontrolled")
    alerts = operator_alerts(res, charger_layout(sc))
    assert [a.object for a in alerts if a.kind == "charger_unused"] == ["C5/1"]
    over = [a for a in alerts if a.kind == "charger_overloaded"]
    assert [a.object for a in over] == ["C4/1"] and over[0].limit == 5.0 and over[0].value == pytest.approx(11.0)


def test_events_csv_holds_both_categories_and_the_store_keeps_them(tmp_path, monkeypatch):
    sc = _scenario(import_limit_kw=150)
    res = simulate(sc, "price_optimization")
    write_run_outputs(res, tmp_path / "run")
    ev = pd.read_csv(tmp_path / "run" / "events.csv")
    assert list(ev.columns) == EVENTS_CSV_COLUMNS and list(ev.columns)[:7] == EVENT_COLUMNS
    assert set(ev["category"]) == {"grid_quality", "operator"}
    grid, alerts = split_events(ev)
    events_from_rows(grid)  # the grid-quality rows are exactly the old format
    assert [a.to_row() for a in alerts] == [a.to_row() for a in run_alerts(res)]
    assert ev["step"].is_monotonic_increasing
    # grid-report --write rewrites the grid rows and keeps the operator alerts
    assert runner.invoke(app, ["grid-report", str(tmp_path / "run"), "--write"]).exit_code == 0
    _, kept = split_events(pd.read_csv(tmp_path / "run" / "events.csv"))
    assert [a.to_row() for a in kept] == [a.to_row() for a in alerts]
    # the store keeps them, `evfleet report` shows them
    monkeypatch.setenv("EVFLEET_DB", str(tmp_path / "s.db"))
    from evfleet.scenario import save_scenario

    save_scenario(sc, tmp_path / "sc.json")
    out = runner.invoke(app, ["run", str(tmp_path / "sc.json"), "--out", str(tmp_path / "r2"), "--quiet"])
    assert out.exit_code == 0, out.output
    run_id = out.output.split("stored run ")[1].split()[0]
    from evfleet.store.runs import open_store

    with open_store() as st:
        stored = st.events(run_id)
    assert (stored["category"] == "operator").sum() == (pd.read_csv(tmp_path / "r2" / "events.csv")["category"]
                                                         == "operator").sum()  # fmt: skip
    html = tmp_path / "rep.html"
    rep = runner.invoke(app, ["report", run_id, "--out", str(html)])
    assert rep.exit_code == 0, rep.output
    text = html.read_text(encoding="utf-8")
    assert "Alerts to act on" in text and "vehicle_not_ready" in text


def test_alerts_frame_columns_and_empty():
    assert list(alerts_frame([]).columns) == ALERT_COLUMNS
    res = simulate(_scenario(), "uncontrolled")
    df = alerts_frame(operator_alerts(res))
    assert list(df.columns) == ALERT_COLUMNS and len(df) >= 2
    json.dumps(df.assign(time=df["time"].astype(str)).to_dict(orient="records"))


@given(st.lists(st.booleans(), max_size=60))
def test_episodes_cover_exactly_the_true_steps(mask):
    from evfleet.analysis.alerts import episodes

    m = np.array(mask, dtype=bool)
    starts, ends = episodes(m)
    covered = np.zeros(len(m), dtype=bool)
    for a, b in zip(starts, ends, strict=True):
        assert a < b and not covered[a:b].any()
        covered[a:b] = True
        assert (a == 0 or not m[a - 1]) and (b == len(m) or not m[b])  # maximal runs
    assert np.array_equal(covered, m)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=12), st.integers(1, 5))
def test_connector_power_sums_its_sessions(conn, n_conn):
    from evfleet.analysis.alerts import connector_power_kw

    conn = np.minimum(np.array(conn), n_conn - 1)
    p = np.random.default_rng(len(conn)).normal(size=(len(conn), 7))
    out = connector_power_kw(p, conn, n_conn)
    np.testing.assert_allclose(out.sum(axis=0), p.sum(axis=0))
    for c in range(n_conn):
        np.testing.assert_allclose(out[c], p[conn == c].sum(axis=0))
