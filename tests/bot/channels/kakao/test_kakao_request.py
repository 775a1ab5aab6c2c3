"""Parsing and validation of Kakao SkillPayloads (fixtures shaped after Kakao's documentation)."""

from __future__ import annotations

import asyncio
import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot.channels.kakao.callback_policy import CallbackPolicy, CheckedResolver
from bot.channels.kakao.extra import continuation_from, is_rasa_payload, rasa_payload_from
from bot.channels.kakao.guard import CallbackSender
from bot.channels.kakao.request import (
    IMAGE_URLS_KEY,
    KAKAO_METADATA_KEY,
    RequestLimits,
    SkillRequestError,
    UtteranceTooLongError,
    parse_skill_request,
)
from tests.kakao_helpers import load_fixture

SECURE_URL_1 = "https://talk.kakaocdn.net/dna/bxK1Ab/K6c2aB3dE4/secure_1.jpg?credential=abc&expires=1700000000"
SECURE_URL_2 = "https://talk.kakaocdn.net/dna/bxK1Ab/K6c2aB3dE4/secure_2.jpg?credential=def&expires=1700000000"


def encode(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def parse(payload: Any, **kwargs: Any):
    return parse_skill_request(encode(payload), **kwargs)


# ----------------------------------------------------------------------------- documented shapes


def test_text_payload_gives_utterance_sender_and_metadata() -> None:
    payload = load_fixture("skill_payload_text.json")
    request = parse(payload)
    assert request.sender_id == payload["userRequest"]["user"]["id"]
    assert request.text == request.utterance == "가로등이 고장났어요"
    assert not request.from_payload and request.callback_url is None and request.continuation is None
    kakao = request.metadata[KAKAO_METADATA_KEY]
    assert kakao["user"]["type"] == "botUserKey"
    assert kakao["user"]["properties"]["plusfriendUserKey"] == "Xy3kQ9LmT2aB"
    assert kakao["bot"] == {"id": "64f1bf0e9a7c3b2d1e0f0001", "name": "고양시 소통봇"}
    assert kakao["block"] == {"id": "64f1c0a2b1e4d37a5c9e0001", "name": "폴백 블록"}
    assert kakao["intent"]["name"] == "폴백 블록"
    assert kakao["timezone"] == "Asia/Seoul" and kakao["lang"] == "ko"
    assert kakao["params"] == {"ignoreMe": "true"}
    assert kakao["action"] == {"id": "64f1c11d8b2a4e6f7a9c0001", "name": "sotong_skill"}  # empty parts left out
    assert kakao["has_callback"] is False
    assert request.metadata[IMAGE_URLS_KEY] == []
    json.dumps(request.metadata)  # stored in the tracker: must stay JSON


def test_callback_url_is_used_but_not_stored_in_metadata() -> None:
    payload = load_fixture("skill_payload_callback.json")
    request = parse(payload)
    assert request.callback_url == payload["userRequest"]["callbackUrl"]
    assert request.metadata[KAKAO_METADATA_KEY]["has_callback"] is True
    assert payload["userRequest"]["callbackUrl"] not in json.dumps(request.metadata)


def test_quick_reply_extra_with_intent_and_entities_skips_nlu() -> None:
    request = parse(load_fixture("skill_payload_quick_reply_intent.json"))
    assert request.text == '/report_complaint{"complaint_category":"streetlight"}'
    assert request.from_payload and request.utterance == "가로등 고장"


def test_button_extra_with_ready_payload_skips_nlu() -> None:
    assert parse(load_fixture("skill_payload_button_payload.json")).text == "/affirm"


def test_block_params_carry_a_payload_with_json_string_entities() -> None:
    request = parse(load_fixture("skill_payload_block_params.json"))
    assert request.text == '/budget_info{"budget_topic":"schedule"}'


def test_secure_image_plugin_urls_reach_metadata() -> None:
    request = parse(load_fixture("skill_payload_secureimage.json"))
    assert request.image_urls == (SECURE_URL_1, SECURE_URL_2)
    assert request.metadata[IMAGE_URLS_KEY] == [SECURE_URL_1, SECURE_URL_2]
    assert request.text == "사진 보내기"


def test_image_without_utterance_reaches_the_conversation_as_its_urls() -> None:
    payload = load_fixture("skill_payload_secureimage.json")
    payload["userRequest"]["utterance"] = ""
    assert parse(payload).text == f"{SECURE_URL_1} {SECURE_URL_2}"


def test_secure_urls_as_json_list_and_media_param_are_understood() -> None:
    payload = load_fixture("skill_payload_text.json")
    payload["action"]["params"] = {"photo": json.dumps({"imageQuantity": "1", "secureUrls": [SECURE_URL_1]})}
    payload["userRequest"]["params"]["media"] = {"type": "image", "url": SECURE_URL_2}
    assert parse(payload).image_urls == (SECURE_URL_1, SECURE_URL_2)


def test_legacy_v1_payload_with_string_null_client_extra() -> None:
    request = parse(load_fixture("skill_payload_v1_string_extra.json"))
    assert request.sender_id == "620678" and request.text == "스킬"
    assert request.metadata[KAKAO_METADATA_KEY]["user"]["type"] == "talk_user_id"


def test_continuation_extra_is_recognised_and_not_sent_as_payload() -> None:
    payload = load_fixture("skill_payload_text.json")
    payload["userRequest"]["utterance"] = "더 보기 (1/2)"
    payload["action"]["clientExtra"] = {"sotong_continuation": "AbCdEfGh12345678", "page": 2}
    request = parse(payload)
    assert request.continuation == ("AbCdEfGh12345678", 2)
    assert not request.from_payload


def test_malformed_extra_falls_back_to_nlu() -> None:
    payload = load_fixture("skill_payload_quick_reply_intent.json")
    payload["action"]["clientExtra"] = {"intent": "report complaint", "entities": {"x": "y"}}
    assert parse(payload).text == "가로등 고장"
    payload["action"]["clientExtra"] = {"intent": "report_complaint", "entities": ["not", "a", "dict"]}
    assert parse(payload).text == "가로등 고장"
    payload["action"]["clientExtra"] = {"payload": "not a payload"}
    assert parse(payload).text == "가로등 고장"


# ----------------------------------------------------------------------------- bad requests


def _with(path: str, value: Any) -> dict[str, Any]:
    payload = copy.deepcopy(load_fixture("skill_payload_text.json"))
    *parents, last = path.split(".")
    target = payload
    for key in parents:
        target = target[key]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return payload


_DELETE = object()


@pytest.mark.parametrize(
    "body, status, code, mentions",
    [
        (b"", 400, "empty_body", "empty"),
        (b"{not json", 400, "malformed_json", "not valid JSON"),
        (b"\xff\xfe", 400, "invalid_encoding", "UTF-8"),
        (b"[1, 2]", 400, "wrong_type", "JSON object"),
        (encode(_with("userRequest", _DELETE)), 400, "missing_field", "userRequest"),
        (encode(_with("userRequest", "hello")), 400, "wrong_type", "userRequest"),
        (encode(_with("userRequest.utterance", _DELETE)), 400, "missing_field", "userRequest.utterance"),
        (encode(_with("userRequest.utterance", 42)), 400, "wrong_type", "userRequest.utterance"),
        (encode(_with("userRequest.user", _DELETE)), 400, "missing_field", "userRequest.user"),
        (encode(_with("userRequest.user.id", _DELETE)), 400, "missing_field", "userRequest.user.id"),
        (encode(_with("userRequest.user.id", 620678)), 400, "wrong_type", "userRequest.user.id"),
        (encode(_with("userRequest.user.id", "  ")), 400, "missing_field", "userRequest.user.id"),
        (encode(_with("userRequest.user.properties", [])), 400, "wrong_type", "properties"),
        (encode(_with("action", "sotong")), 400, "wrong_type", "action"),
        (encode(_with("action.params", "x")), 400, "wrong_type", "action.params"),
        (encode(_with("action.clientExtra", [1])), 400, "wrong_type", "action.clientExtra"),
        (encode(_with("userRequest.callbackUrl", 7)), 400, "wrong_type", "callbackUrl"),
        (encode(_with("userRequest.utterance", "")), 400, "empty_message", "utterance"),
        (b" " * 70_000, 413, "body_too_large", "larger than"),
        (b"[" * 60_000, 400, "too_deeply_nested", "nested deeper than 32"),
        (b'{"a":' * 33 + b"1" + b"}" * 33, 400, "too_deeply_nested", "nested deeper"),
        (b'{"userRequest": {"utterance": "hi", "user": {"id": "x\\ud800"}}}', 400, "invalid_text", "surrogate"),
        (b'{"userRequest": {"utterance": 1' + b"0" * 5000 + b"}}", 400, "malformed_json", "not valid JSON"),
        (b'{"userRequest": NaN}', 400, "malformed_json", "NaN"),
        (b"\xed\xa0\x80", 400, "invalid_encoding", "UTF-8"),  # a surrogate encoded as UTF-8 bytes
        (encode(_with("userRequest.user.id", "rest:e2e-user")), 400, "invalid_field", "userRequest.user.id"),
        (encode(_with("userRequest.user.id", "x" * 129)), 400, "invalid_field", "128"),
        (encode(_with("userRequest.user.id", "사용자")), 400, "invalid_field", "letters, digits"),
        (encode(_with("userRequest.user.id", " padded ")), 400, "invalid_field", "userRequest.user.id"),
    ],
)
def test_bad_requests_say_what_is_wrong(body: bytes, status: int, code: str, mentions: str) -> None:
    with pytest.raises(SkillRequestError) as caught:
        parse_skill_request(body)
    error = caught.value
    assert (error.status, error.code) == (status, code)
    assert mentions in error.message
    assert error.to_json() == {"error": {"code": code, "message": error.message}}


def test_over_long_utterance_is_the_citizens_doing() -> None:
    payload = _with("userRequest.utterance", "가" * 101)
    with pytest.raises(UtteranceTooLongError) as caught:
        parse(payload, limits=RequestLimits(max_utterance_chars=100))
    assert caught.value.code == "utterance_too_long"
    assert parse(_with("userRequest.utterance", "가" * 100), limits=RequestLimits(max_utterance_chars=100))


def test_callback_host_can_be_restricted() -> None:
    payload = load_fixture("skill_payload_callback.json")
    assert parse(payload, callback_policy=CallbackPolicy(allowed_hosts=("kakao.com",))).callback_url
    assert parse(payload, callback_policy=CallbackPolicy(allowed_hosts=("example.org",))).callback_url is None


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:5055/webhook",
        "https://10.0.0.1/x",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]:5005/conversations",
        "https://localhost/x",
        "http://bot-api.kakao.com/v1/bots/b/callback/t",
        "https://bot-api.kakao.com.evil.example/cb",
        "https://evil.example/bot-api.kakao.com",
        "ftp://bot-api.kakao.com/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://bot-api.kakao.com:99999/x",
        "https://[broken/x",
    ],
)
def test_callback_url_refused_by_default_is_not_used_and_the_request_still_served(url: str) -> None:
    """Refused callback URLs are dropped, not errors: a late answer then waits for "답변 보기"."""
    request = parse(_with("userRequest.callbackUrl", url))
    assert request.callback_url is None and request.text == "가로등이 고장났어요"


