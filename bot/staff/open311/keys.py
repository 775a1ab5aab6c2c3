"""Open311 API keys: from the `open311_api_keys` table (stored as SHA-256, created with
`python -m bot.staff apikeys add --name CLIENT [--scope …]`) or from SOTONG_OPEN311_API_KEYS
("client-a:KEY,client-b:KEY", for deployments configured by environment; scope `create` only).

Scopes: `create` files service requests (POST requests.json); `read_full` reads requests filed in
the chat in full (description and exact address) instead of the public view. Only an admin with
the CLI hands out `read_full`."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from bot.settings import env_list
from bot.storage.db import Base, UtcDateTime, utc_now

API_KEYS_ENV = "SOTONG_OPEN311_API_KEYS"
MAX_KEY_CHARS = 200
CREATE, READ_FULL = "create", "read_full"
SCOPES = (CREATE, READ_FULL)
DEFAULT_SCOPES = (CREATE,)


class Open311ApiKey(Base):
    __tablename__ = "open311_api_keys"

    id = Column(Integer, primary_key=True)
    name = Column(String(60), nullable=False, unique=True)  # the client, e.g. a partner app
    key_hash = Column(String(64), nullable=False, unique=True)
    scopes = Column(String(200), nullable=False, default=CREATE, server_default=CREATE)  # space-separated
    created_at = Column(UtcDateTime, nullable=False, default=utc_now)
    revoked_at = Column(UtcDateTime)


@dataclass(frozen=True)
class ApiClient:
    name: str
    scopes: frozenset[str] = frozenset(DEFAULT_SCOPES)

    def may(self, scope: str) -> bool:
        return scope in self.scopes


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session_factory: sessionmaker, name: str, scopes: Iterable[str] = DEFAULT_SCOPES) -> str:
    """A new key for client `name` with `scopes`; returned once, stored hashed."""
    name = (name or "").strip()
    if not name or len(name) > 60 or ":" in name:
        raise ValueError("name: 1-60 characters without ':'")
    scopes = sorted(set(scopes))
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown or not scopes:
        raise ValueError(f"scope: one or more of {', '.join(SCOPES)}")
    key = secrets.token_urlsafe(24)
    try:
        with session_factory.begin() as session:
            session.add(Open311ApiKey(name=name, key_hash=_hash(key), scopes=" ".join(scopes), created_at=utc_now()))
    except IntegrityError:
        raise ValueError(f"name: a key named '{name}' exists") from None
    return key


def revoke_key(session_factory: sessionmaker, name: str, now: datetime | None = None) -> bool:
    with session_factory.begin() as session:
        row = session.execute(
            select(Open311ApiKey).where(Open311ApiKey.name == name, Open311ApiKey.revoked_at.is_(None))
        ).scalar_one_or_none()
        if row is None:
            return False
        row.revoked_at = now or utc_now()
        return True


def list_keys(session_factory: sessionmaker) -> list[Open311ApiKey]:
    with session_factory() as session:
        return list(session.execute(select(Open311ApiKey).order_by(Open311ApiKey.name)).scalars())


def client_for_key(
    session_factory: sessionmaker, key: str | None, env: Mapping[str, str] | None = None
) -> ApiClient | None:
    """The client a key belongs to, or None for a missing, unknown or revoked key."""
    if not key or len(key) > MAX_KEY_CHARS:
        return None
    for index, item in enumerate(env_list(API_KEYS_ENV, env=env), 1):
        name, _, secret = item.rpartition(":")
        if secret and hmac.compare_digest(secret.encode(), key.encode()):
            return ApiClient(name or f"env-{index}")
    with session_factory() as session:
        row = session.execute(
            select(Open311ApiKey).where(Open311ApiKey.key_hash == _hash(key), Open311ApiKey.revoked_at.is_(None))
        ).scalar_one_or_none()
        return ApiClient(row.name, frozenset(row.scopes.split())) if row is not None else None
