"""REST channel for developers, tests and tools, in place of Rasa's stock ``rest`` channel.

Configured in ``credentials.yml`` as ``bot.channels.rest.RestInput`` (``name() == "rest"``, so
the routes stay where Rasa's were):

* ``GET  /webhooks/rest/``        health check → ``{"status": "ok"}``
* ``POST /webhooks/rest/webhook`` ``{"sender": "...", "message": "...", "metadata": {...}}``
  → Rasa's REST answer: a list of ``{"recipient_id", "text" | "buttons" | "image" | "custom" ...}``

Unlike the stock channel it

* needs a credential: header ``X-Sotong-Rest-Token`` equal to the ``token`` setting
  (``${SOTONG_REST_TOKEN}``; ``make run`` generates it into ``var/rest_token``), compared in
  constant time. Without a configured token every request gets 401: the server still starts;
* keeps its senders in their own namespace: Rasa sees ``rest:<sender>``, so a REST client can
  never speak as (or read the tickets of) a Kakao user, whose ids cannot contain ``:``; the
  answer's ``recipient_id`` is the sender as the client sent it;
* bounds its input with the Kakao channel's limits (``limits``: bytes, nesting, UTF-8, lone
  surrogates, characters) before any parsing cost, with a 4xx JSON error
  ``{"error": {"code", "message"}}`` for anything it refuses;
* answers a failing turn with a polite apology instead of an empty list.

Stream mode (``?stream=true``) is not offered.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.kakao import texts
from bot.channels.kakao.request import KAKAO_METADATA_KEY
from bot.channels.limits import (
    RequestError,
    RequestLimits,
    bad_request,
    check_rasa_payload,
    check_utterance_length,
    decode_json,
    read_body,
)
from bot.ops.warmup import REST_TOKEN_ENV as TOKEN_VARIABLE
from bot.ops.warmup import REST_TOKEN_HEADER as TOKEN_HEADER
from bot.privacy.log_masking import install_record_masking

logger = logging.getLogger(__name__)

SENDER_PREFIX = "rest:"
# Printable ASCII without spaces and quotes: ids of test users, tools and benches.
REST_SENDER = re.compile(r"[A-Za-z0-9_.:@-]{1,128}")

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def rasa_sender_id(sender: str) -> str:
    """The conversation id Rasa keeps for a REST client's ``sender``."""
    return SENDER_PREFIX + sender


@dataclass(frozen=True)
class RestTurnRequest:
    sender: str  # as the client sent it
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def sender_id(self) -> str:
        return rasa_sender_id(self.sender)


def parse_rest_request(body: bytes, limits: RequestLimits = RequestLimits()) -> RestTurnRequest:
    """Parses and validates a REST body; raises :class:`RequestError` (4xx) for anything else."""
    payload = decode_json(body, limits, 'a JSON object {"sender": ..., "message": ...}')
    if not isinstance(payload, dict):
        raise bad_request("wrong_type", 'the request body must be a JSON object {"sender": ..., "message": ...}')
    sender = payload.get("sender")
    if not isinstance(sender, str):
        raise bad_request("missing_field" if sender is None else "wrong_type", "'sender' must be a string")
    if not REST_SENDER.fullmatch(sender):
        raise bad_request("invalid_field", "'sender' must be 1 to 128 letters, digits or '_.:@-'")
    message = payload.get("message")
    if not isinstance(message, str):
        raise bad_request("missing_field" if message is None else "wrong_type", "'message' must be a string")
    if not message.strip():
        raise bad_request("empty_message", "'message' is empty")
    check_utterance_length(message, limits, "message")
    check_rasa_payload(message, limits)
    metadata = payload.get("metadata")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise bad_request("wrong_type", "'metadata' must be an object")
    # Only the Kakao channel speaks for Kakao: its context is not taken from a REST client.
    metadata = {key: value for key, value in metadata.items() if key != KAKAO_METADATA_KEY}
    return RestTurnRequest(sender=sender, text=message.strip(), metadata=metadata)


def _json(body: Any, status: int = 200) -> HTTPResponse:
    return response.json(body, status=status, ensure_ascii=False)


def _error(error: RequestError) -> HTTPResponse:
    return _json(error.to_json(), error.status)


class RestInput(InputChannel):
    """Rasa input channel ``rest`` with a token, a sender namespace and input limits."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> RestInput:
        credentials = dict(credentials or {})
        token = credentials.pop("token", None)
        unknown = sorted(set(credentials) - {"max_body_bytes", "max_utterance_chars", "max_nesting_depth"})
        if unknown:
            raise RasaException(f"REST channel: unknown setting(s): {', '.join(unknown)}")
        try:
            limits = RequestLimits.from_settings(credentials)
        except ValueError as error:
            raise RasaException(f"REST channel: {error}") from error
        return cls(token="" if token is None else str(token), limits=limits)

    def __init__(self, token: str = "", limits: RequestLimits = RequestLimits()) -> None:
        self._token = token.strip().encode("utf-8")
        self.limits = limits
        if not self._token:
            logger.warning(
                "rest.channel.disabled: no token configured (set %s); every request gets 401", TOKEN_VARIABLE
            )

    def _refusal(self, request: Request) -> RequestError | None:
        if not self._token:
            return RequestError(
                401,
                "rest_channel_disabled",
                f"the REST channel has no token configured (set {TOKEN_VARIABLE} on the server)",
            )
        supplied = request.headers.get(TOKEN_HEADER)
        if supplied is None or not hmac.compare_digest(supplied.encode("utf-8", "replace"), self._token):
            return RequestError(401, "unauthorized", f"missing or wrong '{TOKEN_HEADER}' header")
        return None

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        install_record_masking()
        webhook = Blueprint(f"sotong_rest_webhook_{type(self).__name__}")

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return _json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            return await self.handle(request, on_new_message)

        return webhook

    async def handle(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        refusal = self._refusal(request)
        if refusal is not None:
            logger.warning("rest.request.refused code=%s", refusal.code)
            return _error(refusal)
        try:
            turn = parse_rest_request(await read_body(request, self.limits), self.limits)
        except RequestError as error:
            logger.warning("rest.request.rejected status=%d code=%s", error.status, error.code)
            return _error(error)
        except Exception:  # a parser bug must not become a 500
            logger.exception("rest.request.unparsed")
            return _error(bad_request("invalid_request", "the request could not be read"))
        return _json(await self._run_turn(turn, on_new_message))

    async def _run_turn(self, turn: RestTurnRequest, on_new_message: OnNewMessage) -> list[dict[str, Any]]:
        collector = CollectingOutputChannel()
        try:
            await on_new_message(
                UserMessage(turn.text, collector, turn.sender_id, input_channel=self.name(), metadata=turn.metadata)
            )
            messages = collector.messages
        except Exception:
            logger.exception("rest.turn.failed sender=%s", turn.sender_id)
            messages = [{"text": texts.TURN_FAILED}]
        # Rasa addresses its answers to the namespaced id; the client knows its sender as it sent it.
        return [{**message, "recipient_id": turn.sender} for message in messages]
