"""Reading tickets for staff: the filtered, department-scoped list and one ticket's full detail.

Scope: a staff account sees its own department only; asking for another department (a
`department` filter, a ticket's URL, the API or the CSV export) raises AccessDenied (403).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from bot.city.models import CityConfig
from bot.delivery.outbox import OutboxEntry, OutboxState
from bot.staff.accounts import Account, StaffUser
from bot.staff.audit import entries_for_ticket
from bot.staff.errors import AccessDenied
from bot.staff.ticket_actions import load_ticket
from bot.staff.ticket_records import NoteKind, TicketAssignment, TicketNote
from bot.storage.db import utc_now
from bot.tickets.documents import category_label
from bot.tickets.models import OPEN_STATUSES, STATUS_LABELS_KO, Ticket, TicketEvent, TicketEventKind, TicketStatus
from bot.tickets.notices import CitizenNotice
from bot.tickets.store import EMERGENCY_CATEGORY, SYSTEM_ACTOR

OPEN = "open"  # status filter: received or in progress
SORTS = {
    "due": "처리 기한 빠른 순",
    "-due": "처리 기한 늦은 순",
    "-created": "최근 접수 순",
    "created": "오래된 접수 순",
}
DEFAULT_SORT = "due"
MAX_SEARCH_CHARS = 100
MAX_EXPORT_ROWS = 10000
# Contact numbers are stored encrypted and never decrypted for lists, pages or exports: the full
# number is shown only by the audited reveal action (TicketDesk.reveal_contact).
CONTACT_HIDDEN = "연락처 있음 (비공개)"


@dataclass(frozen=True)
class TicketFilters:
    status: str | None = None  # a TicketStatus value or OPEN
    category: str | None = None
    district: str | None = None
    department: str | None = None
    overdue: bool = False
    urgent: bool = False
    mine: bool = False
    search: str = ""
    sort: str = DEFAULT_SORT
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str], config: CityConfig) -> TicketFilters:
        """From query parameters; unknown values are ignored (an unknown department is kept, so
        that a staff account asking for one is refused rather than shown its own)."""

        def choice(name: str, allowed) -> str | None:
            value = (args.get(name) or "").strip()
            return value if value in allowed else None

        def flag(name: str) -> bool:
            return (args.get(name) or "").lower() in ("1", "true", "on", "yes")

        try:
            page = max(1, min(int(args.get("page") or 1), 100000))
        except ValueError:
            page = 1
        statuses = {status.value for status in TicketStatus} | {OPEN}
        categories = set(config.complaint_categories) | {EMERGENCY_CATEGORY}
        return cls(
            status=choice("status", statuses),
            category=choice("category", categories),
            district=choice("district", {district.name for district in config.districts}),
            department=(args.get("department") or "").strip()[:60] or None,
            overdue=flag("overdue"),
            urgent=flag("urgent"),
            mine=flag("mine"),
            search=(args.get("q") or "").strip()[:MAX_SEARCH_CHARS],
            sort=choice("sort", SORTS) or DEFAULT_SORT,
            page=page,
        )

    def query_args(self, **changes: Any) -> dict[str, str]:
        """These filters as query parameters (for links: pages, sorting, export)."""
        current = replace(self, **changes)
        args = {
            "status": current.status,
            "category": current.category,
            "district": current.district,
            "department": current.department,
            "q": current.search or None,
            "overdue": "1" if current.overdue else None,
            "urgent": "1" if current.urgent else None,
            "mine": "1" if current.mine else None,
            "sort": current.sort if current.sort != DEFAULT_SORT else None,
            "page": str(current.page) if current.page > 1 else None,
        }
        return {key: value for key, value in args.items() if value}


@dataclass(frozen=True)
class TicketRow:
    number: str
    category: str
    label: str
    department_id: str
    department_name: str
    district: str | None
    location_text: str
    description: str
    status: TicketStatus
    urgent: bool
    due_date: date | None
    overdue: bool
    created_at: datetime  # local time of the city
    assignee: str | None
    contact_masked: str | None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS_KO[self.status]


@dataclass(frozen=True)
class TicketPage:
    rows: tuple[TicketRow, ...]
    total: int
    page: int
    page_size: int
    filters: TicketFilters

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True)
class HistoryItem:
    at: datetime  # local time
    who: str
    what: str
    text: str | None = None
    kind: str = "event"  # event, internal, reply, audit


@dataclass(frozen=True)
class TicketDetail:
    row: TicketRow
    ticket_id: int
    photo_url: str | None
    emergency_type: str | None
    has_contact: bool
    consent_text_version: str | None
    assignee_id: int | None
    watchers: int
    history: tuple[HistoryItem, ...] = field(default=())


def local_today(config: CityConfig, now: datetime | None = None) -> date:
    return (now or utc_now()).astimezone(ZoneInfo(config.profile.timezone)).date()


def is_overdue(ticket: Ticket, today: date) -> bool:
    return ticket.status in OPEN_STATUSES and ticket.due_date is not None and ticket.due_date < today


def department_scope(account: Account, requested: str | None) -> str | None:
    """The department a query is limited to (None: all); AccessDenied for another department."""
    if account.sees_all_departments:
        return requested
    if requested and requested != account.department_id:
        raise AccessDenied(f"department {requested} is not {account.username}'s")
    return account.department_id


class TicketQueries:
    def __init__(self, session_factory: sessionmaker, config, clock=utc_now):
        self.sessions = session_factory
        self._config = config  # a callable: the routing data may be reloaded
        self._clock = clock

    @property
    def config(self) -> CityConfig:
        return self._config()

    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self.config.profile.timezone)

    # --- list ------------------------------------------------------------------------------------

    def _conditions(self, account: Account, filters: TicketFilters, today: date) -> list:
        conditions = []
        department = department_scope(account, filters.department)
        if department:
            conditions.append(Ticket.department_id == department)
        if filters.status == OPEN:
            conditions.append(Ticket.status.in_(OPEN_STATUSES))
        elif filters.status:
            conditions.append(Ticket.status == TicketStatus(filters.status))
        if filters.category:
            conditions.append(Ticket.category == filters.category)
        if filters.district:
            conditions.append(Ticket.district == filters.district)
        if filters.urgent:
            conditions.append(Ticket.urgent.is_(True))
        if filters.overdue:
            conditions.append(and_(Ticket.status.in_(OPEN_STATUSES), Ticket.due_date < today))
        if filters.mine:
            conditions.append(
                Ticket.id.in_(select(TicketAssignment.ticket_id).where(TicketAssignment.user_id == account.id))
            )
        if filters.search:
            term = filters.search
            conditions.append(
                or_(
                    Ticket.number.contains(term.upper(), autoescape=True),
                    Ticket.location_text.contains(term, autoescape=True),
                    Ticket.description.contains(term, autoescape=True),
                )
            )
        return conditions

    @staticmethod
    def _order(sort: str) -> list:
        due_missing = Ticket.due_date.is_(None)
        return {
            "due": [due_missing, Ticket.due_date.asc(), Ticket.id.asc()],
            "-due": [due_missing, Ticket.due_date.desc(), Ticket.id.desc()],
            "-created": [Ticket.created_at.desc(), Ticket.id.desc()],
            "created": [Ticket.created_at.asc(), Ticket.id.asc()],
        }[sort]

    def list_page(self, account: Account, filters: TicketFilters, page_size: int) -> TicketPage:
        today = local_today(self.config, self._clock())
        conditions = self._conditions(account, filters, today)
        with self.sessions() as session:
            total = session.execute(select(func.count()).select_from(Ticket).where(*conditions)).scalar_one()
            page = min(filters.page, max(1, -(-total // page_size)))
            tickets = (
                session.execute(
                    select(Ticket)
                    .where(*conditions)
                    .order_by(*self._order(filters.sort))
                    .offset((page - 1) * page_size)
                    .limit(page_size)
                )
                .scalars()
                .all()
            )
            rows = self._rows(session, tickets, today)
        return TicketPage(tuple(rows), total, page, page_size, replace(filters, page=page))

    def export_rows(self, account: Account, filters: TicketFilters) -> list[TicketRow]:
        today = local_today(self.config, self._clock())
        conditions = self._conditions(account, filters, today)
        with self.sessions() as session:
            tickets = (
                session.execute(
                    select(Ticket).where(*conditions).order_by(*self._order(filters.sort)).limit(MAX_EXPORT_ROWS)
                )
                .scalars()
                .all()
            )
            return self._rows(session, tickets, today)

    def _rows(self, session: Session, tickets: list[Ticket], today: date) -> list[TicketRow]:
        assignees = self._assignee_names(session, [ticket.id for ticket in tickets])
        return [self._row(ticket, today, assignees.get(ticket.id)) for ticket in tickets]

    @staticmethod
    def _assignee_names(session: Session, ticket_ids: list[int]) -> dict[int, str]:
        if not ticket_ids:
            return {}
        rows = session.execute(
            select(TicketAssignment.ticket_id, StaffUser.display_name)
            .join(StaffUser, StaffUser.id == TicketAssignment.user_id)
            .where(TicketAssignment.ticket_id.in_(ticket_ids))
        ).all()
        return {ticket_id: name for ticket_id, name in rows}

    def _row(self, ticket: Ticket, today: date, assignee: str | None) -> TicketRow:
        config = self.config
        department = config.departments.get(ticket.department_id)
        return TicketRow(
            number=ticket.number,
            category=ticket.category,
            label=category_label(config, ticket),
            department_id=ticket.department_id,
            department_name=department.name if department else ticket.department_id,
            district=ticket.district,
            location_text=ticket.location_text,
            description=ticket.description,
            status=ticket.status,
            urgent=ticket.urgent,
            due_date=ticket.due_date,
            overdue=is_overdue(ticket, today),
            created_at=ticket.created_at.astimezone(self._zone()),
            assignee=assignee,
            contact_masked=CONTACT_HIDDEN if ticket.contact_phone else None,
        )

    # --- one ticket ------------------------------------------------------------------------------

    def detail(self, account: Account, number: str) -> TicketDetail:
        today = local_today(self.config, self._clock())
        with self.sessions() as session:
            ticket = load_ticket(session, number, account)
            assignment = session.get(TicketAssignment, ticket.id)
            assignee = session.get(StaffUser, assignment.user_id) if assignment else None
            return TicketDetail(
                row=self._row(ticket, today, assignee.display_name if assignee else None),
                ticket_id=ticket.id,
                photo_url=ticket.photo_url,
                emergency_type=ticket.emergency_type,
                has_contact=ticket.contact_phone is not None,
                consent_text_version=ticket.consent_text_version,
                assignee_id=assignee.id if assignee else None,
                watchers=len(ticket.watchers),
                history=tuple(self._history(session, ticket)),
            )

    def _history(self, session: Session, ticket: Ticket) -> list[HistoryItem]:
        zone = self._zone()
        names = dict(session.execute(select(StaffUser.username, StaffUser.display_name)).all())

        def who(actor: str) -> str:
            if actor == SYSTEM_ACTOR:
                return "시스템"
            return names.get(actor) or ("시민" if not actor.startswith("open311:") else "Open311")

        items: list[tuple[datetime, int, HistoryItem]] = []
        for event in ticket.events:
            items.append(
                (
                    event.created_at,
                    0,
                    HistoryItem(event.created_at.astimezone(zone), who(event.actor), _event_text(event), event.note),
                )
            )
        notes = session.execute(select(TicketNote).where(TicketNote.ticket_id == ticket.id)).scalars()
        for note in notes:
            what = "시민에게 답변" if note.kind is NoteKind.REPLY else "내부 메모"
            items.append(
                (
                    note.created_at,
                    1,
                    HistoryItem(note.created_at.astimezone(zone), who(note.author), what, note.body, note.kind.value),
                )
            )
        for entry in entries_for_ticket(session, ticket.id):
            text = _audit_text(entry.action, entry.detail, names)
            if text:
                items.append(
                    (entry.at, 2, HistoryItem(entry.at.astimezone(zone), who(entry.actor), text, kind="audit"))
                )
        notices = session.execute(
            select(CitizenNotice, OutboxEntry)
            .outerjoin(OutboxEntry, OutboxEntry.id == CitizenNotice.outbox_entry_id)
            .where(CitizenNotice.ticket_id == ticket.id)
        ).all()
        for notice, entry in notices:
            if notice.shown_at is not None:
                items.append(
                    (
                        notice.shown_at,
                        3,
                        HistoryItem(
                            notice.shown_at.astimezone(zone), "시민", "챗봇 조회에서 알림을 확인함", kind="audit"
                        ),
                    )
                )
            elif entry is not None and entry.state is OutboxState.DELIVERED and entry.delivered_at:
                items.append(
                    (
                        entry.delivered_at,
                        3,
                        HistoryItem(
                            entry.delivered_at.astimezone(zone), "시스템", "카카오톡으로 알림을 보냄", kind="audit"
                        ),
                    )
                )
        return [item for _, _, item in sorted(items, key=lambda entry: (entry[0], entry[1]))]


def _event_text(event: TicketEvent) -> str:
    if event.kind is TicketEventKind.CREATED:
        return "민원 접수"
    if event.kind is TicketEventKind.WATCHER_JOINED:
        return "다른 시민이 같은 민원에 함께 알림 신청"
    old = _status_label(event.old_status)
    new = _status_label(event.new_status)
    return f"상태 변경: {old} → {new}"


def _status_label(value: str | None) -> str:
    try:
        return STATUS_LABELS_KO[TicketStatus(value)]
    except ValueError:
        return value or "-"


def _audit_text(action: str, detail: dict[str, Any], names: dict[str, str]) -> str | None:
    if action == "ticket.assigned":
        return f"담당자 배정: {detail.get('assignee_name') or names.get(detail.get('assignee'), '')}"
    if action == "ticket.contact_revealed":
        return "연락처 열람"
    return None  # status changes, notes and replies are shown from their own records
