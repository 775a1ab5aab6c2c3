"""Open311 GeoReport v2 on a real server: services, service definitions, filing with an API key
(database or environment) through TicketStore, finding requests with the spec's filters, statuses
mapped to open/closed, and errors in the spec's format."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests
from sqlalchemy import select

from bot.city import get_city_config
from bot.delivery.outbox import OutboxEntry
from bot.staff.open311.keys import create_key, revoke_key
from bot.tickets.contacts import reveal_phone
from bot.tickets.models import Ticket, TicketStatus
from tests.test_staff_support import (
    StaffServer,
    file_pothole,
    report_sinkhole,
    sessions_for,
    sqlite_url,
    ticket_store,
)

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
    form = {"api_key": api["key"], "service_code": "streetlight", "address_string": "일산서구 주엽동 강선마을 7단지 앞",
            "description": "가로등이 밤새 깜빡여요"}
    form.update(params)
    return requests.post(f"{api['url']}/requests.json", data={k: v for k, v in form.items() if v is not None},
                         timeout=30)


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
    assert (ticket.category, ticket.department_id, ticket.status) == ("streetlight", "road_management",
                                                                      TicketStatus.RECEIVED)
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
    response = requests.post(f"{api['url']}/requests.json", json={
        "api_key": api["key"], "service_code": "tree", "lat": 37.6584, "long": 126.832,
        "description": "쓰러진 나무가 길을 막았어요", "device_id": "phone-42"}, timeout=30)
    assert response.status_code == 201
    ticket = stored(api, response.json()[0]["service_request_id"])
    assert ticket.department_id == "greenery" and "위도 37.658400" in ticket.location_text
    assert ticket.sender_id == "open311:partner-app:phone-42"


@pytest.mark.parametrize("params, status, words", [
    ({"service_code": None}, 400, "service_code is required"),
    ({"service_code": "ufo"}, 404, "service_code not found"),
    ({"address_string": None}, 400, "location is required"),
    ({"address_string": None, "lat": "37.6"}, 400, "lat and long"),
    ({"address_string": None, "lat": "north", "long": "126.8"}, 400, "decimal"),
    ({"description": " "}, 400, "description is required"),
    ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
])
def test_invalid_requests_get_spec_errors(api, params, status, words):
    assert_error(file(api, **params), status, words)


def test_phone_is_kept_only_with_the_consent_attribute(api):
    without = stored(api, file(api, phone="010-3456-7890").json()[0]["service_request_id"])
    assert without.contact_phone is None and without.consent_given is False
    with_consent = stored(api, file(api, phone="01034567890", **{"attribute[contact_consent]": "yes"}
                                    ).json()[0]["service_request_id"])
    assert with_consent.consent_given is True and with_consent.contact_phone.startswith("enc1:")
    assert reveal_phone(with_consent.contact_phone) == "010-3456-7890"


def test_finding_requests_with_the_specs_filters(api):
    first = file(api, service_code="sewer", description="하수구 냄새가 심해요").json()[0]["service_request_id"]
    second = file(api, service_code="sewer", description="하수구가 막혔어요 010-9876-5432").json()[0]["service_request_id"]
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


@pytest.mark.parametrize("params, words", [
    ({"status": "pending"}, "status"), ({"start_date": "yesterday"}, "start_date"),
    ({"service_code": "ufo"}, "service_code"),
    ({"start_date": "2026-05-02T00:00:00+09:00", "end_date": "2026-05-01T00:00:00+09:00"}, "after"),
])
def test_invalid_filters_get_spec_errors(api, params, words):
    assert_error(requests.get(f"{api['url']}/requests.json", params=params, timeout=30), 400, words)


def test_unknown_and_emergency_requests_are_not_found(api):
    assert_error(requests.get(f"{api['url']}/requests/GY-2026-999999.json", timeout=30), 404, "not found")
    emergency = report_sinkhole(api["db"], sender="kakao-emergency-2")
    assert_error(requests.get(f"{api['url']}/requests/{emergency}.json", timeout=30), 404, "not found")


def test_jurisdiction(api):
    assert requests.get(f"{api['url']}/services.json", params={"jurisdiction_id": "goyang"}, timeout=30).ok
    assert_error(requests.get(f"{api['url']}/services.json", params={"jurisdiction_id": "seoul"}, timeout=30),
                 404, "jurisdiction_id")
