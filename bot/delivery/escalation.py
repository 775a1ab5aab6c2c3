"""Escalation of emergency alerts that no agency acknowledged in time (issue 16).

An agency acknowledges an alert with its Idempotency-Key (bot.tickets.incidents, HTTP route in
bot/staff/web/dashboard_routes.py). An agency alert (ticket.created) still unacknowledged
`alert_ack_minutes` after it was queued is escalated once through a second channel: an e-mail
(the existing SMTP sender, through the outbox) to `escalation_email`, the city's situation room,
with the alert's document and the agency that did not answer. The dispatcher runs this before
each round.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from bot.city.models import EMAIL, SendTarget
from bot.delivery.outbox import OutboxEntry, enqueue
from bot.delivery.settings import DeliverySettings
from bot.storage.db import utc_now
from bot.tickets.models import AlertAcknowledgement, AlertEscalation
from bot.tickets.routing import AGENCY

logger = logging.getLogger(__name__)

ALERT_MARK = "/ticket.created/agency/"
ESCALATION = "alert.unacknowledged"


def unacknowledged_alerts(session, older_than: datetime) -> list[OutboxEntry]:
    """Agency alerts queued before `older_than`, neither acknowledged nor escalated yet."""
    acknowledged = select(AlertAcknowledgement.idempotency_key)
    escalated = select(AlertEscalation.idempotency_key)
    return list(
        session.execute(
            select(OutboxEntry)
            .where(
                OutboxEntry.target_kind == AGENCY,
                OutboxEntry.ticket_id.is_not(None),
                OutboxEntry.idempotency_key.contains(ALERT_MARK, autoescape=True),
                OutboxEntry.created_at < older_than,
                OutboxEntry.idempotency_key.not_in(acknowledged),
                OutboxEntry.idempotency_key.not_in(escalated),
            )
            .order_by(OutboxEntry.id)
        ).scalars()
    )


def escalate_unacknowledged(
    sessions: sessionmaker, settings: DeliverySettings, clock: Callable[[], datetime] = utc_now
) -> int:
    """Queue one escalation e-mail per overdue unacknowledged alert; returns how many."""
    if not settings.escalation_email:
        return 0
    now = clock()
    deadline = now - timedelta(minutes=settings.alert_ack_minutes)
    escalated = 0
    with sessions() as session:
        overdue = [
            (entry.id, entry.ticket_id, entry.target_id, entry.idempotency_key, entry.payload)
            for entry in unacknowledged_alerts(session, deadline)
        ]
    for _entry_id, ticket_id, agency_id, key, payload in overdue:
        document = {
            **payload,
            "event": ESCALATION,
            "escalation": {
                "agency_id": agency_id,
                "alert_idempotency_key": key,
                "unacknowledged_minutes": settings.alert_ack_minutes,
            },
        }
        try:
            with sessions.begin() as session:
                session.add(
                    AlertEscalation(idempotency_key=key, ticket_id=ticket_id, agency_id=agency_id, escalated_at=now)
                )
                enqueue(
                    session,
                    ticket_id=ticket_id,
                    target_kind="escalation",
                    target_id=agency_id,
                    send=SendTarget(EMAIL, settings.escalation_email),
                    payload=document,
                    idempotency_key=f"{key}/{ESCALATION}",
                    now=now,
                )
        except IntegrityError:  # another dispatcher escalated it first
            continue
        escalated += 1
        logger.warning("Alert %s unacknowledged after %s min: escalated by e-mail", key, settings.alert_ack_minutes)
    return escalated
