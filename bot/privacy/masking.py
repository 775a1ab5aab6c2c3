"""Masking of personal data (phone numbers, resident registration numbers, e-mail addresses) for logs.

Citizens type their phone number or 주민등록번호 into the chat. Sotong must never write those
in full to a log. Every process installs bot.privacy.log_masking.install_record_masking, which
applies :func:`mask_personal_data` to every log record (Rasa's own debug lines and tracebacks
too); use :func:`mask_personal_data` directly on citizen text that leaves the process otherwise.

Masking keeps the shape (separators, number of digits) and the parts that are not identifying
on their own, e.g. ``010-1234-5678`` → ``010-****-5678`` and ``900101-1234567`` →
``900101-1******``.
"""

import re

# Korean phone numbers: mobile (010, 011, 016-019), Seoul (02), regional (031-064),
# internet phones (070); with a leading 0 or the +82 country code; separated by
# '-', '.', spaces or a closing parenthesis, or not separated at all.
_PHONE_NUMBER = re.compile(
    r"""
    (?<![\d])
    (?P<prefix>
        (?:\+\s?82[-.\s]?(?:\(0\))?|\(?0)
        (?:1[016789]|2|[3-6][1-5]|70)
    )
    (?P<sep1>\)?[-.\s]?)
    (?P<middle>\d{3,4})
    (?P<sep2>[-.\s]?)
    (?P<last>\d{4})
    (?![\d])
    """,
    re.VERBOSE,
)

# 주민등록번호 / 외국인등록번호: YYMMDD-GNNNNNN (G = 1..8), with or without the hyphen.
_RESIDENT_REGISTRATION_NUMBER = re.compile(
    r"""
    (?<![\d])
    (?P<birth>\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))
    (?P<sep>[-\s]?)
    (?P<gender>[1-8])
    (?P<rest>\d{6})
    (?![\d])
    """,
    re.VERBOSE,
)


# E-mail addresses: the local part is hidden but for its first character.
_EMAIL_ADDRESS = re.compile(
    r"(?P<first>[A-Za-z0-9])(?P<rest>[A-Za-z0-9._%+-]*)(?P<domain>@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
)


def _mask_phone_match(match: "re.Match[str]") -> str:
    return (
        match.group("prefix")
        + match.group("sep1")
        + "*" * len(match.group("middle"))
        + match.group("sep2")
        + match.group("last")
    )


def _mask_rrn_match(match: "re.Match[str]") -> str:
    return match.group("birth") + match.group("sep") + match.group("gender") + "*" * len(match.group("rest"))


def mask_phone(text: str | None) -> str | None:
    """Hides the middle digits of every Korean phone number in ``text``."""
    if not text:
        return text
    return _PHONE_NUMBER.sub(_mask_phone_match, text)


def mask_rrn(text: str | None) -> str | None:
    """Hides the last six digits of every resident registration number in ``text``."""
    if not text:
        return text
    return _RESIDENT_REGISTRATION_NUMBER.sub(_mask_rrn_match, text)


def mask_email(text: str | None) -> str | None:
    """Hides the local part of every e-mail address in ``text`` (``hong.gd@example.com`` →
    ``h******@example.com``)."""
    if not text or "@" not in text:
        return text
    return _EMAIL_ADDRESS.sub(lambda m: m.group("first") + "*" * len(m.group("rest")) + m.group("domain"), text)


def mask_personal_data(text: str | None) -> str | None:
    """Applies every masking rule of this module (registration numbers first)."""
    return mask_email(mask_phone(mask_rrn(text)))
