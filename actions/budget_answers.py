"""Reading citizens' answers in the participatory-budget conversation: ratings, choices,
categories, places, consent, confirmation. Pure functions of the text (and the NLU intent)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from actions.complaint_answers import compact, is_cancel_request, wants_anonymous, yes_or_no
from bot.budget.definitions import Category
from bot.city.places import Place, PlaceNormaliser

__all__ = [
    "CITY_WIDE",
    "SUBMIT",
    "RESTART",
    "category_in",
    "choice_in",
    "confirmation",
    "consent_answer",
    "is_cancel_request",
    "is_skip",
    "place_in",
    "rating_in",
    "wants_anonymous",
]

SKIP_WORDS = ("건너뛰", "건너띄", "없어요", "없음", "없습니다", "패스", "skip", "괜찮아요")
CITY_WIDE_ENDINGS = ("전체", "전역", "전지역", "모든지역")
MAX_CITY_WIDE_CHARS = 10
RESTART_WORDS = ("다시", "처음", "수정", "고칠", "고쳐")
KOREAN_RATINGS = {"하나": 1, "한": 1, "둘": 2, "두": 2, "셋": 3, "세": 3, "넷": 4, "네": 4, "다섯": 5}
SUBMIT, RESTART = "submit", "restart"
CITY_WIDE = Place(district=None, dong=None, landmark="")

_SINGLE_DIGIT = re.compile(r"(?<!\d)([0-9])(?!\d)")
_NUMBERED_CHOICE = re.compile(r"^(\d{1,2})\s*(?:번|\.)?$")
_KOREAN_RATING = re.compile(r"^(하나|한|둘|두|셋|세|넷|네|다섯)\s*점?$")


def is_skip(text: str) -> bool:
    squeezed = compact(text)
    return 0 < len(squeezed) <= 12 and any(word in squeezed for word in SKIP_WORDS)


def rating_in(text: str) -> int | None:
    """1 to 5 from "5", "4점", "⭐ 3", "★★★★", "다섯 점"; None otherwise (also for 0, 6, "10")."""
    stripped = (text or "").strip()
    stars = sum(stripped.count(star) for star in "★⭐")
    if stars and not _SINGLE_DIGIT.search(stripped):
        return stars if stars <= 5 else None
    korean = _KOREAN_RATING.match(stripped)
    if korean:
        return KOREAN_RATINGS[korean.group(1)]
    digits = _SINGLE_DIGIT.findall(stripped)
    if len(digits) == 1 and not re.search(r"\d{2,}", stripped) and 1 <= int(digits[0]) <= 5:
        return int(digits[0])
    return None


def choice_in(text: str, choices: Sequence[str]) -> str | None:
    """The choice typed or tapped: its text, its number ("2", "2번"), or the one choice that
    contains what was typed."""
    squeezed = compact(text)
    if not squeezed:
        return None
    for choice in choices:
        if compact(choice) == squeezed:
            return choice
    numbered = _NUMBERED_CHOICE.match(squeezed)
    if numbered:
        index = int(numbered.group(1))
        return choices[index - 1] if 1 <= index <= len(choices) else None
    containing = [choice for choice in choices if squeezed in compact(choice) or compact(choice) in squeezed]
    return containing[0] if len(containing) == 1 else None


def category_in(text: str, categories: Mapping[str, Category]) -> str | None:
    """A category id from its id, its label ("환경·공원"), a part of the label ("환경"), or its number."""
    squeezed = compact(text)
    if squeezed in categories:
        return squeezed
    labels = {category.label: category.id for category in categories.values()}
    parts = {
        part: category.id for category in categories.values() for part in re.split(r"[·/,\s]+", category.label) if part
    }
    label = choice_in(text, list(labels))
    if label:
        return labels[label]
    return parts.get(squeezed)


def place_in(text: str, places: PlaceNormaliser) -> Place | None:
    """The district and 동 named in `text`; CITY_WIDE for "고양시 전체", "시 전역"; None when
    neither is named."""
    place = places.normalise(text)
    if place.district:
        return place
    squeezed = compact(text).rstrip("요")
    if len(squeezed) <= MAX_CITY_WIDE_CHARS and squeezed.endswith(CITY_WIDE_ENDINGS):
        return CITY_WIDE
    return None


def consent_answer(text: str, intent: str | None = None) -> bool | None:
    """True: agrees to leave a phone number; False: stays anonymous; None: not understood."""
    if wants_anonymous(text):
        return False
    return yes_or_no(text, intent)


def confirmation(text: str, intent: str | None = None) -> str | None:
    """SUBMIT, RESTART (write it again from the start) or None (not understood)."""
    squeezed = compact(text)
    if any(word in squeezed for word in RESTART_WORDS):
        return RESTART
    if "제출" in squeezed or yes_or_no(text, intent):
        return SUBMIT
    return None
