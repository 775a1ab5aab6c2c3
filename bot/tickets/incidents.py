"""Emergency incidents: one urgent ticket per event, the citizens' reports joined to it, the
agencies' alerts and updates (outbox entries) and their acknowledgements.

- `report`: a citizen reports an emergency. When an open incident of the same type in the same
  동 was opened within the incident window, the report joins it (report count +1) and the
  incident's recipients get an update; otherwise a new incident alerts the type's department and
  the agencies covering the district. Concurrent first reports agree on one incident through the
  `incident_keys` row of (type, district/동), taken inside the same transaction.
- `follow_up`: more words or a photo from a citizen of the incident, forwarded as an update.
- `acknowledge`: an agency confirms an alert by its Idempotency-Key.

The citizen's words are stored and sent with phone numbers and 주민등록번호 masked. Agencies never
get the citizen's contact (the emergency flow collects none; ticket_document leaves it out).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.city.places import Place
from bot.delivery.outbox import OutboxEntry, enqueue
from bot.privacy.masking import mask_personal_data
from bot.settings import env_float
from bot.tickets.documents import ticket_document
from bot.tickets.models import OPEN_STATUSES, AlertAcknowledgement, IncidentKey, IncidentReport, Ticket
from bot.tickets.routing import AGENCY, Recipient, emergency_recipients
from bot.tickets.store import (
    EMERGENCY_CATEGORY,
    MAX_DESCRIPTION_CHARS,
    MAX_LOCATION_CHARS,
    MAX_PHOTO_URL_CHARS,
    TicketInputError,
    TicketStore,
    _clean_text,
    _require_sender,
)

logger = logging.getLogger(__name__)

UNKNOWN_LOCATION = "위치 미상"
REPORT, FOLLOW_UP = "report", "follow_up"
INCIDENT_UPDATED = "incident.updated"
WINDOW_ENV = "SOTONG_INCIDENT_WINDOW_MINUTES"
DEFAULT_WINDOW_MINUTES = 60
KEY_ATTEMPTS = 5


def incident_window(env: Mapping[str, str] | None = None) -> timedelta:
    """How long after an incident opened other reports of the same type and 동 join it."""
    return timedelta(minutes=env_float(WINDOW_ENV, DEFAULT_WINDOW_MINUTES, env, minimum=0))


@dataclass(frozen=True)
class IncidentInput:
    emergency_type: str
    sender_id: str
    text: str  # the citizen's own words (masked before storing)
    location_text: str = ""  # "" when the citizen could not say where
    latitude: float | None = None
    longitude: float | None = None
    photo_url: str | None = None


@dataclass(frozen=True)
class IncidentReceipt:
    """What the citizen is told: the incident, where, what kind, who was alerted."""

    number: str
    emergency_type: str
    label: str
    location_text: str  # as stored ("위치 미상" when unknown)
    district: str | None
    dong: str | None
    alerted: tuple[str, ...]  # names of the department and agencies, in alert order
    joined: bool  # True: another citizen reported this event first
    report_count: int
    opened_at: datetime

    @property
    def location_known(self) -> bool:
        return self.location_text != UNKNOWN_LOCATION


class IncidentStore:
    def __init__(self, tickets: TicketStore, window: timedelta | None = None):
        self.tickets = tickets
        self.sessions = tickets.sessions
        self.config = tickets.config
        self.window = window or incident_window()

    # --- reports ---------------------------------------------------------------------------------

    def report(self, report: IncidentInput) -> IncidentReceipt:
        emergency = self.config.emergency_types.get(report.emergency_type)
        if emergency is None:
            raise TicketInputError("emergency_type", f"unknown emergency type '{report.emergency_type}'")
        sender_id = _require_sender(report.sender_id)
        location = (
            _clean_text("location_text", report.location_text, MAX_LOCATION_CHARS, required=False) or UNKNOWN_LOCATION
        )
        words = _masked(report.text)
        place = self.tickets.normalise_place(location if location != UNKNOWN_LOCATION else "")
        key = f"{emergency.id}|{place.area_key}" if place.dong else None
        for attempt in range(KEY_ATTEMPTS):
            try:
                with self.sessions.begin() as session:
                    return self._report(session, report, sender_id, location, words, place, key)
            except IntegrityError:  # another citizen opened this incident at the same moment
                if attempt == KEY_ATTEMPTS - 1:
                    raise
                logger.info("Incident key %s taken concurrently; joining it", key)
        raise AssertionError("unreachable")

    def _report(
        self,
        session: Session,
        report: IncidentInput,
        sender_id: str,
        location: str,
        words: str,
        place: Place,
        key: str | None,
    ) -> IncidentReceipt:
        now = self.tickets._clock()
        row = self._key_row(session, key) if key else None
        if row is not None:
            ticket = session.get(Ticket, row.ticket_id)
            if ticket is not None and ticket.is_open and ticket.created_at >= now - self.window:
                self._add_report(session, ticket, REPORT, sender_id, words, location, report, now)
                return self._receipt(session, ticket, joined=True)
        emergency = self.config.emergency_types[report.emergency_type]
        ticket = Ticket(
            category=EMERGENCY_CATEGORY,
            emergency_type=emergency.id,
            urgent=True,
            department_id=emergency.department_id,
            location_text=location,
            description=words,
            photo_url=_photo(report.photo_url),
            sender_id=sender_id,
            due_date=self.tickets._local_date(now),  # emergencies are handled at once
        )
        recipients = self.recipients(ticket.emergency_type, place.district)
        report_row = self._report_row(sender_id, REPORT, words, location, report, now)
        self.tickets.add_ticket(
            session, ticket, recipients, now, document=lambda t, r: self.document(t, r, [report_row], 1)
        )
        report_row.ticket_id = ticket.id
        session.add(report_row)
        if key:
            if row is None:
                with session.begin_nested():  # IntegrityError: a concurrent first report won
                    session.add(IncidentKey(key=key, ticket_id=ticket.id, opened_at=now))
            else:
                row.ticket_id, row.opened_at = ticket.id, now
        return self._receipt(session, ticket, joined=False)

    def follow_up(
        self,
        number: str,
        sender_id: str,
        text: str,
        photo_url: str | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
    ) -> IncidentReceipt | None:
        """Add a citizen's further words or photo to their incident and forward them as an update.
        None when the incident is unknown, closed, or not one this citizen reported."""
        sender_id = _require_sender(sender_id)
        words = _masked(text)
        with self.sessions.begin() as session:
            ticket = session.execute(select(Ticket).where(Ticket.number == number)).scalar_one_or_none()
            if ticket is None or not ticket.is_open or not ticket.emergency_type:
                return None
            reported = session.execute(
                select(IncidentReport.id).where(
                    IncidentReport.ticket_id == ticket.id, IncidentReport.sender_id == sender_id
                )
            ).first()
            if reported is None:
                return None
            extra = IncidentInput(
                ticket.emergency_type, sender_id, text, latitude=latitude, longitude=longitude, photo_url=photo_url
            )
            self._add_report(session, ticket, FOLLOW_UP, sender_id, words, "", extra, self.tickets._clock())
            return self._receipt(session, ticket, joined=False)

    # --- recipients and documents ----------------------------------------------------------------

    def recipients(self, emergency_type: str, district: str | None) -> tuple[Recipient, ...]:
        return emergency_recipients(self.config, emergency_type, district)

    def document(
        self,
        ticket: Ticket,
        recipient: Recipient,
        reports: Sequence[IncidentReport],
        report_count: int,
        event: str = "ticket.created",
        update: IncidentReport | None = None,
    ) -> dict[str, Any]:
        """The ticket document plus what an agency acts on: where (text, district, 동,
        coordinates), the citizens' own words (masked), the report count and, for an update, the
        new report."""
        document = ticket_document(self.config, ticket, recipient, event=event)
        place = Place.from_key(ticket.place_key)
        first = reports[0] if reports else None
        location = document["ticket"]["location"]
        location.update(
            {
                "dong": place.dong,
                "known": ticket.location_text != UNKNOWN_LOCATION,
                "latitude": first.latitude if first else None,
                "longitude": first.longitude if first else None,
            }
        )
        document["incident"] = {
            "number": ticket.number,
            "emergency_type": ticket.emergency_type,
            "citizen_words": ticket.description,
            "report_count": report_count,
            "reported_at": ticket.created_at.isoformat(),
        }
        if update is not None:
            document["update"] = _report_json(update)
        return document

    # --- acknowledgements ------------------------------------------------------------------------

    def acknowledge(self, agency_id: str, key: str) -> datetime | None:
        """Record that `agency_id` acknowledged the alert or update with Idempotency-Key `key`.
        Returns when it was (first) acknowledged; None when no such entry was sent to this agency."""
        now = self.tickets._clock()
        with self.sessions.begin() as session:
            entry = session.execute(
                select(OutboxEntry).where(
                    OutboxEntry.idempotency_key == key,
                    OutboxEntry.target_kind == AGENCY,
                    OutboxEntry.target_id == agency_id,
                )
            ).scalar_one_or_none()
            if entry is None or entry.ticket_id is None:
                return None
            existing = session.execute(
                select(AlertAcknowledgement).where(AlertAcknowledgement.idempotency_key == key)
            ).scalar_one_or_none()
            if existing is not None:
                return existing.acknowledged_at
            try:
                with session.begin_nested():
                    session.add(
                        AlertAcknowledgement(
                            idempotency_key=key, ticket_id=entry.ticket_id, agency_id=agency_id, acknowledged_at=now
                        )
                    )
            except IntegrityError:  # acknowledged twice at the same moment
                return now
        logger.info("Alert %s acknowledged by %s", key, agency_id)
        return now

    # --- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _key_row(session: Session, key: str) -> IncidentKey | None:
        # FOR UPDATE serialises joiners on PostgreSQL; SQLite transactions are serial already.
        return session.execute(select(IncidentKey).where(IncidentKey.key == key).with_for_update()).scalar_one_or_none()

    @staticmethod
    def _report_row(
        sender_id: str, kind: str, words: str, location: str, report: IncidentInput, now: datetime
    ) -> IncidentReport:
        return IncidentReport(
            sender_id=sender_id,
            kind=kind,
            text=words,
            location_text=location,
            latitude=report.latitude,
            longitude=report.longitude,
            photo_url=_photo(report.photo_url),
            created_at=now,
        )

    def _add_report(
        self,
        session: Session,
        ticket: Ticket,
        kind: str,
        sender_id: str,
        words: str,
        location: str,
        report: IncidentInput,
        now: datetime,
    ) -> None:
        """Store the report and enqueue one update per recipient of the incident's alert."""
        row = self._report_row(sender_id, kind, words, location, report, now)
        row.ticket_id = ticket.id
        session.add(row)
        session.flush()
        count = self._report_count(session, ticket)
        ticket.updated_at = now
        reports = self._reports(session, ticket)
        for recipient in self.recipients(ticket.emergency_type, ticket.district):
            enqueue(
                session,
                ticket_id=ticket.id,
                target_kind=recipient.kind,
                target_id=recipient.id,
                send=recipient.send,
                payload=self.document(ticket, recipient, reports, count, INCIDENT_UPDATED, update=row),
                idempotency_key=f"{ticket.number}/{INCIDENT_UPDATED}/{row.id}/{recipient.kind}/{recipient.id}",
                now=now,
            )

    @staticmethod
    def _reports(session: Session, ticket: Ticket) -> list[IncidentReport]:
        return list(
            session.execute(
                select(IncidentReport).where(IncidentReport.ticket_id == ticket.id).order_by(IncidentReport.id).limit(1)
            ).scalars()
        )

    @staticmethod
    def _report_count(session: Session, ticket: Ticket) -> int:
        return session.execute(
            select(func.count())
            .select_from(IncidentReport)
            .where(IncidentReport.ticket_id == ticket.id, IncidentReport.kind == REPORT)
        ).scalar_one()

    def _receipt(self, session: Session, ticket: Ticket, joined: bool) -> IncidentReceipt:
        place = Place.from_key(ticket.place_key)
        return IncidentReceipt(
            number=ticket.number,
            emergency_type=ticket.emergency_type,
            label=self.config.emergency_types[ticket.emergency_type].label,
            location_text=ticket.location_text,
            district=place.district,
            dong=place.dong,
            alerted=tuple(r.name for r in self.recipients(ticket.emergency_type, ticket.district)),
            joined=joined,
            report_count=self._report_count(session, ticket),
            opened_at=ticket.created_at,
        )


