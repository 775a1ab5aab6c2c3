"""Rasa's Redis lock store with atomic ticket operations, for several Rasa processes.

Rasa 3.6's `RedisLockStore` keeps a conversation's ticket queue in one Redis key and changes it
with GET, change in Python, SET. Two Rasa processes receiving messages of the same citizen at the
same moment can both read the empty queue and both take ticket 0, and then both run the turn at
once on the same tracker (duplicated or lost events); a release racing with a new ticket can also
delete the newcomer's ticket (its turn then fails with a LockError). Behind a load balancer that
happens whenever a citizen taps twice quickly.

`AtomicRedisLockStore` runs every read-change-write of the queue as one Lua script in Redis
(QUEUE_SCRIPT), so tickets are unique and a release never drops a waiting ticket. A citizen whose
conversation is free costs two Redis round trips per turn (issue a ticket that is served at once,
release it); Rasa's own takes seven, a WATCH/MULTI/EXEC transaction per change about as many,
and each of them blocks the process's event loop. It also polls for its turn every 0.1 s instead
of Rasa's 1 s (a citizen's second message waits for the first turn, not for a whole extra second)
and lets Redis expire an abandoned queue (e.g. after a crash) once its last ticket has expired.
It patches nothing in Rasa and needs none of bot.rasa_ext.install()'s patches.

    lock_store:
      type: bot.rasa_ext.lock_store.AtomicRedisLockStore
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
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from bot.settings import parse_bool

logger = logging.getLogger(__name__)

DEFAULT_POLL_INTERVAL_SECONDS = 0.1
EXPIRY_MARGIN_SECONDS = 60

# KEYS[1]: a conversation's queue, in Rasa's TicketLock JSON ({"conversation_id": ..., "tickets":
# ["{\"number\": 0, \"expires\": <epoch s>}", ...]}). ARGV: operation (issue | release | prune),
# conversation id, now (epoch s), the ticket's lifetime (issue) or number (release), and how long
# the queue outlives its last ticket (ms). Expired tickets are dropped first, as TicketLock does;
# an empty queue is deleted. Returns [ticket issued or -1, ticket now served, queue JSON or ""].
QUEUE_SCRIPT = """
local now = tonumber(ARGV[3])
local tickets = {}
local raw = redis.call('GET', KEYS[1])
if raw then
  for _, encoded in ipairs(cjson.decode(raw).tickets or {}) do
    local ticket = cjson.decode(encoded)
    if ticket.expires >= now then tickets[#tickets + 1] = ticket end
  end
end
local issued = -1
if ARGV[1] == 'issue' then
  issued = 0
  if #tickets > 0 then issued = tickets[#tickets].number + 1 end
  tickets[#tickets + 1] = {number = issued, expires = now + tonumber(ARGV[4])}
elseif ARGV[1] == 'release' then
  for i, ticket in ipairs(tickets) do
    if ticket.number == tonumber(ARGV[4]) then table.remove(tickets, i) break end
  end
end
if #tickets == 0 then
  redis.call('DEL', KEYS[1])
  return {issued, 0, ''}
end
local encoded, last = {}, now
for i, ticket in ipairs(tickets) do
  encoded[i] = cjson.encode(ticket)
  if ticket.expires > last then last = ticket.expires end
end
local queue = cjson.encode({conversation_id = ARGV[2], tickets = encoded})
redis.call('SET', KEYS[1], queue, 'PX', math.floor((last - now) * 1000) + tonumber(ARGV[5]))
return {issued, tickets[1].number, queue}
"""


def _optional(value: Any) -> Any:
    """Values from ${ENV} substitution are strings; an empty one means "not set"."""
    return None if value in ("", None) else value


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
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
            if options.get(name) is not None:
                options[name] = parse_bool(name, options[name])
        super().__init__(**{key: value for key, value in options.items() if value is not None})
        self._script = None  # registered with Redis on first use (EVALSHA, loaded again if flushed)

    # --- one Lua script per change of a queue: atomic in Redis, one round trip

    def _key(self, conversation_id: str) -> str:
        return self.key_prefix + conversation_id

    def _run(self, operation: str, conversation_id: str, ticket_or_lifetime: float = 0) -> list[Any]:
        """Runs QUEUE_SCRIPT's `operation` on the conversation's queue: [ticket, now serving, queue]."""
        if self._script is None:
            self._script = self.red.register_script(QUEUE_SCRIPT)
        return self._script(
            keys=[self._key(conversation_id)],
            args=[
                operation,
                conversation_id,
                repr(time.time()),
                repr(float(ticket_or_lifetime)),
                EXPIRY_MARGIN_SECONDS * 1000,
            ],
        )

    def _issue(self, conversation_id: str, lock_lifetime: float) -> tuple[int, int, TicketLock]:
        try:
            ticket, serving, queue = self._run("issue", conversation_id, lock_lifetime)
        except Exception as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error
        return int(ticket), int(serving), TicketLock.from_dict(json.loads(queue))

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        return self._issue(conversation_id, lock_lifetime)[0]

    def update_lock(self, conversation_id: str) -> None:
        """Drops the expired tickets (and the queue when nobody is left)."""
        self._run("prune", conversation_id)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self.cleanup(conversation_id, ticket_number)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Removes the ticket; deletes the queue in the same step if nobody else waits."""
        self._run("release", conversation_id, ticket_number)

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float | None = None,
    ) -> AsyncGenerator[TicketLock, None]:
        """Rasa's ticket lock: a free conversation costs two Redis round trips (issue, release)."""
        wait = self.poll_interval_seconds if wait_time_in_seconds is None else wait_time_in_seconds
        ticket, serving, queue = self._issue(conversation_id, lock_lifetime)
        try:
            yield queue if ticket == serving else await self._acquire_lock(conversation_id, ticket, wait)
        finally:
            self.cleanup(conversation_id, ticket)
