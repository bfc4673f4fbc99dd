"""Another process's access to a running depot through its operate store: accounts, the live view, requests.

The dashboard runs in its own process beside ``evfleet serve``; it opens the same operate store (SQLite, WAL, so
readers never block the server's writer) and uses:

- :func:`check_login`: an evfleet account's name and password, checked against the same argon2id hashes as
  ``POST /api/v1/login`` (:mod:`evfleet.operate.security`); the user and role, or None;
- :func:`read_live_snapshot`: the live view the server writes every ``control.live_snapshot_s`` (built by
  :mod:`evfleet.operate.views`, the functions behind the REST API), with its age;
- :func:`request_replan`: an operator's (or admin's) request for a control cycle now, carried out by the server
  within ``live_snapshot_s``; a viewer's is refused here (and by the server).

Nothing here writes anything but ``op_requests``; no secret is ever returned.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evfleet._common.errors import InputError
from evfleet._common.ids import utc_now
from evfleet.operate.accounts import User
from evfleet.operate.security import role_allows, verify_password

__all__ = ["ENV_OPERATE_DB", "LiveSnapshot", "check_login", "has_accounts", "read_live_snapshot", "request_replan"]

#: The operate store the dashboard reads (also ``evfleet dashboard --operate-db``).
ENV_OPERATE_DB = "EVFLEET_OPERATE_DB"


@dataclass(frozen=True)
class LiveSnapshot:
    """The depot's live view (``data``: site, stations, sessions, setpoints, alerts, plan, stats) and its age [s]."""

    data: dict[str, Any]
    age_s: float


def _connect(path: str | Path) -> sqlite3.Connection:
    p = Path(path).expanduser()
    if not p.is_file():
        raise InputError(f"operate store {str(p)!r} does not exist (start `evfleet serve --db {p}` first)")
    conn = sqlite3.connect(f"file:{p}?mode=ro", uri=True, timeout=5.0)
    conn.row_factory = sqlite3.Row
    return conn


def has_accounts(path: str | Path) -> bool:
    """Whether the operate store at ``path`` holds at least one user."""
    with contextlib.closing(_connect(path)) as conn:
        try:
            return conn.execute("SELECT COUNT(*) FROM op_users").fetchone()[0] > 0
        except sqlite3.OperationalError:  # a store made before the tables existed
            return False


def check_login(path: str | Path, name: str, password: str) -> User | None:
    """The user ``name`` when ``password`` matches its argon2id hash in the operate store, else None."""
    if not name or not password:
        return None
    with contextlib.closing(_connect(path)) as conn:
        try:
            row = conn.execute("SELECT name, password_hash, role FROM op_users WHERE name = ?", (name,)).fetchone()
        except sqlite3.OperationalError:
            return None
    if row is None or not verify_password(row["password_hash"], password):
        return None
    return User(row["name"], row["role"])


def read_live_snapshot(path: str | Path) -> LiveSnapshot | None:
    """The newest live view the server wrote, or None when it has not written one yet."""
    with contextlib.closing(_connect(path)) as conn:
        try:
            row = conn.execute("SELECT snapshot FROM op_live WHERE id = 1").fetchone()
        except sqlite3.OperationalError:
            return None
    if row is None:
        return None
    data = json.loads(row["snapshot"])
    return LiveSnapshot(data, max(time.time() - float(data.get("at", 0.0)), 0.0))


def request_replan(path: str | Path, user: User) -> None:
    """Ask the running server for a control cycle now (operators and admins; raise :class:`InputError` for a
    viewer)."""
    if not role_allows(user.role, "operator"):
        raise InputError(f"user {user.name!r} has role {user.role!r}: a re-plan needs 'operator' or 'admin'")
    p = Path(path).expanduser()
    if not p.is_file():
        raise InputError(f"operate store {str(p)!r} does not exist")
    with contextlib.closing(sqlite3.connect(p, timeout=5.0)) as conn, conn:
        conn.execute(
            "INSERT INTO op_requests (action, user, role, created_at) VALUES (?, ?, ?, ?)",
            ("replan", user.name, user.role, utc_now()),
        )
