"""Normalise free-text locations to a canonical place key (used to find duplicate complaints).

"고양시 일산 서구 주엽2동 강선마을 14단지 앞" and "주엽동 강선마을14단지" both become
district 일산서구, dong 주엽동, landmark "강선마을14단지", key "일산서구/주엽동/강선마을14단지".

The district is read from its name or aliases (spaces ignored: "일산 서구"); the 동 from its base
name with or without a number ("주엽1동", "주엽 2동", "주엽동"). A known 동 also gives its district.
What remains, without the province and city names, spacing, punctuation and words like 앞/근처, is the landmark.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from re import Pattern

from bot.city.models import CityConfig, District

# Words that say "near" rather than "where"; dropped from the landmark so that "역 앞" and
# "역 근처" agree. Longest first, matched at the end of a word only.
PROXIMITY_WORDS = (
    "맞은편",
    "건너편",
    "사거리",
    "삼거리",
    "근처",
    "부근",
    "인근",
    "주변",
    "방향",
    "쪽",
    "앞",
    "옆",
    "뒤",
)
PARTICLES = ("에서", "에", "의")
PROVINCE_NAMES = ("경기도",)
UNKNOWN = "-"
MIN_LANDMARK_CHARS = 2  # a shorter landmark inside another is not taken for the same spot


@dataclass(frozen=True)
class Place:
    district: str | None  # canonical district name, e.g. 일산서구
    dong: str | None  # canonical base 동 name, e.g. 주엽동
    landmark: str  # compact remainder, e.g. 강선마을14단지

    @property
    def key(self) -> str:
        return "/".join((self.district or UNKNOWN, self.dong or UNKNOWN, self.landmark))

    @classmethod
    def from_key(cls, key: str) -> Place:
        district, dong, landmark = (key.split("/", 2) + ["", "", ""])[:3]
        return cls(None if district == UNKNOWN else district, None if dong == UNKNOWN else dong, landmark)

    @property
    def area_key(self) -> str:
        """The key without the landmark: every place of the same district and 동 starts with it."""
        return "/".join((self.district or UNKNOWN, self.dong or UNKNOWN, ""))

    def same_spot(self, other: Place) -> bool:
        """Same district and 동, and the same landmark or one named inside the other
        (주엽역 / 주엽역2번출구)."""
        if (self.district, self.dong) != (other.district, other.dong):
            return False
        if self.landmark == other.landmark:
            return True
        shorter, longer = sorted((self.landmark, other.landmark), key=len)
        return len(shorter) >= MIN_LANDMARK_CHARS and shorter in longer

    @property
    def is_specific(self) -> bool:
        """True when the place names more than a district (a 동 or a landmark/address)."""
        return bool(self.dong or self.landmark)


class PlaceNormaliser:
    def __init__(self, city_name: str, districts: Iterable[District]):
        self._region_names = (*PROVINCE_NAMES, city_name)
        self._district_patterns: list[tuple[Pattern[str], str]] = []
        self._dong_patterns: list[tuple[Pattern[str], str, str]] = []
        for district in districts:
            for name in sorted({district.name, *district.aliases}, key=len, reverse=True):
                self._district_patterns.append((_spacing_tolerant(name), district.name))
            for dong in district.dongs:
                self._dong_patterns.append((_dong_pattern(dong), dong, district.name))
        # Longest names first so that 행주내동 wins over 행주동 and 일산동구 over 일산동.
        self._district_patterns.sort(key=lambda entry: len(entry[0].pattern), reverse=True)
        self._dong_patterns.sort(key=lambda entry: len(entry[1]), reverse=True)

    @classmethod
    def for_city(cls, config: CityConfig) -> PlaceNormaliser:
        return cls(config.profile.name, config.districts)

    def normalise(self, text: str) -> Place:
        remaining = " ".join((text or "").split())
        for name in self._region_names:
            remaining = remaining.replace(name, " ")
        district, remaining = self._take_first(self._district_patterns, remaining)
        dong_match = self._find_dong(remaining)
        dong = None
        if dong_match:
            match, dong, dong_district = dong_match
            district = dong_district  # the 동 decides when the citizen named a different district
            remaining = remaining[: match.start()] + " " + remaining[match.end() :]
        return Place(district=district, dong=dong, landmark=self._landmark(remaining))

    def _take_first(self, patterns, text: str):
        for pattern, canonical in patterns:
            match = pattern.search(text)
            if match:
                return canonical, text[: match.start()] + " " + text[match.end() :]
        return None, text

    def _find_dong(self, text: str):
        for pattern, dong, district in self._dong_patterns:
            match = pattern.search(text)
            if match:
                return match, dong, district
        return None

    def _landmark(self, text: str) -> str:
        kept = []
        for word in re.sub(r"[^\w]+", " ", text.lower()).split():
            word = _strip_suffixes(word, PARTICLES)
            word = _strip_suffixes(word, PROXIMITY_WORDS)
            if word:
                kept.append(word)
        return "".join(kept)


def _spacing_tolerant(name: str) -> Pattern[str]:
    """A pattern for `name` where each space may be present or not: "일산 서구" → 일산서구, 일산 서구."""
    return re.compile(r"\s*".join(re.escape(part) for part in name.split()))


def _dong_pattern(dong: str) -> Pattern[str]:
    """주엽동 → matches 주엽동, 주엽1동, 주엽 2동, 주엽제1동 at the start of a word."""
    return re.compile(rf"(?<![가-힣]){re.escape(dong[:-1])}(?:\s*제?\s*\d{{1,2}})?동")


def _strip_suffixes(word: str, suffixes: tuple[str, ...]) -> str:
    for suffix in suffixes:
        if word.endswith(suffix) and len(word) > len(suffix):
            return word[: -len(suffix)]
        if word == suffix:
            return ""
    return word
