"""Who is subscribing: the Kakao user id the Event API can send to, from a Rasa message.

The Kakao channel puts Open Builder's user object in `metadata["kakao"]["user"]`
(bot/channels/kakao/request.py); its id is also the Rasa sender id. Without Kakao metadata (the
REST channel) the sender id stands for a botUserKey.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.subscriptions.store import BOT_USER_KEY, EVENT_API_USER_TYPES, Subscriber

KAKAO_METADATA_KEY = "kakao"


def _kakao_user(latest_message: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = latest_message.get("metadata") or {}
    kakao = metadata.get(KAKAO_METADATA_KEY) or {}
    user = kakao.get("user") or {}
    return user if isinstance(user, Mapping) else {}


def subscriber_from_message(sender_id: str, latest_message: Mapping[str, Any]) -> Subscriber:
    user = _kakao_user(latest_message)
    properties = user.get("properties") or {}
    if isinstance(properties, Mapping) and properties.get(BOT_USER_KEY):
        return Subscriber(str(properties[BOT_USER_KEY]), BOT_USER_KEY)
    if user.get("type") in EVENT_API_USER_TYPES and user.get("id"):
        return Subscriber(str(user["id"]), str(user["type"]))
    return Subscriber(sender_id, BOT_USER_KEY)


def has_added_channel(latest_message: Mapping[str, Any]) -> bool | None:
    """Whether the user added the Kakao channel (Event API messages reach only them); None: unknown."""
    properties = _kakao_user(latest_message).get("properties") or {}
    value = properties.get("isFriend") if isinstance(properties, Mapping) else None
    return value if isinstance(value, bool) else None
