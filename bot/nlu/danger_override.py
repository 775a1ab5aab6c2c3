"""Rasa graph component: a person in danger gets report_emergency whatever DIET said.

Why a lexicon in the NLU pipeline: someone who writes "가슴이 너무 아프고 숨쉬기가 힘드네" must get
the 119 guidance first, and the classifier's *confident* misses (a health emergency read as a
complaint at 1.00) are exactly the failure mode: the fallback ladder and "did you mean" never see
them. So after DIET and before the FallbackClassifier, `DangerSignOverride` looks for clear signs of
danger to a person or property now (breathing trouble, unconsciousness, collapse, heavy bleeding,
chest pain with breathing trouble, fire, flames and sparks, a gas smell, flooding with people
trapped, sinkholes) and makes report_emergency the top intent.

The signs are data: `danger_signs` (emergency type id → regular expressions) and `not_danger`
(information questions, hypotheticals, status questions, ordinary smell and smoke complaints,
exaggeration) in `data/city/danger_signs.yml` (the city data directory, SOTONG_CITY_DATA_DIR),
read when the model is trained or loaded (a copy travels in the model for a server without the
file). Patterns match the lower-cased text with its
spaces removed, so spacing errors do not hide a sign.

Ranking stays consistent: report_emergency gets `confidence` (or its own, when higher), the other
intents share the rest in their order, `intent` is the first entry of `intent_ranking`. The
message carries `danger_sign` (type, matched words, the intent it replaced) in the parse result,
and an `emergency_type` entity is added when none was found.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from re import Pattern
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from ruamel.yaml import YAML

EMERGENCY_INTENT = "report_emergency"
ENTITY = "emergency_type"
EXTRACTOR = "DangerSignOverride"
OUTPUT_KEY = "danger_sign"
FILENAME = "danger_signs.json"
SIGNS_FILE = "danger_signs.yml"

Signs = dict[str, list[str]]


def default_signs_path() -> Path:
    from bot.city.loader import default_data_dir

    return default_data_dir() / SIGNS_FILE


def read_signs(path: Path) -> tuple[Signs, list[str]]:
    """(danger_signs, not_danger) from the YAML file; every pattern must compile."""
    data = YAML(typ="safe").load(Path(path).read_text(encoding="utf-8")) or {}
    signs = {str(k): [str(p) for p in (v or [])] for k, v in (data.get("danger_signs") or {}).items()}
    not_danger = [str(p) for p in (data.get("not_danger") or [])]
    for pattern in [p for ps in signs.values() for p in ps] + not_danger:
        re.compile(pattern)
    return signs, not_danger


def squeeze(text: str) -> tuple[str, list[int]]:
    """The lower-cased text without whitespace, and each kept character's offset in the text."""
    kept = [(i, c) for i, c in enumerate(text.lower()) if not c.isspace()]
    return "".join(c for _, c in kept), [i for i, _ in kept]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class DangerSignOverride(GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # signs_file: None → data/city/danger_signs.yml of the city data directory
        return {"signs_file": None, "confidence": 0.9}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage | None = None,
        resource: Resource | None = None,
        signs: Signs | None = None,
        not_danger: list[str] | None = None,
    ) -> None:
        self._config = {**self.get_default_config(), **(config or {})}
        self._model_storage = model_storage
        self._resource = resource
        if signs is None:
            signs, not_danger = read_signs(self._signs_path())
        self.signs = signs
        self.not_danger = list(not_danger or [])
        self._signs: list[tuple[str, Pattern[str]]] = [
            (kind, re.compile(p)) for kind, patterns in signs.items() for p in patterns
        ]
        self._not_danger = [re.compile(p) for p in self.not_danger]

    def _signs_path(self) -> Path:
        configured = self._config.get("signs_file")
        return Path(configured) if configured else default_signs_path()

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> DangerSignOverride:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> DangerSignOverride:
        # The city's current file wins (an edited sign applies at the next start, without a
        # retraining that Rasa's cache would skip anyway); the copy in the model is the fallback.
        component = cls(
            {**config, "signs_file": config.get("signs_file")}, model_storage, resource, signs={}, not_danger=[]
        )
        if component._signs_path().exists():
            return cls(config, model_storage, resource)
        try:
            with model_storage.read_from(resource) as directory:
                stored = json.loads((directory / FILENAME).read_text(encoding="utf-8"))
            return cls(config, model_storage, resource, stored["danger_signs"], stored["not_danger"])
        except (ValueError, FileNotFoundError, KeyError):
            return component

    def train(self, training_data: TrainingData) -> Resource:
        # the signs are read from the data file when the model is trained and travel with it
        with self._model_storage.write_to(self._resource) as directory:
            (directory / FILENAME).write_text(
                json.dumps({"danger_signs": self.signs, "not_danger": self.not_danger}, ensure_ascii=False),
                encoding="utf-8",
            )
        return self._resource

    def find_sign(self, text: str) -> tuple[str, int, int] | None:
        """(emergency type, start, end in `text`) of the first danger sign, or None."""
        if not text or text.lstrip().startswith("/"):  # intent payloads of buttons
            return None
        squeezed, offsets = squeeze(text)
        if any(p.search(squeezed) for p in self._not_danger):
            return None
        for kind, pattern in self._signs:
            match = pattern.search(squeezed)
            if match and match.end() > match.start():
                return kind, offsets[match.start()], offsets[match.end() - 1] + 1
        return None

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            found = self.find_sign(message.get(TEXT) or "")
            if found:
                self._override(message, *found)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def _override(self, message: Message, kind: str, start: int, end: int) -> None:
        intent = message.get(INTENT) or {}
        ranking = [dict(e) for e in (message.get(INTENT_RANKING_KEY) or [])]
        previous = intent.get(INTENT_NAME_KEY)
        own = next(
            (
                float(e.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
                for e in ranking
                if e.get(INTENT_NAME_KEY) == EMERGENCY_INTENT
            ),
            0.0,
        )
        confidence = max(float(self._config["confidence"]), own)
        others = [e for e in ranking if e.get(INTENT_NAME_KEY) != EMERGENCY_INTENT]
        rest = sum(float(e.get(PREDICTED_CONFIDENCE_KEY) or 0.0) for e in others)
        scale = (1.0 - confidence) / rest if rest > 0 else 0.0
        for entry in others:
            entry[PREDICTED_CONFIDENCE_KEY] = float(entry.get(PREDICTED_CONFIDENCE_KEY) or 0.0) * scale
        top = {INTENT_NAME_KEY: EMERGENCY_INTENT, PREDICTED_CONFIDENCE_KEY: confidence}
        message.set(INTENT, dict(top), add_to_output=True)
        message.set(INTENT_RANKING_KEY, [top] + others, add_to_output=True)
        text = message.get(TEXT) or ""
        message.set(
            OUTPUT_KEY,
            {"type": kind, "text": text[start:end], "replaced_intent": previous},
            add_to_output=True,
        )
        entities = list(message.get(ENTITIES) or [])
        if not any(e.get("entity") == ENTITY for e in entities):
            entities.append(
                {
                    "entity": ENTITY,
                    "start": start,
                    "end": end,
                    "value": kind,
                    "confidence_entity": 1.0,
                    "extractor": EXTRACTOR,
                }
            )
            message.set(ENTITIES, entities, add_to_output=True)
