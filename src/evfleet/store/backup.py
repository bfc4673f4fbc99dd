"""Backup and restore of the run store: one ``.tar.gz`` with a consistent database snapshot and the trace files.

The snapshot uses SQLite's online backup API (https://sqlite.org/backup.html): it is consistent even while other
processes write. Every file in the archive is listed with its SHA-256 and size in ``manifest.json`` (format
``evfleet.backup/1``). PostgreSQL stores are backed up with the server's own tools (``pg_dump``); this module refuses
them clearly.

A restore trusts nothing in the archive. It streams the members into a staging folder beside the store (each
member's size checked against the budget before it is read, then its size and SHA-256 against the manifest),
checks the database (SQLite integrity, only the tables and indexes evfleet's own migrations create — no triggers,
views or foreign objects —, every trace path a bare file name present in the archive, the store's own consistency
check), and only then installs it: trace files first, the database last in one atomic rename. A store holding
anything (runs, comparisons, sweeps, live sessions, imports) is replaced only with ``force``; the replaced database
is kept as ``<db>.bak-<UTC time>`` and earlier ``.bak`` files are never overwritten. Any failure leaves the store
as it was and removes the staging folder.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evfleet._common.errors import InputFileNotFoundError
from evfleet._common.files import fsync_dir
from evfleet._common.ids import utc_now
from evfleet._common.version import __version__
from evfleet.store.engine import is_plain_trace_name
from evfleet.store.runs import DbLocation, SchemaTooNewError, Store, StoreError, known_revisions, resolve_location

__all__ = ["BACKUP_FORMAT", "ENV_RESTORE_MAX_BYTES", "RESTORE_MAX_BYTES", "backup_store", "restore_store"]

BACKUP_FORMAT = "evfleet.backup/1"
_DB_MEMBER = "evfleet.db"

#: The most a restore reads from an archive [bytes, uncompressed: database + trace files]; the environment variable
#: ``EVFLEET_RESTORE_MAX_BYTES`` (or ``max_bytes``) sets another bound.
RESTORE_MAX_BYTES = 1 << 30
ENV_RESTORE_MAX_BYTES = "EVFLEET_RESTORE_MAX_BYTES"
_MANIFEST_MAX_BYTES = 16 << 20
_CHUNK = 1 << 20


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def backup_store(store: Store, out: str | os.PathLike[str]) -> dict[str, Any]:
    """Write a consistent snapshot of ``store`` (database + referenced trace files) to ``out``; return the manifest."""
    if not store.is_sqlite:
        raise StoreError(
            f"evfleet backup works on SQLite stores; back up the server {store.location.display} with pg_dump "
            "(and copy its trace directory)"
        )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="evfleet-backup-") as tmp:
        snap = Path(tmp) / _DB_MEMBER
        src = sqlite3.connect(str(store.location.sqlite_path), timeout=60)
        dst = sqlite3.connect(str(snap))
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
            revision = dst.execute("SELECT version_num FROM alembic_version").fetchone()[0]
            traces = dst.execute("SELECT run_id, path, sha256 FROM traces ORDER BY run_id").fetchall()
            n_runs = dst.execute("SELECT count(*) FROM runs").fetchone()[0]
        finally:
            dst.close()
            src.close()
        db_bytes = snap.read_bytes()
        members: list[dict[str, Any]] = [{"name": _DB_MEMBER, "sha256": _sha(db_bytes), "size_bytes": len(db_bytes)}]
        tmp_out = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        try:
            with tarfile.open(tmp_out, "w:gz") as tar:
                _add(tar, _DB_MEMBER, db_bytes)
                for run_id, rel, sha in traces:
                    path = store.trace_dir / rel
                    try:
                        data = path.read_bytes()
                    except FileNotFoundError:
                        raise StoreError(
                            f"trace of run {run_id} vanished during the backup ({path}); run it again"
                        ) from None
                    if _sha(data) != sha:
                        raise StoreError(f"trace file {path} is damaged (checksum mismatch); not backing it up")
                    _add(tar, f"traces/{rel}", data)
                    members.append({"name": f"traces/{rel}", "sha256": sha, "size_bytes": len(data)})
                manifest = {
                    "format": BACKUP_FORMAT,
                    "created_at": utc_now(),
                    "evfleet_version": __version__,
                    "schema_revision": revision,
                    "source": store.location.display,
                    "n_runs": n_runs,
                    "members": members,
                }
                _add(tar, "manifest.json", json.dumps(manifest, indent=2).encode("utf-8"))
            with open(tmp_out, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp_out, out)
        except BaseException:
            tmp_out.unlink(missing_ok=True)
            raise
    return manifest


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def _max_bytes(max_bytes: int | None) -> int:
    if max_bytes is None:
        raw = os.environ.get(ENV_RESTORE_MAX_BYTES, "").strip()
        if not raw:
            return RESTORE_MAX_BYTES
        try:
            max_bytes = int(raw)
        except ValueError:
            raise StoreError(f"{ENV_RESTORE_MAX_BYTES} must be a whole number of bytes (value {raw!r})") from None
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        raise StoreError(f"the restore size bound must be a positive number of bytes (value {max_bytes!r})")
    return max_bytes


def restore_store(
    archive: str | os.PathLike[str], db: str | None = None, force: bool = False, max_bytes: int | None = None
) -> dict[str, Any]:
    """Restore a backup into the store at ``db`` (default location); return the manifest.

    Everything is staged and checked before anything of the store is touched (see the module docstring). A store
    holding anything is only replaced with ``force`` (it is kept as ``<db>.bak-<UTC time>``). ``max_bytes`` bounds
    the archive's uncompressed content [bytes] (default :data:`RESTORE_MAX_BYTES` or ``EVFLEET_RESTORE_MAX_BYTES``).
    """
    archive = Path(archive)
    if not archive.exists():
        raise InputFileNotFoundError(f"{archive}: file not found")
    if not archive.is_file():
        raise StoreError(f"{archive}: not a file")
    budget = _max_bytes(max_bytes)
    loc: DbLocation = resolve_location(db)
    if loc.sqlite_path is None:
        raise StoreError(f"evfleet restore writes SQLite stores; restore {loc.display} with pg_restore")
    target = loc.sqlite_path
    _refuse_unless_empty(target, force)  # early, before reading a large archive (checked again at install)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.restore-", dir=target.parent))
    try:
        try:
            manifest = _extract(archive, staging, budget)
        except (tarfile.TarError, EOFError, zlib.error, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise StoreError(f"{archive}: not a readable backup archive ({exc}); nothing was written") from None
        staged_db = staging / _DB_MEMBER
        staged_traces = staging / "traces"
        _check_database(staged_db, staged_traces, archive)
        _refuse_unless_empty(target, force)
        _install(staged_db, staged_traces, loc)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _extract(archive: Path, staging: Path, budget: int) -> dict[str, Any]:
    """Stream every member into ``staging`` (sizes bounded before reading), then check them against the manifest."""
    (staging / "traces").mkdir()
    seen: dict[str, tuple[int, str]] = {}
    manifest: dict[str, Any] | None = None
    total = 0
    with tarfile.open(archive, "r:gz") as tar:
        for info in tar:
            name = info.name
            if not info.isfile():
                raise StoreError(f"{archive}: member {name!r} is not a regular file; nothing was written")
            if name in seen or (name == "manifest.json" and manifest is not None):
                raise StoreError(f"{archive}: member {name!r} appears twice; nothing was written")
            if name == "manifest.json":
                if info.size > _MANIFEST_MAX_BYTES:
                    raise StoreError(f"{archive}: manifest of {info.size:,} bytes is too large; nothing was written")
                fh = tar.extractfile(info)
                assert fh is not None
                manifest = json.loads(fh.read().decode("utf-8"))
                continue
            if name == _DB_MEMBER:
                dest = staging / _DB_MEMBER
            elif name.startswith("traces/") and is_plain_trace_name(name[7:]):
                dest = staging / "traces" / name[7:]
            else:
                raise StoreError(f"{archive}: unexpected member name {name!r}; nothing was written")
            total += info.size
            if total > budget:
                raise StoreError(
                    f"{archive}: the archive holds more than the restore bound of {budget:,} bytes (member {name!r} "
                    f"declares {info.size:,} bytes; set {ENV_RESTORE_MAX_BYTES} to allow more); nothing was written"
                )
            seen[name] = _copy_hashed(tar, info, dest)
    if manifest is None:
        raise StoreError(f"{archive}: not an evfleet backup (member 'manifest.json' missing)")
    _check_manifest(manifest, seen, archive)
    return manifest


def _copy_hashed(tar: tarfile.TarFile, info: tarfile.TarInfo, dest: Path) -> tuple[int, str]:
    fh = tar.extractfile(info)
    assert fh is not None
    digest = hashlib.sha256()
    size = 0
    with open(dest, "wb") as out:
        while chunk := fh.read(_CHUNK):
            size += len(chunk)
            if size > info.size:
                raise StoreError(f"member {info.name!r} is longer than it declares; nothing was written")
            digest.update(chunk)
            out.write(chunk)
    return size, digest.hexdigest()


def _check_manifest(manifest: Any, seen: dict[str, tuple[int, str]], archive: Path) -> None:
    if not isinstance(manifest, dict):
        raise StoreError(f"{archive}: manifest.json is not a JSON object; nothing was written")
    if manifest.get("format") != BACKUP_FORMAT:
        raise StoreError(f"{archive}: unknown backup format {manifest.get('format')!r} (expected {BACKUP_FORMAT})")
    if manifest.get("schema_revision") not in known_revisions():
        raise SchemaTooNewError(
            f"{archive}: schema revision {manifest.get('schema_revision')!r} comes from a newer evfleet "
            f"({manifest.get('evfleet_version')}); upgrade evfleet to restore it. Nothing was written."
        )
    members = manifest.get("members")
    if not isinstance(members, list) or not all(isinstance(m, dict) for m in members):
        raise StoreError(f"{archive}: manifest.json has no valid 'members' list; nothing was written")
    listed = {str(m.get("name")): m for m in members}
    if _DB_MEMBER not in listed:
        raise StoreError(f"{archive}: not an evfleet backup (member {_DB_MEMBER!r} missing)")
    for name in sorted(set(listed) | set(seen)):
        if name not in seen:
            raise StoreError(f"{archive}: member {name} listed in the manifest is missing; nothing was written")
        if name not in listed:
            raise StoreError(f"{archive}: member {name} is not listed in the manifest; nothing was written")
        size, sha = seen[name]
        m = listed[name]
        if m.get("size_bytes") not in (None, size):
            raise StoreError(
                f"{archive}: member {name} holds {size:,} bytes, the manifest declares {m.get('size_bytes')!r}; "
                "nothing was written"
            )
        if sha != m.get("sha256"):
            raise StoreError(f"{archive}: member {name} is damaged (checksum mismatch); nothing was written")


def _allowed_schema_objects() -> dict[str, str]:
    """Name -> type of every table and index evfleet's own migrations create (from a fresh store at head)."""
    with tempfile.TemporaryDirectory(prefix="evfleet-schema-") as tmp:
        ref = Path(tmp) / "ref.db"
        with Store(resolve_location(ref, Path(tmp) / "traces")):
            pass
        con = sqlite3.connect(str(ref))
        try:
            return dict(con.execute("SELECT name, type FROM sqlite_master").fetchall())
        finally:
            con.close()


