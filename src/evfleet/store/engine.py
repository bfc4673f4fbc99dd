"""Where the run store lives and how it is opened: location rules, SQLite settings, schema migrations.

A path or SQLAlchemy URL from ``--db`` / ``EVFLEET_DB`` / the platformdirs user data directory. SQLite is opened in
WAL mode with ``synchronous=FULL`` and ``BEGIN IMMEDIATE`` write transactions (https://sqlite.org/wal.html,
https://sqlite.org/lang_transaction.html); the schema is upgraded by the Alembic migrations in
``evfleet/store/migrations`` (https://alembic.sqlalchemy.org), and an unknown (newer) revision is refused untouched.
"""

from __future__ import annotations

import ast
import os
import re
import sqlite3
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from evfleet._common.version import __version__
from evfleet.store.rows import SchemaTooNewError, StoreError

__all__ = [
    "ENV_DB",
    "ENV_TRACE_DIR",
    "DbLocation",
    "default_db_path",
    "is_plain_trace_name",
    "known_revisions",
    "resolve_location",
    "trace_file_path",
]

ENV_DB = "EVFLEET_DB"
ENV_TRACE_DIR = "EVFLEET_TRACE_DIR"
_SQLITE_BUSY_TIMEOUT_S = 60.0


# --- location ---------------------------------------------------------------------------------------------------


def is_plain_trace_name(name: object) -> bool:
    """True when ``name`` is a bare file name (no folder, no ``..``, not absolute, no control characters)."""
    return (
        isinstance(name, str)
        and 0 < len(name) <= 255
        and name not in (".", "..")
        and not any(c in name for c in "/\\:")
        and all(c.isprintable() for c in name)
    )


def trace_file_path(trace_dir: Path, name: str) -> Path:
    """The trace file ``name`` inside ``trace_dir``; raise :class:`StoreError` for any path that would leave it.

    Trace paths are read from the database, which a restored backup may have crafted (``../../x``, ``/etc/x``):
    they are accepted only as bare file names that resolve inside the trace directory.
    """
    if not is_plain_trace_name(name):
        raise StoreError(f"trace path {name!r} in the store is not a plain file name; refusing to use it")
    base = Path(trace_dir).resolve()
    path = (base / name).resolve()
    if path.parent != base:
        raise StoreError(f"trace path {name!r} leaves the trace directory {base}; refusing to use it")
    return path


def default_db_path() -> Path:
    """``<user data dir>/evfleet.db`` (platformdirs; e.g. ``~/.local/share/evfleet/evfleet.db`` on Linux)."""
    import platformdirs

    return platformdirs.user_data_path("evfleet", appauthor=False) / "evfleet.db"


@dataclass(frozen=True)
class DbLocation:
    """Where the store lives: a SQLAlchemy ``url``, the trace directory, and the SQLite file (if any)."""

    url: str
    trace_dir: Path
    sqlite_path: Path | None

    @property
    def display(self) -> str:
        """The location as shown to users (password hidden)."""
        if self.sqlite_path is not None:
            return str(self.sqlite_path)
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)


def resolve_location(
    db: str | os.PathLike[str] | None = None, trace_dir: str | os.PathLike[str] | None = None
) -> DbLocation:
    """Resolve ``db`` (a path or SQLAlchemy URL), else ``$EVFLEET_DB``, else the default path."""
    text = str(db) if db not in (None, "") else os.environ.get(ENV_DB, "")
    env_traces = os.environ.get(ENV_TRACE_DIR, "")
    if not text:
        path: Path | None = default_db_path()
        url = f"sqlite:///{path}"
    elif "://" in text:
        try:
            parsed = sa.engine.make_url(text)
        except sa.exc.ArgumentError as exc:
            raise StoreError(f"option '--db': not a database URL (value {text!r}): {exc}") from None
        try:
            parsed.get_dialect()
        except (sa.exc.NoSuchModuleError, ImportError) as exc:
            raise StoreError(
                f"option '--db': unsupported database URL (value {parsed.render_as_string(hide_password=True)!r}): "
                f"{exc}; use a path, sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
            ) from None
        url = text
        if parsed.get_backend_name() == "sqlite":
            if not parsed.database or parsed.database == ":memory:":
                raise StoreError(f"option '--db': an in-memory SQLite database cannot keep runs (value {text!r})")
            path = Path(parsed.database).expanduser().resolve()
            url = parsed.set(database=str(path)).render_as_string(hide_password=False)
        else:
            path = None
    else:
        path = Path(text).expanduser().resolve()
        url = f"sqlite:///{path}"
    if trace_dir not in (None, ""):
        traces = Path(str(trace_dir)).expanduser().resolve()
    elif env_traces:
        traces = Path(env_traces).expanduser().resolve()
    elif path is not None:
        traces = path.parent / f"{path.stem}-traces"
    else:
        parsed = sa.engine.make_url(url)
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{parsed.host or 'local'}_{parsed.port or ''}_{parsed.database or ''}")
        traces = default_db_path().parent / "traces" / slug
    return DbLocation(url=url, trace_dir=traces, sqlite_path=path)


