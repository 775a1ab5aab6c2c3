"""Malformed input to the staff console on SQLite and PostgreSQL: text a database cannot store (NUL,
lone surrogates) and values too long for a column are a 400 with a Korean message, never a 500."""

from __future__ import annotations

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.staff.open311.keys import create_key
from tests.databases import BACKENDS, database_url_for
from tests.depth import examples
from tests.staff_support import (
    StaffClient,
    StaffServer,
    close_sessions,
    file_pothole,
    seed_accounts,
    sessions_for,
)

FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module", params=BACKENDS)
def console(request, tmp_path_factory):
    workdir = tmp_path_factory.mktemp(f"staff-input-{request.param}")
    with database_url_for(request.param, workdir) as database_url:
        seed_accounts(database_url)
        number = file_pothole(database_url)
        server = StaffServer(database_url, workdir).start()
        try:
            yield {"url": server.url, "number": number, "log": server.log, "database_url": database_url}
        finally:
            server.stop()
            close_sessions(database_url)


def raw_post(client: StaffClient, path: str, body: str):
    return client.http.post(
        client.base_url + path, data=body.encode("ascii"), headers=FORM, allow_redirects=False, timeout=30
    )


def test_nul_and_lone_surrogates_in_queries_and_forms_are_400(console):
    staff = StaffClient.signed_in(console["url"], "road.kim")
    token = f"csrf_token={staff.csrf}"
    number = console["number"]
    assert staff.get("/tickets?department=%00").status_code == 400
    assert staff.get("/tickets?q=%ED%A0%80").status_code in (200, 400)  # decoded as U+FFFD or refused
    assert raw_post(staff, f"/tickets/{number}/reply", f"{token}&body=%EB%8B%B5%00").status_code == 400
    assert raw_post(staff, f"/tickets/{number}/note", f"{token}&body=memo%00").status_code == 400
    assert raw_post(staff, f"/tickets/{number}/status", f"{token}&status=resolved&reason=a%00b").status_code == 400
    login = StaffClient(console["url"])
    login.get("/login")
    csrf = login.http.cookies.get("sotong_login_csrf")
    refused = raw_post(login, "/login", f"csrf_token={csrf}&username=road%00kim&password=x")
    assert refused.status_code == 400 and "입력에 쓸 수 없는 문자" in refused.text
    assert staff.get(f"/tickets/{number}").status_code == 200  # the console still serves
    assert "Traceback" not in console["log"].read_text(encoding="utf-8", errors="replace")


def test_open311_with_the_longest_client_and_device_names_files_a_request(console):
    key = create_key(sessions_for(console["database_url"]), "c" * 60)
    response = requests.post(
        f"{console['url']}/open311/v2/requests.json",
        timeout=30,
        data={
            "api_key": key,
            "service_code": "streetlight",
            "address_string": "일산서구 주엽동",
            "description": "가로등이 꺼졌어요",
            "device_id": "d" * 200,
        },
    )
    assert response.status_code == 201, response.text
    nul = requests.get(f"{console['url']}/open311/v2/requests.json", params={"service_code": "a\x00"}, timeout=30)
    assert nul.status_code == 400 and nul.json()[0]["code"] == 400


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[" * 50000 + b"]" * 50000,
        b'"resolved"',
        b'{"status": ["resolved"]}',
        b'{"status": "in_progress", "message": ["x"]}',
        b'{"status": "rejected", "reason": {"a": 1}}',
        b'{"status": "rejected", "reason": "\\ud800"}',
        b'{"status": "rejected", "reason": "a\\u0000b"}',
        b'{"status": "in_progress", "message": 1e999}',
        b"\xff\xfe",
    ],
)
def test_the_json_api_answers_malformed_bodies_with_400(console, body):
    staff = StaffClient.signed_in(console["url"], "road.lee")
    response = staff.http.post(
        f"{console['url']}/api/tickets/{console['number']}/status",
        data=body,
        timeout=30,
        headers={"X-CSRF-Token": staff.csrf, "content-type": "application/json"},
    )
    assert response.status_code == 400 and response.json()["error"] == "error" and response.json()["detail"]
    detail = staff.get(f"/api/tickets/{console['number']}").json()
    assert detail["status"] == "received"  # nothing changed


FILTERS = [
    "status",
    "category",
    "district",
    "department",
    "q",
    "overdue",
    "urgent",
    "mine",
    "sort",
    "page",
    "next",
    "done",
    "actor",
    "table",
]
ODD_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=40)


@given(
    path=st.sampled_from(
        [
            "/tickets",
            "/api/tickets",
            "/tickets/export.csv",
            "/admin/audit",
            "/admin/accounts",
            "/deliveries/dead",
            "/notices",
            "/dashboard",
        ]
    ),
    params=st.dictionaries(
        st.sampled_from(FILTERS),
        st.one_of(ODD_TEXT, st.integers().map(str), st.sampled_from(["road\x00", "\ud800", "\x00", "도로\udfff관리"])),
        max_size=4,
    ),
)
@settings(
    max_examples=examples(120),
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_generated_console_queries_never_get_a_500(console, path, params):
    admin = console.get("admin") or StaffClient.signed_in(console["url"], "admin.jung")
    console["admin"] = admin  # one signed-in client for every example
    encoded = {key: value.encode("utf-8", "surrogatepass") for key, value in params.items()}
    response = admin.http.get(console["url"] + path, params=encoded, allow_redirects=False, timeout=30)
    assert response.status_code in (200, 302, 400), (path, params, response.status_code)
