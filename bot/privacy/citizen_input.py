"""Validation of free text a citizen typed, before it is stored (tickets, budget proposals)."""

from __future__ import annotations

from bot.privacy.masking import mask_rrn


class CitizenInputError(ValueError):
    """Input that cannot be stored; `field` names the offending field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


def clean_text(
    field: str,
    text: str | None,
    max_chars: int,
    required: bool = True,
    *,
    error: type[CitizenInputError] = CitizenInputError,
    collapse_spaces: bool = False,
) -> str:
    """Trimmed text with 주민등록번호 masked; `error` when empty (if required) or too long."""
    trimmed = " ".join((text or "").split()) if collapse_spaces else (text or "").strip()
    cleaned = mask_rrn(trimmed) or ""
    if required and not cleaned:
        raise error(field, "must not be empty")
    if len(cleaned) > max_chars:
        raise error(field, f"longer than {max_chars} characters")
    return cleaned


def require_sender(sender_id: str, error: type[CitizenInputError] = CitizenInputError) -> str:
    if not sender_id:
        raise error("sender_id", "must not be empty")
    return sender_id
