"""The store on PostgreSQL (a team server): a throwaway Debian ``postgresql`` cluster on 127.0.0.1.

Uses ``$EVFLEET_TEST_PG_URL`` (a server URL with rights to create databases) when set; otherwise starts its own
cluster from the server binaries (``initdb``/``pg_ctl``; ``make postgres`` installs them) and skips, saying so,
when they are absent. Each test gets its own database.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from evfleet.analysis.bill import run_bill
from evfleet.results.run_files import site_table, vehicle_table
from evfleet.store.runs import SchemaTooNewError, open_store
from store_factories import run_pair, small_scenario

pytestmark = pytest.mark.slow


def _pg_bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    for cand in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(cand, "pg_ctl").exists() and Path(cand, "initdb").exists():
            return Path(cand)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str]:
    """A server URL without database name (``postgresql+psycopg://user@host:port``)."""
    url = os.environ.get("EVFLEET_TEST_PG_URL")
    if url:
        yield url.rsplit("/", 1)[0]
        return
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found: run `make postgres` (Debian postgresql)")
    prefix: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="evfleet-pg-"))
    if os.geteuid() == 0:  # the server refuses to run as root: run it as the postgres system user
        import pwd

        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server")
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as the postgres user")
        os.chmod(base, 0o755)
        os.chown(base, pw.pw_uid, pw.pw_gid)
        prefix = [runuser, "-u", "postgres", "--"]
    data, port = base / "data", _free_port()

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(base / "server.log"), "-w", "start")
    except subprocess.CalledProcessError as exc:
        log = (base / "server.log").read_text() if (base / "server.log").exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {exc.stderr.decode()[-1000:]} {log[-1000:]}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = f"evfleet_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(f"{pg_server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    monkeypatch.setenv("EVFLEET_TRACE_DIR", str(tmp_path / "traces"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    try:
        yield f"{pg_server}/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="module")
def runs() -> dict:
    return run_pair(small_scenario())


def test_postgres_round_trip_group_and_delete(pg_url: str, runs: dict) -> None:
    with open_store(pg_url) as st:
        assert st.engine.dialect.name == "postgresql" and st.revision == "0004"
        result = runs["uncontrolled"]
        event = {"time": "2026-03-02T00:45:00+00:00", "step": 3, "indicator": "thd_v_pct", "value": 3.2,
                 "limit": 4.0, "state": "warning", "previous_state": "good"}  # fmt: skip
        run_id = st.save_run(result, events=[event])
        pd.testing.assert_frame_equal(st.site_steps(run_id), site_table(result))
        assert st.get_run(run_id)["bill"] == json.loads(json.dumps(run_bill(result).to_dict()))
        pd.testing.assert_frame_equal(st.vehicle_summaries(run_id), vehicle_table(result))
        assert np.array_equal(st.trace(run_id)["soc"], result.soc)
        gid, _ = st.save_group("comparison", "pg", runs)
        assert st.stats["scenarios"] == 1 and st.stats["runs"] == 3
        assert st.verify() == []
        st.delete_group(gid)
        st.delete_run(run_id)
        assert st.stats["runs"] == 0 and st.stats["scenarios"] == 0


def test_postgres_concurrent_writers(pg_url: str, runs: dict) -> None:
    open_store(pg_url).close()
    errors: list[BaseException] = []
    ids: list[str] = []

    def writer() -> None:
        try:
            with open_store(pg_url) as st:
                ids.extend(st.save_run(runs["half-power"]) for _ in range(3))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    with open_store(pg_url) as st:
        assert {r["id"] for r in st.list_runs(limit=None)} == set(ids) and len(ids) == 6
        assert st.stats["scenarios"] == 1


def test_postgres_newer_schema_refused_and_migration_from_first(pg_url: str, runs: dict) -> None:
    from alembic import command

    from evfleet.store.engine import _alembic_config

    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0001")
    assert "groups" not in sa.inspect(engine).get_table_names()
    with open_store(pg_url) as st:  # upgrades 0001 -> 0002
        assert st.revision == "0004"
        st.save_run(runs["uncontrolled"])
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0777'")
    with pytest.raises(SchemaTooNewError, match="0777"):
        open_store(pg_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM runs").scalar_one() == 1
    engine.dispose()
