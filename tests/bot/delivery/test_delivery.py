"""Delivery from the outbox to real local endpoints: an HTTP server in a thread as the
department, an SMTP server (aiosmtpd) as the mail relay, a real SQLite file as the database."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email.policy import default as default_email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, text

from bot.city import load_city_config
from bot.city.loader import DEFAULT_DATA_DIR
from bot.delivery import DeliverySettings, Dispatcher, OutboxEntry, OutboxState, retry_delay_seconds
from bot.delivery.dead_letters import list_dead_letters, requeue_dead_letter
from bot.storage.db import make_engine
from bot.tickets import ComplaintDraft, EmergencyReport, TicketStore, open_database
from tests.databases import BACKENDS, database_url_for

ROOT = Path(__file__).resolve().parents[3]
SAMPLE_ENDPOINT = "http://127.0.0.1:8081"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- a department endpoint -------------------------------------------------------------------------


class DepartmentEndpoint:
    """A real HTTP server that records what it receives and answers with `status`."""

    def __init__(self, port: int):
        self.port = port
        self.status = 200
        self.delay_seconds = 0.0
        self.received: list[dict] = []  # every request, accepted or not
        self._lock = threading.Lock()
        self._server = None

    @property
    def accepted(self) -> list[dict]:
        return [request for request in self.received if 200 <= request["status"] < 300]

    def start(self) -> DepartmentEndpoint:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(endpoint.delay_seconds)
                status = endpoint.status
                with endpoint._lock:
                    endpoint.received.append(
                        {
                            "path": self.path,
                            "status": status,
                            "key": self.headers.get("Idempotency-Key"),
                            "json": json.loads(body),
                        }
                    )
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"unavailable")

            def log_message(self, *_args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class MailRelay:
    """Collects the e-mails that aiosmtpd receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=default_email_policy)))
        return "250 Message accepted for delivery"


