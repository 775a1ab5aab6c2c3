"""Searching the whole knowledge base for a question NLU could not place (the long tail).

Every sub-answer is a document made of its question, title and keywords (counted twice: they
say what the answer is about) and its text, cut into content morphemes by the same analyzer as
keyword matching (`matching.morpheme_terms`). A question is ranked against all documents with
BM25 (k1 = 1.2, b = 0.75); a question morpheme also matches a document morpheme it begins or that
begins it, from two characters on (폐가전 · 폐가전제품), at a discount. Keywords found in the
question by `matching.matched_keywords` (compounds, spacing variants) add their weight.

The index is built once per process (`get_search_index`); the action server builds it in its
start-up warm-up thread, so no question pays for cutting every answer's text.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bot.knowledge.loader import get_knowledge_base
from bot.knowledge.matching import (
    MIN_PARTIAL_CHARS,
    Question,
    TermFunction,
    keyword_weights,
    matched_keywords,
    morpheme_terms,
)
from bot.knowledge.models import Answer, KnowledgeBase, Topic

K1, B = 1.2, 0.75
PARTIAL_MATCH_DISCOUNT = 0.5
KEYWORD_WEIGHT = 2.0
HEADING_REPEATS = 2  # question, title and keywords weigh twice the answer's text
# A hit is trusted when it scores at least MIN_SCORE and clearly beats the next answer.
MIN_SCORE = 6.0
MIN_MARGIN = 1.5


@dataclass(frozen=True)
class Hit:
    topic: Topic
    answer: Answer
    score: float


class SearchIndex:
    def __init__(self, knowledge: KnowledgeBase, terms_of: TermFunction = morpheme_terms) -> None:
        self._terms_of = terms_of
        self._documents: list[tuple[Topic, Answer]] = []
        self._frequencies: list[Counter] = []
        for topic in knowledge:
            for answer in topic.answers:
                heading = [answer.question, answer.title, *answer.keywords]
                terms = [term for text in heading for term in terms_of(text)] * HEADING_REPEATS
                terms += [term for text in (answer.text, topic.title) for term in terms_of(text)]
                self._documents.append((topic, answer))
                self._frequencies.append(Counter(terms))
        lengths = [sum(counts.values()) for counts in self._frequencies]
        self._lengths = lengths
        self._average_length = sum(lengths) / max(len(lengths), 1)
        document_counts = Counter(term for counts in self._frequencies for term in counts)
        total = len(self._documents)
        self._idf = {term: math.log(1 + (total - n + 0.5) / (n + 0.5)) for term, n in document_counts.items()}
        self._keyword_weights = keyword_weights(answer.keywords for _, answer in self._documents)

    def _expanded(self, term: str) -> list[tuple[str, float]]:
        """Index terms a question morpheme matches, with their weight (1 exact, discounted partial)."""
        found = [(term, 1.0)] if term in self._idf else []
        if len(term) >= MIN_PARTIAL_CHARS:
            found += [
                (other, PARTIAL_MATCH_DISCOUNT)
                for other in self._idf
                if other != term
                and len(other) >= MIN_PARTIAL_CHARS
                and (other.startswith(term) or term.startswith(other))
            ]
        return found

    def search(self, text: str, limit: int = 3) -> list[Hit]:
        question = Question.of(text, self._terms_of)
        scores = [0.0] * len(self._documents)
        for term in dict.fromkeys(question.terms):
            for index_term, weight in self._expanded(term):
                idf = self._idf[index_term] * weight
                for position, counts in enumerate(self._frequencies):
                    frequency = counts.get(index_term)
                    if frequency:
                        norm = K1 * (1 - B + B * self._lengths[position] / self._average_length)
                        scores[position] += idf * frequency * (K1 + 1) / (frequency + norm)
        for position, (_, answer) in enumerate(self._documents):
            matched = matched_keywords(answer.keywords, question, self._terms_of)
            scores[position] += KEYWORD_WEIGHT * sum(self._keyword_weights[k] for k in matched)
        ranked = sorted(range(len(scores)), key=lambda position: scores[position], reverse=True)
        return [
            Hit(*self._documents[position], score=scores[position])
            for position in ranked[:limit]
            if scores[position] > 0
        ]


def confident_hit(hits: Sequence[Hit]) -> Hit | None:
    """The best hit when it is strong enough and clearly ahead of the next one, else None."""
    if not hits or hits[0].score < MIN_SCORE:
        return None
    if len(hits) > 1 and hits[0].score < MIN_MARGIN * hits[1].score:
        return None
    return hits[0]


_index: SearchIndex | None = None
_index_lock = threading.Lock()


def get_search_index() -> SearchIndex:
    """The index of this process's knowledge base, built on first use (once)."""
    global _index
    with _index_lock:
        if _index is None:
            _index = SearchIndex(get_knowledge_base())
        return _index


def search_knowledge(text: str) -> Hit | None:
    """The answer a question clearly asks for, searched over every topic, or None."""
    return confident_hit(get_search_index().search(text))
