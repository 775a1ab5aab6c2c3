"""Staff accounts: roles, argon2id password hashes, creating, listing and disabling accounts.

Roles:
- staff       works on the tickets of their own department only;
- supervisor  every department, plus notices to subscribers and participatory-budget results;
- admin       everything a supervisor may, plus accounts and reloading the routing data;
- trainer     the training inbox and its weekly report only (no tickets; bot.staff.web.trainer_routes).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, Column, Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from bot.city.models import CityConfig
from bot.staff.audit import Actor, record
from bot.storage.db import Base, UtcDateTime, utc_now

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,39}$")
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 200

# argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): well under a second on a
# small server, so that logins stay quick while guessing stays expensive. Hashes made with other
# parameters are upgraded at the next successful login.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# Verified against when the username is unknown, so that a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("sotong-dummy-password")


class Role(str, enum.Enum):
    STAFF = "staff"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    TRAINER = "trainer"


ROLE_LABELS_KO = {
    Role.STAFF: "부서 담당자",
    Role.SUPERVISOR: "총괄 관리자",
    Role.ADMIN: "시스템 관리자",
    Role.TRAINER: "챗봇 학습 담당자",
}
# A trainer ranks below staff: every ticket page refuses it. The training pages check may_train.
_RANK = {Role.TRAINER: -1, Role.STAFF: 0, Role.SUPERVISOR: 1, Role.ADMIN: 2}
TRAINING_ROLES = frozenset({Role.TRAINER, Role.ADMIN})


class AccountError(ValueError):
    """An account cannot be created or changed as asked."""


class StaffUser(Base):
    __tablename__ = "staff_users"

    id = Column(Integer, primary_key=True)
    username = Column(String(40), nullable=False, unique=True)
    display_name = Column(String(60), nullable=False)
    role = Column(String(20), nullable=False)
    department_id = Column(String(60))  # required for staff; optional for the others
    password_hash = Column(String(200), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(UtcDateTime, nullable=False, default=utc_now)
    disabled_at = Column(UtcDateTime)


@dataclass(frozen=True)
class Account:
    """A staff member as the console sees them (never the password hash)."""

    id: int
    username: str
    display_name: str
    role: Role
    department_id: str | None
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, user: StaffUser) -> Account:
        return cls(
            user.id, user.username, user.display_name, Role(user.role), user.department_id, user.active, user.created_at
        )

    def has_role(self, role: Role) -> bool:
        """True when this account's role is `role` or above it."""
        return _RANK[self.role] >= _RANK[role]

    @property
    def sees_all_departments(self) -> bool:
        return self.has_role(Role.SUPERVISOR)

    def may_work_on(self, department_id: str) -> bool:
        """Whether tickets of `department_id` are this account's to see and work on."""
        return self.sees_all_departments or department_id == self.department_id

    @property
    def may_train(self) -> bool:
        """Whether the training inbox (citizens' masked messages, NLU labels) is open to this account."""
        return self.role in TRAINING_ROLES

    @property
    def role_label(self) -> str:
        return ROLE_LABELS_KO[self.role]


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()


def add_account(
    session_factory: sessionmaker,
    config: CityConfig,
    actor: Actor,
    *,
    username: str,
    password: str,
    role: str,
    department_id: str | None = None,
    display_name: str | None = None,
) -> Account:
    username = normalise_username(username)
    if not USERNAME_PATTERN.match(username):
        raise AccountError("username: 3-40 lower-case letters, digits, '.', '_' or '-'")
    try:
        role_value = Role(role)
    except ValueError:
        raise AccountError(f"role: one of {', '.join(r.value for r in Role)}") from None
    if role_value is Role.STAFF and not department_id:
        raise AccountError("department: staff accounts belong to a department")
    if department_id and department_id not in config.departments:
        raise AccountError(
            f"department: unknown department '{department_id}' (one of: {', '.join(config.departments)})"
        )
    check_password_policy(password)
    user = StaffUser(
        username=username,
        display_name=(display_name or username).strip()[:60],
        role=role_value.value,
        department_id=department_id or None,
        password_hash=_hasher.hash(password),
        active=True,
        created_at=utc_now(),
    )
    try:
        with session_factory.begin() as session:
            session.add(user)
            session.flush()
            record(
                session,
                actor,
                "account.created",
                username=username,
                role=role_value.value,
                department=department_id or "",
            )
    except IntegrityError:
        raise AccountError(f"username: '{username}' is taken") from None
    return Account.of(user)


def check_password_policy(password: str) -> None:
    if not MIN_PASSWORD_CHARS <= len(password or "") <= MAX_PASSWORD_CHARS:
        raise AccountError(f"password: {MIN_PASSWORD_CHARS}-{MAX_PASSWORD_CHARS} characters")


def set_password(session_factory: sessionmaker, actor: Actor, username: str, password: str) -> bool:
    check_password_policy(password)
    with session_factory.begin() as session:
        user = _by_username(session, username)
        if user is None:
            return False
        user.password_hash = _hasher.hash(password)
        record(session, actor, "account.password_set", username=user.username)
        return True


def set_active(session_factory: sessionmaker, actor: Actor, username: str, active: bool) -> bool:
    """Disable (or enable again) an account; a disabled account's sessions stop at once."""
    with session_factory.begin() as session:
        user = _by_username(session, username)
        if user is None:
            return False
        user.active = active
        user.disabled_at = None if active else utc_now()
        record(session, actor, "account.enabled" if active else "account.disabled", username=user.username)
        return True


def list_accounts(session_factory: sessionmaker) -> list[Account]:
    with session_factory() as session:
        return [Account.of(user) for user in session.execute(select(StaffUser).order_by(StaffUser.username)).scalars()]


def account_by_id(session_factory: sessionmaker, user_id: int) -> Account | None:
    with session_factory() as session:
        user = session.get(StaffUser, user_id)
        return Account.of(user) if user is not None else None


def department_accounts(session_factory: sessionmaker, department_id: str) -> list[Account]:
    """Active accounts a ticket of the department can be assigned to."""
    with session_factory() as session:
        users = session.execute(
            select(StaffUser)
            .where(StaffUser.active.is_(True), StaffUser.department_id == department_id)
            .order_by(StaffUser.display_name)
        ).scalars()
        return [Account.of(user) for user in users]


def authenticate(session_factory: sessionmaker, username: str, password: str) -> Account | None:
    """The active account with this username and password, else None (in about the same time)."""
    with session_factory() as session:
        user = _by_username(session, username)
        stored = user.password_hash if user is not None else _DUMMY_HASH
        try:
            _hasher.verify(stored, password or "")
        except (VerificationError, InvalidHashError):
            return None
        if user is None or not user.active:
            return None
        account = Account.of(user)
    if _hasher.check_needs_rehash(stored):
        with session_factory.begin() as session:
            session.get(StaffUser, account.id).password_hash = _hasher.hash(password)
    return account


def _by_username(session, username: str) -> StaffUser | None:
    return session.execute(
        select(StaffUser).where(StaffUser.username == normalise_username(username))
    ).scalar_one_or_none()
