"""What staff send back to citizens: status changes and replies, one row per citizen.

A notice is written in the same transaction as the change it reports. When the Kakao Event API is
configured (KAKAO_BOT_ID / KAKAO_EVENT_API_URL and KAKAO_REST_API_KEY, see
bot/subscriptions/event_api.py) the notice is also queued in the outbox with the send method
`kakao_user`, which the dispatcher delivers with the subscriptions' `KakaoEventSender` (register it
with `citizen_notice_senders()`). Otherwise it waits for the citizen's next status lookup in chat:

    take_pending_notices(sessions, sender_id)  →  notices not yet seen, now marked as shown

A queued notice whose Kakao delivery failed for good (a dead letter) is shown in chat as well, so
a citizen hears back either way; one still on its way by Kakao is not shown twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text, or_, select
from sqlalchemy.orm import Session, sessionmaker

from bot.city.models import CityConfig, SendTarget
from bot.delivery.outbox import OutboxEntry, OutboxState, enqueue
from bot.delivery.senders import Sender
from bot.storage.db import Base, UtcDateTime, utc_now
from bot.subscriptions.event_api import EventApiSettings, KakaoEventSender, event_request
from bot.subscriptions.store import BOT_USER_KEY, Subscriber
from bot.tickets.documents import category_label
from bot.tickets.models import STATUS_LABELS_KO, Ticket, TicketStatus

CITIZEN_NOTICE_METHOD = "kakao_user"  # outbox send method (the column holds 10 characters)
OUTBOX_TARGET_KIND = "citizen"
# Tickets filed through the Open311 API carry sender ids "open311:<client>:<device>": no Kakao user.
EXTERNAL_SENDER_PREFIX = "open311:"
MAX_MESSAGE_CHARS = 800  # the staff text; with its header the notice fits one Kakao bubble (1000)

STATUS_KIND = "status"
REPLY_KIND = "reply"

STATUS_SENTENCES = {
    TicketStatus.RECEIVED: "민원이 다시 접수되었어요.",
    TicketStatus.IN_PROGRESS: "담당 부서에서 민원 처리를 시작했어요.",
    TicketStatus.RESOLVED: "민원 처리가 완료되었어요.",
    TicketStatus.REJECTED: "민원이 반려되었어요.",
    TicketStatus.TRANSFERRED: "민원이 다른 기관으로 이송되었어요.",
}
TRANSFER_SENTENCE = "담당 부서가 {department}(으)로 바뀌었어요."
REASON_LINE = "사유: {text}"
MESSAGE_LINE = "담당자 메시지: {text}"
CONTACT_LINE = "문의: {department} ☎ {phone}"
STATUS_HEADER = "[{city} 민원 알림] {number} {label}"
REPLY_HEADER = "[{city} 민원 답변] {number} {label}"
CHAT_HEADER = "📬 민원에 새 소식이 있어요."


class CitizenNotice(Base):
    __tablename__ = "citizen_notices"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    ticket_number = Column(String(32), nullable=False)
    recipient = Column(String(128), nullable=False)  # the citizen's Kakao user key (ticket sender id)
    kind = Column(String(12), nullable=False)  # STATUS_KIND or REPLY_KIND
    text = Column(Text, nullable=False)
    created_by = Column(String(40), nullable=False)
    created_at = Column(UtcDateTime, nullable=False, default=utc_now)
    outbox_entry_id = Column(Integer, ForeignKey("outbox.id", ondelete="SET NULL"))
    shown_at = Column(UtcDateTime)  # shown in chat at a status lookup

    __table_args__ = (Index("ix_citizen_notices_pending", "recipient", "shown_at"),)


@dataclass(frozen=True)
class PendingNotice:
    ticket_number: str
    kind: str
    text: str
    created_at: datetime


def reaches_kakao(sender_id: str) -> bool:
    return bool(sender_id) and not sender_id.startswith(EXTERNAL_SENDER_PREFIX)


# --- texts ---------------------------------------------------------------------------------------


def _header(template: str, config: CityConfig, ticket: Ticket) -> str:
    return template.format(city=config.profile.name, number=ticket.number, label=category_label(config, ticket))


def _contact(config: CityConfig, ticket: Ticket) -> str:
    department = config.departments[ticket.department_id]
    return CONTACT_LINE.format(department=department.name, phone=department.phone)


def status_notice_text(
    config: CityConfig,
    ticket: Ticket,
    status: TicketStatus,
    message: str | None = None,
    reason: str | None = None,
    transferred_to: str | None = None,
) -> str:
    lines = [_header(STATUS_HEADER, config, ticket)]
    if transferred_to:
        lines.append(TRANSFER_SENTENCE.format(department=transferred_to))
    else:
        lines.append(f"{STATUS_SENTENCES[status]} (상태: {STATUS_LABELS_KO[status]})")
    if reason:
        lines.append(REASON_LINE.format(text=reason))
    if message:
        lines.append(MESSAGE_LINE.format(text=message))
    lines.append(_contact(config, ticket))
    return "\n".join(lines)


def reply_notice_text(config: CityConfig, ticket: Ticket, body: str) -> str:
    return "\n".join((_header(REPLY_HEADER, config, ticket), body, _contact(config, ticket)))


# --- queueing --------------------------------------------------------------------------------------


def queue_notice(
    session: Session,
    ticket: Ticket,
    recipient: str,
    kind: str,
    text: str,
    *,
    created_by: str,
    now: datetime,
    event_api: EventApiSettings,
) -> CitizenNotice | None:
    """Add a notice for one citizen to the caller's transaction (and its Kakao delivery to the
    outbox when the Event API is configured). None when the recipient is not a Kakao user."""
    if not reaches_kakao(recipient):
        return None
    notice = CitizenNotice(
        ticket_id=ticket.id,
        ticket_number=ticket.number,
        recipient=recipient,
        kind=kind,
        text=text,
        created_by=created_by,
        created_at=now,
    )
    session.add(notice)
    session.flush()
    if not event_api.problems():
        params = {"ticket_number": ticket.number, "kind": kind, "text": text}
        entry = enqueue(
            session,
            target_kind=OUTBOX_TARGET_KIND,
            target_id=str(notice.id),
            send=SendTarget(method=CITIZEN_NOTICE_METHOD, destination=event_api.endpoint_url),
            payload={
                "ticket": {"number": ticket.number},
                "citizen_notice": {"id": notice.id, "kind": kind},
                "event_api": event_request(event_api, [Subscriber(recipient, BOT_USER_KEY)], params, text),
            },
            idempotency_key=f"citizen-notice-{notice.id}",
            ticket_id=ticket.id,
            now=now,
        )
        session.flush()
        notice.outbox_entry_id = entry.id
    return notice


def notify_status(
    session: Session,
    config: CityConfig,
    ticket: Ticket,
    watchers: Sequence[str],
    status: TicketStatus,
    *,
    created_by: str,
    now: datetime,
    event_api: EventApiSettings,
    message: str | None = None,
    reason: str | None = None,
    transferred_to: str | None = None,
) -> list[CitizenNotice]:
    """The owner hears the status with the staff message and reason; citizens watching the ticket
    hear the status and the reason only (the message may be personal to the owner)."""
    owner_text = status_notice_text(config, ticket, status, message, reason, transferred_to)
    watcher_text = status_notice_text(config, ticket, status, None, reason, transferred_to)
    notices = [
        queue_notice(
            session,
            ticket,
            ticket.sender_id,
            STATUS_KIND,
            owner_text,
            created_by=created_by,
            now=now,
            event_api=event_api,
        )
    ]
    notices += [
        queue_notice(
            session, ticket, watcher, STATUS_KIND, watcher_text, created_by=created_by, now=now, event_api=event_api
        )
        for watcher in watchers
        if watcher != ticket.sender_id
    ]
    return [notice for notice in notices if notice is not None]


# --- the chat's side ----------------------------------------------------------------------------


def take_pending_notices(
    session_factory: sessionmaker, sender_id: str, ticket_number: str | None = None, now: datetime | None = None
) -> list[PendingNotice]:
    """Notices for this citizen not yet seen (oldest first), marked as shown in the same
    transaction so that each is shown once. With `ticket_number`, only that ticket's."""
    if not sender_id:
        return []
    now = now or utc_now()
    query = (
        select(CitizenNotice)
        .outerjoin(OutboxEntry, OutboxEntry.id == CitizenNotice.outbox_entry_id)
        .where(
            CitizenNotice.recipient == sender_id,
            CitizenNotice.shown_at.is_(None),
            or_(CitizenNotice.outbox_entry_id.is_(None), OutboxEntry.state == OutboxState.DEAD),
        )
        .order_by(CitizenNotice.id)
        .with_for_update(of=CitizenNotice)
    )
    if ticket_number:
        query = query.where(CitizenNotice.ticket_number == ticket_number)
    with session_factory.begin() as session:
        notices = list(session.execute(query).scalars())
        for notice in notices:
            notice.shown_at = now
        return [PendingNotice(n.ticket_number, n.kind, n.text, n.created_at) for n in notices]


def pending_notices_text(notices: Sequence[PendingNotice]) -> str | None:
    """The chat message for `take_pending_notices`' result (None when there is nothing)."""
    if not notices:
        return None
    return "\n\n".join([CHAT_HEADER, *(notice.text for notice in notices)])


def citizen_notice_senders(settings: EventApiSettings | None = None) -> dict[str, Sender]:
    """The dispatcher's send method for citizen notices: add it to its senders,
    `Dispatcher(sessions, settings, senders={**default_senders(s), **citizen_notice_senders()})`."""
    return {CITIZEN_NOTICE_METHOD: KakaoEventSender(settings or EventApiSettings.from_env())}
