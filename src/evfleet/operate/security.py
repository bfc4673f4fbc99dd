"""Passwords, API tokens and roles: argon2id hashes for station and user passwords, sha256 digests for API tokens.

Station passwords are checked at every WebSocket handshake (OCPP security profile 1/2, HTTP Basic auth), so a
successful check is remembered in memory (a keyed digest of id and password, never the password) and a reconnect
does not pay the argon2 cost again. Nothing here logs or returns a secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = [
    "ROLES",
    "PasswordCheck",
    "hash_password",
    "hash_token",
    "new_api_token",
    "parse_basic_auth",
    "role_allows",
    "verify_password",
]

#: Roles, least privileged first: a viewer reads, an operator also acts on stations and the fleet, an admin also
#: manages stations' credentials, accounts and tokens.
ROLES = ("viewer", "operator", "admin")

# OWASP's argon2id minimum (19 MiB, 2 passes): about 20 ms per check on one core.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (PHC string, salted)."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (False for a malformed hash)."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


class PasswordCheck:
    """``check(key, hash, password)`` with a memory of successful checks (keyed digests, per process)."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._ok: dict[str, tuple[str, bytes]] = {}

    def _digest(self, key: str, password: str) -> bytes:
        return hmac.new(self._key, f"{key}\0{password}".encode(), hashlib.sha256).digest()

    def check(self, key: str, password_hash: str, password: str) -> bool:
        """Whether ``password`` is right for ``key`` (whose stored hash is ``password_hash``)."""
        known = self._ok.get(key)
        digest = self._digest(key, password)
        if known is not None and known[0] == password_hash and hmac.compare_digest(known[1], digest):
            return True
        if verify_password(password_hash, password):
            self._ok[key] = (password_hash, digest)
            return True
        return False

    def forget(self, key: str) -> None:
        """Drop the memory of ``key`` (its password changed)."""
        self._ok.pop(key, None)


def parse_basic_auth(header: str | None) -> tuple[str, str] | None:
    """(user, password) of an ``Authorization: Basic ...`` header, or None when absent or malformed."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        text = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    user, sep, password = text.partition(":")
    if not sep:
        return None
    return user, password


def new_api_token() -> str:
    """A new random API token (``evf_`` and 43 URL-safe characters); shown once, stored as its digest."""
    return "evf_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The sha256 hex digest under which an API token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def role_allows(role: str, needed: str) -> bool:
    """Whether ``role`` has at least the rights of ``needed``."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)
