"""What staff add to a ticket, in tables of their own beside bot.tickets': who it is assigned to,
and the notes written on it (internal notes, and replies sent to the citizen)."""

from __future__ import annotations

import enum

from sqlalchemy import Column, Enum, ForeignKey, Integer, String, Text

from bot.storage.db import Base, UtcDateTime, utc_now


class TicketAssignment(Base):
    """The staff member a ticket is assigned to now (the audit log keeps the earlier ones)."""

    __tablename__ = "staff_ticket_assignments"

    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    user_id = Column(Integer, ForeignKey("staff_users.id"), nullable=False, index=True)
    assigned_by = Column(String(40), nullable=False)
    assigned_at = Column(UtcDateTime, nullable=False, default=utc_now)


class NoteKind(str, enum.Enum):
    INTERNAL = "internal"  # for staff only
    REPLY = "reply"  # sent to the citizen


class TicketNote(Base):
    __tablename__ = "staff_ticket_notes"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = Column(
        Enum(NoteKind, native_enum=False, length=12, values_callable=lambda kinds: [kind.value for kind in kinds]),
        nullable=False,
    )
    author = Column(String(40), nullable=False)  # staff username
    body = Column(Text, nullable=False)
    created_at = Column(UtcDateTime, nullable=False, default=utc_now)
