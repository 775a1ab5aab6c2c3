"""Tables of the complaint tickets: tickets, their watchers, their history, number sequences."""

from __future__ import annotations

import enum

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

from bot.storage.db import Base, UtcDateTime, utc_now


class TicketStatus(str, enum.Enum):
    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    REJECTED = "rejected"
    TRANSFERRED = "transferred"  # handed to another body (이송); closed for the city


OPEN_STATUSES = (TicketStatus.RECEIVED, TicketStatus.IN_PROGRESS)

STATUS_LABELS_KO = {
    TicketStatus.RECEIVED: "접수",
    TicketStatus.IN_PROGRESS: "처리 중",
    TicketStatus.RESOLVED: "처리 완료",
    TicketStatus.REJECTED: "반려",
    TicketStatus.TRANSFERRED: "이송",
}


def _status_column(**kwargs) -> Column:
    return Column(
        Enum(
            TicketStatus,
            native_enum=False,
            length=20,
            validate_strings=True,
            values_callable=lambda statuses: [status.value for status in statuses],
        ),
        **kwargs,
    )


class Ticket(Base):
    __tablename__ = "tickets"

    id = Column(Integer, primary_key=True)
    number = Column(String(32), nullable=False, unique=True)  # e.g. GY-2026-000123
    category = Column(String(40), nullable=False)  # complaint category id, or "emergency"
    department_id = Column(String(60), nullable=False)
    location_text = Column(Text, nullable=False, default="")
    place_key = Column(String(200), nullable=False, default="")
    district = Column(String(20))
    description = Column(Text, nullable=False, default="")
    photo_url = Column(Text)
    # Encrypted at rest ("enc1:…", bot.privacy.encryption; the store encrypts, the dispatcher and the
    # console's audited reveal decrypt). None: anonymous.
    contact_phone = Column(String(255))
    consent_given = Column(Boolean, nullable=False, default=False)
    consent_text_version = Column(String(20))
    consent_at = Column(UtcDateTime)
    sender_id = Column(String(128), nullable=False, index=True)  # Kakao user key
    status = _status_column(nullable=False, default=TicketStatus.RECEIVED)
    urgent = Column(Boolean, nullable=False, default=False)
    emergency_type = Column(String(40))
    due_date = Column(Date)
    created_at = Column(UtcDateTime, nullable=False, default=utc_now)
    updated_at = Column(UtcDateTime, nullable=False, default=utc_now, onupdate=utc_now)

    watchers = relationship("TicketWatcher", back_populates="ticket", cascade="all, delete-orphan")
    events = relationship(
        "TicketEvent", back_populates="ticket", cascade="all, delete-orphan", order_by="TicketEvent.id"
    )

    __table_args__ = (Index("ix_tickets_duplicate_lookup", "category", "place_key", "status", "created_at"),)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class TicketWatcher(Base):
    """A citizen who joined an open ticket instead of filing a duplicate; notified with it."""

    __tablename__ = "ticket_watchers"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False)
    sender_id = Column(String(128), nullable=False, index=True)
    created_at = Column(UtcDateTime, nullable=False, default=utc_now)

    ticket = relationship("Ticket", back_populates="watchers")

    __table_args__ = (UniqueConstraint("ticket_id", "sender_id", name="uq_ticket_watcher"),)


class TicketEventKind(str, enum.Enum):
    CREATED = "created"
    WATCHER_JOINED = "watcher_joined"
    STATUS_CHANGED = "status_changed"


class TicketEvent(Base):
    """One line of a ticket's history."""

    __tablename__ = "ticket_events"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = Column(
        Enum(
            TicketEventKind, native_enum=False, length=30, values_callable=lambda kinds: [kind.value for kind in kinds]
        ),
        nullable=False,
    )
    old_status = Column(String(20))
    new_status = Column(String(20))
    actor = Column(String(128), nullable=False)  # sender id, staff id, or "system"
    note = Column(Text)
    created_at = Column(UtcDateTime, nullable=False, default=utc_now)

    ticket = relationship("Ticket", back_populates="events")


class TicketSequence(Base):
    """Last ticket number handed out per prefix and year (GY-2026-000123 → 123)."""

    __tablename__ = "ticket_sequences"

    prefix = Column(String(8), primary_key=True)
    year = Column(Integer, primary_key=True)
    last_value = Column(Integer, nullable=False, default=0)


# --- emergency incidents (bot.tickets.incidents) --------------------------------------------------------


class IncidentReport(Base):
    """One citizen message about an emergency incident (an urgent ticket): the first report, a
    report of the same event by another citizen, or a follow-up detail. Text is stored masked."""

    __tablename__ = "incident_reports"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    sender_id = Column(String(128), nullable=False, index=True)
    kind = Column(String(20), nullable=False)  # "report" or "follow_up"
    text = Column(Text, nullable=False, default="")
    location_text = Column(Text, nullable=False, default="")
    latitude = Column(Float)
    longitude = Column(Float)
    photo_url = Column(Text)
    created_at = Column(UtcDateTime, nullable=False, default=utc_now)


class IncidentKey(Base):
    """The open incident of one emergency type in one 동 (district/dong). Its primary key makes
    concurrent first reports of the same event agree on one incident."""

    __tablename__ = "incident_keys"

    key = Column(String(240), primary_key=True)  # "<emergency type>|<district>/<dong>/"
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False)
    opened_at = Column(UtcDateTime, nullable=False, default=utc_now)


class AlertAcknowledgement(Base):
    """An agency confirmed it received an emergency alert (HTTP callback with the Idempotency-Key)."""

    __tablename__ = "alert_acknowledgements"

    id = Column(Integer, primary_key=True)
    idempotency_key = Column(String(200), nullable=False, unique=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    agency_id = Column(String(60), nullable=False)
    acknowledged_at = Column(UtcDateTime, nullable=False, default=utc_now)


class AlertEscalation(Base):
    """An alert left unacknowledged past the deadline was escalated by e-mail (once)."""

    __tablename__ = "alert_escalations"

    id = Column(Integer, primary_key=True)
    idempotency_key = Column(String(200), nullable=False, unique=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    agency_id = Column(String(60), nullable=False)
    escalated_at = Column(UtcDateTime, nullable=False, default=utc_now)
