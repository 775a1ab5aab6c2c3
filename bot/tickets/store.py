"""Complaint tickets: filing (ticket + outbox in one transaction), emergencies, duplicates,
watchers, owner-only lookups and status changes."""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.city.models import CityConfig
from bot.city.places import Place, PlaceNormaliser
from bot.delivery.outbox import enqueue
from bot.privacy.citizen_input import CitizenInputError, clean_text, require_sender
from bot.privacy.contacts import seal_phone
from bot.storage.db import create_schema, make_engine, make_session_factory, utc_now
from bot.tickets.calendar import BusinessCalendar
from bot.tickets.documents import category_label, idempotency_key, ticket_document
from bot.tickets.models import (
    OPEN_STATUSES,
    STATUS_LABELS_KO,
    Ticket,
    TicketEvent,
    TicketEventKind,
    TicketStatus,
    TicketWatcher,
)
from bot.tickets.numbers import next_ticket_number, parse_ticket_number
from bot.tickets.routing import AGENCY, Recipient, complaint_recipients, emergency_recipients

logger = logging.getLogger(__name__)

EMERGENCY_CATEGORY = "emergency"
SYSTEM_ACTOR = "system"
MAX_LOCATION_CHARS = 200
MAX_DESCRIPTION_CHARS = 1000
MAX_PHOTO_URL_CHARS = 2000


class TicketInputError(CitizenInputError):
    """Input that cannot become a ticket; `field` names the offending field."""


@dataclass(frozen=True)
class ComplaintDraft:
    category: str
    location_text: str
    description: str
    sender_id: str
    photo_url: str | None = None
    contact_phone: str | None = None  # canonical 010-1234-5678; None: anonymous
    consent_given: bool = False


@dataclass(frozen=True)
class EmergencyReport:
    emergency_type: str
    sender_id: str
    location_text: str = ""
    description: str = ""


@dataclass(frozen=True)
class TicketReceipt:
    """What the citizen is told after filing."""

    number: str
    label: str
    department_name: str
    department_phone: str
    due_date: date
    urgent: bool = False
    alerted: Sequence[str] = ()  # names of the agencies alerted by an emergency report


@dataclass(frozen=True)
class TicketView:
    """A ticket as shown to one citizen. Only its owner sees the location and description."""

    number: str
    label: str
    status: TicketStatus
    department_name: str
    department_phone: str
    due_date: date | None
    created_at: datetime
    urgent: bool
    is_owner: bool
    location_text: str | None = None
    description: str | None = None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS_KO[self.status]


class JoinOutcome(str, enum.Enum):
    JOINED = "joined"
    ALREADY_WATCHING = "already_watching"
    OWN_TICKET = "own_ticket"
    NOT_OPEN = "not_open"  # unknown number or closed ticket


