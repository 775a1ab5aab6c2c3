"""Kakao Event API client: sends a notice to up to 100 chatbot users per request.

    POST https://bot-api.kakao.com/v2/bots/{botId}/talk
    Authorization: KakaoAK {REST API key}
    {"event": {"name": "<event block name>", "data": {"text": "…"}},
     "user": [{"type": "botUserKey", "id": "…"}, …],          # at most 100, no duplicates
     "params": {"topic": "…", "topic_title": "…", "text": "…"}}
    → 200 {"taskId": "…", "status": "SUCCESS" | "FAIL", "message": "…"}

SUCCESS means Kakao accepted the task; per-user results are only available from the task API.
The event name must equal the Event block's name in the chatbot admin centre; that block shows
the notice (e.g. with the text of `params`).

Configured by environment: KAKAO_BOT_ID, KAKAO_REST_API_KEY, KAKAO_EVENT_NAME (default
sotong_notice), KAKAO_EVENT_API_URL (default: the URL above; e.g. dev-bot-api for a development
channel, or a local stand-in for tests). The key is read when sending, never stored.

`KakaoEventSender` is a send method of the outbox dispatcher (bot/delivery): a broadcast is queued
in the outbox and delivered, retried with back-off and dead-lettered like ticket documents.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from bot.delivery.senders import Delivery, DeliveryFailed, Sender
from bot.settings import env_float, env_str, env_url
from bot.subscriptions.store import Subscriber, SubscriptionStore

logger = logging.getLogger(__name__)

KAKAO_EVENT = "kakao"  # the outbox send method (the outbox column holds at most 10 characters)
DEFAULT_ENDPOINT = "https://bot-api.kakao.com/v2/bots/{bot_id}/talk"
DEFAULT_EVENT_NAME = "sotong_notice"
MAX_USERS_PER_REQUEST = 100
MAX_ERROR_CHARS = 300
USER_AGENT = "Sotong-Broadcast/1.0"


@dataclass(frozen=True)
class EventApiSettings:
    bot_id: str = ""
    rest_api_key: str = field(default="", repr=False)
    event_name: str = DEFAULT_EVENT_NAME
    endpoint_override: str = ""
    timeout_seconds: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> EventApiSettings:
        defaults = cls()
        return cls(
            bot_id=env_str("KAKAO_BOT_ID", defaults.bot_id, env),
            rest_api_key=env_str("KAKAO_REST_API_KEY", defaults.rest_api_key, env),
            event_name=env_str("KAKAO_EVENT_NAME", defaults.event_name, env),
            endpoint_override=env_url("KAKAO_EVENT_API_URL", defaults.endpoint_override, env),
            timeout_seconds=env_float("SOTONG_DELIVERY_HTTP_TIMEOUT_SECONDS", defaults.timeout_seconds, env, minimum=0),
        )

    @property
    def endpoint_url(self) -> str:
        return self.endpoint_override or DEFAULT_ENDPOINT.format(bot_id=self.bot_id)

    def problems(self) -> list[str]:
        """What is missing to send (empty when ready)."""
        problems = []
        if not self.endpoint_override and not self.bot_id:
            problems.append("KAKAO_BOT_ID (or KAKAO_EVENT_API_URL) is not set")
        if not self.rest_api_key:
            problems.append("KAKAO_REST_API_KEY is not set")
        return problems


def event_request(
    settings: EventApiSettings, recipients: list[Subscriber], params: dict[str, str], text: str
) -> dict[str, Any]:
    """The Event API request body for one batch of at most 100 recipients."""
    if not 0 < len(recipients) <= MAX_USERS_PER_REQUEST:
        raise ValueError(f"an Event API request takes 1-{MAX_USERS_PER_REQUEST} users, got {len(recipients)}")
    return {
        "event": {"name": settings.event_name, "data": {"text": text}},
        "user": [{"type": r.user_key_type, "id": r.user_key} for r in recipients],
        "params": params,
    }


class KakaoEventSender:
    """Dispatcher send method: POSTs the queued Event API request.

    With a store, users who unsubscribed after the broadcast was queued are left out at send time
    (and a batch nobody is left in succeeds without a request).
    """

    def __init__(
        self, settings: EventApiSettings, store: SubscriptionStore | None = None, http: requests.Session | None = None
    ):
        self._settings = settings
        self._store = store
        self._http = http or requests.Session()

    def __call__(self, delivery: Delivery) -> None:
        body = dict(delivery.payload["event_api"])
        broadcast = delivery.payload.get("broadcast", {})
        if self._store is not None:
            keep = self._store.still_subscribed(broadcast.get("target", ""), (u["id"] for u in body["user"]))
            body["user"] = [user for user in body["user"] if user["id"] in keep]
            if not body["user"]:
                logger.info("kakao_event.skipped broadcast=%s reason=no_subscriber_left", broadcast.get("id"))
                return
        if not self._settings.rest_api_key:
            raise DeliveryFailed("KAKAO_REST_API_KEY is not set")
        headers = {"Authorization": f"KakaoAK {self._settings.rest_api_key}", "User-Agent": USER_AGENT}
        try:
            response = self._http.post(
                delivery.destination,
                json=body,
                headers=headers,
                timeout=self._settings.timeout_seconds,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            raise DeliveryFailed(f"{type(error).__name__}: {error}") from error
        if not 200 <= response.status_code < 300:
            raise DeliveryFailed(f"HTTP {response.status_code}: {response.text[:MAX_ERROR_CHARS]}")
        try:
            result = response.json()
        except ValueError:
            raise DeliveryFailed(f"not a JSON answer: {response.text[:MAX_ERROR_CHARS]}") from None
        if result.get("status") != "SUCCESS":
            raise DeliveryFailed(
                f"Event API status {result.get('status')}: {str(result.get('message'))[:MAX_ERROR_CHARS]}"
            )
        logger.info(
            "kakao_event.accepted broadcast=%s users=%d task=%s",
            broadcast.get("id"),
            len(body["user"]),
            result.get("taskId"),
        )


def subscription_senders(store: SubscriptionStore, settings: EventApiSettings | None = None) -> dict[str, Sender]:
    """Send methods to add to a Dispatcher's: `{**default_senders(s), **subscription_senders(store)}`."""
    return {KAKAO_EVENT: KakaoEventSender(settings or EventApiSettings.from_env(), store)}
