"""Load and validate the knowledge files (data/knowledge/<topic>.yml) into a KnowledgeBase.

Every problem of every file is collected and raised together as one KnowledgeError, so a content
editor sees all mistakes in one run of `python -m bot.knowledge check`.

File format (see any data/knowledge/*.yml):

    sample_data: true            # placeholder content a city replaces
    topic: waste                 # = the file name = the <topic> of civic_info/<topic>
    title: 쓰레기 배출            # ≤ 14 characters (used as a quick-reply label)
    overview: …                  # ≤ 400 characters, answer when no sub-question matches
    link: https://…              # city page of the topic
    phone: 031-909-9000
    thumbnail_url: https://…     # optional: answers become basicCards with this picture
    answers:                     # 1-8 sub-questions
      - id: large_items
        title: 대형폐기물         # ≤ 14 characters
        question: 대형폐기물은 어떻게 버려요?   # optional, the tapped quick reply's text
        keywords: [대형폐기물, 가구, 소파]
        text: …                  # ≤ 400 characters, 해요체
        link: https://…
        phone: 031-909-9000
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bot.city.fields import DataFilesError, FieldReader
from bot.knowledge.models import Answer, KnowledgeBase, Topic
from bot.settings import env_path

DATA_DIR_ENV = "SOTONG_KNOWLEDGE_DIR"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = PROJECT_ROOT / "data" / "knowledge"

MAX_TEXT_CHARS = 400  # Kakao textCard description limit; also keeps answers short
MAX_LABEL_CHARS = 14  # Kakao quick-reply label limit: topic and answer titles are labels
MAX_QUESTION_CHARS = 60
MAX_ANSWERS_PER_TOPIC = 8  # the other answers + "전체 안내" + "다른 생활 정보" fit 10 quick replies

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
HTTPS_URL_PATTERN = re.compile(r"^https://[^\s/:]+(:\d+)?(/\S*)?$")
# 031-909-9000, 02-3210-0404, 1577-1000, 129, 1330
PHONE_PATTERN = re.compile(r"^(0\d{1,2}-\d{3,4}-\d{4}|1\d{3}-\d{4}|1\d{2,3})$")

TOPIC_KEYS = {"sample_data", "topic", "title", "overview", "link", "phone", "thumbnail_url", "answers"}
ANSWER_KEYS = {"id", "title", "question", "keywords", "text", "link", "phone"}


class KnowledgeError(DataFilesError):
    """The knowledge files are invalid; `errors` holds one readable line per problem."""

    kind = "knowledge"


def default_knowledge_dir() -> Path:
    return env_path(DATA_DIR_ENV, DEFAULT_DATA_DIR)


@cache
def get_knowledge_base() -> KnowledgeBase:
    """The validated knowledge base of this process (loaded on first use)."""
    return load_knowledge_base(default_knowledge_dir())


def load_knowledge_base(directory: os.PathLike | None = None) -> KnowledgeBase:
    directory = Path(directory) if directory is not None else default_knowledge_dir()
    errors: list[str] = []
    files = sorted(directory.glob("*.yml"))
    if not files:
        raise KnowledgeError([f"{directory}: no knowledge files (*.yml)"])
    topics: dict[str, Topic] = {}
    for path in files:
        topic = _parse_topic_file(path, errors)
        if topic is not None:
            topics[topic.id] = topic
    if errors:
        raise KnowledgeError(errors)
    return KnowledgeBase(topics=topics)


def _limited_text(fields: FieldReader, key: str, max_chars: int, required: bool = True) -> str:
    value = " ".join(fields.text(key, required).split())
    if len(value) > max_chars:
        fields.error(f"'{key}' has {len(value)} characters (at most {max_chars})")
    return value


def _matching(fields: FieldReader, key: str, pattern: re.Pattern[str], description: str, required: bool = True) -> str:
    value = fields.text(key, required)
    if value and not pattern.match(value):
        fields.error(f"'{key}' must be {description}, got {value!r}")
    return value


def _keywords(fields: FieldReader) -> tuple[str, ...]:
    return tuple(dict.fromkeys(" ".join(keyword.split()) for keyword in fields.texts("keywords")))


def _read_yaml(path: Path, errors: list[str]) -> dict[str, Any] | None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        errors.append(f"{path.name}: cannot be read: {error}")
        return None
    if not isinstance(data, dict):
        errors.append(f"{path.name}: must be a mapping of topic fields")
        return None
    return data


def _parse_topic_file(path: Path, errors: list[str]) -> Topic | None:
    data = _read_yaml(path, errors)
    if data is None:
        return None
    fields = FieldReader(data, path.name, errors, TOPIC_KEYS)
    topic_id = _matching(fields, "topic", ID_PATTERN, "a lower-case id")
    if topic_id and topic_id != path.stem:
        fields.error(f"'topic' is '{topic_id}' but the file is named {path.name}")
    raw_answers = fields.raw_list("answers")
    if not raw_answers:
        fields.error("'answers' must list at least one answer")
    if len(raw_answers) > MAX_ANSWERS_PER_TOPIC:
        fields.error(f"has {len(raw_answers)} answers (at most {MAX_ANSWERS_PER_TOPIC})")
    answers = [_parse_answer(raw, f"{path.name} answers[{index}]", errors) for index, raw in enumerate(raw_answers)]
    ids = [answer.id for answer in answers]
    for duplicate in sorted({answer_id for answer_id in ids if ids.count(answer_id) > 1}):
        fields.error(f"answer id '{duplicate}' is used twice")
    return Topic(
        id=topic_id,
        title=_limited_text(fields, "title", MAX_LABEL_CHARS),
        overview=_limited_text(fields, "overview", MAX_TEXT_CHARS),
        link=_matching(fields, "link", HTTPS_URL_PATTERN, "an https URL"),
        phone=_matching(fields, "phone", PHONE_PATTERN, "a phone number like 031-909-9000"),
        answers=tuple(answers),
        thumbnail_url=_matching(fields, "thumbnail_url", HTTPS_URL_PATTERN, "an https URL", required=False) or None,
        sample_data=fields.flag("sample_data"),
    )


def _parse_answer(raw: Any, where: str, errors: list[str]) -> Answer:
    fields = FieldReader(raw, where, errors, ANSWER_KEYS)
    title = _limited_text(fields, "title", MAX_LABEL_CHARS)
    return Answer(
        id=_matching(fields, "id", ID_PATTERN, "a lower-case id"),
        title=title,
        question=_limited_text(fields, "question", MAX_QUESTION_CHARS, required=False) or title,
        keywords=_keywords(fields),
        text=_limited_text(fields, "text", MAX_TEXT_CHARS),
        link=_matching(fields, "link", HTTPS_URL_PATTERN, "an https URL"),
        phone=_matching(fields, "phone", PHONE_PATTERN, "a phone number like 031-909-9000"),
    )
