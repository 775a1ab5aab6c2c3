"""Rasa graph component: resolves closed-set entities to their canonical values.

`complaint_category` and `emergency_type` take a fixed set of values (DESIGN.md). DIET
sometimes extracts a span that is slightly too long ("신호등 완전히") or misses the word,
so after EntitySynonymMapper this component
- keeps entities whose value is canonical,
- maps other spans to the longest known surface word they contain, or drops them,
- and, where DIET found none, adds the entity when a known surface word covers whole
  tokens of the message.
Known surface words are learned at training time from synonyms and annotations.
"""

from __future__ import annotations

import json
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

Lexicon = dict[str, dict[str, str]]  # entity → surface word (lower case) → canonical value
FILENAME = "closed_entities.json"
EXTRACTOR = "ClosedSetEntityResolver"


def learn_lexicon(training_data: TrainingData, entity_names: list[str]) -> Lexicon:
    lexicon: Lexicon = {name: {} for name in entity_names}
    for example in training_data.entity_examples:
        for entity in example.get(ENTITIES, []):
            if entity["entity"] in lexicon:
                surface = example.get(TEXT)[entity["start"] : entity["end"]].lower()
                lexicon[entity["entity"]][surface] = str(entity["value"])
    values = {name: set(words.values()) for name, words in lexicon.items()}
    for surface, value in training_data.entity_synonyms.items():
        for name in entity_names:
            if value in values[name]:
                lexicon[name][surface.lower()] = value
    for name in entity_names:  # the canonical value itself is a surface word too
        for value in values[name]:
            lexicon[name].setdefault(value.lower(), value)
    return lexicon


def longest_surface_in(text: str, words: dict[str, str]) -> tuple[str, int] | None:
    lowered = text.lower()
    found = [(len(s), s, lowered.find(s)) for s in words if s and s in lowered]
    if not found:
        return None
    _, surface, start = max(found)
    return surface, start


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class ClosedSetEntityResolver(GraphComponent, EntityExtractorMixin):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"entities": ["complaint_category", "emergency_type"], "min_surface_chars": 2}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        lexicon: Lexicon | None = None,
    ) -> None:
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self.lexicon: Lexicon = lexicon or {}
        self.canonical = {name: set(words.values()) for name, words in self.lexicon.items()}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ClosedSetEntityResolver:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> ClosedSetEntityResolver:
        with model_storage.read_from(resource) as directory:
            lexicon = json.loads((directory / FILENAME).read_text(encoding="utf-8"))
        return cls(config, model_storage, resource, lexicon)

    def train(self, training_data: TrainingData) -> Resource:
        lexicon = learn_lexicon(training_data, list(self._config["entities"]))
        with self._model_storage.write_to(self._resource) as directory:
            (directory / FILENAME).write_text(json.dumps(lexicon, ensure_ascii=False), encoding="utf-8")
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            entities = [e for e in message.get(ENTITIES, []) if self._resolve(e)]
            for name in self.lexicon:
                if not any(e["entity"] == name for e in entities):
                    found = self._find_in_text(message, name)
                    if found:
                        entities.append(found)
            message.set(ENTITIES, entities, add_to_output=True)
        return messages

    def _resolve(self, entity: dict[str, Any]) -> bool:
        """Makes a closed-set entity canonical in place; False when it cannot be."""
        name = entity["entity"]
        if name not in self.lexicon or str(entity.get("value")) in self.canonical[name]:
            return True
        match = longest_surface_in(str(entity.get("value")), self.lexicon[name])
        if not match:
            return False
        entity["value"] = self.lexicon[name][match[0]]
        entity.setdefault("processors", []).append(EXTRACTOR)
        return True

    def _find_in_text(self, message: Message, name: str) -> dict[str, Any] | None:
        text = message.get(TEXT) or ""
        tokens = message.get("text_tokens") or []
        starts = {t.start for t in tokens}
        ends = {t.end for t in tokens}
        words = {s: v for s, v in self.lexicon[name].items() if len(s) >= self._config["min_surface_chars"]}
        lowered = text.lower()
        for surface in sorted(words, key=len, reverse=True):
            start = lowered.find(surface)
            while start >= 0:
                end = start + len(surface)
                if start in starts and end in ends:
                    return {
                        "entity": name,
                        "start": start,
                        "end": end,
                        "value": words[surface],
                        "confidence_entity": 1.0,
                        "extractor": EXTRACTOR,
                    }
                start = lowered.find(surface, start + 1)
        return None
