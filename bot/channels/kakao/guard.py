"""Keeping Open Builder's 5-second limit, callbacks, and per-user ordering.

* :class:`SenderLocks` — one FIFO lock per sender id, so the messages of one user are
  processed one after another in arrival order even when they arrive concurrently; an
  entry is removed as soon as nobody holds or waits for it.
* :class:`TurnGuard` — waits for a turn up to the configured threshold (measured from the
  request's arrival, so time spent queueing behind the user's previous message counts);
  a turn that is not done by then keeps running in the background and its result is handed
  to a follow-up coroutine (POST to the callback URL, or store for "답변 보기").
* :class:`CallbackSender` — POSTs a finished SkillResponse to Open Builder's single-use
  callback URL with a timeout and a retry, only to addresses its ``CallbackPolicy`` allows
  (checked after DNS resolution, on the connection itself; redirects are not followed).
"""

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp

from bot.channels.kakao.callback_policy import CallbackPolicy, CheckedResolver

logger = logging.getLogger(__name__)

T = TypeVar("T")


class _SenderLock:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class SenderLocks:
    """Per-sender asyncio locks, created on demand and dropped when idle."""

    def __init__(self) -> None:
        self._locks: dict[str, _SenderLock] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @asynccontextmanager
    async def hold(self, sender_id: str) -> AsyncIterator[None]:
        entry = self._locks.get(sender_id)
        if entry is None:
            entry = self._locks[sender_id] = _SenderLock()
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._locks[sender_id]


class CallbackSender:
    """Delivers a SkillResponse to a callback URL: ``attempts`` tries, each with a timeout.

    Network errors, timeouts, 429 and 5xx answers are retried; other 4xx answers are not
    (the URL is single-use and valid for one minute only).
    """

    def __init__(
        self,
        timeout_seconds: float = 10.0,
        attempts: int = 2,
        retry_delay_seconds: float = 0.5,
        policy: CallbackPolicy = CallbackPolicy(),
    ) -> None:
        self.policy = policy
        self.timeout_seconds = timeout_seconds
        self.attempts = max(1, attempts)
        self.retry_delay_seconds = retry_delay_seconds

    async def deliver(self, url: str, skill_response: dict[str, Any]) -> bool:
        body = json.dumps(skill_response, ensure_ascii=False).encode("utf-8")
        host = urlsplit(url).hostname  # the path holds a one-time token: never log it
        timeout = aiohttp.ClientTimeout(total=self.timeout_seconds)
        refusal = await self.policy.resolved_refusal(url)
        if refusal is not None:
            logger.error("kakao.callback.refused host=%s reason=%s", host, refusal)
            return False
        for attempt in range(1, self.attempts + 1):
            try:
                connector = aiohttp.TCPConnector(resolver=CheckedResolver(self.policy))
                async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
                    async with session.post(
                        url,
                        data=body,
                        headers={"Content-Type": "application/json; charset=utf-8"},
                        allow_redirects=False,
                    ) as response:
                        status = response.status
                        await response.read()
                if 200 <= status < 300:
                    logger.info("kakao.callback.delivered host=%s attempt=%d", host, attempt)
                    return True
                logger.warning("kakao.callback.rejected host=%s status=%d attempt=%d", host, status, attempt)
                if 400 <= status < 500 and status != 429:
                    return False
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
                logger.warning("kakao.callback.failed host=%s attempt=%d error=%s", host, attempt, type(error).__name__)
            if attempt < self.attempts:
                await asyncio.sleep(self.retry_delay_seconds)
        logger.error("kakao.callback.gave_up host=%s attempts=%d", host, self.attempts)
        return False


class TurnGuard:
    """Answers within the threshold; lets slow turns finish in the background."""

    def __init__(self, threshold_seconds: float) -> None:
        self.threshold_seconds = threshold_seconds
        self._tasks: set[asyncio.Future[Any]] = set()

    @property
    def pending_tasks(self) -> int:
        return len(self._tasks)

    def _track(self, task: "asyncio.Future[T]") -> "asyncio.Future[T]":
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def start(self, turn: Awaitable[T]) -> "asyncio.Future[T]":
        """Starts a turn as a task that outlives the request that started it."""
        return self._track(asyncio.ensure_future(turn))

    async def finished_in_time(self, turn: "asyncio.Future[Any]", started_at: float) -> bool:
        """Waits until the turn is done or the threshold (from ``started_at``) has passed."""
        elapsed = asyncio.get_running_loop().time() - started_at
        remaining = max(0.0, self.threshold_seconds - elapsed)
        done, _ = await asyncio.wait({turn}, timeout=remaining)
        return turn in done

    def then(self, turn: "asyncio.Future[T]", follow_up: Callable[[T], Awaitable[Any]]) -> None:
        """Runs ``follow_up(result)`` in the background once ``turn`` is done."""

        async def run() -> None:
            try:
                await follow_up(await turn)
            except Exception:
                logger.exception("kakao.guard.follow_up_failed")

        self._track(asyncio.ensure_future(run()))

    async def drain(self) -> None:
        """Waits for every background task (tests, shutdown)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))
