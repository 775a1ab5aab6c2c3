"""Emergency incidents below the conversation (issue 16): many citizens at once make one incident on
a real SQLite file; agencies acknowledge alerts over HTTP on a running console; unacknowledged
alerts are escalated by e-mail to a real local SMTP server (aiosmtpd); the dashboard shows it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email.policy import default as default_email_policy

import pytest
import requests
from aiosmtpd.controller import Controller
from sqlalchemy import select

from bot.city import get_city_config
from bot.delivery import DeliverySettings, Dispatcher, OutboxEntry, OutboxState
from bot.delivery.escalation import escalate_unacknowledged
from bot.delivery.senders import EmailSender
from bot.staff.accounts import Account, Role
from bot.staff.dashboard import DashboardFigures
from bot.tickets.incidents import UNKNOWN_LOCATION, IncidentInput, IncidentStore
from bot.tickets.models import AlertEscalation, IncidentReport
from bot.tickets.store import TicketStore, open_database
from tests.kakao_helpers import free_port
from tests.staff_support import StaffServer

pytestmark = pytest.mark.integration  # starts the staff console and the dispatcher

TOKENS = {"ilsan_fire_station": "fire-token-0123456789", "goyang_urban_management": "umc-token-0123456789"}


class Clock:
    def __init__(self):
        self.now = datetime(2026, 7, 14, 5, 0, tzinfo=timezone.utc)

    def __call__(self):
        return self.now


@pytest.fixture
def database_url(tmp_path):
    return f"sqlite:///{tmp_path / 'sotong.db'}"


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def incidents(database_url, clock):
    return IncidentStore(TicketStore(open_database(database_url), get_city_config(), clock=clock))


def flood(
    sender: str, place: str = "일산동구 백석동 백석지하차도", text: str = "지하차도에 물이 차요"
) -> IncidentInput:
    return IncidentInput("flood", sender, text, place)


def entries(incidents: IncidentStore):
    with incidents.sessions() as session:
        rows = list(session.execute(select(OutboxEntry).order_by(OutboxEntry.id)).scalars())
        session.expunge_all()
        return rows


def test_fifty_simultaneous_reports_make_one_incident_alerted_once(incidents):
    start = threading.Barrier(50)

    def report(index: int):
        start.wait()
        return incidents.report(
            flood(f"kakao-{index}", "백석동 백석지하차도" if index % 2 else "일산동구 백석1동 지하차도 입구")
        )

    with ThreadPoolExecutor(50) as pool:
        receipts = list(pool.map(report, range(50)))
    assert len({receipt.number for receipt in receipts}) == 1
    assert sum(not receipt.joined for receipt in receipts) == 1
    assert sorted(receipt.report_count for receipt in receipts) == list(range(1, 51))
    rows = entries(incidents)
    recipients = len(incidents.recipients("flood", "일산동구"))
    assert sum("/ticket.created/" in row.idempotency_key for row in rows) == recipients
    assert sum("/incident.updated/" in row.idempotency_key for row in rows) == 49 * recipients


def test_other_kind_other_dong_unknown_place_and_an_old_incident_are_separate(incidents, clock):
    first = incidents.report(flood("kakao-1"))
    assert (
        incidents.report(IncidentInput("fire", "kakao-2", "불이 났어요", "백석동 백석지하차도")).number != first.number
    )
    assert incidents.report(flood("kakao-3", "일산동구 마두동 지하차도")).number != first.number
    unknown = incidents.report(flood("kakao-4", ""))
    assert unknown.location_text == UNKNOWN_LOCATION and unknown.number != first.number
    assert incidents.report(flood("kakao-5", "")).number != unknown.number  # no place: never merged
    clock.now += incidents.window + timedelta(minutes=1)
    later = incidents.report(flood("kakao-6"))
    assert later.number != first.number and not later.joined
    assert incidents.report(flood("kakao-7")).number == later.number


def test_follow_up_only_from_a_reporter_of_the_incident(incidents):
    receipt = incidents.report(flood("kakao-1", text="물이 차요 제 번호 010-9876-5432"))
    assert incidents.follow_up(receipt.number, "kakao-stranger", "장난") is None
    assert incidents.follow_up(receipt.number, "kakao-1", "허리까지 찼어요", "https://img.example/1.jpg")
    with incidents.sessions() as session:
        reports = list(session.execute(select(IncidentReport).order_by(IncidentReport.id)).scalars())
    assert [r.kind for r in reports] == ["report", "follow_up"]
    assert reports[0].text == "물이 차요 제 번호 010-****-5432"
    updates = [row.payload for row in entries(incidents) if "/incident.updated/" in row.idempotency_key]
    assert updates and all(u["update"]["photo_url"] == "https://img.example/1.jpg" for u in updates)
    assert all("contact" not in u["ticket"] for u in updates if u["recipient"]["kind"] == "agency")


# --- acknowledgement over HTTP, dashboard, escalation by e-mail ------------------------------------------


class MailRelay:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=default_email_policy)))
        return "250 Message accepted for delivery"


@pytest.fixture
def console(tmp_path, database_url):
    open_database(database_url)  # the schema, before the console and the test write
    tokens = ",".join(f"{agency}:{token}" for agency, token in TOKENS.items())
    server = StaffServer(database_url, tmp_path, {"SOTONG_AGENCY_TOKENS": tokens}).start()
    yield server.url
    server.stop()


def acknowledge(url: str, token: str, key) -> requests.Response:
    return requests.post(
        f"{url}/open311/agency/acknowledge",
        json={"idempotency_key": key},
        headers={"X-Sotong-Agency-Token": token},
        timeout=30,
    )


def test_agencies_acknowledge_and_the_silent_one_is_escalated_by_email(database_url, console):
    clock = Clock()
    clock.now = datetime.now(timezone.utc)
    store = IncidentStore(TicketStore(open_database(database_url), get_city_config(), clock=clock))
    receipt = store.report(flood("kakao-1"))
    fire_key = f"{receipt.number}/ticket.created/agency/ilsan_fire_station"

    assert acknowledge(console, "wrong-token-0123456789", fire_key).status_code == 401
    assert acknowledge(console, TOKENS["goyang_urban_management"], fire_key).status_code == 404  # not theirs
    assert acknowledge(console, TOKENS["ilsan_fire_station"], None).status_code == 400
    first = acknowledge(console, TOKENS["ilsan_fire_station"], fire_key)
    again = acknowledge(console, TOKENS["ilsan_fire_station"], fire_key)
    assert first.status_code == again.status_code == 200
    assert first.json()["acknowledged_at"] == again.json()["acknowledged_at"]

    relay = MailRelay()
    controller = Controller(relay, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        settings = DeliverySettings(
            smtp_host="127.0.0.1",
            smtp_port=controller.port,
            alert_ack_minutes=5,
            escalation_email="situation-room@goyang.example",
        )
        assert escalate_unacknowledged(store.sessions, settings, clock) == 0  # not overdue yet
        later = lambda: clock.now + timedelta(minutes=6)  # noqa: E731
        alerted = [row.target_id for row in entries(store) if row.target_kind == "agency"]
        assert escalate_unacknowledged(store.sessions, settings, later) == len(alerted) - 1
        assert escalate_unacknowledged(store.sessions, settings, later) == 0  # once only
        Dispatcher(store.sessions, settings, senders={"email": EmailSender(settings)}, clock=later).run_once()
        with store.sessions() as session:
            escalated = set(session.execute(select(AlertEscalation.agency_id)).scalars())
            states = set(
                session.execute(select(OutboxEntry.state).where(OutboxEntry.target_kind == "escalation")).scalars()
            )
        assert escalated == set(alerted) - {"ilsan_fire_station"} and states == {OutboxState.DELIVERED}
        escalations = [(to, message) for to, message in relay.messages if "미확인 경보" in message["Subject"]]
        assert len(escalations) == len(alerted) - 1  # (agencies served by e-mail got their alert too)
        assert any("goyang_urban_management" in message["Subject"] for _, message in escalations)
        assert all(to == ["situation-room@goyang.example"] for to, _ in escalations)
    finally:
        controller.stop()

    figures = DashboardFigures(store.sessions, get_city_config, clock=later).snapshot(
        Account(1, "chief", "총괄", Role.SUPERVISOR, None, True, clock.now)
    )
    [shown] = figures["incidents"]
    assert shown["number"] == receipt.number and shown["reports"] == 1
    by_agency = {agency["agency_id"]: agency for agency in shown["agencies"]}
    assert by_agency["ilsan_fire_station"]["acknowledged"] and not by_agency["ilsan_fire_station"]["overdue"]
    assert by_agency["goyang_urban_management"]["overdue"] and shown["unacknowledged_overdue"] == len(alerted) - 1
