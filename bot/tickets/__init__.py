"""Complaint tickets: SQL models, numbering, business-day deadlines and the ticket store.

Start with `open_ticket_store(config)`; see store.TicketStore for the operations.
"""

from bot.tickets.models import OPEN_STATUSES, STATUS_LABELS_KO, Ticket, TicketStatus
from bot.tickets.store import (
    ComplaintDraft,
    EmergencyReport,
    JoinOutcome,
    TicketInputError,
    TicketReceipt,
    TicketStore,
    TicketView,
    open_database,
    open_ticket_store,
)

__all__ = [
    "OPEN_STATUSES",
    "STATUS_LABELS_KO",
    "ComplaintDraft",
    "EmergencyReport",
    "JoinOutcome",
    "Ticket",
    "TicketInputError",
    "TicketReceipt",
    "TicketStatus",
    "TicketStore",
    "TicketView",
    "open_database",
    "open_ticket_store",
]
