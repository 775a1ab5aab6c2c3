"""Rasa graph component: a Korean tokenizer (Kiwi, Mecab or a konlpy analyzer) with exact offsets."""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.spacy_tokenizer import POS_TAG_KEY
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.analyzers import get_analyzer
from bot.nlu.segmentation import segment


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class KoreanTokenizer(Tokenizer):
    """Tokenizes Korean text into morphemes with a morphological analyzer (bot/nlu/analyzers.py).

    Every token is an exact slice of the message text, so entity offsets survive;
    the analyzer's POS tag is set as the token's ``pos`` for the lexical featurizer.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # kiwi | okt | komoran | kkma | hannanum | mecab (figures: bench/README.md)
            "analyzer": "okt",
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
        }

    @staticmethod
    def supported_languages() -> list[str] | None:
        return ["ko"]

    @staticmethod
    def required_packages() -> list[str]:
        return ["konlpy"]

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        # Loads the analyzer (and starts the JVM) now, not on the first message.
        self._analyzer = get_analyzer(config["analyzer"])

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> KoreanTokenizer:
        return cls(config)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = message.get(attribute) or ""
        tokens = []
        for span in segment(text, self._analyzer.pos):
            token = Token(span.text, span.start, span.end)
            token.set(POS_TAG_KEY, span.tag)
            tokens.append(token)
        return self._apply_token_pattern(tokens)
