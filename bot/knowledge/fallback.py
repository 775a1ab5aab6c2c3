"""The low-confidence ladder: what the bot says when NLU is unsure, from the conversation so far.

1st failed try in a row: "혹시 이것을 찾으셨나요?" with the likeliest topics as quick replies.
2nd and later: the call centre (a card with a call button) and the human_handoff option.
A failed try is a user message whose intent is nlu_fallback; a session start or any other user
message ends the row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.city import CityProfile
from bot.knowledge import texts
from bot.knowledge.suggestions import Suggestion
from bot.replies import Card, Reply, call, tap

FALLBACK_INTENT = "nlu_fallback"
HUMAN_HANDOFF_PAYLOAD = "/human_handoff"
TRIES_BEFORE_HUMAN = 2


def _user_intent(event: Mapping[str, Any]) -> str | None:
    return ((event.get("parse_data") or {}).get("intent") or {}).get("name")


def user_events_of_session(events: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The session's user events, latest first."""
    found = []
    for event in reversed(list(events)):
        if event.get("event") == "session_started":
            break
        if event.get("event") == "user":
            found.append(event)
    return found


def failed_tries_in_a_row(events: Iterable[Mapping[str, Any]]) -> int:
    count = 0
    for event in user_events_of_session(events):
        if _user_intent(event) != FALLBACK_INTENT:
            break
        count += 1
    return count


def question_before_tap(events: Iterable[Mapping[str, Any]]) -> str | None:
    """The text of the failed try just before the latest message (a "did you mean" tap), if any."""
    user_events = user_events_of_session(events)
    if len(user_events) >= 2 and _user_intent(user_events[1]) == FALLBACK_INTENT:
        return user_events[1].get("text")
    return None


def did_you_mean(suggestions: list[Suggestion]) -> Reply:
    return Reply(texts.DID_YOU_MEAN, [s.as_button() for s in suggestions])


def human_offer(profile: CityProfile, suggestions: list[Suggestion]) -> Reply:
    description = texts.HUMAN_OFFER.format(
        call_centre_name=profile.call_centre_name,
        call_centre_phone=profile.call_centre_phone,
        call_centre_hours=profile.call_centre_hours,
    )
    offer = Card(texts.HUMAN_OFFER_TITLE, description, [call(texts.CALL_BUTTON, profile.call_centre_phone)])
    choices = [tap(texts.HUMAN_HANDOFF_QUICK_REPLY, HUMAN_HANDOFF_PAYLOAD)]
    choices += [s.as_button() for s in suggestions if s.payload != HUMAN_HANDOFF_PAYLOAD]
    return Reply(buttons=choices, cards=[offer])
