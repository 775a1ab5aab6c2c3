"""Civic information answers, the low-confidence ladder and topic subscriptions.

The logic lives in bot/knowledge and bot/subscriptions; these actions read the tracker, call it
and send its replies (bot.replies: cards and choices, rendered by each channel).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.complaint_answers import entity_span, entity_value
from actions.emergency_messages import guidance as emergency_guidance
from actions.shared import utter
from bot.city import get_city_config
from bot.knowledge import Selection, Topic, get_knowledge_base, render_answer, select_answer
from bot.knowledge.clarification import (
    clarified_text,
    complaint_or_info,
    complaint_or_info_question,
    may_be_emergency,
    ranked_intents,
)
from bot.knowledge.fallback import (
    TRIES_BEFORE_HUMAN,
    did_you_mean,
    failed_tries_in_a_row,
    human_offer,
    question_before_tap,
)
from bot.knowledge.matching import Question, matched_keywords, warm_up_in_background
from bot.knowledge.models import Answer
from bot.knowledge.rendering import ANSWER_ENTITY, CIVIC_INFO_INTENT, TOPIC_ENTITY
from bot.knowledge.search import Hit, get_search_index, search_knowledge
from bot.knowledge.suggestions import selected_topic_id, suggest
from bot.subscriptions import replies
from bot.subscriptions.catalogue import get_catalogue
from bot.subscriptions.identity import has_added_channel, subscriber_from_message
from bot.subscriptions.store import get_subscription_store
from bot.subscriptions.texts import ALL_KEYWORDS

logger = logging.getLogger(__name__)

PENDING_SUBSCRIPTION_SLOT = "subscription_pending"
RESET_CIVIC_SLOTS = [SlotSet(TOPIC_ENTITY, None), SlotSet(ANSWER_ENTITY, None)]


def _all_keywords() -> list[str]:
    """The keywords questions are matched against: the knowledge base's and the subscriptions'."""
    answers = [keyword for topic in get_knowledge_base() for answer in topic.answers for keyword in answer.keywords]
    targets = [keyword for target in get_catalogue().targets for keyword in target.keywords]
    return answers + targets + list(ALL_KEYWORDS)


def _warm_up_keywords() -> list[str]:
    get_search_index()  # cuts every answer's question, keywords and text once, off the request path
    return _all_keywords()


# The Korean analyzer is slow to start: not on the first question.
WARM_UP = warm_up_in_background(_warm_up_keywords)


def _entity(tracker: Tracker, name: str) -> str | None:
    return next(tracker.get_latest_entity_values(name), None)


def _entities(tracker: Tracker, name: str) -> list[str]:
    return list(dict.fromkeys(str(value) for value in tracker.get_latest_entity_values(name)))


def _typed_text(tracker: Tracker) -> str:
    """The citizen's words, or "" when the message was a payload (a tapped button)."""
    text = tracker.latest_message.get("text") or ""
    return "" if text.startswith("/") else text


def _intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


CATEGORY_ENTITY, LOCATION_ENTITY = "complaint_category", "location"
COMPLAINT_FORM = "complaint_form"
SEARCH_WHEN_CIVIC_INFO_RANKS = 3  # nlu_fallback searches the knowledge base when civic_info is this close


def _complaint_entities(message: dict[str, Any]) -> dict[str, str]:
    """What NLU found for the complaint form (category, place): a "신고할래요" tap carries it."""
    found = {
        CATEGORY_ENTITY: entity_value(message, CATEGORY_ENTITY),
        LOCATION_ENTITY: entity_span(message, LOCATION_ENTITY),
    }
    return {name: value for name, value in found.items() if value}


async def _search(text: str) -> Hit | None:
    return await asyncio.to_thread(search_knowledge, text) if text else None


def _send_answer(dispatcher: CollectingDispatcher, topic: Topic, answer: Answer | None) -> list[dict[str, Any]]:
    subscription = get_catalogue().for_civic_topic(topic.id)
    extra_button = replies.subscribe_card_button(subscription) if subscription else None
    utter(dispatcher, render_answer(topic, answer, extra_button))
    return RESET_CIVIC_SLOTS


