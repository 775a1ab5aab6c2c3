"""Reading citizens' answers in the complaint conversation: yes/no, cancel, which field to correct,
a complaint category in free text, a photo. Pure functions of the text and the NLU result."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from bot.city.models import CityConfig

# Short messages only: "취소" in a long description is part of the description.
CANCEL_WORDS = ("취소", "그만", "안할래", "중단", "cancel")
MAX_CANCEL_MESSAGE_CHARS = 20

NO_WORDS = ("아니", "아뇨", "싫어", "싫습", "거부", "동의하지", "동의안", "비동의", "안할", "안해요")
YES_WORDS = (
    "동의해",
    "동의합",
    "동의할",
    "동의요",
    "접수해",
    "접수할",
    "맞아",
    "맞습",
    "좋아",
    "괜찮",
    "그래요",
    "알림받",
    "함께",
    "같이",
)
YES_STARTS = ("네", "넵", "예", "응", "ㅇㅇ", "yes", "ok", "okay", "sure")
LATIN_NO = ("no", "nope")

NEW_TICKET_WORDS = ("새로", "따로", "별도", "새민원", "new")
ANONYMOUS_WORDS = ("익명", "anonymous", "번호없이", "연락처없이", "연락안", "번호안")
NO_PHOTO_WORDS = ("없", "건너", "패스", "skip", "no photo", "노사진")

# Field names of the correction menu → the slots they clear.
CORRECTION_FIELDS = {
    "complaint_category": ("유형", "종류", "분류", "카테고리"),
    "location": ("위치", "장소", "주소"),
    "description": ("내용", "설명"),
    "photo_url": ("사진",),
    "phone": ("연락처", "전화", "번호", "동의"),
}

_URL = re.compile(r"https?://\S+")


def compact(text: str | None) -> str:
    """Lower case without spaces: 일산 서구 → 일산서구, 사진 없음 → 사진없음."""
    return "".join((text or "").lower().split())


def is_cancel_request(text: str) -> bool:
    squeezed = compact(text)
    return 0 < len(squeezed) <= MAX_CANCEL_MESSAGE_CHARS and any(word in squeezed for word in CANCEL_WORDS)


def yes_or_no(text: str, intent: str | None = None) -> bool | None:
    """True for yes, False for no, None when the answer is neither (a "no" word wins)."""
    squeezed = compact(text)
    words = set((text or "").lower().split())
    if any(word in squeezed for word in NO_WORDS) or words & set(LATIN_NO):
        return False
    if any(squeezed.startswith(start) for start in YES_STARTS) or any(word in squeezed for word in YES_WORDS):
        return True
    if intent in ("affirm", "deny"):
        return intent == "affirm"
    return None


def wants_new_ticket(text: str) -> bool:
    return _contains_any(text, NEW_TICKET_WORDS)


def wants_anonymous(text: str) -> bool:
    return _contains_any(text, ANONYMOUS_WORDS)


def has_no_photo(text: str) -> bool:
    return _contains_any(text, NO_PHOTO_WORDS)


def field_to_correct(text: str) -> str | None:
    """The slot a citizen wants to correct at the confirmation step ("위치 수정할게요" → location)."""
    squeezed = compact(text)
    for slot, words in CORRECTION_FIELDS.items():
        if any(word in squeezed for word in words):
            return slot
    return None


def photo_url_in(message: dict[str, Any]) -> str | None:
    """An image URL from the Kakao image plugin (metadata image_urls) or typed in the text."""
    metadata = message.get("metadata") or {}
    image_urls = metadata.get("image_urls") or []
    if image_urls:
        return str(image_urls[0])
    match = _URL.search(message.get("text") or "")
    return match.group(0) if match else None


def entity_span(message: dict[str, Any], entity: str) -> str | None:
    """The text from the first to the last mention of `entity` ("주엽동", "주엽역 2번 출구 앞" →
    "주엽동 주엽역 2번 출구 앞"); the first value when positions are missing."""
    found = [item for item in message.get("entities") or [] if item.get("entity") == entity]
    text = message.get("text") or ""
    positioned = [item for item in found if isinstance(item.get("start"), int) and isinstance(item.get("end"), int)]
    if positioned:
        span = text[min(item["start"] for item in positioned) : max(item["end"] for item in positioned)].strip()
        if span:
            return span
    return entity_value(message, entity)


def entity_value(message: dict[str, Any], entity: str) -> str | None:
    for found in message.get("entities") or []:
        if found.get("entity") == entity and found.get("value"):
            return str(found["value"])
    return None


class CategoryMatcher:
    """Finds a complaint category in free text by its id, label or synonyms (longest match wins)."""

    def __init__(self, config: CityConfig, kinds: Iterable | None = None):
        """`kinds`: anything with id, label and synonyms (default: the complaint categories;
        actions/emergency.py passes the emergency types)."""
        kinds = config.complaint_categories.values() if kinds is None else kinds
        self._words = sorted(
            (
                (compact(word), category.id)
                for category in kinds
                for word in (category.id, category.label, *category.synonyms)
                if compact(word)
            ),
            key=lambda pair: len(pair[0]),
            reverse=True,
        )

    def match(self, text: str) -> str | None:
        squeezed = compact(text)
        return next((category_id for word, category_id in self._words if word in squeezed), None)


REQUEST_PHRASES = ("신고하", "신고할", "접수하", "접수할", "민원넣", "민원좀", "신고좀", "신고요", "하려구", "하려고")
MIN_DESCRIPTION_CHARS = 12


def looks_like_description(text: str) -> bool:
    """True when a first message describes the problem rather than only asking to report one."""
    squeezed = compact(text)
    if len(squeezed) < MIN_DESCRIPTION_CHARS:
        return False
    return not (len(squeezed) < 25 and any(phrase in squeezed for phrase in REQUEST_PHRASES))


def _contains_any(text: str, words: Iterable[str]) -> bool:
    squeezed = compact(text)
    return any(compact(word) in squeezed for word in words)
