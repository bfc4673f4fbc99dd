"""Atomic, durable file writes: a temporary file in the same folder, fsync'ed, renamed into place, folder fsync'ed.

A reader never sees a half-written file, and a file reported written survives a power cut (POSIX rename semantics;
on Windows the rename is atomic but the folder cannot be fsync'ed).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from evfleet._common.text import csv_safe_frame

__all__ = [
    "fsync_dir",
    "write_atomic",
    "write_bytes_atomic",
    "write_csv_atomic",
    "write_files_atomic",
    "write_json_atomic",
    "write_parquet_atomic",
    "write_text_atomic",
]


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """fsync a folder so a rename inside it is durable (a no-op where the OS does not allow it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` to fill a temporary file, fsync it and rename it to ``path``; return ``path``.

    On any failure the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and durably."""
    return write_atomic(path, lambda tmp: tmp.write_bytes(data))


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically and durably."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> Path:
    """Write strict JSON (indented, no NaN/Infinity, trailing newline) to ``path`` atomically and durably."""
    return write_text_atomic(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def write_csv_atomic(df: pd.DataFrame, path: str | os.PathLike[str], **to_csv: Any) -> Path:
    """Write ``df`` as CSV (``index=False`` unless given) to ``path`` atomically and durably.

    Text cells that a spreadsheet would read as a formula (``= + - @``, tab, CR first) are prefixed with ``'``.
    """
    to_csv.setdefault("index", False)
    safe = csv_safe_frame(df)
    return write_atomic(path, lambda tmp: safe.to_csv(tmp, **to_csv))


def write_parquet_atomic(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``df`` as Parquet (no index) to ``path`` atomically and durably."""
    return write_atomic(path, lambda tmp: df.to_parquet(tmp, index=False))


def write_files_atomic(out_dir: str | os.PathLike[str], files: Mapping[str, bytes]) -> dict[str, Path]:
    """Write several files into ``out_dir`` all or nothing: staged (fsync'ed) in a hidden folder inside it, then
    renamed into place; on any failure before the renames nothing in ``out_dir`` changes. Other files of the folder
    are never touched. Return name -> path."""
    out = Path(out_dir)
    for name in files:
        if not name or Path(name).name != name:
            raise ValueError(f"not a plain file name: {name!r}")
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".evfleet-staging-", dir=out))
    try:
        for name, data in files.items():
            with open(stage / name, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        for name in files:
            os.replace(stage / name, out / name)
        fsync_dir(out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return {name: out / name for name in files}