async def ask_complaint_or_info(
    dispatcher: CollectingDispatcher, tracker: Tracker, topic: Topic | None
) -> list[dict[str, Any]]:
    """ "신고할래요" / "안내가 필요해요" (and a third likely choice) for a message that may be either."""
    message, text = tracker.latest_message, _typed_text(tracker)
    answer_id = None
    if topic is not None:
        answer_id = (await asyncio.to_thread(select_answer, topic, text)).answer_id
    else:
        hit = await _search(text)
        topic, answer_id = (hit.topic, hit.answer.id) if hit else (None, None)
    others = suggest(message, get_knowledge_base().titles)
    logger.info("clarify.complaint_or_info topic=%s answer=%s", topic.id if topic else None, answer_id)
    utter(
        dispatcher,
        complaint_or_info_question(_complaint_entities(message), topic.id if topic else None, answer_id, others),
    )
    return RESET_CIVIC_SLOTS


class ActionAnswerCivicInfo(Action):
    """Answers civic_info from the knowledge base: topic from the ResponseSelector (or a tap's
    `civic_topic`), sub-answer from a tap's `civic_answer` or from the question's morphemes."""

    def name(self) -> str:
        return "action_answer_civic_info"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        message = tracker.latest_message
        topic_id = _entity(tracker, TOPIC_ENTITY) or selected_topic_id(message)
        topic = get_knowledge_base().topic(topic_id) if topic_id else None
        if complaint_or_info(message):  # the runner-up is a complaint on the same subject: ask
            return await ask_complaint_or_info(dispatcher, tracker, topic)
        answer_id = _entity(tracker, ANSWER_ENTITY)
        question = _typed_text(tracker) or question_before_tap(tracker.events) or clarified_text(tracker.events) or ""
        if topic is not None and answer_id:
            selection = Selection(topic, topic.answer(answer_id))
        elif topic is not None:
            selection = await asyncio.to_thread(select_answer, topic, question)
        else:
            selection = None
        if selection is None or (selection.answer is None and not answer_id):
            hit = await _search(question)  # no topic, or nothing specific in it: search every answer
            if hit is not None and (topic is None or hit.topic.id == topic.id or not _entity(tracker, TOPIC_ENTITY)):
                logger.info("civic_info.search topic=%s answer=%s score=%.2f", hit.topic.id, hit.answer.id, hit.score)
                return _send_answer(dispatcher, hit.topic, hit.answer)
        if selection is None:
            logger.warning("civic_info.no_knowledge topic=%s", topic_id)
            dispatcher.utter_message(response="utter_info_menu")
            return RESET_CIVIC_SLOTS
        logger.info("civic_info.answer topic=%s answer=%s score=%.2f", topic.id, selection.answer_id, selection.score)
        return _send_answer(dispatcher, topic, selection.answer)


class ActionStartComplaint(Action):
    """report_complaint: opens the complaint form, unless the message may as well be a question on
    the same subject (information is the runner-up): then "신고할래요" / "안내가 필요해요" first."""

    def name(self) -> str:
        return "action_start_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        message = tracker.latest_message
        if complaint_or_info(message):
            return await ask_complaint_or_info(
                dispatcher, tracker, get_knowledge_base().topic(selected_topic_id(message) or "")
            )
        return [FollowupAction(COMPLAINT_FORM)]


class ActionLowConfidenceFallback(Action):
    """nlu_fallback: "did you mean" first, the call centre and a human after two failures in a row."""

    def name(self) -> str:
        return "action_low_confidence_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        message = tracker.latest_message
        if may_be_emergency(message):  # a person may be in danger: 119/112 first, then the choices
            dispatcher.utter_message(text=emergency_guidance(None))
        if complaint_or_info(message):
            return await ask_complaint_or_info(
                dispatcher, tracker, get_knowledge_base().topic(selected_topic_id(message) or "")
            )
        likely = [name for name, _ in ranked_intents(message)[:SEARCH_WHEN_CIVIC_INFO_RANKS]]
        if CIVIC_INFO_INTENT in likely:
            hit = await _search(_typed_text(tracker))
            if hit is not None:  # a long-tail question the knowledge base answers clearly
                logger.info("fallback.search topic=%s answer=%s score=%.2f", hit.topic.id, hit.answer.id, hit.score)
                return _send_answer(dispatcher, hit.topic, hit.answer)
        failures = failed_tries_in_a_row(tracker.events)
        suggestions = suggest(message, get_knowledge_base().titles)
        logger.info("fallback failures=%d suggestions=%s", failures, [s.payload for s in suggestions])
        if failures >= TRIES_BEFORE_HUMAN:
            utter(dispatcher, human_offer(get_city_config().profile, suggestions))
        elif suggestions:
            utter(dispatcher, did_you_mean(suggestions))
        else:
            dispatcher.utter_message(response="utter_default")
        return []


