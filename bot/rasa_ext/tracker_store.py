"""Rasa's SQL tracker store with personal data masked in what it writes (PIPA).

Registered in an endpoints file as

    tracker_store:
      type: bot.rasa_ext.tracker_store.MaskingSQLTrackerStore
      dialect: postgresql            # or sqlite
      url: ${SOTONG_TRACKER_DB_HOST}
      port: ${SOTONG_TRACKER_DB_PORT}
      db: ${SOTONG_TRACKER_DB_NAME}
      username: ${SOTONG_TRACKER_DB_USER}
      password: ${SOTONG_TRACKER_DB_PASSWORD}
      # optional (defaults below): slots stored encrypted, slots stored verbatim
      encrypted_slots: [phone, budget_phone]
      unmasked_slots: [photo_url]
      # optional: strict: true, fail_turn_on_action_error: true, cache_conversations: 500

The options are parsed once (:class:`TrackerStoreOptions`): values from ${ENV} substitution
arrive as strings, an empty one means "not set" (the default), yes/no options accept
``1 true yes on`` / ``0 false no off`` and anything else, like an unknown option, stops the start
with a message naming it. The store runs only in a process where bot.rasa_ext.install() has
applied Sotong's patches of Rasa (``python -m bot.server run ...``, see bot/rasa_ext/__init__.py);
anywhere else it refuses to start, since its guarantees below need them.

It is made of two parts: bot.rasa_ext.sql_store.MaskingSQLStore (the SQL store: masking,
encryption, errors, connections) wrapped in bot.rasa_ext.conversation_cache.CachingTrackerStore
(the in-memory cache); this class adds the options and the refusal of failed turns.

Same table (`events`) and behaviour as Rasa's `SQL` type; the differences:

* Masking on save: phone numbers and 주민등록번호-shaped strings are masked (bot.privacy.masking) in every
  string of user events (text, parse_data, metadata — Kakao's metadata repeats the utterance),
  bot events and slot values. The turn itself works on the original text: Rasa saves the tracker
  only at the end of a turn, and the action server got the unmasked latest message.
* Slots whose exact value later turns need hold the citizen's callback number (`phone`,
  `budget_phone`, asked only after consent, then copied into the ticket and cleared when the form
  ends): they are stored encrypted (`encrypted_slots`; bot.privacy.encryption, key SOTONG_DATA_KEY, the
  store refuses to start without one) and decrypted when the tracker is read, so the database
  never holds the raw number and the turn sees the real one. Slots in `unmasked_slots` (photo
  URLs: digit runs in a URL may look like phone numbers) are stored verbatim. The retention job
  (bot.privacy.retention) deletes them with the rest of the conversation.
* Events sent to an event broker are masked and encrypted the same way, and sent once the save
  has committed them: the events that save stored, in order (Rasa's `stream_events` loads the
  conversation again to find them, and publishes before saving, even a save that then fails).
* No database error ends the process: Rasa 3.6's `session_scope` takes any ValueError (a
  sender id with a lone surrogate raises UnicodeEncodeError) for a missing PostgreSQL schema and
  calls sys.exit(1). Here the schema is checked once when the store is created (a missing one
  stops the start with Rasa's message), and an error in a turn is raised as TrackerStoreError:
  the turn fails, the channel answers politely, the process keeps serving.
* No silent fallback at start either: Rasa replaces a custom store whose creation raises an
  AttributeError or ImportError (e.g. a missing database driver) by an in-memory store with a
  mere warning; this store raises TrackerStoreError instead, and the start stops.
* Log records of the Rasa process are masked (bot.privacy.log_masking, applied by
  bot.rasa_ext.install()), in addition to the handler filters the Kakao channel installs.
* The current session's events of recently active conversations are kept in memory
  (bot.rasa_ext.conversation_cache) and used when the database shows the conversation unchanged: one indexed
  query per read instead of loading every event (`cache_conversations: 500` conversations at most;
  0 turns it off).
* PostgreSQL connections are checked before use (`pool_pre_ping`), so after a database restart
  the first turn does not fail on a dead pooled connection. SQLite connections are pooled too.
* No silent fallback (`strict: true`, the default): Rasa wraps every tracker store in a
  `FailSafeTrackerStore` that, when the database fails, retrieves *nothing* (the turn then runs
  on an empty conversation: an open form is forgotten) and saves into an in-memory store of that
  one process (other processes never see it). With several processes and PostgreSQL that turns a
  database restart into lost and forked conversations. For this store the wrapper passes errors
  on instead (bot.rasa_ext.fail_safe, which reads the store's `strict`): the turn fails, the
  citizen gets the channel's "잠시 후 다시 말씀해 주세요", nothing is written anywhere else, and
  the conversation goes on from the database once it is back.
* All-or-nothing turns when the action server fails (`fail_turn_on_action_error: true`, the
  default): Rasa itself catches a failed custom action, drops its events and carries on, so during
  an action-server outage a citizen's answer to a form question is recorded but never validated,
  the dialogue moves on without it and the citizen hears nothing useful. bot.rasa_ext.failed_turns
  marks the turn as failed when Rasa's call of the action server raises (by exception type; a 400
  rejection from the action server is a normal form rejection and is not a failure), and this
  store then refuses to save it (ActionServerFailure): the turn fails, the citizen gets the
  channel's "잠시 후 다시 말씀해 주세요" answer, and the stored conversation stays exactly as before
  the message, so resending it after the restart continues the form where it was.

The store patches nothing itself (it used to apply the speed-ups, the fail-safe patch and a log
watch when it was created, so another store type silently lost them): bot.rasa_ext.install()
applies every patch, whichever stores the endpoints file names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_ext import require_installed
from bot.rasa_ext.conversation_cache import CachingTrackerStore
from bot.rasa_ext.failed_turns import ActionServerFailure, refuse_failed_turn, start_turn
from bot.rasa_ext.sql_store import (
    DEFAULT_ENCRYPTED_SLOTS,
    DEFAULT_UNMASKED_SLOTS,
    MaskingSQLStore,
    TrackerStoreError,
    mask_event,
    mask_value,
    unmask_event,
)
from bot.settings import SettingsError, env_bool, env_int, env_list, env_str

__all__ = [
    "ActionServerFailure",
    "CachingTrackerStore",
    "DEFAULT_ENCRYPTED_SLOTS",
    "DEFAULT_UNMASKED_SLOTS",
    "MaskingSQLStore",
    "MaskingSQLTrackerStore",
    "TrackerStoreError",
    "TrackerStoreOptions",
    "mask_event",
    "mask_value",
    "unmask_event",
]

_PREFIX = "tracker_store."  # how the options are named in error messages


@dataclass(frozen=True)
class TrackerStoreOptions:
    """The options of an endpoints file's `tracker_store` section, parsed."""

    # Rasa's SQLTrackerStore connection (Rasa passes the section's `url` as `host`)
    dialect: str = "sqlite"
    host: str | None = None
    port: int | None = None
    db: str = "rasa.db"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    login_db: str | None = None
    query: Mapping[str, Any] | None = None
    # Sotong's
    encrypted_slots: frozenset[str] = frozenset(DEFAULT_ENCRYPTED_SLOTS)
    unmasked_slots: frozenset[str] = frozenset(DEFAULT_UNMASKED_SLOTS)
    strict: bool = True
    fail_turn_on_action_error: bool = True
    cache_conversations: int = 500
    # Kept for older endpoints files: log masking is part of bot.rasa_ext.install(), always on.
    mask_logs: bool = True

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> TrackerStoreOptions:
        """Options as Rasa passes them from an endpoints file; SettingsError (a ValueError)
        names an unknown option or a value that cannot be used."""
        known = {option.name for option in fields(cls)}
        for name in options:
            if name not in known:
                raise SettingsError(
                    _PREFIX + name,
                    "…",  # the value unshown: it may be a misspelt password
                    "one of the known options: " + ", ".join(sorted(known)),
                )
        env = {
            _PREFIX + name: "" if value is None else str(value)
            for name, value in options.items()
            if not isinstance(value, (list, tuple, set, frozenset, dict))
        }
        default = cls()

        def text(name: str) -> str | None:
            return env_str(_PREFIX + name, getattr(default, name), env=env)

        def yes_no(name: str) -> bool:
            return env_bool(_PREFIX + name, getattr(default, name), env=env)

        def names(name: str) -> frozenset[str]:
            value = options.get(name)
            if isinstance(value, (list, tuple, set, frozenset)):
                return frozenset(str(item) for item in value)
            return frozenset(env_list(_PREFIX + name, sorted(getattr(default, name)), env=env))

        query = options.get("query")
        if query not in (None, "") and not isinstance(query, Mapping):
            raise SettingsError(_PREFIX + "query", str(query), "a mapping of connection parameters")
        return cls(
            dialect=text("dialect"),
            host=text("host"),
            db=text("db"),
            username=text("username"),
            password=text("password"),
            login_db=text("login_db"),
            query=dict(query) if query else None,
            port=env_int(_PREFIX + "port", None, env=env, minimum=1),
            encrypted_slots=names("encrypted_slots"),
            unmasked_slots=names("unmasked_slots"),
            strict=yes_no("strict"),
            fail_turn_on_action_error=yes_no("fail_turn_on_action_error"),
            cache_conversations=env_int(
                _PREFIX + "cache_conversations", default.cache_conversations, env=env, minimum=0
            ),
            mask_logs=yes_no("mask_logs"),
        )

    def connection(self) -> dict[str, Any]:
        """Rasa's SQLTrackerStore arguments."""
        return {
            "dialect": self.dialect,
            "host": self.host,
            "port": self.port,
            "db": self.db,
            "username": self.username,
            "password": self.password,
            "login_db": self.login_db,
            "query": dict(self.query) if self.query else None,
        }


