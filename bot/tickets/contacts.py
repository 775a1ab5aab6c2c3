"""Encrypting the contact numbers stored before encryption at rest existed: in `tickets.contact_phone`,
`budget_proposals.contact_phone` and in outbox payloads (bot.privacy.encryption, key SOTONG_DATA_KEY).

Sealing and revealing one number is bot.privacy.contacts (`seal_phone`, `reveal_phone`): the stores
seal a number when they file the ticket or proposal; it is opened only where someone legitimately
needs it in full (see that module).

    python -m bot.tickets encrypt-contacts    encrypt numbers stored before encryption existed
"""

from __future__ import annotations

import json

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from bot.delivery.outbox import payload_json_of
from bot.privacy.contacts import seal_phone
from bot.privacy.encryption import data_key_configured

__all__ = ["encrypt_budget_contacts", "encrypt_stored_contacts", "encrypt_ticket_contacts"]

# Tables whose contact_phone column holds a (sealed) citizen's number.
TICKETS, BUDGET_PROPOSALS = "tickets", "budget_proposals"


def encrypt_stored_contacts(connection: Connection) -> int | None:
    """Encrypt plain contact numbers left in tickets, budget proposals and outbox payloads; how
    many values changed, or None when no data key is configured (nothing is touched then).
    Idempotent."""
    if not data_key_configured():
        return None
    return encrypt_ticket_contacts(connection) + encrypt_budget_contacts(connection)


def encrypt_ticket_contacts(connection: Connection) -> int | None:
    """Tickets and outbox payloads only (migration ae1aa60b0e15, which widened tickets' column)."""
    if not data_key_configured():
        return None
    changed = _seal_column(connection, TICKETS)
    entries = connection.execute(
        text("SELECT id, payload_json FROM outbox WHERE payload_json LIKE '%\"phone\"%'")
    ).all()
    for entry_id, payload_json in entries:
        sealed = payload_json_of(json.loads(payload_json))
        if sealed != payload_json:
            connection.execute(
                text("UPDATE outbox SET payload_json = :payload WHERE id = :id"), {"payload": sealed, "id": entry_id}
            )
            changed += 1
    return changed


def encrypt_budget_contacts(connection: Connection) -> int | None:
    """Budget proposals only (migration d4a9b21c6e58, which widened their column)."""
    if not data_key_configured():
        return None
    return _seal_column(connection, BUDGET_PROPOSALS)


def _seal_column(connection: Connection, table: str) -> int:
    if table not in (TICKETS, BUDGET_PROPOSALS):
        raise ValueError(f"no contact column in {table}")
    if not inspect(connection).has_table(table):  # e.g. a tickets-only database (no budget module)
        return 0
    rows = connection.execute(
        text(
            f"SELECT id, contact_phone FROM {table} WHERE contact_phone IS NOT NULL AND contact_phone NOT LIKE 'enc1:%'"
        )
    ).all()
    for row_id, phone in rows:
        connection.execute(
            text(f"UPDATE {table} SET contact_phone = :phone WHERE id = :id"),
            {"phone": seal_phone(phone), "id": row_id},
        )
    return len(rows)
