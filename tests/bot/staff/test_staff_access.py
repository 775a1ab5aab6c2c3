"""Access rules of the staff console on a real server: department scope (403 by URL, API and CSV
export alike), roles, CSRF, login throttling, session cookies, logout and disabled accounts,
security headers, and the logged reveal of a citizen's phone number."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.staff.audit import AuditEntry
from bot.tickets.models import Ticket, TicketStatus
from bot.tickets.store import open_database
from tests.staff_support import (
    PASSWORD,
    StaffClient,
    StaffServer,
    file_park_complaint,
    file_pothole,
    seed_accounts,
    sqlite_url,
)

pytestmark = pytest.mark.integration  # starts the staff console


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("staff-access")
    database_url = sqlite_url(workdir)
    seed_accounts(database_url)
    road_ticket = file_pothole(database_url)
    park_ticket = file_park_complaint(database_url)
    server = StaffServer(database_url, workdir).start()
    yield {"server": server, "db": database_url, "road": road_ticket, "park": park_ticket}
    server.stop()


@pytest.fixture(scope="module")
def road(world) -> StaffClient:
    return StaffClient.signed_in(world["server"].url, "road.kim")


def ticket_status(database_url: str, number: str) -> TicketStatus:
    with open_database(database_url)() as session:
        return session.execute(select(Ticket.status).where(Ticket.number == number)).scalar_one()


def audit_actions(database_url: str, actor: str):
    with open_database(database_url)() as session:
        return [
            row.action
            for row in session.execute(
                select(AuditEntry).where(AuditEntry.actor == actor).order_by(AuditEntry.id)
            ).scalars()
        ]


# --- department scope ----------------------------------------------------------------------------------


def test_staff_see_only_their_department_in_list_and_api(world, road):
    page = road.get("/tickets")
    assert page.status_code == 200
    assert world["road"] in page.text and world["park"] not in page.text
    api = road.get("/api/tickets").json()
    assert [row["number"] for row in api["tickets"]] == [world["road"]]


@pytest.mark.parametrize(
    "path",
    [
        "/tickets/{park}",
        "/api/tickets/{park}",
        "/tickets/export.csv?department=parks",
        "/api/tickets?department=parks",
        "/tickets?department=parks",
    ],
)
def test_another_departments_ticket_is_forbidden_by_url_api_and_export(world, road, path):
    response = road.get(path.format(park=world["park"]))
    assert response.status_code == 403
    assert world["park"] not in response.text


@pytest.mark.parametrize(
    "action, data",
    [
        ("status", {"status": "in_progress"}),
        ("reply", {"body": "안녕하세요"}),
        ("note", {"body": "메모"}),
        ("accept", {}),
        ("contact", {}),
        ("transfer", {"department": "road_management", "reason": "우리 일"}),
    ],
)
def test_another_departments_ticket_cannot_be_changed(world, road, action, data):
    response = road.post(f"/tickets/{world['park']}/{action}", data)
    assert response.status_code == 403
    assert ticket_status(world["db"], world["park"]) is TicketStatus.RECEIVED


def test_another_departments_ticket_cannot_be_changed_through_the_api(world, road):
    response = road.http.post(
        f"{world['server'].url}/api/tickets/{world['park']}/status",
        json={"status": "resolved"},
        headers={"X-CSRF-Token": road.csrf},
        timeout=30,
    )
    assert response.status_code == 403
    assert ticket_status(world["db"], world["park"]) is TicketStatus.RECEIVED


def test_export_is_scoped_and_neutralises_formulas(world, road):
    file_pothole(world["db"], sender="kakao-formula", description='=HYPERLINK("http://evil.example","클릭")')
    csv_text = road.get("/tickets/export.csv").content.decode("utf-8-sig")
    assert world["road"] in csv_text and world["park"] not in csv_text
    assert "'=HYPERLINK" in csv_text and "\n=HYPERLINK" not in csv_text and ",=HYPERLINK" not in csv_text
    assert "2345" not in csv_text and "6789" not in csv_text and "연락처 있음" in csv_text
    assert "tickets.exported" in audit_actions(world["db"], "road.kim")


def test_supervisor_sees_every_department(world):
    chief = StaffClient.signed_in(world["server"].url, "chief.park")
    assert chief.get(f"/tickets/{world['park']}").status_code == 200
    assert chief.get(f"/api/tickets/{world['road']}").status_code == 200
    numbers = {row["number"] for row in chief.get("/api/tickets").json()["tickets"]}
    assert {world["road"], world["park"]} <= numbers
    csv_text = chief.get("/tickets/export.csv?department=parks").content.decode("utf-8-sig")
    assert world["park"] in csv_text and world["road"] not in csv_text


@pytest.mark.parametrize(
    "username, path, status",
    [
        ("road.kim", "/notices", 403),
        ("road.kim", "/budget", 403),
        ("road.kim", "/admin/accounts", 403),
        ("road.kim", "/admin/audit", 403),
        ("chief.park", "/notices", 200),
        ("chief.park", "/budget", 200),
        ("chief.park", "/admin/accounts", 403),
        ("admin.jung", "/admin/accounts", 200),
        ("admin.jung", "/admin/routing", 200),
        ("admin.jung", "/admin/audit", 200),
        ("road.kim", "/dashboard", 200),
        ("road.kim", "/deliveries/dead", 200),
    ],
)
def test_role_pages(world, username, path, status):
    assert StaffClient.signed_in(world["server"].url, username).get(path).status_code == status


def test_each_role_starts_on_a_page_it_may_open(world):
    seed_accounts(world["db"], {"trainer.han": ("trainer", None)})
    for username, first_page in (("trainer.han", "/training"), ("road.kim", "/tickets")):
        client = StaffClient.signed_in(world["server"].url, username)
        home = client.get("/")
        assert home.status_code in (302, 303) and home.headers["location"] == first_page
        assert client.get(first_page).status_code == 200


def test_admin_only_actions_are_refused_to_a_supervisor(world):
    chief = StaffClient.signed_in(world["server"].url, "chief.park")
    assert chief.post("/admin/routing/reload").status_code == 403
    assert (
        chief.post("/admin/accounts", {"username": "mallory", "password": "x" * 12, "role": "admin"}).status_code == 403
    )


def test_not_signed_in_pages_redirect_and_api_answers_401(world):
    anonymous = StaffClient(world["server"].url)
    response = anonymous.get(f"/tickets/{world['road']}")
    assert response.status_code == 302 and response.headers["location"].startswith("/login?next=")
    assert anonymous.get("/api/tickets").status_code == 401
    assert anonymous.get("/api/dashboard/stream").status_code == 401


# --- CSRF --------------------------------------------------------------------------------------------


def test_forms_without_or_with_a_wrong_csrf_token_are_rejected(world, road):
    number = world["road"]
    assert road.post(f"/tickets/{number}/status", {"status": "in_progress"}, csrf=False).status_code == 403
    assert road.post(f"/tickets/{number}/status", {"status": "in_progress", "csrf_token": "forged"}).status_code == 403
    assert ticket_status(world["db"], number) is TicketStatus.RECEIVED
    # A token of another session does not work either.
    other = StaffClient.signed_in(world["server"].url, "road.lee")
    assert road.post(f"/tickets/{number}/note", {"body": "x", "csrf_token": other.csrf}).status_code == 403


def test_api_needs_the_csrf_header(world, road):
    url = f"{world['server'].url}/api/tickets/{world['road']}/status"
    assert road.http.post(url, json={"status": "in_progress"}, timeout=30).status_code == 403
    assert ticket_status(world["db"], world["road"]) is TicketStatus.RECEIVED


def test_cross_origin_post_is_rejected_even_with_the_token(world, road):
    response = road.post(f"/tickets/{world['road']}/note", {"body": "x"}, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403


def test_login_form_needs_its_csrf_cookie(world):
    client = StaffClient(world["server"].url)
    response = client.post("/login", {"username": "road.kim", "password": PASSWORD}, csrf=False)
    assert response.status_code == 403
    client.get("/login")
    response = client.post("/login", {"username": "road.kim", "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 403


# --- sessions and cookies ------------------------------------------------------------------------------


def test_session_cookie_is_httponly_and_samesite_lax(world):
    client = StaffClient(world["server"].url)
    login_page = client.get("/login")
    assert "HttpOnly" in login_page.headers["set-cookie"] and "SameSite=Strict" in login_page.headers["set-cookie"]
    response = client.post("/login", {"username": "road.kim", "password": PASSWORD})
    session_cookie = next(
        part
        for part in response.headers["set-cookie"].split(", sotong")
        if part.lstrip().startswith(("sotong_staff=", "_staff="))
    )
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie and "Path=/" in session_cookie
    assert "Secure" not in session_cookie  # plain HTTP here; SOTONG_STAFF_COOKIE_SECURE=1 behind TLS
    assert "strict-transport-security" not in response.headers


def test_logout_ends_the_session(world):
    client = StaffClient.signed_in(world["server"].url, "road.lee")
    cookie = client.http.cookies.get("sotong_staff")
    assert client.post("/logout").status_code == 302
    stale = StaffClient(world["server"].url)
    stale.http.cookies.set("sotong_staff", cookie)
    assert stale.get("/api/tickets").status_code == 401


def test_disabling_an_account_ends_its_sessions_at_once(world, tmp_path):
    seed_accounts(world["db"], {"temp.worker": ("staff", "road_management")})
    worker = StaffClient.signed_in(world["server"].url, "temp.worker")
    admin = StaffClient.signed_in(world["server"].url, "admin.jung")
    admin.get("/admin/accounts")
    assert admin.post("/admin/accounts/temp.worker/disable").status_code == 302
    assert worker.get("/api/tickets").status_code == 401
    assert StaffClient(world["server"].url).login("temp.worker").status_code == 401


def test_security_headers(world, road):
    response = road.get("/tickets")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


# --- throttling ---------------------------------------------------------------------------------------


def test_five_failures_lock_the_username_from_that_address(world):
    seed_accounts(world["db"], {"target.user": ("staff", "road_management")})
    attacker = StaffClient(world["server"].url)
    for _ in range(5):
        assert attacker.login("target.user", "wrong-password").status_code == 401
    blocked = attacker.login("target.user", PASSWORD)  # the right password no longer helps
    assert blocked.status_code == 429 and "잠시 로그인할 수 없어요" in blocked.text
    assert StaffClient(world["server"].url).login("road.kim").status_code == 302  # other usernames still work
    actions = audit_actions(world["db"], "target.user")
    assert actions.count("login.failed") == 5 and actions[-1] == "login.throttled"


def test_a_success_clears_the_failures(world):
    seed_accounts(world["db"], {"forgetful": ("staff", "road_management")})
    client = StaffClient(world["server"].url)
    for _ in range(4):
        client.login("forgetful", "nope-nope-nope")
    assert client.login("forgetful").status_code == 302
    again = StaffClient(world["server"].url)
    for _ in range(4):
        assert again.login("forgetful", "nope-nope-nope").status_code == 401


# --- the citizen's phone number --------------------------------------------------------------------------


def test_contact_is_masked_and_revealing_it_is_audited(world, road):
    page = road.get(f"/tickets/{world['road']}")
    assert "연락처 있음" in page.text and "6789" not in page.text  # stored encrypted, never decrypted for pages
    assert "6789" not in road.get("/api/tickets").text and "6789" not in road.get(f"/api/tickets/{world['road']}").text
    revealed = road.post(f"/tickets/{world['road']}/contact")
    assert revealed.status_code == 200 and "010-2345-6789" in revealed.text
    with open_database(world["db"])() as session:
        entry = (
            session.execute(select(AuditEntry).where(AuditEntry.action == "ticket.contact_revealed")).scalars().first()
        )
    assert entry.actor == "road.kim" and entry.ticket_number == world["road"] and entry.ip == "127.0.0.1"
    assert "010-2345-6789" not in json.dumps(entry.detail) + entry.detail_json
    assert "2345-6789" not in world["server"].log.read_text(encoding="utf-8", errors="replace")


# --- supervisor and admin pages -------------------------------------------------------------------------


def test_budget_results_page_and_csv_for_supervisors(world):
    chief = StaffClient.signed_in(world["server"].url, "chief.park")
    page = chief.get("/budget")
    assert page.status_code == 200 and "주민참여예산 결과" in page.text
    export = chief.get("/budget/results.csv?table=votes")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert export.content.decode("utf-8-sig").splitlines()[0].startswith("rank,project_id")
    assert "budget.results_exported" in audit_actions(world["db"], "chief.park")
    injected = chief.get("/budget/results.csv?table=votes%0d%0aX-Injected:%20yes")  # no response splitting
    assert "x-injected" not in injected.headers and injected.headers["content-disposition"].endswith('-all.csv"')


def test_notice_form_says_when_kakao_is_not_configured(world):
    chief = StaffClient.signed_in(world["server"].url, "chief.park")
    form = chief.get("/notices")
    assert form.status_code == 200 and 'name="target"' in form.text
    refused = chief.post("/notices", {"target": "transport", "text": "버스 노선이 바뀌어요."})
    assert refused.status_code == 400 and "설정되지 않아" in refused.text


def test_dead_letters_are_scoped_and_requeued(world):
    from bot.delivery.outbox import OutboxEntry, OutboxState

    sessions = open_database(world["db"])
    with sessions.begin() as session:
        for entry in session.execute(select(OutboxEntry)).scalars():
            entry.state, entry.attempts, entry.last_error = OutboxState.DEAD, 8, "HTTP 502: bad gateway"
    road = StaffClient.signed_in(world["server"].url, "road.kim")
    page = road.get("/deliveries/dead")
    assert world["road"] in page.text and world["park"] not in page.text
    with sessions() as session:
        park_entry = (
            session.execute(
                select(OutboxEntry)
                .join(Ticket, Ticket.id == OutboxEntry.ticket_id)
                .where(Ticket.number == world["park"])
            )
            .scalars()
            .first()
        )
        road_entry = (
            session.execute(
                select(OutboxEntry)
                .join(Ticket, Ticket.id == OutboxEntry.ticket_id)
                .where(Ticket.number == world["road"])
            )
            .scalars()
            .first()
        )
    assert road.post(f"/deliveries/{park_entry.id}/requeue").status_code == 403
    assert road.post(f"/deliveries/{road_entry.id}/requeue").status_code == 302
    with sessions() as session:
        assert session.get(OutboxEntry, road_entry.id).state is OutboxState.PENDING
        assert session.get(OutboxEntry, park_entry.id).state is OutboxState.DEAD


def test_admin_reloads_routing_data_and_manages_accounts(world):
    admin = StaffClient.signed_in(world["server"].url, "admin.jung")
    admin.get("/admin/routing")
    reloaded = admin.post("/admin/routing/reload")
    assert reloaded.status_code == 302 and reloaded.headers["location"] == "/admin/routing?done=reloaded"
    admin.get("/admin/accounts")
    created = admin.post(
        "/admin/accounts",
        {
            "username": "new.parks",
            "display_name": "신공원",
            "role": "staff",
            "department": "parks",
            "password": "a-long-password",
        },
    )
    assert created.status_code == 302
    refused = admin.post(
        "/admin/accounts", {"username": "no.department", "role": "staff", "password": "a-long-password"}
    )
    assert refused.status_code == 400 and "department" in refused.text
    assert StaffClient(world["server"].url).login("new.parks", "a-long-password").status_code == 302
    assert {"account.created", "routing.reloaded"} <= set(audit_actions(world["db"], "admin.jung"))


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/tickets?category=road_damage&q=%EC%A3%BC", "/tickets?category=road_damage&q=%EC%A3%BC"),
        ("//evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example", "/"),
        (None, "/"),
    ],
)
def test_login_goes_back_only_to_local_pages(target, expected):
    from bot.staff.web.security import safe_next

    assert safe_next(target) == expected


def test_login_returns_to_the_page_asked_for(world):
    client = StaffClient(world["server"].url)
    first = client.get(f"/tickets/{world['road']}")
    client.get(first.headers["location"])
    response = client.post(
        "/login", {"username": "road.kim", "password": PASSWORD, "next": f"/tickets/{world['road']}"}
    )
    assert response.headers["location"] == f"/tickets/{world['road']}"
