"""Civic information answers, the low-confidence ladder and topic subscriptions.

The logic lives in bot/knowledge and bot/subscriptions; these actions read the tracker, call it
and send its Kakao payloads (custom messages, see bot/knowledge/kakao_outputs.py).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.city import get_city_config
from bot.knowledge import Selection, get_knowledge_base, render_answer, select_answer
from bot.knowledge.fallback import TRIES_BEFORE_HUMAN, did_you_mean, failed_tries_in_a_row, human_offer, question_before_tap
from bot.knowledge.matching import Question, matched_keywords, warm_up_in_background
from bot.knowledge.rendering import ANSWER_ENTITY, TOPIC_ENTITY
from bot.knowledge.suggestions import suggest, topic_of_response_key
from bot.subscriptions import replies
from bot.subscriptions.catalogue import get_catalogue
from bot.subscriptions.identity import has_added_channel, subscriber_from_message
from bot.subscriptions.store import get_subscription_store
from bot.subscriptions.texts import ALL_KEYWORDS

logger = logging.getLogger(__name__)

PENDING_SUBSCRIPTION_SLOT = "subscription_pending"
RESET_CIVIC_SLOTS = [SlotSet(TOPIC_ENTITY, None), SlotSet(ANSWER_ENTITY, None)]



def _all_keywords() -> List[str]:
    """The keywords questions are matched against: the knowledge base's and the subscriptions'."""
    answers = [keyword for topic in get_knowledge_base() for answer in topic.answers for keyword in answer.keywords]
    targets = [keyword for target in get_catalogue().targets for keyword in target.keywords]
    return answers + targets + list(ALL_KEYWORDS)


warm_up_in_background(_all_keywords)  # the Korean analyzer is slow to start: not on the first question


def _entity(tracker: Tracker, name: str) -> Optional[str]:
    return next(tracker.get_latest_entity_values(name), None)


def _entities(tracker: Tracker, name: str) -> List[str]:
    return list(dict.fromkeys(str(value) for value in tracker.get_latest_entity_values(name)))


def _typed_text(tracker: Tracker) -> str:
    """The citizen's words, or "" when the message was a payload (a tapped button)."""
    text = tracker.latest_message.get("text") or ""
    return "" if text.startswith("/") else text


def _intent(tracker: Tracker) -> Optional[str]:
    return (tracker.latest_message.get("intent") or {}).get("name")


class ActionAnswerCivicInfo(Action):
    """Answers civic_info from the knowledge base: topic from the ResponseSelector (or a tap's
    `civic_topic`), sub-answer from a tap's `civic_answer` or from the question's morphemes."""

    def name(self) -> Text:
        return "action_answer_civic_info"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        message = tracker.latest_message
        selector = ((message.get("response_selector") or {}).get("civic_info") or {}).get("response") or {}
        topic_id = _entity(tracker, TOPIC_ENTITY) or topic_of_response_key(selector.get("intent_response_key"))
        topic = get_knowledge_base().topic(topic_id) if topic_id else None
        if topic is None:
            logger.warning("civic_info.no_knowledge topic=%s", topic_id)
            dispatcher.utter_message(response="utter_info_menu")
            return RESET_CIVIC_SLOTS
        answer_id = _entity(tracker, ANSWER_ENTITY)
        if answer_id:
            selection = Selection(topic, topic.answer(answer_id))
        else:
            question = _typed_text(tracker) or question_before_tap(tracker.events) or ""
            selection = await asyncio.to_thread(select_answer, topic, question)
        logger.info("civic_info.answer topic=%s answer=%s score=%.2f", topic.id, selection.answer_id, selection.score)
        subscription = get_catalogue().for_civic_topic(topic.id)
        extra_button = replies.subscribe_card_button(subscription) if subscription else None
        dispatcher.utter_message(json_message=render_answer(topic, selection.answer, extra_button))
        return RESET_CIVIC_SLOTS