@pytest.mark.parametrize(
    "url, allowed",
    [
        ("https://127.0.0.1/x", False),
        ("https://10.0.0.1/x", False),
        ("https://169.254.169.254/x", False),
        ("https://[::1]/x", False),
        ("https://[fd00:ec2::254]/x", False),
        ("https://224.0.0.1/x", False),
        ("https://0.0.0.0/x", False),
        ("https://100.64.0.1/x", False),
        ("https://8.8.8.8/x", True),
    ],
)
def test_literal_addresses_are_checked_at_parse_time(url: str, allowed: bool) -> None:
    everywhere = CallbackPolicy(
        allowed_hosts=(
            "127.0.0.1",
            "10.0.0.1",
            "169.254.169.254",
            "::1",
            "fd00:ec2::254",
            "224.0.0.1",
            "0.0.0.0",
            "100.64.0.1",
            "8.8.8.8",
        )
    )
    assert (everywhere.refusal(url) is None) is allowed
    assert CallbackPolicy(allowed_hosts=everywhere.allowed_hosts, allow_private_networks=True).refusal(url) is None


def test_a_host_resolving_to_loopback_is_refused_after_dns() -> None:
    url = "https://localhost:8443/callback/token"
    assert (
        asyncio.run(CallbackPolicy(allowed_hosts=("localhost",)).resolved_refusal(url))
        == "host resolves to an address that is not allowed"
    )
    opted_in = CallbackPolicy(allowed_hosts=("localhost",), allow_private_networks=True)
    assert asyncio.run(opted_in.resolved_refusal(url)) is None