class FakeClock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def endpoint():
    server = DepartmentEndpoint(free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def mail_relay():
    relay = MailRelay()
    controller = Controller(relay, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield relay, controller.port
    controller.stop()


@pytest.fixture
def city(tmp_path: Path, endpoint: DepartmentEndpoint):
    """The shipped city data with the sample endpoints pointing at the test server."""
    data_dir = tmp_path / "city"
    shutil.copytree(DEFAULT_DATA_DIR, data_dir)
    for path in data_dir.glob("*.yml"):
        path.write_text(
            path.read_text(encoding="utf-8").replace(SAMPLE_ENDPOINT, f"http://127.0.0.1:{endpoint.port}"),
            encoding="utf-8",
        )
    return load_city_config(data_dir)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 10, 1, 0, tzinfo=timezone.utc))


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path: Path):
    with database_url_for(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def sessions(database_url: str):
    return open_database(database_url)


@pytest.fixture
def store(sessions, city, clock) -> TicketStore:
    return TicketStore(sessions, city, clock=clock)


@pytest.fixture
def settings(mail_relay) -> DeliverySettings:
    _relay, smtp_port = mail_relay
    return DeliverySettings(
        max_attempts=4,
        backoff_base_seconds=10,
        backoff_max_seconds=60,
        http_timeout_seconds=2,
        claim_lease_seconds=60,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
    )


def dispatcher(sessions, settings, clock) -> Dispatcher:
    return Dispatcher(sessions, settings, clock=clock, random_fraction=lambda: 1.0)


def file_pothole(store: TicketStore, sender: str = "kakao-user-1"):
    return store.file_complaint(
        ComplaintDraft(
            category="road_damage",
            location_text="일산서구 주엽동 강선마을 14단지 앞",
            description="도로에 큰 구멍이 났어요",
            sender_id=sender,
            contact_phone="010-1234-5678",
            consent_given=True,
        )
    )


def outbox(sessions) -> list[OutboxEntry]:
    with sessions() as session:
        return list(session.execute(select(OutboxEntry).order_by(OutboxEntry.id)).scalars())


# --- tests -----------------------------------------------------------------------------------------


def test_delivered_once_with_idempotency_key(store, sessions, settings, clock, endpoint):
    receipt = file_pothole(store)
    report = dispatcher(sessions, settings, clock).run_once()
    assert report.delivered == 1

    [request] = endpoint.received
    assert request["path"] == "/departments/road_management"
    assert request["key"] == f"{receipt.number}/ticket.created/department/road_management"
    assert request["json"]["ticket"]["number"] == receipt.number
    assert request["json"]["ticket"]["due_date"] == receipt.due_date.isoformat()
    [entry] = outbox(sessions)
    assert entry.state == OutboxState.DELIVERED and entry.attempts == 1

    clock.advance(days=1)
    assert dispatcher(sessions, settings, clock).run_once().handled == 0
    assert len(endpoint.received) == 1


def test_endpoint_down_then_up_is_delivered_exactly_once(store, sessions, settings, clock, endpoint):
    file_pothole(store)
    endpoint.status = 503
    worker = dispatcher(sessions, settings, clock)
    assert worker.run_once().retried == 1
    [entry] = outbox(sessions)
    assert entry.state == OutboxState.PENDING and entry.last_error.startswith("HTTP 503")
    assert entry.next_attempt_at == clock.now + timedelta(seconds=10)  # base delay, full jitter

    assert worker.run_once().handled == 0  # not due yet: back-off is respected
    clock.advance(seconds=10)
    assert worker.run_once().retried == 1
    assert outbox(sessions)[0].next_attempt_at == clock.now + timedelta(seconds=20)  # doubled

    endpoint.stop()  # now not even listening: connection refused
    clock.advance(seconds=20)
    assert worker.run_once().retried == 1
    assert "ConnectionError" in outbox(sessions)[0].last_error

    endpoint.status = 200
    endpoint.start()
    clock.advance(seconds=40)
    assert worker.run_once().delivered == 1
    clock.advance(hours=1)
    assert worker.run_once().handled == 0
    assert len(endpoint.accepted) == 1
    assert outbox(sessions)[0].attempts == 4


class SimulatedCrash(BaseException):
    """Stands for the process dying: not an Exception, so nothing records a result."""


def test_crash_while_sending_is_delivered_after_restart(store, sessions, settings, clock, endpoint):
    file_pothole(store)

    def crash(_delivery):
        raise SimulatedCrash()

    with pytest.raises(SimulatedCrash):
        Dispatcher(sessions, settings, senders={"http": crash}, clock=clock).run_once()
    [entry] = outbox(sessions)
    assert entry.state == OutboxState.SENDING and not endpoint.received

    restarted = dispatcher(sessions, settings, clock)
    assert restarted.run_once().handled == 0  # the lost claim's lease has not expired yet
    clock.advance(seconds=settings.claim_lease_seconds + 1)
    assert restarted.run_once().delivered == 1
    assert len(endpoint.accepted) == 1
    assert outbox(sessions)[0].state == OutboxState.DELIVERED


def test_committed_entries_are_sent_by_a_dispatcher_started_later(store, sessions, database_url, endpoint, tmp_path):
    """The ticket's transaction committed but no dispatcher ran (e.g. the server died right after):
    a new dispatcher process finds and sends the entry."""
    receipt = file_pothole(store)
    result = subprocess.run(
        [sys.executable, "-m", "bot.delivery", "--database-url", database_url, "once"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT), "SOTONG_CITY_DATA_DIR": str(tmp_path / "city")},
    )  # it routes by the city data
    assert result.returncode == 0, result.stderr
    assert "delivered=1" in result.stdout
    assert [request["json"]["ticket"]["number"] for request in endpoint.accepted] == [receipt.number]
    assert "010-1234-5678" not in result.stderr  # logs never carry the full phone number


def test_run_loop_delivers_and_stops_on_sigterm(store, sessions, database_url, endpoint, tmp_path):
    file_pothole(store)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.delivery", "--database-url", database_url, "run"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "SOTONG_DELIVERY_POLL_SECONDS": "0.1",
            "SOTONG_CITY_DATA_DIR": str(tmp_path / "city"),
        },
    )  # the dispatcher routes by the city data
    try:
        deadline = time.monotonic() + 30
        while not endpoint.accepted and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(endpoint.accepted) == 1
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "Dispatcher stopped" in err


def test_dead_letter_after_max_attempts_then_requeue(store, sessions, settings, clock, endpoint, city):
    receipt = file_pothole(store)
    endpoint.status = 500
    worker = dispatcher(sessions, settings, clock)
    for _ in range(settings.max_attempts):
        worker.run_once()
        clock.advance(minutes=5)
    [entry] = outbox(sessions)
    assert entry.state == OutboxState.DEAD and entry.attempts == settings.max_attempts
    assert entry.last_error.startswith("HTTP 500")
    assert worker.run_once().handled == 0
    assert len(endpoint.received) == settings.max_attempts

    [dead] = list_dead_letters(sessions)
    assert dead.payload["ticket"]["number"] == receipt.number
    endpoint.status = 200
    assert requeue_dead_letter(sessions, dead.id, city, now=clock.now)
    assert worker.run_once().delivered == 1
    assert not list_dead_letters(sessions)
    assert len(endpoint.accepted) == 1


