"""Identifiers and timestamps: run/group ids and UTC times as ISO 8601 text."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

__all__ = ["new_id", "utc_now"]


def utc_now() -> str:
    """The current UTC time as ISO 8601 text with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_id(prefix: str) -> str:
    """A new random id: ``prefix`` followed by 11 hex digits (e.g. ``r3f9a0c1b2d4``)."""
    return prefix + uuid.uuid4().hex[:11]
