"""What can be subscribed to: the topics of data/subscriptions/topics.yml and the city's districts.

`find_targets` names the targets a message mentions ("교통이랑 일산서구 소식 받을래요" →
transport, 일산서구) with the knowledge base's morpheme keyword matching.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from bot.city import ConsentText, District, get_city_config
from bot.city.fields import FieldReader
from bot.knowledge.loader import ID_PATTERN, MAX_LABEL_CHARS
from bot.knowledge.matching import Question, TermFunction, matched_keywords, morpheme_terms
from bot.settings import env_path

CATALOGUE_ENV = "SOTONG_SUBSCRIPTION_TOPICS"
DEFAULT_CATALOGUE = Path(__file__).resolve().parents[2] / "data" / "subscriptions" / "topics.yml"
DISTRICT_TITLE = "{name} 소식"


class CatalogueError(Exception):
    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        super().__init__("invalid subscription topics:\n" + "\n".join(f"  - {e}" for e in errors))


@dataclass(frozen=True)
class SubscriptionTarget:
    key: str  # stored with subscriptions: a topic id, or a district name
    title: str  # ≤ 14 characters
    keywords: tuple[str, ...]
    civic_topic: str | None = None


@dataclass(frozen=True)
class Catalogue:
    targets: tuple[SubscriptionTarget, ...]
    consent: ConsentText

    def get(self, key: str) -> SubscriptionTarget | None:
        return next((target for target in self.targets if target.key == key), None)

    def for_civic_topic(self, civic_topic: str) -> SubscriptionTarget | None:
        return next((target for target in self.targets if target.civic_topic == civic_topic), None)

    def titles(self, keys: Iterable[str]) -> str:
        """ "교통 소식, 일산서구 소식" (unknown keys as they are)."""
        return ", ".join(self.get(key).title if self.get(key) else key for key in keys)

    def find_targets(self, text: str, terms_of: TermFunction = morpheme_terms) -> list[SubscriptionTarget]:
        question = Question.of(text, terms_of)
        return [target for target in self.targets if matched_keywords(target.keywords, question, terms_of)]


def district_target(district: District) -> SubscriptionTarget:
    return SubscriptionTarget(
        key=district.name,
        title=DISTRICT_TITLE.format(name=district.name),
        keywords=(district.name,) + tuple(district.aliases),
    )


def load_catalogue(path: os.PathLike | None = None, districts: Iterable[District] = ()) -> Catalogue:
    path = Path(path) if path else env_path(CATALOGUE_ENV, DEFAULT_CATALOGUE)
    errors: list[str] = []
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise CatalogueError([f"{path.name}: cannot be read: {error}"]) from None
    document = FieldReader(raw, path.name, errors, {"sample_data", "consent", "topics"})
    document.flag("sample_data")
    consent_fields = document.nested("consent", {"version", "purpose", "items", "retention"})
    consent = ConsentText(*(consent_fields.text(key) for key in ("version", "purpose", "items", "retention")))
    targets: list[SubscriptionTarget] = []
    for index, raw_topic in enumerate(document.raw_list("topics")):
        fields = FieldReader(
            raw_topic, f"{path.name} topics[{index}]", errors, {"id", "title", "keywords", "civic_topic"}
        )
        target = SubscriptionTarget(
            key=fields.text("id"),
            title=fields.text("title"),
            keywords=fields.texts("keywords", required=True),
            civic_topic=fields.text("civic_topic", required=False) or None,
        )
        if target.key and not ID_PATTERN.match(target.key):
            fields.error(f"'id' must be a lower-case id, got {target.key!r}")
        if len(target.title) > MAX_LABEL_CHARS:
            fields.error(f"'title' has more than {MAX_LABEL_CHARS} characters")
        targets.append(target)
    targets.extend(district_target(district) for district in districts)
    keys: dict[str, int] = {}
    for target in targets:
        keys[target.key] = keys.get(target.key, 0) + 1
    errors.extend(f"{path.name}: '{key}' is listed twice" for key, count in keys.items() if count > 1)
    if errors:
        raise CatalogueError(errors)
    return Catalogue(targets=tuple(targets), consent=consent)


@cache
def get_catalogue() -> Catalogue:
    """Topics and the city's districts, loaded once per process."""
    return load_catalogue(districts=get_city_config().districts)
