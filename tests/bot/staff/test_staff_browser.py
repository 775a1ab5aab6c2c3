"""The staff console in a real headless Chromium (Debian's package, driven by Playwright): a staff
member logs in, filters the list, opens a ticket, changes its status and replies. Then the citizen
asks for the status in chat — the real action server's webhook, as Rasa calls it — and hears
both. Screenshots of the list, the ticket and the dashboard go to reports/staff_*.png."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import rasa_sdk
import requests
from playwright.sync_api import Page, expect, sync_playwright

from tests.stack import ROOT, action_headers, action_server_service, base_env, free_port, load_domain
from tests.staff_support import (
    PASSWORD,
    StaffServer,
    file_park_complaint,
    file_pothole,
    report_sinkhole,
    seed_accounts,
    sqlite_url,
)

pytestmark = pytest.mark.integration  # starts the console and Chromium

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPORTS = ROOT / "reports"
CITIZEN = "kakao-citizen-7"
REPLY = "내일 오전 10시에 보수 작업을 시작할 예정이에요. 불편을 드려 죄송해요."
STATUS_MESSAGE = "현장을 확인했어요."


def chromium_or_skip() -> None:
    if not CHROMIUM.exists():
        installer = ROOT / "scripts" / "install_browser.sh"
        result = subprocess.run(["bash", str(installer)], capture_output=True, text=True, timeout=600)
        if result.returncode != 0 or not CHROMIUM.exists():
            pytest.skip(
                f"Debian's chromium could not be installed by {installer.name}: "
                f"{(result.stderr or result.stdout).strip()[-300:]}"
            )


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    chromium_or_skip()
    workdir = tmp_path_factory.mktemp("staff-browser")
    database_url = sqlite_url(workdir)
    seed_accounts(database_url)
    number = file_pothole(database_url, sender=CITIZEN)
    file_pothole(
        database_url,
        sender="kakao-other",
        days_ago=20,
        category="streetlight",
        location_text="덕양구 화정동 화정역 2번 출구",
        description="가로등이 꺼져 있어요",
        photo_url=None,
    )
    file_park_complaint(database_url)
    report_sinkhole(database_url)
    staff = StaffServer(database_url, workdir).start()
    port = free_port()
    actions = action_server_service(
        port,
        base_env(SOTONG_DATABASE_URL=database_url, KAKAO_BOT_ID="", KAKAO_REST_API_KEY="", KAKAO_EVENT_API_URL=""),
        workdir / "actions.log",
    ).start(timeout=120)
    yield {"staff": staff.url, "actions": f"http://127.0.0.1:{port}/webhook", "number": number, "db": database_url}
    actions.stop()
    staff.stop()


@pytest.fixture(scope="module")
def page(world):
    REPORTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="ko-KR")
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        yield page
        browser.close()


def check_status_in_chat(url: str, text: str) -> list[str]:
    """action_check_complaint_status over the action server's webhook, as Rasa calls it."""
    latest = {"text": text, "intent": {"name": "check_complaint_status", "confidence": 0.95}, "entities": []}
    events = [
        {"event": "action", "name": "action_session_start"},
        {"event": "session_started"},
        {"event": "user", "text": text, "parse_data": latest, "input_channel": "kakao"},
    ]
    tracker: dict[str, Any] = {
        "sender_id": CITIZEN,
        "slots": {},
        "latest_message": latest,
        "events": events,
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
        "latest_input_channel": "kakao",
    }
    body = {
        "next_action": "action_check_complaint_status",
        "sender_id": CITIZEN,
        "tracker": tracker,
        "domain": load_domain(),
        "version": rasa_sdk.__version__,
    }
    response = requests.post(url, json=body, headers=action_headers(), timeout=60)
    assert response.status_code == 200, response.text
    return [message.get("text") or "" for message in response.json()["responses"]]


def log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/tickets")
    expect(page).to_have_url(f"{base}/login?next=%2Ftickets")
    page.fill("input[name=username]", "road.kim")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/tickets")


def test_staff_work_a_ticket_and_the_citizen_hears_back_in_chat(world, page):
    base, number = world["staff"], world["number"]
    log_in(page, base)
    rows = page.locator("table.tickets tbody tr")
    expect(rows).to_have_count(3)  # road management's tickets only (not the park's)

    page.select_option("select[name=category]", "road_damage")  # the filter submits itself
    expect(page).to_have_url(re.compile(r"/tickets\?.*category=road_damage"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(number)
    page.screenshot(path=str(REPORTS / "staff_list.png"), full_page=True)

    page.click(f"text={number}")
    expect(page).to_have_url(f"{base}/tickets/{number}")
    expect(page.locator("#contact-masked")).to_have_text("연락처 있음 (비공개)")
    expect(page.locator("#reason-field")).to_be_hidden()  # starting work needs no reason

    page.select_option("#status-select", "in_progress")
    page.fill("#status-form textarea[name=message]", STATUS_MESSAGE)
    page.click("#status-form button[type=submit]")
    expect(page.locator(".flash.ok")).to_contain_text("상태를 바꿨어요")
    expect(page.locator("#ticket-status")).to_have_text("처리 중")

    page.fill("#reply-form textarea[name=body]", REPLY)
    page.click("#reply-form button[type=submit]")
    expect(page.locator(".flash.ok")).to_contain_text("시민에게 답변을 남겼어요")
    expect(page.locator(".history-reply")).to_contain_text(REPLY)
    page.select_option("#status-select", "rejected")
    expect(page.locator("#reason-field")).to_be_visible()  # a rejection needs one
    page.screenshot(path=str(REPORTS / "staff_detail.png"), full_page=True)

    said = check_status_in_chat(world["actions"], f"{number} 어떻게 됐어요?")
    assert "상태: 처리 중" in said[0]
    notices = said[-1]
    assert notices.startswith("📬") and STATUS_MESSAGE in notices and REPLY in notices
    again = check_status_in_chat(world["actions"], f"{number} 어떻게 됐어요?")
    assert len(again) == 1 and REPLY not in again[0]  # shown once

    page.reload()
    expect(page.locator(".history")).to_contain_text("챗봇 조회에서 알림을 확인함")


def test_dashboard_updates_live(world, page):
    base = world["staff"]
    page.goto(f"{base}/dashboard")
    expect(page.locator("#live-state")).to_contain_text("실시간 연결됨")
    expect(page.locator("#trend-chart svg rect")).to_have_count(28)
    expect(page.locator("#emergencies li")).to_have_count(1)
    report_sinkhole(world["db"], sender="kakao-new")
    expect(page.locator("#emergencies li")).to_have_count(2, timeout=10000)  # no reload
    page.screenshot(path=str(REPORTS / "staff_dashboard.png"), full_page=True)
