"""The local department inbox of `make run` (issue 15 point 12): the real dispatcher command
delivers department tickets (HTTP and e-mail send methods) to a real staff console, which files
them and lists them per department; without the setting nothing changes."""

from __future__ import annotations

import json
import subprocess

import pytest
import requests
from sqlalchemy import select

from bot.delivery import OutboxEntry, OutboxState
from bot.delivery.local_inbox import TOKEN_HEADER, LocalInbox
from bot.settings import SettingsError
from bot.tickets import ComplaintDraft
from tests.stack import VENV_BIN, base_env
from tests.staff_support import (
    ROAD,
    StaffClient,
    StaffServer,
    close_sessions,
    file_pothole,
    seed_accounts,
    sessions_for,
    sqlite_url,
    ticket_store,
)

pytestmark = pytest.mark.integration  # starts the staff console and the dispatcher

TOKEN = "local-inbox-test-token"
ENVIRONMENT = "environment_management"  # its send method is e-mail


@pytest.fixture
def console(tmp_path):
    database_url = sqlite_url(tmp_path)
    seed_accounts(database_url)
    server = StaffServer(
        database_url,
        tmp_path,
        env_extra={"SOTONG_LOCAL_INBOX_TOKEN": TOKEN, "SOTONG_LOCAL_INBOX_DIR": str(tmp_path / "inbox")},
    ).start()
    yield server
    server.stop()
    close_sessions(database_url)


def dispatch_once(database_url: str, inbox_url: str = None, token: str = TOKEN) -> str:
    extra = {
        "SOTONG_DATABASE_URL": database_url,
        "SOTONG_DELIVERY_LOCAL_INBOX": inbox_url or "",
        "SOTONG_LOCAL_INBOX_TOKEN": token,
        "SOTONG_DELIVERY_HTTP_TIMEOUT_SECONDS": "5",
        "SOTONG_SMTP_PORT": "9",
        "SOTONG_SMTP_TIMEOUT_SECONDS": "2",
    }
    result = subprocess.run(
        [str(VENV_BIN / "python"), "-m", "bot.delivery", "once"],
        env=base_env(**extra),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


def file_dumping(database_url: str) -> str:
    return (
        ticket_store(database_url)
        .file_complaint(
            ComplaintDraft(
                category="illegal_dumping",
                location_text="일산동구 장항동 공원 입구",
                description="쓰레기가 쌓여 있어요",
                sender_id="kakao-owner-9",
            )
        )
        .number
    )


def outbox_states(database_url: str):
    with sessions_for(database_url)() as session:
        return {
            entry.target_id: (entry.state, entry.destination)
            for entry in session.execute(select(OutboxEntry)).scalars()
        }


def test_tickets_of_http_and_email_departments_arrive_in_the_console_inbox(console, tmp_path):
    pothole = file_pothole(console.database_url)  # road_management: http, with the citizen's phone
    dumping = file_dumping(console.database_url)  # environment_management: e-mail
    output = dispatch_once(console.database_url, f"{console.url}/local-inbox/deliveries")
    assert "delivered=2 retried=0 dead=0" in output
    states = outbox_states(console.database_url)
    assert states[ROAD] == (OutboxState.DELIVERED, "http://127.0.0.1:8081/departments/road_management")
    assert states[ENVIRONMENT] == (OutboxState.DELIVERED, "environment@goyang.example")  # real address kept

    files = {path.parent.name: json.loads(path.read_text()) for path in (tmp_path / "inbox").glob("*/*.json")}
    assert set(files) == {f"department-{ROAD}", f"department-{ENVIRONMENT}"}
    road = files[f"department-{ROAD}"]["document"]
    assert road["method"] == "http" and road["payload"]["ticket"]["number"] == pothole
    assert road["payload"]["ticket"]["contact"]["phone"] == "010-****-6789"  # masked before it is written
    assert "2345" not in next((tmp_path / "inbox" / f"department-{ROAD}").glob("*.json")).read_text()
    email = files[f"department-{ENVIRONMENT}"]["document"]["email"]
    assert email["to"] == "environment@goyang.example" and dumping in email["subject"]
    assert "접수번호: " + dumping in email["body"]

    road_staff = StaffClient.signed_in(console.url, "road.kim")
    page = road_staff.get("/local-inbox")
    assert page.status_code == 200 and pothole in page.text and dumping not in page.text
    assert 'href="/local-inbox"' in page.text  # in the menu
    chief = StaffClient.signed_in(console.url, "chief.park")
    page = chief.get("/local-inbox")
    assert pothole in page.text and dumping in page.text and "도로관리과" in page.text

    # A repeated delivery (a retry after a lost answer) is filed once.
    document = {
        "method": "http",
        "destination": "x",
        "idempotency_key": f"{pothole}/ticket.created/department/{ROAD}",
        "payload": road["payload"],
    }
    again = requests.post(f"{console.url}/local-inbox/deliveries", json=document, headers={TOKEN_HEADER: TOKEN})
    assert again.status_code == 200 and again.json()["stored"] is False
    assert len(list((tmp_path / "inbox").glob("*/*.json"))) == 2


def test_the_receiver_wants_its_token(console, tmp_path):
    url = f"{console.url}/local-inbox/deliveries"
    document = {
        "method": "http",
        "destination": "x",
        "idempotency_key": "k",
        "payload": {"recipient": {"kind": "department", "id": ROAD, "name": "도로관리과"}},
    }
    assert requests.post(url, json=document).status_code == 401
    assert requests.post(url, json=document, headers={TOKEN_HEADER: "wrong"}).status_code == 401
    assert requests.post(url, data=b"[1]", headers={TOKEN_HEADER: TOKEN}).status_code == 400
    assert not (tmp_path / "inbox").exists()
    file_pothole(console.database_url)
    output = dispatch_once(console.database_url, url, token="wrong")
    assert "delivered=0 retried=1" in output and "HTTP 401" in output
    assert requests.get(f"{console.url}/local-inbox", allow_redirects=False).status_code == 302  # login first


def test_without_the_setting_the_console_has_no_inbox_and_deliveries_go_to_data_city(tmp_path):
    database_url = sqlite_url(tmp_path)
    seed_accounts(database_url)
    server = StaffServer(database_url, tmp_path, env_extra={"SOTONG_LOCAL_INBOX_TOKEN": ""}).start()
    try:
        url = f"{server.url}/local-inbox/deliveries"
        assert requests.post(url, json={}, headers={TOKEN_HEADER: ""}).status_code == 404
        page = StaffClient.signed_in(server.url, "chief.park").get("/local-inbox")
        assert (
            page.status_code == 404
            and "로컬 수신함" not in StaffClient.signed_in(server.url, "road.kim").get("/tickets").text
        )
        file_pothole(database_url)
        output = dispatch_once(database_url, inbox_url="")  # nothing listens on 127.0.0.1:8081
        assert "delivered=0 retried=1" in output
    finally:
        server.stop()
        close_sessions(database_url)


def test_the_inbox_url_needs_its_token():
    assert LocalInbox.from_env({}) is None
    with pytest.raises(SettingsError, match="SOTONG_LOCAL_INBOX_TOKEN"):
        LocalInbox.from_env({"SOTONG_DELIVERY_LOCAL_INBOX": "http://127.0.0.1:8000/local-inbox/deliveries"})
    with pytest.raises(SettingsError, match="SOTONG_DELIVERY_LOCAL_INBOX"):
        LocalInbox.from_env({"SOTONG_DELIVERY_LOCAL_INBOX": "127.0.0.1:8000", "SOTONG_LOCAL_INBOX_TOKEN": "t"})