# --- engine and migrations --------------------------------------------------------------------------------------


def _migrations_dir() -> Path:
    return Path(str(resources.files("evfleet").joinpath("store", "migrations")))


def _alembic_config(connection: sa.engine.Connection | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_migrations_dir()))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _revision_of(path: Path) -> tuple[str, str | None]:
    """(revision, down_revision) of one migration file, read from its module-level assignments (no alembic)."""
    values: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
        named = isinstance(target, ast.Name) and target.id in ("revision", "down_revision")
        if named and isinstance(node.value, ast.Constant):
            values[target.id] = node.value.value
    rev, down = values.get("revision"), values.get("down_revision")
    if not isinstance(rev, str) or not (down is None or isinstance(down, str)):
        raise StoreError(f"migration {path.name} has no plain revision/down_revision")
    return rev, down


@cache
def _known_revisions() -> tuple[str, ...]:
    """The migration chain, oldest first, read from the files (importing alembic costs 0.3-0.4 s per open)."""
    parents = dict(_revision_of(f) for f in sorted((_migrations_dir() / "versions").glob("[0-9]*.py")))
    children = {down: rev for rev, down in parents.items()}
    if len(children) != len(parents):
        raise StoreError("the store's migrations do not form one chain")
    chain: list[str] = []
    rev = children.get(None)
    while rev is not None:
        chain.append(rev)
        rev = children.get(rev)
    if len(chain) != len(parents):
        raise StoreError("the store's migrations do not form one chain")
    return tuple(chain)


def known_revisions() -> list[str]:
    """Schema revisions this evfleet knows, oldest first."""
    return list(_known_revisions())


def make_engine(loc: DbLocation, write: bool = True) -> sa.Engine:
    """An engine for ``loc``. On SQLite, ``write`` engines start every transaction with ``BEGIN IMMEDIATE`` (take
    the write lock first: two writers queue instead of failing); read engines use a deferred ``BEGIN``, a WAL
    snapshot that never waits for a writer."""
    if loc.sqlite_path is None:
        return sa.create_engine(loc.url, pool_pre_ping=True)
    loc.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(loc.url, connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_S})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")  # a committed run survives a power cut too
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(_SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.engine.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _current_revision(conn: sa.engine.Connection) -> str | None:
    insp = sa.inspect(conn)
    names = set(insp.get_table_names())
    if "alembic_version" not in names:
        if names & {"runs", "scenarios"}:
            raise StoreError("the database has evfleet-like tables but no schema version; refusing to touch it")
        return None
    rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).fetchall()
    if len(rows) != 1:
        raise StoreError(f"the database's schema version table is damaged ({len(rows)} rows); refusing to touch it")
    return str(rows[0][0])


def _check_known(current: str | None, loc: DbLocation) -> None:
    known = known_revisions()
    if current is not None and current not in known:
        raise SchemaTooNewError(
            f"the database {loc.display} has schema revision {current!r}, which this evfleet {__version__} "
            f"does not know (it knows up to {known[-1]!r}): it was written by a newer evfleet. Upgrade evfleet, "
            "or use another database with --db / EVFLEET_DB. The database was not modified."
        )


def _snapshot_before_upgrade(loc: DbLocation, current: str) -> Path | None:
    """Copy a SQLite database to ``<db>.pre-<head>.bak`` (online backup API) before upgrading it; keep an older copy."""
    if loc.sqlite_path is None:
        return None
    dest = loc.sqlite_path.with_name(f"{loc.sqlite_path.name}.pre-{known_revisions()[-1]}.bak")
    if dest.exists():
        return dest
    tmp = dest.with_name(dest.name + ".tmp")
    src = sqlite3.connect(str(loc.sqlite_path), timeout=_SQLITE_BUSY_TIMEOUT_S)
    dst = sqlite3.connect(str(tmp))
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()
    os.replace(tmp, dest)
    return dest


def migrate(engine: sa.Engine, reader: sa.Engine, loc: DbLocation) -> str:
    """Bring the schema to the newest known revision; refuse newer schemas untouched. Return the revision.

    The revision is first read without a write lock; only an upgrade takes it (and re-reads the revision under it,
    so that concurrent openers upgrade once). An existing SQLite database is copied before it is upgraded.
    """
    head = known_revisions()[-1]
    with reader.connect() as conn:
        current = _current_revision(conn)
    _check_known(current, loc)
    if current == head:
        return head
    if current is not None:
        _snapshot_before_upgrade(loc, current)
    with engine.begin() as conn:
        current = _current_revision(conn)
        _check_known(current, loc)
        if current != head:
            from alembic import command

            command.upgrade(_alembic_config(conn), "head")
    return head
