"""Login throttling: after `login_max_failures` failed logins for one username from one address
within `login_window_minutes`, further attempts are refused (without checking the password) until
the oldest failure leaves the window; a successful login clears that pair's count. One address
failing on many usernames is limited too. Kept in the database, so it holds across processes."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import Boolean, Column, Index, Integer, String, delete, func, select
from sqlalchemy.orm import sessionmaker

from bot.db import Base, UtcDateTime, utc_now
from bot.staff.accounts import normalise_username
from bot.staff.settings import StaffSettings


class LoginAttempt(Base):
    __tablename__ = "staff_login_attempts"

    id = Column(Integer, primary_key=True)
    username = Column(String(80), nullable=False)
    ip = Column(String(64), nullable=False)
    at = Column(UtcDateTime, nullable=False, default=utc_now)
    succeeded = Column(Boolean, nullable=False, default=False)

    __table_args__ = (Index("ix_staff_login_attempts_who", "username", "ip", "at"),
                      Index("ix_staff_login_attempts_ip", "ip", "at"))


def is_throttled(session_factory: sessionmaker, username: str, ip: str, settings: StaffSettings,
                 now: Optional[datetime] = None) -> bool:
    now = now or utc_now()
    since = now - timedelta(minutes=settings.login_window_minutes)
    username = normalise_username(username)[:80]
    with session_factory() as session:
        last_success = session.execute(
            select(func.max(LoginAttempt.at)).where(LoginAttempt.username == username, LoginAttempt.ip == ip,
                                                    LoginAttempt.succeeded.is_(True))).scalar_one()
        pair_since = max(since, last_success) if last_success else since
        pair_failures = session.execute(
            select(func.count()).select_from(LoginAttempt).where(
                LoginAttempt.username == username, LoginAttempt.ip == ip,
                LoginAttempt.succeeded.is_(False), LoginAttempt.at > pair_since)).scalar_one()
        if pair_failures >= settings.login_max_failures:
            return True
        address_failures = session.execute(
            select(func.count()).select_from(LoginAttempt).where(
                LoginAttempt.ip == ip, LoginAttempt.succeeded.is_(False), LoginAttempt.at > since)).scalar_one()
        return address_failures >= settings.login_max_failures_per_ip


def record_attempt(session_factory: sessionmaker, username: str, ip: str, succeeded: bool,
                   settings: StaffSettings, now: Optional[datetime] = None) -> None:
    now = now or utc_now()
    with session_factory.begin() as session:
        # Attempts older than a day are of no use to the throttle (the audit log keeps the logins).
        session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - timedelta(days=1)))
        session.add(LoginAttempt(username=normalise_username(username)[:80], ip=ip, at=now, succeeded=succeeded))
