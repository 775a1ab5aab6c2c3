"""The training inbox end to end, in a real headless Chromium: a citizen's message that the test
model misreads goes over the Kakao endpoint of the running stack (Rasa → masking tracker store →
SignalBroker → Sotong database), shows up masked in the trainer's inbox and in
`python -m bot.trainer inbox --json`; the trainer picks an entity on the tokenizer's boundaries
and labels it; the reviewed YAML gains the example and passes the lint. Department staff get 403
on the inbox; a trainer gets 403 on tickets. Screenshots: reports/training_inbox.png and
reports/training_report.png."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from tests.bot.staff.test_staff_browser import CHROMIUM, CHROMIUM_FLAGS, REPORTS, chromium_or_skip
from tests.kakao_helpers import post_skill, skill_payload
from tests.stack import ROOT, VENV_BIN, base_env
from tests.staff_support import ACCOUNTS, PASSWORD, StaffServer, file_pothole, seed_accounts, sessions_for

pytestmark = pytest.mark.integration  # starts the console and Chromium

PHONE, MASKED_PHONE = "010-2345-6789", "010-****-6789"
# A message the city cannot place; the citizen then says "아니에요, 그게 아니라요" to the answer: a
# signal whatever the test model's confidence (a fallback or a low-confidence one as well, if so).
MESSAGE = "일산동구 호수공원 유니콘 먹이 주기 행사 언제 해요 연락처 " + PHONE
DENIAL = "아니에요 그게 아니라요"
CITIZEN = "kakao-trainee-1"
INTENT = "report_complaint"


def wait_for_signal(sessions, text_part: str, timeout: float = 30.0):
    from bot.trainer.signals import TrainingSignal

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sessions() as session:
            rows = [row for row in session.query(TrainingSignal).all() if text_part in row.text]
        if rows:
            return rows
        time.sleep(0.5)
    raise AssertionError(f"no training signal with {text_part!r} within {timeout} s")


@pytest.fixture(scope="module")
def world(rasa_stack, tmp_path_factory):
    chromium_or_skip()
    workdir = tmp_path_factory.mktemp("training-browser")
    database_url = rasa_stack.database_url
    seed_accounts(database_url, {**{name: ACCOUNTS[name] for name in ("road.kim",)}, "train.han": ("trainer", None)})
    number = file_pothole(database_url, sender="kakao-owner-9")
    reviewed_dir, held_out = workdir / "reviewed", workdir / "held_out.yml"
    extra = {"SOTONG_REVIEWED_DIR": str(reviewed_dir), "SOTONG_HELD_OUT_FILE": str(held_out)}
    staff = StaffServer(database_url, workdir, env_extra=extra).start()
    yield {
        "staff": staff.url,
        "db": database_url,
        "stack": rasa_stack,
        "number": number,
        "env": extra,
        "reviewed": reviewed_dir / "inbox.yml",
        "held_out": held_out,
    }
    staff.stop()


@pytest.fixture(scope="module")
def browser():
    REPORTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def new_page(browser) -> Page:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="ko-KR")
    context.set_default_timeout(120_000)  # the first inbox page starts the tokenizer (Okt's JVM) on a loaded machine
    return context.new_page()


def log_in(page: Page, base: str, username: str, path: str) -> None:
    page.goto(f"{base}/login?next={path.replace('/', '%2F')}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_a_misread_kakao_message_is_labelled_into_reviewed_data(world, browser):
    stack, base = world["stack"], world["staff"]
    text = MESSAGE
    for said in (MESSAGE, DENIAL):
        response = post_skill(stack.kakao_url, skill_payload(said, CITIZEN), stack.kakao_secret, timeout=30)
        assert response.status_code == 200, response.text
    rows = wait_for_signal(sessions_for(world["db"]), MASKED_PHONE)
    assert all("2345-6789" not in row.text for row in rows)
    assert {row.kind for row in rows} <= {"fallback", "low_confidence", "denied"}
    assert rows[0].model_id and rows[0].top3_list() and rows[0].predicted_intent

    cli = subprocess.run(
        [str(VENV_BIN / "python"), "-m", "bot.trainer", "inbox", "--json"],
        cwd=ROOT,
        env=base_env(SOTONG_DATABASE_URL=world["db"]),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr[-2000:]
    groups = json.loads(cli.stdout)
    assert any(MASKED_PHONE in group["text"] for group in groups)
    assert PHONE not in cli.stdout

    page = new_page(browser)
    log_in(page, base, "train.han", "/training")
    expect(page).to_have_url(f"{base}/training")
    group = page.locator(".signal-group", has_text=MASKED_PHONE).first
    expect(group.locator(".group-text")).to_contain_text(MASKED_PHONE)
    expect(page.locator("body")).not_to_contain_text(PHONE)
    tokens = group.locator(".token")
    expect(tokens.first).to_be_visible()
    first_token = tokens.first.inner_text()
    assert text.startswith(first_token)  # the tokenizer's first cut is the place name's end
    tokens.first.click()
    group.locator(".entity-name").select_option("location")
    group.locator(".add-entity").click()
    expect(group.locator(".entity-list li")).to_have_text(f"{first_token} → location")
    group.locator("select[name=intent]").select_option(INTENT)
    page.screenshot(path=str(REPORTS / "training_inbox.png"), full_page=True)
    group.locator("button[value=training]").click()
    expect(page.locator(".flash.ok")).to_contain_text("학습 데이터에 예문을 추가했어요", timeout=180_000)
    expect(page.locator(".signal-group", has_text=MASKED_PHONE)).to_have_count(0)

    written = world["reviewed"].read_text(encoding="utf-8")
    examples = RasaYAMLReader().reads(written).intent_examples
    assert [(m.get("intent"), m.get("text")) for m in examples] == [(INTENT, rows[0].text)]
    assert [(e["entity"], e["value"]) for e in examples[0].get("entities")] == [("location", first_token)]
    assert not world["held_out"].exists()  # training or held-out, never both
    check = subprocess.run(
        [str(VENV_BIN / "python"), "-m", "bot.trainer", "check"],
        cwd=ROOT,
        env=base_env(SOTONG_DATABASE_URL=world["db"], **world["env"]),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]
    assert "0 errors" in check.stdout

    from bot.staff.audit import recent_entries

    actions = [entry.action for entry in recent_entries(sessions_for(world["db"]), actor="train.han")]
    assert "training.labelled" in actions

    page.goto(f"{base}/training/report")
    expect(page.locator("#report-chart svg rect.bar-unanswered, #report-chart svg rect.bar-misread")).not_to_have_count(
        0
    )
    expect(page.locator("#report-table")).to_contain_text(MASKED_PHONE)
    page.screenshot(path=str(REPORTS / "training_report.png"), full_page=True)
    csv_text = page.request.get(f"{base}/training/report.csv").text()
    assert MASKED_PHONE in csv_text and PHONE not in csv_text


def test_trainers_see_no_tickets(world, browser):
    base = world["staff"]
    page = new_page(browser)
    log_in(page, base, "train.han", "/training")
    for path in ("/tickets", f"/tickets/{world['number']}", "/dashboard", "/deliveries/dead", "/admin/accounts"):
        response = page.goto(f"{base}{path}")
        assert response.status == 403, path
    assert page.request.get(f"{base}/api/tickets").status in (401, 403)
    expect(page.locator(".menu")).not_to_contain_text("민원 목록")


def test_department_staff_cannot_open_the_inbox(world, browser):
    base = world["staff"]
    page = new_page(browser)
    log_in(page, base, "road.kim", "/tickets")
    for path in ("/training", "/training/report", "/training/groups.json", "/training/report.csv"):
        response = (
            page.goto(f"{base}{path}") if not path.endswith((".json", ".csv")) else page.request.get(f"{base}{path}")
        )
        assert response.status == 403, path
    expect(page.locator(".menu")).not_to_contain_text("학습 수신함")
    blocked = page.request.post(f"{base}/training/1/dismiss", form={"csrf_token": "x"})
    assert blocked.status == 403
