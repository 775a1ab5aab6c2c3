"""The Kakao channel over real HTTP.

Two servers are used:

* a Sanic server on a free loopback port serving the channel with a scripted stand-in for
  Rasa's agent (``ScriptedAgent``), so that slow turns, failures and concurrency are under
  the test's control (5-second guard, callbacks, "답변 보기", ordering, paging);
* the real Rasa stack (``rasa_stack`` fixture: trained model, ``rasa run`` with the project's
  credentials, action server) for end-to-end answers, authentication and bad input.

Every 200 answer is validated against the SkillResponse 2.0 JSON Schema.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from rasa.shared.exceptions import RasaException

from bot.channels.kakao import texts
from bot.channels.kakao.callback_policy import CallbackPolicy
from bot.channels.kakao.channel import KakaoInput
from bot.channels.kakao.extra import CONTINUATION_KEY
from bot.channels.kakao.settings import KAKAO_CALLBACK_HOSTS, KakaoChannelSettings, KakaoSettingsError
from bot.ops import simulator
from tests.kakao_helpers import (
    SECRET_HEADER,
    ChannelServer,
    assert_valid_skill_response,
    channel_settings,
    free_port,
    post_skill,
    skill_payload,
)

SECRET = "unit-test-secret"
THRESHOLD = 0.4  # seconds; the channel answers (or defers) after this long
# The callback receiver of these tests listens on loopback over http: they opt in explicitly.
LOCAL_CALLBACKS = {
    "callback_allowed_hosts": ("127.0.0.1",),
    "callback_allow_http": True,
    "callback_allow_private_networks": True,
}


# ----------------------------------------------------------------------------- stand-ins


class ScriptedAgent:
    """Stands in for ``agent.handle_message``: records turns, sleeps and answers on cue.

    A text containing ``slow:<seconds>`` sleeps that long; ``fail`` raises; ``long:<n>`` answers
    ``n`` texts of 900 characters; ``busy:<seconds>`` blocks the event loop that long; ``menu`` answers with two buttons; anything else answers
    ``"답변: <text>"``.
    """

    def __init__(self) -> None:
        self.turns: list[dict[str, Any]] = []
        self.started: list[str] = []

    async def __call__(self, message: Any) -> None:
        self.started.append(message.text)
        for word in message.text.split():
            if word.startswith("slow:"):
                await asyncio.sleep(float(word[5:]))
            if word.startswith("busy:"):  # CPU work inside the event loop, as Rasa's NLU and policies
                time.sleep(float(word[5:]))
        if "fail" in message.text:
            raise RuntimeError("scripted failure")
        self.turns.append(
            {
                "sender": message.sender_id,
                "text": message.text,
                "metadata": message.metadata,
                "channel": message.input_channel,
            }
        )
        output = message.output_channel
        if message.text.startswith("long:"):
            for i in range(int(message.text[5:])):
                await output.send_text_message(message.sender_id, f"[{i}] " + "가" * 900)
            return
        if "menu" in message.text:
            await output.send_text_with_buttons(
                message.sender_id,
                "확인할까요?",
                [{"title": "네", "payload": "/affirm"}, {"title": "아니요", "payload": "/deny"}],
            )
            return
        await output.send_text_message(message.sender_id, f"답변: {message.text}")


@contextmanager
def channel_server(**settings: Any) -> Iterator[tuple]:
    agent = ScriptedAgent()
    settings.setdefault("callback_threshold_seconds", THRESHOLD)
    channel = KakaoInput(channel_settings(**settings))
    with ChannelServer(channel, agent) as server:
        yield server, agent


@pytest.fixture()
def served() -> Iterator[tuple]:
    with channel_server() as served:
        yield served


class CallbackReceiver:
    """A real local HTTP server standing in for Open Builder's callback endpoint."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.bodies: list[Any] = []
        self.received = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.bodies.append(json.loads(body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"taskId": "test", "status": "SUCCESS"}')
                if status == 200:
                    receiver.received.set()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/callback/one-time-token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CallbackReceiver:
        self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def say(server: ChannelServer, text: str, user: str = "user-1", **kwargs: Any) -> requests.Response:
    return post_skill(server.webhook_url, skill_payload(text, user, **kwargs), SECRET)


def answer_texts(body: dict[str, Any]) -> list[str]:
    assert_valid_skill_response(body)
    return [o["simpleText"]["text"] for o in body["template"]["outputs"] if "simpleText" in o]


def tap(server: ChannelServer, body: dict[str, Any], user: str = "user-1") -> requests.Response:
    """Taps the (only) quick reply of ``body`` the way KakaoTalk would."""
    (quick_reply,) = body["template"]["quickReplies"]
    return say(server, quick_reply["messageText"], user, client_extra=quick_reply.get("extra"))


# ----------------------------------------------------------------------------- configuration


def test_channel_is_built_from_credentials() -> None:
    channel = KakaoInput.from_credentials(
        {
            "secret_header": "X-Skill-Key",
            "secret": "s3cret",
            "callback_threshold_seconds": "2.5",
            "max_body_bytes": 1024,
        }
    )
    assert KakaoInput.name() == "kakao"
    assert channel.settings.secret_header == "X-Skill-Key"
    assert channel.settings.callback_threshold_seconds == 2.5 and channel.settings.max_body_bytes == 1024
    assert channel.callback_policy == CallbackPolicy(allowed_hosts=KAKAO_CALLBACK_HOSTS)  # Kakao's host, https
    opted_in = KakaoInput.from_credentials(
        {
            "secret": "s",
            "callback_allowed_hosts": ["127.0.0.1"],
            "callback_allow_http": "true",
            "callback_allow_private_networks": True,
        }
    )
    assert opted_in.callback_policy == CallbackPolicy(("127.0.0.1",), allow_http=True, allow_private_networks=True)
    with pytest.raises(RasaException, match="callback_allow_http"):
        KakaoInput.from_credentials({"secret": "s", "callback_allow_http": "maybe"})


@pytest.mark.parametrize(
    "credentials, complaint",
    [
        ({"secret": ""}, "secret"),
        ({"secret_header": "X-Sotong-Secret"}, "secret"),
        ({"secret": "s", "callback_threshold_seconds": 5}, "callback_threshold_seconds"),
        ({"secret": "s", "callback_treshold_seconds": 3}, "unknown"),
        ({"secret": "s", "max_body_bytes": "lots"}, "max_body_bytes"),
    ],
)
def test_bad_channel_settings_stop_the_server_with_a_clear_message(credentials: dict[str, Any], complaint: str) -> None:
    with pytest.raises(RasaException, match=complaint):
        KakaoInput.from_credentials(credentials)


def test_settings_reject_a_threshold_at_kakaos_limit() -> None:
    with pytest.raises(KakaoSettingsError):
        KakaoChannelSettings(secret="s", callback_threshold_seconds=5.0)


# ----------------------------------------------------------------------------- scripted agent: basics


def test_health_route(served: tuple) -> None:
    server, _ = served
    assert requests.get(f"{server.base_url}/webhooks/kakao/", timeout=5).json() == {
        "status": "ok",
        "continuations": "memory",
    }


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x", SECRET.upper()])
def test_missing_or_wrong_secret_is_401(served: tuple, secret: str | None) -> None:
    server, agent = served
    response = post_skill(server.webhook_url, skill_payload("안녕하세요"), secret)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert SECRET_HEADER in response.json()["error"]["message"]
    assert agent.turns == []


def test_bad_input_gets_4xx_json_and_the_server_keeps_serving(served: tuple) -> None:
    server, agent = served
    cases = [
        (b"{broken", 400, "malformed_json"),
        (b"[]", 400, "wrong_type"),
        (json.dumps({"userRequest": {"user": {"id": "u"}}}).encode(), 400, "missing_field"),
        (json.dumps({"userRequest": {"utterance": 1, "user": {"id": "u"}}}).encode(), 400, "wrong_type"),
        (b"{" + b" " * 70_000 + b"}", 413, "body_too_large"),
    ]
    for raw, status, code in cases:
        response = post_skill(server.webhook_url, None, SECRET, raw=raw)
        assert response.status_code == status, raw[:40]
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.json()["error"]["code"] == code
    assert agent.turns == []
    assert say(server, "아직 잘 되나요?").status_code == 200


def test_body_over_limit_is_refused_while_streaming(served: tuple) -> None:
    server, _ = served

    def chunks() -> Iterator[bytes]:  # chunked transfer: no Content-Length to trust
        for _ in range(100):
            yield b" " * 1024

    response = requests.post(
        server.webhook_url,
        data=chunks(),
        timeout=10,
        headers={SECRET_HEADER: SECRET, "Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_over_long_utterance_gets_a_polite_answer() -> None:
    with channel_server(max_utterance_chars=50) as (server, agent):
        response = say(server, "가" * 51)
        assert response.status_code == 200
        assert answer_texts(response.json()) == [texts.UTTERANCE_TOO_LONG.format(limit=50)]
        assert agent.turns == []


def test_fast_turn_is_answered_with_kakao_context_in_metadata(served: tuple) -> None:
    server, agent = served
    started = time.monotonic()
    response = say(server, "쓰레기 배출 요일이 궁금해요", "citizen-42")
    assert time.monotonic() - started < THRESHOLD
    assert response.status_code == 200
    assert answer_texts(response.json()) == ["답변: 쓰레기 배출 요일이 궁금해요"]
    (turn,) = agent.turns
    assert turn["sender"] == "citizen-42" and turn["channel"] == "kakao"
    assert turn["metadata"]["kakao"]["bot"]["name"] == "고양시 소통봇"
    assert turn["metadata"]["kakao"]["user"]["properties"]["plusfriendUserKey"] == "Xy3kQ9LmT2aB"


def test_quick_reply_tap_reaches_rasa_as_payload(served: tuple) -> None:
    server, agent = served
    extra = {"intent": "report_complaint", "entities": {"complaint_category": "streetlight"}}
    assert say(server, "가로등 고장", client_extra=extra).status_code == 200
    assert agent.turns[0]["text"] == '/report_complaint{"complaint_category":"streetlight"}'


def test_failing_turn_gets_a_polite_apology(served: tuple) -> None:
    server, _ = served
    response = say(server, "please fail")
    assert response.status_code == 200
    assert answer_texts(response.json()) == [texts.TURN_FAILED]


# ----------------------------------------------------------------------------- 5-second guard


def test_slow_turn_with_callback_url_is_acknowledged_then_posted_to_the_callback() -> None:
    with channel_server(**LOCAL_CALLBACKS) as (server, _), CallbackReceiver() as receiver:
        started = time.monotonic()
        response = say(server, "slow:1.0 싱크홀 신고", callback_url=receiver.url)
        elapsed = time.monotonic() - started
        assert response.status_code == 200
        assert_valid_skill_response(response.json())
        assert response.json() == {"version": "2.0", "useCallback": True, "data": {"text": texts.CALLBACK_WAIT}}
        assert THRESHOLD <= elapsed < THRESHOLD + 0.5
        assert receiver.received.wait(5)
    (callback_body,) = receiver.bodies
    assert answer_texts(callback_body) == ["답변: slow:1.0 싱크홀 신고"]


def test_fast_turn_with_callback_url_answers_directly() -> None:
    with channel_server(**LOCAL_CALLBACKS) as (server, _), CallbackReceiver() as receiver:
        response = say(server, "빨리 답해 주세요", callback_url=receiver.url)
        assert answer_texts(response.json()) == ["답변: 빨리 답해 주세요"]
        server.run(server.channel.guard.drain())
        assert receiver.bodies == []


def test_callback_is_retried_after_a_server_error() -> None:
    with (
        channel_server(callback_attempts=2, **LOCAL_CALLBACKS) as (server, _),
        CallbackReceiver(statuses=[503, 200]) as receiver,
    ):
        assert say(server, "slow:0.6 재시도", callback_url=receiver.url).json()["useCallback"] is True
        assert receiver.received.wait(5)
        assert len(receiver.bodies) == 2 and receiver.bodies[0] == receiver.bodies[1]
        assert_valid_skill_response(receiver.bodies[1])


def test_callback_rejected_with_4xx_is_not_retried() -> None:
    with (
        channel_server(callback_attempts=3, **LOCAL_CALLBACKS) as (server, _),
        CallbackReceiver(statuses=[400]) as receiver,
    ):
        say(server, "slow:0.5 한번만", callback_url=receiver.url)
        server.run(server.channel.guard.drain())
        assert len(receiver.bodies) == 1


@pytest.mark.parametrize(
    "settings, host",
    [
        ({}, "127.0.0.1"),  # the default: Kakao's host only, https only
        ({"callback_allowed_hosts": ("127.0.0.1",), "callback_allow_http": True}, "127.0.0.1"),  # loopback literal
        ({"callback_allowed_hosts": ("localhost",), "callback_allow_http": True}, "localhost"),  # resolves to loopback
    ],
    ids=["default", "loopback-literal", "name-resolving-to-loopback"],
)
def test_refused_callback_url_keeps_the_answer_for_show_answer(settings: dict[str, Any], host: str) -> None:
    """An SSRF attempt through callbackUrl: nothing is POSTed there, and the citizen's late answer
    is not lost: it waits for "답변 보기" like a request without callback."""
    with channel_server(**settings) as (server, agent), CallbackReceiver() as receiver:
        url = receiver.url.replace("127.0.0.1", host)
        body = say(server, "slow:0.8 늦은 답변", callback_url=url).json()
        assert answer_texts(body) == [texts.PENDING_ANSWER]
        server.run(server.channel.guard.drain())
        assert receiver.bodies == []
        assert answer_texts(tap(server, body).json()) == ["답변: slow:0.8 늦은 답변"]


def test_slow_turn_without_callback_gets_polite_wait_and_answer_later(served: tuple) -> None:
    server, agent = served
    started = time.monotonic()
    response = say(server, "slow:1.2 주민참여예산 일정")
    assert time.monotonic() - started < THRESHOLD + 0.5
    body = response.json()
    assert answer_texts(body) == [texts.PENDING_ANSWER]
    assert body["template"]["quickReplies"][0]["label"] == texts.SHOW_ANSWER_LABEL

    early = tap(server, body).json()  # tapped at once: still being prepared
    assert answer_texts(early) == [texts.STILL_PENDING]

    time.sleep(1.0)
    late = tap(server, early).json()
    assert answer_texts(late) == ["답변: slow:1.2 주민참여예산 일정"]
    assert [t["text"] for t in agent.turns] == ["slow:1.2 주민참여예산 일정"]  # ran once, in the background


def test_stored_answer_belongs_to_its_user_and_expires(served: tuple) -> None:
    server, _ = served
    body = say(server, "slow:0.6 내 민원", "owner").json()
    server.run(server.channel.guard.drain())
    assert answer_texts(tap(server, body, user="someone-else").json()) == [texts.CONTINUATION_EXPIRED]
    assert answer_texts(tap(server, body, user="owner").json()) == ["답변: slow:0.6 내 민원"]
    stale = {"sotong_continuation": "NoSuchToken123", "page": 1}
    assert answer_texts(say(server, "답변 보기", "owner", client_extra=stale).json()) == [texts.CONTINUATION_EXPIRED]


# ----------------------------------------------------------------------------- paging


def test_long_answer_is_paged_with_more_quick_reply(served: tuple) -> None:
    server, agent = served
    body = say(server, "long:7").json()
    seen: list[str] = []
    for _ in range(5):
        seen += answer_texts(body)
        replies = body["template"].get("quickReplies", [])
        if not replies:
            break
        assert CONTINUATION_KEY in replies[0]["extra"]
        body = tap(server, body).json()
    assert [text[:4] for text in seen] == [f"[{i}] " for i in range(7)]
    assert len(agent.turns) == 1  # pages come from the channel, not from new turns


# ----------------------------------------------------------------------------- ordering and concurrency


def test_concurrent_messages_of_one_user_are_processed_in_arrival_order() -> None:
    delays = [0.3, 0.05, 0.2, 0.0, 0.1]  # a later message would finish first if run at once
    texts_sent = [f"slow:{delay} 메시지{i}" for i, delay in enumerate(delays)]
    with channel_server(callback_threshold_seconds=3.0) as (server, agent):

        def send(index: int) -> requests.Response:
            time.sleep(index * 0.03)  # arrival order = index order
            return say(server, texts_sent[index], "same-user")

        with ThreadPoolExecutor(len(delays)) as pool:
            responses = list(pool.map(send, range(len(delays))))
        assert agent.started == texts_sent  # one turn at a time, in order
        assert [t["text"] for t in agent.turns] == texts_sent
        for text, response in zip(texts_sent, responses):
            assert answer_texts(response.json()) == [f"답변: {text}"]
        assert len(server.channel.locks) == 0  # idle locks are dropped


def test_different_users_are_served_in_parallel(served: tuple) -> None:
    server, _ = served
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda i: say(server, "slow:0.3 동시에", f"user-{i}"), range(4)))
    assert time.monotonic() - started < 0.3 * 2.5
    assert all(answer_texts(r.json()) == ["답변: slow:0.3 동시에"] for r in responses)


def test_queueing_behind_a_slow_turn_counts_against_the_time_limit(served: tuple) -> None:
    server, agent = served
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(say, server, "slow:0.8 첫 번째", "busy-user")
        time.sleep(0.05)
        started = time.monotonic()
        second = pool.submit(say, server, "두 번째", "busy-user").result()
        assert time.monotonic() - started < THRESHOLD + 0.5
        assert answer_texts(second.json()) == [texts.PENDING_ANSWER]
        first.result()
    server.run(server.channel.guard.drain())
    assert [t["text"] for t in agent.turns] == ["slow:0.8 첫 번째", "두 번째"]


def test_a_saturated_channel_still_answers_every_request_on_time() -> None:
    """Twelve users at once, each turn holding the event loop for 0.25 s (as NLU and policies do).
    Run all at once, the guard's timer could fire only after every turn had taken its step (3 s);
    with one turn at a time the others wait without holding the loop, and every request is
    answered (or deferred) within the threshold plus a few turns' steps (a request can wait for
    one step before its handler starts, and for two after its timer expired)."""
    users, step = 12, 0.25
    with channel_server(max_concurrent_turns=1) as (server, agent):

        def send(index: int) -> float:
            started = time.monotonic()
            response = say(server, f"busy:{step} 붐비는 시간", f"crowd-{index}")
            assert response.status_code == 200
            return time.monotonic() - started

        with ThreadPoolExecutor(users) as pool:
            elapsed = list(pool.map(send, range(users)))
        server.run(server.channel.guard.drain())
        assert max(elapsed) < THRESHOLD + 4 * step + 0.3, elapsed
        assert len(agent.turns) == users  # the deferred ones finished in the background


def test_long_answer_pages_and_late_answers_are_shared_through_redis() -> None:
    """Two channel processes behind a load balancer: a "더 보기" or "답변 보기" tap may reach
    the other one; with a Redis continuation store it finds the answer there."""
    from tests.cluster import redis_url_or_skip

    url = redis_url_or_skip()
    with (
        channel_server(continuation_store_url=url) as (first, _),
        channel_server(continuation_store_url=url) as (second, _),
    ):
        body = say(first, "long:5", "roaming-user").json()
        seen = answer_texts(body)
        while body["template"].get("quickReplies"):
            body = tap(second, body, user="roaming-user").json()
            seen += answer_texts(body)
        assert [text[:4] for text in seen] == [f"[{i}] " for i in range(5)]

        pending = say(first, "slow:0.8 늦은 답변", "roaming-user").json()
        assert answer_texts(pending) == [texts.PENDING_ANSWER]
        first.run(first.channel.guard.drain())
        assert answer_texts(tap(second, pending, user="roaming-user").json()) == ["답변: slow:0.8 늦은 답변"]
        assert answer_texts(tap(second, pending, user="another-user").json()) == [texts.CONTINUATION_EXPIRED]


# ----------------------------------------------------------------------------- simulator


def test_simulator_replays_a_script_and_taps_choices_by_number(served: tuple, tmp_path: Any, capsys: Any) -> None:
    server, agent = served
    script = tmp_path / "dialogue.txt"
    script.write_text("# 메뉴를 열고 2번을 고른다\nmenu 보여 주세요\n2\n7\n", encoding="utf-8")
    code = simulator.main(
        ["--url", server.webhook_url, "--secret", SECRET, "--user-id", "sim-user", "--script", str(script)]
    )
    transcript = capsys.readouterr().out
    assert code == 0
    assert [t["text"] for t in agent.turns] == ["menu 보여 주세요", "/deny"]
    assert "확인할까요?" in transcript and "[1] 네  [2] 아니요" in transcript
    assert "나: 아니요" in transcript and "답변: /deny" in transcript
    assert "(선택지 7번이 없어요)" in transcript


def test_simulator_reports_a_wrong_secret(served: tuple, tmp_path: Any, capsys: Any) -> None:
    server, _ = served
    script = tmp_path / "dialogue.txt"
    script.write_text("안녕하세요\n", encoding="utf-8")
    assert simulator.main(["--url", server.webhook_url, "--secret", "wrong", "--script", str(script)]) == 1
    assert "HTTP 401" in capsys.readouterr().out


# ----------------------------------------------------------------------------- the real Rasa stack


@pytest.fixture(scope="module")
def stack(rasa_stack: Any) -> Any:
    return rasa_stack


def kakao(stack: Any, text: str, user: str, secret: str | None = None, **kwargs: Any) -> requests.Response:
    return post_skill(
        stack.kakao_url,
        skill_payload(text, user, **kwargs),
        stack.kakao_secret if secret is None else secret,
        timeout=30,
    )


def test_rasa_server_rejects_wrong_secret_and_bad_input(stack: Any) -> None:
    assert kakao(stack, "안녕하세요", "e2e-auth", secret="wrong").status_code == 401
    bad = post_skill(stack.kakao_url, None, stack.kakao_secret, raw=b"{oops")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "malformed_json"
    assert requests.get(stack.rasa_url + "/webhooks/kakao/", timeout=5).json() == {
        "status": "ok",
        "continuations": "memory",
    }


@pytest.mark.parametrize(
    "index, utterance",
    enumerate(["안녕하세요", "대형 폐기물은 어떻게 버려요?", "가로등이 깜빡거려요", "고마워요"]),
    ids=["greeting", "waste", "streetlight", "thanks"],
)
def test_rasa_server_answers_with_valid_skill_responses(stack: Any, index: int, utterance: str) -> None:
    started = time.monotonic()
    response = kakao(stack, utterance, f"e2e-answer-{index}")
    assert time.monotonic() - started < 5
    assert response.status_code == 200
    assert_valid_skill_response(response.json())
    assert response.json()["template"]["outputs"]


def test_rasa_server_tap_skips_nlu_and_stores_kakao_metadata(stack: Any) -> None:
    # The utterance alone would not be classified as greet: the payload decides.
    body = kakao(stack, "버튼", "e2e-kakao-greet", client_extra={"payload": "/greet"}).json()
    assert_valid_skill_response(body)
    tracker = requests.get(stack.api_url("/conversations/e2e-kakao-greet/tracker"), timeout=10).json()
    latest = tracker["latest_message"]
    assert latest["intent"]["name"] == "greet" and latest["intent"]["confidence"] == 1.0
    assert latest["metadata"]["kakao"]["user"]["id"] == "e2e-kakao-greet"
    assert latest["metadata"]["kakao"]["bot"]["name"] == "고양시 소통봇"


def test_rasa_server_keeps_one_users_concurrent_messages_in_order(stack: Any) -> None:
    payloads = ["/greet", "/thank", "/goodbye", "/greet", "/thank"]
    sender = f"e2e-order-{uuid.uuid4().hex[:8]}"

    def send(index: int) -> requests.Response:
        time.sleep(index * 0.05)
        return kakao(stack, f"탭 {index}", sender, client_extra={"payload": payloads[index]})

    with ThreadPoolExecutor(len(payloads)) as pool:
        responses = list(pool.map(send, range(len(payloads))))
    for response in responses:
        assert response.status_code == 200
        assert_valid_skill_response(response.json())
    intents: list[str] = []
    deadline = time.monotonic() + 30  # turns deferred by the guard finish in the background
    while time.monotonic() < deadline:
        tracker = requests.get(stack.api_url(f"/conversations/{sender}/tracker"), timeout=10).json()
        intents = [e["parse_data"]["intent"]["name"] for e in tracker["events"] if e["event"] == "user"]
        if len(intents) >= len(payloads):
            break
        time.sleep(0.2)
    assert intents == [p[1:] for p in payloads]
