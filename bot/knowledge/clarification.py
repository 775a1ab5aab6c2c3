"""Asking instead of guessing: a message that may be a complaint or a question on the same subject.

"주차 단속" may be an enforcement request (report_complaint) or a question about fines
(civic_info/parking). When both paths are the two best intents of a typed message and the
runner-up has a meaningful score, the bot asks with quick replies instead of picking one:

* "신고할래요" → `/report_complaint{...}` with the category and place NLU found, so the complaint
  form does not ask for them again;
* "안내가 필요해요" → `/civic_info{"civic_topic": …, "civic_answer": …}`, the answer card itself;
* optionally a third likely choice from "did you mean" (e.g. 긴급 신고).

The decision is a pure function of the message's parse (`intent_ranking`, FallbackClassifier's
`nlu_fallback` left out), so a later turn can tell that the message before a tap was asked about.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.knowledge import texts
from bot.knowledge.fallback import FALLBACK_INTENT, user_events_of_session
from bot.knowledge.rendering import CIVIC_INFO_INTENT, INFO_MENU_PAYLOAD, civic_info_payload
from bot.knowledge.suggestions import Suggestion
from bot.replies import Reply, payload, tap

COMPLAINT_INTENT = "report_complaint"
PATHS = frozenset({COMPLAINT_INTENT, CIVIC_INFO_INTENT})
# The runner-up path must have at least this confidence to be asked about: below it the best
# intent is trusted (DIET's confidences are softmax scores over all intents).
MIN_RUNNER_UP_CONFIDENCE = 0.25
MAX_CHOICES = 3
EMERGENCY_INTENT = "report_emergency"
MIN_EMERGENCY_CONFIDENCE = 0.15  # lower than for the runner-up path: missing a person in danger costs more


def ranked_intents(parse_data: Mapping[str, Any]) -> list[tuple[str, float]]:
    """The message's intents, best first, without FallbackClassifier's nlu_fallback."""
    ranked = [
        (str(entry.get("name")), float(entry.get("confidence") or 0.0))
        for entry in parse_data.get("intent_ranking") or []
        if isinstance(entry, Mapping)
    ]
    return sorted(
        ((name, confidence) for name, confidence in ranked if name != FALLBACK_INTENT),
        key=lambda pair: pair[1],
        reverse=True,
    )


def is_typed(parse_data: Mapping[str, Any]) -> bool:
    """A typed message, not a tap (taps arrive as `/intent{...}` payloads and skip NLU)."""
    text = (parse_data.get("text") or "").strip()
    return bool(text) and not text.startswith("/")


def complaint_or_info(parse_data: Mapping[str, Any]) -> bool:
    """Whether the typed message may be a complaint or an information question on one subject."""
    if not is_typed(parse_data):
        return False
    best_two = ranked_intents(parse_data)[:2]
    return {name for name, _ in best_two} == PATHS and best_two[1][1] >= MIN_RUNNER_UP_CONFIDENCE


def may_be_emergency(parse_data: Mapping[str, Any]) -> bool:
    """Whether an unsure message may report danger (report_emergency among the two best intents):
    the 119/112 guidance then comes before anything else."""
    return any(
        name == EMERGENCY_INTENT and confidence >= MIN_EMERGENCY_CONFIDENCE
        for name, confidence in ranked_intents(parse_data)[:2]
    ) and is_typed(parse_data)


def clarified_text(events: Iterable[Mapping[str, Any]]) -> str | None:
    """The text of the message the citizen was asked about, when the latest message is the tap."""
    user_events = user_events_of_session(events)
    if len(user_events) >= 2 and complaint_or_info(user_events[1].get("parse_data") or {}):
        return user_events[1].get("text")
    return None


def complaint_or_info_question(
    complaint_entities: Mapping[str, str],
    topic_id: str | None,
    answer_id: str | None = None,
    others: Sequence[Suggestion] = (),
) -> Reply:
    """The question and its choices; `others` may add one more likely choice."""
    info_payload = civic_info_payload(topic_id, answer_id) if topic_id else INFO_MENU_PAYLOAD
    choices = [
        tap(texts.CLARIFY_COMPLAINT, payload(COMPLAINT_INTENT, complaint_entities)),
        tap(texts.CLARIFY_INFO, info_payload),
    ]
    taken = {COMPLAINT_INTENT, CIVIC_INFO_INTENT}
    for other in others:
        intent = other.payload.lstrip("/").split("{", 1)[0]
        if intent not in taken and len(choices) < MAX_CHOICES:
            choices.append(other.as_button())
            taken.add(intent)
    return Reply(texts.CLARIFY_COMPLAINT_OR_INFO, choices)
