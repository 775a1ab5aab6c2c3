"""The civic knowledge base as data: topics (one per `civic_info/<topic>`) and their answers."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterator, Mapping, Optional, Tuple


@dataclass(frozen=True)
class Answer:
    """One sub-question of a topic (e.g. waste → 대형폐기물)."""

    id: str
    title: str  # short: it is also the quick-reply label (≤ 14 characters)
    question: str  # what the citizen "says" when tapping the quick reply
    keywords: Tuple[str, ...]  # words / morphemes of a question that select this answer
    text: str  # ≤ 400 characters, 해요체
    link: str  # city page (https)
    phone: str  # a number citizens may call


@dataclass(frozen=True)
class Topic:
    id: str  # the `<topic>` of `civic_info/<topic>`
    title: str
    overview: str  # answer when no sub-question matches
    link: str
    phone: str
    answers: Tuple[Answer, ...]
    thumbnail_url: Optional[str] = None  # with it (and a short text) answers are basicCards
    sample_data: bool = False

    def answer(self, answer_id: str) -> Optional[Answer]:
        return next((answer for answer in self.answers if answer.id == answer_id), None)


@dataclass(frozen=True)
class KnowledgeBase:
    topics: Mapping[str, Topic]

    def topic(self, topic_id: str) -> Optional[Topic]:
        return self.topics.get(topic_id)

    def __iter__(self) -> Iterator[Topic]:
        return iter(self.topics.values())

    def __len__(self) -> int:
        return len(self.topics)

    @property
    def titles(self) -> Dict[str, str]:
        return {topic.id: topic.title for topic in self}
