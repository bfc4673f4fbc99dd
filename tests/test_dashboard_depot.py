"""The dashboard with a real depot: sign-in with evfleet accounts (roles respected) and the live depot page, read
from the operate store that a running ``evfleet serve`` (here in a background thread, with the depot simulator on
127.0.0.1) writes."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from evfleet.dashboard import depot_i18n
from evfleet.dashboard import depot_views as DV
from evfleet.dashboard.i18n import t
from evfleet.dashboard.launch import ENV_DASHBOARD_PASSWORD
from evfleet.dashboard.safe_text import french_punctuation
from evfleet.operate import db as T
from evfleet.operate.access import ENV_OPERATE_DB, check_login, read_live_snapshot, request_replan
from evfleet.operate.accounts import Accounts, User
from evfleet.operate.db import OperateDB
from evfleet.operate.depot_sim import SimDepot, SimEV
from operate_helpers import register_sim, server_running

APP = str(Path(__file__).resolve().parents[1] / "src" / "evfleet" / "dashboard" / "app.py")


def _make_store(path: Path) -> None:
    db = OperateDB(path)

    async def users() -> None:
        acc = Accounts(db)
        await acc.add_user("vera", "viewer-password", "viewer")
        await acc.add_user("otto", "operator-password", "operator")

    asyncio.run(users())
    db.close()


def _sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="_login_name").input(name)
    at.text_input(key="_login_password").input(password)
    return at.button[0].click().run()


def test_depot_texts_have_both_languages():
    for key, (en, fr) in depot_i18n.DEPOT_STRINGS.items():
        assert en.strip() and fr.strip(), key
        assert t(key, "fr") == french_punctuation(fr) and t(key, "en") == en  # French typography before ":"


def test_login_with_evfleet_accounts_respects_roles(tmp_path, monkeypatch):
    store = tmp_path / "operate.db"
    _make_store(store)
    assert check_login(store, "otto", "operator-password") == User("otto", "operator")
    assert check_login(store, "otto", "wrong-password") is None and check_login(store, "nobody", "x" * 9) is None
    monkeypatch.setenv(ENV_OPERATE_DB, str(store))
    monkeypatch.setenv(ENV_DASHBOARD_PASSWORD, "shared-secret")  # accounts take precedence over it
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception and not at.metric and len(at.text_input) == 2  # nothing shown before the sign-in
    _sign_in(at, "vera", "wrong-password")
    assert at.error and not at.metric
    _sign_in(at, "vera", "viewer-password")
    assert not at.exception and at.metric  # the overview's cards
    at.switch_page("screens/depot.py").run()
    assert not at.exception
    assert not [b for b in at.button if b.key == "depot_replan"]  # a viewer cannot change anything
    assert any(t("depot_viewer_readonly", "en") in c.value for c in at.caption)
    with pytest.raises(Exception, match="operator"):
        request_replan(store, User("vera", "viewer"))
    # an operator may ask the running server for a re-plan
    at2 = AppTest.from_file(APP, default_timeout=120).run()
    _sign_in(at2, "otto", "operator-password")
    at2.switch_page("screens/depot.py").run()
    assert not at2.exception
    at2.button(key="depot_replan").click().run()
    db = OperateDB(store)
    try:
        rows = db.read(sa.select(T.requests))
    finally:
        db.close()
    assert [(r["action"], r["user"], r["role"]) for r in rows] == [("replan", "otto", "operator")]


def test_shared_password_still_works_without_accounts(tmp_path, monkeypatch):
    store = tmp_path / "empty.db"
    OperateDB(store).close()  # an operate store without users
    monkeypatch.setenv(ENV_OPERATE_DB, str(store))
    monkeypatch.setenv(ENV_DASHBOARD_PASSWORD, "shared-secret")
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert len(at.text_input) == 1 and not at.metric
    at.text_input[0].input("shared-secret").run()
    assert not at.exception and at.metric


class _Depot:
    """``evfleet serve`` and a simulated depot (2.0.1, 2 stations) in a background event loop."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.srv = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        cfg = {
            "site": {"import_limit_kw": 60, "base_load_kw": 5, "base_load_max_kw": 10},
            "control": {"interval_s": 3600, "min_replan_gap_s": 0.05, "live_snapshot_s": 0.2},
            "users": [{"name": "otto", "password": "operator-password", "role": "operator"}],
        }
        try:
            async with server_running(self.tmp_path, cfg) as srv:
                self.srv = srv
                depot = SimDepot(None, 2, f"ws://127.0.0.1:{srv.ports.ocpp}/ocpp", version="2.0.1",
                                 meter_interval_s=0.3, tick_s=0.1, iso15118=False)  # fmt: skip
                await register_sim(srv.registry, depot)
                await srv.registry.add_token({"id_token": "TOK-V0", "status": "Accepted"})
                await depot.start()
                runner = asyncio.create_task(depot.run(300))
                try:
                    await depot.wait_booted(30)
                    st = depot.stations[0]
                    depot.plug(st, st.connectors[0], SimEV("V0", "TOK-V0", 60.0, 0.3, 1.0, 11.0, 10**9, 0.8))
                    while not (st.connectors[0].tx_profile_kw is not None and (st.connectors[0].power_kw or 0) > 0):
                        await asyncio.sleep(0.05)
                    await asyncio.sleep(1.0)
                    self.ready.set()
                    while not self.stop.is_set():
                        await asyncio.sleep(0.05)
                finally:
                    runner.cancel()
                    await asyncio.gather(runner, return_exceptions=True)
                    await depot.stop()
        except BaseException as exc:  # reported by the test
            self.error = exc
            self.ready.set()


