"""KakaoTalk channel: Kakao i Open Builder's skill webhook as a Rasa input channel.

Configured in ``credentials.yml`` as ``bot.channels.kakao.KakaoInput`` (settings in
``settings``). Routes, under Rasa's ``/webhooks/kakao`` prefix:

* ``GET  /webhooks/kakao/``        health check → ``{"status": "ok", "continuations": "memory" | "redis"}``
* ``POST /webhooks/kakao/webhook`` the skill URL to register in Open Builder

A request is authenticated by a shared secret header (constant-time comparison), read with a
size limit, parsed (``request``), run as a Rasa turn under the sender's lock and answered
as a SkillResponse 2.0 (``response``) within the time limit (``guard``):

* done in time → the answer;
* late, with ``callbackUrl`` → ``useCallback`` at once, the answer POSTed to the URL later;
* late, without → a polite "please wait" with a "답변 보기" quick reply that fetches the answer.

A callback URL is used only when the callback policy allows it (``callback_policy``: Kakao's
host, https, a public address after DNS resolution, checked while the turn runs); otherwise the
late answer takes the "답변 보기" path, so it is never lost.

At most ``max_concurrent_turns`` turns run at once; the others wait (without using the CPU) in
arrival order. Rasa runs NLU and policies inside the event loop, so with every waiting turn
running at once the guard's timer would only fire after all of them had taken a step.
"더 보기" pages and late answers live in a continuation store (``continuations``): this
process's memory, or Redis so that every process behind a load balancer can serve the tap.

Protocol errors (bad secret, malformed JSON, missing fields, oversize body) get a 4xx with
``{"error": {"code", "message"}}`` for the platform's logs; everything a citizen can cause
(over-long message, a failing turn) gets a normal SkillResponse that says what to do.
"""

import asyncio
import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.kakao import texts
from bot.channels.kakao.callback_policy import CallbackPolicy
from bot.channels.kakao.continuations import LookupStatus, continuation_store
from bot.channels.kakao.guard import CallbackSender, SenderLocks, TurnGuard
from bot.channels.kakao.request import (
    KakaoTurnRequest,
    SkillRequestError,
    UtteranceTooLongError,
    parse_skill_request,
)
from bot.channels.kakao.response import (
    Template,
    build_templates,
    callback_acknowledgement,
    continuation_quick_reply,
    page_response,
    text_response,
)
from bot.channels.kakao.settings import KakaoChannelSettings, KakaoSettingsError
from bot.channels.limits import read_body
from bot.privacy.log_masking import install_record_masking
from bot.privacy.masking import mask_personal_data

logger = logging.getLogger(__name__)

_dumps = partial(json.dumps, ensure_ascii=False)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

# How long a late turn may still wait for the callback host's DNS check (started with the turn).
CALLBACK_CHECK_GRACE_SECONDS = 0.5


def _json(body: dict[str, Any], status: int = 200) -> HTTPResponse:
    return response.json(body, status=status, dumps=_dumps)


def _error(status: int, code: str, message: str) -> HTTPResponse:
    return _json({"error": {"code": code, "message": message}}, status)


