"""Whole complaint conversations over HTTP (Rasa REST channel) with the action server running,
then delivery of the ticket to a real local HTTP endpoint.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import select, update

from bot.channels.rest import rasa_sender_id
from bot.city import get_city_config
from bot.delivery import DeliverySettings, Dispatcher, OutboxEntry, OutboxState
from bot.privacy.contacts import reveal_phone
from bot.tickets import Ticket, open_database

TICKET_NUMBER = re.compile(r"GY-\d{4}-\d{6}")


def texts(replies: list[dict]) -> str:
    return "\n".join(reply.get("text", "") for reply in replies)


def tickets(stack) -> list[Ticket]:
    sessions = open_database(stack.database_url)
    with sessions() as session:
        return list(session.execute(select(Ticket).order_by(Ticket.id)).scalars())


def test_complaint_is_filed_confirmed_and_delivered(rasa_stack):
    user = "e2e-complaint-1"
    photo_question = texts(rasa_stack.say(user, "일산서구 탄현동 큰마을 앞 도로에 포트홀이 생겼어요"))
    assert "사진" in photo_question  # category, place and description came with the first message
    assert "개인정보" in texts(rasa_stack.say(user, "사진 없음"))
    assert "휴대전화" in texts(rasa_stack.say(user, "동의해요"))
    assert "형식" in texts(rasa_stack.say(user, "010-12-34"))
    summary = texts(rasa_stack.say(user, "010-1234-5678"))
    assert "010-****-5678" in summary and "도로 파손" in summary
    receipt = texts(rasa_stack.say(user, "네 접수해 주세요"))
    number = TICKET_NUMBER.search(receipt).group(0)
    assert "도로관리과" in receipt and "처리 기한" in receipt

    [ticket] = [ticket for ticket in tickets(rasa_stack) if ticket.number == number]
    assert ticket.sender_id == rasa_sender_id(user)  # REST namespace
    assert "1234" not in ticket.contact_phone and reveal_phone(ticket.contact_phone) == "010-1234-5678"  # encrypted

    received = []

    class Department(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Department)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sessions = open_database(rasa_stack.database_url)
        with sessions.begin() as session:  # the test's endpoint stands for the department's
            session.execute(
                update(OutboxEntry).values(
                    destination=f"http://127.0.0.1:{server.server_port}/departments/road_management"
                )
            )
        Dispatcher(sessions, DeliverySettings()).run_once()
        with sessions() as session:
            states = set(session.execute(select(OutboxEntry.state).where(OutboxEntry.ticket_id == ticket.id)).scalars())
        assert states == {OutboxState.DELIVERED}
        assert any(number.encode() in body for body in received)
    finally:
        server.shutdown()
        server.server_close()

    status = texts(rasa_stack.say(user, f"{number} 처리 상황 알려주세요"))
    assert number in status and "접수" in status
    stranger = texts(rasa_stack.say("e2e-someone-else", f"{number} 처리 상황 알려주세요"))
    unknown = texts(rasa_stack.say("e2e-someone-else", "GY-2020-999999 처리 상황 알려주세요"))
    assert "찾지 못했어요" in stranger and stranger.replace(number, "#") == unknown.replace("GY-2020-999999", "#")


def test_resident_number_masked_and_cancel(rasa_stack):
    user = "e2e-complaint-2"
    rasa_stack.say(user, "장항동 공사장 소음 신고할게요")
    replies = texts(rasa_stack.say(user, "새벽 공사 소음이 심해요 제 주민번호는 850505-1234567이에요"))
    assert "주민등록번호" in replies
    assert "취소했어요" in texts(rasa_stack.say(user, "취소"))
    assert not [ticket for ticket in tickets(rasa_stack) if ticket.sender_id == rasa_sender_id(user)]


def test_emergency_guidance_first_then_alert(rasa_stack):
    replies = rasa_stack.say("e2e-emergency-1", "일산서구 대화동 상가에서 불이 났어요")
    assert "119" in replies[0]["text"]
    assert get_city_config().emergency_types["fire"].guidance.split()[0] in replies[0]["text"]
    alert = texts(replies[1:])
    assert TICKET_NUMBER.search(alert) and "일산소방서" in alert


def test_duplicate_is_offered_to_another_citizen(rasa_stack):
    rasa_stack.say("e2e-dup-1", "일산동구 백석동 흰돌마을 5단지 앞 가로등이 고장났어요")
    for answer in ("동의하지 않아요", "네"):
        rasa_stack.say("e2e-dup-1", answer)
    offer = texts(rasa_stack.say("e2e-dup-2", "백석1동 흰돌마을 5단지 가로등 고장 신고요"))
    assert TICKET_NUMBER.search(offer) and "함께" in offer
    assert "함께하셨어요" in texts(rasa_stack.say("e2e-dup-2", "함께 알림 받기"))
