"""Faults, each bounded in time:

* a department's endpoint down for an hour (simulated with the dispatcher's clock, not slept):
  every ticket is delivered once it is back, each exactly once, no dead letter;
* the action server killed in the middle of the complaint form: with a second one behind nginx the
  citizen notices nothing; with none left the turn fails and, once the supervisor of
  scripts/run_cluster.sh has restarted it, the conversation resumes at the same question;
* PostgreSQL restarted (a private server started with initdb/pg_ctl, never the shared one): turns
  during the outage get a clear "try again shortly" answer, then the same conversation goes on and
  nothing stored before is lost.

The stack tests need SOTONG_TEST_POSTGRES_URL/SOTONG_TEST_REDIS_URL (they skip without them),
nginx (installed by scripts/install_nginx.sh when apt-get is there) and PostgreSQL's server
binaries in /usr/lib/postgresql.
"""

from __future__ import annotations

import os
import socket
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import create_engine

from bot.channels.kakao import texts as kakao_texts
from bot.city import get_city_config
from bot.delivery import DeliverySettings, Dispatcher, OutboxEntry, OutboxState
from bot.tickets import ComplaintDraft, Ticket, open_ticket_store
from tests.cluster import TICKET_NUMBER, Cluster, PrivatePostgres, port_block, prerequisites_missing
from tests.databases import BACKENDS, database_url_for

# ------------------------------------------------------------------------------ department down


class Department:
    """A department's HTTP endpoint on a fixed port that can be down (nothing listening) or up.

    The port stays bound from the start (bound but not listening refuses connections), so nothing
    else can take it while the department is down.
    """

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", port_block(1)))
        self.port = self._socket.getsockname()[1]
        self.received: list[str] = []  # Idempotency-Key of every accepted POST
        self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/departments/road_management"

    def up(self) -> None:
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append(self.headers["Idempotency-Key"])
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler, bind_and_activate=False)
        self._server.socket.close()
        self._server.socket = self._socket
        self._server.server_activate()
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        self._socket.close()


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    with database_url_for(request.param, tmp_path) as url:
        yield url


def test_department_down_for_an_hour_then_everything_is_delivered_once(database_url):
    clock = Clock(datetime(2026, 11, 26, 1, 0, tzinfo=timezone.utc))
    store = open_ticket_store(get_city_config(), database_url, clock=clock)
    numbers = []
    for index in range(12):
        numbers.append(
            store.file_complaint(
                ComplaintDraft(
                    category="road_damage",
                    location_text=f"일산서구 탄현동 큰마을 {index + 1}단지 앞",
                    description="도로에 구멍이 생겼어요",
                    sender_id=f"citizen-{index}",
                )
            ).number
        )
        clock.advance(45)  # tickets keep arriving while the department is down
    department = Department()
    with store.sessions.begin() as session:  # the test's endpoint stands for the department's
        session.execute(update(OutboxEntry).values(destination=department.url))
    settings = DeliverySettings(http_timeout_seconds=2)  # production back-off: 30 s doubling, 8 attempts
    dispatcher = Dispatcher(store.sessions, settings, clock=clock, random_fraction=lambda: 1.0)

    outage_end = clock.now + timedelta(minutes=60)
    while clock.now < outage_end:  # the dispatcher polls through the outage (simulated minutes)
        report = dispatcher.run_once()
        assert report.delivered == 0 and report.dead == 0
        clock.advance(30)
    with store.sessions() as session:
        states = set(session.execute(select(OutboxEntry.state)).scalars())
        attempts = max(session.execute(select(OutboxEntry.attempts)).scalars())
    assert states == {OutboxState.PENDING} and 5 <= attempts < settings.max_attempts

    department.up()
    try:
        deadline = clock.now + timedelta(hours=2)  # longest back-off after an hour of failures: 32 min
        while clock.now < deadline:
            dispatcher.run_once()
            with store.sessions() as session:
                pending = session.execute(
                    select(OutboxEntry.id).where(OutboxEntry.state != OutboxState.DELIVERED)
                ).first()
            if pending is None:
                break
            clock.advance(30)
        with store.sessions() as session:
            entries = list(session.execute(select(OutboxEntry)).scalars())
            tickets = {t.id: t.number for t in session.execute(select(Ticket)).scalars()}
    finally:
        department.close()
    assert {entry.state for entry in entries} == {OutboxState.DELIVERED}
    assert sorted(department.received) == sorted(entry.idempotency_key for entry in entries)  # each once
    assert {tickets[entry.ticket_id] for entry in entries} == set(numbers)
    assert clock.now - outage_end <= timedelta(minutes=35)


# ------------------------------------------------------------------------------ stack faults

missing = prerequisites_missing()
stack = pytest.mark.skipif(missing is not None, reason=missing or "")


