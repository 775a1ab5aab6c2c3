"""Kakao i Open Builder SkillPayload → what Rasa receives (text, sender, metadata).

* sender id: ``userRequest.user.id`` (the per-bot user key, e.g. a botUserKey);
* text: a Rasa payload from ``action.clientExtra`` or ``action.params`` when they follow the
  convention in ``extra`` (menu taps skip NLU), else ``userRequest.utterance``;
* images the user sent through the image plugin (``sys.plugin.secureimage``): their URLs go
  to ``metadata["image_urls"]``, and become the text when the utterance is empty;
* Kakao's context goes to ``metadata["kakao"]`` (user type and properties, bot, block,
  intent, params, action, timezone, lang) so that actions can read it from
  ``tracker.latest_message["metadata"]``. The single-use callback URL is not stored there.

Malformed requests raise :class:`SkillRequestError` with an HTTP status and a message that
says what is wrong. The body goes through the channels' shared limits first (``limits``: bytes,
nesting, UTF-8, lone surrogates), and so does JSON carried inside its strings.

The sender id must look like Kakao's user keys (letters, digits, ``_`` and ``-``, at most 128):
it can then never look like a REST sender, whose ids all start with ``rest:``.

A ``callbackUrl`` that the channel's :class:`CallbackPolicy` refuses (another host, not https,
a private address) is not used and not an error: a late answer is then kept for "답변 보기".
"""

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bot.channels.kakao.callback_policy import CallbackPolicy
from bot.channels.kakao.extra import continuation_from, rasa_payload_from
from bot.channels.limits import (
    RequestError as SkillRequestError,
)
from bot.channels.limits import (
    RequestLimits,
    check_rasa_payload,
    check_utterance_length,
    decode_json,
    loads_embedded,
)
from bot.channels.limits import (
    bad_request as _bad,
)

logger = logging.getLogger(__name__)

IMAGE_URLS_KEY = "image_urls"
KAKAO_METADATA_KEY = "kakao"

_SECURE_URLS_KEY = "secureUrls"
_SECURE_URLS_LIST = re.compile(r"^\s*List\((?P<urls>.*)\)\s*$", re.DOTALL)
_HTTP_URL = re.compile(r"https?://[^\s,()\"'\]\[]+")
# Kakao's user keys (botUserKey, appUserId, plusfriendUserKey) are short alphanumeric strings.
KAKAO_USER_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


class UtteranceTooLongError(SkillRequestError):
    """A well-formed request whose utterance is over the limit.

    Unlike the other errors this one is the citizen's doing, so the channel answers it with
    a normal SkillResponse asking for a shorter message (Open Builder shows only 200s).
    """


@dataclass(frozen=True)
class KakaoTurnRequest:
    """One parsed skill request."""

    sender_id: str
    text: str
    utterance: str
    metadata: dict[str, Any]
    callback_url: str | None = None
    # (token, page) when the user tapped a channel-internal "더 보기"/"답변 보기" reply.
    continuation: tuple[str, int] | None = None
    image_urls: tuple[str, ...] = field(default_factory=tuple)
    from_payload: bool = False


# --------------------------------------------------------------------------- JSON checks


def _object_at(container: Mapping[str, Any], key: str, path: str, required: bool) -> dict[str, Any]:
    value = container.get(key)
    if value is None:
        if required:
            raise _bad("missing_field", f"'{path}' is required")
        return {}
    if not isinstance(value, dict):
        raise _bad("wrong_type", f"'{path}' must be an object")
    return value


def _string_at(container: Mapping[str, Any], key: str, path: str, required: bool) -> str | None:
    value = container.get(key)
    if value is None:
        if required:
            raise _bad("missing_field", f"'{path}' is required")
        return None
    if not isinstance(value, str):
        raise _bad("wrong_type", f"'{path}' must be a string")
    return value


