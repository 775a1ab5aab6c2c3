"""Staff notices to a topic's (or district's) subscribers, queued in the outbox.

`broadcast()` is what the CLI and the staff console call: in one transaction it records the
Broadcast and adds one outbox entry per batch of at most 100 subscribers; the dispatcher
(`python -m bot.delivery run`, with the Kakao Event send method) delivers and retries them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.city.models import SendTarget
from bot.delivery.outbox import enqueue
from bot.storage.db import utc_now
from bot.subscriptions.catalogue import Catalogue
from bot.subscriptions.event_api import KAKAO_EVENT, MAX_USERS_PER_REQUEST, EventApiSettings, event_request
from bot.subscriptions.models import Broadcast
from bot.subscriptions.store import Subscriber, SubscriptionStore

MAX_NOTICE_CHARS = 900  # the notice and its "[title]" header fit one Kakao text bubble (1000)
OUTBOX_TARGET_KIND = "broadcast"


class BroadcastError(ValueError):
    """The broadcast cannot be queued (unknown target, bad text, Event API not configured)."""


@dataclass(frozen=True)
class BroadcastResult:
    broadcast_id: int
    target: str
    recipients: int
    batches: int


def notice_text(title: str, text: str) -> str:
    return f"[{title}]\n{text}"


def _batches(recipients: list[Subscriber]) -> list[list[Subscriber]]:
    return [recipients[i : i + MAX_USERS_PER_REQUEST] for i in range(0, len(recipients), MAX_USERS_PER_REQUEST)]


def broadcast(
    store: SubscriptionStore,
    catalogue: Catalogue,
    target: str,
    text: str,
    *,
    sent_by: str,
    settings: EventApiSettings | None = None,
    now: datetime | None = None,
) -> BroadcastResult:
    settings = settings or EventApiSettings.from_env()
    subscription_target = catalogue.get(target)
    if subscription_target is None:
        raise BroadcastError(
            f"unknown subscription target '{target}' (one of: {', '.join(t.key for t in catalogue.targets)})"
        )
    text = (text or "").strip()
    if not text or len(text) > MAX_NOTICE_CHARS:
        raise BroadcastError(f"the notice must have 1-{MAX_NOTICE_CHARS} characters, got {len(text)}")
    if settings.problems():
        raise BroadcastError("Kakao Event API is not configured: " + "; ".join(settings.problems()))
    now = now or utc_now()
    params = {"topic": target, "topic_title": subscription_target.title, "text": text}
    message = notice_text(subscription_target.title, text)
    with store.sessions.begin() as session:
        recipients = store.recipients_in(session, target)
        record = Broadcast(target=target, text=text, sent_by=sent_by, created_at=now, recipient_count=len(recipients))
        session.add(record)
        session.flush()
        batches = _batches(recipients)
        for index, batch in enumerate(batches):
            enqueue(
                session,
                target_kind=OUTBOX_TARGET_KIND,
                target_id=str(record.id),
                send=SendTarget(method=KAKAO_EVENT, destination=settings.endpoint_url),
                payload={
                    "broadcast": {"id": record.id, "target": target, "batch": index},
                    "event_api": event_request(settings, batch, params, message),
                },
                idempotency_key=f"broadcast-{record.id}-batch-{index}",
                now=now,
            )
        record.batch_count = len(batches)
        return BroadcastResult(record.id, target, len(recipients), len(batches))
