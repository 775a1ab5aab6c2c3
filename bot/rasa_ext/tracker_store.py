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
* Events sent to an event broker are masked and encrypted the same way.
* No database error ends the process: Rasa 3.6's `session_scope` takes any ValueError (a
  sender id with a lone surrogate raises UnicodeEncodeError) for a missing PostgreSQL schema and
  calls sys.exit(1). Here the schema is checked once when the store is created (a missing one
  stops the start with Rasa's message), and an error in a turn is raised as TrackerStoreError:
  the turn fails, the channel answers politely, the process keeps serving.
* Log records of the Rasa process are masked from the moment the store is created
  (bot.privacy.log_masking), in addition to the handler filters the Kakao channel installs.
* The current session's events of recently active conversations are kept in memory
  (bot.rasa_ext.conversation_cache) and used when the database shows the conversation unchanged: one indexed
  query per read instead of loading every event (`cache_conversations: 500` conversations at most;
  0 turns it off).
* Creating the store applies bot.rasa_ext.speedups (Rasa re-checked a JSON schema on every action
  server answer: most of the server's CPU under load).
* PostgreSQL connections are checked before use (`pool_pre_ping`), so after a database restart
  the first turn does not fail on a dead pooled connection. SQLite connections are pooled too.
* No silent fallback (`strict: true`, the default): Rasa wraps every tracker store in a
  `FailSafeTrackerStore` that, when the database fails, retrieves *nothing* (the turn then runs
  on an empty conversation: an open form is forgotten) and saves into an in-memory store of that
  one process (other processes never see it). With several processes and PostgreSQL that turns a
  database restart into lost and forked conversations. For this store the wrapper passes errors
  on instead (a small patch of Rasa 3.6's FailSafeTrackerStore, applied only to stores that ask
  for it): the turn fails, the citizen gets the channel's "잠시 후 다시 말씀해 주세요", nothing
  is written anywhere else, and the conversation goes on from the database once it is back.
* All-or-nothing turns when the action server fails (`fail_turn_on_action_error: true`, the
  default): Rasa itself logs a failed custom action, drops its events and carries on, so during an
  action-server outage a citizen's answer to a form question is recorded but never validated, the
  dialogue moves on without it and the citizen hears nothing useful. This store notices Rasa's log
  record of the failure (in the same asyncio task as the turn) and refuses to save that turn: the
  turn fails, the citizen gets the channel's "잠시 후 다시 말씀해 주세요" answer, and the stored
  conversation stays exactly as before the message, so resending it after the restart continues
  the form where it was. (A 400 rejection from the action server is a normal form rejection and
  is not a failure.)
"""
from __future__ import annotations

import contextlib
import itertools
import json
import logging
from contextvars import ContextVar
from typing import Any, Dict, Generator, Iterable, List, Optional, Text

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import POSTGRESQL_SCHEMA, SQLTrackerStore, create_engine_kwargs, ensure_schema_exists
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from bot.privacy.encryption import data_cipher
from bot.privacy.log_masking import install_record_masking
from bot.privacy.masking import mask_personal_data
from bot.rasa_ext.speedups import install as install_speedups
from bot.rasa_ext.conversation_cache import ConversationCache, Version

logger = logging.getLogger(__name__)

# Set (in the turn's asyncio task) when Rasa logs that a custom action could not be run.
_action_failure: ContextVar[Optional[str]] = ContextVar("sotong_action_failure", default=None)
_ACTION_FAILURE_MARKERS = ("Failed to execute custom action", "Failed to run custom action",
                           "Encountered an exception while running action")
_WATCHED_LOGGERS = ("rasa.core.processor", "rasa.core.actions.action")


class ActionServerFailure(RasaException):
    """A custom action could not be run in this turn; the turn is not saved."""


class TrackerStoreError(RasaException):
    """The tracker store could not read or write a conversation; the turn fails, nothing ends."""


class _ActionFailureWatch(logging.Filter):
    """Logger filter on Rasa's processor and action modules: remembers a failed custom action."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            try:
                message = record.getMessage()
            except Exception:
                return True
            if any(marker in message for marker in _ACTION_FAILURE_MARKERS):
                _action_failure.set(message[:300])
        return True


def _watch_action_failures() -> None:
    for name in _WATCHED_LOGGERS:
        watched = logging.getLogger(name)
        if not any(isinstance(f, _ActionFailureWatch) for f in watched.filters):
            watched.addFilter(_ActionFailureWatch())

DEFAULT_ENCRYPTED_SLOTS = ("phone", "budget_phone")
DEFAULT_UNMASKED_SLOTS = ("photo_url",)
# Keys of event dictionaries that are identifiers, never citizen text (a message id's hex digits
# could look like a phone number).
_IDENTIFIER_KEYS = frozenset({"event", "timestamp", "message_id", "id", "name", "policy",
                              "input_channel", "sender_id", "model_id", "assistant_id"})
_MASKED_EVENT_TYPES = frozenset({"user", "bot", "slot", "user_featurization", "entities"})


def mask_value(value: Any) -> Any:
    """`value` with every string in it masked (dicts and lists are copied, not changed)."""
    if isinstance(value, str):
        return mask_personal_data(value)
    if isinstance(value, dict):
        return {key: (item if key in _IDENTIFIER_KEYS else mask_value(item)) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_value(item) for item in value]
    return value


def mask_event(data: Dict[str, Any], unmasked_slots: Iterable[str] = DEFAULT_UNMASKED_SLOTS,
               encrypted_slots: Iterable[str] = DEFAULT_ENCRYPTED_SLOTS) -> Dict[str, Any]:
    """An event dictionary (`Event.as_dict()`) as it may be stored: personal data masked, the
    values of `encrypted_slots` encrypted (bot.privacy.encryption)."""
    kind = data.get("event")
    if kind not in _MASKED_EVENT_TYPES:
        return data
    if kind == "slot" and data.get("name") in set(encrypted_slots):
        return _with_slot_value(data, data_cipher().encrypt)
    if kind == "slot" and data.get("name") in set(unmasked_slots):
        return data
    return mask_value(data)


def unmask_event(data: Dict[str, Any], encrypted_slots: Iterable[str] = DEFAULT_ENCRYPTED_SLOTS) -> Dict[str, Any]:
    """A stored event dictionary with the values of `encrypted_slots` decrypted again."""
    if data.get("event") == "slot" and data.get("name") in set(encrypted_slots):
        return _with_slot_value(data, data_cipher().decrypt)
    return data


def _with_slot_value(data: Dict[str, Any], convert: Any) -> Dict[str, Any]:
    value = data.get("value")
    return {**data, "value": convert(value)} if isinstance(value, str) else data


def _install_strict_fail_safe() -> None:
    """Make Rasa's FailSafeTrackerStore pass errors on for wrapped stores with `strict = True`."""
    from rasa.core import tracker_store as rasa_tracker_store

    wrapper = rasa_tracker_store.FailSafeTrackerStore
    if getattr(wrapper, "_sotong_strict_patch", False):
        return
    fallbacks = {name: getattr(wrapper, name) for name in ("save", "retrieve", "retrieve_full_tracker")}

    def strict(name: str):
        fallback = fallbacks[name]

        async def method(self, *args, **kwargs):
            if getattr(self._tracker_store, "strict", False):
                return await getattr(self._tracker_store, name)(*args, **kwargs)
            return await fallback(self, *args, **kwargs)

        method.__name__ = name
        method.__doc__ = fallback.__doc__
        return method

    for name in fallbacks:
        setattr(wrapper, name, strict(name))
    wrapper._sotong_strict_patch = True


class MaskingSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore that masks personal data before it is written."""

    def __init__(
        self,
        domain: Optional[Domain] = None,
        dialect: Text = "sqlite",
        host: Optional[Text] = None,
        port: Optional[int] = None,
        db: Text = "rasa.db",
        username: Text = None,
        password: Text = None,
        event_broker: Optional[EventBroker] = None,
        login_db: Optional[Text] = None,
        query: Optional[Dict] = None,
        unmasked_slots: Optional[List[Text]] = None,
        encrypted_slots: Optional[List[Text]] = None,
        mask_logs: bool = True,
        fail_turn_on_action_error: Any = True,
        strict: Any = True,
        cache_conversations: Any = 500,
        **kwargs: Dict[Text, Any],
    ) -> None:
        install_speedups()  # the production profile's Rasa processes (bot/rasa_ext/speedups.py)
        if mask_logs:
            install_record_masking()
        self.strict = str(strict).lower() not in ("false", "0", "no")
        if self.strict:
            _install_strict_fail_safe()
        self.fail_turn_on_action_error = str(fail_turn_on_action_error).lower() not in ("false", "0", "no")
        if self.fail_turn_on_action_error:
            _watch_action_failures()
        # Values from ${ENV} substitution arrive as strings; an empty one means "not set".
        super().__init__(
            domain=domain, dialect=dialect, host=host or None, port=port or None, db=db,
            username=username or None, password=password or None, event_broker=event_broker,
            login_db=login_db or None, query=query, **kwargs,
        )
        self.unmasked_slots = frozenset(DEFAULT_UNMASKED_SLOTS if unmasked_slots is None else unmasked_slots)
        self.encrypted_slots = frozenset(DEFAULT_ENCRYPTED_SLOTS if encrypted_slots is None else encrypted_slots)
        if self.encrypted_slots:
            data_cipher()  # no key (SOTONG_DATA_KEY): refuse to start rather than fail in a turn
        self.cache = ConversationCache(max_conversations=int(cache_conversations or 0))
        url = self.engine.url
        if self.engine.dialect.name == "postgresql":
            self.engine.dispose()
            self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        elif self.engine.dialect.name == "sqlite" and url.database not in (None, "", ":memory:"):
            # SQLAlchemy 1.4 opens a new SQLite connection for every session of a file database
            # (NullPool): 7 % of the Rasa process under load. Keep connections open (2.0's default).
            self.engine.dispose()
            self.engine = sa.create_engine(
                url, poolclass=sa.pool.QueuePool, connect_args={"check_same_thread": False}
            )
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

        self._check_schema()

    def _check_schema(self) -> None:
        """Rasa checks the PostgreSQL schema (POSTGRESQL_SCHEMA) in every session and exits on any
        ValueError; here it is checked once, at start-up, where stopping is the right answer."""
        session = self.sessionmaker()
        try:
            ensure_schema_exists(session)
        except ValueError as missing:
            raise SystemExit(f"Requested PostgreSQL schema '{missing}' was not found in the database: create "
                             f"it or unset the {POSTGRESQL_SCHEMA} environment variable.") from None
        finally:
            session.close()

    @contextlib.contextmanager
    def session_scope(self) -> Generator[Any, None, None]:
        """Rasa's transactional scope without its sys.exit(1) on any ValueError (see the module
        docstring): an error is raised as TrackerStoreError and only the turn fails."""
        session = self.sessionmaker()
        try:
            yield session
        except ValueError as error:  # e.g. UnicodeEncodeError of a sender id with a lone surrogate
            raise TrackerStoreError(f"tracker store: {type(error).__name__} in a database call") from error
        finally:
            session.close()

    def masked(self, data: Dict[str, Any]) -> Dict[str, Any]:
        return mask_event(data, self.unmasked_slots, self.encrypted_slots)

    def _tracker(self, sender_id: Text, stored: List[str]) -> Optional[DialogueStateTracker]:
        """A tracker from stored event JSON, encrypted slot values decrypted."""
        if not (self.domain and stored):
            return None
        events = [unmask_event(json.loads(text), self.encrypted_slots) for text in stored]
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    def _version(self, session: Any, sender_id: Text) -> Version:
        """``(max(id), count(id))`` of the sender's rows: changes whenever anyone writes or deletes."""
        last_id, count = session.execute(
            sa.select(sa.func.max(self.SQLEvent.id), sa.func.count(self.SQLEvent.id)).where(
                self.SQLEvent.sender_id == sender_id
            )
        ).one()
        return last_id, count

    def _session_events(self, session: Any, sender_id: Text, all_sessions: bool = False) -> List[str]:
        """The stored JSON of the current session's events (Rasa's query, without ORM objects)."""
        query = self._event_query(session, sender_id, fetch_events_from_all_sessions=all_sessions)
        return [data for (data,) in query.with_entities(self.SQLEvent.data)]

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        _action_failure.set(None)  # a turn starts by fetching its tracker
        with self.session_scope() as session:
            events = None
            if self.cache.enabled:
                version = self._version(session, sender_id)
                events = self.cache.events(sender_id, version)
            if events is None:
                events = self._session_events(session, sender_id)
                if self.cache.enabled:
                    self.cache.put(sender_id, version, events)
        return self._tracker(sender_id, events)

    async def _retrieve(self, sender_id: Text, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        with self.session_scope() as session:
            return self._tracker(sender_id, self._session_events(session, sender_id, fetch_events_from_all_sessions))

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's SQLTrackerStore.save with each event masked before it is serialised; refuses a
        turn in which a custom action could not be run (see the module docstring)."""
        failure = _action_failure.get()
        if failure and self.fail_turn_on_action_error:
            _action_failure.set(None)
            raise ActionServerFailure(f"turn of '{tracker.sender_id}' not saved: a custom action failed "
                                      f"({failure.splitlines()[0][:200]})")
        await self.stream_events(tracker)

        sender_id = tracker.sender_id
        with self.session_scope() as session:
            version: Version = (None, 0)
            stored = None
            if self.cache.enabled:
                version = self._version(session, sender_id)
                stored = self.cache.events(sender_id, version)
            if stored is None:  # Rasa's way: count what the database holds of this session
                new_events = list(self._additional_events(session, tracker))
            else:
                new_events = list(itertools.islice(tracker.events, len(stored), None))
            masked = [self.masked(event.as_dict()) for event in new_events]
            texts = [json.dumps(data) for data in masked]
            rows = [self._row(sender_id, *parts) for parts in zip(new_events, masked, texts)]
            last_id = self._insert(session, rows) if rows else version[0]
            session.commit()
        if stored is not None and not any(isinstance(event, SessionStarted) for event in new_events):
            self.cache.put(sender_id, (last_id, version[1] + len(rows)), stored + texts)
        else:  # a new session changes which events are current: read them from the database next time
            self.cache.drop(sender_id)
        logger.debug("Tracker with sender_id '%s' stored to database", tracker.sender_id)

    @staticmethod
    def _row(sender_id: Text, event: Any, data: Dict[str, Any], text: str) -> Dict[str, Any]:
        return {
            "sender_id": sender_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"),
            "data": text,
        }

    def _insert(self, session: Any, rows: List[Dict[str, Any]]) -> Optional[int]:
        """Inserts the rows with one statement per 500 (one round trip, not one per event);
        returns the id of the last one."""
        table = self.SQLEvent.__table__
        dialect = self.engine.dialect.name
        last_id = None
        for start in range(0, len(rows), 500):
            chunk = rows[start:start + 500]
            statement = sa.insert(table).values(chunk)
            if dialect == "postgresql":
                last_id = max(session.execute(statement.returning(table.c.id)).scalars().all())
            elif dialect == "sqlite":
                last_id = session.execute(statement).lastrowid  # the rowid of the statement's last row
            else:
                objects = [self.SQLEvent(**row) for row in chunk]
                session.add_all(objects)
                session.flush()
                last_id = objects[-1].id
        return last_id

    async def _stream_new_events(self, event_broker: EventBroker, new_events: List[Any], sender_id: Text) -> None:
        for event in new_events:
            body = {"sender_id": sender_id}
            body.update(self.masked(event.as_dict()))
            event_broker.publish(body)
