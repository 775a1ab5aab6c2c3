"""A knowledge answer as a reply: one card (title, text, web-link and phone buttons) and, as
choices, the topic's other sub-questions, each tap answered without NLU."""

from __future__ import annotations

from bot.knowledge import texts
from bot.knowledge.models import Answer, Topic
from bot.replies import Button, Card, Reply, call, link, payload, tap

CIVIC_INFO_INTENT = "civic_info"
TOPIC_ENTITY = "civic_topic"
ANSWER_ENTITY = "civic_answer"
INFO_MENU_PAYLOAD = "/info_menu"


def civic_info_payload(topic_id: str, answer_id: str | None = None) -> str:
    """`/civic_info{"civic_topic": …, "civic_answer": …}`: picks a topic (and answer) directly."""
    entities = {TOPIC_ENTITY: topic_id}
    if answer_id:
        entities[ANSWER_ENTITY] = answer_id
    return payload(CIVIC_INFO_INTENT, entities)


def answer_card(topic: Topic, answer: Answer | None, extra_button: Button | None = None) -> Card:
    title = f"{topic.title} · {answer.title}" if answer else topic.title
    text, url, phone = (answer.text, answer.link, answer.phone) if answer else (topic.overview, topic.link, topic.phone)
    buttons = [link(texts.LINK_BUTTON, url), call(texts.PHONE_BUTTON, phone)]
    if extra_button:
        buttons.append(extra_button)
    return Card(title, text, buttons, image_url=topic.thumbnail_url)


def answer_choices(topic: Topic, answer: Answer | None) -> list[Button]:
    """The topic's other sub-questions, the overview (when showing a sub-answer), other topics
    (the loader keeps a topic's answers few enough for all of them to be offered)."""
    choices = [
        tap(other.title, civic_info_payload(topic.id, other.id), other.question)
        for other in topic.answers
        if answer is None or other.id != answer.id
    ]
    if answer is not None:
        choices.append(
            tap(texts.OVERVIEW_QUICK_REPLY, civic_info_payload(topic.id), f"{topic.title} {texts.OVERVIEW_QUICK_REPLY}")
        )
    choices.append(tap(texts.INFO_MENU_QUICK_REPLY, INFO_MENU_PAYLOAD))
    return choices


def render_answer(topic: Topic, answer: Answer | None, extra_button: Button | None = None) -> Reply:
    """The reply answering with `answer`, or the overview when None."""
    return Reply(buttons=answer_choices(topic, answer), cards=[answer_card(topic, answer, extra_button)])
