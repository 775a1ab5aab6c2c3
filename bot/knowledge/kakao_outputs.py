"""Builders of Kakao outputs sent from actions as custom payloads.

Convention of bot/channels/kakao/response.py: an action sends
`dispatcher.utter_message(json_message={"outputs": [...], "quickReplies": [...]})`; a quick reply
that must skip NLU carries a Rasa payload in `extra` (`payload_extra`, bot/channels/kakao/extra.py)
and the channel sends that payload to Rasa when it is tapped.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional

from bot.channels.kakao.extra import payload_extra

Component = Dict[str, Any]

MAX_BASIC_CARD_DESCRIPTION_CHARS = 230  # Kakao: a basicCard needs a thumbnail and ≤ 230 chars
MAX_CARD_BUTTONS = 3
MAX_QUICK_REPLIES = 10


def rasa_payload(intent: str, entities: Optional[Mapping[str, Any]] = None) -> str:
    """`/intent{"entity": "value"}`: what a tap sends to Rasa instead of text."""
    if not entities:
        return f"/{intent}"
    return f"/{intent}" + json.dumps(dict(entities), ensure_ascii=False, separators=(",", ":"))


def quick_reply(label: str, payload: str, message_text: Optional[str] = None) -> Dict[str, Any]:
    """A quick reply whose tap shows `message_text` (default: the label) and sends `payload`."""
    return {"label": label, "action": "message", "messageText": message_text or label,
            "extra": payload_extra(payload)}


def link_button(label: str, url: str) -> Dict[str, Any]:
    return {"action": "webLink", "label": label, "webLinkUrl": url}


def phone_button(label: str, phone_number: str) -> Dict[str, Any]:
    return {"action": "phone", "label": label, "phoneNumber": phone_number}


def message_button(label: str, payload: str, message_text: Optional[str] = None) -> Dict[str, Any]:
    return {"action": "message", "label": label, "messageText": message_text or label,
            "extra": payload_extra(payload)}


def card(title: str, description: str, buttons: List[Dict[str, Any]],
         thumbnail_url: Optional[str] = None) -> Component:
    """A basicCard when there is a picture and the text fits its 230 characters, else a textCard
    (same title, description and buttons, 400 characters)."""
    body: Dict[str, Any] = {"title": title, "description": description, "buttons": buttons[:MAX_CARD_BUTTONS]}
    if thumbnail_url and len(description) <= MAX_BASIC_CARD_DESCRIPTION_CHARS:
        return {"basicCard": {**body, "thumbnail": {"imageUrl": thumbnail_url}}}
    return {"textCard": body}


def simple_text(text: str) -> Component:
    return {"simpleText": {"text": text}}


def template(outputs: List[Component], quick_replies: Optional[List[Dict[str, Any]]] = None) -> Dict[str, Any]:
    """The custom payload for `utter_message(json_message=...)`."""
    message: Dict[str, Any] = {"outputs": outputs}
    if quick_replies:
        message["quickReplies"] = quick_replies[:MAX_QUICK_REPLIES]
    return message