def test_the_posting_connection_resolves_only_to_allowed_addresses() -> None:
    """The resolver of the POST itself drops refused addresses: a name that resolved to a public
    address at the check and to loopback a moment later (DNS rebinding) still cannot connect."""

    async def resolve(policy: CallbackPolicy) -> list[str]:
        resolver = CheckedResolver(policy)
        try:
            return [entry["host"] for entry in await resolver.resolve("localhost", 443)]
        finally:
            await resolver.close()

    with pytest.raises(OSError, match="no address a callback may be sent to"):
        asyncio.run(resolve(CallbackPolicy(allowed_hosts=("localhost",))))
    assert "127.0.0.1" in asyncio.run(
        resolve(CallbackPolicy(allowed_hosts=("localhost",), allow_private_networks=True))
    )


def test_callback_sender_refuses_a_loopback_callback_without_posting() -> None:
    """A real receiver on 127.0.0.1: the default policy's sender never reaches it."""
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/callback/t"
    try:
        refused = CallbackSender(
            timeout_seconds=2, attempts=1, policy=CallbackPolicy(allowed_hosts=("127.0.0.1",), allow_http=True)
        )
        assert asyncio.run(refused.deliver(url, {"version": "2.0"})) is False
        assert received == []
        allowed = CallbackSender(
            timeout_seconds=2,
            attempts=1,
            policy=CallbackPolicy(allowed_hosts=("127.0.0.1",), allow_http=True, allow_private_networks=True),
        )
        assert asyncio.run(allowed.deliver(url, {"version": "2.0"})) is True
        assert len(received) == 1
    finally:
        server.shutdown()
        server.server_close()