def _masked(text: str) -> str:
    return (mask_personal_data(text or "") or "").strip()[:MAX_DESCRIPTION_CHARS]


def _photo(url: str | None) -> str | None:
    return _clean_text("photo_url", url or "", MAX_PHOTO_URL_CHARS, required=False) or None


def _report_json(report: IncidentReport) -> dict[str, Any]:
    return {
        "kind": report.kind,
        "text": report.text,
        "location_text": report.location_text or None,
        "latitude": report.latitude,
        "longitude": report.longitude,
        "photo_url": report.photo_url,
        "at": report.created_at.isoformat(),
    }


def open_incidents(
    session: Session, config, now: datetime, ack_minutes: float, scope=(), limit: int = 20
) -> list[dict[str, Any]]:
    """Open emergency incidents for the dashboard, newest first: reports, and for each alerted
    agency whether it acknowledged; an alert unacknowledged after `ack_minutes` is `overdue`."""
    tickets = (
        session.execute(
            select(Ticket)
            .where(Ticket.emergency_type.is_not(None), Ticket.status.in_(OPEN_STATUSES), *scope)
            .order_by(Ticket.created_at.desc())
            .limit(limit)
        )
        .scalars()
        .all()
    )
    if not tickets:
        return []
    ids = [ticket.id for ticket in tickets]
    counts = dict(
        session.execute(
            select(IncidentReport.ticket_id, func.count())
            .where(IncidentReport.ticket_id.in_(ids), IncidentReport.kind == REPORT)
            .group_by(IncidentReport.ticket_id)
        ).all()
    )
    alerts = session.execute(
        select(
            OutboxEntry.ticket_id,
            OutboxEntry.target_id,
            OutboxEntry.idempotency_key,
            OutboxEntry.state,
            OutboxEntry.created_at,
        )
        .where(
            OutboxEntry.ticket_id.in_(ids),
            OutboxEntry.target_kind == AGENCY,
            OutboxEntry.idempotency_key.contains("/ticket.created/agency/", autoescape=True),
        )
        .order_by(OutboxEntry.id)
    ).all()
    acknowledged = dict(
        session.execute(
            select(AlertAcknowledgement.idempotency_key, AlertAcknowledgement.acknowledged_at).where(
                AlertAcknowledgement.ticket_id.in_(ids)
            )
        ).all()
    )
    deadline = now - timedelta(minutes=ack_minutes)
    by_ticket: dict[int, list[dict[str, Any]]] = {}
    for ticket_id, agency_id, key, state, created_at in alerts:
        agency = config.agencies.get(agency_id)
        acked_at = acknowledged.get(key)
        by_ticket.setdefault(ticket_id, []).append(
            {
                "agency_id": agency_id,
                "agency": agency.name if agency else agency_id,
                "delivery": state.value,
                "acknowledged": acked_at is not None,
                "acknowledged_at": acked_at.isoformat() if acked_at else None,
                "overdue": acked_at is None and created_at < deadline,
            }
        )
    result = []
    for ticket in tickets:
        agencies = by_ticket.get(ticket.id, [])
        result.append(
            {
                "number": ticket.number,
                "label": config.emergency_types[ticket.emergency_type].label,
                "location": ticket.location_text,
                "district": ticket.district,
                "reports": counts.get(ticket.id, 0),
                "opened_at": ticket.created_at.isoformat(),
                "agencies": agencies,
                "unacknowledged_overdue": sum(1 for a in agencies if a["overdue"]),
            }
        )
    return result
