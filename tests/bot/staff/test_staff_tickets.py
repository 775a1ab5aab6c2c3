"""Ticket work below the web layer, on SQLite and (when SOTONG_TEST_POSTGRES_URL is set) PostgreSQL:
transitions, assignment, transfer through the outbox, notes versus replies, citizen notices
(queued for the chat, or sent through a local stand-in of the Kakao Event API), the append-only
audit log, list filters and the dashboard figures."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DatabaseError

from bot.city import get_city_config
from bot.delivery import DeliverySettings, Dispatcher
from bot.delivery.outbox import OutboxEntry, OutboxState
from bot.staff.accounts import Account, list_accounts
from bot.staff.audit import AuditEntry, AuditLogIsAppendOnly
from bot.staff.dashboard import DashboardFigures
from bot.staff.errors import AccessDenied, ActionRefused
from bot.staff.ticket_actions import StaffMember, TicketDesk
from bot.staff.ticket_queries import TicketFilters, TicketQueries
from bot.staff.ticket_records import NoteKind
from bot.subscriptions.event_api import EventApiSettings
from bot.tickets.models import Ticket, TicketEvent, TicketStatus
from bot.tickets.notices import (
    CITIZEN_NOTICE_METHOD,
    CitizenNotice,
    citizen_notice_senders,
    pending_notices_text,
    take_pending_notices,
)
from tests.databases import BACKENDS, database_url_for
from tests.kakao_helpers import EventApiStandIn
from tests.staff_support import (
    ROAD,
    close_sessions,
    file_park_complaint,
    file_pothole,
    report_sinkhole,
    seed_accounts,
    sessions_for,
    ticket_store,
)

NOT_CONFIGURED = EventApiSettings()
OWNER = "kakao-owner-1"


@pytest.fixture(params=BACKENDS)
def db(request, tmp_path) -> str:
    with database_url_for(request.param, tmp_path) as url:
        seed_accounts(url)
        yield url
        close_sessions(url)


def accounts(db: str) -> dict[str, Account]:
    return {account.username: account for account in list_accounts(sessions_for(db))}


def desk(db: str, event_api: EventApiSettings = NOT_CONFIGURED) -> TicketDesk:
    return TicketDesk(sessions_for(db), get_city_config, event_api=lambda: event_api)


def member(db: str, username: str = "road.kim") -> StaffMember:
    return StaffMember(accounts(db)[username], "127.0.0.1")


def read(db: str, query):
    with sessions_for(db)() as session:
        return session.execute(query).scalars().all()


# --- status ------------------------------------------------------------------------------------------


def test_status_moves_are_stored_with_history_audit_and_a_notice(db):
    number = file_pothole(db)
    work = desk(db)
    work.change_status(member(db), number, TicketStatus.IN_PROGRESS)
    work.change_status(member(db), number, TicketStatus.RESOLVED, message="오늘 오후 보수를 마쳤어요.")
    (ticket,) = read(db, select(Ticket).where(Ticket.number == number))
    assert ticket.status is TicketStatus.RESOLVED
    events = read(db, select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id))
    assert [(e.old_status, e.new_status, e.actor) for e in events[1:]] == [
        ("received", "in_progress", "road.kim"),
        ("in_progress", "resolved", "road.kim"),
    ]
    audit = read(db, select(AuditEntry).where(AuditEntry.ticket_id == ticket.id).order_by(AuditEntry.id))
    assert [(a.action, a.detail["new"]) for a in audit] == [
        ("ticket.status_changed", "in_progress"),
        ("ticket.status_changed", "resolved"),
    ]
    notices = take_pending_notices(sessions_for(db), OWNER)
    assert [n.kind for n in notices] == ["status", "status"]
    assert "처리가 완료되었어요" in notices[1].text and "오늘 오후 보수를 마쳤어요." in notices[1].text
    assert take_pending_notices(sessions_for(db), OWNER) == []  # each is shown once


@pytest.mark.parametrize(
    "moves, refused",
    [
        ([TicketStatus.RESOLVED, TicketStatus.RESOLVED], "바꿀 수 없어요"),
        ([TicketStatus.IN_PROGRESS, TicketStatus.RECEIVED], "바꿀 수 없어요"),
        ([TicketStatus.REJECTED], "사유"),
    ],
)
def test_invalid_moves_and_missing_reasons_are_refused(db, moves, refused):
    number = file_pothole(db)
    work = desk(db)
    with pytest.raises(ActionRefused, match=refused):
        for move in moves:
            work.change_status(member(db), number, move)


def test_rejection_and_reopening_carry_a_reason_to_the_citizen(db):
    number = file_pothole(db)
    work = desk(db)
    work.change_status(member(db), number, TicketStatus.REJECTED, reason="사유지 도로라 시에서 보수할 수 없어요.")
    with pytest.raises(ActionRefused):
        work.change_status(member(db), number, TicketStatus.IN_PROGRESS)  # reopening needs a reason
    work.change_status(member(db), number, TicketStatus.IN_PROGRESS, reason="재확인 결과 시 도로예요.")
    texts = [n.text for n in take_pending_notices(sessions_for(db), OWNER)]
    assert "사유: 사유지 도로라" in texts[0] and "사유: 재확인 결과" in texts[1]


def test_a_stale_form_does_not_overwrite_a_newer_status(db):
    number = file_pothole(db)
    work = desk(db)
    work.change_status(member(db, "road.lee"), number, TicketStatus.IN_PROGRESS)
    with pytest.raises(ActionRefused, match="먼저"):
        work.change_status(member(db), number, TicketStatus.RESOLVED, expected_status=TicketStatus.RECEIVED)


def test_another_departments_staff_cannot_act(db):
    number = file_park_complaint(db)
    with pytest.raises(AccessDenied):
        desk(db).change_status(member(db), number, TicketStatus.IN_PROGRESS)
    with pytest.raises(AccessDenied):
        desk(db).reveal_contact(member(db), number)
    desk(db).change_status(member(db, "chief.park"), number, TicketStatus.IN_PROGRESS)  # a supervisor may


# --- assignment --------------------------------------------------------------------------------------


def test_accept_assigns_and_starts_and_assigning_stays_in_the_department(db):
    number = file_pothole(db)
    work = desk(db)
    work.accept(member(db), number)
    queries = TicketQueries(sessions_for(db), get_city_config)
    detail = queries.detail(accounts(db)["road.kim"], number)
    assert detail.row.status is TicketStatus.IN_PROGRESS and detail.row.assignee == "김도로"
    work.assign(member(db), number, accounts(db)["road.lee"].id)
    assert queries.detail(accounts(db)["road.kim"], number).row.assignee == "이도로"
    with pytest.raises(ActionRefused):
        work.assign(member(db), number, accounts(db)["park.choi"].id)
    mine = queries.list_page(accounts(db)["road.lee"], TicketFilters(mine=True), 25)
    assert [row.number for row in mine.rows] == [number]
    history = [item.what for item in queries.detail(accounts(db)["road.kim"], number).history]
    assert "담당자 배정: 김도로" in history and "담당자 배정: 이도로" in history


# --- transfer ------------------------------------------------------------------------------------------


def test_transfer_reroutes_through_the_outbox_and_tells_owner_and_watchers(db):
    number = file_pothole(db)
    assert ticket_store(db).join(number, "kakao-watcher").value == "joined"
    work = desk(db)
    work.accept(member(db), number)
    work.transfer(member(db), number, "traffic_policy", "신호등 주변 도로라 교통정책과 소관이에요.")
    (ticket,) = read(db, select(Ticket).where(Ticket.number == number))
    assert ticket.department_id == "traffic_policy" and ticket.status is TicketStatus.RECEIVED
    events = read(db, select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id))
    assert [(e.old_status, e.new_status) for e in events[-2:]] == [
        ("in_progress", "transferred"),
        ("transferred", "received"),
    ]
    entries = read(db, select(OutboxEntry).where(OutboxEntry.ticket_id == ticket.id).order_by(OutboxEntry.id))
    transferred = entries[-1]
    assert (transferred.target_kind, transferred.target_id) == ("department", "traffic_policy")
    assert transferred.destination.endswith("/departments/traffic_policy")
    assert transferred.payload["event"] == "ticket.transferred"
    assert transferred.payload["transfer"]["from_department"]["id"] == ROAD
    assert transferred.payload["ticket"]["department"]["id"] == "traffic_policy"
    with pytest.raises(AccessDenied):  # no longer road management's
        TicketQueries(sessions_for(db), get_city_config).detail(accounts(db)["road.kim"], number)
    owner = take_pending_notices(sessions_for(db), OWNER)
    watcher = take_pending_notices(sessions_for(db), "kakao-watcher")
    assert "교통정책과(으)로 바뀌었어요" in owner[-1].text and "교통정책과(으)로 바뀌었어요" in watcher[-1].text


def test_transfer_needs_a_reason_and_another_department(db):
    number = file_pothole(db)
    with pytest.raises(ActionRefused):
        desk(db).transfer(member(db), number, "traffic_policy", " ")
    with pytest.raises(ActionRefused):
        desk(db).transfer(member(db), number, ROAD, "같은 부서")
    with pytest.raises(ActionRefused):
        desk(db).transfer(member(db), number, "no_such_department", "사유")


# --- notes, replies and notices -------------------------------------------------------------------------


def test_replies_reach_the_owner_only_and_internal_notes_nobody(db):
    number = file_pothole(db)
    ticket_store(db).join(number, "kakao-watcher")
    work = desk(db)
    work.add_note(member(db), number, "현장 확인 필요. 민원인 010-2345-6789", NoteKind.INTERNAL)
    work.add_note(member(db), number, "내일 오전에 현장을 확인할게요.", NoteKind.REPLY)
    owner = take_pending_notices(sessions_for(db), OWNER)
    assert len(owner) == 1 and owner[0].kind == "reply" and "내일 오전에 현장을 확인할게요." in owner[0].text
    assert take_pending_notices(sessions_for(db), "kakao-watcher") == []
    message = pending_notices_text(owner)
    assert message.startswith("📬") and number in message
    detail = TicketQueries(sessions_for(db), get_city_config).detail(accounts(db)["road.kim"], number)
    kinds = [(item.kind, item.text) for item in detail.history if item.kind in ("internal", "reply")]
    assert kinds == [("internal", "현장 확인 필요. 민원인 010-2345-6789"), ("reply", "내일 오전에 현장을 확인할게요.")]
    audit = read(db, select(AuditEntry).where(AuditEntry.action == "ticket.note_added"))
    assert "010-2345-6789" not in audit[0].detail_json  # the log holds lengths and ids, not the text


def test_notices_of_one_ticket_only(db):
    first, second = file_pothole(db), file_pothole(db, location_text="덕양구 화정동 화정역 앞")
    work = desk(db)
    work.add_note(member(db), first, "첫 번째 답변", NoteKind.REPLY)
    work.add_note(member(db), second, "두 번째 답변", NoteKind.REPLY)
    only_second = take_pending_notices(sessions_for(db), OWNER, ticket_number=second)
    assert [n.ticket_number for n in only_second] == [second]
    assert [n.ticket_number for n in take_pending_notices(sessions_for(db), OWNER)] == [first]


@pytest.fixture
def event_api():
    stand_in = EventApiStandIn()
    yield stand_in
    stand_in.close()


def dispatcher(db: str, settings: EventApiSettings) -> Dispatcher:
    delivery = DeliverySettings(max_attempts=1)
    return Dispatcher(sessions_for(db), delivery, senders=citizen_notice_senders(settings))


def test_with_the_event_api_configured_a_reply_goes_to_kakao_and_not_again_in_chat(db, event_api):
    settings = EventApiSettings(bot_id="test-bot", rest_api_key="rest-key", endpoint_override=event_api.url)
    number = file_pothole(db)
    desk(db, settings).add_note(member(db), number, "보수 일정은 다음 주 월요일이에요.", NoteKind.REPLY)
    (entry,) = read(db, select(OutboxEntry).where(OutboxEntry.send_method == CITIZEN_NOTICE_METHOD))
    assert entry.state is OutboxState.PENDING
    assert take_pending_notices(sessions_for(db), OWNER) == []  # on its way by Kakao
    # Outbox entries of the ticket document itself have no sender here: only the notice is sent.
    report = dispatcher(db, settings).run_once()
    assert report.delivered == 1
    (sent,) = event_api.requests
    assert sent["authorization"] == "KakaoAK rest-key"
    assert sent["body"]["user"] == [{"type": "botUserKey", "id": OWNER}]
    assert "보수 일정은 다음 주 월요일이에요." in sent["body"]["event"]["data"]["text"]
    assert sent["body"]["params"]["ticket_number"] == number
    assert take_pending_notices(sessions_for(db), OWNER) == []
    detail = TicketQueries(sessions_for(db), get_city_config).detail(accounts(db)["road.kim"], number)
    assert "카카오톡으로 알림을 보냄" in [item.what for item in detail.history]


def test_a_notice_kakao_could_not_deliver_is_shown_in_chat(db, event_api):
    settings = EventApiSettings(bot_id="test-bot", rest_api_key="rest-key", endpoint_override=event_api.url)
    event_api.fail = True
    number = file_pothole(db)
    desk(db, settings).change_status(member(db), number, TicketStatus.IN_PROGRESS)
    dispatcher(db, settings).run_once()
    entries = read(db, select(OutboxEntry).where(OutboxEntry.send_method == CITIZEN_NOTICE_METHOD))
    assert [entry.state for entry in entries] == [OutboxState.DEAD]
    notices = take_pending_notices(sessions_for(db), OWNER)
    assert len(notices) == 1 and "처리를 시작했어요" in notices[0].text


def test_open311_tickets_get_no_kakao_notice(db):
    number = file_pothole(db, sender="open311:partner:device-1")
    desk(db).add_note(member(db), number, "답변", NoteKind.REPLY)
    assert read(db, select(CitizenNotice)) == []


# --- the audit log ------------------------------------------------------------------------------------


def test_the_audit_log_is_append_only(db):
    number = file_pothole(db)
    desk(db).change_status(member(db), number, TicketStatus.IN_PROGRESS)
    sessions = sessions_for(db)
    for statement in ("UPDATE staff_audit_log SET actor = 'someone-else'", "DELETE FROM staff_audit_log"):
        with pytest.raises(DatabaseError), sessions.begin() as session:
            session.execute(text(statement))
    with pytest.raises((AuditLogIsAppendOnly, DatabaseError)), sessions.begin() as session:
        session.execute(update(AuditEntry).values(action="edited"))
    with pytest.raises(AuditLogIsAppendOnly), sessions.begin() as session:
        entry = session.execute(select(AuditEntry)).scalars().first()
        entry.action = "edited"
    with pytest.raises(AuditLogIsAppendOnly), sessions.begin() as session:
        session.delete(session.execute(select(AuditEntry)).scalars().first())
    assert {entry.actor for entry in read(db, select(AuditEntry))} >= {"road.kim", "test-setup"}


# --- list and dashboard -----------------------------------------------------------------------------


def test_list_filters_search_sort_and_pages(db):
    old = file_pothole(db, days_ago=20, location_text="덕양구 화정동 화정역 2번 출구", sender="kakao-a")
    new = file_pothole(db, sender="kakao-b")
    emergency = report_sinkhole(db)
    file_park_complaint(db)
    queries = TicketQueries(sessions_for(db), get_city_config)
    road = accounts(db)["road.kim"]

    def numbers(**filters) -> list[str]:
        return [row.number for row in queries.list_page(road, TicketFilters(**filters), 25).rows]

    assert numbers() == [old, emergency, new]  # due date first; the park ticket is not road management's
    assert numbers(sort="-created") == [emergency, new, old]
    assert numbers(overdue=True) == [old]
    assert numbers(urgent=True) == [emergency]
    assert numbers(category="emergency") == [emergency]
    assert numbers(district="덕양구") == [old]
    assert numbers(search="화정역") == [old]
    assert numbers(search=new.lower()[-6:]) == [new]
    assert numbers(status="open") == [old, emergency, new]
    desk(db).change_status(member(db), new, TicketStatus.RESOLVED)
    assert numbers(status="resolved") == [new] and numbers(status="open") == [old, emergency]
    first = queries.list_page(road, TicketFilters(), 2)
    second = queries.list_page(road, TicketFilters(page=2), 2)
    assert (first.total, first.pages, len(first.rows), len(second.rows)) == (3, 2, 2, 1)
    with pytest.raises(AccessDenied):
        queries.list_page(road, TicketFilters(department="parks"), 25)


def test_filters_from_query_parameters_ignore_unknown_values():
    config = get_city_config()
    filters = TicketFilters.from_args(
        {
            "status": "bogus",
            "category": "road_damage",
            "overdue": "1",
            "page": "x",
            "sort": "-created",
            "q": " 주엽 ",
            "district": "없는구",
        },
        config,
    )
    assert (
        filters.status,
        filters.category,
        filters.overdue,
        filters.page,
        filters.sort,
        filters.search,
        filters.district,
    ) == (None, "road_damage", True, 1, "-created", "주엽", None)
    assert filters.query_args(page=2) == {
        "category": "road_damage",
        "overdue": "1",
        "sort": "-created",
        "q": "주엽",
        "page": "2",
    }


def test_dashboard_figures_are_scoped_and_complete(db):
    file_pothole(db, days_ago=20, sender="kakao-a")
    resolved = file_pothole(db, sender="kakao-b")
    report_sinkhole(db)
    file_park_complaint(db)
    desk(db).change_status(member(db), resolved, TicketStatus.RESOLVED)
    figures = DashboardFigures(sessions_for(db), get_city_config)
    road = figures.snapshot(accounts(db)["road.kim"])
    everyone = figures.snapshot(accounts(db)["chief.park"])
    assert road["scope"] == "도로관리과" and everyone["scope"] == "전체 부서"
    assert {item["key"]: item["count"] for item in road["by_status"]}["resolved"] == 1
    assert road["open_total"] == 2 and everyone["open_total"] == 3
    assert {item["key"] for item in everyone["by_department"]} == {ROAD, "parks"}
    assert {item["label"] for item in road["by_category"]} == {"도로 파손", "긴급 신고"}
    assert road["overdue"]["total"] == 1 and road["overdue"]["tickets"][0]["days_overdue"] > 0
    assert [item["label"] for item in road["emergencies_today"]] == ["땅꺼짐(싱크홀)"]
    assert len(road["trend"]) == 14
    assert road["trend"][-1]["created"] == 2 and road["trend"][-1]["closed"] == 1
    assert figures.snapshot(accounts(db)["road.kim"])["version"] == road["version"]
    desk(db).add_note(member(db), resolved, "메모", NoteKind.INTERNAL)
    desk(db).change_status(member(db), resolved, TicketStatus.IN_PROGRESS, reason="재처리")
    assert figures.snapshot(accounts(db)["road.kim"])["version"] != road["version"]
