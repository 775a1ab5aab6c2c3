"""The JSON ticket document sent to departments and agencies (schema "sotong.ticket.v1")."""

from __future__ import annotations

from typing import Any

from bot.city.models import CityConfig
from bot.tickets.models import Ticket
from bot.tickets.routing import AGENCY, Recipient

SCHEMA = "sotong.ticket.v1"
TICKET_CREATED = "ticket.created"


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def category_label(config: CityConfig, ticket: Ticket) -> str:
    if ticket.emergency_type:
        return config.emergency_types[ticket.emergency_type].label
    return config.complaint_categories[ticket.category].label


def ticket_document(
    config: CityConfig, ticket: Ticket, recipient: Recipient, event: str = TICKET_CREATED
) -> dict[str, Any]:
    """Everything the recipient needs to act on the ticket.

    Agencies alerted by the hotline do not get the citizen's phone number: the consent covers
    processing by the city only.
    """
    department = config.departments[ticket.department_id]
    document = {
        "schema": SCHEMA,
        "event": event,
        "city": {"id": config.profile.id, "name": config.profile.name},
        "recipient": {"kind": recipient.kind, "id": recipient.id, "name": recipient.name},
        "ticket": {
            "number": ticket.number,
            "status": ticket.status.value,
            "category": ticket.category,
            "category_label": category_label(config, ticket),
            "urgent": ticket.urgent,
            "emergency_type": ticket.emergency_type,
            "department": {"id": department.id, "name": department.name},
            "location": {"text": ticket.location_text, "district": ticket.district, "place_key": ticket.place_key},
            "description": ticket.description,
            "photo_url": ticket.photo_url,
            "due_date": _iso(ticket.due_date),
            "created_at": _iso(ticket.created_at),
        },
    }
    if recipient.kind != AGENCY:
        document["ticket"]["contact"] = {
            "anonymous": ticket.contact_phone is None,
            "phone": ticket.contact_phone,
            "consent": {
                "given": ticket.consent_given,
                "text_version": ticket.consent_text_version,
                "at": _iso(ticket.consent_at),
            },
        }
    return document


def idempotency_key(ticket: Ticket, recipient: Recipient, event: str = TICKET_CREATED) -> str:
    """Stable per ticket, event and recipient: receivers can drop repeated deliveries."""
    return f"{ticket.number}/{event}/{recipient.kind}/{recipient.id}"
