"""Answers kept for a later request of the same user.

Two things need this, both reached through a quick reply whose ``extra`` carries a token
(see ``kakao_extra.continuation_extra``):

* an answer too long for one Kakao response (more than 3 outputs): page 1 is answered at
  once, the next pages are fetched with "더 보기";
* an answer that was not ready within the time limit when Open Builder gave no callback
  URL: the citizen gets a polite "please wait" with "답변 보기", and the answer is stored
  here when the turn finishes.

Entries are bound to their user and kept for ``ttl_seconds``. Two stores:

* :class:`MemoryContinuationStore` — this process's memory (``make run``: one Rasa process);
* :class:`RedisContinuationStore` — Redis, shared by every Rasa process behind a load
  balancer, so a "더 보기" tap may land on any instance. If Redis cannot be reached, new
  entries are kept in this process's memory (a tap on this instance still works) and a
  lookup answers "still being prepared" so the citizen can tap again once Redis is back.

:func:`continuation_store` picks one from a URL (empty → memory, ``redis://…`` → Redis).
"""

import asyncio
import json
import logging
import secrets
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol
from urllib.parse import urlsplit

from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# URL schemes of a Redis continuation store (``continuation_store_url``).
REDIS_URL_SCHEMES = ("redis", "rediss", "unix")
# What a Redis call raises when the server cannot be reached or does not answer in time.
_REDIS_UNAVAILABLE = (RedisError, OSError, asyncio.TimeoutError)

Template = dict[str, Any]


class LookupStatus(Enum):
    READY = "ready"
    PENDING = "pending"
    MISSING = "missing"


@dataclass(frozen=True)
class Lookup:
    status: LookupStatus
    templates: list[Template] | None = None


def new_token() -> str:
    return secrets.token_urlsafe(12)


class ContinuationStore(Protocol):
    kind: str  # "memory" or "redis", shown by the channel's health route

    async def open(self, sender_id: str) -> str:
        """Reserves a token for an answer that is still being prepared."""

    async def resolve(self, sender_id: str, token: str, templates: list[Template]) -> None:
        """Stores the finished answer of a token from :meth:`open` (ignored if expired)."""

    async def put(self, sender_id: str, templates: list[Template]) -> str:
        """Stores a finished answer and returns its token."""

    async def get(self, sender_id: str, token: str, wait_seconds: float = 0.0) -> Lookup:
        """The answer stored under ``token`` for ``sender_id``; waits up to ``wait_seconds``
        for an answer still being prepared."""


@dataclass
class _Entry:
    sender_id: str
    created: float
    answer: "asyncio.Future[list[Template]]"


class MemoryContinuationStore:
    """Entries in this process's memory; at most ``max_entries`` (oldest dropped first)."""

    kind = "memory"

    def __init__(self, ttl_seconds: float = 600.0, max_entries: int = 10_000) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, token: str) -> bool:
        return token in self._entries

    def _purge(self) -> None:
        deadline = time.monotonic() - self.ttl_seconds
        while self._entries:
            token, entry = next(iter(self._entries.items()))
            if entry.created >= deadline and len(self._entries) <= self.max_entries:
                break
            del self._entries[token]
            if not entry.answer.done():
                entry.answer.cancel()

    def _new_entry(self, sender_id: str, token: str | None = None) -> str:
        self._purge()
        token = token or new_token()
        future: asyncio.Future[list[Template]] = asyncio.get_running_loop().create_future()
        self._entries[token] = _Entry(sender_id, time.monotonic(), future)
        self._purge()
        return token

    async def open(self, sender_id: str) -> str:
        return self._new_entry(sender_id)

    async def resolve(self, sender_id: str, token: str, templates: list[Template]) -> None:
        entry = self._entries.get(token)
        if entry is not None and entry.sender_id == sender_id and not entry.answer.done():
            entry.answer.set_result(templates)

    async def put(self, sender_id: str, templates: list[Template], token: str | None = None) -> str:
        """Stores a finished answer (under ``token`` when given) and returns its token."""
        token = self._new_entry(sender_id, token)
        self._entries[token].answer.set_result(templates)
        return token

    async def get(self, sender_id: str, token: str, wait_seconds: float = 0.0) -> Lookup:
        self._purge()
        entry = self._entries.get(token)
        if entry is None or entry.sender_id != sender_id:
            return Lookup(LookupStatus.MISSING)
        if not entry.answer.done() and wait_seconds > 0:
            await asyncio.wait({entry.answer}, timeout=wait_seconds)
        if not entry.answer.done():
            return Lookup(LookupStatus.PENDING)
        if entry.answer.cancelled():
            return Lookup(LookupStatus.MISSING)
        return Lookup(LookupStatus.READY, entry.answer.result())