def test_email_department_receives_mail_with_document(store, sessions, settings, clock, mail_relay):
    relay, _port = mail_relay
    receipt = store.file_complaint(
        ComplaintDraft(
            category="noise",
            location_text="장항동 공사장",
            description="새벽 공사 소음이 심해요",
            sender_id="kakao-user-5",
        )
    )
    assert dispatcher(sessions, settings, clock).run_once().delivered == 1

    [(recipients, message)] = relay.messages
    assert recipients == ["environment@goyang.example"]
    assert receipt.number in message["Subject"] and "소음" in message["Subject"]
    assert str(message["X-Sotong-Idempotency-Key"]).strip().startswith(receipt.number)
    body = message.get_body(("plain",)).get_content()
    assert "장항동 공사장" in body and "익명" in body
    [attachment] = list(message.iter_attachments())
    assert json.loads(attachment.get_content())["ticket"]["number"] == receipt.number


def test_mail_relay_down_is_retried(store, sessions, settings, clock):
    store.file_complaint(
        ComplaintDraft(category="noise", location_text="장항동", description="소음", sender_id="kakao-user-5")
    )
    closed_port = free_port()
    unreachable = dataclasses.replace(settings, smtp_port=closed_port)
    assert dispatcher(sessions, unreachable, clock).run_once().retried == 1
    assert outbox(sessions)[0].state == OutboxState.PENDING


def test_two_dispatchers_never_send_an_entry_twice(store, sessions, settings, clock, endpoint):
    for index in range(12):
        file_pothole(store, sender=f"kakao-user-{index}")
    store.report_emergency(EmergencyReport("sinkhole", "kakao-user-99", "일산동구 백석동"))
    endpoint.delay_seconds = 0.02
    workers = [threading.Thread(target=dispatcher(sessions, settings, clock).run_once) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    keys = [request["key"] for request in endpoint.received]
    assert len(keys) == len(set(keys)) == len(outbox(sessions))
    assert all(entry.state == OutboxState.DELIVERED for entry in outbox(sessions))


def test_contact_numbers_are_encrypted_at_rest_and_sent_in_plain_to_the_department(
    store, sessions, database_url, settings, clock, endpoint
):
    """Neither the ticket row nor the outbox payload holds the number (read with plain SQL); the
    department's endpoint receives it decrypted; dead-letter listings never show it."""
    receipt = file_pothole(store)
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            stored_phone = connection.execute(text("SELECT contact_phone FROM tickets")).scalar_one()
            payloads = connection.execute(text("SELECT payload_json FROM outbox")).scalars().all()
    finally:
        engine.dispose()
    assert stored_phone.startswith("enc1:") and "5678" not in stored_phone
    assert payloads and all("1234-5678" not in payload and "enc1:" in payload for payload in payloads)

    endpoint.status = 500
    worker = dispatcher(sessions, settings, clock)
    for _ in range(settings.max_attempts):
        worker.run_once()
        clock.advance(minutes=5)
    assert all(request["json"]["ticket"]["contact"]["phone"] == "010-1234-5678" for request in endpoint.received)
    [dead] = list_dead_letters(sessions)
    assert "1234-5678" not in json.dumps(dead.payload) + (dead.last_error or "")
    listing = subprocess.run(
        [sys.executable, "-m", "bot.delivery", "--database-url", database_url, "dead"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listing.returncode == 0 and receipt.number in listing.stdout and "5678" not in listing.stdout
    endpoint.status = 200
    assert requeue_dead_letter(sessions, dead.id, now=clock.now) and worker.run_once().delivered == 1
    assert endpoint.accepted[-1]["json"]["ticket"]["contact"] == {
        "anonymous": False,
        "phone": "010-1234-5678",
        "consent": endpoint.accepted[-1]["json"]["ticket"]["contact"]["consent"],
    }


def test_retry_delay_grows_with_jitter_and_is_capped():
    settings = DeliverySettings(backoff_base_seconds=30, backoff_max_seconds=3600)
    assert retry_delay_seconds(1, settings, lambda: 0.0) == 15
    assert retry_delay_seconds(1, settings, lambda: 1.0) == 30
    assert retry_delay_seconds(3, settings, lambda: 1.0) == 120
    assert retry_delay_seconds(20, settings, lambda: 1.0) == 3600
