"""Ticket store on a real SQLite file: numbering, one-transaction outbox, duplicates, watchers,
owner-only lookups, business-day deadlines and input hygiene."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from bot.city import get_city_config
from bot.delivery.outbox import OutboxEntry, OutboxState, open_contacts
from bot.privacy.contacts import reveal_phone
from bot.tickets import (
    ComplaintDraft,
    EmergencyReport,
    JoinOutcome,
    Ticket,
    TicketInputError,
    TicketStatus,
    TicketStore,
    open_database,
)
from bot.tickets.calendar import BusinessCalendar
from bot.tickets.contacts import encrypt_stored_contacts
from bot.tickets.numbers import parse_ticket_number
from bot.tickets.phone import normalise_mobile_number
from tests.databases import BACKENDS, database_url_for

KST = timezone(timedelta(hours=9))


class FakeClock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path: Path):
    with database_url_for(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 10, 10, 0, tzinfo=KST))  # a Tuesday


def make_store(database_url: str, clock=None) -> TicketStore:
    return TicketStore(
        open_database(database_url),
        get_city_config(),
        clock=clock or FakeClock(datetime(2026, 3, 10, 10, 0, tzinfo=KST)),
    )


@pytest.fixture
def store(database_url: str, clock: FakeClock) -> TicketStore:
    return make_store(database_url, clock)


def pothole(
    sender: str = "kakao-user-1", where: str = "일산서구 주엽1동 강선마을 14단지 앞", **changes
) -> ComplaintDraft:
    fields = dict(
        category="road_damage",
        location_text=where,
        description="도로에 큰 구멍이 났어요",
        sender_id=sender,
        contact_phone="010-1234-5678",
        consent_given=True,
    )
    fields.update(changes)
    return ComplaintDraft(**fields)


def count(store: TicketStore, model) -> int:
    with store.sessions() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


# --- numbering -------------------------------------------------------------------------------------


def test_numbers_are_sequential_per_year_in_city_time(store, clock):
    assert store.file_complaint(pothole()).number == "GY-2026-000001"
    assert store.file_complaint(pothole(where="마두동")).number == "GY-2026-000002"
    clock.now = datetime(2026, 12, 31, 16, 0, tzinfo=timezone.utc)  # already 2027 in Seoul
    assert store.file_complaint(pothole(where="풍동")).number == "GY-2027-000001"


def test_numbers_stay_unique_under_concurrent_filing(database_url):
    make_store(database_url)  # schema
    threads, per_thread, numbers, failures = 6, 8, [], []
    lock = threading.Lock()

    def file_many(worker: int) -> None:
        own_store = make_store(database_url)  # its own engine, like another process
        try:
            for index in range(per_thread):
                receipt = own_store.file_complaint(pothole(sender=f"user-{worker}", where=f"행신{index}동"))
                with lock:
                    numbers.append(receipt.number)
        except Exception as exc:  # surfaced by the assertion below
            failures.append(exc)

    workers = [threading.Thread(target=file_many, args=(worker,)) for worker in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not failures
    expected = {f"GY-2026-{sequence:06d}" for sequence in range(1, threads * per_thread + 1)}
    assert sorted(numbers) == sorted(expected)


def test_typed_ticket_numbers_are_normalised():
    assert parse_ticket_number("제 민원 gy-2026-123 어떻게 됐어요?", "GY") == "GY-2026-000123"
    assert parse_ticket_number("GY2026000123", "GY") == "GY-2026-000123"
    assert parse_ticket_number("AB-2026-000123", "GY") is None
    assert parse_ticket_number("민원 번호 몰라요", "GY") is None


# --- one transaction -------------------------------------------------------------------------------


def test_ticket_and_outbox_are_written_together(store):
    receipt = store.file_complaint(pothole())
    with store.sessions() as session:
        entry = session.execute(select(OutboxEntry)).scalar_one()
    assert entry.state == OutboxState.PENDING
    assert (entry.target_kind, entry.target_id, entry.send_method) == ("department", "road_management", "http")
    assert entry.payload["ticket"]["number"] == receipt.number
    assert open_contacts(entry.payload)["ticket"]["contact"]["phone"] == "010-1234-5678"
    assert "1234-5678" not in entry.payload_json  # sealed at rest (bot.delivery.outbox)
    assert entry.idempotency_key == f"{receipt.number}/ticket.created/department/road_management"


def test_failure_while_writing_leaves_nothing_behind(store, monkeypatch):
    def broken_document(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("bot.tickets.store.ticket_document", broken_document)
    with pytest.raises(RuntimeError):
        store.file_complaint(pothole())
    assert count(store, Ticket) == 0 and count(store, OutboxEntry) == 0
    monkeypatch.undo()
    assert store.file_complaint(pothole()).number == "GY-2026-000001"  # the number was not used up


def test_emergency_opens_urgent_ticket_and_alerts_agencies_of_the_district(store):
    receipt = store.report_emergency(EmergencyReport("fire", "kakao-user-9", "덕양구 화정동 은빛마을"))
    assert receipt.urgent and receipt.due_date == date(2026, 3, 10)
    assert "고양소방서" in receipt.alerted and "일산소방서" not in receipt.alerted
    with store.sessions() as session:
        targets = set(session.execute(select(OutboxEntry.target_kind, OutboxEntry.target_id)).all())
    assert ("department", "disaster_safety") in targets
    assert ("agency", "goyang_fire_station") in targets and ("agency", "goyang_police") in targets
    with store.sessions() as session:
        payloads = [entry.payload for entry in session.execute(select(OutboxEntry)).scalars()]
    assert all("contact" not in payload["ticket"] for payload in payloads if payload["recipient"]["kind"] == "agency")


# --- duplicates and watchers -----------------------------------------------------------------------


def test_open_duplicate_at_same_place_within_window(store, clock):
    filed = store.file_complaint(pothole())
    clock.advance(hours=71)
    duplicate = store.find_open_duplicate("road_damage", "주엽동 강선마을14단지 근처", "kakao-user-2")
    assert duplicate is not None and duplicate.number == filed.number
    assert duplicate.description is None and duplicate.location_text is None  # not the owner
    assert store.find_open_duplicate("road_damage", "주엽동 강선마을", "kakao-user-2")  # named inside
    assert store.find_open_duplicate("road_damage", "대화동 킨텍스", "kakao-user-2") is None
    assert store.find_open_duplicate("road_damage", "대화동 강선마을14단지", "kakao-user-2") is None
    assert store.find_open_duplicate("streetlight", "주엽동 강선마을14단지", "kakao-user-2") is None
    clock.advance(hours=2)  # past the 72-hour window of city.yml
    assert store.find_open_duplicate("road_damage", "주엽동 강선마을14단지", "kakao-user-2") is None


def test_category_window_override_and_closed_tickets(store, clock):
    filed = store.file_complaint(pothole(category="illegal_parking", where="백석동 흰돌마을 소방차 전용구역"))
    clock.advance(hours=2)
    assert store.find_open_duplicate("illegal_parking", "백석1동 흰돌마을 소방차 전용구역", "u2")
    clock.advance(hours=2)  # illegal_parking has a 3-hour window
    assert store.find_open_duplicate("illegal_parking", "백석1동 흰돌마을 소방차 전용구역", "u2") is None

    other = store.file_complaint(pothole(where="탄현동 큰마을"))
    store.change_status(other.number, TicketStatus.RESOLVED, actor="staff-1")
    assert store.find_open_duplicate("road_damage", "탄현동 큰마을", "u2") is None
    assert filed.number != other.number


def test_joining_a_ticket(store):
    filed = store.file_complaint(pothole())
    assert store.join(filed.number, "kakao-user-2") == JoinOutcome.JOINED
    assert store.join(filed.number, "kakao-user-2") == JoinOutcome.ALREADY_WATCHING
    assert store.join(filed.number, "kakao-user-1") == JoinOutcome.OWN_TICKET
    assert store.join("GY-2026-999999", "kakao-user-2") == JoinOutcome.NOT_OPEN

    watched = store.tickets_of("kakao-user-2")
    assert [view.number for view in watched] == [filed.number]
    assert not watched[0].is_owner and watched[0].description is None

    store.change_status(filed.number, TicketStatus.RESOLVED, actor="staff-1")
    assert store.join(filed.number, "kakao-user-3") == JoinOutcome.NOT_OPEN


# --- owner-only lookups ----------------------------------------------------------------------------


def test_only_the_owner_sees_a_ticket(store):
    filed = store.file_complaint(pothole())
    own = store.lookup(filed.number.lower(), "kakao-user-1")
    assert own.is_owner and own.description == "도로에 큰 구멍이 났어요"
    assert own.status_label == "접수" and own.department_name == "도로관리과"

    stranger = store.lookup(filed.number, "kakao-user-2")
    unknown = store.lookup("GY-2026-000777", "kakao-user-2")
    assert stranger is None and unknown is None
    assert store.lookup(filed.number, "") is None


def test_my_tickets_newest_first(store, clock):
    first = store.file_complaint(pothole())
    clock.advance(minutes=5)
    second = store.file_complaint(pothole(category="noise", where="장항동 공사장"))
    store.file_complaint(pothole(sender="someone-else"))
    assert [view.number for view in store.tickets_of("kakao-user-1")] == [second.number, first.number]
    assert store.tickets_of("nobody") == []


# --- business days ---------------------------------------------------------------------------------


def test_deadline_skips_weekend_and_chuseok():
    calendar = BusinessCalendar()
    # Received Monday 2026-09-21; Chuseok holidays Thu 24 - Sat 26. Day 1 is the day of receipt.
    assert calendar.processing_deadline(date(2026, 9, 21), 7) == date(2026, 10, 1)
    # Received on a Saturday: counting starts Monday; 3 Oct (Sat) and 5 Oct (substitute) skipped.
    assert calendar.processing_deadline(date(2026, 9, 26), 7) == date(2026, 10, 7)
    # Short periods are counted in working hours: the receipt day does not count.
    assert calendar.processing_deadline(date(2026, 9, 23), 2) == date(2026, 9, 29)


def test_city_extra_holiday_is_skipped():
    plain, with_extra = BusinessCalendar(), BusinessCalendar(extra_holidays=[date(2026, 3, 11)])
    assert plain.processing_deadline(date(2026, 3, 10), 7) == date(2026, 3, 18)
    assert with_extra.processing_deadline(date(2026, 3, 10), 7) == date(2026, 3, 19)


def test_receipt_carries_due_date_of_the_category(store):
    receipt = store.file_complaint(pothole())  # Tue 2026-03-10, 7 business days
    assert receipt.due_date == date(2026, 3, 18)
    tree = store.file_complaint(pothole(category="tree", where="화정동 가로수길"))  # 14 business days
    assert tree.due_date == date(2026, 3, 27)


# --- input hygiene ---------------------------------------------------------------------------------


def test_resident_registration_numbers_are_masked_before_storing(store):
    filed = store.file_complaint(pothole(description="제 주민번호는 900101-1234567 이에요"))
    view = store.lookup(filed.number, "kakao-user-1")
    assert "1234567" not in view.description and "900101-1******" in view.description


@pytest.mark.parametrize(
    "changes, field",
    [
        (dict(description="   "), "description"),
        (dict(description="가" * 1001), "description"),
        (dict(location_text=""), "location_text"),
        (dict(category="ufo_sighting"), "category"),
        (dict(consent_given=False), "contact_phone"),
        (dict(sender_id=""), "sender_id"),
    ],
)
def test_bad_input_is_refused(store, changes, field):
    with pytest.raises(TicketInputError) as raised:
        store.file_complaint(pothole(**changes))
    assert raised.value.field == field
    assert count(store, Ticket) == 0


def test_anonymous_complaint_without_consent(store):
    filed = store.file_complaint(pothole(contact_phone=None, consent_given=False))
    with store.sessions() as session:
        ticket = session.execute(select(Ticket)).scalar_one()
    assert filed.number == ticket.number
    assert ticket.contact_phone is None and ticket.consent_at is None and not ticket.consent_given


@pytest.mark.parametrize(
    "typed, canonical",
    [
        ("010-1234-5678", "010-1234-5678"),
        ("01012345678", "010-1234-5678"),
        ("010 1234 5678", "010-1234-5678"),
        ("+82 10-1234-5678", "010-1234-5678"),
        ("011-123-4567", "011-123-4567"),
        ("010-123-4567", None),
        ("02-123-4567", None),
        ("전화번호", None),
    ],
)
def test_mobile_numbers(typed, canonical):
    assert normalise_mobile_number(typed) == canonical


def test_encrypt_contacts_command_seals_numbers_stored_in_plain_text(store, database_url):
    """`python -m bot.tickets encrypt-contacts` for numbers written before encryption (or by a
    migration run without SOTONG_DATA_KEY); refused without a key; idempotent."""
    receipt = store.file_complaint(pothole())
    with store.sessions.begin() as session:  # as a database from before encryption holds it
        session.execute(update(Ticket).values(contact_phone="010-1234-5678"))
        session.execute(
            update(OutboxEntry).values(
                payload_json=json.dumps(
                    open_contacts(session.execute(select(OutboxEntry)).scalar_one().payload), ensure_ascii=False
                )
            )
        )
    root = Path(__file__).resolve().parents[3]

    def run(**env):
        return subprocess.run(
            [sys.executable, "-m", "bot.tickets", "--database-url", database_url, "encrypt-contacts"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **env},
        )

    assert run(SOTONG_DATA_KEY="").returncode == 1
    done = run()
    assert done.returncode == 0 and "encrypted 2 stored values" in done.stdout, done.stderr
    assert "encrypted 0 stored values" in run().stdout
    with store.sessions() as session:
        phone = session.execute(text("SELECT contact_phone FROM tickets")).scalar_one()
        payload = session.execute(text("SELECT payload_json FROM outbox")).scalar_one()
    assert reveal_phone(phone) == "010-1234-5678" and "1234-5678" not in phone + payload
    assert receipt.number in payload


def test_encrypt_contacts_command_seals_budget_proposal_numbers(database_url):
    """Budget proposals' numbers stored in plain text (before encryption) are sealed too."""
    import bot.budget.tables  # noqa: F401  (the budget models, for create_schema)
    from bot.storage.db import create_schema, make_engine

    engine = make_engine(database_url)
    create_schema(engine)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO budget_proposals (id, number, cycle_id, title, category, location_text, description, "
                    "expected_benefit, estimated_cost_won, contact_phone, consent_given, sender_id, created_at) VALUES "
                    "(1, 'PB-2026-0001', 'pb-2027', '그늘막', 'environment', '', '설명', '효과', 30000000, '010-2345-6789', "
                    ":yes, 'kakao-1', CURRENT_TIMESTAMP)"
                ),
                {"yes": True},
            )
            assert encrypt_stored_contacts(connection) == 1
            assert encrypt_stored_contacts(connection) == 0
        with engine.connect() as connection:
            phone = connection.execute(text("SELECT contact_phone FROM budget_proposals")).scalar_one()
    finally:
        engine.dispose()
    assert "2345-6789" not in phone and reveal_phone(phone) == "010-2345-6789"