class KakaoInput(InputChannel):
    """Rasa input channel for Kakao i Open Builder skills."""

    @classmethod
    def name(cls) -> str:
        return "kakao"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> "KakaoInput":
        if credentials is None:
            cls.raise_missing_credentials_exception()
        try:
            settings = KakaoChannelSettings.from_credentials(credentials)
        except KakaoSettingsError as error:
            raise RasaException(f"Kakao channel: {error}") from error
        return cls(settings)

    def __init__(self, settings: KakaoChannelSettings) -> None:
        self.settings = settings
        self._secret = settings.secret.encode("utf-8")
        self._limits = settings.limits
        self.callback_policy = CallbackPolicy(
            allowed_hosts=settings.callback_hosts,
            allow_http=settings.callback_allow_http,
            allow_private_networks=settings.callback_allow_private_networks,
        )
        self.locks = SenderLocks()
        self.guard = TurnGuard(settings.callback_threshold_seconds)
        self.callbacks = CallbackSender(
            timeout_seconds=settings.callback_timeout_seconds,
            attempts=settings.callback_attempts,
            policy=self.callback_policy,
        )
        self.continuations = continuation_store(
            settings.continuation_store_url, ttl_seconds=settings.continuation_ttl_seconds
        )
        self._turn_slots: asyncio.Semaphore | None = None  # made in the server's event loop

    @asynccontextmanager
    async def _turn_slot(self) -> AsyncIterator[None]:
        """At most ``max_concurrent_turns`` turns run at once; the others wait their turn (FIFO)."""
        if not self.settings.max_concurrent_turns:
            yield
            return
        if self._turn_slots is None:
            self._turn_slots = asyncio.Semaphore(self.settings.max_concurrent_turns)
        async with self._turn_slots:
            yield

    # ------------------------------------------------------------------ HTTP

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        # Citizens type phone numbers: keep them out of every log line of the server (every record
        # is masked when it is created, whichever handler writes it).
        install_record_masking()
        # Rasa mounts the blueprint under /webhooks/<name()>.
        webhook = Blueprint(f"kakao_webhook_{type(self).__name__}")

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return _json({"status": "ok", "continuations": self.continuations.kind})

        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            return await self.handle(request, on_new_message)

        return webhook

    def _authorized(self, request: Request) -> bool:
        supplied = request.headers.get(self.settings.secret_header)
        if supplied is None:
            return False
        return hmac.compare_digest(supplied.encode("utf-8"), self._secret)

    async def handle(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        started_at = asyncio.get_running_loop().time()
        if not self._authorized(request):
            logger.warning("kakao.request.unauthorized")
            return _error(401, "unauthorized", f"missing or wrong '{self.settings.secret_header}' header")
        try:
            body = await read_body(request, self._limits)
            turn_request = parse_skill_request(body, self._limits, self.callback_policy)
        except UtteranceTooLongError as error:
            logger.warning("kakao.request.rejected code=%s", error.code)
            return _json(text_response(texts.UTTERANCE_TOO_LONG.format(limit=self._limits.max_utterance_chars)))
        except SkillRequestError as error:
            logger.warning("kakao.request.rejected status=%d code=%s", error.status, error.code)
            return _json(error.to_json(), error.status)
        except Exception:  # a parser bug must not become a 500 for Open Builder
            logger.exception("kakao.request.unparsed")
            return _error(400, "invalid_request", "the request could not be read")
        try:
            if turn_request.continuation is not None:
                return _json(await self._continue(turn_request, started_at))
            return _json(await self._answer(turn_request, on_new_message, started_at))
        except Exception:
            logger.exception("kakao.request.failed")
            return _json(text_response(texts.TURN_FAILED))

    # ------------------------------------------------------------------ turns

    async def _run_turn(self, turn_request: KakaoTurnRequest, on_new_message: OnNewMessage) -> list[Template]:
        """Runs one Rasa turn under the sender's lock; returns the answer's pages."""
        sender_id = turn_request.sender_id
        async with self.locks.hold(sender_id), self._turn_slot():
            collector = CollectingOutputChannel()
            message = UserMessage(
                turn_request.text,
                collector,
                sender_id,
                input_channel=self.name(),
                metadata=turn_request.metadata,
            )
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("kakao.turn.start sender=%s text=%s", sender_id, mask_personal_data(turn_request.text))
            try:
                await asyncio.wait_for(on_new_message(message), timeout=self.settings.turn_timeout_seconds)
            except asyncio.TimeoutError:
                logger.error("kakao.turn.timeout sender=%s seconds=%s", sender_id, self.settings.turn_timeout_seconds)
                return build_templates([{"text": texts.TURN_FAILED}])
            except Exception:
                logger.exception("kakao.turn.failed sender=%s", sender_id)
                return build_templates([{"text": texts.TURN_FAILED}])
            return build_templates(collector.messages)

    async def _first_page(self, sender_id: str, templates: list[Template]) -> dict[str, Any]:
        token = await self.continuations.put(sender_id, templates) if len(templates) > 1 else None
        return page_response(templates, 1, token)

    async def _answer(
        self, turn_request: KakaoTurnRequest, on_new_message: OnNewMessage, started_at: float
    ) -> dict[str, Any]:
        sender_id = turn_request.sender_id
        logger.debug(
            "kakao.turn sender=%s payload=%s images=%d callback=%s",
            sender_id,
            turn_request.from_payload,
            len(turn_request.image_urls),
            turn_request.callback_url is not None,
        )
        turn = self.guard.start(self._run_turn(turn_request, on_new_message))
        callback_url = turn_request.callback_url
        # The callback host is resolved and checked while the turn runs, in case it is late.
        callback_check = (
            asyncio.ensure_future(self.callback_policy.resolved_refusal(callback_url)) if callback_url else None
        )
        if await self.guard.finished_in_time(turn, started_at):
            if callback_check is not None:
                callback_check.cancel()
            return await self._first_page(sender_id, turn.result())

        if callback_check is not None and not await self._callback_usable(callback_check):
            callback_url = None
        if callback_url:
            logger.info("kakao.turn.deferred sender=%s mode=callback", sender_id)

            async def deliver(templates: list[Template]) -> None:
                await self.callbacks.deliver(callback_url, await self._first_page(sender_id, templates))

            self.guard.then(turn, deliver)
            return callback_acknowledgement(texts.CALLBACK_WAIT)

        logger.info("kakao.turn.deferred sender=%s mode=stored", sender_id)
        token = await self.continuations.open(sender_id)

        async def keep(templates: list[Template]) -> None:
            await self.continuations.resolve(sender_id, token, templates)

        self.guard.then(turn, keep)
        return text_response(texts.PENDING_ANSWER, [continuation_quick_reply(texts.SHOW_ANSWER_LABEL, token, 1)])

    async def _callback_usable(self, check: "asyncio.Future[str | None]") -> bool:
        """Whether the DNS check of the callback host allowed it (in time for Kakao's limit)."""
        try:
            refusal = await asyncio.wait_for(check, timeout=CALLBACK_CHECK_GRACE_SECONDS)
        except asyncio.TimeoutError:
            refusal = "host did not resolve in time"
        if refusal is not None:
            logger.warning("kakao.callback.refused reason=%s; the answer is kept for '답변 보기'", refusal)
            return False
        return True

    async def _continue(self, turn_request: KakaoTurnRequest, started_at: float) -> dict[str, Any]:
        """Serves a "더 보기" / "답변 보기" tap from the continuation store."""
        token, page = turn_request.continuation
        elapsed = asyncio.get_running_loop().time() - started_at
        lookup = await self.continuations.get(
            turn_request.sender_id, token, wait_seconds=max(0.0, self.settings.callback_threshold_seconds - elapsed)
        )
        if lookup.status is LookupStatus.PENDING:
            return text_response(texts.STILL_PENDING, [continuation_quick_reply(texts.SHOW_ANSWER_LABEL, token, page)])
        if lookup.status is LookupStatus.MISSING or page > len(lookup.templates):
            return text_response(texts.CONTINUATION_EXPIRED)
        return page_response(lookup.templates, page, token)
