"""Whole emergency conversations over the Kakao skill endpoint of the running stack (issue 16):
guidance first, the kind read from the message, the place asked when missing, the alert in the
outbox with kind, place and the citizen's words, follow-ups and several citizens in one incident."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import select

from bot.delivery.outbox import OutboxEntry
from bot.tickets import Ticket, open_database
from bot.tickets.models import IncidentReport
from tests.kakao_helpers import assert_valid_skill_response, post_skill, skill_payload

NUMBER = re.compile(r"GY-\d{4}-\d{6}")


class Citizen:
    def __init__(self, stack: Any, name: str):
        self.stack = stack
        self.user = f"{name}-{uuid.uuid4().hex[:8]}"

    def say(self, text: str, extra: dict[str, Any] = None) -> dict[str, Any]:
        response = post_skill(
            self.stack.kakao_url,
            skill_payload(text, self.user, client_extra=extra),
            self.stack.kakao_secret,
            timeout=30,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert_valid_skill_response(body)
        return body

    def tap(self, body: dict[str, Any], label: str) -> dict[str, Any]:
        [reply] = [reply for reply in body["template"].get("quickReplies", []) if reply["label"] == label]
        return self.say(reply["messageText"], reply.get("extra"))


def texts(body: dict[str, Any]) -> list[str]:
    return [output["simpleText"]["text"] for output in body["template"]["outputs"] if "simpleText" in output]


def incident(stack: Any, number: str):
    sessions = open_database(stack.database_url)
    with sessions() as session:
        ticket = session.execute(select(Ticket).where(Ticket.number == number)).scalar_one()
        entries = list(
            session.execute(
                select(OutboxEntry).where(OutboxEntry.ticket_id == ticket.id).order_by(OutboxEntry.id)
            ).scalars()
        )
        reports = list(
            session.execute(
                select(IncidentReport).where(IncidentReport.ticket_id == ticket.id).order_by(IncidentReport.id)
            ).scalars()
        )
        session.expunge_all()
        return ticket, entries, reports


def alerts(entries: list[OutboxEntry]) -> list[dict[str, Any]]:
    return [entry.payload for entry in entries if "/ticket.created/agency/" in entry.idempotency_key]


def updates(entries: list[OutboxEntry]) -> list[dict[str, Any]]:
    return [entry.payload for entry in entries if "/incident.updated/" in entry.idempotency_key]


def test_flood_without_a_place_asks_where_then_alerts_with_the_place(rasa_stack):
    citizen = Citizen(rasa_stack, "flood")
    first = citizen.say("지하차도에 물이 차서 차가 갇혔어요 사람 있어요")
    answer = texts(first)
    assert "119" in answer[0] and "지하차도" in answer[0]  # the flood's own guidance, before anything
    assert "어디" in answer[-1] and "유형" not in " ".join(answer) and not NUMBER.search(" ".join(answer))
    confirmation = " ".join(texts(citizen.say("일산동구 백석동 지하차도요")))
    number = NUMBER.search(confirmation).group(0)
    assert "침수" in confirmation and "일산동구 백석동 지하차도요" in confirmation and "일산소방서" in confirmation

    ticket, entries, _ = incident(rasa_stack, number)
    assert ticket.emergency_type == "flood" and ticket.district == "일산동구"
    sent = alerts(entries)
    assert sent and all(payload["recipient"]["name"] in confirmation for payload in sent)
    for payload in sent:
        assert payload["ticket"]["category_label"] == "침수"
        assert payload["ticket"]["location"]["text"] == "일산동구 백석동 지하차도요"
        assert payload["ticket"]["location"]["dong"] == "백석동"
        assert payload["incident"]["citizen_words"] == "지하차도에 물이 차서 차가 갇혔어요 사람 있어요"
        assert "contact" not in payload["ticket"]

    # A follow-up joins the incident and goes to the same agencies as an update.
    follow = " ".join(texts(citizen.say("차 안에 아이가 한 명 더 있어요 010-1234-5678")))
    assert number in follow and "전달" in follow
    _, entries, reports = incident(rasa_stack, number)
    assert [report.kind for report in reports] == ["report", "follow_up"]
    forwarded = updates(entries)
    assert {p["recipient"]["id"] for p in forwarded if p["recipient"]["kind"] == "agency"} == {
        p["recipient"]["id"] for p in sent
    }
    assert all(p["update"]["text"] == "차 안에 아이가 한 명 더 있어요 010-****-5678" for p in forwarded)
    assert "고마워요" in " ".join(texts(citizen.say("더 없어요")))
    assert len(alerts(incident(rasa_stack, number)[1])) == len(sent)  # still one alert each


def test_gas_leak_with_the_place_alerts_at_once_and_names_it(rasa_stack):
    citizen = Citizen(rasa_stack, "gas")
    answer = texts(citizen.say("일산동구 마두동 강촌마을 3단지 상가 지하에서 가스 냄새가 심하게 나요"))
    assert "119" in answer[0] and "환기" in answer[0]
    confirmation = " ".join(answer[1:])
    number = NUMBER.search(confirmation).group(0)
    assert "가스 누출" in confirmation and "마두동" in confirmation and "강촌마을" in confirmation
    assert "도시가스 고양 긴급출동센터" in confirmation
    _, entries, _ = incident(rasa_stack, number)
    for payload in alerts(entries):
        assert payload["ticket"]["emergency_type"] == "gas"
        assert "강촌마을 3단지" in payload["ticket"]["location"]["text"]
        assert payload["ticket"]["location"]["district"] == "일산동구"
        assert "가스 냄새가 심하게" in payload["incident"]["citizen_words"]


def test_a_place_the_citizen_cannot_give_is_alerted_as_unknown(rasa_stack):
    citizen = Citizen(rasa_stack, "nowhere")
    first = citizen.say("사람이 쓰러졌어요 숨을 안 쉬어요")
    assert "119" in texts(first)[0]
    confirmation = " ".join(texts(citizen.tap(first, "위치를 몰라요")))
    number = NUMBER.search(confirmation).group(0)
    assert "위치 미상" in confirmation and "응급환자" in confirmation
    ticket, entries, _ = incident(rasa_stack, number)
    assert ticket.location_text == "위치 미상" and ticket.district is None
    sent = alerts(entries)
    assert sent and all(p["ticket"]["location"]["known"] is False for p in sent)
    assert all(p["ticket"]["location"]["text"] == "위치 미상" for p in sent)


def test_several_citizens_join_one_incident(rasa_stack):
    place = "덕양구 행신동 행신지하차도"
    numbers, answers = [], []
    for index in range(3):
        citizen = Citizen(rasa_stack, f"crowd{index}")
        body = citizen.say(f"{place}에 물이 차서 차가 잠겼어요")
        answer = " ".join(texts(body))
        answers.append(answer)
        numbers.append(NUMBER.search(answer).group(0))
    assert len(set(numbers)) == 1
    assert "이미 접수" in answers[1] and "3건째" in answers[2]
    ticket, entries, reports = incident(rasa_stack, numbers[0])
    assert len(reports) == 3
    sent = alerts(entries)
    assert len({p["recipient"]["id"] for p in sent}) == len(sent)  # one alert per agency
    forwarded = updates(entries)
    assert len(forwarded) == 2 * (len(sent) + 1)  # two joined reports, to the agencies and the department
    assert max(p["incident"]["report_count"] for p in forwarded) == 3
