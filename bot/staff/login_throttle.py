"""Login throttling, decided and recorded in one atomic step before any password is checked.

Three counters of failed logins, each within `login_window_minutes` of its first failure:

- one username from one address (`login_max_failures`, 5): reaching it locks that pair;
- one username from any address (`login_max_failures_per_user`, 10): reaching it locks the
  username (someone guessing from many addresses);
- one address, any usernames (`login_max_failures_per_ip`, 30, for password spraying): reaching it
  does not lock the address (a whole office may sit behind one NAT address) but slows it down to
  one attempt per `login_slow_seconds`.

Every attempt first reserves a failure on all three counters with one conditional UPDATE each
(`... WHERE failures < limit`), in a single transaction; only when all three reservations succeed
is the password checked. A success then clears the pair's and the username's counters and gives
the address its reservation back. So parallel attempts cannot all pass the check before any of them
is recorded: at most `limit` passwords are ever verified per counter and window. On PostgreSQL the
UPDATE takes the row lock and re-reads the row it waited for; on SQLite every transaction begins
IMMEDIATE (bot.storage.db), so writers queue. Rows are always taken in the same order (pair, username,
address), so two attempts never wait on each other in a cycle.

An admin lifts a lock with the "잠금 해제" button on the accounts page or
`python -m bot.staff unlock USERNAME`; both are in the audit log.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, Integer, String, and_, case, delete, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from bot.staff.accounts import normalise_username
from bot.staff.audit import Actor, record
from bot.staff.settings import StaffSettings
from bot.storage.db import Base, UtcDateTime, utc_now

logger = logging.getLogger(__name__)

PAIR, USER, ADDRESS = "pair", "user", "addr"
LOCKED, SLOWED = "locked", "slowed"
STALE_AFTER = timedelta(days=1)


class LoginThrottle(Base):
    __tablename__ = "staff_login_throttle"

    key = Column(String(220), primary_key=True)  # "pair:<ip>|<username>", "user:<username>", "addr:<ip>"
    username = Column(String(80), index=True)  # for unlocking (pair and user counters)
    failures = Column(Integer, nullable=False, default=0)
    window_started_at = Column(UtcDateTime, nullable=False)
    next_allowed_at = Column(UtcDateTime)  # an address over its limit: not before this moment


@dataclass(frozen=True)
class LoginPermit:
    """Whether the password may be checked; when not, why and for how long."""

    allowed: bool
    reason: str = ""  # LOCKED or SLOWED when refused
    retry_after_seconds: int = 0


@dataclass(frozen=True)
class _Counter:
    kind: str
    key: str
    username: str | None
    limit: int


class _Refused(Exception):
    def __init__(self, permit: LoginPermit):
        super().__init__(permit.reason)
        self.permit = permit


def _clean(username: str) -> str:
    return normalise_username(username)[:80] or "-"


def _counters(username: str, ip: str, settings: StaffSettings) -> list[_Counter]:
    username = _clean(username)
    return [
        _Counter(PAIR, f"{PAIR}:{ip}|{username}", username, settings.login_max_failures),
        _Counter(USER, f"{USER}:{username}", username, settings.login_max_failures_per_user),
        _Counter(ADDRESS, f"{ADDRESS}:{ip}", None, settings.login_max_failures_per_ip),
    ]


def _insert(session: Session):
    dialect = session.get_bind().dialect.name
    return (postgresql_insert if dialect == "postgresql" else sqlite_insert)(LoginThrottle)


def reserve_attempt(
    session_factory: sessionmaker, username: str, ip: str, settings: StaffSettings, now: datetime | None = None
) -> LoginPermit:
    """Count this attempt as a failure on every counter, atomically, if all of them allow one more;
    otherwise change nothing and say why. Call before checking the password."""
    now = now or utc_now()
    since = now - timedelta(minutes=settings.login_window_minutes)
    try:
        with session_factory() as session, session.begin():
            for counter in _counters(username, ip, settings):
                _take(session, counter, now, since, settings)
    except _Refused as refused:
        return refused.permit
    return LoginPermit(True)


def _take(session: Session, counter: _Counter, now: datetime, since: datetime, settings: StaffSettings) -> None:
    row = LoginThrottle
    session.execute(
        _insert(session)
        .values(key=counter.key, username=counter.username, failures=0, window_started_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    expired = row.window_started_at <= since
    failures_after = case((expired, 1), else_=row.failures + 1)
    allowed = or_(expired, row.failures < counter.limit)
    moment = literal(now, UtcDateTime())
    values = {"failures": failures_after, "window_started_at": case((expired, moment), else_=row.window_started_at)}
    if counter.kind == ADDRESS:
        allowed = or_(allowed, and_(row.next_allowed_at.is_not(None), row.next_allowed_at <= now))
        values["next_allowed_at"] = case(
            (
                failures_after >= counter.limit,
                literal(now + timedelta(seconds=settings.login_slow_seconds), UtcDateTime()),
            ),
            else_=None,
        )
    taken = session.execute(
        update(row).where(row.key == counter.key, allowed).values(**values).execution_options(synchronize_session=False)
    ).rowcount
    if taken == 1:
        return
    current = session.get(LoginThrottle, counter.key)
    window = timedelta(minutes=settings.login_window_minutes)
    if counter.kind == ADDRESS:
        wait, longest, reason = current.next_allowed_at - now, timedelta(seconds=settings.login_slow_seconds), SLOWED
    else:
        wait, longest, reason = current.window_started_at + window - now, window, LOCKED
    # `now` was taken before waiting for the row, so it may be a moment older than the row's times.
    seconds = min(wait, longest).total_seconds()
    raise _Refused(LoginPermit(False, reason, max(1, math.ceil(seconds))))


def settle_attempt(
    session_factory: sessionmaker,
    username: str,
    ip: str,
    succeeded: bool,
    settings: StaffSettings,
    now: datetime | None = None,
) -> None:
    """After the password check: a failure stays counted; a success clears the pair's and the
    username's counters and returns the address's reservation."""
    if not succeeded:
        return
    now = now or utc_now()
    pair, user, address = _counters(username, ip, settings)
    with session_factory.begin() as session:  # rows in the order reserve_attempt takes them
        for counter in (pair, user):
            session.execute(delete(LoginThrottle).where(LoginThrottle.key == counter.key))
        session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key == address.key, LoginThrottle.failures > 0)
            .values(failures=LoginThrottle.failures - 1)
            .execution_options(synchronize_session=False)
        )
    _forget_stale(session_factory, now)


def _forget_stale(session_factory: sessionmaker, now: datetime) -> None:
    """Counters untouched for a day are of no use any more (the audit log keeps the logins).
    Housekeeping only: if it collides with logins in progress, the next success tries again."""
    try:
        with session_factory.begin() as session:
            session.execute(
                delete(LoginThrottle).where(
                    LoginThrottle.window_started_at < now - STALE_AFTER,
                    or_(LoginThrottle.next_allowed_at.is_(None), LoginThrottle.next_allowed_at < now),
                )
            )
    except DBAPIError:
        logger.warning("Stale login counters not removed this time", exc_info=True)


def locked_usernames(session_factory: sessionmaker, settings: StaffSettings, now: datetime | None = None) -> set[str]:
    """Usernames locked now, from some address or from every one."""
    now = now or utc_now()
    since = now - timedelta(minutes=settings.login_window_minutes)
    limits: tuple[tuple[str, int], ...] = (
        (PAIR, settings.login_max_failures),
        (USER, settings.login_max_failures_per_user),
    )
    with session_factory() as session:
        return set(
            session.execute(
                select(LoginThrottle.username).where(
                    LoginThrottle.window_started_at > since,
                    or_(
                        *(
                            and_(LoginThrottle.key.startswith(f"{kind}:"), LoginThrottle.failures >= limit)
                            for kind, limit in limits
                        )
                    ),
                )
            ).scalars()
        )


def unlock(session_factory: sessionmaker, actor: Actor, username: str) -> int:
    """Clear every failure counter of `username` (from all addresses); audited. Returns how many
    counters there were."""
    username = _clean(username)
    with session_factory.begin() as session:
        # Pair counters before the username's, the order reserve_attempt takes them in.
        cleared = session.execute(
            delete(LoginThrottle)
            .where(LoginThrottle.username == username, LoginThrottle.key.startswith(f"{PAIR}:"))
            .execution_options(synchronize_session=False)
        ).rowcount
        cleared += session.execute(
            delete(LoginThrottle)
            .where(LoginThrottle.key == f"{USER}:{username}")
            .execution_options(synchronize_session=False)
        ).rowcount
        record(session, actor, "account.unlocked", username=username, counters=cleared)
    return cleared