def decode_json_object(body: bytes, limits: RequestLimits = RequestLimits()) -> dict[str, Any]:
    """The request body as a JSON object, or a 4xx error saying why not."""
    payload = decode_json(body, limits, "a SkillPayload JSON object")
    if not isinstance(payload, dict):
        raise _bad("wrong_type", "the request body must be a JSON object (SkillPayload)")
    return payload


def _client_extra(action: Mapping[str, Any]) -> dict[str, Any]:
    """``action.clientExtra`` as a dict; Kakao sends null, {}, an object or a JSON string."""
    extra = action.get("clientExtra")
    if isinstance(extra, str):
        try:
            extra = loads_embedded(extra)
        except ValueError:
            return {}
    if extra is None:
        return {}
    if not isinstance(extra, dict):
        raise _bad("wrong_type", "'action.clientExtra' must be an object")
    return extra


def _callback_url(user_request: Mapping[str, Any], policy: CallbackPolicy) -> str | None:
    url = _string_at(user_request, "callbackUrl", "userRequest.callbackUrl", required=False)
    if not url:
        return None
    refusal = policy.refusal(url)
    if refusal is not None:  # never log the URL: its path is a one-time token
        logger.warning("kakao.callback.ignored host=%s reason=%s", _host_of(url), refusal)
        return None
    return url


def _host_of(url: str) -> str:
    try:
        return urlsplit(url).hostname or "-"
    except ValueError:
        return "-"


# --------------------------------------------------------------------------- images


def _urls_in_secure_image_value(value: Any) -> list[str]:
    """URLs from one image-plugin value.

    The plugin fills its parameter with a JSON string such as
    ``{"privacyAgreement": "Y", "imageQuantity": "2", "secureUrls": "List(https://…, https://…)",
    "expire": "…"}``; ``secureUrls`` may also be a JSON list.
    """
    if isinstance(value, str):
        if _SECURE_URLS_KEY not in value:
            return []
        try:
            value = loads_embedded(value)
        except ValueError:
            return _HTTP_URL.findall(value)
    if not isinstance(value, dict) or _SECURE_URLS_KEY not in value:
        return []
    secure_urls = value[_SECURE_URLS_KEY]
    if isinstance(secure_urls, list):
        return [u.strip() for u in secure_urls if isinstance(u, str) and _HTTP_URL.fullmatch(u.strip())]
    if isinstance(secure_urls, str):
        match = _SECURE_URLS_LIST.match(secure_urls)
        return _HTTP_URL.findall(match.group("urls") if match else secure_urls)
    return []


def _detail_param_values(detail_params: Mapping[str, Any]) -> Iterable[Any]:
    for detail in detail_params.values():
        if isinstance(detail, dict):
            yield detail.get("origin")
            yield detail.get("value")


def _media_url(user_params: Mapping[str, Any]) -> list[str]:
    media = user_params.get("media")
    if isinstance(media, dict) and media.get("type", "image") == "image":
        url = media.get("url")
        if isinstance(url, str) and _HTTP_URL.fullmatch(url.strip()):
            return [url.strip()]
    return []


def extract_image_urls(payload: Mapping[str, Any]) -> list[str]:
    """URLs of the images the user sent, in order and without duplicates."""
    action = payload.get("action") if isinstance(payload.get("action"), dict) else {}
    user_request = payload.get("userRequest") if isinstance(payload.get("userRequest"), dict) else {}
    params = action.get("params") if isinstance(action.get("params"), dict) else {}
    detail_params = action.get("detailParams") if isinstance(action.get("detailParams"), dict) else {}
    user_params = user_request.get("params") if isinstance(user_request.get("params"), dict) else {}

    found: list[str] = []
    for value in list(params.values()) + list(_detail_param_values(detail_params)):
        found.extend(_urls_in_secure_image_value(value))
    found.extend(_media_url(user_params))
    return list(dict.fromkeys(found))


# --------------------------------------------------------------------------- metadata