def _check_database(db: Path, trace_dir: Path, archive: Path) -> None:
    """The staged database is a healthy evfleet store whose every trace path stays inside ``trace_dir``."""
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            integrity = [r[0] for r in con.execute("PRAGMA integrity_check").fetchall()]
            objects = con.execute("SELECT type, name FROM sqlite_master").fetchall()
            paths = [r[0] for r in con.execute("SELECT path FROM traces").fetchall()]
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{archive}: the database in the archive is not a readable evfleet store ({exc})") from None
    if integrity != ["ok"]:
        raise StoreError(f"{archive}: the database in the archive is damaged ({integrity[:3]}); nothing was written")
    allowed = _allowed_schema_objects()
    foreign = sorted(f"{kind} {name!r}" for kind, name in objects if allowed.get(name) != kind)
    if foreign:
        raise StoreError(
            f"{archive}: the database holds schema objects evfleet did not create ({', '.join(foreign[:5])}); "
            "nothing was written"
        )
    for path in paths:
        if not is_plain_trace_name(path) or not (trace_dir / path).is_file():
            raise StoreError(
                f"{archive}: trace path {path!r} in the database is not a file of the archive; nothing was written"
            )
    with Store(DbLocation(f"sqlite:///{db}", trace_dir, db)) as st:  # upgrades an older schema; checks the result
        problems = st.verify()
    if problems:
        raise StoreError(
            f"{archive}: the restored database has problems ({'; '.join(problems[:3])}); nothing was written"
        )
    con = sqlite3.connect(str(db))
    try:
        con.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal to carry over
    finally:
        con.close()


