"""What the bot says, in no channel's format: a text, the choices under it, cards.

Actions and the domain packages (knowledge, subscriptions, budget, complaints, emergency) build a
:class:`Reply`; ``actions.shared.utter`` hands it to Rasa as one bot message (:func:`rasa_message`).
Each channel renders Rasa's messages: the Kakao channel (bot/channels/kakao/response.py) makes a
SkillResponse 2.0 within Kakao's limits (bot/channels/kakao/format_limits.py), the REST channel
passes text and buttons through.

A reply's ``buttons`` are the choices offered under it (Kakao shows them as quick replies):

* ``Button("사진 없음")`` answers with its own words: the tap sends the label (or ``message``) as
  if the citizen had typed it (see :func:`answers`);
* :func:`tap` sends a Rasa payload (``/intent{"entity": "value"}``, see :func:`payload`) that skips
  NLU; the citizen's bubble shows ``message`` (default: the label);
* :func:`link` opens a web page and :func:`call` dials a number: a channel that cannot offer them
  as choices shows them as text lines.

A :class:`Card` has a title, a text, an optional picture and buttons of the same kinds; a reply's
cards are shown one under another, or side by side (``carousel=True``).

On the wire (a Rasa bot message, as ``dispatcher.utter_message`` takes it):

* ``text`` is the reply's text;
* ``buttons`` are Rasa buttons: ``{"title", "payload"}``, with ``"message"`` when the bubble is not
  the label; ``{"title", "url", "type": "web_url"}``; ``{"title", "payload": <number>,
  "type": "phone_number"}``;
* cards travel in ``custom`` as ``{"reply_cards": {"carousel": bool, "items": [{"title", "text",
  "image_url", "image_alt", "buttons": [<Rasa buttons>]}]}}`` (:func:`cards_in` reads them back).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# The most choices one reply offers, what every channel shows at once (Kakao: 10 quick replies; a
# channel lists any beyond its own limit as text). A reply listing things (categories, topics,
# projects) offers the first ones, keeping room for a choice that must stay visible ("취소").
MAX_CHOICES = 10

CARDS_KEY = "reply_cards"
WEB_URL_TYPE = "web_url"
PHONE_TYPE = "phone_number"


def payload(intent: str, entities: Mapping[str, Any] | None = None) -> str:
    """``/intent{"entity": "value"}``: what a tap sends to Rasa instead of text (NLU is skipped)."""
    if not entities:
        return f"/{intent}"
    return f"/{intent}" + json.dumps(dict(entities), ensure_ascii=False, separators=(",", ":"))


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Button:
    """One choice: answers with words, sends a Rasa payload, opens a link or calls a number."""

    label: str
    payload: str | None = None  # a Rasa payload, or the words a tap sends (default: message or label)
    message: str | None = None  # the citizen's bubble when tapped (default: the label)
    url: str | None = None  # a web link instead of a message
    phone: str | None = None  # a phone number to call instead of a message

    def to_rasa(self) -> dict[str, str]:
        if self.url:
            return {"title": self.label, "url": self.url, "type": WEB_URL_TYPE}
        if self.phone:
            return {"title": self.label, "payload": self.phone, "type": PHONE_TYPE}
        button = {"title": self.label, "payload": self.payload or self.message or self.label}
        if self.payload and self.message and self.message != self.label:
            button["message"] = self.message
        return button

    @classmethod
    def from_rasa(cls, raw: Any) -> Button | None:
        """A Button from a Rasa button (any channel's data), or ``None`` when it is not an object.

        Values are taken as they are (a channel cleans and checks them)."""
        if not isinstance(raw, Mapping):
            return None
        label = _text_or_none(raw.get("title")) or ""
        sent = _text_or_none(raw.get("payload"))
        if raw.get("type") == PHONE_TYPE and sent:
            return cls(label, phone=sent)
        return cls(label, payload=sent, message=_text_or_none(raw.get("message")), url=_text_or_none(raw.get("url")))


def answers(*labels: str) -> list[Button]:
    """Choices that answer a question with their own words."""
    return [Button(label) for label in labels]


def tap(label: str, rasa_payload: str, message: str | None = None) -> Button:
    """A choice whose tap shows ``message`` (default: the label) and sends ``rasa_payload``."""
    return Button(label, payload=rasa_payload, message=message)


def link(label: str, url: str) -> Button:
    return Button(label, url=url)


def call(label: str, phone: str) -> Button:
    return Button(label, phone=phone)


@dataclass(frozen=True)
class Card:
    title: str
    text: str
    buttons: Sequence[Button] = ()  # kept as a tuple
    image_url: str | None = None
    image_alt: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "buttons", tuple(self.buttons))

    def to_json(self) -> dict[str, Any]:
        card: dict[str, Any] = {
            "title": self.title,
            "text": self.text,
            "buttons": [button.to_rasa() for button in self.buttons],
        }
        if self.image_url:
            card["image_url"] = self.image_url
            if self.image_alt:
                card["image_alt"] = self.image_alt
        return card

    @classmethod
    def from_json(cls, raw: Any) -> Card | None:
        if not isinstance(raw, Mapping):
            return None
        raw_buttons = raw.get("buttons")
        buttons: list[Any] = raw_buttons if isinstance(raw_buttons, list) else []
        return cls(
            title=_text_or_none(raw.get("title")) or "",
            text=_text_or_none(raw.get("text")) or "",
            buttons=tuple(b for b in map(Button.from_rasa, buttons) if b is not None),
            image_url=_text_or_none(raw.get("image_url")),
            image_alt=_text_or_none(raw.get("image_alt")),
        )


@dataclass(frozen=True)
class Reply:
    """One bot message: its text, then its cards; ``buttons`` are the choices offered under it."""

    text: str = ""
    buttons: Sequence[Button] = ()  # kept as a tuple
    cards: Sequence[Card] = ()  # kept as a tuple
    carousel: bool = False  # the cards side by side (one row to swipe) instead of one under another

    def __post_init__(self) -> None:
        object.__setattr__(self, "buttons", tuple(self.buttons))
        object.__setattr__(self, "cards", tuple(self.cards))


def rasa_message(reply: Reply) -> dict[str, Any]:
    """The arguments of ``dispatcher.utter_message`` that send ``reply`` (see the module's wire format)."""
    message: dict[str, Any] = {
        "text": reply.text or None,
        "buttons": [button.to_rasa() for button in reply.buttons] or None,
    }
    if reply.cards:
        message["json_message"] = {
            CARDS_KEY: {"carousel": reply.carousel, "items": [card.to_json() for card in reply.cards]}
        }
    return message


def cards_in(custom: Any) -> tuple[list[Card], bool] | None:
    """The cards of a Rasa message's ``custom`` and whether they form a carousel; ``None`` when it
    holds no reply cards."""
    if not isinstance(custom, Mapping) or not isinstance(custom.get(CARDS_KEY), Mapping):
        return None
    body = custom[CARDS_KEY]
    raw_items = body.get("items")
    items: Iterable[Any] = raw_items if isinstance(raw_items, list) else []
    return [card for card in map(Card.from_json, items) if card is not None], body.get("carousel") is True
