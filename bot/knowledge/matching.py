"""Keyword matching on morphemes: which keywords of a list occur in a citizen's question.

A question is cut into morphemes by the project's Korean tokenizer (bot.nlu: konlpy Okt through
`segment`), and only content morphemes are kept (particles, endings and punctuation are dropped):
"대형폐기물버리는법" → 대형 · 폐기물 · 버리는 · 법. A keyword is cut the same way. It matches when

* each of its morphemes is a morpheme of the question (or, from two characters on, the start of
  one: 폐가전 ⊂ 폐가전제품), or
* written without spaces it occurs in the question written without spaces (from two characters
  on), which catches compounds the analyzer cuts differently in context (음쓰, 등초본).

When the analyzer cannot start (no Java), words split at spaces stand in for morphemes and a
warning is logged once.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

logger = logging.getLogger(__name__)

ANALYZER_NAME = "okt"
# Tags of morphemes that carry no topic: Okt's particles, endings and punctuation, and the
# segmenter's symbols (emoji).
FUNCTION_TAGS = frozenset(
    {"Josa", "Eomi", "PreEomi", "Punctuation", "Suffix", "KoreanParticle", "Conjunction", "Symbol"}
)
MIN_PARTIAL_CHARS = 2

Terms = tuple[str, ...]
TermFunction = Callable[[str], Terms]


def normalise(text: str) -> str:
    return unicodedata.normalize("NFC", text).lower()


def compact(text: str) -> str:
    """Letters and digits only: "대형 폐기물!" → "대형폐기물"."""
    return "".join(char for char in normalise(text) if unicodedata.category(char)[0] in "LN")


class _MorphemeTerms:
    """Content morphemes of a text through the shared konlpy analyzer (started on first use)."""

    def __init__(self) -> None:
        self._pos = None
        self._unavailable = False
        self._lock = threading.Lock()

    def _analyzer_pos(self):
        with self._lock:
            if self._pos is None and not self._unavailable:
                from bot.nlu.analyzers import AnalyzerUnavailable, get_analyzer

                try:
                    self._pos = get_analyzer(ANALYZER_NAME).pos
                except AnalyzerUnavailable as error:
                    self._unavailable = True
                    logger.warning("knowledge.matching.analyzer_unavailable error=%s; using words", error)
            return self._pos

    def __call__(self, text: str) -> Terms:
        pos = self._analyzer_pos()
        if pos is None:
            return tuple(word for word in (compact(w) for w in normalise(text).split()) if word)
        from bot.nlu.segmentation import segment

        return tuple(normalise(span.text) for span in segment(text, pos) if span.tag not in FUNCTION_TAGS)


_morpheme_terms = _MorphemeTerms()


@lru_cache(maxsize=4096)
def morpheme_terms(text: str) -> Terms:
    """Content morphemes of `text` (cached: keywords are cut once per process)."""
    return _morpheme_terms(text)


def warm_up_in_background(keywords: Callable[[], Iterable[str]] = tuple) -> threading.Thread:
    """Starts the analyzer (a JVM, several seconds) and cuts every keyword of `keywords()` into
    morphemes, off the request path: otherwise the first question on each topic waits while all
    of the topic's keywords are cut (547 keywords take about 5 s of analyzer time)."""

    def warm_up() -> None:
        morpheme_terms("고양시 생활 정보")
        for keyword in keywords():
            morpheme_terms(keyword)

    thread = threading.Thread(target=warm_up, name="knowledge-warm-up", daemon=True)
    thread.start()
    return thread


@dataclass(frozen=True)
class Question:
    """A question prepared for matching: its content morphemes and its compact form."""

    terms: Terms
    compact_text: str

    @classmethod
    def of(cls, text: str, terms_of: TermFunction = morpheme_terms) -> Question:
        return cls(terms=terms_of(text), compact_text=compact(text))


def _term_matches(keyword_term: str, question_terms: Sequence[str]) -> bool:
    return any(
        term == keyword_term or (len(keyword_term) >= MIN_PARTIAL_CHARS and term.startswith(keyword_term))
        for term in question_terms
    )


def keyword_matches(keyword: str, question: Question, terms_of: TermFunction = morpheme_terms) -> bool:
    keyword_terms = terms_of(keyword)
    if keyword_terms and all(_term_matches(term, question.terms) for term in keyword_terms):
        return True
    keyword_compact = compact(keyword)
    return len(keyword_compact) >= MIN_PARTIAL_CHARS and keyword_compact in question.compact_text


def matched_keywords(keywords: Iterable[str], question: Question, terms_of: TermFunction = morpheme_terms) -> list[str]:
    return [keyword for keyword in keywords if keyword_matches(keyword, question, terms_of)]


def keyword_weights(keyword_lists: Iterable[Iterable[str]]) -> dict[str, float]:
    """1 / (number of lists holding the keyword): a keyword shared by several candidates tells
    less about which one is meant."""
    counts: dict[str, int] = {}
    for keywords in keyword_lists:
        for keyword in set(keywords):
            counts[keyword] = counts.get(keyword, 0) + 1
    return {keyword: 1.0 / count for keyword, count in counts.items()}
