"""Rasa's SQL tracker store with personal data masked in what it writes (PIPA).

:class:`MaskingSQLStore` is Rasa's `SQLTrackerStore` (same `events` table) with:

* every string of user events, bot events and slot values masked on save (:func:`mask_event`),
  the values of ``encrypted_slots`` encrypted instead and decrypted when read back, those of
  ``unmasked_slots`` stored verbatim; the event broker gets the same masked copies;
* database errors of a turn raised as :class:`TrackerStoreError` instead of Rasa's sys.exit(1),
  the PostgreSQL schema checked once at start-up;
* pooled connections: ``pool_pre_ping`` on PostgreSQL, a QueuePool on SQLite files;
* inserts of one statement per 500 events (one prepared statement on SQLite), the saved events published to the event broker
  after the commit, from what the save inserted (Rasa loads the conversation again to find them);
* trackers rebuilt from stored events without Rasa's search of the event classes per event.

It also offers the row-level steps of a read and a save (``version``, ``stored_events``,
``unsaved_events``, ``append``, ``publish``, ``tracker_from_stored``) that
bot.rasa_ext.conversation_cache.CachingTrackerStore combines with its cache. It patches nothing;
endpoints files name bot.rasa_ext.tracker_store.MaskingSQLTrackerStore, which wraps it.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Generator, Iterable
from typing import Any

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import POSTGRESQL_SCHEMA, SQLTrackerStore, create_engine_kwargs, ensure_schema_exists
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from rasa.shared.utils.common import all_subclasses

from bot.privacy.encryption import data_cipher
from bot.privacy.masking import mask_personal_data
from bot.rasa_ext.conversation_cache import Appended, Version

logger = logging.getLogger(__name__)

DEFAULT_ENCRYPTED_SLOTS = ("phone", "budget_phone")
DEFAULT_UNMASKED_SLOTS = ("photo_url",)
INSERT_CHUNK = 500
# Keys of event dictionaries that are identifiers, never citizen text (a message id's hex digits
# could look like a phone number).
_IDENTIFIER_KEYS = frozenset(
    {
        "event",
        "timestamp",
        "message_id",
        "id",
        "name",
        "policy",
        "input_channel",
        "sender_id",
        "model_id",
        "assistant_id",
    }
)
_MASKED_EVENT_TYPES = frozenset({"user", "bot", "slot", "user_featurization", "entities"})
_LAST_INSERT_ROWID = sa.select(sa.func.last_insert_rowid())


class TrackerStoreError(RasaException):
    """The tracker store could not read or write a conversation; the turn fails, nothing ends."""


def mask_value(value: Any) -> Any:
    """`value` with every string in it masked (dicts and lists are copied, not changed)."""
    if isinstance(value, str):
        return mask_personal_data(value)
    if isinstance(value, dict):
        return {key: (item if key in _IDENTIFIER_KEYS else mask_value(item)) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_value(item) for item in value]
    return value


def mask_event(
    data: dict[str, Any],
    unmasked_slots: Iterable[str] = DEFAULT_UNMASKED_SLOTS,
    encrypted_slots: Iterable[str] = DEFAULT_ENCRYPTED_SLOTS,
) -> dict[str, Any]:
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


def unmask_event(data: dict[str, Any], encrypted_slots: Iterable[str] = DEFAULT_ENCRYPTED_SLOTS) -> dict[str, Any]:
    """A stored event dictionary with the values of `encrypted_slots` decrypted again."""
    if data.get("event") == "slot" and data.get("name") in set(encrypted_slots):
        return _with_slot_value(data, data_cipher().decrypt)
    return data


_event_classes: dict[str, type[Event]] = {}


def event_from_dict(data: dict[str, Any]) -> Event | None:
    """Rasa's `Event.from_parameters` without its search of every Event subclass per event
    (`Event.resolve_by_type` walks the class tree and calls `inspect.isabstract` on each class:
    two thirds of rebuilding a tracker from its stored events). The classes are looked up by
    type name, in Rasa's order, once; a name not found yet (a class imported later, an unknown
    or old event type) goes to Rasa's own lookup, with its fallbacks and errors."""
    name = data.get("event")
    if name is None:
        return None
    event_class = _event_classes.get(name)
    if event_class is None:
        _event_classes.clear()
        for subclass in all_subclasses(Event):
            _event_classes.setdefault(subclass.type_name, subclass)
        if name not in _event_classes:
            return Event.from_parameters(data)
        event_class = _event_classes[name]
    return event_class._from_parameters(data)


