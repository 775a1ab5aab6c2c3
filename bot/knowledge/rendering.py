"""A knowledge answer as Kakao outputs: one card (title, text, web-link and phone buttons) and
quick replies for the topic's other sub-questions, each tap answered without NLU."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from bot.knowledge import texts
from bot.knowledge.kakao_outputs import card, link_button, phone_button, quick_reply, rasa_payload, template
from bot.knowledge.models import Answer, Topic

CIVIC_INFO_INTENT = "civic_info"
TOPIC_ENTITY = "civic_topic"
ANSWER_ENTITY = "civic_answer"
INFO_MENU_PAYLOAD = "/info_menu"


def civic_info_payload(topic_id: str, answer_id: Optional[str] = None) -> str:
    """`/civic_info{"civic_topic": …, "civic_answer": …}`: picks a topic (and answer) directly."""
    entities = {TOPIC_ENTITY: topic_id}
    if answer_id:
        entities[ANSWER_ENTITY] = answer_id
    return rasa_payload(CIVIC_INFO_INTENT, entities)


def answer_card(topic: Topic, answer: Optional[Answer],
                extra_button: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    title = f"{topic.title} · {answer.title}" if answer else topic.title
    text, link, phone = (answer.text, answer.link, answer.phone) if answer else (topic.overview, topic.link, topic.phone)
    buttons = [link_button(texts.LINK_BUTTON, link), phone_button(texts.PHONE_BUTTON, phone)]
    if extra_button:
        buttons.append(extra_button)
    return card(title, text, buttons, topic.thumbnail_url)


def answer_quick_replies(topic: Topic, answer: Optional[Answer]) -> List[Dict[str, Any]]:
    """The topic's other sub-questions, the overview (when showing a sub-answer), other topics."""
    replies = [
        quick_reply(other.title, civic_info_payload(topic.id, other.id), other.question)
        for other in topic.answers if answer is None or other.id != answer.id
    ]
    if answer is not None:
        replies.append(quick_reply(texts.OVERVIEW_QUICK_REPLY, civic_info_payload(topic.id),
                                   f"{topic.title} {texts.OVERVIEW_QUICK_REPLY}"))
    replies.append(quick_reply(texts.INFO_MENU_QUICK_REPLY, INFO_MENU_PAYLOAD))
    return replies


def render_answer(topic: Topic, answer: Optional[Answer],
                  extra_button: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The custom payload (`json_message`) answering with `answer`, or the overview when None."""
    return template([answer_card(topic, answer, extra_button)], answer_quick_replies(topic, answer))
