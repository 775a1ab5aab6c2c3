"""Rasa bot messages → Kakao i Open Builder SkillResponse 2.0.

Mapping (one turn's messages, in order):

* ``text`` → ``simpleText``, one bubble per bot text while the answer fits in 3 outputs;
  otherwise consecutive texts are merged into as few bubbles as possible (joined by a blank
  line). Text longer than 1000 characters is split at paragraph, line or word boundaries.
* ``buttons`` / ``quick_replies`` → ``quickReplies``: the label is the button title, the
  user's bubble (``messageText``) the button's ``message`` or else its title, and a
  ``/intent{...}`` payload travels in ``extra`` so the tap skips NLU (see ``extra``).
  Plain-text payloads become the ``messageText``. Link buttons (``url``) and phone buttons
  become a line "title: url" (or "title: number") under the text.
* ``image`` → ``simpleImage``.
* ``custom`` holding the cards of a :class:`bot.replies.Reply` (``{"reply_cards": ...}``, how
  actions send cards) → one card per output, or a carousel. A card alone keeps its whole text:
  it is a ``basicCard`` when it has a picture and its text fits 230 characters, else a
  ``textCard`` (400). Cards of a carousel keep their pictures (their texts are cut to fit).
* ``custom`` holding a Kakao output (``{"basicCard": {...}}``, ``{"carousel": {...}}``, …)
  or a whole template (``{"outputs": [...], "quickReplies": [...]}``) is passed through,
  fitted to Kakao's limits.

Limits (``format_limits``) are enforced so that an invalid response cannot be built, and
nothing is dropped silently: extra card buttons become quick replies (message/block buttons) or
text lines (links, phone numbers); over-long card texts are cut with "…" and continued as text;
carousels and list cards are split; quick replies beyond 10 are listed as text. When a turn
needs more than 3 outputs, the answer is split into pages of at most 3 outputs; the channel
serves the following pages through a "더 보기" quick reply (see ``page_response``).
"""

import copy
import logging
from collections.abc import Iterable
from typing import Any

from bot.channels.kakao import texts
from bot.channels.kakao.extra import continuation_extra, is_rasa_payload, payload_extra
from bot.channels.kakao.format_limits import (
    MAX_ALT_TEXT_CHARS,
    MAX_BASIC_CARD_DESCRIPTION_CHARS,
    MAX_CARD_BUTTONS,
    MAX_CAROUSEL_ITEMS,
    MAX_LABEL_CHARS,
    MAX_LIST_BUTTONS,
    MAX_LIST_ITEMS,
    MAX_OUTPUTS,
    MAX_QUICK_REPLIES,
    MAX_SIMPLE_TEXT_CHARS,
    MAX_TEXT_CARD_DESCRIPTION_CHARS,
    MAX_TEXT_CARD_TITLE_CHARS,
)
from bot.replies import Button, Card, cards_in

logger = logging.getLogger(__name__)

Template = dict[str, Any]
Component = dict[str, Any]

SKILL_VERSION = "2.0"

RICH_COMPONENT_TYPES = (
    "simpleImage",
    "basicCard",
    "textCard",
    "listCard",
    "carousel",
    "commerceCard",
    "itemCard",
)
COMPONENT_TYPES = ("simpleText",) + RICH_COMPONENT_TYPES
CAROUSEL_ITEM_TYPES = ("basicCard", "textCard", "listCard", "commerceCard", "itemCard")
QUICK_REPLY_ACTIONS = ("message", "block")
# Button action → the field it needs.
BUTTON_ACTION_TARGETS = {
    "webLink": "webLinkUrl",
    "message": "messageText",
    "phone": "phoneNumber",
    "block": "blockId",
    "share": None,
    "operator": None,
    "addChannel": None,
    "osLink": "osLink",
}
ELLIPSIS = "…"


# --------------------------------------------------------------------------- text helpers


