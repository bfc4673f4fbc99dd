"""Backup and restore of the run store: one ``.tar.gz`` with a consistent database snapshot and the trace files.

The snapshot uses SQLite's online backup API (https://sqlite.org/backup.html): it is consistent even while other
processes write. Every file in the archive is listed with its SHA-256 in ``manifest.json`` (format
``evfleet.backup/1``) and checked on restore. A restore writes into a temporary file and renames it into place, and
refuses to replace a database that holds runs unless ``force`` is given (the old one is then kept as ``.bak``).
PostgreSQL stores are backed up with the server's own tools (``pg_dump``); this module refuses them clearly.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import tarfile
import tempfile
import zlib
from pathlib import Path
from typing import Any

from evfleet._common.errors import InputFileNotFoundError
from evfleet._common.files import write_bytes_atomic
from evfleet._common.ids import utc_now
from evfleet._common.version import __version__
from evfleet.store.runs import DbLocation, SchemaTooNewError, Store, StoreError, known_revisions, resolve_location

__all__ = ["BACKUP_FORMAT", "backup_store", "restore_store"]

BACKUP_FORMAT = "evfleet.backup/1"
_DB_MEMBER = "evfleet.db"


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


def _read_member(tar: tarfile.TarFile, name: str, archive: Path) -> bytes:
    try:
        fh = tar.extractfile(name)
    except KeyError:
        fh = None
    if fh is None:
        raise StoreError(f"{archive}: not an evfleet backup (member {name!r} missing)")
    return fh.read()


def restore_store(archive: str | os.PathLike[str], db: str | None = None, force: bool = False) -> dict[str, Any]:
    """Restore a backup into the store at ``db`` (default location); return the manifest.

    Every member's checksum is verified before anything is written. An existing database holding runs is only
    replaced with ``force`` (it is kept as ``<db>.bak``).
    """
    archive = Path(archive)
    if not archive.exists():
        raise InputFileNotFoundError(f"{archive}: file not found")
    loc: DbLocation = resolve_location(db)
    if loc.sqlite_path is None:
        raise StoreError(f"evfleet restore writes SQLite stores; restore {loc.display} with pg_restore")
    try:
        blobs, manifest = _read_archive(archive)
    except (tarfile.TarError, OSError, EOFError, zlib.error, json.JSONDecodeError) as exc:
        raise StoreError(f"{archive}: not a readable backup archive ({exc}); nothing was written") from None
    return _install(blobs, manifest, loc, force)


def _read_archive(archive: Path) -> tuple[dict[str, bytes], dict[str, Any]]:
    """Every member of the archive, checked against the manifest's checksums (nothing written yet)."""
    with tarfile.open(archive, "r:gz") as tar:
        manifest = json.loads(_read_member(tar, "manifest.json", archive))
        if manifest.get("format") != BACKUP_FORMAT:
            raise StoreError(f"{archive}: unknown backup format {manifest.get('format')!r} (expected {BACKUP_FORMAT})")
        if manifest.get("schema_revision") not in known_revisions():
            raise SchemaTooNewError(
                f"{archive}: schema revision {manifest.get('schema_revision')!r} comes from a newer evfleet "
                f"({manifest.get('evfleet_version')}); upgrade evfleet to restore it. Nothing was written."
            )
        blobs: dict[str, bytes] = {}
        for m in manifest["members"]:
            data = _read_member(tar, m["name"], archive)
            if _sha(data) != m["sha256"]:
                raise StoreError(f"{archive}: member {m['name']} is damaged (checksum mismatch); nothing was written")
            name = m["name"]
            if name != _DB_MEMBER and (
                not name.startswith("traces/") or "/" in name[7:] or name[7:] in ("", ".", "..")
            ):
                raise StoreError(f"{archive}: unexpected member name {name!r}; nothing was written")
            blobs[name] = data
    return blobs, manifest


def _install(blobs: dict[str, bytes], manifest: dict[str, Any], loc: DbLocation, force: bool) -> dict[str, Any]:
    target = loc.sqlite_path
    assert target is not None
    if target.exists() and target.stat().st_size > 0:
        con = sqlite3.connect(str(target), timeout=60)
        try:
            has_runs = (
                con.execute("SELECT count(*) FROM sqlite_master WHERE name='runs'").fetchone()[0]
                and con.execute("SELECT count(*) FROM runs").fetchone()[0]
            )
        finally:
            con.close()
        if has_runs and not force:
            raise StoreError(
                f"{target} already holds runs; restore into another --db, or give --force to replace it "
                "(the current database is kept as .bak)"
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    loc.trace_dir.mkdir(parents=True, exist_ok=True)

    for name, data in blobs.items():
        if name.startswith("traces/"):
            write_bytes_atomic(loc.trace_dir / name[7:], data)
    if target.exists():
        bak = target.with_name(target.name + ".bak")
        src = sqlite3.connect(str(target), timeout=60)
        dst = sqlite3.connect(str(bak))
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    tmp = target.with_name(f".{target.name}.restore.tmp")
    write_bytes_atomic(tmp, blobs[_DB_MEMBER])
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    os.replace(tmp, target)
    with Store(loc) as st:  # upgrades an older schema; checks the result
        problems = st.verify()
    if problems:
        raise StoreError(f"restored database has problems: {'; '.join(problems[:3])}")
    return manifest