class ActionSubscribe(Action):
    """Subscribes to topics or districts, after the citizen's consent (a tap or a typed 네)."""

    def name(self) -> str:
        return "action_subscribe"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        catalogue, store = get_catalogue(), get_subscription_store()
        pending = tracker.get_slot(PENDING_SUBSCRIPTION_SLOT) or []
        intent = _intent(tracker)
        if intent == "deny":
            utter(dispatcher, replies.declined())
            return [SlotSet(PENDING_SUBSCRIPTION_SLOT, None)]
        if intent == "affirm":
            keys, consent = list(pending), bool(pending)
        else:
            keys = _entities(tracker, replies.TARGET_ENTITY) or [
                target.key for target in await asyncio.to_thread(catalogue.find_targets, _typed_text(tracker))
            ]
            consent = replies.CONSENT_GIVEN in _entities(tracker, replies.CONSENT_ENTITY)
        keys = [key for key in dict.fromkeys(keys) if catalogue.get(key)]
        subscriber = subscriber_from_message(tracker.sender_id, tracker.latest_message)
        active = {subscription.target for subscription in store.active_subscriptions(subscriber.user_key)}
        if not keys:
            utter(dispatcher, replies.choose_target(catalogue, exclude=active))
            return [SlotSet(PENDING_SUBSCRIPTION_SLOT, None)]
        new = [key for key in keys if key not in active]
        already = [key for key in keys if key in active]
        if not new:
            utter(dispatcher, replies.already_subscribed(catalogue, already))
            return [SlotSet(PENDING_SUBSCRIPTION_SLOT, None)]
        if not consent:
            utter(dispatcher, replies.consent_request(catalogue, new))
            return [SlotSet(PENDING_SUBSCRIPTION_SLOT, new)]
        for key in new:
            store.subscribe(subscriber, key, catalogue.consent.version)
        logger.info("subscriptions.subscribed targets=%s consent=%s", new, catalogue.consent.version)
        utter(dispatcher, replies.subscribed(catalogue, new, already, has_added_channel(tracker.latest_message)))
        return [SlotSet(PENDING_SUBSCRIPTION_SLOT, None)]


class ActionUnsubscribe(Action):
    """Ends subscriptions: the ones named, the only one, or all ("모두"); asks which otherwise."""

    def name(self) -> str:
        return "action_unsubscribe"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        catalogue, store = get_catalogue(), get_subscription_store()
        subscriber = subscriber_from_message(tracker.sender_id, tracker.latest_message)
        active = [subscription.target for subscription in store.active_subscriptions(subscriber.user_key)]
        if not active:
            utter(dispatcher, replies.nothing_subscribed())
            return [SlotSet(PENDING_SUBSCRIPTION_SLOT, None)]
        text = _typed_text(tracker)
        keys = _entities(tracker, replies.TARGET_ENTITY)
        if not keys and text:
            keys = [target.key for target in await asyncio.to_thread(catalogue.find_targets, text)]
            if not keys and await asyncio.to_thread(matched_keywords, ALL_KEYWORDS, Question.of(text)):
                keys = [replies.ALL_TARGETS]
        if not keys and len(active) == 1:
            keys = active
        if not keys:
            utter(dispatcher, replies.choose_to_unsubscribe(catalogue, active))
            return [SlotSet(PENDING_SUBSCRIPTION_SLOT, None)]
        ended = store.unsubscribe(subscriber.user_key, None if replies.ALL_TARGETS in keys else keys)
        if ended:
            logger.info("subscriptions.unsubscribed targets=%s", ended)
            utter(dispatcher, replies.unsubscribed(catalogue, ended))
        else:
            utter(dispatcher, replies.not_subscribed_to(catalogue, keys, active))
        return [SlotSet(PENDING_SUBSCRIPTION_SLOT, None)]


class ActionListSubscriptions(Action):
    def name(self) -> str:
        return "action_list_subscriptions"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        subscriber = subscriber_from_message(tracker.sender_id, tracker.latest_message)
        active = get_subscription_store().active_subscriptions(subscriber.user_key)
        utter(dispatcher, replies.subscription_list(get_catalogue(), active, get_city_config().profile.timezone))
        return []
