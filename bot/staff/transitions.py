"""Which status a ticket may move to from which, and what each move needs.

    received ──▶ in_progress ──▶ resolved | rejected
        └──────────────────────▶ resolved | rejected
    resolved | rejected | transferred ──▶ in_progress   (reopened, with a reason)

Transferring to another department is its own action (see ticket_actions.transfer): allowed while
the ticket is open; the ticket passes through "transferred" and is received again by the new
department.
"""

from __future__ import annotations

from bot.tickets.models import OPEN_STATUSES, TicketStatus

S = TicketStatus

ALLOWED: dict[TicketStatus, tuple[TicketStatus, ...]] = {
    S.RECEIVED: (S.IN_PROGRESS, S.RESOLVED, S.REJECTED),
    S.IN_PROGRESS: (S.RESOLVED, S.REJECTED),
    S.RESOLVED: (S.IN_PROGRESS,),
    S.REJECTED: (S.IN_PROGRESS,),
    S.TRANSFERRED: (S.IN_PROGRESS,),
}

# Button labels of the moves in the console.
ACTION_LABELS_KO = {
    (S.RECEIVED, S.IN_PROGRESS): "처리 시작 (→ 처리 중)",
    (S.RECEIVED, S.RESOLVED): "처리 완료",
    (S.RECEIVED, S.REJECTED): "반려",
    (S.IN_PROGRESS, S.RESOLVED): "처리 완료",
    (S.IN_PROGRESS, S.REJECTED): "반려",
}
REOPEN_LABEL_KO = "다시 처리 (→ 처리 중)"


def allowed_moves(current: TicketStatus) -> tuple[TicketStatus, ...]:
    return ALLOWED.get(current, ())


def is_allowed(current: TicketStatus, new: TicketStatus) -> bool:
    return new in allowed_moves(current)


def needs_reason(current: TicketStatus, new: TicketStatus) -> bool:
    """A rejection says why; so does reopening a closed ticket."""
    return new is S.REJECTED or current not in OPEN_STATUSES


def can_transfer(current: TicketStatus) -> bool:
    return current in OPEN_STATUSES


def move_label(current: TicketStatus, new: TicketStatus) -> str:
    return ACTION_LABELS_KO.get((current, new), REOPEN_LABEL_KO)
