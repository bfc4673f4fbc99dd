"""Accounts of the REST API: users with a role (viewer, operator, admin), argon2id password hashes, API tokens.

Tokens are random (``evf_...``), shown once when created (``POST /api/v1/tokens``, ``POST /api/v1/login``) and
stored only as their sha256 digest, so neither the store nor a log nor an API listing ever holds one.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from evfleet._common.errors import InputError
from evfleet._common.ids import new_id, utc_now
from evfleet.operate import db as T
from evfleet.operate.security import ROLES, PasswordCheck, hash_password, hash_token, new_api_token

__all__ = ["Accounts", "User"]


@dataclass(frozen=True)
class User:
    name: str
    role: str


class Accounts:
    """Users and API tokens in the operate store (cached in memory)."""

    def __init__(self, db: T.OperateDB) -> None:
        self.db = db
        self.users: dict[str, dict[str, Any]] = {r["name"]: r for r in db.read(sa.select(T.users))}
        self.tokens: dict[str, dict[str, Any]] = {r["token_hash"]: r for r in db.read(sa.select(T.api_tokens))}
        self._check = PasswordCheck()

    async def add_user(self, name: str, password: str, role: str) -> User:
        if not isinstance(name, str) or not name or len(name) > 64:
            raise InputError("user: field 'name' must be a non-empty text of at most 64 characters")
        if role not in ROLES:
            raise InputError(f"user {name}: field 'role' must be one of {ROLES} (value {role!r})")
        if not isinstance(password, str) or len(password) < 8:
            raise InputError(f"user {name}: field 'password' must be at least 8 characters")
        pw_hash = await asyncio.get_running_loop().run_in_executor(None, hash_password, password)
        row = {"name": name, "password_hash": pw_hash, "role": role, "created_at": utc_now()}
        await self.db.write_durable(lambda c: c.execute(T.users.insert().prefix_with("OR REPLACE"), [row]))
        self.users[name] = row
        self._check.forget(name)
        return User(name, role)

    async def login(self, name: str, password: str) -> User | None:
        row = self.users.get(name)
        if row is None:
            return None
        ok = await asyncio.get_running_loop().run_in_executor(
            None, self._check.check, name, row["password_hash"], password
        )
        return User(name, row["role"]) if ok else None

    async def new_token(self, user: str, label: str | None = None) -> tuple[str, str]:
        """A new API token of ``user``: (token id, token). Only the digest is kept."""
        if user not in self.users:
            raise InputError(f"unknown user {user!r}")
        token = new_api_token()
        row = {
            "id": new_id("t"),
            "token_hash": hash_token(token),
            "user": user,
            "label": label,
            "created_at": utc_now(),
        }
        await self.db.write_durable(lambda c: c.execute(T.api_tokens.insert(), [row]))
        self.tokens[row["token_hash"]] = row
        return row["id"], token

    async def revoke_token(self, token_id: str) -> bool:
        found = [h for h, r in self.tokens.items() if r["id"] == token_id]
        if not found:
            return False
        await self.db.write_durable(lambda c: c.execute(sa.delete(T.api_tokens).where(T.api_tokens.c.id == token_id)))
        for h in found:
            del self.tokens[h]
        return True

    def user_of_token(self, token: str) -> User | None:
        row = self.tokens.get(hash_token(token))
        if row is None or row["user"] not in self.users:
            return None
        return User(row["user"], self.users[row["user"]]["role"])

    def list_users(self) -> list[dict[str, Any]]:
        return [{"name": r["name"], "role": r["role"], "created_at": r["created_at"]} for r in self.users.values()]

    def list_tokens(self) -> list[dict[str, Any]]:
        return [
            {"id": r["id"], "user": r["user"], "label": r["label"], "created_at": r["created_at"]}
            for r in self.tokens.values()
        ]
