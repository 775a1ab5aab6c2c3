"""Picking the answer of a topic that fits a question best, or the topic overview.

Each answer scores the sum of the weights of its keywords found in the question (a keyword shared
by several answers of the topic weighs less, see `keyword_weights`). The best answer wins; between
equal scores the one whose matched keywords are longer (more specific: 음식물쓰레기 over 봉투) wins.
With no keyword found, or a tie on both, the topic's overview is the honest answer (its quick
replies then offer every sub-question).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.knowledge.matching import (
    Question,
    TermFunction,
    compact,
    keyword_weights,
    matched_keywords,
    morpheme_terms,
)
from bot.knowledge.models import Answer, Topic


@dataclass(frozen=True)
class Selection:
    topic: Topic
    answer: Answer | None  # None: the topic overview
    score: float = 0.0
    matched: tuple[str, ...] = ()

    @property
    def answer_id(self) -> str | None:
        return self.answer.id if self.answer else None


def select_answer(topic: Topic, question_text: str, terms_of: TermFunction = morpheme_terms) -> Selection:
    question = Question.of(question_text, terms_of)
    weights = keyword_weights(answer.keywords for answer in topic.answers)
    scored = []
    for answer in topic.answers:
        matched = matched_keywords(answer.keywords, question, terms_of)
        if matched:
            rank = (sum(weights[k] for k in matched), sum(len(compact(k)) for k in matched))
            scored.append((rank, answer, tuple(matched)))
    if not scored:
        return Selection(topic, None)
    scored.sort(key=lambda item: item[0], reverse=True)
    (best_score, _), best, matched = scored[0]
    if len(scored) > 1 and scored[1][0] == scored[0][0]:
        return Selection(topic, None, best_score, ())
    return Selection(topic, best, best_score, matched)
