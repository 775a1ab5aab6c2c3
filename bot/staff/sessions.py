"""Server-side login sessions.

The browser holds a random token in an HttpOnly, SameSite=Lax cookie; the database holds only its
SHA-256, the account, the session's CSRF token and its times. A session ends on logout, after
`session_idle_minutes` without a request, after `session_max_hours` in any case, and at once when
its account is disabled (checked on every request).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, ForeignKey, Integer, String, delete
from sqlalchemy.orm import sessionmaker

from bot.staff.accounts import Account, StaffUser
from bot.staff.settings import StaffSettings
from bot.storage.db import Base, UtcDateTime, utc_now

COOKIE_NAME = "sotong_staff"
LAST_SEEN_RESOLUTION = timedelta(minutes=1)  # write last_seen_at at most once a minute


class StaffSession(Base):
    __tablename__ = "staff_sessions"

    token_hash = Column(String(64), primary_key=True)
    user_id = Column(Integer, ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(UtcDateTime, nullable=False, default=utc_now)
    last_seen_at = Column(UtcDateTime, nullable=False, default=utc_now)
    expires_at = Column(UtcDateTime, nullable=False)
    ip = Column(String(64))


@dataclass(frozen=True)
class LoginSession:
    account: Account
    csrf_token: str
    token_hash: str

    def csrf_matches(self, submitted: str | None) -> bool:
        return bool(submitted) and hmac.compare_digest(self.csrf_token, submitted)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    session_factory: sessionmaker,
    account: Account,
    settings: StaffSettings,
    ip: str | None = None,
    now: datetime | None = None,
) -> str:
    """A new session for `account`; returns the cookie token (shown once, stored hashed)."""
    now = now or utc_now()
    token = secrets.token_urlsafe(32)
    with session_factory.begin() as session:
        session.execute(delete(StaffSession).where(StaffSession.expires_at < now))
        session.add(
            StaffSession(
                token_hash=_hash(token),
                user_id=account.id,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                last_seen_at=now,
                expires_at=now + timedelta(hours=settings.session_max_hours),
                ip=ip,
            )
        )
    return token


def load_session(
    session_factory: sessionmaker, token: str | None, settings: StaffSettings, now: datetime | None = None
) -> LoginSession | None:
    """The live session of this cookie token, or None (unknown, expired, idle or disabled)."""
    if not token or len(token) > 200:
        return None
    now = now or utc_now()
    token_hash = _hash(token)
    with session_factory() as session:
        row = session.get(StaffSession, token_hash)
        if row is None:
            return None
        user = session.get(StaffUser, row.user_id)
        idle_limit = row.last_seen_at + timedelta(minutes=settings.session_idle_minutes)
        if user is None or not user.active or now >= row.expires_at or now >= idle_limit:
            expired = True
        else:
            expired = False
            login = LoginSession(Account.of(user), row.csrf_token, token_hash)
            touch = now - row.last_seen_at >= LAST_SEEN_RESOLUTION
    if expired:
        end_session(session_factory, token)
        return None
    if touch:
        with session_factory.begin() as session:
            row = session.get(StaffSession, token_hash)
            if row is not None:
                row.last_seen_at = now
    return login


def end_session(session_factory: sessionmaker, token: str | None) -> None:
    if token:
        with session_factory.begin() as session:
            session.execute(delete(StaffSession).where(StaffSession.token_hash == _hash(token)))


def end_sessions_of(session_factory: sessionmaker, user_id: int) -> None:
    with session_factory.begin() as session:
        session.execute(delete(StaffSession).where(StaffSession.user_id == user_id))