# Fills a reserved entry only while it exists (not after it expired) and only for its owner,
# keeping its TTL; atomic, as every Redis script.
_RESOLVE_SCRIPT = """
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
if cjson.decode(raw)['sender'] ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
"""


class RedisContinuationStore:
    """Entries in Redis under ``<key_prefix><token>`` with a TTL, as JSON
    ``{"sender": …, "templates": [...] | null}`` (``null``: still being prepared).

    A lookup of an answer still being prepared polls every ``poll_seconds`` (the wait is
    bounded by the channel's time limit, and only a "답변 보기" tap waits).
    """

    kind = "redis"

    def __init__(
        self,
        url: str,
        ttl_seconds: float = 600.0,
        key_prefix: str = "sotong:kakao:continuation:",
        poll_seconds: float = 0.1,
        timeout_seconds: float = 2.0,
    ) -> None:
        self.url = url
        self.ttl_seconds = max(1, int(round(ttl_seconds)))
        self.key_prefix = key_prefix
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds
        self.fallback = MemoryContinuationStore(ttl_seconds)
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()

    def _redis(self) -> Any:
        """A client of the running event loop (redis-py's asyncio connections belong to one)."""
        import redis.asyncio

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = redis.asyncio.from_url(
                self.url, socket_timeout=self.timeout_seconds, socket_connect_timeout=self.timeout_seconds
            )
        return client

    def _key(self, token: str) -> str:
        return self.key_prefix + token

    @staticmethod
    def _encode(sender_id: str, templates: list[Template] | None) -> str:
        return json.dumps({"sender": sender_id, "templates": templates}, ensure_ascii=False)

    def _unavailable(self, operation: str, error: Exception) -> None:
        logger.error("kakao.continuations.redis_unavailable operation=%s error=%s", operation, type(error).__name__)

    async def _store(self, sender_id: str, templates: list[Template] | None) -> str:
        token = new_token()
        try:
            await self._redis().set(self._key(token), self._encode(sender_id, templates), ex=self.ttl_seconds)
        except _REDIS_UNAVAILABLE as error:
            self._unavailable("store", error)
            if templates is None:
                return await self.fallback.open(sender_id)
            return await self.fallback.put(sender_id, templates)
        return token

    async def open(self, sender_id: str) -> str:
        return await self._store(sender_id, None)

    async def put(self, sender_id: str, templates: list[Template]) -> str:
        return await self._store(sender_id, templates)

    async def resolve(self, sender_id: str, token: str, templates: list[Template]) -> None:
        if token in self.fallback:
            await self.fallback.resolve(sender_id, token, templates)
            return
        try:
            await self._redis().eval(
                _RESOLVE_SCRIPT, 1, self._key(token), sender_id, self._encode(sender_id, templates)
            )
        except _REDIS_UNAVAILABLE as error:
            self._unavailable("resolve", error)
            # Keep the answer here: a tap that reaches this process still gets it.
            await self.fallback.put(sender_id, templates, token)

    async def get(self, sender_id: str, token: str, wait_seconds: float = 0.0) -> Lookup:
        if token in self.fallback:
            return await self.fallback.get(sender_id, token, wait_seconds)
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                raw = await self._redis().get(self._key(token))
            except _REDIS_UNAVAILABLE as error:
                self._unavailable("get", error)
                return Lookup(LookupStatus.PENDING)
            if raw is None:
                return Lookup(LookupStatus.MISSING)
            try:
                entry = json.loads(raw)
            except ValueError:
                return Lookup(LookupStatus.MISSING)
            if entry.get("sender") != sender_id:
                return Lookup(LookupStatus.MISSING)
            if entry.get("templates") is not None:
                return Lookup(LookupStatus.READY, entry["templates"])
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return Lookup(LookupStatus.PENDING)
            await asyncio.sleep(min(self.poll_seconds, remaining))


def continuation_store(url: str, ttl_seconds: float) -> ContinuationStore:
    """The store a channel setting names: empty → memory, ``redis://`` / ``rediss://`` → Redis."""
    if not url:
        return MemoryContinuationStore(ttl_seconds)
    scheme = urlsplit(url).scheme
    if scheme in REDIS_URL_SCHEMES:
        return RedisContinuationStore(url, ttl_seconds)
    raise ValueError(f"unsupported continuation store URL scheme '{scheme}' (use redis:// or leave it empty)")
