"""Retention (PIPA): conversations older than N days leave the tracker store; tickets and their
consent records stay. SQLite and PostgreSQL; the CLI once, with an endpoints file and scheduled."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from datetime import datetime, timezone

import pytest
from rasa.shared.core.domain import Domain
from sqlalchemy import select, text
from sqlalchemy.engine import create_engine

from bot.city import get_city_config
from bot.privacy.contacts import reveal_phone
from bot.privacy.retention import SECONDS_PER_DAY, delete_old_conversations
from bot.rasa_ext.sql_store import MaskingSQLStore
from bot.tickets import ComplaintDraft, Ticket, open_ticket_store
from tests.databases import BACKENDS, database_url_for
from tests.stack import ROOT, VENV_BIN, base_env

NOW = 1_800_000_000.0
DAY = SECONDS_PER_DAY


@pytest.fixture(params=BACKENDS)
def tracker_url(request, tmp_path):
    (tmp_path / "db").mkdir()  # where database_url_for puts the SQLite file
    with database_url_for(request.param, tmp_path) as url:
        yield url


def make_events_table(url: str) -> None:
    """The tracker store's own table, as Rasa creates it."""
    domain = Domain.load(str(ROOT / "domain.yml"))
    store = (
        MaskingSQLStore(domain=domain, dialect=url.split(":")[0], host=url)
        if not url.startswith("sqlite")
        else MaskingSQLStore(domain=domain, dialect="sqlite", db=url[len("sqlite:///") :])
    )
    store.engine.dispose()


def add_events(url: str, sender: str, *events) -> None:
    """events: (type_name, days_ago) pairs."""
    engine = create_engine(url, future=True)
    try:
        with engine.begin() as connection:
            for type_name, days_ago in events:
                timestamp = NOW - days_ago * DAY
                connection.execute(
                    text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (:s, :t, :ts, :d)"),
                    {
                        "s": sender,
                        "t": type_name,
                        "ts": timestamp,
                        "d": json.dumps({"event": type_name, "timestamp": timestamp}),
                    },
                )
    finally:
        engine.dispose()


def remaining(url: str) -> dict:
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT sender_id, timestamp FROM events ORDER BY id")).all()
    finally:
        engine.dispose()
    result: dict = {}
    for sender, timestamp in rows:
        result.setdefault(sender, []).append(round((NOW - timestamp) / DAY))
    return result


def session(days_ago: float, *later: float):
    return [("action", days_ago), ("session_started", days_ago)] + [("user", d) for d in later]


def populate(url: str) -> None:
    make_events_table(url)
    add_events(url, "idle-long-ago", *session(100, 100, 99))
    add_events(url, "came-back", *session(100, 100), *session(2, 2, 1))
    add_events(url, "spans-cutoff", *session(31, 31, 29))  # one session still going on at the cutoff
    add_events(url, "recent", *session(3, 3, 0))
    add_events(url, "old-then-mid", *session(60, 60), *session(40, 40), *session(31, 31, 10))


def test_old_conversations_go_and_live_sessions_stay(tracker_url):
    populate(tracker_url)
    engine = create_engine(tracker_url, future=True)
    try:
        report = delete_old_conversations(engine, days=30, now=NOW)
    finally:
        engine.dispose()
    left = remaining(tracker_url)
    assert "idle-long-ago" not in left
    assert left["came-back"] == [2, 2, 2, 1]
    assert left["spans-cutoff"] == [31, 31, 31, 29]
    assert left["recent"] == [3, 3, 3, 0]
    assert left["old-then-mid"] == [31, 31, 31, 10]
    assert report.events_deleted == 4 + 3 + 3 + 3
    assert (report.conversations_before, report.conversations_after) == (5, 4)


def test_dry_run_counts_only(tracker_url):
    populate(tracker_url)
    engine = create_engine(tracker_url, future=True)
    try:
        report = delete_old_conversations(engine, days=30, now=NOW, dry_run=True)
    finally:
        engine.dispose()
    assert report.events_deleted == 13
    assert sum(len(v) for v in remaining(tracker_url).values()) == 4 + 7 + 4 + 4 + 10


def test_no_tracker_table_yet(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}", future=True)
    assert delete_old_conversations(engine, days=1).events_deleted == 0


def test_tickets_and_their_consent_stay(tracker_url):
    """Even when tickets and conversations share one database, retention only touches `events`."""
    populate(tracker_url)
    created = datetime.fromtimestamp(NOW - 100 * DAY, timezone.utc)
    store = open_ticket_store(get_city_config(), tracker_url, clock=lambda: created)
    receipt = store.file_complaint(
        ComplaintDraft(
            category="streetlight",
            location_text="일산동구 백석동 흰돌마을 5단지",
            description="가로등이 꺼졌어요",
            sender_id="idle-long-ago",
            contact_phone="010-1234-5678",
            consent_given=True,
        )
    )
    engine = create_engine(tracker_url, future=True)
    try:
        delete_old_conversations(engine, days=30, now=NOW)
    finally:
        engine.dispose()
    assert "idle-long-ago" not in remaining(tracker_url)
    with store.sessions() as db:
        ticket = db.execute(select(Ticket).where(Ticket.number == receipt.number)).scalar_one()
    assert ticket.consent_given and ticket.consent_text_version
    assert ticket.consent_at == created and reveal_phone(ticket.contact_phone) == "010-1234-5678"


def run_cli(*args: str, env=None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV_BIN / "python"), "-m", "bot.privacy.retention", *args],
        cwd=ROOT,
        env=env or base_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_cli_with_tracker_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    make_events_table(url)
    now = time.time()
    engine = create_engine(url, future=True)
    with engine.begin() as connection:
        for sender, age in (("old", 40), ("new", 1)):
            connection.execute(
                text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (:s, 'user', :t, '{}')"),
                {"s": sender, "t": now - age * DAY},
            )
    engine.dispose()
    result = run_cli("--days", "30", "--tracker-url", url)
    assert result.returncode == 0, result.stderr
    assert "deleted 1 events; conversations 2 -> 1" in result.stderr


def test_cli_reads_the_tracker_store_from_an_endpoints_file(tmp_path):
    db = tmp_path / "tracker.db"
    make_events_table(f"sqlite:///{db}")
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        "tracker_store:\n  type: bot.rasa_ext.tracker_store.MaskingSQLTrackerStore\n"
        "  dialect: sqlite\n  db: ${RETENTION_TEST_DB}\n"
    )
    env = base_env(RETENTION_TEST_DB=str(db))
    result = run_cli("--days", "7", "--endpoints", str(endpoints), env=env)
    assert result.returncode == 0, result.stderr
    assert "deleted 0 events" in result.stderr
    bad = tmp_path / "memory.yml"
    bad.write_text("tracker_store:\n  type: InMemoryTrackerStore\n")
    assert run_cli("--days", "7", "--endpoints", str(bad)).returncode != 0


def test_scheduled_mode_runs_at_once_and_stops_on_sigterm(tmp_path):
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    make_events_table(url)
    log = tmp_path / "retention.log"
    process = subprocess.Popen(
        [
            str(VENV_BIN / "python"),
            "-m",
            "bot.privacy.retention",
            "--days",
            "30",
            "--tracker-url",
            url,
            "--every-hours",
            "24",
        ],
        cwd=ROOT,
        env=base_env(),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while "Retention (30 days" not in log.read_text() and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            time.sleep(0.2)
        assert "Retention (30 days" in log.read_text()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
