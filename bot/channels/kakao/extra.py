"""The convention for data that travels with a quick reply or button tap.

Open Builder sends a tapped quick reply's or button's ``extra`` back as ``action.clientExtra``;
a block can also carry fixed parameters in ``action.params``. Sotong reads these keys there:

``{"payload": "/report_complaint{\\"complaint_category\\": \\"streetlight\\"}"}``
    A ready Rasa payload. It is sent to Rasa as the message text, so NLU is skipped.
``{"intent": "report_complaint", "entities": {"complaint_category": "streetlight"}}``
    The same, spelled out: becomes ``/report_complaint{"complaint_category":"streetlight"}``.
    In ``action.params`` (where Open Builder only has strings) ``entities`` may be a JSON
    string. Entities whose name is a slot fill that slot through the slot's mappings.
``{"sotong_continuation": "<token>", "page": 2}``
    Internal to the channel: fetches a stored page of a long answer, or an answer that was
    still being prepared (see ``continuations``). Never reaches Rasa.

The intent must be an intent of the Rasa domain (Rasa ignores unknown ones).
"""

import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from bot.channels.limits import loads_embedded

logger = logging.getLogger(__name__)

PAYLOAD_KEY = "payload"
INTENT_KEY = "intent"
ENTITIES_KEY = "entities"
CONTINUATION_KEY = "sotong_continuation"
PAGE_KEY = "page"

_INTENT_NAME = re.compile(r"^[^\s{}@/\"][^\s{}@\"]*$")
_RASA_PAYLOAD = re.compile(r"^/[^\s{}@\"][^\s{}@\"]*(?:@[0-9.]+)?(?:\{.*\})?$", re.DOTALL)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_ENTITY_SCALAR = (str, int, float, bool)


def payload_extra(payload: str) -> dict[str, Any]:
    """``extra`` for a quick reply that sends ``payload`` to Rasa."""
    return {PAYLOAD_KEY: payload}


def continuation_extra(token: str, page: int) -> dict[str, Any]:
    """``extra`` for a quick reply that fetches page ``page`` of a stored answer."""
    return {CONTINUATION_KEY: token, PAGE_KEY: page}


def is_rasa_payload(text: Any) -> bool:
    """Whether ``text`` has the shape ``/intent`` or ``/intent{...json...}``."""
    return isinstance(text, str) and bool(_RASA_PAYLOAD.match(text.strip()))


def _valid_entity_value(value: Any) -> bool:
    if isinstance(value, _ENTITY_SCALAR):
        return True
    return isinstance(value, list) and all(isinstance(v, _ENTITY_SCALAR) for v in value)


def _entities_from(value: Any) -> dict[str, Any] | None:
    """Entities as a dict, or ``None`` when ``value`` is not a valid entity mapping."""
    if isinstance(value, str):
        try:
            value = loads_embedded(value)
        except ValueError:
            return None
    if not isinstance(value, dict):
        return None
    if not all(isinstance(k, str) and k and _valid_entity_value(v) for k, v in value.items()):
        return None
    return value


def rasa_payload_from(data: Mapping[str, Any] | None) -> str | None:
    """The Rasa payload that ``data`` (clientExtra or action params) asks for, if any.

    Data that does not follow the convention gives ``None`` (the utterance then goes
    through NLU); malformed convention data is logged, since it is a bug in a button.
    """
    if not isinstance(data, Mapping):
        return None
    payload = data.get(PAYLOAD_KEY)
    if payload is not None:
        if is_rasa_payload(payload):
            return payload.strip()
        logger.warning("kakao.extra.invalid_payload")
        return None
    intent = data.get(INTENT_KEY)
    if intent is None:
        return None
    if not isinstance(intent, str) or not _INTENT_NAME.match(intent.strip()):
        logger.warning("kakao.extra.invalid_intent")
        return None
    intent = intent.strip()
    raw_entities = data.get(ENTITIES_KEY)
    if raw_entities in (None, "", {}):
        return f"/{intent}"
    entities = _entities_from(raw_entities)
    if entities is None:
        logger.warning("kakao.extra.invalid_entities intent=%s", intent)
        return None
    return f"/{intent}" + json.dumps(entities, ensure_ascii=False, separators=(",", ":"))


def continuation_from(data: Mapping[str, Any] | None) -> tuple[str, int] | None:
    """``(token, page)`` when ``data`` asks for a stored answer page, else ``None``."""
    if not isinstance(data, Mapping):
        return None
    token = data.get(CONTINUATION_KEY)
    if not isinstance(token, str) or not _TOKEN.match(token):
        return None
    page = data.get(PAGE_KEY, 1)
    if isinstance(page, str) and page.isdigit():
        page = int(page)
    if not isinstance(page, int) or isinstance(page, bool) or page < 1:
        page = 1
    return token, page
