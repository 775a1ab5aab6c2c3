"""The append-only audit log: who did what, when, to which ticket.

Every change staff make (and every look at a citizen's full phone number) adds one row. There is
no code path that changes or deletes a row: the ORM refuses it (see `_refuse_change`) and the
database refuses it too, with triggers created alongside the table on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import DDL, Column, Index, Integer, String, Text, event, select
from sqlalchemy.orm import Session, sessionmaker

from bot.privacy.masking import mask_personal_data
from bot.storage.db import Base, UtcDateTime, utc_now


class AuditLogIsAppendOnly(RuntimeError):
    pass


class AuditEntry(Base):
    __tablename__ = "staff_audit_log"

    id = Column(Integer, primary_key=True)
    at = Column(UtcDateTime, nullable=False, default=utc_now)
    actor = Column(String(128), nullable=False)  # staff username, "cli:<name>", "open311:<key name>"
    actor_role = Column(String(20))
    action = Column(String(60), nullable=False)  # e.g. ticket.status, ticket.contact_revealed
    ticket_id = Column(Integer)  # no foreign key: the log outlives what it describes
    ticket_number = Column(String(32))
    department_id = Column(String(60))
    detail_json = Column(Text, nullable=False, default="{}")
    ip = Column(String(64))

    __table_args__ = (
        Index("ix_staff_audit_ticket", "ticket_id", "id"),
        Index("ix_staff_audit_at", "at"),
    )

    @property
    def detail(self) -> dict[str, Any]:
        return json.loads(self.detail_json or "{}")


# The database refuses changes too. `create_schema` adds these triggers with the table; a schema
# migration that creates the table must run `append_only_trigger_statements(dialect)` as well.
APPEND_ONLY_TRIGGERS = {
    "sqlite": [
        f"CREATE TRIGGER staff_audit_log_no_{verb.lower()} BEFORE {verb} ON staff_audit_log "
        "BEGIN SELECT RAISE(ABORT, 'staff_audit_log is append-only'); END"
        for verb in ("UPDATE", "DELETE")
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION staff_audit_log_refuse() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'staff_audit_log is append-only'; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER staff_audit_log_append_only BEFORE UPDATE OR DELETE ON staff_audit_log "
        "FOR EACH ROW EXECUTE FUNCTION staff_audit_log_refuse()",
        "CREATE TRIGGER staff_audit_log_no_truncate BEFORE TRUNCATE ON staff_audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION staff_audit_log_refuse()",
    ],
}


def append_only_trigger_statements(dialect_name: str) -> list[str]:
    """The SQL that makes staff_audit_log append-only on this database (after it is created)."""
    return list(APPEND_ONLY_TRIGGERS.get(dialect_name, ()))


for _dialect, _statements in APPEND_ONLY_TRIGGERS.items():
    for _statement in _statements:
        event.listen(AuditEntry.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect))


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_change(_mapper, _connection, _target):
    raise AuditLogIsAppendOnly("staff_audit_log is append-only")


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff member in the console, a CLI user or an Open311 client."""

    name: str
    role: str | None = None
    ip: str | None = None


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    ticket_id: int | None = None,
    ticket_number: str | None = None,
    department_id: str | None = None,
    now: datetime | None = None,
    **detail: Any,
) -> AuditEntry:
    """Add one line to the caller's transaction (it is written only if that commits). Text in
    `detail` is masked for phone and registration numbers: the log never holds them in full."""
    entry = AuditEntry(
        at=now or utc_now(),
        actor=actor.name,
        actor_role=actor.role,
        action=action,
        ticket_id=ticket_id,
        ticket_number=ticket_number,
        department_id=department_id,
        detail_json=json.dumps(
            {key: _masked(value) for key, value in detail.items()}, ensure_ascii=False, sort_keys=True, default=str
        ),
        ip=actor.ip,
    )
    session.add(entry)
    return entry


def record_now(session_factory: sessionmaker, actor: Actor, action: str, **kwargs: Any) -> None:
    """`record` in a transaction of its own (login attempts, exports, views)."""
    with session_factory.begin() as session:
        record(session, actor, action, **kwargs)


def entries_for_ticket(session: Session, ticket_id: int) -> list[AuditEntry]:
    return list(
        session.execute(select(AuditEntry).where(AuditEntry.ticket_id == ticket_id).order_by(AuditEntry.id)).scalars()
    )


def recent_entries(session_factory: sessionmaker, limit: int = 200, actor: str | None = None) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    with session_factory() as session:
        return list(session.execute(query).scalars())


def _masked(value: Any) -> Any:
    return mask_personal_data(value) if isinstance(value, str) else value
