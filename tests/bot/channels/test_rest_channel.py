"""The REST channel (bot/channels/rest.py) over real HTTP.

* a Sanic server on a loopback port serving the channel with a recording stand-in for Rasa's agent
  (token, namespace, limits, error shapes);
* the real Rasa stack (``rasa_stack``: the project's credentials.yml with this channel in place of
  Rasa's stock one) for the finding-1 probes and the sender namespace end to end.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from rasa.shared.exceptions import RasaException

from bot.channels.kakao import texts
from bot.channels.limits import RequestLimits
from bot.channels.rest import SENDER_PREFIX, TOKEN_HEADER, RestInput, rasa_sender_id
from tests.kakao_helpers import ChannelServer, post_skill, skill_payload

TOKEN = "rest-unit-token"


class RecordingAgent:
    """Stands in for ``agent.handle_message``: records each message, answers like a bot would."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def __call__(self, message: Any) -> None:
        self.messages.append(message)
        if "fail" in message.text:
            raise RuntimeError("scripted failure")
        await message.output_channel.send_text_message(message.sender_id, f"답변: {message.text}")
        await message.output_channel.send_text_with_buttons(
            message.sender_id, "더 도와드릴까요?", [{"title": "네", "payload": "/affirm"}]
        )


@contextmanager
def rest_server(token: str = TOKEN, **limits: int) -> Iterator[tuple]:
    agent = RecordingAgent()
    with ChannelServer(RestInput(token, RequestLimits(**limits)), agent) as server:
        yield server, agent


@pytest.fixture(scope="module")
def served() -> Iterator[tuple]:
    with rest_server() as served:
        yield served


def post(
    server: ChannelServer,
    body: Any = None,
    *,
    raw: bytes | None = None,
    token: str | None = TOKEN,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode("utf-8")
    sent = {"Content-Type": "application/json", **(headers or {})}
    if token is not None:
        sent[TOKEN_HEADER] = token
    return requests.post(server.webhook_url, data=data, headers=sent, timeout=10)


# ----------------------------------------------------------------------------- configuration


def test_channel_replaces_rasas_rest_channel_at_the_same_url() -> None:
    channel = RestInput.from_credentials({"token": "t0k3n", "max_utterance_chars": "100"})
    assert RestInput.name() == "rest"
    assert channel.limits == RequestLimits(max_utterance_chars=100)
    with pytest.raises(RasaException, match="unknown"):
        RestInput.from_credentials({"token": "t", "tokn": "x"})
    with pytest.raises(RasaException, match="max_body_bytes"):
        RestInput.from_credentials({"token": "t", "max_body_bytes": "lots"})


@pytest.mark.parametrize("credentials", [None, {}, {"token": None}, {"token": ""}, {"token": "   "}])
def test_without_a_token_every_request_is_refused(credentials: dict[str, Any] | None) -> None:
    agent = RecordingAgent()
    with ChannelServer(RestInput.from_credentials(credentials), agent) as server:
        for token in (None, "", "anything"):
            response = post(server, {"sender": "dev", "message": "안녕하세요"}, token=token)
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "rest_channel_disabled"
            assert "SOTONG_REST_TOKEN" in response.json()["error"]["message"]
        assert requests.get(f"{server.base_url}/webhooks/rest/", timeout=5).json() == {"status": "ok"}
    assert agent.messages == []


@pytest.mark.parametrize("token", [None, "", "wrong", TOKEN + "x", TOKEN.upper(), "토큰".encode()])
def test_missing_or_wrong_token_is_401(served: tuple, token: Any) -> None:
    server, agent = served
    before = len(agent.messages)
    response = post(server, {"sender": "dev", "message": "안녕하세요"}, token=token)
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "unauthorized", "message": f"missing or wrong '{TOKEN_HEADER}' header"}
    }
    assert len(agent.messages) == before


# ----------------------------------------------------------------------------- turns


def test_turn_reaches_rasa_in_the_rest_namespace_and_answers_in_rasas_shape(served: tuple) -> None:
    server, agent = served
    response = post(server, {"sender": "dev-1", "message": " 가로등이 고장났어요 ", "metadata": {"image_urls": []}})
    assert response.status_code == 200
    assert response.json() == [
        {"recipient_id": "dev-1", "text": "답변: 가로등이 고장났어요"},
        {"recipient_id": "dev-1", "text": "더 도와드릴까요?", "buttons": [{"title": "네", "payload": "/affirm"}]},
    ]
    message = agent.messages[-1]
    assert message.sender_id == "rest:dev-1" == rasa_sender_id("dev-1")
    assert message.input_channel == "rest" and message.metadata == {"image_urls": []}


def test_a_rest_sender_named_like_a_kakao_user_is_not_that_user(served: tuple) -> None:
    """Kakao ids cannot contain ':' (kakao_request.KAKAO_USER_ID), every REST id starts with 'rest:'."""
    server, agent = served
    kakao_user = "a1b2c3d4e5f60718293a4b5c6d7e8f901234567890abcdef1234567890abcd"
    post(
        server,
        {"sender": kakao_user, "message": "내 민원 처리 상황", "metadata": {"kakao": {"user": {"id": kakao_user}}}},
    )
    message = agent.messages[-1]
    assert message.sender_id == SENDER_PREFIX + kakao_user != kakao_user
    assert "kakao" not in message.metadata  # Kakao's context comes only from the Kakao channel


def test_failing_turn_gets_a_polite_apology(served: tuple) -> None:
    server, _ = served
    response = post(server, {"sender": "dev-2", "message": "please fail"})
    assert response.status_code == 200
    assert response.json() == [{"recipient_id": "dev-2", "text": texts.TURN_FAILED}]