def _name_and_id(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {}
    return {k: value[k] for k in ("id", "name") if k in value}


def _compact(value: Any) -> Any:
    """``value`` without empty parts (None, "", {}, []): metadata is stored with every turn."""
    if isinstance(value, dict):
        compacted = {k: _compact(v) for k, v in value.items()}
        return {k: v for k, v in compacted.items() if v not in (None, "", {}, [])}
    return value


def build_metadata(payload: Mapping[str, Any], image_urls: Sequence[str]) -> dict[str, Any]:
    """Rasa message metadata for one skill request (empty Kakao fields left out)."""
    user_request = payload["userRequest"]
    user = user_request["user"]
    action = payload.get("action") if isinstance(payload.get("action"), dict) else {}
    kakao = {
        "user": {
            "id": user.get("id"),
            "type": user.get("type"),
            "properties": user.get("properties") if isinstance(user.get("properties"), dict) else {},
        },
        "bot": _name_and_id(payload.get("bot")),
        "intent": _name_and_id(payload.get("intent")),
        "block": _name_and_id(user_request.get("block")),
        "params": user_request.get("params") if isinstance(user_request.get("params"), dict) else {},
        "action": {
            "id": action.get("id"),
            "name": action.get("name"),
            "params": action.get("params") if isinstance(action.get("params"), dict) else {},
            "detailParams": action.get("detailParams") if isinstance(action.get("detailParams"), dict) else {},
            "clientExtra": _client_extra(action),
        },
        "timezone": user_request.get("timezone"),
        "lang": user_request.get("lang"),
        "has_callback": bool(user_request.get("callbackUrl")),
    }
    return {KAKAO_METADATA_KEY: _compact(kakao), IMAGE_URLS_KEY: list(image_urls)}


# --------------------------------------------------------------------------- entry point


def parse_skill_request(
    body: bytes,
    limits: RequestLimits = RequestLimits(),
    callback_policy: CallbackPolicy = CallbackPolicy(),
) -> KakaoTurnRequest:
    """Parses and validates a raw SkillPayload body."""
    payload = decode_json_object(body, limits)
    user_request = _object_at(payload, "userRequest", "userRequest", required=True)
    user = _object_at(user_request, "user", "userRequest.user", required=True)
    sender_id = _string_at(user, "id", "userRequest.user.id", required=True)
    if not sender_id.strip():
        raise _bad("missing_field", "'userRequest.user.id' must not be empty")
    if not KAKAO_USER_ID.fullmatch(sender_id):
        raise _bad("invalid_field", "'userRequest.user.id' must be 1 to 128 letters, digits, '_' or '-'")
    utterance = _string_at(user_request, "utterance", "userRequest.utterance", required=True)
    _object_at(user, "properties", "userRequest.user.properties", required=False)
    _object_at(user_request, "params", "userRequest.params", required=False)
    action = _object_at(payload, "action", "action", required=False)
    params = _object_at(action, "params", "action.params", required=False)
    _object_at(action, "detailParams", "action.detailParams", required=False)
    client_extra = _client_extra(action)
    callback_url = _callback_url(user_request, callback_policy)
    check_utterance_length(utterance, limits, "userRequest.utterance", UtteranceTooLongError)

    image_urls = extract_image_urls(payload)
    metadata = build_metadata(payload, image_urls)
    continuation = continuation_from(client_extra)
    rasa_payload = None if continuation else (rasa_payload_from(client_extra) or rasa_payload_from(params))
    text = rasa_payload or utterance.strip() or " ".join(image_urls)
    check_rasa_payload(text, limits)
    if not text and continuation is None:
        raise _bad("empty_message", "'userRequest.utterance' is empty and the request carries no image or payload")
    return KakaoTurnRequest(
        sender_id=sender_id,
        text=text,
        utterance=utterance,
        metadata=metadata,
        callback_url=callback_url,
        continuation=continuation,
        image_urls=tuple(image_urls),
        from_payload=rasa_payload is not None,
    )
