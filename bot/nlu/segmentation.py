"""Splits Korean text into tokens whose offsets are exact.

Invariant: for every span, ``text[span.start:span.end] == span.text``; spans never
overlap and appear in text order. Morphological analyzers normalise (Okt) or return
base forms (Komoran: 했어요 → 하/았/어요), so their morphemes cannot be used as
offsets directly. We only use them to decide *where to cut* inside each eojeol
(space-separated word); the tokens themselves are always slices of the input.

Patterns that analyzers mangle (ticket numbers, phone numbers, URLs, e-mail
addresses, Latin words, numbers, chosung slang such as ㅇㅇ/ㄱㅅ, emoji) are cut out
first and kept whole.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Callable, Iterator, List, Sequence, Tuple

Morpheme = Tuple[str, str]
PosFunction = Callable[[str], Sequence[Morpheme]]


@dataclass(frozen=True)
class Span:
    text: str
    start: int
    end: int
    tag: str


# Order matters: earlier alternatives win. Each group name is the token's tag.
_PROTECTED = re.compile(
    r"(?P<URL>https?://[^\s]+|www\.[^\s]+)"
    r"|(?P<Email>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"
    r"|(?P<TicketId>(?<![A-Za-z])[A-Za-z]{2,4}-\d{4}-\d{3,8}(?!\d))"
    r"|(?P<Phone>(?<!\d)(?:\+82[- ]?)?0\d{1,2}[- .]?\d{3,4}[- .]?\d{4}(?!\d))"
    r"|(?P<Number>\d+(?:[.,:]\d+)*)"
    r"|(?P<Alpha>[A-Za-z]+(?:'[A-Za-z]+)?)"
    r"|(?P<Jamo>[\u3131-\u318E\u1100-\u11FF]+)"
    r"|(?P<Hangul>[\uAC00-\uD7A3]+(?:\s+[\uAC00-\uD7A3]+)*)"
)
_EOJEOL = re.compile(r"\S+")
# A morpheme may be found after the current eojeol's remaining characters and the
# following whitespace, but never further away (that would be a false match).
_ACCEPTABLE_GAP = re.compile(r"\S*\s*")


def _is_symbol(char: str) -> bool:
    """Emoji and other symbols are kept as tokens; punctuation is dropped."""
    category = unicodedata.category(char)
    return category.startswith("S") or category in ("Co", "Cs")


def _symbol_spans(text: str, offset: int) -> Iterator[Span]:
    """Symbols outside the protected patterns: one token per emoji cluster."""
    index = 0
    while index < len(text):
        char = text[index]
        if _is_symbol(char):
            end = index + 1
            # keep ZWJ sequences, skin tones and variation selectors together
            while end < len(text) and (
                text[end] in "\u200d\ufe0f\ufe0e"
                or 0x1F3FB <= ord(text[end]) <= 0x1F3FF
                or (text[end - 1] == "\u200d" and _is_symbol(text[end]))
            ):
                end += 1
            yield Span(text[index:end], offset + index, offset + end, "Symbol")
            index = end
        elif not char.isspace() and unicodedata.category(char)[0] in "LMN":
            # letters of other scripts (Hanja, Japanese…) as one-character tokens
            yield Span(char, offset + index, offset + index + 1, "Foreign")
            index += 1
        else:
            index += 1


def _hangul_spans(region: str, offset: int, pos: PosFunction) -> Iterator[Span]:
    """Cuts a run of Hangul words at the analyzer's morpheme boundaries."""
    cuts = {}
    cursor = 0
    for morpheme, tag in pos(region):
        morpheme = morpheme.strip()
        if not morpheme:
            continue
        found = region.find(morpheme, cursor)
        if found < 0 or not _ACCEPTABLE_GAP.fullmatch(region, cursor, found):
            continue  # a base form or normalised morpheme: not in the text
        cuts.setdefault(found, tag)
        cursor = found + len(morpheme)
    for word in _EOJEOL.finditer(region):
        bounds = [word.start()] + sorted(
            c for c in cuts if word.start() < c < word.end()
        )
        bounds.append(word.end())
        for start, end in zip(bounds, bounds[1:]):
            yield Span(
                region[start:end], offset + start, offset + end, cuts.get(start, "Unknown")
            )


def segment(text: str, pos: PosFunction) -> List[Span]:
    """Tokenizes `text`; `pos` is a morphological analyzer's pos function."""
    spans: List[Span] = []
    cursor = 0
    for match in _PROTECTED.finditer(text):
        spans.extend(_symbol_spans(text[cursor : match.start()], cursor))
        kind = match.lastgroup or "Unknown"
        if kind == "Hangul":
            spans.extend(_hangul_spans(match.group(), match.start(), pos))
        else:
            spans.append(Span(match.group(), match.start(), match.end(), kind))
        cursor = match.end()
    spans.extend(_symbol_spans(text[cursor:], cursor))
    return spans