# ----------------------------------------------------------------------------- what never reaches Rasa


@pytest.mark.parametrize(
    "raw, status, code",
    [
        (b"", 400, "empty_body"),
        (b"{broken", 400, "malformed_json"),
        (b"[]", 400, "wrong_type"),
        (b"\xff\xfe{}", 400, "invalid_encoding"),
        (b'{"sender": "x\\ud800", "message": "hi"}', 400, "invalid_text"),  # the finding-1 probe
        (b'{"sender": "dev", "message": "hi \\udfff"}', 400, "invalid_text"),
        (b'{"sender": "dev", "message": "hi", "metadata": {"\\ud800": 1}}', 400, "invalid_text"),
        (b'{"sender": "dev", "message": "/greet{\\"name\\": \\"\\\\ud800\\"}"}', 400, "invalid_text"),
        (b"[" * 60_000, 400, "too_deeply_nested"),
        (b'{"sender": "dev", "message": "/greet' + b"{" * 40 + b'"}', 400, "too_deeply_nested"),
        (b" " * 70_000, 413, "body_too_large"),
        (json.dumps({"message": "hi"}).encode(), 400, "missing_field"),
        (json.dumps({"sender": 7, "message": "hi"}).encode(), 400, "wrong_type"),
        (json.dumps({"sender": "a b", "message": "hi"}).encode(), 400, "invalid_field"),
        (json.dumps({"sender": "x" * 129, "message": "hi"}).encode(), 400, "invalid_field"),
        (json.dumps({"sender": "dev"}).encode(), 400, "missing_field"),
        (json.dumps({"sender": "dev", "message": ["hi"]}).encode(), 400, "wrong_type"),
        (json.dumps({"sender": "dev", "message": "  "}).encode(), 400, "empty_message"),
        (json.dumps({"sender": "dev", "message": "가" * 2001}).encode(), 413, "utterance_too_long"),
        (json.dumps({"sender": "dev", "message": "hi", "metadata": "x"}).encode(), 400, "wrong_type"),
    ],
    ids=lambda value: value[:40] if isinstance(value, bytes) else str(value),
)
def test_bad_input_gets_a_4xx_json_error_and_never_reaches_rasa(
    served: tuple, raw: bytes, status: int, code: str
) -> None:
    server, agent = served
    before = len(agent.messages)
    response = post(server, raw=raw)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == code and response.json()["error"]["message"]
    assert len(agent.messages) == before


def test_body_over_limit_is_refused_while_streaming(served: tuple) -> None:
    server, _ = served
    chunks = (b" " * 1024 for _ in range(100))  # chunked: no Content-Length to trust
    response = requests.post(
        server.webhook_url, data=chunks, timeout=10, headers={TOKEN_HEADER: TOKEN, "Content-Type": "application/json"}
    )
    assert response.status_code == 413


def test_limits_come_from_the_channel_settings() -> None:
    with rest_server(max_utterance_chars=10, max_nesting_depth=3) as (server, agent):
        assert post(server, {"sender": "d", "message": "가" * 11}).status_code == 413
        assert (
            post(server, {"sender": "d", "message": "hi", "metadata": {"a": {"b": {}}}}).json()["error"]["code"]
            == "too_deeply_nested"
        )
        assert post(server, {"sender": "d", "message": "가" * 10}).status_code == 200
        assert len(agent.messages) == 1


# ----------------------------------------------------------------------------- the real Rasa stack


def test_rasa_server_refuses_bad_text_on_both_channels_and_keeps_serving(rasa_stack: Any) -> None:
    """Finding 1: a lone surrogate in a sender id ended the server; now 400 at the channel."""
    rest = {"Content-Type": "application/json", TOKEN_HEADER: rasa_stack.rest_token}
    bad_rest = requests.post(
        rasa_stack.rest_url, data=b'{"sender": "x\\ud800", "message": "hi"}', headers=rest, timeout=10
    )
    assert bad_rest.status_code == 400 and bad_rest.json()["error"]["code"] == "invalid_text"
    kakao_body = json.dumps(skill_payload("안녕하세요", "x\ud800")).encode("ascii")
    bad_kakao = post_skill(rasa_stack.kakao_url, None, rasa_stack.kakao_secret, raw=kakao_body)
    assert bad_kakao.status_code == 400 and bad_kakao.json()["error"]["code"] == "invalid_text"
    nested = requests.post(rasa_stack.rest_url, data=b"[" * 60_000, headers=rest, timeout=10)
    assert nested.status_code == 400 and nested.json()["error"]["code"] == "too_deeply_nested"
    assert requests.post(rasa_stack.rest_url, json={"sender": "dev", "message": "hi"}, timeout=10).status_code == 401
    assert all(service.process.poll() is None for service in rasa_stack.services)
    assert rasa_stack.say("e2e-rest-after-bad", "안녕하세요")


def test_rest_and_kakao_senders_of_the_same_name_are_different_conversations(rasa_stack: Any) -> None:
    name = "e2e-namespace-1"
    kakao = post_skill(
        rasa_stack.kakao_url,
        skill_payload("버튼", name, client_extra={"payload": "/greet"}),
        rasa_stack.kakao_secret,
        timeout=30,
    )
    assert kakao.status_code == 200
    replies = rasa_stack.say(name, "/thank")
    assert replies and all(reply["recipient_id"] == name for reply in replies)

    def user_texts(conversation: str) -> list[str]:
        tracker = requests.get(rasa_stack.api_url(f"/conversations/{conversation}/tracker"), timeout=10).json()
        return [event["text"] for event in tracker["events"] if event["event"] == "user"]

    assert user_texts(name) == ["/greet"]
    assert user_texts(rasa_sender_id(name)) == ["/thank"]
