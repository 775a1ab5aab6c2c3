"""Filing and finding service requests: POST requests.json becomes a ticket through TicketStore
(routing, outbox and deadline as for a chat complaint); GET reads tickets of complaint categories
(emergency reports are not an Open311 service and are never listed)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from bot.staff.audit import Actor, record_now
from bot.staff.open311.documents import (
    CONSENT_ATTRIBUTE,
    CONSENT_YES,
    MAX_RESULTS,
    Open311Error,
    RequestQuery,
    service_request,
)
from bot.staff.open311.keys import ApiClient
from bot.tickets.models import Ticket
from bot.tickets.notices import EXTERNAL_SENDER_PREFIX
from bot.tickets.phone import normalise_mobile_number
from bot.tickets.store import EMERGENCY_CATEGORY, ComplaintDraft, TicketInputError, TicketStore

logger = logging.getLogger(__name__)

MAX_DEVICE_CHARS = 60
MAX_NUMBER_CHARS = Ticket.number.type.length
MAX_SENDER_CHARS = Ticket.sender_id.type.length
LOCATION_FIELDS = ("address_string", "address_id", "lat", "long")


def _coordinate(params: Mapping[str, str], name: str, limit: float) -> float | None:
    value = (params.get(name) or "").strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise Open311Error(400, f"{name} must be a decimal number") from None
    if not -limit <= number <= limit:
        raise Open311Error(400, f"{name} is out of range")
    return number


def location_text(params: Mapping[str, str]) -> str:
    address = (params.get("address_string") or params.get("address_id") or "").strip()
    latitude, longitude = _coordinate(params, "lat", 90), _coordinate(params, "long", 180)
    if (latitude is None) != (longitude is None):
        raise Open311Error(400, "lat and long go together")
    if not address and latitude is None:
        raise Open311Error(400, "a location is required: lat and long, address_string or address_id")
    coordinates = f"(위도 {latitude:.6f}, 경도 {longitude:.6f})" if latitude is not None else ""
    return " ".join(part for part in (address, coordinates) if part)


def create_request(
    store: TicketStore, client: ApiClient, params: Mapping[str, str], ip: str | None = None
) -> dict[str, Any]:
    """File one request; the GeoReport answer item (service_request_id, service_notice)."""
    config = store.config
    code = (params.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, "service_code is required")
    if code not in config.complaint_categories:
        raise Open311Error(404, f"service_code not found: {code}")
    description = (params.get("description") or "").strip()
    if not description:
        raise Open311Error(400, "description is required")
    media_url = (params.get("media_url") or "").strip() or None
    if media_url and not media_url.startswith(("https://", "http://")):
        raise Open311Error(400, "media_url must be an http(s) URL")
    consent = (params.get(f"attribute[{CONSENT_ATTRIBUTE}]") or "").strip().lower() == CONSENT_YES
    phone = normalise_mobile_number(params.get("phone") or "") if consent else None
    device = (params.get("device_id") or params.get("account_id") or "anonymous").strip()[:MAX_DEVICE_CHARS]
    sender = f"{EXTERNAL_SENDER_PREFIX}{client.name}:{device}"[:MAX_SENDER_CHARS]
    draft = ComplaintDraft(
        category=code,
        location_text=location_text(params),
        description=description,
        sender_id=sender,
        photo_url=media_url,
        contact_phone=phone,
        consent_given=phone is not None,
    )
    try:
        receipt = store.file_complaint(draft)
    except TicketInputError as error:
        raise Open311Error(400, str(error)) from None
    record_now(
        store.sessions,
        Actor(f"open311:{client.name}", "open311", ip),
        "open311.request_created",
        ticket_number=receipt.number,
        department_id=config.complaint_categories[code].department_id,
        service_code=code,
    )
    logger.info("Open311 request %s filed by client %s (%s)", receipt.number, client.name, code)
    return {
        "service_request_id": receipt.number,
        "service_notice": f"{receipt.department_name}에서 처리합니다. 처리 기한: {receipt.due_date.isoformat()}",
        "account_id": None,
    }


def find_requests(store: TicketStore, query: RequestQuery, full: bool = False) -> list[dict[str, Any]]:
    """Matching requests, newest first; `full`: chat-filed ones in full (see service_request)."""
    conditions = [Ticket.category != EMERGENCY_CATEGORY]
    if query.numbers:
        conditions.append(Ticket.number.in_(query.numbers))
    else:
        if query.service_codes:
            conditions.append(Ticket.category.in_(query.service_codes))
        if query.statuses:
            conditions.append(Ticket.status.in_(query.statuses))
        if query.start:
            conditions.append(Ticket.created_at >= query.start)
        if query.end:
            conditions.append(Ticket.created_at <= query.end)
    with store.sessions() as session:
        tickets = (
            session.execute(
                select(Ticket)
                .where(*conditions)
                .order_by(Ticket.created_at.desc(), Ticket.id.desc())
                .limit(MAX_RESULTS)
            )
            .scalars()
            .all()
        )
        return [service_request(store.config, ticket, full) for ticket in tickets]


def find_request(store: TicketStore, number: str, full: bool = False) -> dict[str, Any]:
    number = number.strip().upper()
    if not number or len(number) > MAX_NUMBER_CHARS:
        raise Open311Error(404, "service_request_id not found")
    found = find_requests(store, RequestQuery(numbers=(number,)), full)
    if not found:
        raise Open311Error(404, f"service_request_id not found: {number}")
    return found[0]
