"""Korean won amounts as citizens type them: "3천만원", "1억 2천만 원", "오백만원", "1,500만원".

`parse_krw` reads an amount into whole won (None when the text is not an amount); `format_krw`
writes one back the way Korean documents do ("1억 2,000만 원").

Grammar (spaces are ignored everywhere):

    amount   := [hedge] group ("조" | "억" | "만") ... [rest] ["원"] [hedge]
    group    := arabic number ("1,500", "2.5") | Korean numeral ("삼천오백", "3천5백", "천")

The big units must come in descending order, each at most once. A group before a big unit that is
not the first one must be below 10,000 ("1억 2천만", not "1억 12000만"), and so must the rest
after the last big unit. A unit with nothing before it counts once only at the start ("만원",
"억"). Decimals are accepted when the result is whole won ("1.5억" → 150,000,000).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

BIG_UNITS = (("조", 10**12), ("억", 10**8), ("만", 10**4))
SMALL_UNITS = {"천": 1000, "백": 100, "십": 10}
KOREAN_DIGITS = {"일": 1, "이": 2, "삼": 3, "사": 4, "오": 5, "육": 6, "칠": 7, "팔": 8, "구": 9}
GROUP_LIMIT = 10_000

# Words around an amount that do not change it: "약 3천만원 정도", "5억 원 이내".
LEADING_HEDGES = ("대략", "약", "총", "예상", "₩")
TRAILING_HEDGES = ("정도", "가량", "내외", "이내", "안팎", "쯤", "선", "예상")
CURRENCY_WORDS = ("원", "krw", "won")

_ARABIC = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
_BIG_UNIT_SPLIT = re.compile("(" + "|".join(unit for unit, _ in BIG_UNITS) + ")")


def parse_krw(text: str | None) -> int | None:
    """Whole won in `text`, or None when it is not exactly one amount (or is negative/fractional)."""
    if not isinstance(text, str):
        return None
    compact = _strip_words("".join(text.lower().split()))
    if not compact:
        return None
    sections = _split_big_units(compact)
    if sections is None:
        return None
    total = Decimal(0)
    for index, (group, multiplier) in enumerate(sections):
        value = _group_value(group, allow_empty=index == 0 and multiplier > 1)
        if value is None:
            return None
        if index > 0 and value >= GROUP_LIMIT:
            return None
        total += value * multiplier
    if total != total.to_integral_value():
        return None
    return int(total)


def format_krw(amount: int) -> str:
    """3500_0000 → "3,500만 원", 120_000_000 → "1억 2,000만 원", 5000 → "5,000원"."""
    if amount < 0:
        raise ValueError("amounts are not negative")
    parts: list[str] = []
    rest = amount
    for unit, multiplier in BIG_UNITS:
        count, rest = divmod(rest, multiplier)
        if count:
            parts.append(f"{count:,}{unit}")
    if rest or not parts:
        parts.append(f"{rest:,}원")
        return " ".join(parts)
    return " ".join(parts) + " 원"


# --- parsing steps -------------------------------------------------------------------------------


def _strip_words(text: str) -> str:
    changed = True
    while changed and text:
        changed = False
        for word in LEADING_HEDGES:
            if text.startswith(word) and len(text) > len(word):
                text, changed = text[len(word) :], True
        for word in TRAILING_HEDGES + CURRENCY_WORDS:
            if text.endswith(word) and len(text) > len(word):
                text, changed = text[: -len(word)], True
    return text


def _split_big_units(text: str) -> list[tuple[str, int]] | None:
    """[(group text, multiplier)] in order; None when big units repeat or are out of order."""
    pieces = _BIG_UNIT_SPLIT.split(text)  # group, unit, group, unit, ..., rest
    sections: list[tuple[str, int]] = []
    last_multiplier = None
    multipliers = dict(BIG_UNITS)
    for position in range(1, len(pieces), 2):
        multiplier = multipliers[pieces[position]]
        if last_multiplier is not None and multiplier >= last_multiplier:
            return None
        sections.append((pieces[position - 1], multiplier))
        last_multiplier = multiplier
    rest = pieces[-1]
    if rest:
        sections.append((rest, 1))
    return sections or None


def _group_value(group: str, allow_empty: bool) -> Decimal | None:
    if not group:
        return Decimal(1) if allow_empty else None
    if _ARABIC.match(group):
        try:
            return Decimal(group.replace(",", ""))
        except InvalidOperation:  # pragma: no cover - the pattern only lets numbers through
            return None
    return _korean_group_value(group)


def _korean_group_value(group: str) -> Decimal | None:
    """삼천오백 / 3천5백 / 천 / 이십오 / 3천500 → the number below 10,000; None if malformed."""
    total = 0
    position = 0
    last_unit = GROUP_LIMIT
    while position < len(group):
        digit, position = _read_digit(group, position)
        if position < len(group) and group[position] in SMALL_UNITS:
            unit = SMALL_UNITS[group[position]]
            if unit >= last_unit or digit == 0:
                return None
            total += (1 if digit is None else digit) * unit
            last_unit = unit
            position += 1
            continue
        if digit is None:
            return None  # neither a digit nor a unit: not a number
        if position != len(group) or digit >= last_unit:
            return None  # a bare number must end the group and stay below the last unit
        total += digit
        break
    return Decimal(total)


def _read_digit(group: str, position: int) -> tuple[int | None, int]:
    """A Korean digit or an arabic number at `position` (None if there is none) and the next index."""
    char = group[position]
    if char in KOREAN_DIGITS:
        return KOREAN_DIGITS[char], position + 1
    end = position
    while end < len(group) and group[end].isdigit() and group[end].isascii():
        end += 1
    if end > position:
        return int(group[position:end]), end
    return None, position
