"""Rasa's ResponseSelector, run only for messages that may be a question of its retrieval intent.

Rasa's ResponseSelector picks a civic_info topic for *every* message: a second DIET model run on
greetings, complaint details, yes/no answers to a form and budget proposals alike, whose
prediction nobody reads. Under load that was 8 % of the Rasa process (py-spy, bench/kakao_load.py),
and about 4 ms per message. `GatedResponseSelector` (config.yml, same options as
ResponseSelector plus `gate_confidence`) predicts only when the message's intent is the retrieval
intent, or the retrieval intent has at least `gate_confidence` in the intent ranking (the "did you
mean" suggestions of an unclear message use the topic ranking then). Other messages carry no
`response_selector` prediction; everything that reads one (actions/knowledge.py,
bot/knowledge/suggestions.py) treats a missing prediction as "no topic".
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.length_buckets import LengthBucketedTraining

GATE_CONFIDENCE = "gate_confidence"
DEFAULT_GATE_CONFIDENCE = 0.05


def retrieval_intent_confidence(message: Message, retrieval_intent: str) -> float:
    """The retrieval intent's confidence in the message's intent ranking (1 if it is the intent)."""
    intent = message.get(INTENT) or {}
    if intent.get(INTENT_NAME_KEY) == retrieval_intent:
        return 1.0
    for entry in message.get(INTENT_RANKING_KEY) or []:
        if entry.get(INTENT_NAME_KEY) == retrieval_intent:
            return float(entry.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
    return 0.0


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class GatedResponseSelector(LengthBucketedTraining, ResponseSelector):
    """Trains on batches of similar length (bot/nlu/length_buckets.py)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        defaults = LengthBucketedTraining.with_bucket_default(ResponseSelector.get_default_config())
        return {**defaults, GATE_CONFIDENCE: DEFAULT_GATE_CONFIDENCE}

    def _may_be_retrieval_question(self, message: Message) -> bool:
        if not self.retrieval_intent:  # one selector for every retrieval intent: always run
            return True
        threshold = float(self.component_config.get(GATE_CONFIDENCE, DEFAULT_GATE_CONFIDENCE))
        return retrieval_intent_confidence(message, self.retrieval_intent) >= threshold

    def process(self, messages: list[Message]) -> list[Message]:
        relevant = [message for message in messages if self._may_be_retrieval_question(message)]
        if relevant:
            super().process(relevant)
        return messages
