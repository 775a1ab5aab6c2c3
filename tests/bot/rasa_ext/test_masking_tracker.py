"""PIPA: phone numbers and 주민등록번호 masked in what the tracker store writes (SQLite and
PostgreSQL) while the turn works on the original, and in the action server's log; failed turns
(database, action server) not saved.

The store runs on Rasa patched by bot.rasa_ext.install(), as in `python -m bot.server run`; the
module fixture applies the patches (and gives the log-record factory back afterwards)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import subprocess
import threading
import time
import uuid
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from rasa.core.brokers.broker import EventBroker
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import text
from sqlalchemy.engine import create_engine

import bot.rasa_ext
from bot.privacy.encryption import data_cipher
from bot.privacy.log_masking import install_record_masking, mask_record
from bot.rasa_ext.action_server import SECRET_HEADER
from bot.rasa_ext.tracker_store import MaskingSQLTrackerStore, mask_event
from tests.databases import BACKENDS, database_url_for
from tests.stack import ROOT, VENV_BIN, base_env, free_port

PHONE, MASKED_PHONE = "010-1234-5678", "010-****-5678"
OTHER_PHONE, MASKED_OTHER_PHONE = "01098765432", "010****5432"
RRN, MASKED_RRN = "900101-1234567", "900101-1******"
ACTION_SECRET = "masking-test-action-secret-0123"
UTTERANCE = f"제 번호는 {OTHER_PHONE}이고 주민번호는 {RRN}이에요"


@pytest.fixture(scope="module", autouse=True)
def patched_rasa():
    previous = logging.getLogRecordFactory()
    bot.rasa_ext.install()
    yield
    logging.setLogRecordFactory(previous)  # other test modules see unmasked records, as before


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


def open_store(url: str, domain: Domain, **options) -> MaskingSQLTrackerStore:
    """A tracker store on a database URL from tests/databases.py (another Rasa process: call again)."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        path.parent.mkdir(parents=True, exist_ok=True)
        return MaskingSQLTrackerStore(domain=domain, dialect="sqlite", db=str(path), **options)
    return MaskingSQLTrackerStore(domain=domain, dialect="postgresql", host=url, **options)


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    with database_url_for(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def store(database_url, domain):
    tracker_store = open_store(database_url, domain)
    try:
        yield tracker_store
    finally:
        tracker_store.sql.engine.dispose()


def conversation(domain: Domain, sender: str) -> DialogueStateTracker:
    kakao_metadata = {"kakao": {"userRequest": {"utterance": UTTERANCE, "user": {"id": "user-key"}}}}
    events = [
        ActionExecuted("action_listen"),
        UserUttered(
            UTTERANCE,
            intent={"name": "report_complaint", "confidence": 0.9},
            entities=[{"entity": "location", "value": f"연락처 {PHONE}", "start": 0, "end": 5}],
            parse_data={"text": UTTERANCE, "intent": {"name": "report_complaint", "confidence": 0.9}, "entities": []},
            metadata=kakao_metadata,
            message_id="f01012345678a0000000000000000000",
        ),
        SlotSet("description", f"가로등 고장, 연락은 {PHONE}"),
        SlotSet("phone", PHONE),  # needed verbatim to file the ticket in a later turn: stored encrypted
        BotUttered(f"연락처 {MASKED_PHONE} 맞나요? 참고로 {PHONE}"),
        ActionExecuted("action_listen"),
    ]
    return DialogueStateTracker.from_events(sender, events, domain.slots)


def stored_rows(store: MaskingSQLTrackerStore, sender: str) -> list[dict]:
    with store.sql.engine.connect() as connection:
        rows = connection.execute(text("SELECT data FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender})
        return [json.loads(row[0]) for row in rows]


def test_saved_events_are_masked_and_the_turn_keeps_the_original(store, domain):
    tracker = conversation(domain, "citizen-1")
    asyncio.run(store.save(tracker))

    assert tracker.latest_message.text == UTTERANCE  # the running turn is untouched
    raw = json.dumps(stored_rows(store, "citizen-1"), ensure_ascii=False)
    assert OTHER_PHONE not in raw and RRN not in raw
    assert MASKED_OTHER_PHONE in raw and MASKED_RRN in raw
    user_event = next(row for row in stored_rows(store, "citizen-1") if row["event"] == "user")
    assert user_event["text"] == f"제 번호는 {MASKED_OTHER_PHONE}이고 주민번호는 {MASKED_RRN}이에요"
    assert user_event["parse_data"]["text"] == user_event["text"]
    assert MASKED_RRN in user_event["metadata"]["kakao"]["userRequest"]["utterance"]
    assert user_event["message_id"] == "f01012345678a0000000000000000000"  # identifiers are not text
    slots = {row["name"]: row["value"] for row in stored_rows(store, "citizen-1") if row["event"] == "slot"}
    assert slots["description"] == f"가로등 고장, 연락은 {MASKED_PHONE}"
    assert slots["phone"].startswith("enc1:") and data_cipher().decrypt(slots["phone"]) == PHONE
    assert PHONE not in raw
    bot_event = next(row for row in stored_rows(store, "citizen-1") if row["event"] == "bot")
    assert PHONE not in bot_event["text"]


def test_retrieved_tracker_and_later_saves(store, domain):
    tracker = conversation(domain, "citizen-2")
    asyncio.run(store.save(tracker))
    restored = asyncio.run(store.retrieve("citizen-2"))
    assert restored.latest_message.text.startswith(f"제 번호는 {MASKED_OTHER_PHONE}")
    assert restored.get_slot("phone") == PHONE
    assert len(restored.events) == len(tracker.events)

    restored.update(UserUttered(f"다른 번호 {PHONE}", intent={"name": "inform", "confidence": 1.0}))
    asyncio.run(store.save(restored))
    rows = stored_rows(store, "citizen-2")
    assert len(rows) == len(tracker.events) + 1  # only the new event was appended
    assert rows[-1]["text"] == f"다른 번호 {MASKED_PHONE}"


def test_unmasked_slots_are_configurable(tmp_path, domain):
    store = MaskingSQLTrackerStore(
        domain=domain, dialect="sqlite", db=str(tmp_path / "t.db"), unmasked_slots=[], encrypted_slots=[]
    )
    asyncio.run(store.save(conversation(domain, "citizen-3")))
    slots = {row["name"]: row["value"] for row in stored_rows(store, "citizen-3") if row["event"] == "slot"}
    assert slots["phone"] == MASKED_PHONE


def test_mask_event_leaves_other_events_alone():
    action = {"event": "action", "name": "action_010_1234_5678", "timestamp": 1.0}
    assert mask_event(action) is action
    assert mask_event({"event": "user", "text": PHONE})["text"] == MASKED_PHONE


def test_log_records_are_masked_before_any_handler():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("tests.masking.records")
    logger.addHandler(handler)
    logger.propagate = False
    previous = logging.getLogRecordFactory()
    try:
        logging.setLogRecordFactory(logging.LogRecord)  # as before bot.rasa_ext.install()
        assert install_record_masking() is True
        assert install_record_masking() is False  # idempotent
        logger.warning("citizen said %s", UTTERANCE)
        try:
            raise ValueError(f"bad number {PHONE}")
        except ValueError:
            logger.exception("failed")
    finally:
        logging.setLogRecordFactory(previous)
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert OTHER_PHONE not in output and RRN not in output and PHONE not in output
    assert MASKED_RRN in output and MASKED_PHONE in output


def test_mask_record_keeps_unrelated_records():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "ticket %s", ("GY-2026-000123",), None)
    assert mask_record(record).getMessage() == "ticket GY-2026-000123"


def test_action_server_log_is_masked(tmp_path):
    """`python -m bot.rasa_ext.action_server` (what the run scripts start): an action name with a phone
    number ends up in rasa_sdk's own error log line; the line is masked."""
    port = free_port()
    log = tmp_path / "actions.log"
    env = base_env(SOTONG_DATABASE_URL=f"sqlite:///{tmp_path / 'sotong.db'}", SOTONG_ACTION_SECRET=ACTION_SECRET)
    process = subprocess.Popen(
        [str(VENV_BIN / "python"), "-m", "bot.rasa_ext.action_server", "--actions", "actions", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "action server did not start"
            time.sleep(0.5)
        tracker = {
            "sender_id": "citizen-4",
            "slots": {},
            "latest_message": {"text": UTTERANCE},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": None,
        }
        response = requests.post(
            f"http://127.0.0.1:{port}/webhook",
            timeout=30,
            json={
                "next_action": f"action_{PHONE}",
                "sender_id": "citizen-4",
                "tracker": tracker,
                "domain": {},
                "version": "3.6.21",
            },
            headers={SECRET_HEADER: ACTION_SECRET},
        )
        assert response.status_code == 404
        time.sleep(0.5)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    output = log.read_text(errors="replace")
    assert f"action_{MASKED_PHONE}" in output
    assert PHONE not in output


def test_action_server_has_no_cors_middleware(monkeypatch):
    """Only Rasa calls the action server: rasa_sdk's CORS middleware (run on every action call) is
    left out, and asking for CORS origins is refused rather than ignored."""
    import rasa_sdk.endpoint
    from sanic import Sanic

    monkeypatch.setattr(Sanic, "test_mode", True)  # several apps named "rasa_sdk" in one process

    from bot.rasa_ext.action_server import configure_rasa_sdk

    original = rasa_sdk.endpoint.configure_cors
    try:
        configure_rasa_sdk(None)
        app = rasa_sdk.endpoint.create_app("actions.basics", cors_origins=None)
        assert not hasattr(app.ctx, "sanic_cors")  # Sanic-CORS's state: set when it is installed
        with pytest.raises(SystemExit, match="--cors"):
            rasa_sdk.endpoint.create_app("actions.basics", cors_origins=["https://x.example"])
    finally:
        rasa_sdk.endpoint.configure_cors = original


# ------------------------------------------------------------------------------ failures fail the turn


def test_database_errors_are_not_hidden_by_rasas_in_memory_fallback(tmp_path, domain):
    """Rasa wraps every store in FailSafeTrackerStore, which would answer "no conversation" and
    save into process memory when the database fails; a strict store's errors go through."""
    from rasa.core.tracker_store import FailSafeTrackerStore
    from sqlalchemy.exc import OperationalError

    def broken(strict: bool) -> FailSafeTrackerStore:
        store = MaskingSQLTrackerStore(
            domain=domain, dialect="sqlite", db=str(tmp_path / f"{strict}.db"), strict=strict
        )
        store.sql.engine = create_engine(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}")
        store.sql.sessionmaker.configure(bind=store.sql.engine)
        return FailSafeTrackerStore(store)

    with pytest.raises(OperationalError):
        asyncio.run(broken(True).retrieve("citizen-5"))
    with pytest.raises(OperationalError):
        asyncio.run(broken(True).save(conversation(domain, "citizen-5")))
    lenient = broken(False)
    assert asyncio.run(lenient.retrieve("citizen-5")) is None  # Rasa's behaviour for other stores
    asyncio.run(lenient.save(conversation(domain, "citizen-5")))


class ActionServer:
    """A real HTTP action server on a free port answering Rasa's calls as `mode` says: "ok" (one
    slot), "error" (500), "invalid" (200 with an answer Rasa's schema refuses), "reject" (400 with
    a form rejection) or "down" (nothing listening)."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.calls = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.calls += 1
                status, body = {
                    "ok": (
                        200,
                        {"events": [{"event": "slot", "name": "description", "value": "가로등"}], "responses": []},
                    ),
                    "error": (500, {"error": "boom"}),
                    "invalid": (200, {"events": "not a list"}),
                    "reject": (400, {"action_name": "action_check_complaint_status", "error": "not this one"}),
                }[server.mode]
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/webhook"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.http.socket.fileno() != -1:
            self.http.shutdown()
            self.http.server_close()


@pytest.fixture
def action_server():
    server = ActionServer()
    yield server
    server.stop()


def test_a_turn_whose_action_server_call_fails_is_not_saved(store, domain, action_server):
    """Each turn runs a real custom action call through Rasa's own MessageProcessor._run_action
    (which catches the failure and carries on) and is saved through Rasa's FailSafeTrackerStore:
    a 500, an invalid answer or an unreachable server fails the whole turn and nothing of it is
    stored; a 400 rejection is a normal turn."""
    from rasa.core.actions.action import RemoteAction
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.core.policies.policy import PolicyPrediction
    from rasa.core.processor import MessageProcessor
    from rasa.core.tracker_store import FailSafeTrackerStore
    from rasa.shared.core.events import ActionExecutionRejected
    from rasa.utils.endpoints import EndpointConfig

    from bot.rasa_ext.speedups import close_shared_sessions
    from bot.rasa_ext.tracker_store import ActionServerFailure

    processor = MessageProcessor.__new__(MessageProcessor)  # the parts _run_action uses, no model
    processor.domain = domain
    wrapped = FailSafeTrackerStore(store)  # as Rasa's agent wraps every tracker store
    action = RemoteAction("action_check_complaint_status", EndpointConfig(url=action_server.url))
    sender = f"citizen-6-{uuid.uuid4().hex[:6]}"

    async def turn(mode: str) -> DialogueStateTracker:
        action_server.mode = mode
        try:
            tracker = await wrapped.retrieve(sender) or conversation(domain, sender)
            tracker.update(UserUttered("가로등이 꺼졌어요", intent={"name": "inform", "confidence": 1.0}))
            prediction = PolicyPrediction.for_action_name(domain, action.name())
            await processor._run_action(
                action,
                tracker,
                CollectingOutputChannel(),
                TemplatedNaturalLanguageGenerator(domain.responses),
                prediction,
            )
            await wrapped.save(tracker)
            return tracker
        finally:
            await close_shared_sessions()

    asyncio.run(turn("ok"))
    saved = len(stored_rows(store, sender))
    for mode in ("error", "invalid"):
        calls = action_server.calls
        with pytest.raises(ActionServerFailure, match="action_check_complaint_status"):
            asyncio.run(turn(mode))
        assert action_server.calls == calls + 1  # the action server was really called
        assert len(stored_rows(store, sender)) == saved  # nothing of the failed turn

    rejected = asyncio.run(turn("reject"))  # a form rejection: the turn is saved
    assert any(isinstance(event, ActionExecutionRejected) for event in rejected.events)
    assert len(stored_rows(store, sender)) == saved + 2  # the message and the rejection
    saved += 2

    action_server.stop()  # down: connection refused
    with pytest.raises(ActionServerFailure, match="action_check_complaint_status"):
        asyncio.run(turn("ok"))
    assert len(stored_rows(store, sender)) == saved
    assert len(asyncio.run(wrapped.retrieve(sender)).events) == saved


def test_a_failed_turn_is_saved_when_the_store_is_told_so(tmp_path, domain):
    """`fail_turn_on_action_error: false` keeps Rasa's behaviour: the turn is saved without the
    failed action's events."""
    from bot.rasa_ext import failed_turns

    store = MaskingSQLTrackerStore(
        domain=domain, dialect="sqlite", db=str(tmp_path / "t.db"), fail_turn_on_action_error="false"
    )

    async def turn() -> None:
        tracker = await store.retrieve("citizen-6b") or conversation(domain, "citizen-6b")
        failed_turns.mark_failed("custom action 'x': RasaException: down")
        await store.save(tracker)

    try:
        asyncio.run(turn())
        assert stored_rows(store, "citizen-6b")
    finally:
        store.sql.engine.dispose()


def test_a_database_error_fails_the_turn_and_never_ends_the_process(store, domain, tmp_path):
    """A sender id with a lone surrogate cannot be encoded for the database (UnicodeEncodeError, a
    ValueError). Rasa's own store takes that for a missing PostgreSQL schema and calls
    sys.exit(1); ours raises TrackerStoreError, through Rasa's FailSafeTrackerStore as well, and the
    next turn works."""
    from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore

    from bot.rasa_ext.tracker_store import TrackerStoreError

    bad = "x\ud800"
    rasas = SQLTrackerStore(domain=domain, dialect="sqlite", db=str(tmp_path / "rasa.db"))
    with pytest.raises(SystemExit):  # what ended `make run` before
        asyncio.run(rasas.retrieve(bad))

    wrapped = FailSafeTrackerStore(store)
    with pytest.raises(TrackerStoreError):
        asyncio.run(wrapped.retrieve(bad))
    with pytest.raises(TrackerStoreError):
        asyncio.run(wrapped.save(conversation(domain, bad)))
    with pytest.raises(TrackerStoreError):
        asyncio.run(wrapped.retrieve_full_tracker(bad))
    asyncio.run(wrapped.save(conversation(domain, "citizen-after")))  # the store still serves
    assert asyncio.run(wrapped.retrieve("citizen-after")).get_slot("phone") == PHONE


def test_callback_numbers_are_encrypted_in_the_database_and_the_broker_copy(tmp_path, domain):
    """The raw phone number is nowhere in the SQLite files (events table, event broker's table),
    while every way of reading the conversation gives the turn the real number."""
    from rasa.core.brokers.sql import SQLEventBroker

    broker = SQLEventBroker(db=str(tmp_path / "broker.db"))
    store = MaskingSQLTrackerStore(
        domain=domain, dialect="sqlite", db=str(tmp_path / "tracker.db"), event_broker=broker
    )
    try:
        tracker = conversation(domain, "citizen-7")
        tracker.update(SlotSet("budget_phone", OTHER_PHONE))
        asyncio.run(store.save(tracker))
        assert tracker.get_slot("phone") == PHONE  # the running turn keeps the real value
        for retrieve in (store.retrieve, store.retrieve_full_tracker):
            restored = asyncio.run(retrieve("citizen-7"))
            assert (restored.get_slot("phone"), restored.get_slot("budget_phone")) == (PHONE, OTHER_PHONE)
        cold = open_store(f"sqlite:///{tmp_path / 'tracker.db'}", domain, cache_conversations=0)
        assert asyncio.run(cold.retrieve("citizen-7")).get_slot("phone") == PHONE  # another process
        cold.sql.engine.dispose()
    finally:
        store.sql.engine.dispose()
        broker.engine.dispose()
    for database in ("tracker.db", "broker.db"):
        content = (tmp_path / database).read_bytes()
        assert b"enc1:" in content, database
        for number in (PHONE, OTHER_PHONE):
            assert number.encode() not in content, (database, number)


# ------------------------------------------------------------------ conversation cache


def texts_of(tracker: DialogueStateTracker) -> list[str]:
    return [event.text for event in tracker.events if isinstance(event, UserUttered)]


def next_turn(store: MaskingSQLTrackerStore, sender: str, utterance: str) -> DialogueStateTracker:
    """One turn as Rasa runs it: retrieve, add the turn's events, save."""
    tracker = asyncio.run(store.retrieve(sender))
    tracker.update(UserUttered(utterance, intent={"name": "inform", "confidence": 1.0}))
    tracker.update(BotUttered(f"{utterance}에 대한 답"))
    tracker.update(ActionExecuted("action_listen"))
    asyncio.run(store.save(tracker))
    return tracker


def test_cached_turns_equal_uncached_ones_and_other_writers_are_seen(database_url, domain):
    """Two Rasa processes on one database, one with the conversation cache and one without: the
    cache serves repeated turns, and whatever the other process (or the retention job) writes or
    deletes is what the next turn sees."""
    cached = open_store(database_url, domain)
    other = open_store(database_url, domain, cache_conversations=0)
    try:
        sender = f"cache-{uuid.uuid4().hex[:8]}"
        asyncio.run(cached.save(conversation(domain, sender)))
        for utterance in ("첫 번째", "두 번째", "세 번째"):
            next_turn(cached, sender, utterance)
        assert cached.cache.hits >= 4  # the later retrieves and saves did not reload the conversation
        mine = asyncio.run(cached.retrieve(sender))
        theirs = asyncio.run(other.retrieve(sender))
        assert [e.as_dict() for e in mine.events] == [e.as_dict() for e in theirs.events]
        assert len(stored_rows(cached, sender)) == len(mine.events)  # nothing written twice

        next_turn(other, sender, "다른 인스턴스에서")  # the load balancer sent this turn elsewhere
        assert texts_of(asyncio.run(cached.retrieve(sender)))[-1] == "다른 인스턴스에서"
        next_turn(cached, sender, "다시 여기서")
        assert texts_of(asyncio.run(other.retrieve(sender)))[-2:] == ["다른 인스턴스에서", "다시 여기서"]
        assert len(stored_rows(cached, sender)) == len(asyncio.run(other.retrieve(sender)).events)

        with cached.sql.engine.begin() as connection:  # an older row deleted, the newest kept
            connection.execute(
                text("DELETE FROM events WHERE id = (SELECT min(id) FROM events WHERE sender_id = :s)"), {"s": sender}
            )
        assert len(asyncio.run(cached.retrieve(sender)).events) == len(stored_rows(cached, sender))
    finally:
        cached.sql.engine.dispose()
        other.sql.engine.dispose()


def test_conversation_cache_is_bounded():
    from bot.rasa_ext.conversation_cache import ConversationCache

    cache = ConversationCache(max_conversations=2, idle_seconds=0.2)
    for sender in ("a", "b", "c"):
        cache.put(sender, (1, 1), ["{}"])
    assert len(cache) == 2 and cache.events("a", (1, 1)) is None  # least recently used went first
    assert cache.events("c", (1, 1)) == ["{}"] and cache.events("c", (2, 2)) is None
    time.sleep(0.25)
    cache.put("d", (1, 1), [])
    assert len(cache) == 1  # idle entries went too
    assert ConversationCache(max_conversations=0).enabled is False


# ------------------------------------------------------------------ event broker, rebuilt trackers


class RecordingBroker(EventBroker):
    def __init__(self) -> None:
        self.bodies: list[dict] = []

    def publish(self, event: dict) -> None:
        self.bodies.append(event)


@pytest.mark.parametrize("cache_conversations", [500, 0])
def test_the_broker_gets_each_saved_event_once_masked_and_in_order(database_url, domain, cache_conversations):
    """The store publishes what a save stored (no second read of the conversation, as Rasa's
    `stream_events` does): every new event once, masked and encrypted as in the database, in
    order; nothing for a save that fails or is refused; another process's turns are its own."""
    from bot.rasa_ext.failed_turns import mark_failed
    from bot.rasa_ext.tracker_store import ActionServerFailure, TrackerStoreError

    broker = RecordingBroker()
    store = open_store(database_url, domain, cache_conversations=cache_conversations, event_broker=broker)
    other = open_store(database_url, domain, cache_conversations=0)
    sender = f"broker-{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(store.save(conversation(domain, sender)))
        next_turn(store, sender, f"첫 번째 {PHONE}")
        next_turn(other, sender, "다른 인스턴스에서")
        next_turn(store, sender, "두 번째")

        async def refused_turn() -> None:  # in its own context, as Rasa's turns
            tracker = await store.retrieve(sender)
            tracker.update(UserUttered("저장되면 안 되는 말", intent={"name": "inform", "confidence": 1.0}))
            mark_failed("custom action 'x': test")
            await store.save(tracker)

        with pytest.raises(ActionServerFailure):
            asyncio.run(refused_turn())
        with pytest.raises(TrackerStoreError):
            asyncio.run(store.save(conversation(domain, "x\ud800")))

        rows = stored_rows(store, sender)
        others = {json.dumps(row) for row in stored_rows(other, sender)[9:12]}  # the other process's turn
        assert [{key: value for key, value in body.items() if key != "sender_id"} for body in broker.bodies] == [
            row for row in rows if json.dumps(row) not in others
        ]
        assert len(broker.bodies) == len(rows) - 3 == 12
        assert {body["sender_id"] for body in broker.bodies} == {sender}
        published = json.dumps(broker.bodies, ensure_ascii=False)
        assert PHONE not in published and OTHER_PHONE not in published and "enc1:" in published
        assert "저장되면 안 되는 말" not in published
    finally:
        store.sql.engine.dispose()
        other.sql.engine.dispose()


def test_trackers_rebuilt_from_stored_events_equal_rasas(store, domain):
    """tracker_from_stored looks the event classes up once (event_from_dict) instead of Rasa's
    search per event: the same events and the same state as Rasa's `from_dict`, for every kind
    of event a conversation stores, and Rasa's answer for unknown kinds."""
    from rasa.shared.core.events import (
        ActionExecutionRejected,
        ActiveLoop,
        AllSlotsReset,
        EntitiesAdded,
        Event,
        FollowupAction,
        LoopInterrupted,
        ReminderScheduled,
        SessionStarted,
        UserUtteranceReverted,
    )

    from bot.rasa_ext.sql_store import event_from_dict, unmask_event

    tracker = conversation(domain, "citizen-rebuilt")
    for event in (
        ActiveLoop("complaint_form"),
        ActionExecutionRejected("complaint_form"),
        LoopInterrupted(True),
        EntitiesAdded([{"entity": "location", "value": "화정동", "start": 0, "end": 3}]),
        FollowupAction("action_listen"),
        ReminderScheduled("EXTERNAL_reminder", datetime.now()),
        UserUtteranceReverted(),
        AllSlotsReset(),
        ActiveLoop(None),
        ActionExecuted("action_session_start"),
        SessionStarted(),
        SlotSet("phone", PHONE),
        ActionExecuted("action_listen"),
    ):
        tracker.update(event)
    asyncio.run(store.save(tracker))
    with store.sql.session_scope() as session:
        stored = store.sql.stored_events(session, "citizen-rebuilt", all_sessions=True)
    mine = store.sql.tracker_from_stored("citizen-rebuilt", stored)
    rasas = DialogueStateTracker.from_dict(
        "citizen-rebuilt", [unmask_event(json.loads(text)) for text in stored], domain.slots
    )
    assert [event.as_dict() for event in mine.events] == [event.as_dict() for event in rasas.events]
    assert [type(event) for event in mine.events] == [type(event) for event in rasas.events]
    assert mine.current_state() == rasas.current_state() and mine.get_slot("phone") == PHONE
    assert event_from_dict({"text": "no event key"}) is None
    assert event_from_dict({"event": "topic"}) is None  # Rasa's old TopicSet events
    with pytest.raises(ValueError, match="Unknown event name"):
        event_from_dict({"event": "no_such_event"})
    greeting = UserUttered("안녕하세요", intent={"name": "greet", "confidence": 1.0}).as_dict()
    assert event_from_dict(greeting) == Event.from_parameters(greeting) == UserUttered.from_parameters(greeting)


def test_a_broker_that_fails_after_the_save_does_not_fail_the_turn(tmp_path, domain, caplog):
    class BrokenBroker(RecordingBroker):
        def publish(self, event: dict) -> None:
            raise ConnectionError("broker down")

    store = open_store(f"sqlite:///{tmp_path / 't.db'}", domain, event_broker=BrokenBroker())
    try:
        asyncio.run(store.save(conversation(domain, "citizen-broker")))
        next_turn(store, "citizen-broker", "브로커가 없어도")
        assert texts_of(asyncio.run(store.retrieve("citizen-broker")))[-1] == "브로커가 없어도"
        assert "could not publish" in caplog.text
    finally:
        store.sql.engine.dispose()
