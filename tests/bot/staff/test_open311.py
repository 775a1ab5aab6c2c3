"""Open311 GeoReport v2 on a real server: services, service definitions, filing with an API key
(database or environment) through TicketStore, finding requests with the spec's filters, statuses
mapped to open/closed, and errors in the spec's format."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.city import get_city_config
from bot.delivery.outbox import OutboxEntry
from bot.privacy.contacts import reveal_phone
from bot.staff.audit import AuditEntry
from bot.staff.open311.keys import create_key, revoke_key
from bot.tickets.models import Ticket, TicketStatus
from tests.depth import examples
from tests.staff_support import (
    StaffServer,
    file_pothole,
    report_sinkhole,
    sessions_for,
    sqlite_url,
    ticket_store,
)

pytestmark = pytest.mark.integration  # starts the staff console

ENV_KEY = "env-key-0123456789"


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("open311")
    database_url = sqlite_url(workdir)
    key = create_key(sessions_for(database_url), "partner-app")
    revoked = create_key(sessions_for(database_url), "old-app")
    revoke_key(sessions_for(database_url), "old-app")
    server = StaffServer(database_url, workdir, {"SOTONG_OPEN311_API_KEYS": f"city-app:{ENV_KEY}"}).start()
    yield {"url": f"{server.url}/open311/v2", "db": database_url, "key": key, "revoked": revoked}
    server.stop()


def assert_error(response: requests.Response, status: int, words: str) -> None:
    assert response.status_code == status
    body = response.json()
    assert isinstance(body, list) and body[0]["code"] == status and words in body[0]["description"]


def file(api, **params) -> requests.Response:
    form = {
        "api_key": api["key"],
        "service_code": "streetlight",
        "address_string": "일산서구 주엽동 강선마을 7단지 앞",
        "description": "가로등이 밤새 깜빡여요",
    }
    form.update(params)
    return requests.post(
        f"{api['url']}/requests.json", data={k: v for k, v in form.items() if v is not None}, timeout=30
    )


def stored(api, number: str) -> Ticket:
    with sessions_for(api["db"])() as session:
        return session.execute(select(Ticket).where(Ticket.number == number)).scalar_one()


def test_services_are_the_complaint_categories(api):
    services = requests.get(f"{api['url']}/services.json", timeout=30).json()
    config = get_city_config()
    assert [s["service_code"] for s in services] == list(config.complaint_categories)
    pothole = next(s for s in services if s["service_code"] == "road_damage")
    assert pothole["service_name"] == "도로 파손" and pothole["type"] == "realtime" and pothole["metadata"] is True
    assert pothole["group"] == "도로관리과" and "포트홀" in pothole["keywords"]


def test_service_definition_and_unknown_codes(api):
    definition = requests.get(f"{api['url']}/services/road_damage.json", timeout=30).json()
    assert definition["service_code"] == "road_damage"
    (attribute,) = definition["attributes"]
    assert attribute["code"] == "contact_consent" and attribute["datatype"] == "singlevaluelist"
    assert {value["key"] for value in attribute["values"]} == {"yes", "no"}
    assert_error(requests.get(f"{api['url']}/services/ufo_sighting.json", timeout=30), 404, "service_code")
    assert_error(requests.get(f"{api['url']}/services/road_damage.xml", timeout=30), 404, "JSON")
    assert_error(requests.get(f"{api['url']}/discovery.xml", timeout=30), 404, "no such endpoint")


def test_filing_creates_a_routed_ticket_with_its_outbox_entry(api):
    response = file(api)
    assert response.status_code == 201
    (created,) = response.json()
    number = created["service_request_id"]
    assert number.startswith("GY-") and "도로관리과" in created["service_notice"]
    ticket = stored(api, number)
    assert (ticket.category, ticket.department_id, ticket.status) == (
        "streetlight",
        "road_management",
        TicketStatus.RECEIVED,
    )
    assert ticket.sender_id == "open311:partner-app:anonymous" and ticket.district == "일산서구"
    assert ticket.due_date is not None
    with sessions_for(api["db"])() as session:
        entry = session.execute(select(OutboxEntry).where(OutboxEntry.ticket_id == ticket.id)).scalar_one()
    assert entry.target_id == "road_management" and entry.payload["ticket"]["number"] == number


def test_environment_keys_work_and_revoked_or_missing_keys_do_not(api):
    assert file(api, api_key=ENV_KEY).status_code == 201
    assert_error(file(api, api_key=None), 403, "api_key")
    assert_error(file(api, api_key="guessed"), 403, "api_key")
    assert_error(file(api, api_key=api["revoked"]), 403, "api_key")


def test_json_bodies_are_accepted_too(api):
    response = requests.post(
        f"{api['url']}/requests.json",
        json={
            "api_key": api["key"],
            "service_code": "tree",
            "lat": 37.6584,
            "long": 126.832,
            "description": "쓰러진 나무가 길을 막았어요",
            "device_id": "phone-42",
        },
        timeout=30,
    )
    assert response.status_code == 201
    ticket = stored(api, response.json()[0]["service_request_id"])
    assert ticket.department_id == "greenery" and "위도 37.658400" in ticket.location_text
    assert ticket.sender_id == "open311:partner-app:phone-42"


@pytest.mark.parametrize(
    "params, status, words",
    [
        ({"service_code": None}, 400, "service_code is required"),
        ({"service_code": "ufo"}, 404, "service_code not found"),
        ({"address_string": None}, 400, "location is required"),
        ({"address_string": None, "lat": "37.6"}, 400, "lat and long"),
        ({"address_string": None, "lat": "north", "long": "126.8"}, 400, "decimal"),
        ({"description": " "}, 400, "description is required"),
        ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
    ],
)
def test_invalid_requests_get_spec_errors(api, params, status, words):
    assert_error(file(api, **params), status, words)


def test_phone_is_kept_only_with_the_consent_attribute(api):
    without = stored(api, file(api, phone="010-3456-7890").json()[0]["service_request_id"])
    assert without.contact_phone is None and without.consent_given is False
    with_consent = stored(
        api, file(api, phone="01034567890", **{"attribute[contact_consent]": "yes"}).json()[0]["service_request_id"]
    )
    assert with_consent.consent_given is True and with_consent.contact_phone.startswith("enc1:")
    assert reveal_phone(with_consent.contact_phone) == "010-3456-7890"


def test_finding_requests_with_the_specs_filters(api):
    first = file(api, service_code="sewer", description="하수구 냄새가 심해요").json()[0]["service_request_id"]
    second = file(api, service_code="sewer", description="하수구가 막혔어요 010-9876-5432").json()[0][
        "service_request_id"
    ]
    old = file_pothole(api["db"], days_ago=120, sender="kakao-old")
    emergency = report_sinkhole(api["db"])
    ticket_store(api["db"]).change_status(second, TicketStatus.RESOLVED, actor="road.kim")
    url = f"{api['url']}/requests.json"

    def numbers(**params):
        response = requests.get(url, params=params, timeout=30)
        assert response.status_code == 200, response.text
        return [item["service_request_id"] for item in response.json()]

    sewer = numbers(service_code="sewer")
    assert sewer == [second, first]  # newest first
    assert numbers(service_code="sewer", status="open") == [first]
    assert numbers(service_code="sewer", status="closed") == [second]
    assert numbers(service_code="sewer,streetlight", status="open,closed")[:2] == [second, first]
    assert old not in numbers() and emergency not in numbers()  # 90-day default; emergencies are no service
    start = (datetime.now(timezone.utc) - timedelta(days=200)).isoformat()
    assert old in numbers(start_date=start)
    assert numbers(start_date=start, end_date=(datetime.now(timezone.utc) - timedelta(days=100)).isoformat()) == [old]
    assert numbers(service_request_id=f"{first},{old}", service_code="tree") == [first, old]
    (closed,) = requests.get(f"{api['url']}/requests/{second}.json", timeout=30).json()
    assert closed["status"] == "closed" and closed["status_notes"] == "처리 완료"
    assert closed["agency_responsible"] == "상하수도사업소"
    assert closed["description"] == "하수구가 막혔어요 010-****-5432"  # personal data masked
    assert closed["requested_datetime"].endswith("+09:00") and closed["expected_datetime"]
    assert closed["lat"] is None and closed["address"] == "일산서구 주엽동 강선마을 7단지 앞"


@pytest.mark.parametrize(
    "params, words",
    [
        ({"status": "pending"}, "status"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"service_code": "ufo"}, "service_code"),
        ({"start_date": "2026-05-02T00:00:00+09:00", "end_date": "2026-05-01T00:00:00+09:00"}, "after"),
    ],
)
def test_invalid_filters_get_spec_errors(api, params, words):
    assert_error(requests.get(f"{api['url']}/requests.json", params=params, timeout=30), 400, words)


def test_unknown_and_emergency_requests_are_not_found(api):
    assert_error(requests.get(f"{api['url']}/requests/GY-2026-999999.json", timeout=30), 404, "not found")
    emergency = report_sinkhole(api["db"], sender="kakao-emergency-2")
    assert_error(requests.get(f"{api['url']}/requests/{emergency}.json", timeout=30), 404, "not found")


def test_jurisdiction(api):
    assert requests.get(f"{api['url']}/services.json", params={"jurisdiction_id": "goyang"}, timeout=30).ok
    assert_error(
        requests.get(f"{api['url']}/services.json", params={"jurisdiction_id": "seoul"}, timeout=30),
        404,
        "jurisdiction_id",
    )


# --- what the public sees, and what a read_full key sees ---------------------------------------------------


def test_chat_filed_requests_show_only_category_status_district_and_dates_publicly(api):
    number = file_pothole(
        api["db"],
        sender="kakao-private-1",
        description="우리 집 앞 포트홀이에요 010-2345-6789",
        location_text="일산서구 주엽동 강선마을 14단지 101동 앞",
    )
    private_words = ("포트홀이에요", "강선마을", "101동", "6789", "pothole.jpg")
    (item,) = requests.get(f"{api['url']}/requests/{number}.json", timeout=30).json()
    listed = requests.get(f"{api['url']}/requests.json", params={"service_code": "road_damage"}, timeout=30).text
    assert item["service_code"] == "road_damage" and item["service_name"] == "도로 파손"
    assert item["status"] == "open" and item["requested_datetime"] and item["expected_datetime"]
    assert item["address"] == "일산서구" and item["district"] == "일산서구"
    assert item["description"] == "" and item["media_url"] is None
    assert not any(word in json.dumps(item, ensure_ascii=False) + listed for word in private_words)
    # A key without read_full (e.g. a partner app that files requests) gets the public view too.
    (same,) = requests.get(f"{api['url']}/requests/{number}.json", params={"api_key": api["key"]}, timeout=30).json()
    assert same == item
    assert_error(requests.get(f"{api['url']}/requests.json", params={"api_key": "guessed"}, timeout=30), 403, "api_key")


def test_a_read_full_key_reads_the_whole_request_but_never_the_phone_and_is_audited(api):
    reader = create_key(sessions_for(api["db"]), "city-hall", scopes=["read_full"])
    number = file_pothole(api["db"], sender="kakao-private-2", description="가로수 옆 포트홀 010-2345-6789")
    (item,) = requests.get(f"{api['url']}/requests/{number}.json", params={"api_key": reader}, timeout=30).json()
    assert item["description"] == "가로수 옆 포트홀 010-****-6789"  # masked as before; the contact never
    assert (
        item["address"] == "일산서구 주엽동 강선마을 14단지 앞"
        and item["media_url"] == "https://img.example/pothole.jpg"
    )
    listed = requests.get(f"{api['url']}/requests.json", params={"api_key": reader}, timeout=30).json()
    assert any(entry["description"] == item["description"] for entry in listed)
    assert "2345" not in json.dumps(listed)
    with sessions_for(api["db"])() as session:
        reads = (
            session.execute(select(AuditEntry).where(AuditEntry.action == "open311.requests_read_full")).scalars().all()
        )
    assert [entry.actor for entry in reads] == ["open311:city-hall", "open311:city-hall"]
    assert number in reads[0].detail["requests"]
    # read_full alone may not file requests
    assert_error(file(api, api_key=reader), 403, "scope create")


# --- malformed input is a 400 in the spec's format, never a 500 ---------------------------------------------


@pytest.mark.parametrize(
    "params, words",
    [
        ({"start_date": "9999-12-31T23:59:59-23:59"}, "start_date"),
        ({"end_date": "0001-01-01T00:00:00+14:00"}, "end_date"),
        ({"start_date": "1000-01-01T00:00:00+09:00"}, "out of range"),
        ({"start_date": "2026-02-30T00:00:00"}, "start_date"),
        ({"start_date": "２０２６-０５-０１"}, "start_date"),
        ({"end_date": "2026-05-01T25:00:00Z"}, "end_date"),
        ({"start_date": "2026-05-02", "end_date": "2026-05-01"}, "after"),
        ({"status": "open\x00"}, "NUL"),
        ({"service_code": "road_damage\ud800"}, "service_code"),
        ({"service_request_id": ",".join(f"GY-2026-{i:06d}" for i in range(101))}, "at most 100"),
        ({"service_code": "x" * 3000}, "too long"),
    ],
)
def test_malformed_filters_are_400_in_the_spec_format(api, params, words):
    encoded = {key: value.encode("utf-8", "surrogatepass") for key, value in params.items()}
    assert_error(requests.get(f"{api['url']}/requests.json", params=encoded, timeout=30), 400, words)


@pytest.mark.parametrize(
    "path, status",
    [
        ("requests/%ED%A0%80.json", 404),
        ("requests/%00.json", 404),
        ("requests/" + "9" * 5000 + ".json", 404),
        ("requests/GY-2026-000001.xml", 404),
        ("requests/🙂.json", 404),
    ],
)
def test_odd_request_ids_are_not_found(api, path, status):
    assert_error(requests.get(f"{api['url']}/{path}", timeout=30), status, "")


@pytest.mark.parametrize(
    "body, words",
    [
        (b"{not json", "not valid JSON"),
        (b"[" * 50000 + b"]" * 50000, "nested deeper"),
        (b'{"api_key": "k", "description": "\\ud800"}', "surrogate"),
        (b'{"api_key": "k", "lat": 1e400}', "JSON"),
        (b'{"api_key": "\xff"}', "UTF-8"),
    ],
)
def test_malformed_json_bodies_are_400_in_the_spec_format(api, body, words):
    response = requests.post(
        f"{api['url']}/requests.json", data=body, headers={"content-type": "application/json"}, timeout=30
    )
    assert_error(response, 400, words)


def test_form_values_with_nul_are_refused(api):
    assert_error(file(api, description="가로등\x00"), 400, "NUL")


# --- generated queries: never a 500 ------------------------------------------------------------------------

PARAM_NAMES = [
    "service_request_id",
    "service_code",
    "start_date",
    "end_date",
    "status",
    "api_key",
    "jurisdiction_id",
    "page_size",
    "page",
    "lat",
    "long",
]
ODD_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=()), max_size=60)
DATE_LIKE = st.builds(
    lambda y, mo, d, h, off: f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:59:59{off}",
    st.integers(0, 9999),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 25),
    st.sampled_from(["", "Z", "+09:00", "-23:59", "+14:00", "+24:00", "-00:00"]),
)


@given(
    params=st.dictionaries(st.sampled_from(PARAM_NAMES), st.one_of(ODD_TEXT, DATE_LIKE), max_size=5),
    number=st.one_of(ODD_TEXT, st.from_regex(r"GY-\d{4}-\d{1,8}", fullmatch=True)),
)
@settings(
    max_examples=examples(250),
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_generated_queries_never_get_a_500(api, params, number):
    encoded = {key: value.encode("utf-8", "surrogatepass") for key, value in params.items()}
    for response in (
        requests.get(f"{api['url']}/requests.json", params=encoded, timeout=30),
        requests.get(f"{api['url']}/requests/{quote(number.encode('utf-8', 'surrogatepass'))}.json", timeout=30),
    ):
        assert response.status_code in (200, 400, 403, 404), (params, number, response.text[:300])
        assert isinstance(response.json(), list)