class MaskingSQLTrackerStore(CachingTrackerStore):
    """The tracker store endpoints files name (see the module docstring)."""

    sql_store_class = MaskingSQLStore  # what it keeps the events in (bot.privacy.retention reads it)

    def __init__(self, domain: Domain | None = None, event_broker: EventBroker | None = None, **options: Any) -> None:
        require_installed(f"{__name__}.{type(self).__name__}")
        self.options = TrackerStoreOptions.parse(options)
        try:
            store = MaskingSQLStore(
                domain=domain,
                event_broker=event_broker,
                encrypted_slots=self.options.encrypted_slots,
                unmasked_slots=self.options.unmasked_slots,
                **self.options.connection(),
            )
        except (AttributeError, ImportError) as error:  # Rasa would quietly use an in-memory store instead
            raise TrackerStoreError(
                f"{type(self).__name__} could not start: {type(error).__name__}: {error}"
            ) from error
        super().__init__(store, max_conversations=self.options.cache_conversations)

    @property
    def strict(self) -> bool:
        """Read by bot.rasa_ext.fail_safe: Rasa's FailSafeTrackerStore passes errors on."""
        return self.options.strict

    @property
    def sql(self) -> MaskingSQLStore:
        """The SQL store (its `engine`, for tests and tools)."""
        return self.wrapped

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        start_turn()  # a turn starts by fetching its tracker
        return await super().retrieve(sender_id)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Refuses a turn in which a custom action failed (see the module docstring)."""
        if self.options.fail_turn_on_action_error:
            refuse_failed_turn(tracker.sender_id)
        await super().save(tracker)
