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

The cache holds JSON, never tracker or event objects: every read builds a new tracker, so
nothing a turn does to its tracker reaches the cache or another turn.

Entries are dropped after ``idle_seconds`` without use and beyond ``max_conversations`` (least
recently used first), which bounds the memory it takes.

:class:`CachingTrackerStore` puts the cache in front of a store that offers the row-level steps
of a read and a save (:class:`StoredEvents`: bot.rasa_ext.sql_store.MaskingSQLStore), a tracker
store wrapper in the style of Rasa's own FailSafeTrackerStore and AwaitableTrackerStore.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

Version = tuple[int | None, int]  # (max(id), count(id)) of the sender's rows


@dataclass(frozen=True)
class Appended:
    """What a save inserted: the last new row's id (None if nothing), the JSON stored for each
    event and its masked dictionary (what the event broker gets)."""

    last_id: int | None
    texts: list[str]
    masked: list[dict[str, Any]]


@dataclass
class CachedConversation:
    version: Version
    events: list[str] = field(default_factory=list)  # JSON of the current session's events, in id order
    used: float = field(default_factory=time.monotonic)


class ConversationCache:
    def __init__(self, max_conversations: int = 500, idle_seconds: float = 900.0) -> None:
        self.max_conversations = max_conversations
        self.idle_seconds = idle_seconds
        self._entries: OrderedDict[str, CachedConversation] = OrderedDict()
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

    def events(self, sender_id: str, version: Version) -> list[str] | None:
        """The cached events of ``sender_id`` if the database still has ``version``; else None."""
        entry = self._entries.get(sender_id)
        if entry is None or entry.version != version:
            self.misses += 1
            return None
        self.hits += 1
        entry.used = time.monotonic()
        self._entries.move_to_end(sender_id)
        return entry.events

    def put(self, sender_id: str, version: Version, events: list[str]) -> None:
        if not self.enabled:
            return
        self._entries[sender_id] = CachedConversation(version, list(events))
        self._entries.move_to_end(sender_id)
        self._evict()

    def drop(self, sender_id: str) -> None:
        self._entries.pop(sender_id, None)


class StoredEvents(Protocol):
    """What CachingTrackerStore needs of the store it wraps (besides Rasa's TrackerStore methods)."""

    def session_scope(self) -> AbstractContextManager[Any]: ...

    def version(self, session: Any, sender_id: str) -> Version: ...

    def stored_events(self, session: Any, sender_id: str) -> list[str]: ...

    def unsaved_events(self, session: Any, tracker: DialogueStateTracker) -> list[Event]: ...

    def append(self, session: Any, sender_id: str, events: list[Event]) -> Appended: ...

    def publish(self, sender_id: str, appended: Appended) -> None: ...

    def tracker_from_stored(self, sender_id: str, stored: list[str]) -> DialogueStateTracker | None: ...


class CachingTrackerStore(TrackerStore):
    """A tracker store wrapper keeping the current session's events of recent conversations.

    `retrieve` and `save` ask the wrapped store for the conversation's version first and use the
    cached events only if it is unchanged (see the module docstring); everything else goes to the
    wrapped store. With ``max_conversations=0`` every call goes straight through."""

    def __init__(self, tracker_store: StoredEvents, max_conversations: int = 500) -> None:
        self._tracker_store = tracker_store
        self.cache = ConversationCache(max_conversations=max_conversations)
        super().__init__(tracker_store.domain, tracker_store.event_broker)

    @property
    def domain(self) -> Domain:
        return self._tracker_store.domain

    @domain.setter
    def domain(self, domain: Domain | None) -> None:
        self._tracker_store.domain = domain

    @property
    def wrapped(self) -> StoredEvents:
        return self._tracker_store

    async def keys(self) -> Iterable[str]:
        return await self._tracker_store.keys()

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        return await self._tracker_store.retrieve_full_tracker(conversation_id)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The current session's tracker: one indexed query when the cached events are current."""
        store = self._tracker_store
        if not self.cache.enabled:
            return await store.retrieve(sender_id)
        with store.session_scope() as session:
            version = store.version(session, sender_id)
            events = self.cache.events(sender_id, version)
            if events is None:
                events = store.stored_events(session, sender_id)
                self.cache.put(sender_id, version, events)
        return store.tracker_from_stored(sender_id, events)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """The wrapped store's save, counting the stored events from the cache when it is current;
        the new events go to the event broker after the commit (the wrapped store's `publish`),
        without loading the conversation again as Rasa's `stream_events` does."""
        store = self._tracker_store
        if not self.cache.enabled:
            return await store.save(tracker)
        sender_id = tracker.sender_id
        with store.session_scope() as session:
            version = store.version(session, sender_id)
            stored = self.cache.events(sender_id, version)
            if stored is None:
                new_events = store.unsaved_events(session, tracker)
            else:
                new_events = list(itertools.islice(tracker.events, len(stored), None))
            appended = store.append(session, sender_id, new_events)
            session.commit()
        if stored is not None and not any(isinstance(event, SessionStarted) for event in new_events):
            last_id = version[0] if appended.last_id is None else appended.last_id
            self.cache.put(sender_id, (last_id, version[1] + len(appended.texts)), stored + appended.texts)
        else:  # a new session changes which events are current: read them from the database next time
            self.cache.drop(sender_id)
        store.publish(sender_id, appended)
        logger.debug("Tracker with sender_id '%s' stored", sender_id)

    async def _stream_new_events(self, event_broker: Any, new_events: list[Event], sender_id: str) -> None:
        await self._tracker_store._stream_new_events(event_broker, new_events, sender_id)
