"""Staff work on a ticket: accept, assign, change status, transfer, notes and replies, revealing
the citizen's phone number.

Each operation is one transaction that checks the account may work on the ticket's department,
changes the ticket, writes its history line (ticket_events), the audit log line, the notices to
the citizen(s) (see bot.tickets.notices) and, for a transfer, the ticket document for the new
department in the outbox. Either all of it is stored or none of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.city.models import CityConfig
from bot.delivery.outbox import enqueue
from bot.privacy.contacts import reveal_phone
from bot.staff import transitions
from bot.staff.accounts import Account, StaffUser
from bot.staff.audit import Actor, record
from bot.staff.errors import AccessDenied, ActionRefused, TicketNotFound
from bot.staff.ticket_records import NoteKind, TicketAssignment, TicketNote
from bot.storage.db import utc_now
from bot.subscriptions.event_api import EventApiSettings
from bot.tickets.documents import idempotency_key, ticket_document
from bot.tickets.models import STATUS_LABELS_KO, Ticket, TicketEvent, TicketEventKind, TicketStatus, TicketWatcher
from bot.tickets.notices import (
    MAX_MESSAGE_CHARS,
    REPLY_KIND,
    notify_status,
    queue_notice,
    reply_notice_text,
)
from bot.tickets.routing import DEPARTMENT, Recipient
from bot.tickets.store import SYSTEM_ACTOR
from bot.trainer.signals import record_staff_correction

TICKET_TRANSFERRED = "ticket.transferred"
MAX_NOTE_CHARS = 2000


@dataclass(frozen=True)
class StaffMember:
    """The account acting, and from where (for the audit log)."""

    account: Account
    ip: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.account.username, self.account.role.value, self.ip)


def load_ticket(session: Session, number: str, account: Account, for_update: bool = False) -> Ticket:
    """The ticket with this number, if the account may work on its department."""
    query = select(Ticket).where(Ticket.number == number)
    if for_update:
        query = query.with_for_update()
    ticket = session.execute(query).scalar_one_or_none()
    if ticket is None:
        raise TicketNotFound(number)
    if not account.may_work_on(ticket.department_id):
        raise AccessDenied(f"ticket {number} belongs to department {ticket.department_id}")
    return ticket


def _clean(text: str | None, max_chars: int, what: str, required: bool) -> str | None:
    text = (text or "").strip()
    if required and not text:
        raise ActionRefused(f"{what}을(를) 입력해 주세요.")
    if len(text) > max_chars:
        raise ActionRefused(f"{what}은(는) {max_chars}자까지 쓸 수 있어요.")
    return text or None


class TicketDesk:
    def __init__(
        self,
        session_factory: sessionmaker,
        config: Callable[[], CityConfig],
        event_api: Callable[[], EventApiSettings] = EventApiSettings.from_env,
        clock: Callable[[], datetime] = utc_now,
    ):
        self.sessions = session_factory
        self._config = config
        self._event_api = event_api
        self._clock = clock

    @property
    def config(self) -> CityConfig:
        return self._config()

    # --- status ----------------------------------------------------------------------------------

    def change_status(
        self,
        who: StaffMember,
        number: str,
        new_status: TicketStatus,
        *,
        message: str | None = None,
        reason: str | None = None,
        expected_status: TicketStatus | None = None,
    ) -> TicketStatus:
        """Move the ticket to `new_status`; the citizen is told, with `message` (and `reason`)."""
        with self.sessions.begin() as session:
            ticket = load_ticket(session, number, who.account, for_update=True)
            self._set_status(
                session, who, ticket, new_status, message=message, reason=reason, expected_status=expected_status
            )
            return ticket.status

    def accept(self, who: StaffMember, number: str) -> None:
        """Take the ticket: assigned to oneself, and in progress if it was only received."""
        with self.sessions.begin() as session:
            ticket = load_ticket(session, number, who.account, for_update=True)
            self._assign(session, who, ticket, who.account.id)
            if ticket.status is TicketStatus.RECEIVED:
                self._set_status(session, who, ticket, TicketStatus.IN_PROGRESS)

    def _set_status(
        self,
        session: Session,
        who: StaffMember,
        ticket: Ticket,
        new_status: TicketStatus,
        *,
        message: str | None = None,
        reason: str | None = None,
        expected_status: TicketStatus | None = None,
    ) -> None:
        old_status = ticket.status
        if expected_status is not None and expected_status is not old_status:
            raise ActionRefused(
                f"다른 담당자가 먼저 상태를 '{STATUS_LABELS_KO[old_status]}'(으)로 바꿨어요. "
                "화면을 새로 고친 뒤 다시 확인해 주세요."
            )
        if not transitions.is_allowed(old_status, new_status):
            raise ActionRefused(
                f"'{STATUS_LABELS_KO[old_status]}' 상태에서 '{STATUS_LABELS_KO[new_status]}'(으)로 바꿀 수 없어요."
            )
        reason = _clean(reason, MAX_MESSAGE_CHARS, "사유", transitions.needs_reason(old_status, new_status))
        message = _clean(message, MAX_MESSAGE_CHARS, "시민에게 보낼 메시지", required=False)
        now = self._clock()
        ticket.status, ticket.updated_at = new_status, now
        session.add(
            TicketEvent(
                ticket_id=ticket.id,
                kind=TicketEventKind.STATUS_CHANGED,
                old_status=old_status.value,
                new_status=new_status.value,
                actor=who.account.username,
                note=_joined(reason, message),
                created_at=now,
            )
        )
        record(
            session,
            who.actor,
            "ticket.status_changed",
            ticket_id=ticket.id,
            ticket_number=ticket.number,
            department_id=ticket.department_id,
            now=now,
            old=old_status.value,
            new=new_status.value,
            reason=reason or "",
            message=message or "",
        )
        notify_status(
            session,
            self.config,
            ticket,
            self._watchers(session, ticket),
            new_status,
            created_by=who.account.username,
            now=now,
            event_api=self._event_api(),
            message=message,
            reason=reason,
        )

    # --- assignment ------------------------------------------------------------------------------

    def assign(self, who: StaffMember, number: str, assignee_id: int) -> None:
        with self.sessions.begin() as session:
            ticket = load_ticket(session, number, who.account, for_update=True)
            self._assign(session, who, ticket, assignee_id)

    def _assign(self, session: Session, who: StaffMember, ticket: Ticket, assignee_id: int) -> None:
        assignee = session.get(StaffUser, assignee_id)
        if assignee is None or not assignee.active or assignee.department_id != ticket.department_id:
            raise ActionRefused("이 민원의 담당 부서에 속한 직원에게만 배정할 수 있어요.")
        now = self._clock()
        assignment = session.get(TicketAssignment, ticket.id)
        if assignment is not None and assignment.user_id == assignee.id:
            return
        previous = session.get(StaffUser, assignment.user_id).username if assignment else None
        if assignment is None:
            assignment = TicketAssignment(ticket_id=ticket.id)
            session.add(assignment)
        assignment.user_id, assignment.assigned_by, assignment.assigned_at = assignee.id, who.account.username, now
        record(
            session,
            who.actor,
            "ticket.assigned",
            ticket_id=ticket.id,
            ticket_number=ticket.number,
            department_id=ticket.department_id,
            now=now,
            assignee=assignee.username,
            assignee_name=assignee.display_name,
            previous=previous or "",
        )

    # --- transfer --------------------------------------------------------------------------------

    def transfer(self, who: StaffMember, number: str, department_id: str, reason: str) -> None:
        """Hand the ticket to another department: it passes through "transferred" and is received
        again there; the new department gets the ticket document through the outbox."""
        config = self.config
        target = config.departments.get(department_id)
        if target is None:
            raise ActionRefused("이관할 부서를 골라 주세요.")
        reason = _clean(reason, MAX_MESSAGE_CHARS, "이관 사유", required=True)
        with self.sessions.begin() as session:
            ticket = load_ticket(session, number, who.account, for_update=True)
            if not transitions.can_transfer(ticket.status):
                raise ActionRefused("처리 중이거나 접수된 민원만 이관할 수 있어요.")
            if ticket.department_id == target.id:
                raise ActionRefused("이미 이 부서의 민원이에요.")
            source = config.departments[ticket.department_id]
            now = self._clock()
            old_status = ticket.status
            session.add(
                TicketEvent(
                    ticket_id=ticket.id,
                    kind=TicketEventKind.STATUS_CHANGED,
                    old_status=old_status.value,
                    new_status=TicketStatus.TRANSFERRED.value,
                    actor=who.account.username,
                    created_at=now,
                    note=f"{source.name} → {target.name}: {reason}",
                )
            )
            transfer_event = TicketEvent(
                ticket_id=ticket.id,
                kind=TicketEventKind.STATUS_CHANGED,
                old_status=TicketStatus.TRANSFERRED.value,
                new_status=TicketStatus.RECEIVED.value,
                actor=SYSTEM_ACTOR,
                created_at=now,
                note=f"{target.name} 접수",
            )
            session.add(transfer_event)
            ticket.department_id, ticket.status, ticket.updated_at = target.id, TicketStatus.RECEIVED, now
            assignment = session.get(TicketAssignment, ticket.id)
            if assignment is not None:
                session.delete(assignment)
            session.flush()
            recipient = Recipient(DEPARTMENT, target.id, target.name, target.send)
            document = ticket_document(config, ticket, recipient, event=TICKET_TRANSFERRED)
            document["transfer"] = {
                "from_department": {"id": source.id, "name": source.name},
                "reason": reason,
                "by": who.account.username,
                "at": now.isoformat(),
            }
            enqueue(
                session,
                ticket_id=ticket.id,
                target_kind=DEPARTMENT,
                target_id=target.id,
                send=target.send,
                payload=document,
                now=now,
                idempotency_key=idempotency_key(ticket, recipient, f"{TICKET_TRANSFERRED}#{transfer_event.id}"),
            )
            record(
                session,
                who.actor,
                "ticket.transferred",
                ticket_id=ticket.id,
                ticket_number=ticket.number,
                department_id=source.id,
                now=now,
                old=old_status.value,
                to_department=target.id,
                reason=reason,
            )
            # A correction label for the training inbox: the category's routing was wrong for this text.
            record_staff_correction(
                session, ticket.description, category=ticket.category, old=source.id, new=target.id, what="department"
            )
            notify_status(
                session,
                config,
                ticket,
                self._watchers(session, ticket),
                TicketStatus.RECEIVED,
                created_by=who.account.username,
                now=now,
                event_api=self._event_api(),
                reason=reason,
                transferred_to=target.name,
            )

    # --- notes and replies -----------------------------------------------------------------------

    def add_note(self, who: StaffMember, number: str, body: str, kind: NoteKind) -> None:
        """An internal note (staff only) or a reply to the citizen who filed the ticket."""
        limit = MAX_MESSAGE_CHARS if kind is NoteKind.REPLY else MAX_NOTE_CHARS
        body = _clean(body, limit, "답변" if kind is NoteKind.REPLY else "메모", required=True)
        with self.sessions.begin() as session:
            ticket = load_ticket(session, number, who.account, for_update=True)
            now = self._clock()
            note = TicketNote(ticket_id=ticket.id, kind=kind, author=who.account.username, body=body, created_at=now)
            session.add(note)
            session.flush()
            action = "ticket.replied" if kind is NoteKind.REPLY else "ticket.note_added"
            record(
                session,
                who.actor,
                action,
                ticket_id=ticket.id,
                ticket_number=ticket.number,
                department_id=ticket.department_id,
                now=now,
                note_id=note.id,
                length=len(body),
            )
            if kind is NoteKind.REPLY:
                queue_notice(
                    session,
                    ticket,
                    ticket.sender_id,
                    REPLY_KIND,
                    reply_notice_text(self.config, ticket, body),
                    created_by=who.account.username,
                    now=now,
                    event_api=self._event_api(),
                )

    # --- the citizen's contact -------------------------------------------------------------------

    def reveal_contact(self, who: StaffMember, number: str) -> str | None:
        """The citizen's full phone number (None: anonymous); every look is in the audit log."""
        with self.sessions.begin() as session:
            ticket = load_ticket(session, number, who.account)
            record(
                session,
                who.actor,
                "ticket.contact_revealed",
                ticket_id=ticket.id,
                ticket_number=ticket.number,
                department_id=ticket.department_id,
                now=self._clock(),
                anonymous=ticket.contact_phone is None,
            )
            return reveal_phone(ticket.contact_phone)

    # --- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _watchers(session: Session, ticket: Ticket) -> list[str]:
        return list(
            session.execute(
                select(TicketWatcher.sender_id).where(TicketWatcher.ticket_id == ticket.id).order_by(TicketWatcher.id)
            ).scalars()
        )


def _joined(*parts: str | None) -> str | None:
    text = "\n".join(part for part in parts if part)
    return text or None