def _has_content(target: Path) -> bool:
    if not target.exists() or target.stat().st_size == 0:
        return False
    try:
        con = sqlite3.connect(f"file:{target}?mode=ro", uri=True, timeout=60)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            return any(
                con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("runs", "groups", "imports", "scenarios")
                if t in tables
            )
        finally:
            con.close()
    except sqlite3.DatabaseError:
        return True  # not readable as a store: never replace it silently


def _refuse_unless_empty(target: Path, force: bool) -> None:
    if not force and _has_content(target):
        raise StoreError(
            f"{target} already holds runs or other data (comparisons, sweeps, live sessions, imports); restore "
            "into another --db, or give --force to replace it (the current database is kept as .bak-<time>)"
        )


def _backup_name(target: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    bak = target.with_name(f"{target.name}.bak-{stamp}")
    n = 1
    while bak.exists():
        bak = target.with_name(f"{target.name}.bak-{stamp}-{n}")
        n += 1
    return bak


def _install(staged_db: Path, staged_traces: Path, loc: DbLocation) -> None:
    target = loc.sqlite_path
    assert target is not None
    loc.trace_dir.mkdir(parents=True, exist_ok=True)
    for path in sorted(staged_traces.iterdir()):  # the staging folder is beside the database: usually one rename
        shutil.move(path, loc.trace_dir / path.name)
    fsync_dir(loc.trace_dir)
    if target.exists():
        bak = _backup_name(target)
        src = sqlite3.connect(str(target), timeout=60)
        dst = sqlite3.connect(str(bak))
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    os.replace(staged_db, target)
    fsync_dir(target.parent)
