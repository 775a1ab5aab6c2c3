"""Answers kept for a later request of the same user.

Two things need this, both reached through a quick reply whose ``extra`` carries a token
(see ``kakao_extra.continuation_extra``):

* an answer too long for one Kakao response (more than 3 outputs): page 1 is answered at
  once, the next pages are fetched with "더 보기";
* an answer that was not ready within the time limit when Open Builder gave no callback
  URL: the citizen gets a polite "please wait" with "답변 보기", and the answer is stored
  here when the turn finishes.

Entries live in this process's memory, bound to their user, for ``ttl_seconds``; the store
keeps at most ``max_entries`` (oldest dropped first). With several Rasa processes behind a
load balancer a follow-up tap may reach another process; it then gets a polite "expired"
answer (sticky sessions avoid that).
"""

import asyncio
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum
from typing import Any, Dict, List, Optional

Template = Dict[str, Any]


class LookupStatus(Enum):
    READY = "ready"
    PENDING = "pending"
    MISSING = "missing"


@dataclass(frozen=True)
class Lookup:
    status: LookupStatus
    templates: Optional[List[Template]] = None


@dataclass
class _Entry:
    sender_id: str
    created: float
    answer: "asyncio.Future[List[Template]]"


class ContinuationStore:
    def __init__(self, ttl_seconds: float = 600.0, max_entries: int = 10_000) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: "OrderedDict[str, _Entry]" = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def _purge(self) -> None:
        deadline = time.monotonic() - self.ttl_seconds
        while self._entries:
            token, entry = next(iter(self._entries.items()))
            if entry.created >= deadline and len(self._entries) <= self.max_entries:
                break
            del self._entries[token]
            if not entry.answer.done():
                entry.answer.cancel()

    def _new_entry(self, sender_id: str) -> str:
        self._purge()
        token = secrets.token_urlsafe(12)
        future: "asyncio.Future[List[Template]]" = asyncio.get_running_loop().create_future()
        self._entries[token] = _Entry(sender_id, time.monotonic(), future)
        self._purge()
        return token

    def open(self, sender_id: str) -> str:
        """Reserves a token for an answer that is still being prepared."""
        return self._new_entry(sender_id)

    def resolve(self, token: str, templates: List[Template]) -> None:
        """Stores the finished answer of a token from :meth:`open` (ignored if expired)."""
        entry = self._entries.get(token)
        if entry is not None and not entry.answer.done():
            entry.answer.set_result(templates)

    def put(self, sender_id: str, templates: List[Template]) -> str:
        """Stores a finished answer and returns its token."""
        token = self._new_entry(sender_id)
        self._entries[token].answer.set_result(templates)
        return token

    async def get(self, sender_id: str, token: str, wait_seconds: float = 0.0) -> Lookup:
        """The answer stored under ``token`` for ``sender_id``.

        Waits up to ``wait_seconds`` for an answer still being prepared.
        """
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