@pytest.fixture(scope="module")
def private_postgres():
    reason = PrivatePostgres.unavailable()
    if reason:
        pytest.skip(reason)
    server = PrivatePostgres.in_tmp()
    try:
        server.init().start()
    except Exception as error:  # e.g. no permission to run initdb here
        server.destroy()
        pytest.skip(f"cannot start a private PostgreSQL server: {error}")
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="module")
def fault_cluster(trained_model: Path, private_postgres, tmp_path_factory):
    cluster = Cluster(
        trained_model,
        tmp_path_factory.mktemp("faults"),
        private_postgres.url,
        os.environ["SOTONG_TEST_REDIS_URL"],
        instances=1,
        action_instances=2,
        dispatcher=False,
    )
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def start_streetlight_complaint(cluster: Cluster, user: str) -> None:
    assert "위치" in cluster.kakao(user, "가로등이 고장났어요")


@stack
def test_action_server_killed_mid_form(fault_cluster):
    cluster, user = fault_cluster, "fault-actions-1"
    start_streetlight_complaint(cluster, user)

    # One of two action servers dies: nginx sends the form's call to the other one.
    killed = cluster.kill("actions-0")
    assert "어떤 상황" in cluster.kakao(user, "일산동구 백석동 흰돌마을 5단지 앞")
    cluster.wait_restarted("actions-0", killed, cluster.actions_health_url(0))

    # Both gone: the turn fails as a whole, with a clear answer, and is not recorded.
    before = cluster.stored_events(user)
    pids = {name: cluster.kill(name) for name in ("actions-0", "actions-1")}
    during = cluster.kakao(user, "가로등이 깜빡이다가 완전히 꺼졌어요")
    assert during == kakao_texts.TURN_FAILED
    assert cluster.stored_events(user) == before
    for name, pid in pids.items():  # run_cluster.sh's supervisor restarts them
        cluster.wait_restarted(name, pid, cluster.actions_health_url(int(name[-1])))

    # The form was not lost: saying it again continues where the conversation was.
    resumed = cluster.kakao(user, "가로등이 깜빡이다가 완전히 꺼졌어요")
    assert "개인정보" in resumed or "사진" in resumed, resumed
    tracker = cluster.tracker(user)
    assert tracker["active_loop"].get("name") == "complaint_form"
    assert tracker["slots"]["location"] == "일산동구 백석동 흰돌마을 5단지 앞"
    assert tracker["slots"]["description"] == "가로등이 깜빡이다가 완전히 꺼졌어요"
    assert "취소" in cluster.kakao(user, "취소")


@stack
def test_postgres_restart(fault_cluster, private_postgres):
    cluster, user = fault_cluster, "fault-pg-1"
    filed = file_pothole_complaint(cluster, "fault-pg-0")
    start_streetlight_complaint(cluster, user)
    assert "어떤 상황" in cluster.kakao(user, "일산동구 식사동 위시티 4단지 정문 앞")

    private_postgres.stop()
    try:
        during = [cluster.kakao_raw(user, "가로등이 완전히 꺼졌어요", timeout=30) for _ in range(2)]
    finally:
        private_postgres.start()
    for response in during:  # a normal Kakao answer that tells the citizen what to do
        assert response.status_code == 200
        assert kakao_texts.TURN_FAILED in response.text

    after = cluster.kakao(user, "가로등이 완전히 꺼졌어요")
    assert "개인정보" in after or "사진" in after, after  # the same form, the next question
    assert "취소" in cluster.kakao(user, "취소")
    finished = file_pothole_complaint(cluster, "fault-pg-2", place="일산서구 대화동 킨텍스로 앞")
    engine = create_engine(cluster.database_url, future=True)
    try:
        with engine.connect() as connection:
            numbers = set(connection.execute(select(Ticket.number)).scalars())
    finally:
        engine.dispose()
    assert {filed, finished} <= numbers  # the ticket from before the restart is still there
    user_texts = [event.get("text") for event in cluster.stored_events(user) if event.get("event") == "user"]
    assert user_texts[:2] == ["가로등이 고장났어요", "일산동구 식사동 위시티 4단지 정문 앞"]


def file_pothole_complaint(cluster: Cluster, user: str, place: str = "일산서구 탄현동 큰마을 앞 도로") -> str:
    """The complaint form from the first message to the receipt; returns the ticket number."""
    steps = [
        (f"{place}에 포트홀이 생겼어요", "사진"),
        ("사진 없음", "개인정보"),
        ("동의하지 않아요", "확인"),
        ("네 접수해 주세요", "접수"),
    ]
    reply = ""
    for utterance, expected in steps:
        reply = cluster.kakao(user, utterance)
        assert expected in reply, (utterance, reply)
    return TICKET_NUMBER.search(reply).group(0)
