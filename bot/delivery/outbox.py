"""The outbox: ticket documents waiting to be delivered, written in the ticket's transaction.

Contact numbers in payloads (the "phone" of any "contact" object, e.g. a ticket's or a budget
proposal's) are stored encrypted (bot.privacy.encryption): `enqueue` seals them, and only the dispatcher
opens them, right before sending (`open_contacts`). Listings read `payload`, which stays sealed.

An entry moves pending → sending (claimed by one dispatcher) → delivered, or back to pending with
a later next_attempt_at after a failure, or to dead after too many attempts (staff can requeue).
"""

from __future__ import annotations

import enum
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Session

from bot.city.models import SendTarget
from bot.privacy.encryption import data_cipher
from bot.storage.db import Base, UtcDateTime, utc_now

CONTACT, PHONE = "contact", "phone"


class OutboxState(str, enum.Enum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    DEAD = "dead"


class OutboxEntry(Base):
    __tablename__ = "outbox"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    target_kind = Column(String(20), nullable=False)  # "department" or "agency"
    target_id = Column(String(60), nullable=False)
    send_method = Column(String(10), nullable=False)  # "http" or "email"
    destination = Column(Text, nullable=False)  # URL or e-mail address, as routed at enqueue time
    payload_json = Column(Text, nullable=False)  # the JSON ticket document
    idempotency_key = Column(String(200), nullable=False, unique=True)
    state = Column(
        Enum(
            OutboxState, native_enum=False, length=12, values_callable=lambda states: [state.value for state in states]
        ),
        nullable=False,
        default=OutboxState.PENDING,
    )
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(UtcDateTime, nullable=False, default=utc_now)
    claimed_at = Column(UtcDateTime)  # when the current "sending" claim was taken
    claim_token = Column(String(40))  # which dispatcher run holds the claim
    last_error = Column(Text)
    created_at = Column(UtcDateTime, nullable=False, default=utc_now)
    delivered_at = Column(UtcDateTime)

    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),)

    @property
    def payload(self) -> dict[str, Any]:
        """The stored document, contact numbers still encrypted."""
        return json.loads(self.payload_json)


def _map_contacts(value: Any, change) -> Any:
    if isinstance(value, dict):
        mapped = {key: _map_contacts(item, change) for key, item in value.items()}
        contact = mapped.get(CONTACT)
        if isinstance(contact, dict) and isinstance(contact.get(PHONE), str):
            mapped[CONTACT] = {**contact, PHONE: change(contact[PHONE])}
        return mapped
    if isinstance(value, list):
        return [_map_contacts(item, change) for item in value]
    return value


def seal_contacts(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with every contact phone number encrypted (already encrypted ones unchanged)."""
    return _map_contacts(payload, data_cipher().encrypt)


def open_contacts(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with its contact phone numbers in plain text: for the send to the recipient only."""
    return _map_contacts(payload, data_cipher().decrypt)


def payload_json_of(payload: dict[str, Any]) -> str:
    """How a payload is stored: JSON with its contact numbers sealed."""
    return json.dumps(seal_contacts(payload), ensure_ascii=False, sort_keys=True)


def enqueue(
    session: Session,
    *,
    target_kind: str,
    target_id: str,
    send: SendTarget,
    payload: dict[str, Any],
    idempotency_key: str,
    ticket_id: int | None = None,
    now: datetime | None = None,
) -> OutboxEntry:
    """Add an entry to the caller's transaction; it is delivered only once that commits."""
    now = now or utc_now()
    entry = OutboxEntry(
        ticket_id=ticket_id,
        target_kind=target_kind,
        target_id=target_id,
        send_method=send.method,
        destination=send.destination,
        payload_json=payload_json_of(payload),
        idempotency_key=idempotency_key,
        state=OutboxState.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(entry)
    return entry
