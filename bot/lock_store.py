"""Rasa's Redis lock store with atomic ticket operations, for several Rasa processes.

Rasa 3.6's `RedisLockStore` keeps a conversation's ticket queue in one Redis key and changes it
with GET, change in Python, SET. Two Rasa processes receiving messages of the same citizen at the
same moment can both read the empty queue and both take ticket 0, and then both run the turn at
once on the same tracker (duplicated or lost events); a release racing with a new ticket can also
delete the newcomer's ticket (its turn then fails with a LockError). Behind a load balancer that
happens whenever a citizen taps twice quickly.

`AtomicRedisLockStore` runs every read-change-write of the queue in a Redis transaction on that
key (WATCH/MULTI/EXEC, retried when another process changed the key in between), so tickets are
unique and a release never drops a waiting ticket. It also polls for its turn every 0.1 s instead
of Rasa's 1 s (a citizen's second message waits for the first turn, not for a whole extra second)
and lets Redis expire an abandoned queue (e.g. after a crash) once its last ticket has expired.

    lock_store:
      type: bot.lock_store.AtomicRedisLockStore
      url: ${SOTONG_REDIS_HOST}
      port: ${SOTONG_REDIS_PORT}
      db: ${SOTONG_REDIS_DB}
      password: ${SOTONG_REDIS_PASSWORD}
      key_prefix: ${SOTONG_REDIS_LOCK_PREFIX}
      poll_interval_seconds: 0.1        # optional
"""
from __future__ import annotations

import json
import logging
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Callable, Optional, Text, Tuple

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_speedups import install as install_speedups

logger = logging.getLogger(__name__)

DEFAULT_POLL_INTERVAL_SECONDS = 0.1
EXPIRY_MARGIN_SECONDS = 60


def _optional(value: Any) -> Any:
    """Values from ${ENV} substitution are strings; an empty one means "not set"."""
    return None if value in ("", None) else value


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs: Any) -> None:
        install_speedups()  # the production profile's Rasa processes (bot/rasa_speedups.py)
        options = dict(endpoint_config.kwargs) if endpoint_config is not None else {}
        options.update(kwargs)
        if endpoint_config is not None and endpoint_config.url:
            options.setdefault("host", endpoint_config.url)
        self.poll_interval_seconds = float(options.pop("poll_interval_seconds", DEFAULT_POLL_INTERVAL_SECONDS))
        options = {key: _optional(value) for key, value in options.items()}
        options.setdefault("host", "localhost")
        for name, default in (("port", 6379), ("db", 1)):
            options[name] = int(default if options.get(name) is None else options[name])
        if options.get("socket_timeout") is not None:
            options["socket_timeout"] = float(options["socket_timeout"])
        for name in ("use_ssl",):
            if isinstance(options.get(name), str):
                options[name] = options[name].lower() in ("1", "true", "yes")
        super().__init__(**{key: value for key, value in options.items() if value is not None})

    # --- one transaction per change of a queue

    def _key(self, conversation_id: Text) -> Text:
        return self.key_prefix + conversation_id

    def _change(self, conversation_id: Text,
                change: Callable[[Optional[TicketLock]], Tuple[Optional[TicketLock], Any]]) -> Any:
        """Runs `change(lock) -> (lock to store or None to delete, result)` atomically."""
        key = self._key(conversation_id)
        results = []

        def transaction(pipe) -> None:
            results.clear()
            raw = pipe.get(key)
            lock = TicketLock.from_dict(json.loads(raw)) if raw else None
            new_lock, result = change(lock)
            pipe.multi()
            if new_lock is None:
                pipe.delete(key)
            else:
                expires = max((ticket.expires for ticket in new_lock.tickets), default=time.time())
                ttl_ms = int(max(expires - time.time(), 0) * 1000) + EXPIRY_MARGIN_SECONDS * 1000
                pipe.set(key, new_lock.dumps(), px=ttl_ms)
            results.append(result)

        self.red.transaction(transaction, key)
        return results[0]

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def issue(lock: Optional[TicketLock]):
            lock = lock or TicketLock(conversation_id)
            ticket = lock.issue_ticket(lock_lifetime)
            return lock, ticket

        try:
            return self._change(conversation_id, issue)
        except Exception as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}")

    def update_lock(self, conversation_id: Text) -> None:
        def drop_expired(lock: Optional[TicketLock]):
            if lock is None:
                return None, None
            lock.remove_expired_tickets()
            return (lock if lock.is_someone_waiting() else None), None

        self._change(conversation_id, drop_expired)

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        self.cleanup(conversation_id, ticket_number)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        """Removes the ticket; deletes the queue in the same transaction if nobody else waits."""
        def release(lock: Optional[TicketLock]):
            if lock is None:
                return None, None
            lock.remove_ticket_for(ticket_number)
            return (lock if lock.is_someone_waiting() else None), None

        self._change(conversation_id, release)

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: Text,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: Optional[float] = None,
    ) -> AsyncGenerator[TicketLock, None]:
        wait = self.poll_interval_seconds if wait_time_in_seconds is None else wait_time_in_seconds
        async with super().lock(conversation_id, lock_lifetime, wait) as ticket_lock:
            yield ticket_lock
