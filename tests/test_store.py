"""Run store: round trips, content addressing, deletion, ids, checksums, schema versions and migrations."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from evfleet.analysis.bill import run_bill
from evfleet.analysis.kpis import compute_kpis
from evfleet.results.run_files import site_table, vehicle_table, write_run_outputs
from evfleet.store.runs import (
    SchemaTooNewError,
    StoreError,
    default_db_path,
    known_revisions,
    normalise_events,
    open_store,
    resolve_location,
    store_comparison,
    store_run,
)
from store_factories import isolated_env, run_pair, small_scenario


@pytest.fixture
def isolated_store_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolated_env(tmp_path, monkeypatch)


@pytest.fixture(scope="module")
def runs() -> dict:
    return run_pair(small_scenario())


def test_location_defaults_and_overrides(isolated_store_env: Path, tmp_path: Path) -> None:
    loc = resolve_location()
    assert loc.sqlite_path == isolated_store_env.resolve()
    assert loc.trace_dir == isolated_store_env.parent / "evfleet-traces"
    other = resolve_location(tmp_path / "x.db")
    assert other.url == f"sqlite:///{(tmp_path / 'x.db').resolve()}"
    pg = resolve_location("postgresql+psycopg://u:secret@127.0.0.1:5433/fleet")
    assert pg.sqlite_path is None and "secret" not in pg.display
    assert default_db_path().name == "evfleet.db"
    with pytest.raises(StoreError, match="in-memory"):
        resolve_location("sqlite://")
    with pytest.raises(StoreError, match="unsupported database URL"):
        resolve_location("notadb://x/y")


def test_run_round_trip_is_exact(isolated_store_env: Path, runs: dict) -> None:
    result = runs["uncontrolled"]
    kpis = compute_kpis(result)
    with open_store() as st:
        run_id = st.save_run(result, kpis, source="test", label="base")
        assert run_id.startswith("r")
        pd.testing.assert_frame_equal(st.site_steps(run_id), site_table(result))
        pd.testing.assert_frame_equal(st.vehicle_summaries(run_id), vehicle_table(result))
        trace = st.trace(run_id)
        assert np.array_equal(trace["power_kw"], result.power_kw)
        assert np.array_equal(trace["soc"], result.soc)
        assert list(trace["vehicle_id"]) == list(result.scenario.vehicles.id)
        run = st.get_run(run_id[:6])
        assert run["kpis"] == json.loads(json.dumps(kpis))
        assert run["strategy"] == "uncontrolled" and run["status"] == "completed" and run["label"] == "base"
        assert run["options"]["mode"] == "offline"
        assert st.scenario(run["scenario_hash"]).content_hash == result.scenario.content_hash
        assert st.verify() == []


def test_scenario_is_stored_once(isolated_store_env: Path, runs: dict) -> None:
    with open_store() as st:
        for r in runs.values():
            st.save_run(r)
        st.save_run(runs["uncontrolled"])
        assert st.stats["scenarios"] == 1
        assert st.stats["runs"] == 3


def test_export_csv_equals_run_outputs(isolated_store_env: Path, runs: dict, tmp_path: Path) -> None:
    from evfleet._common.ids import utc_now
    from evfleet.store.export import export
    from evfleet.store.runs import run_outputs_from_dir

    result = runs["half-power"]
    started = utc_now()
    write_run_outputs(result, tmp_path / "direct")  # with the grid-quality module: extra columns and events.csv
    written = run_outputs_from_dir(tmp_path / "direct", started)
    run_id = store_run(result, written["kpis"], site=written["site"], events=written["events"])
    with open_store() as st:
        export(st, run_id, "csv", tmp_path / "csv")
        export(st, run_id, "parquet", tmp_path / "pq")
        export(st, run_id, "json", tmp_path / "run.json")
    for name in ("site.csv", "vehicles.csv", "kpis.json", "scenario.json"):
        assert (tmp_path / "csv" / name).read_bytes() == (tmp_path / "direct" / name).read_bytes(), name
    power = pd.read_csv(tmp_path / "csv" / "power_kw.csv")
    assert np.array_equal(power.drop(columns="step").to_numpy().T, result.power_kw)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "pq" / "site.parquet"), written["site"], check_dtype=False)
    doc = json.loads((tmp_path / "run.json").read_text())
    assert doc["format"] == "evfleet.run-export/1"
    assert np.array_equal(np.asarray(doc["trace"]["soc"]), result.soc)
    assert doc["site"]["site_kw"] == result.site_kw.tolist()


def test_extra_site_columns_and_order_round_trip(isolated_store_env: Path, runs: dict, tmp_path: Path) -> None:
    """A run directory as the grid-quality module writes it (extra per-step columns, frequency moved to the end,
    pq_* KPIs, events.csv) is stored exactly: the exported site.csv is byte-identical."""
    from evfleet._common.ids import utc_now
    from evfleet.store.export import export
    from evfleet.store.runs import run_outputs_from_dir

    result = runs["uncontrolled"]
    started = utc_now()
    out = tmp_path / "run"
    write_run_outputs(result, out)
    site = pd.read_csv(out / "site.csv")
    n = len(site)
    site["thd_i_pct"] = np.linspace(0.1, 7.3, n) / 3.0
    site["pq_state"] = np.where(np.arange(n) % 7 == 0, "alert", "normal")
    site["transformer_ageing_rate"] = np.where(np.arange(n) % 5 == 0, np.nan, 0.25)
    site["frequency_hz"] = 50.0 + np.sin(np.arange(n)) / 100.0
    site.to_csv(out / "site.csv", index=False)
    kpis = json.loads((out / "kpis.json").read_text())
    (out / "kpis.json").write_text(json.dumps({**kpis, "pq_compliant": True, "pq_checks_failed": 0}))
    (out / "events.csv").write_text(
        "time,step,indicator,value,limit,state,previous_state\n2026-03-02T00:45:00+00:00,3,thd_v_pct,9.1,8,critical,good\n"
    )
    written = run_outputs_from_dir(out, started)
    run_id = store_run(result, written["kpis"], events=written["events"], site=written["site"])
    with open_store() as st:
        export(st, run_id, "csv", tmp_path / "export")
        assert st.get_run(run_id)["kpis"]["pq_compliant"] is True
        with st.reader.connect() as conn:
            kinds = conn.execute(sa.text("SELECT kind, severity, limit_value FROM grid_events")).fetchall()
        assert [tuple(k) for k in kinds] == [("thd_v_pct", "critical", 8.0)]
    assert (tmp_path / "export" / "site.csv").read_bytes() == (out / "site.csv").read_bytes()
    from evfleet.reports.run import report_html

    with open_store() as st:
        html = report_html(st, run_id)
    assert "pq_compliant" in html and "model estimates" in html and "<td>thd_v_pct</td><td>critical</td>" in html
    with pytest.raises(StoreError, match="one row per step"):
        store_run(result, site=site.iloc[:-1])


def test_delete_run_removes_everything_and_keeps_others(isolated_store_env: Path, runs: dict) -> None:
    with open_store() as st:
        a = st.save_run(runs["uncontrolled"])
        b = st.save_run(runs["half-power"])
        trace_a = st.trace_dir / st.get_run(a)["trace"]["path"]
        assert trace_a.exists()
        st.delete_run(a)
        assert not trace_a.exists()
        with pytest.raises(StoreError, match="no run"):
            st.get_run(a)
        assert st.get_run(b)["kpis"]["net_cost_mad"] == pytest.approx(compute_kpis(runs["half-power"])["net_cost_mad"])
        assert st.stats["scenarios"] == 1
        st.delete_run(b)
        assert st.stats == {"scenarios": 0, "runs": 0, "groups": 0, "imports": 0, "grid_events": 0}
        assert st.verify() == []


def test_ids_prefix_ambiguous_unknown(isolated_store_env: Path, runs: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    import evfleet.store.runs as store_mod

    counter = iter(range(1, 100))
    monkeypatch.setattr(store_mod, "new_id", lambda prefix: f"{prefix}abc{next(counter):08d}")
    with open_store() as st:
        ids = [st.save_run(runs["uncontrolled"]) for _ in range(3)]
        assert ids[0] == "rabc00000001"
        assert st.run_id("rabc00000002") == ids[1]
        assert st.run_id("rabc00000003"[:12]) == ids[2]
        with pytest.raises(StoreError, match="too short"):
            st.resolve_id("r")
        with pytest.raises(StoreError, match="ambiguous"):
            st.resolve_id("rabc")
        with pytest.raises(StoreError, match="no run"):
            st.resolve_id("rzzzzzz")
        with pytest.raises(StoreError, match="unknown id"):
            st.resolve_id("x123456")
        with pytest.raises(StoreError, match="no run"):
            st.resolve_id("rabc%")  # LIKE wildcards are literal


def test_comparison_group_in_one_transaction(isolated_store_env: Path, runs: dict) -> None:
    from evfleet.analysis.compare import Comparison
    from evfleet.simulation.simulate import SimulationOptions

    comp = Comparison(
        scenario=small_scenario(),
        options=SimulationOptions(),
        results=dict(runs),
        kpis={k: compute_kpis(r) for k, r in runs.items()},
    )
    gid, run_ids = store_comparison(comp, meta={"note": "test"})
    assert gid.startswith("c") and set(run_ids) == {"uncontrolled", "half-power"}
    with open_store() as st:
        group = st.get_group(gid)
        assert group["meta"] == {"note": "test"}
        assert {r["label"] for r in group["runs"]} == {"uncontrolled", "half-power"}
        assert all(r["group_id"] == gid for r in group["runs"])
        assert st.list_groups()[0]["n_runs"] == 2
        _, deleted = st.delete_group(gid)
        assert sorted(deleted) == sorted(run_ids.values())
        assert st.stats["runs"] == 0 and st.stats["groups"] == 0


def test_sweep_group(isolated_store_env: Path, runs: dict) -> None:
    from evfleet.store.runs import store_group

    sid, ids = store_group("sweep", "half vs full", runs, meta={"half-power": {"factor": 0.5}})
    assert sid.startswith("s") and set(ids) == set(runs)
    with open_store() as st:
        group = st.get_group(sid[:5])
        assert group["kind"] == "sweep" and group["meta"] == {"half-power": {"factor": 0.5}}
        assert sorted(r["source"] for r in group["runs"]) == ["sweep", "sweep"]
    with pytest.raises(StoreError, match="kind"):
        store_group("party", "x", runs)


def test_failed_group_write_leaves_nothing(isolated_store_env: Path, runs: dict) -> None:
    bad = dict(runs)
    with open_store() as st:
        st.save_run(runs["uncontrolled"])
        before = st.stats
        with pytest.raises(Exception):  # noqa: B017 - any failure must roll back the whole group
            st.save_group(
                "comparison", "bad", bad, {"uncontrolled": {"x": float("nan")}, "half-power": {"y": object()}}
            )
        assert st.stats == before
        assert st.orphan_trace_files() == []
        assert st.verify() == []


def test_events_are_stored_and_returned(isolated_store_env: Path, runs: dict) -> None:
    """Events in the exact ``events.csv`` shape are stored as given; the table columns come from the Event."""
    events = pd.DataFrame(
        {
            "time": ["2026-03-02T00:45:00+00:00", "2026-03-02T10:00:00+00:00"],
            "step": [3, 40],
            "indicator": ["thd_v_pct", "pf"],
            "value": [9.1, 0.82],
            "limit": [8.0, 0.95],
            "state": ["critical", "critical"],
            "previous_state": ["good", "warning"],
        }
    )
    run_id = store_run(runs["uncontrolled"], events=events)
    with open_store() as st:
        got = st.events(run_id)
        pd.testing.assert_frame_equal(got, events)
        assert st.get_run(run_id)["n_events"] == 2
        with st.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT kind, limit_value, unit FROM grid_events ORDER BY seq")).fetchall()
        assert [tuple(r) for r in rows] == [("thd_v_pct", 8.0, "%"), ("pf", 0.95, "-")]
    with pytest.raises(StoreError, match="'x'"):
        normalise_events(pd.DataFrame({"x": [1]}))


def test_damaged_or_missing_trace_is_detected(isolated_store_env: Path, runs: dict) -> None:
    with open_store() as st:
        run_id = st.save_run(runs["uncontrolled"])
        path = st.trace_dir / st.get_run(run_id)["trace"]["path"]
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
        with pytest.raises(StoreError, match="damaged"):
            st.trace(run_id)
        assert any("damaged" in p for p in st.verify())
        path.unlink()
        with pytest.raises(StoreError, match="missing"):
            st.trace(run_id)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_newer_schema_is_refused_and_untouched(isolated_store_env: Path, runs: dict) -> None:
    store_run(runs["uncontrolled"])
    con = sqlite3.connect(isolated_store_env)
    con.execute("UPDATE alembic_version SET version_num = '0099'")
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    before = _sha(isolated_store_env)
    with pytest.raises(SchemaTooNewError, match=r"'0099'.*newer evfleet.*not modified"):
        open_store()
    assert _sha(isolated_store_env) == before


def test_unversioned_database_with_tables_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "foreign.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE runs (id TEXT)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="no schema version"):
        open_store(db)


def test_migration_from_first_schema_keeps_runs(tmp_path: Path, runs: dict) -> None:
    """Build a database at revision 0001 with a run in it, then open it with this evfleet (upgrades to head)."""
    from alembic import command

    from evfleet.store.engine import _alembic_config, make_engine

    assert known_revisions() == ["0001", "0002", "0003", "0004"]
    db = tmp_path / "old.db"
    loc = resolve_location(db)
    engine = make_engine(loc)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0001")
    tables = set(sa.inspect(engine).get_table_names())
    assert "groups" not in tables and {"runs", "site_steps", "traces"} <= tables
    # Write a run exactly as evfleet at schema 0001 did (no group_id column yet).
    result = runs["uncontrolled"]
    new = open_store(tmp_path / "new.db")
    run_id = new.save_run(result)
    src = new.engine.connect()
    with engine.begin() as conn:
        for table in ("scenarios", "runs", "site_steps", "vehicle_summaries", "traces"):
            cols = [c["name"] for c in sa.inspect(conn).get_columns(table)]
            rows = src.execute(sa.text(f"SELECT {', '.join(cols)} FROM {table}")).fetchall()
            conn.execute(
                sa.text(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"),
                [dict(zip(cols, r, strict=True)) for r in rows],
            )
    src.close()
    engine.dispose()
    loc.trace_dir.mkdir(parents=True)
    (loc.trace_dir / f"{run_id}.parquet").write_bytes((new.trace_dir / f"{run_id}.parquet").read_bytes())
    new.close()
    with open_store(db) as st:
        assert st.revision == "0004"
        snapshot = db.with_name("old.db.pre-0004.bak")  # a copy is kept before the upgrade
        con = sqlite3.connect(snapshot)
        assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
        assert con.execute("SELECT id FROM runs").fetchall() == [(run_id,)]
        con.close()
        run = st.get_run(run_id)
        assert run["group_id"] is None
        assert run["bill"] is None  # stored before bills were kept: billed from the stored series
        assert st.bill(run_id) == json.loads(json.dumps(run_bill(result).to_dict()))
        pd.testing.assert_frame_equal(st.site_steps(run_id), site_table(result))
        assert np.array_equal(st.trace(run_id)["power_kw"], result.power_kw)
        assert st.verify() == []
        st.save_run(result)  # and the upgraded database takes new runs
        assert st.stats["runs"] == 2


def test_readers_do_not_wait_for_a_writer(isolated_store_env: Path, runs: dict) -> None:
    run_id = store_run(runs["uncontrolled"])
    con = sqlite3.connect(isolated_store_env, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")  # another process in the middle of writing a run
    con.execute("DELETE FROM site_steps WHERE run_id = ?", (run_id,))
    try:
        with open_store() as st:  # a reader taking the write lock would fail here with "database is locked"
            assert [r["id"] for r in st.list_runs()] == [run_id]
            assert len(st.site_steps(run_id)) == small_scenario().n_steps  # the committed state
    finally:
        con.execute("ROLLBACK")
        con.close()


def test_live_session_rolling_chunks(isolated_store_env: Path, runs: dict) -> None:
    result = runs["uncontrolled"]
    sc = result.scenario
    with open_store() as st:
        session = st.start_live_session(sc, name="dashboard live", options=result.options)
        assert session.startswith("l")
        ids = []
        for t0 in range(0, sc.n_steps, 24):
            t1 = min(t0 + 24, sc.n_steps)
            ids.append(
                st.save_live_chunk(
                    session, sc, t0, result.power_kw[:, t0:t1], result.soc[:, t0 : t1 + 1], result.site_kw[t0:t1]
                )
            )
        history = st.live_history(session)
        pd.testing.assert_frame_equal(history, site_table(result))  # the chunks add up to the whole run
        chunk = st.get_run(ids[1])
        assert chunk["status"] == "live-chunk" and chunk["label"] == "steps 24-47"
        assert chunk["kpis"]["import_cost_mad"] == pytest.approx(
            float((np.maximum(result.site_kw[24:48], 0) * sc.price_import_mad_per_kwh[24:48]).sum() * sc.dt_h)
        )
        assert np.array_equal(st.trace(ids[1])["soc"], result.soc[:, 24:49])
        assert st.verify() == []
        from evfleet.reports.run import report_html

        html = report_html(st, session)
        assert "stored live history" in html and "steps 24-47" in html
        # rolling: keep only the newest two chunks
        st.save_live_chunk(session, sc, 0, result.power_kw[:, :4], result.soc[:, :5], result.site_kw[:4], max_chunks=2)
        assert len(st.get_group(session)["runs"]) == 2
        assert st.orphan_trace_files() == [] and st.verify() == []
        with pytest.raises(StoreError, match="shape"):
            st.save_live_chunk(session, sc, 0, result.power_kw[:3], result.soc, result.site_kw)
        with pytest.raises(StoreError, match="t0"):
            st.save_live_chunk(session, sc, sc.n_steps, result.power_kw[:, :4], result.soc[:, :5], result.site_kw[:4])
        st.delete_group(session)
        assert st.stats["runs"] == 0 and st.stats["scenarios"] == 0
