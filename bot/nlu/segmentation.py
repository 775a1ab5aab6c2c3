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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

Morpheme = tuple[str, str]
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

# Bounds on the work per message (issue 13, finding 5). Analyzers are fast on ordinary words but
# Okt takes seconds on a long run of Hangul without spaces (7 s for 1,000 characters, 26 s for
# 2,000): no word is analysed in one piece longer than MAX_WORD_CHARS, no more than
# MAX_ANALYSED_CHARS characters of a message are analysed, and a message gives at most
# MAX_TOKENS tokens (Kakao allows 2,000 characters; the intent is in the first sentences).
MAX_WORD_CHARS = 32
MAX_ANALYSED_CHARS = 1000
MAX_TOKENS = 512
UNANALYSED = "Unanalysed"


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
    """Cuts a run of Hangul words at the analyzer's morpheme boundaries.

    Linear in the region: each morpheme is looked for only up to the end of the next word,
    and the cuts are walked once, in order, alongside the words.
    """
    cuts = {}
    cursor = 0
    for morpheme, tag in pos(region):
        morpheme = morpheme.strip()
        if not morpheme:
            continue
        reach = _ACCEPTABLE_GAP.match(region, cursor).end()
        found = region.find(morpheme, cursor, reach + len(morpheme))
        if found < 0:
            continue  # a base form or normalised morpheme: not in the text
        cuts.setdefault(found, tag)
        cursor = found + len(morpheme)
    ordered = sorted(cuts)
    next_cut = 0
    for word in _EOJEOL.finditer(region):
        while next_cut < len(ordered) and ordered[next_cut] <= word.start():
            next_cut += 1
        bounds = [word.start()]
        while next_cut < len(ordered) and ordered[next_cut] < word.end():
            bounds.append(ordered[next_cut])
            next_cut += 1
        bounds.append(word.end())
        for start, end in zip(bounds, bounds[1:]):
            yield Span(region[start:end], offset + start, offset + end, cuts.get(start, "Unknown"))


def _analysed_pieces(region: str, budget: int) -> Iterator[tuple[int, int]]:
    """(start, end) of the parts of a Hangul run that go to the analyzer, within `budget`
    characters: whole runs of ordinary words, and words longer than MAX_WORD_CHARS in windows
    of that size (analyzers are quadratic or worse in the length of a word without spaces)."""
    piece_start = None
    for word in _EOJEOL.finditer(region):
        if word.end() - word.start() <= MAX_WORD_CHARS:
            if word.end() > budget:
                break
            if piece_start is None:
                piece_start = word.start()
            piece_end = word.end()
            continue
        if piece_start is not None:
            yield piece_start, piece_end
            piece_start = None
        end = min(word.end(), budget)
        for start in range(word.start(), end, MAX_WORD_CHARS):
            yield start, min(start + MAX_WORD_CHARS, end)
        if end < word.end():
            return
    if piece_start is not None:
        yield piece_start, piece_end


def _region_spans(region: str, offset: int, pos: PosFunction, budget: int) -> Iterator[Span]:
    """A Hangul run: analysed within `budget` characters, the words past it kept whole."""
    analysed_end = 0
    for start, end in _analysed_pieces(region, budget):
        yield from _hangul_spans(region[start:end], offset + start, pos)
        analysed_end = end
    for word in _EOJEOL.finditer(region, analysed_end):
        yield Span(word.group(), offset + word.start(), offset + word.end(), UNANALYSED)


def segment(
    text: str,
    pos: PosFunction,
    max_analysed_chars: int = MAX_ANALYSED_CHARS,
    max_tokens: int = MAX_TOKENS,
) -> list[Span]:
    """Tokenizes `text`; `pos` is a morphological analyzer's pos function.

    The work is linear in the text and bounded per message: at most `max_analysed_chars`
    characters of Hangul go to the analyzer (later words are kept whole, tagged UNANALYSED),
    and tokenizing stops after `max_tokens` tokens (the rest of the text gets none).
    """
    spans: list[Span] = []
    budget = max_analysed_chars
    cursor = 0
    for match in _PROTECTED.finditer(text):
        spans.extend(_symbol_spans(text[cursor : match.start()], cursor))
        kind = match.lastgroup or "Unknown"
        if kind == "Hangul":
            region = match.group()
            spans.extend(_region_spans(region, match.start(), pos, budget))
            budget = max(0, budget - len(region))
        else:
            spans.append(Span(match.group(), match.start(), match.end(), kind))
        cursor = match.end()
        if len(spans) >= max_tokens:
            return spans[:max_tokens]
    spans.extend(_symbol_spans(text[cursor:], cursor))
    return spans[:max_tokens]
