"""Korean mobile numbers typed by citizens: validate and write them one way (010-1234-5678)."""

from __future__ import annotations

import re

_MOBILE_NUMBER = r"(?:\+?82[-.\s]?(?:\(0\))?|0)(1[016789])[-.\s)]?(\d{3,4})[-.\s]?(\d{4})"
_WHOLE_TEXT = re.compile(rf"^{_MOBILE_NUMBER}$")
_INSIDE_TEXT = re.compile(rf"(?<![\d+]){_MOBILE_NUMBER}(?!\d)")


def _canonical(match: re.Match[str]) -> str | None:
    carrier, middle, last = match.groups()
    if carrier == "10" and len(middle) != 4:
        return None  # 010 numbers always have four middle digits
    return f"0{carrier}-{middle}-{last}"


def normalise_mobile_number(text: str) -> str | None:
    """ "010 1234 5678", "01012345678", "+82 10-1234-5678" → "010-1234-5678"; None if the text is
    not exactly a mobile number."""
    match = _WHOLE_TEXT.match((text or "").strip())
    return _canonical(match) if match else None


def find_mobile_number(text: str) -> str | None:
    """The first mobile number inside a sentence ("제 번호는 010-1234-5678이에요"), canonical."""
    for match in _INSIDE_TEXT.finditer(text or ""):
        number = _canonical(match)
        if number:
            return number
    return None
