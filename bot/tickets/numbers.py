"""Human-friendly ticket numbers: PREFIX-YEAR-NNNNNN (GY-2026-000123), one sequence per year."""

from __future__ import annotations

import re

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.tickets.models import TicketSequence

SEQUENCE_DIGITS = 6
_TYPED_NUMBER = re.compile(r"(?<![A-Za-z])([A-Za-z]{2,5})\s*-?\s*(\d{4})\s*-?\s*(\d{1,9})(?!\d)")


def format_ticket_number(prefix: str, year: int, sequence: int) -> str:
    return f"{prefix}-{year}-{sequence:0{SEQUENCE_DIGITS}d}"


def parse_ticket_number(text: str, prefix: str) -> str | None:
    """The canonical number typed somewhere in `text` ("gy-2026-123" → "GY-2026-000123")."""
    for match in _TYPED_NUMBER.finditer(text or ""):
        typed_prefix, year, sequence = match.groups()
        if typed_prefix.upper() == prefix.upper():
            return format_ticket_number(prefix, int(year), int(sequence))
    return None


def next_ticket_number(session: Session, prefix: str, year: int) -> str:
    """Take the next number of `year` inside the caller's transaction.

    The sequence row is incremented with one UPDATE, which serialises concurrent callers on the
    row (PostgreSQL) or the database (SQLite, BEGIN IMMEDIATE); the first number of a year
    inserts the row, and a concurrent first insert is retried as an update.
    """
    return format_ticket_number(prefix, year, _increment(session, prefix, year))


def _increment(session: Session, prefix: str, year: int) -> int:
    row = (TicketSequence.prefix == prefix) & (TicketSequence.year == year)
    updated = session.execute(
        update(TicketSequence).where(row).values(last_value=TicketSequence.last_value + 1)
    ).rowcount
    if not updated:
        try:
            with session.begin_nested():
                session.add(TicketSequence(prefix=prefix, year=year, last_value=1))
            return 1
        except IntegrityError:  # another transaction created the year's row first
            session.execute(update(TicketSequence).where(row).values(last_value=TicketSequence.last_value + 1))
    return session.execute(select(TicketSequence.last_value).where(row)).scalar_one()