def test_the_live_depot_page_shows_the_real_depot(tmp_path, monkeypatch):
    depot = _Depot(tmp_path)
    depot.thread.start()
    try:
        assert depot.ready.wait(120) and depot.error is None, depot.error
        store = tmp_path / "operate.db"
        # the first snapshot written after the vehicle drew power (the live loop writes one every
        # control.live_snapshot_s, through the store's writer queue): one read right away may see an older one
        t_ready, deadline = time.monotonic(), time.monotonic() + 30
        snap = read_live_snapshot(store)
        while (snap is None or snap.age_s >= time.monotonic() - t_ready) and time.monotonic() < deadline:
            time.sleep(0.2)
            snap = read_live_snapshot(store)
        assert snap is not None and snap.age_s < 5
        site = snap.data["site"]
        assert site["stations_online"] == 2 and site["n_connected"] == 1 and site["import_kw"] > 5
        assert snap.data["sessions"][0]["id_token"] == "TOK-V0"
        assert snap.data["setpoints"][0]["setpoint_kw"] is not None
        # the views read the snapshot's figures as they are
        cards = {c.key: c.value for c in DV.depot_cards(snap.data, "en")}
        assert cards["depot_stations_online"] == "2 / 2" and cards["depot_connected"] == "1"
        assert len(DV.stations_table(snap.data, "fr")) == 4 and t("depot_col_station", "fr") in DV.stations_table(
            snap.data, "fr"
        )
        monkeypatch.setenv(ENV_OPERATE_DB, str(store))
        monkeypatch.delenv(ENV_DASHBOARD_PASSWORD, raising=False)
        at = AppTest.from_file(APP, default_timeout=120).run()
        _sign_in(at, "otto", "operator-password")
        at.switch_page("screens/depot.py").run()
        assert not at.exception
        labels = {m.label: m.value for m in at.metric}
        assert labels[t("depot_stations_online", "en")] == "2 / 2"
        assert labels[t("depot_connected", "en")] == "1"
        assert len(at.dataframe) >= 2  # sessions and stations (and alerts when there are some)
        cycles = depot.srv.controller.cycles
        at.button(key="depot_replan").click().run()
        deadline = time.monotonic() + 30
        while depot.srv.controller.cycles <= cycles and time.monotonic() < deadline:
            time.sleep(0.1)
        assert depot.srv.controller.cycles > cycles  # the running server carried out the operator's request
    finally:
        depot.stop.set()
        depot.thread.join(60)
