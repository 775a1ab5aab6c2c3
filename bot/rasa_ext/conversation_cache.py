"""The stored events of recently active conversations, kept in memory by a Rasa process.

Rasa's SQL tracker store reads every event of the conversation's current session from the
database at the start of each turn (ORM objects, then JSON), and counts them again before
saving. Under load that was the largest cost of a turn after NLU (a py-spy profile of
bench/kakao_load.py: 17 % of the Rasa process in `retrieve`, 5 % in the count before `save`).

:class:`ConversationCache` keeps, per conversation, the JSON of its current session's events
exactly as they were written (masked, callback numbers encrypted: the store decrypts them when it
builds the tracker, so the process's memory holds no more than the database), with the database's ``max(id)`` and ``count(id)`` for
that sender when they were read or written. A turn asks the database for those two numbers (one
indexed aggregate query) and uses the cached events only if both are unchanged. So another Rasa
process writing to the conversation (a load balancer alternating instances), the retention job
deleting from it, or anything else touching its rows makes the next turn read from the database
again: the cache can save work, never change an answer.

Entries are dropped after ``idle_seconds`` without use and beyond ``max_conversations`` (least
recently used first), which bounds the memory it takes.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

Version = Tuple[Optional[int], int]  # (max(id), count(id)) of the sender's rows


@dataclass
class CachedConversation:
    version: Version
    events: List[str] = field(default_factory=list)  # JSON of the current session's events, in id order
    used: float = field(default_factory=time.monotonic)


class ConversationCache:
    def __init__(self, max_conversations: int = 500, idle_seconds: float = 900.0) -> None:
        self.max_conversations = max_conversations
        self.idle_seconds = idle_seconds
        self._entries: "OrderedDict[str, CachedConversation]" = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def enabled(self) -> bool:
        return self.max_conversations > 0

    def _evict(self) -> None:
        cutoff = time.monotonic() - self.idle_seconds
        while self._entries:
            sender_id, entry = next(iter(self._entries.items()))
            if len(self._entries) <= self.max_conversations and entry.used >= cutoff:
                break
            del self._entries[sender_id]

    def events(self, sender_id: str, version: Version) -> Optional[List[str]]:
        """The cached events of ``sender_id`` if the database still has ``version``; else None."""
        entry = self._entries.get(sender_id)
        if entry is None or entry.version != version:
            self.misses += 1
            return None
        self.hits += 1
        entry.used = time.monotonic()
        self._entries.move_to_end(sender_id)
        return entry.events

    def put(self, sender_id: str, version: Version, events: List[str]) -> None:
        if not self.enabled:
            return
        self._entries[sender_id] = CachedConversation(version, list(events))
        self._entries.move_to_end(sender_id)
        self._evict()

    def drop(self, sender_id: str) -> None:
        self._entries.pop(sender_id, None)
