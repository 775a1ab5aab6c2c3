"""Errors of staff operations; the web layer turns them into 404, 403 and 400 answers."""

from __future__ import annotations


class TicketNotFound(LookupError):
    """No ticket with this number."""


class AccessDenied(PermissionError):
    """The account may not see or change this (another department's ticket, a higher role's page)."""


class ActionRefused(ValueError):
    """The change cannot be made as asked; the message (Korean) is shown to the staff member."""
