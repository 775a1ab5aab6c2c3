"""The civic knowledge base as data: topics (one per `civic_info/<topic>`) and their answers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    """One sub-question of a topic (e.g. waste → 대형폐기물)."""

    id: str
    title: str  # short: it is also the quick-reply label (≤ 14 characters)
    question: str  # what the citizen "says" when tapping the quick reply
    keywords: tuple[str, ...]  # words / morphemes of a question that select this answer
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
    answers: tuple[Answer, ...]
    thumbnail_url: str | None = None  # with it (and a short text) answers are basicCards
    sample_data: bool = False

    def answer(self, answer_id: str) -> Answer | None:
        return next((answer for answer in self.answers if answer.id == answer_id), None)


@dataclass(frozen=True)
class KnowledgeBase:
    topics: Mapping[str, Topic]

    def topic(self, topic_id: str) -> Topic | None:
        return self.topics.get(topic_id)

    def __iter__(self) -> Iterator[Topic]:
        return iter(self.topics.values())

    def __len__(self) -> int:
        return len(self.topics)

    @property
    def titles(self) -> dict[str, str]:
        return {topic.id: topic.title for topic in self}
