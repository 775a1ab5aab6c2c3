"""Citizens' contact numbers at rest: encrypted in `tickets.contact_phone` and in outbox payloads
(bot.encryption, key SOTONG_DATA_KEY). The store seals a number when it files the ticket; it is
opened in two places only: the dispatcher, right before sending to the department
(bot.delivery.dispatcher), and the console's audited "reveal contact" action (`reveal_phone`).

    python -m bot.tickets encrypt-contacts    encrypt numbers stored before encryption existed
"""
from __future__ import annotations

import json
import os
from typing import Optional

from sqlalchemy import text
from sqlalchemy.engine import Connection

from bot.delivery.outbox import payload_json_of
from bot.encryption import KEY_ENV, data_cipher


def seal_phone(phone: Optional[str]) -> Optional[str]:
    """How a contact number is stored (None stays None: anonymous)."""
    return data_cipher().encrypt(phone) if phone else None


def reveal_phone(stored: Optional[str]) -> Optional[str]:
    """The plain number of a stored one. Only for the audited reveal in the console."""
    return data_cipher().decrypt(stored)


def encrypt_stored_contacts(connection: Connection) -> Optional[int]:
    """Encrypt plain contact numbers left in tickets and outbox payloads; how many values changed,
    or None when no data key is configured (nothing is touched then). Idempotent."""
    if not os.environ.get(KEY_ENV):
        return None
    changed = 0
    tickets = connection.execute(text(
        "SELECT id, contact_phone FROM tickets WHERE contact_phone IS NOT NULL AND contact_phone NOT LIKE 'enc1:%'"
    )).all()
    for ticket_id, phone in tickets:
        connection.execute(text("UPDATE tickets SET contact_phone = :phone WHERE id = :id"),
                           {"phone": seal_phone(phone), "id": ticket_id})
        changed += 1
    entries = connection.execute(text("SELECT id, payload_json FROM outbox WHERE payload_json LIKE '%\"phone\"%'")).all()
    for entry_id, payload_json in entries:
        sealed = payload_json_of(json.loads(payload_json))
        if sealed != payload_json:
            connection.execute(text("UPDATE outbox SET payload_json = :payload WHERE id = :id"),
                               {"payload": sealed, "id": entry_id})
            changed += 1
    return changed
