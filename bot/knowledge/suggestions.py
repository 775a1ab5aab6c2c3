""" "Did you mean": the likeliest things a citizen meant, from one message's NLU result.

Candidates come from `intent_ranking`; the retrieval intent civic_info is expanded into its topics
with the ResponseSelector's `ranking` (confidence = intent confidence × topic confidence). Only
intents with a label in `texts.INTENT_LABELS` and topics with knowledge are offered: greetings,
nlu_fallback or out_of_scope make no useful suggestion.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.knowledge import texts
from bot.knowledge.rendering import CIVIC_INFO_INTENT, INFO_MENU_PAYLOAD, civic_info_payload
from bot.replies import Button, tap

RESPONSE_KEY_PREFIX = f"{CIVIC_INFO_INTENT}/"


@dataclass(frozen=True)
class Suggestion:
    label: str
    payload: str
    confidence: float

    def as_button(self) -> Button:
        return tap(self.label, self.payload)


def topic_of_response_key(response_key: str | None) -> str | None:
    """ "civic_info/waste" → "waste"."""
    if isinstance(response_key, str) and response_key.startswith(RESPONSE_KEY_PREFIX):
        return response_key[len(RESPONSE_KEY_PREFIX) :] or None
    return None


def selected_topic_id(parse_data: Mapping[str, Any]) -> str | None:
    """The topic the ResponseSelector picked for the message, if any."""
    selector = (parse_data.get("response_selector") or {}).get(CIVIC_INFO_INTENT) or {}
    return topic_of_response_key((selector.get("response") or {}).get("intent_response_key"))


def civic_topic_ranking(parse_data: Mapping[str, Any]) -> list[dict[str, Any]]:
    selector = (parse_data.get("response_selector") or {}).get(CIVIC_INFO_INTENT) or {}
    return [entry for entry in selector.get("ranking") or [] if isinstance(entry, dict)]


def _civic_suggestions(
    confidence: float, parse_data: Mapping[str, Any], topic_titles: Mapping[str, str]
) -> list[Suggestion]:
    suggestions = []
    for entry in civic_topic_ranking(parse_data):
        topic_id = topic_of_response_key(entry.get("intent_response_key"))
        if topic_id in topic_titles:
            suggestions.append(
                Suggestion(
                    topic_titles[topic_id],
                    civic_info_payload(topic_id),
                    confidence * float(entry.get("confidence") or 0.0),
                )
            )
    if not suggestions:  # civic_info without a usable topic ranking: offer the information menu
        suggestions.append(Suggestion(texts.CIVIC_INFO_MENU_LABEL, INFO_MENU_PAYLOAD, confidence))
    return suggestions


def suggest(parse_data: Mapping[str, Any], topic_titles: Mapping[str, str], limit: int = 3) -> list[Suggestion]:
    """The `limit` likeliest suggestions for one message, best first, without repeats."""
    candidates: list[Suggestion] = []
    for entry in parse_data.get("intent_ranking") or []:
        name, confidence = entry.get("name"), float(entry.get("confidence") or 0.0)
        if name == CIVIC_INFO_INTENT:
            candidates.extend(_civic_suggestions(confidence, parse_data, topic_titles))
        elif name in texts.INTENT_LABELS:
            candidates.append(Suggestion(texts.INTENT_LABELS[name], f"/{name}", confidence))
    candidates.sort(key=lambda suggestion: suggestion.confidence, reverse=True)
    unique: dict[str, Suggestion] = {}
    for suggestion in candidates:
        unique.setdefault(suggestion.payload, suggestion)
    return list(unique.values())[:limit]