def _clean_text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _is_http_url(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower().startswith(("http://", "https://"))


def fit_label(label: str, limit: int = MAX_LABEL_CHARS) -> str:
    """A label of at most ``limit`` characters (cut with "…")."""
    label = " ".join(label.split())
    if len(label) <= limit:
        return label
    return label[: limit - 1].rstrip() + ELLIPSIS


def cut_text(text: str, limit: int) -> tuple[str, str]:
    """Splits ``text`` into a head of at most ``limit`` characters and the rest.

    The head ends with "…" and the rest starts with "…" when a cut was needed.
    """
    if len(text) <= limit:
        return text, ""
    head = text[: limit - 1].rstrip()
    return head + ELLIPSIS, ELLIPSIS + text[limit - 1 :].lstrip()


def split_long_text(text: str, limit: int = MAX_SIMPLE_TEXT_CHARS) -> list[str]:
    """Splits ``text`` into parts of at most ``limit`` characters.

    Prefers a paragraph break, then a line break, then a space, in the second half of the
    window; cuts hard only inside a very long word. No character is lost except the
    whitespace at the cut.
    """
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            position = window.rfind(separator, limit // 2)
            if 0 < position <= limit:
                cut = position
                break
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def pack_texts(pieces: Iterable[str], limit: int = MAX_SIMPLE_TEXT_CHARS) -> list[str]:
    """Packs consecutive texts into as few bubbles of at most ``limit`` chars as it can.

    Pieces are joined by a blank line, in order; a piece longer than ``limit`` is split.
    """
    bubbles: list[str] = []
    current = ""
    for piece in pieces:
        for part in split_long_text(piece, limit):
            candidate = f"{current}\n\n{part}" if current else part
            if len(candidate) <= limit:
                current = candidate
            else:
                bubbles.append(current)
                current = part
    if current:
        bubbles.append(current)
    return bubbles


def simple_text(text: str) -> Component:
    return {"simpleText": {"text": text}}


# --------------------------------------------------------------------------- assembly


class _Assembly:
    """One turn's answer while it is being built: ordered items and quick replies.

    ``items`` holds texts (str) and rich components (dict) in the order the bot sent them;
    ``trailing_texts`` holds content moved out of cards, shown after everything else.
    """

    def __init__(self) -> None:
        self.items: list[str | Component] = []
        self.quick_replies: list[dict[str, Any]] = []
        self.trailing_texts: list[str] = []

    def add_text(self, text: Any) -> None:
        text = _clean_text(text)
        if text:
            self.items.append(text)

    def add_component(self, component: Component) -> None:
        self.items.append(component)

    def add_quick_reply(self, quick_reply: dict[str, Any] | None) -> None:
        if quick_reply is not None:
            self.quick_replies.append(quick_reply)

    def add_trailing_text(self, text: Any) -> None:
        text = _clean_text(text)
        if text:
            self.trailing_texts.append(text)


# --------------------------------------------------------------------------- quick replies


def _shown_as_line(button: Button) -> bool:
    """Links and phone numbers cannot be quick replies: they become text lines."""
    return bool(button.url or button.phone) or _is_http_url(button.payload)


def quick_reply_from_button(button: Button) -> dict[str, Any] | None:
    """A Kakao quick reply for a choice, or ``None`` for a link or phone button (or an empty one)."""
    title = _clean_text(button.label)
    payload = _clean_text(button.payload)
    if _shown_as_line(button):
        return None
    if not title and not payload:
        return None
    if is_rasa_payload(payload):
        return {
            "label": fit_label(title or payload),
            "action": "message",
            "messageText": _clean_text(button.message) or title or payload,
            "extra": payload_extra(payload),
        }
    message_text = payload or title
    return {"label": fit_label(title or message_text), "action": "message", "messageText": message_text}


def _link_line(button: Button) -> str:
    title = _clean_text(button.label)
    target = _clean_text(button.url) or _clean_text(button.phone) or _clean_text(button.payload)
    return f"{title}: {target}" if title else target


def sanitize_quick_reply(raw: Any) -> dict[str, Any] | None:
    """A valid Kakao quick reply from ``raw`` (a Kakao-shaped dict), or ``None``."""
    if not isinstance(raw, dict):
        return None
    label = _clean_text(raw.get("label"))
    message_text = _clean_text(raw.get("messageText"))
    block_id = _clean_text(raw.get("blockId"))
    action = raw.get("action")
    if action == "block" and not block_id:
        action = "message"
    if action not in QUICK_REPLY_ACTIONS:
        action = "message"
    if not label:
        label = message_text
    if not label:
        return None
    quick_reply: dict[str, Any] = {"label": fit_label(label), "action": action}
    if action == "message" or message_text:
        quick_reply["messageText"] = message_text or label
    if action == "block":
        quick_reply["blockId"] = block_id
    if isinstance(raw.get("extra"), dict) and raw["extra"]:
        quick_reply["extra"] = raw["extra"]
    return quick_reply


def more_choices_text(quick_replies: list[dict[str, Any]]) -> str:
    lines = [texts.MORE_CHOICES_HEADER]
    lines.extend(f"- {qr.get('messageText') or qr['label']}" for qr in quick_replies)
    return "\n".join(lines)


# --------------------------------------------------------------------------- card buttons


def sanitize_button(raw: Any) -> dict[str, Any] | None:
    """A valid card button from ``raw``, or ``None`` when it has no label at all."""
    if not isinstance(raw, dict):
        return None
    button = {k: v for k, v in raw.items() if v is not None}
    label = _clean_text(button.get("label")) or _clean_text(button.get("messageText"))
    if not label:
        return None
    action = button.get("action")
    target = BUTTON_ACTION_TARGETS.get(action, "messageText") if action else "messageText"
    if action not in BUTTON_ACTION_TARGETS or (target and not button.get(target)):
        # Unknown action or missing target: the honest fallback is a message button.
        action, target = "message", "messageText"
        button = {"messageText": label, **{k: v for k, v in button.items() if k == "extra"}}
    button["action"] = action
    button["label"] = fit_label(label)
    if action == "message":
        button["messageText"] = _clean_text(button.get("messageText")) or label
    if "extra" in button and not isinstance(button["extra"], dict):
        del button["extra"]
    return button


def _describe_button(button: dict[str, Any]) -> str:
    target = BUTTON_ACTION_TARGETS.get(button["action"])
    value = button.get(target) if target else None
    if isinstance(value, str) and value:
        return f"{button['label']}: {value}"
    return button["label"]


def _spill_button(button: dict[str, Any], assembly: _Assembly) -> None:
    """Moves a button that does not fit its card to a quick reply or a text line."""
    if button["action"] in QUICK_REPLY_ACTIONS:
        assembly.add_quick_reply(sanitize_quick_reply(button))
    else:
        assembly.add_trailing_text(_describe_button(button))


def _fit_buttons(raw_buttons: Any, limit: int, assembly: _Assembly) -> list[dict[str, Any]]:
    fitted: list[dict[str, Any]] = []
    for raw in raw_buttons if isinstance(raw_buttons, list) else []:
        button = sanitize_button(raw)
        if button is None:
            continue
        if len(fitted) < limit:
            fitted.append(button)
        else:
            _spill_button(button, assembly)
    return fitted


# --------------------------------------------------------------------------- cards


def _fit_text_field(card: dict[str, Any], key: str, limit: int, assembly: _Assembly) -> None:
    value = card.get(key)
    value = str(value).strip() if value is not None else ""
    if not value:
        card.pop(key, None)
        return
    head, rest = cut_text(value, limit)
    card[key] = head
    assembly.add_trailing_text(rest)


def _fit_text_card(body: dict[str, Any], assembly: _Assembly) -> Component:
    card = {k: v for k, v in body.items() if k in ("title", "description", "buttons", "buttonLayout")}
    _fit_text_field(card, "title", MAX_TEXT_CARD_TITLE_CHARS, assembly)
    _fit_text_field(card, "description", MAX_TEXT_CARD_DESCRIPTION_CHARS, assembly)
    card["buttons"] = _fit_buttons(card.get("buttons"), MAX_CARD_BUTTONS, assembly)
    if not card["buttons"]:
        del card["buttons"]
    if not card.get("title") and not card.get("description"):
        card["description"] = texts.CARD_FALLBACK_DESCRIPTION
    return {"textCard": card}


def _fit_basic_card(body: dict[str, Any], assembly: _Assembly) -> Component:
    thumbnail = body.get("thumbnail")
    if not isinstance(thumbnail, dict) or not _is_http_url(thumbnail.get("imageUrl")):
        # A basic card without picture is a text card.
        return _fit_text_card(body, assembly)
    card = copy.deepcopy(body)
    _fit_text_field(card, "description", MAX_BASIC_CARD_DESCRIPTION_CHARS, assembly)
    card["buttons"] = _fit_buttons(card.get("buttons"), MAX_CARD_BUTTONS, assembly)
    if not card["buttons"]:
        del card["buttons"]
    return {"basicCard": card}


def _fit_generic_card(card_type: str, body: dict[str, Any], assembly: _Assembly) -> Component:
    """commerceCard / itemCard: passed through with the button limit enforced."""
    card = copy.deepcopy(body)
    if "buttons" in card:
        card["buttons"] = _fit_buttons(card.get("buttons"), MAX_CARD_BUTTONS, assembly)
        if not card["buttons"]:
            del card["buttons"]
    return {card_type: card}


def _fit_list_card(body: dict[str, Any], assembly: _Assembly) -> list[Component]:
    """A list card, split into several when it has more than 5 items."""
    header = body.get("header") if isinstance(body.get("header"), dict) else {}
    header = dict(header)
    items = [item for item in body.get("items") or [] if isinstance(item, dict)]
    items = [dict(item, title=_clean_text(item.get("title")) or "-") for item in items]
    if not _clean_text(header.get("title")):
        header["title"] = items[0]["title"] if items else "-"
    buttons = _fit_buttons(body.get("buttons"), MAX_LIST_BUTTONS, assembly)
    if not items:
        # Kakao requires items: the header becomes the only item.
        items = [{"title": header["title"]}]
    chunks = [items[i : i + MAX_LIST_ITEMS] for i in range(0, len(items), MAX_LIST_ITEMS)]
    cards: list[Component] = []
    for index, chunk in enumerate(chunks):
        card: dict[str, Any] = {"header": dict(header), "items": chunk}
        if buttons and index == len(chunks) - 1:
            card["buttons"] = buttons
        cards.append({"listCard": card})
    return cards


def _fit_card(card_type: str, body: dict[str, Any], assembly: _Assembly) -> list[Component]:
    if card_type == "basicCard":
        return [_fit_basic_card(body, assembly)]
    if card_type == "textCard":
        return [_fit_text_card(body, assembly)]
    if card_type == "listCard":
        return _fit_list_card(body, assembly)
    return [_fit_generic_card(card_type, body, assembly)]


def _fit_carousel(body: dict[str, Any], assembly: _Assembly) -> list[Component]:
    """Carousels of at most 10 items of one type each, in the original item order."""
    item_type = body.get("type")
    if item_type not in CAROUSEL_ITEM_TYPES:
        logger.warning("kakao.response.carousel_type_unsupported type=%s", item_type)
        item_type = "textCard"
    fitted: list[Component] = []
    for item in body.get("items") or []:
        if isinstance(item, dict):
            fitted.extend(_fit_card(item_type, item, assembly))
    carousels: list[Component] = []
    group: list[dict[str, Any]] = []
    group_type: str | None = None

    def close_group() -> None:
        for start in range(0, len(group), MAX_CAROUSEL_ITEMS):
            carousel: dict[str, Any] = {"type": group_type, "items": group[start : start + MAX_CAROUSEL_ITEMS]}
            if not carousels and isinstance(body.get("header"), dict):
                carousel["header"] = body["header"]
            carousels.append({"carousel": carousel})

    for component in fitted:
        ((card_type, card),) = component.items()
        if card_type != group_type and group:
            close_group()
            group = []
        group_type = card_type
        group.append(card)
    if group:
        close_group()
    return carousels


def _add_kakao_component(assembly: _Assembly, component: Any) -> None:
    """Adds one Kakao output (``{"<type>": {...}}``) fitted to the limits."""
    if not isinstance(component, dict) or len(component) != 1:
        logger.warning("kakao.response.output_ignored reason=not_a_single_output")
        return
    ((component_type, body),) = component.items()
    if component_type not in COMPONENT_TYPES or not isinstance(body, dict):
        logger.warning("kakao.response.output_ignored type=%s", component_type)
        return
    if component_type == "simpleText":
        assembly.add_text(body.get("text"))
    elif component_type == "simpleImage":
        _add_image(assembly, body.get("imageUrl"), body.get("altText"))
    elif component_type == "carousel":
        for carousel in _fit_carousel(body, assembly):
            assembly.add_component(carousel)
    else:
        for card in _fit_card(component_type, body, assembly):
            assembly.add_component(card)


def _add_image(assembly: _Assembly, url: Any, alt_text: Any = None) -> None:
    if not _is_http_url(url):
        assembly.add_text(f"{texts.IMAGE_ALT_TEXT}: {url}")
        return
    alt = _clean_text(alt_text) or texts.IMAGE_ALT_TEXT
    assembly.add_component({"simpleImage": {"imageUrl": url.strip(), "altText": cut_text(alt, MAX_ALT_TEXT_CHARS)[0]}})


def _add_custom(assembly: _Assembly, custom: Any) -> None:
    """A custom payload: one or more Kakao outputs, or a whole template."""
    if not isinstance(custom, dict):
        logger.warning("kakao.response.custom_ignored reason=not_an_object")
        return
    recognised = False
    reply_cards = cards_in(custom)
    if reply_cards is not None:
        recognised = True
        _add_reply_cards(assembly, *reply_cards)
    outputs = custom.get("outputs")
    if isinstance(outputs, list):
        recognised = True
        for output in outputs:
            _add_kakao_component(assembly, output)
    for key, value in custom.items():
        if key in COMPONENT_TYPES:
            recognised = True
            _add_kakao_component(assembly, {key: value})
    quick_replies = custom.get("quickReplies")
    if isinstance(quick_replies, list):
        recognised = True
        for raw in quick_replies:
            assembly.add_quick_reply(sanitize_quick_reply(raw))
    if not recognised:
        logger.warning("kakao.response.custom_ignored keys=%s", sorted(custom)[:10])


def _add_rasa_message(assembly: _Assembly, message: dict[str, Any]) -> None:
    buttons = message.get("buttons") or message.get("quick_replies") or []
    link_lines = []
    for raw in buttons if isinstance(buttons, list) else []:
        button = Button.from_rasa(raw)
        if button is None:
            continue
        quick_reply = quick_reply_from_button(button)
        if quick_reply is not None:
            assembly.add_quick_reply(quick_reply)
        elif _shown_as_line(button):
            link_lines.append(_link_line(button))
    text = "\n".join([_clean_text(message.get("text"))] + link_lines).strip()
    assembly.add_text(text)
    if message.get("image"):
        _add_image(assembly, message["image"])
    if message.get("attachment"):
        assembly.add_text(str(message["attachment"]))
    if message.get("custom") is not None:
        _add_custom(assembly, message["custom"])


# --------------------------------------------------------------------------- reply cards


def _kakao_button(button: Button) -> dict[str, Any]:
    """A card button for one of a reply card's buttons (fitted by ``sanitize_button``)."""
    if button.url:
        return {"action": "webLink", "label": button.label, "webLinkUrl": button.url}
    if button.phone:
        return {"action": "phone", "label": button.label, "phoneNumber": button.phone}
    sent = button.payload or button.message or button.label
    if is_rasa_payload(sent):
        return {
            "action": "message",
            "label": button.label,
            "messageText": button.message or button.label,
            "extra": payload_extra(sent),
        }
    return {"action": "message", "label": button.label, "messageText": sent}


def _kakao_card(card: Card, keep_picture: bool) -> Component:
    """A basicCard when the card has a picture (alone: and its text fits 230 characters), else a
    textCard with the same title, text and buttons."""
    body: dict[str, Any] = {
        "title": card.title,
        "description": card.text,
        "buttons": [_kakao_button(button) for button in card.buttons],
    }
    if card.image_url and (keep_picture or len(card.text) <= MAX_BASIC_CARD_DESCRIPTION_CHARS):
        thumbnail = {"imageUrl": card.image_url}
        if card.image_alt:
            thumbnail["altText"] = card.image_alt
        return {"basicCard": {**body, "thumbnail": thumbnail}}
    return {"textCard": body}


def _add_reply_cards(assembly: _Assembly, cards: list[Card], carousel: bool) -> None:
    """The cards of a ``bot.replies.Reply``: one output each, or a carousel."""
    if not carousel:
        for card in cards:
            _add_kakao_component(assembly, _kakao_card(card, keep_picture=False))
        return
    components = [_kakao_card(card, keep_picture=True) for card in cards]
    item_type = "basicCard" if any("basicCard" in component for component in components) else "textCard"
    items = [body for component in components for body in component.values()]
    _add_kakao_component(assembly, {"carousel": {"type": item_type, "items": items}})


# --------------------------------------------------------------------------- layout


def _outputs(items: list[str | Component], merge_texts: bool) -> list[Component]:
    """Kakao outputs for ``items``: each text its own bubble(s), or consecutive texts packed."""
    outputs: list[Component] = []
    text_run: list[str] = []

    def flush() -> None:
        if merge_texts:
            bubbles = pack_texts(text_run)
        else:
            bubbles = [part for text in text_run for part in split_long_text(text)]
        outputs.extend(simple_text(bubble) for bubble in bubbles)
        text_run.clear()

    for item in items:
        if isinstance(item, str):
            text_run.append(item)
        else:
            flush()
            outputs.append(item)
    flush()
    return outputs


def _layout(assembly: _Assembly) -> list[Template]:
    quick_replies = assembly.quick_replies
    if len(quick_replies) > MAX_QUICK_REPLIES:
        assembly.add_trailing_text(more_choices_text(quick_replies[MAX_QUICK_REPLIES:]))
        quick_replies = quick_replies[:MAX_QUICK_REPLIES]

    items = assembly.items + assembly.trailing_texts
    # Keep the bot's bubbles when they fit; merge consecutive texts only when they do not.
    outputs = _outputs(items, merge_texts=False)
    if len(outputs) > MAX_OUTPUTS:
        outputs = _outputs(items, merge_texts=True)
    if not outputs:
        outputs = [simple_text(texts.EMPTY_TURN)]

    templates: list[Template] = [
        {"outputs": outputs[start : start + MAX_OUTPUTS]} for start in range(0, len(outputs), MAX_OUTPUTS)
    ]
    if quick_replies:
        templates[-1]["quickReplies"] = quick_replies
    return templates


def build_templates(messages: Iterable[dict[str, Any]]) -> list[Template]:
    """Kakao templates (pages) for one turn's Rasa bot messages; never empty.

    Every template has 1-3 outputs; only the last one carries the turn's quick replies.
    """
    assembly = _Assembly()
    for message in messages:
        if isinstance(message, dict):
            _add_rasa_message(assembly, message)
    return _layout(assembly)


# --------------------------------------------------------------------------- responses


def skill_response(template: Template) -> dict[str, Any]:
    return {"version": SKILL_VERSION, "template": template}


def text_response(text: str, quick_replies: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A one-page SkillResponse with the channel's own ``text`` and quick replies."""
    template: Template = {"outputs": [simple_text(b) for b in pack_texts([text])][:MAX_OUTPUTS]}
    if quick_replies:
        template["quickReplies"] = quick_replies[:MAX_QUICK_REPLIES]
    return skill_response(template)


def callback_acknowledgement(text: str) -> dict[str, Any]:
    """The immediate answer that tells Open Builder the real one comes to the callback URL."""
    return {"version": SKILL_VERSION, "useCallback": True, "data": {"text": text}}


def continuation_quick_reply(label: str, token: str, page: int) -> dict[str, Any]:
    return {
        "label": fit_label(label),
        "action": "message",
        "messageText": label,
        "extra": continuation_extra(token, page),
    }


def page_response(templates: list[Template], page: int, token: str | None) -> dict[str, Any]:
    """SkillResponse for page ``page`` (1-based) of ``templates``.

    Every page but the last gets a single "더 보기" quick reply that fetches the next page
    through ``token`` (required when there is more than one page).
    """
    template = copy.deepcopy(templates[page - 1])
    if page < len(templates):
        if token is None:
            raise ValueError("a continuation token is needed for a multi-page answer")
        label = f"{texts.MORE_LABEL} ({page}/{len(templates)})"
        template["quickReplies"] = [continuation_quick_reply(label, token, page + 1)]
    return skill_response(template)
