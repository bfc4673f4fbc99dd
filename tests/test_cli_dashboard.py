"""``evfleet dashboard``: registered, validates its options, builds the server command."""

from __future__ import annotations

import sys

from typer.testing import CliRunner

from evfleet.cli import COMMAND_MODULES, app
from evfleet.cli.dashboard import app_path, dashboard_command
from evfleet.dashboard.launch import server_args

runner = CliRunner()


def test_registered_with_help():
    assert "evfleet.cli.dashboard" in COMMAND_MODULES
    res = runner.invoke(app, ["dashboard", "--help"])
    assert res.exit_code == 0 and "--port" in res.output and "--host" in res.output


def test_bad_port_is_a_clean_error():
    res = runner.invoke(app, ["dashboard", "--port", "70000"])
    assert res.exit_code == 2 and "--port" in res.output and "70000" in res.output


def test_server_settings(monkeypatch):
    assert app_path().name == "app.py" and app_path().exists()
    args = server_args(str(app_path()), 8600, "127.0.0.1")
    opts = dict(zip(args[2::2], args[3::2], strict=True))
    assert opts["--server.address"] == "127.0.0.1" and opts["--server.port"] == "8600"
    assert opts["--server.fileWatcherType"] == "none" and opts["--browser.gatherUsageStats"] == "false"
    assert opts["--server.headless"] == "true"
    assert dashboard_command(8600)[:3] == [sys.executable, "-m", "evfleet.cli"]
    calls = []
    monkeypatch.setattr("evfleet.dashboard.launch.run_server", lambda *a: calls.append(a))
    res = runner.invoke(app, ["dashboard", "--port", "8765"])
    assert res.exit_code == 0 and calls == [(str(app_path()), 8765, "127.0.0.1")]


def test_no_store_turns_off_the_live_history(monkeypatch):
    from evfleet.dashboard import state

    monkeypatch.setattr("evfleet.dashboard.launch.run_server", lambda *a: None)
    monkeypatch.setenv("EVFLEET_LIVE_STORE", "1")  # recorded, so the command's change is undone after the test
    assert state.live_store_enabled()
    res = runner.invoke(app, ["dashboard", "--no-store"])
    assert res.exit_code == 0 and not state.live_store_enabled()


def test_warm_up_fills_the_shared_caches_once(monkeypatch):
    import streamlit as st

    from evfleet.dashboard import state
    from evfleet.simulation.simulate import simulate

    st.cache_resource.clear()
    calls = []

    def counting(*a, **k):
        calls.append(a[1])
        return simulate(*a, **k)

    monkeypatch.setattr(state, "simulate", counting)
    state.warm_default_caches(50)
    first = len(calls)
    assert first >= 1 and "uncontrolled" in calls
    state.warm_default_caches(50)
    assert len(calls) == first  # the second call is served from the cache
    st.cache_resource.clear()


def test_other_machines_need_a_password_and_errors_stay_on_the_server(monkeypatch):
    from evfleet.dashboard.launch import ENV_DASHBOARD_PASSWORD, MAX_UPLOAD_MB, is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1") and is_loopback("127.3.4.5")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.7") and not is_loopback("depot.example")
    monkeypatch.delenv(ENV_DASHBOARD_PASSWORD, raising=False)
    calls = []
    monkeypatch.setattr("evfleet.dashboard.launch.run_server", lambda *a: calls.append(a))
    res = runner.invoke(app, ["dashboard", "--host", "0.0.0.0"])
    assert res.exit_code == 2 and ENV_DASHBOARD_PASSWORD in res.output and not calls
    monkeypatch.setenv(ENV_DASHBOARD_PASSWORD, "s3cret")
    res = runner.invoke(app, ["dashboard", "--host", "0.0.0.0", "--port", "8766"])
    assert res.exit_code == 0 and calls == [(str(app_path()), 8766, "0.0.0.0")]
    opts = dict(zip(*[iter(server_args(str(app_path()), 8600, "127.0.0.1")[2:])] * 2, strict=True))
    assert opts["--client.showErrorDetails"] == "none" and opts["--server.maxUploadSize"] == str(MAX_UPLOAD_MB)


def test_the_password_gate(monkeypatch):
    from streamlit.testing.v1 import AppTest

    from evfleet.dashboard.launch import ENV_DASHBOARD_PASSWORD

    monkeypatch.setenv(ENV_DASHBOARD_PASSWORD, "s3cret")
    at = AppTest.from_file(str(app_path()), default_timeout=120).run()
    assert not at.exception and len(at.text_input) == 1 and not at.metric  # nothing shown before the password
    at.text_input[0].input("wrong").run()
    assert at.error and not at.metric
    at.text_input[0].input("s3cret").run()
    assert not at.exception and at.metric  # the overview's cards


def test_other_machines_may_sign_in_with_evfleet_accounts_instead_of_the_shared_password(monkeypatch, tmp_path):
    import asyncio

    from evfleet.dashboard.launch import ENV_DASHBOARD_PASSWORD
    from evfleet.operate.access import ENV_OPERATE_DB
    from evfleet.operate.accounts import Accounts
    from evfleet.operate.db import OperateDB

    monkeypatch.delenv(ENV_DASHBOARD_PASSWORD, raising=False)
    monkeypatch.setenv(ENV_OPERATE_DB, "")  # recorded, so the CLI's setting is undone after the test
    calls = []
    monkeypatch.setattr("evfleet.dashboard.launch.run_server", lambda *a: calls.append(a))
    empty, full = tmp_path / "empty.db", tmp_path / "full.db"
    OperateDB(empty).close()  # an operate store without users authenticates nobody
    res = runner.invoke(app, ["dashboard", "--host", "0.0.0.0", "--operate-db", str(empty)])
    assert res.exit_code == 2 and "--operate-db" in res.output and not calls
    db = OperateDB(full)
    asyncio.run(Accounts(db).add_user("otto", "operator-password", "operator"))
    db.close()
    res = runner.invoke(app, ["dashboard", "--host", "0.0.0.0", "--port", "8767", "--operate-db", str(full)])
    assert res.exit_code == 0, res.output
    assert calls == [(str(app_path()), 8767, "0.0.0.0")]
