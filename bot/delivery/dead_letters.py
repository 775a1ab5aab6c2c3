"""Dead letters: entries that failed too often. Staff list them and requeue them once fixed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.city.models import CityConfig, SendTarget
from bot.delivery.outbox import OutboxEntry, OutboxState
from bot.storage.db import utc_now


def list_dead_letters(session_factory: sessionmaker) -> list[OutboxEntry]:
    with session_factory() as session:
        return list(
            session.execute(
                select(OutboxEntry).where(OutboxEntry.state == OutboxState.DEAD).order_by(OutboxEntry.id)
            ).scalars()
        )


def current_send_target(config: CityConfig, entry: OutboxEntry) -> SendTarget | None:
    """Where the entry's recipient receives documents according to today's city data; None for
    an entry to anyone else (an escalation e-mail, a budget office, a citizen)."""
    recipients = {"department": config.departments, "agency": config.agencies}.get(entry.target_kind, {})
    recipient = recipients.get(entry.target_id)
    return recipient.send if recipient is not None else None


def requeue_dead_letter(
    session_factory: sessionmaker, entry_id: int, config: CityConfig | None = None, now: datetime | None = None
) -> bool:
    """Make a dead entry pending again with fresh attempts; with `config`, re-route it to the
    recipient's current send target (e.g. after a wrong URL was fixed). False if not dead."""
    with session_factory.begin() as session:
        entry = session.get(OutboxEntry, entry_id)
        if entry is None or entry.state != OutboxState.DEAD:
            return False
        target = current_send_target(config, entry) if config is not None else None
        if target is not None:
            entry.send_method, entry.destination = target.method, target.destination
        entry.state, entry.attempts = OutboxState.PENDING, 0
        entry.next_attempt_at = now or utc_now()
        return True