class TicketStore:
    def __init__(
        self,
        session_factory: sessionmaker,
        config: CityConfig,
        clock: Callable[[], datetime] = utc_now,
        calendar: BusinessCalendar | None = None,
    ):
        self.sessions = session_factory  # also for staff tools and tests that read the tables
        self.config = config
        self._clock = clock
        self.calendar = calendar or BusinessCalendar(config.profile.extra_holidays)
        self._places = PlaceNormaliser.for_city(config)
        self._timezone = ZoneInfo(config.profile.timezone)

    # --- filing ----------------------------------------------------------------------------------

    def normalise_place(self, location_text: str) -> Place:
        return self._places.normalise(location_text)

    def file_complaint(self, draft: ComplaintDraft) -> TicketReceipt:
        category = self.config.complaint_categories.get(draft.category)
        if category is None:
            raise TicketInputError("category", f"unknown complaint category '{draft.category}'")
        if draft.contact_phone and not draft.consent_given:
            raise TicketInputError("contact_phone", "a phone number needs the citizen's consent")
        now = self._clock()
        ticket = Ticket(
            category=category.id,
            department_id=category.department_id,
            location_text=_clean_text("location_text", draft.location_text, MAX_LOCATION_CHARS),
            description=_clean_text("description", draft.description, MAX_DESCRIPTION_CHARS),
            photo_url=_clean_text("photo_url", draft.photo_url or "", MAX_PHOTO_URL_CHARS, required=False) or None,
            contact_phone=seal_phone(draft.contact_phone) if draft.consent_given else None,
            consent_given=draft.consent_given,
            consent_text_version=self.config.profile.consent.version if draft.consent_given else None,
            consent_at=now if draft.consent_given else None,
            sender_id=_require_sender(draft.sender_id),
            due_date=self.calendar.processing_deadline(self._local_date(now), category.processing_days),
        )
        recipients = complaint_recipients(self.config, category.id)
        self._open_ticket(ticket, recipients, now)
        department = self.config.departments[category.department_id]
        return TicketReceipt(ticket.number, category.label, department.name, department.phone, ticket.due_date)

    def report_emergency(self, report: EmergencyReport) -> TicketReceipt:
        """Open an urgent ticket and alert the emergency type's department and agencies."""
        emergency = self.config.emergency_types.get(report.emergency_type)
        if emergency is None:
            raise TicketInputError("emergency_type", f"unknown emergency type '{report.emergency_type}'")
        now = self._clock()
        ticket = Ticket(
            category=EMERGENCY_CATEGORY,
            emergency_type=emergency.id,
            urgent=True,
            department_id=emergency.department_id,
            location_text=_clean_text("location_text", report.location_text, MAX_LOCATION_CHARS, required=False),
            description=_clean_text("description", report.description, MAX_DESCRIPTION_CHARS, required=False),
            sender_id=_require_sender(report.sender_id),
            due_date=self._local_date(now),  # emergencies are handled at once
        )
        district = self.normalise_place(ticket.location_text).district
        recipients = emergency_recipients(self.config, emergency.id, district)
        self._open_ticket(ticket, recipients, now)
        department = self.config.departments[emergency.department_id]
        return TicketReceipt(
            ticket.number,
            emergency.label,
            department.name,
            department.phone,
            ticket.due_date,
            urgent=True,
            alerted=tuple(r.name for r in recipients if r.kind == AGENCY),
        )

    def _open_ticket(self, ticket: Ticket, recipients: Sequence[Recipient], now: datetime) -> None:
        """Number and store the ticket, its first history line and one outbox entry per recipient,
        all in one transaction: either everything is stored or nothing is."""
        with self.sessions.begin() as session:
            self.add_ticket(session, ticket, recipients, now)

    def add_ticket(
        self,
        session: Session,
        ticket: Ticket,
        recipients: Sequence[Recipient],
        now: datetime,
        document: Callable[[Ticket, Recipient], dict] = None,
    ) -> None:
        """Number and add the ticket, its first history line and its outbox entries to the
        caller's transaction. `document` builds each recipient's payload (default: ticket_document)."""
        place = self.normalise_place(ticket.location_text)
        ticket.place_key, ticket.district = place.key, place.district
        ticket.status = TicketStatus.RECEIVED
        ticket.created_at = ticket.updated_at = now
        ticket.number = next_ticket_number(session, self.config.profile.ticket_prefix, self._local_date(now).year)
        session.add(ticket)
        session.flush()
        session.add(
            TicketEvent(
                ticket_id=ticket.id,
                kind=TicketEventKind.CREATED,
                new_status=ticket.status.value,
                actor=ticket.sender_id,
                created_at=now,
            )
        )
        for recipient in recipients:
            payload = (document or (lambda t, r: ticket_document(self.config, t, r)))(ticket, recipient)
            enqueue(
                session,
                ticket_id=ticket.id,
                target_kind=recipient.kind,
                target_id=recipient.id,
                send=recipient.send,
                payload=payload,
                idempotency_key=idempotency_key(ticket, recipient),
                now=now,
            )
        logger.info(
            "Ticket %s opened (%s, department %s, %d recipient(s))",
            ticket.number,
            ticket.emergency_type or ticket.category,
            ticket.department_id,
            len(recipients),
        )

    # --- duplicates and watchers -----------------------------------------------------------------

    def find_open_duplicate(self, category: str, location_text: str, sender_id: str) -> TicketView | None:
        """The newest open ticket of `category` at the same spot (see Place.same_spot) within the
        category's duplicate window."""
        place = self.normalise_place(location_text)
        if category not in self.config.complaint_categories or not place.is_specific:
            return None
        since = self._clock() - timedelta(hours=self.config.duplicate_window_hours(category))
        with self.sessions() as session:
            candidates = session.execute(
                select(Ticket)
                .where(
                    Ticket.category == category,
                    Ticket.place_key.startswith(place.area_key, autoescape=True),
                    Ticket.status.in_(OPEN_STATUSES),
                    Ticket.created_at >= since,
                )
                .order_by(Ticket.created_at.desc())
            ).scalars()
            ticket = next(
                (candidate for candidate in candidates if place.same_spot(Place.from_key(candidate.place_key))), None
            )
            return self._view(ticket, sender_id, with_details=False) if ticket else None

    def join(self, number: str, sender_id: str) -> JoinOutcome:
        """Add the citizen as a watcher of an open ticket (notified with it)."""
        sender_id = _require_sender(sender_id)
        try:
            with self.sessions.begin() as session:
                ticket = self._ticket_by_number(session, number)
                if ticket is None or not ticket.is_open:
                    return JoinOutcome.NOT_OPEN
                if ticket.sender_id == sender_id:
                    return JoinOutcome.OWN_TICKET
                if self._is_watcher(session, ticket, sender_id):
                    return JoinOutcome.ALREADY_WATCHING
                now = self._clock()
                session.add(TicketWatcher(ticket_id=ticket.id, sender_id=sender_id, created_at=now))
                session.add(
                    TicketEvent(
                        ticket_id=ticket.id, kind=TicketEventKind.WATCHER_JOINED, actor=sender_id, created_at=now
                    )
                )
        except IntegrityError:  # the same citizen joined twice at the same moment
            return JoinOutcome.ALREADY_WATCHING
        return JoinOutcome.JOINED

    # --- lookups ---------------------------------------------------------------------------------

    def lookup(self, number_text: str, sender_id: str) -> TicketView | None:
        """The ticket typed in `number_text`, if `sender_id` filed it (full view) or watches it
        (status only). Anyone else gets None, exactly as for an unknown number."""
        number = parse_ticket_number(number_text, self.config.profile.ticket_prefix)
        if number is None or not sender_id:
            return None
        with self.sessions() as session:
            ticket = self._ticket_by_number(session, number)
            if ticket is None:
                return None
            if ticket.sender_id == sender_id:
                return self._view(ticket, sender_id, with_details=True)
            if self._is_watcher(session, ticket, sender_id):
                return self._view(ticket, sender_id, with_details=False)
            return None

    def tickets_of(self, sender_id: str, limit: int = 5) -> list[TicketView]:
        """The citizen's newest tickets, filed or watched."""
        if not sender_id:
            return []
        watched = select(TicketWatcher.ticket_id).where(TicketWatcher.sender_id == sender_id)
        with self.sessions() as session:
            tickets = (
                session.execute(
                    select(Ticket)
                    .where((Ticket.sender_id == sender_id) | Ticket.id.in_(watched))
                    .order_by(Ticket.created_at.desc(), Ticket.id.desc())
                    .limit(limit)
                )
                .scalars()
                .all()
            )
            return [self._view(ticket, sender_id, with_details=ticket.sender_id == sender_id) for ticket in tickets]

    # --- staff -----------------------------------------------------------------------------------

    def change_status(self, number: str, status: TicketStatus, actor: str, note: str | None = None) -> TicketView:
        with self.sessions.begin() as session:
            ticket = self._ticket_by_number(session, number)
            if ticket is None:
                raise LookupError(f"no ticket {number}")
            old_status = ticket.status
            now = self._clock()
            ticket.status, ticket.updated_at = status, now
            session.add(
                TicketEvent(
                    ticket_id=ticket.id,
                    kind=TicketEventKind.STATUS_CHANGED,
                    old_status=old_status.value,
                    new_status=status.value,
                    actor=actor,
                    note=note,
                    created_at=now,
                )
            )
            return self._view(ticket, ticket.sender_id, with_details=True)

    # --- helpers ---------------------------------------------------------------------------------

    def _local_date(self, moment: datetime) -> date:
        return moment.astimezone(self._timezone).date()

    @staticmethod
    def _ticket_by_number(session: Session, number: str) -> Ticket | None:
        return session.execute(select(Ticket).where(Ticket.number == number)).scalar_one_or_none()

    @staticmethod
    def _is_watcher(session: Session, ticket: Ticket, sender_id: str) -> bool:
        return (
            session.execute(
                select(TicketWatcher.id).where(
                    TicketWatcher.ticket_id == ticket.id, TicketWatcher.sender_id == sender_id
                )
            ).first()
            is not None
        )

    def _view(self, ticket: Ticket, sender_id: str, with_details: bool) -> TicketView:
        department = self.config.departments[ticket.department_id]
        return TicketView(
            number=ticket.number,
            label=category_label(self.config, ticket),
            status=ticket.status,
            department_name=department.name,
            department_phone=department.phone,
            due_date=ticket.due_date,
            created_at=ticket.created_at,
            urgent=ticket.urgent,
            is_owner=ticket.sender_id == sender_id,
            location_text=ticket.location_text if with_details else None,
            description=ticket.description if with_details else None,
        )


def _clean_text(field: str, text: str | None, max_chars: int, required: bool = True) -> str:
    return clean_text(field, text, max_chars, required, error=TicketInputError)


def _require_sender(sender_id: str) -> str:
    return require_sender(sender_id, TicketInputError)


def open_database(database_url: str | None = None) -> sessionmaker:
    """Sessions on the tickets database (default: SOTONG_DATABASE_URL); the tickets and outbox
    tables are created when missing."""
    engine = make_engine(database_url)
    create_schema(engine)
    return make_session_factory(engine)


def open_ticket_store(
    config: CityConfig, database_url: str | None = None, clock: Callable[[], datetime] = utc_now
) -> TicketStore:
    """A store on `database_url` (default: SOTONG_DATABASE_URL)."""
    return TicketStore(open_database(database_url), config, clock=clock)
