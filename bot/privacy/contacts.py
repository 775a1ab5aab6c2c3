"""Citizens' contact numbers at rest, for every record that keeps one (tickets, budget proposals).

A number is stored sealed (bot.privacy.encryption, key SOTONG_DATA_KEY) and opened only where someone
legitimately needs it in full: the dispatcher right before sending to the department or PB office
(bot.delivery.outbox.open_contacts), the console's audited "reveal contact" action for tickets, and
the PB office's budget results with contacts (`python -m bot.budget results --with-contacts`).
"""

from __future__ import annotations

from bot.privacy.encryption import data_cipher


def seal_phone(phone: str | None) -> str | None:
    """How a contact number is stored (None stays None: anonymous)."""
    return data_cipher().encrypt(phone) if phone else None


def reveal_phone(stored: str | None) -> str | None:
    """The plain number of a stored one (legacy plain values pass through). Only where the full
    number is legitimately shown; see the module docstring."""
    return data_cipher().decrypt(stored)