class ActionLowConfidenceFallback(Action):
    """nlu_fallback: "did you mean" first, the call centre and a human after two failures in a row."""

    def name(self) -> Text:
        return "action_low_confidence_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        failures = failed_tries_in_a_row(tracker.events)
        suggestions = suggest(tracker.latest_message, get_knowledge_base().titles)
        logger.info("fallback failures=%d suggestions=%s", failures, [s.payload for s in suggestions])
        if failures >= TRIES_BEFORE_HUMAN:
            dispatcher.utter_message(json_message=human_offer(get_city_config().profile, suggestions))
        elif suggestions:
            dispatcher.utter_message(json_message=did_you_mean(suggestions))
        else:
            dispatcher.utter_message(response="utter_default")
        return []


class ActionSubscribe(Action):
    """Subscribes to topics or districts, after the citizen's consent (a tap or a typed 네)."""

    def name(self) -> Text:
        return "action_subscribe"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        catalogue, store = get_catalogue(), get_subscription_store()
        pending = tracker.get_slot(PENDING_SUBSCRIPTION_SLOT) or []
        intent = _intent(tracker)
        if intent == "deny":
            dispatcher.utter_message(json_message=replies.declined())
            return [SlotSet(PENDING_SUBSCRIPTION_SLOT, None)]
        if intent == "affirm":
            keys, consent = list(pending), bool(pending)
        else:
            keys = _entities(tracker, replies.TARGET_ENTITY) or [
                target.key for target in await asyncio.to_thread(catalogue.find_targets, _typed_text(tracker))]
            consent = replies.CONSENT_GIVEN in _entities(tracker, replies.CONSENT_ENTITY)
        keys = [key for key in dict.fromkeys(keys) if catalogue.get(key)]
        subscriber = subscriber_from_message(tracker.sender_id, tracker.latest_message)
        active = {subscription.target for subscription in store.active_subscriptions(subscriber.user_key)}
        if not keys:
            dispatcher.utter_message(json_message=replies.choose_target(catalogue, exclude=active))
            return [SlotSet(PENDING_SUBSCRIPTION_SLOT, None)]
        new = [key for key in keys if key not in active]
        already = [key for key in keys if key in active]
        if not new:
            dispatcher.utter_message(json_message=replies.already_subscribed(catalogue, already))
            return [SlotSet(PENDING_SUBSCRIPTION_SLOT, None)]
        if not consent:
            dispatcher.utter_message(json_message=replies.consent_request(catalogue, new))
            return [SlotSet(PENDING_SUBSCRIPTION_SLOT, new)]
        for key in new:
            store.subscribe(subscriber, key, catalogue.consent.version)
        logger.info("subscriptions.subscribed targets=%s consent=%s", new, catalogue.consent.version)
        dispatcher.utter_message(json_message=replies.subscribed(
            catalogue, new, already, has_added_channel(tracker.latest_message)))
        return [SlotSet(PENDING_SUBSCRIPTION_SLOT, None)]


class ActionUnsubscribe(Action):
    """Ends subscriptions: the ones named, the only one, or all ("모두"); asks which otherwise."""

    def name(self) -> Text:
        return "action_unsubscribe"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        catalogue, store = get_catalogue(), get_subscription_store()
        subscriber = subscriber_from_message(tracker.sender_id, tracker.latest_message)
        active = [subscription.target for subscription in store.active_subscriptions(subscriber.user_key)]
        if not active:
            dispatcher.utter_message(json_message=replies.nothing_subscribed())
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
            dispatcher.utter_message(json_message=replies.choose_to_unsubscribe(catalogue, active))
            return [SlotSet(PENDING_SUBSCRIPTION_SLOT, None)]
        ended = store.unsubscribe(subscriber.user_key, None if replies.ALL_TARGETS in keys else keys)
        if ended:
            logger.info("subscriptions.unsubscribed targets=%s", ended)
            dispatcher.utter_message(json_message=replies.unsubscribed(catalogue, ended))
        else:
            dispatcher.utter_message(json_message=replies.not_subscribed_to(catalogue, keys, active))
        return [SlotSet(PENDING_SUBSCRIPTION_SLOT, None)]


class ActionListSubscriptions(Action):
    def name(self) -> Text:
        return "action_list_subscriptions"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        subscriber = subscriber_from_message(tracker.sender_id, tracker.latest_message)
        active = get_subscription_store().active_subscriptions(subscriber.user_key)
        dispatcher.utter_message(json_message=replies.subscription_list(
            get_catalogue(), active, get_city_config().profile.timezone))
        return []