# ----------------------------------------------------------------------------- text Rasa must never see


@pytest.mark.parametrize(
    "path, value",
    [
        ("userRequest.utterance", "안녕\ud800"),
        ("userRequest.params.surface", "\udfff"),
        ("action.params.x", {"deep": ["\ud800"]}),
        ("action.clientExtra", {"\udc00key": 1}),
        ("bot.name", "봇\ud83d"),
    ],
)
def test_a_lone_surrogate_anywhere_is_refused(path: str, value: Any) -> None:
    body = json.dumps(_with(path, value)).encode("ascii")  # ensure_ascii: surrogates as \u escapes
    with pytest.raises(SkillRequestError) as caught:
        parse_skill_request(body)
    assert (caught.value.status, caught.value.code) == (400, "invalid_text")


def test_a_valid_surrogate_pair_is_an_ordinary_character() -> None:
    body = json.dumps(_with("userRequest.utterance", "가로등 😀")).encode("ascii")
    assert parse_skill_request(body).text == "가로등 😀"


@pytest.mark.parametrize(
    "extra",
    [
        '{"payload": "/greet{\\"name\\": \\"\\\\ud800\\"}"}',  # surrogate escaped inside the payload's JSON
        json.dumps({"payload": "/greet" + '{"a":' * 40 + "1" + "}" * 40}),
    ],
)
def test_payloads_rasa_would_decode_are_checked_too(extra: str) -> None:
    with pytest.raises(SkillRequestError) as caught:
        parse(_with("action.clientExtra", json.loads(extra)))
    assert caught.value.code in ("invalid_text", "too_deeply_nested")
    with pytest.raises(SkillRequestError):  # typed by the user, it would reach Rasa's payload parser as well
        parse(_with("userRequest.utterance", json.loads(extra)["payload"]))


@pytest.mark.parametrize(
    "embedded",
    [
        "[" * 20_000,  # would be a RecursionError in json.loads
        '{"payload": "/greet{\\"a\\": \\"\\udc00\\"}"}',
        '{"payload": "/greet", "x": "\\ud800"}',
        '{"intent": "greet", "entities": "{\\"name\\": \\"\\ud800\\"}"}',
    ],
)
def test_json_inside_strings_is_bounded_and_checked(embedded: str) -> None:
    """clientExtra and block parameters may carry JSON as a string: unusable JSON is ignored."""
    request = parse(_with("action.clientExtra", embedded))
    assert request.text == "가로등이 고장났어요" and not request.from_payload
    params = _with("action.params", {"photo": "secureUrls" + embedded, "payload": embedded})
    assert parse(params).text == "가로등이 고장났어요"


# ----------------------------------------------------------------------------- extra convention


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"payload": "/greet"}, "/greet"),
        ({"payload": ' /inform{"district": "ilsanseo"} '}, '/inform{"district": "ilsanseo"}'),
        (
            {"intent": "check_complaint_status", "entities": {"ticket_id": "GY-2024-0001"}},
            '/check_complaint_status{"ticket_id":"GY-2024-0001"}',
        ),
        (
            {"intent": "budget_feedback", "entities": {"score": 5, "tags": ["park", "road"]}},
            '/budget_feedback{"score":5,"tags":["park","road"]}',
        ),
        ({"intent": "greet"}, "/greet"),
        ({"intent": "greet", "entities": ""}, "/greet"),
        ({"intent": "greet", "entities": {"nested": {"no": 1}}}, None),
        ({"intent": "gre{et"}, None),
        ({"intent": 3}, None),
        ({"payload": "/greet hello"}, None),
        ({"other": "data"}, None),
        (None, None),
    ],
)
def test_rasa_payload_from_extra(data: Any, expected: Any) -> None:
    assert rasa_payload_from(data) == expected


def test_payload_shape_check() -> None:
    assert is_rasa_payload('/report_complaint{"complaint_category":"tree"}')
    assert not is_rasa_payload("/")
    assert not is_rasa_payload("안녕하세요")


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"sotong_continuation": "AbCdEfGh12345678", "page": 3}, ("AbCdEfGh12345678", 3)),
        ({"sotong_continuation": "AbCdEfGh12345678", "page": "2"}, ("AbCdEfGh12345678", 2)),
        ({"sotong_continuation": "AbCdEfGh12345678", "page": -1}, ("AbCdEfGh12345678", 1)),
        ({"sotong_continuation": "../../etc"}, None),
        ({"sotong_continuation": 12345678}, None),
        ({}, None),
    ],
)
def test_continuation_from_extra(data: Any, expected: Any) -> None:
    assert continuation_from(data) == expected