def _with_slot_value(data: dict[str, Any], convert: Any) -> dict[str, Any]:
    value = data.get("value")
    return {**data, "value": convert(value)} if isinstance(value, str) else data


class MaskingSQLStore(SQLTrackerStore):
    """SQLTrackerStore that masks personal data before it is written (see the module docstring).

    `sql` are SQLTrackerStore's connection arguments (dialect, host, port, db, username, password,
    login_db, query)."""

    def __init__(
        self,
        domain: Domain | None = None,
        event_broker: EventBroker | None = None,
        encrypted_slots: Iterable[str] = DEFAULT_ENCRYPTED_SLOTS,
        unmasked_slots: Iterable[str] = DEFAULT_UNMASKED_SLOTS,
        **sql: Any,
    ) -> None:
        self.encrypted_slots = frozenset(encrypted_slots)
        self._version_query: Any = None
        self.unmasked_slots = frozenset(unmasked_slots)
        if self.encrypted_slots:
            data_cipher()  # no key (SOTONG_DATA_KEY): refuse to start rather than fail in a turn
        super().__init__(domain=domain, event_broker=event_broker, **sql)
        self._use_pooled_engine()
        self._check_schema()

    def _use_pooled_engine(self) -> None:
        """Replaces Rasa's engine (created before the tables) by one that pools its connections."""
        url = self.engine.url
        if self.engine.dialect.name == "postgresql":
            # After a database restart, the first turn must not fail on a dead pooled connection.
            engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
        elif self.engine.dialect.name == "sqlite" and url.database not in (None, "", ":memory:"):
            # SQLAlchemy 1.4 opens a new SQLite connection for every session of a file database
            # (NullPool): 7 % of the Rasa process under load. Keep connections open (2.0's default).
            engine = sa.create_engine(url, poolclass=sa.pool.QueuePool, connect_args={"check_same_thread": False})
        else:
            return
        self.engine.dispose()
        self.engine = engine
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    def _check_schema(self) -> None:
        """Rasa checks the PostgreSQL schema (POSTGRESQL_SCHEMA) in every session and exits on any
        ValueError; here it is checked once, at start-up, where stopping is the right answer."""
        session = self.sessionmaker()
        try:
            ensure_schema_exists(session)
        except ValueError as missing:
            raise SystemExit(
                f"Requested PostgreSQL schema '{missing}' was not found in the database: create "
                f"it or unset the {POSTGRESQL_SCHEMA} environment variable."
            ) from None
        finally:
            session.close()

    @contextlib.contextmanager
    def session_scope(self) -> Generator[Any, None, None]:
        """Rasa's transactional scope without its sys.exit(1) on any ValueError (e.g. the
        UnicodeEncodeError of a sender id with a lone surrogate, which Rasa takes for a missing
        schema): an error is raised as TrackerStoreError and only the turn fails."""
        session = self.sessionmaker()
        try:
            yield session
        except ValueError as error:
            raise TrackerStoreError(f"tracker store: {type(error).__name__} in a database call") from error
        finally:
            session.close()

    def masked(self, data: dict[str, Any]) -> dict[str, Any]:
        return mask_event(data, self.unmasked_slots, self.encrypted_slots)

    # --- the steps of a read and a save (CachingTrackerStore combines them with its cache)

    def version(self, session: Any, sender_id: str) -> Version:
        """``(max(id), count(id))`` of the sender's rows: changes whenever anyone writes or deletes.

        Two per turn: the statement is built once, on the table's columns (not the ORM's), which
        halves what SQLAlchemy spends around the query."""
        if self._version_query is None:
            table = self.SQLEvent.__table__
            self._version_query = sa.select(sa.func.max(table.c.id), sa.func.count(table.c.id)).where(
                table.c.sender_id == sa.bindparam("sender_id")
            )
        last_id, count = session.execute(self._version_query, {"sender_id": sender_id}).one()
        return last_id, count

    def stored_events(self, session: Any, sender_id: str, all_sessions: bool = False) -> list[str]:
        """The stored JSON of the current session's events (of all sessions if `all_sessions`),
        selected by Rasa's own query, without ORM objects."""
        query = self._event_query(session, sender_id, fetch_events_from_all_sessions=all_sessions)
        return [data for (data,) in query.with_entities(self.SQLEvent.data)]

    def unsaved_events(self, session: Any, tracker: DialogueStateTracker) -> list[Event]:
        """The tracker's events beyond those stored for its current session (Rasa's count)."""
        return list(self._additional_events(session, tracker))

    def tracker_from_stored(self, sender_id: str, stored: list[str]) -> DialogueStateTracker | None:
        """A tracker from stored event JSON, encrypted slot values decrypted (Rasa's
        `DialogueStateTracker.from_dict`, with the event classes looked up once: see
        :func:`event_from_dict`)."""
        if not (self.domain and stored):
            return None
        events = [event_from_dict(unmask_event(json.loads(text), self.encrypted_slots)) for text in stored]
        return DialogueStateTracker.from_events(
            sender_id, [event for event in events if event is not None], self.domain.slots
        )

    def append(self, session: Any, sender_id: str, events: list[Event]) -> Appended:
        """Inserts `events` masked (not committed); returns the last new row's id (None if
        nothing was inserted), the JSON stored for each event and its masked dictionary."""
        masked = [self.masked(event.as_dict()) for event in events]
        texts = [json.dumps(data) for data in masked]
        rows = [self._row(sender_id, *parts) for parts in zip(events, masked, texts)]
        return Appended((self._insert(session, rows) if rows else None), texts, masked)

    def publish(self, sender_id: str, appended: Appended) -> None:
        """Sends the saved events, masked as stored, to the event broker (if there is one).

        Called after the commit, with the events the save found new: Rasa's `stream_events`
        loads the conversation again before saving to find them (a second rebuild of the
        tracker per turn) and publishes even if the save then fails. The turn is saved by then,
        so a broker that raises is logged and does not fail it (its copy of the turn is lost)."""
        if self.event_broker is None:
            return
        try:
            for data in appended.masked:
                self.event_broker.publish({"sender_id": sender_id, **data})
        except Exception:
            logger.exception("event broker: could not publish the saved events of a turn")

    # --- Rasa's TrackerStore interface

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> DialogueStateTracker | None:
        with self.session_scope() as session:
            stored = self.stored_events(session, sender_id, fetch_events_from_all_sessions)
        return self.tracker_from_stored(sender_id, stored)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's SQLTrackerStore.save with each event masked before it is serialised, and
        published to the event broker once committed (:meth:`publish`)."""
        with self.session_scope() as session:
            appended = self.append(session, tracker.sender_id, self.unsaved_events(session, tracker))
            session.commit()
        self.publish(tracker.sender_id, appended)
        logger.debug("Tracker with sender_id '%s' stored to database", tracker.sender_id)

    async def _stream_new_events(self, event_broker: EventBroker, new_events: list[Event], sender_id: str) -> None:
        """Rasa's `stream_events` step (not used by this store's saves), masked as stored."""
        for event in new_events:
            body = {"sender_id": sender_id}
            body.update(self.masked(event.as_dict()))
            event_broker.publish(body)

    # --- rows

    @staticmethod
    def _row(sender_id: str, event: Event, data: dict[str, Any], text: str) -> dict[str, Any]:
        return {
            "sender_id": sender_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"),
            "data": text,
        }

    def _insert(self, session: Any, rows: list[dict[str, Any]]) -> int | None:
        """Inserts the rows with one statement per INSERT_CHUNK (one round trip, not one per
        event); returns the id of the last one.

        On SQLite (no round trips) one prepared statement is run for every row (`executemany`):
        SQLAlchemy compiles a multi-row VALUES statement anew each time (2-3 ms per save), the
        plain INSERT once. The session holds the connection and its write lock, so SQLite's
        ``last_insert_rowid()`` is the id of the last row."""
        table = self.SQLEvent.__table__
        dialect = self.engine.dialect.name
        if dialect == "sqlite":
            session.execute(sa.insert(table), rows)
            return int(session.execute(_LAST_INSERT_ROWID).scalar_one())
        last_id = None
        for start in range(0, len(rows), INSERT_CHUNK):
            chunk = rows[start : start + INSERT_CHUNK]
            statement = sa.insert(table).values(chunk)
            if dialect == "postgresql":
                last_id = max(session.execute(statement.returning(table.c.id)).scalars().all())
            else:
                objects = [self.SQLEvent(**row) for row in chunk]
                session.add_all(objects)
                session.flush()
                last_id = objects[-1].id
        return last_id
