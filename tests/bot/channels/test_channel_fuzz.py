"""Fuzzing both channels' request handling with Hypothesis (derandomized: the same bodies every run).

* Parsing level, several thousand bodies per channel: ``parse_skill_request`` and
  ``parse_rest_request`` called directly. The only exception ever allowed out is the channels'
  typed ``RequestError`` with a 400 or 413; whatever they accept must be storable (no lone
  surrogate in the sender, text or metadata, metadata strict JSON).
* HTTP level, a few hundred bodies with odd headers POSTed to the real ``rasa run`` (both
  channels, the project's credentials.yml): never a 5xx, both processes alive afterwards, and a
  normal Korean message still gets a normal answer on each channel.

Bodies: random bytes, bad JSON, wrong types at every SkillPayload path, odd Unicode (lone
surrogates as escapes and as raw bytes, astral characters), huge strings and numbers, deep nesting
(up to 60,000 levels), Rasa payloads and JSON carried inside strings.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import requests
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.channels.kakao import texts as kakao_texts
from bot.channels.kakao.request import parse_skill_request
from bot.channels.limits import RequestError
from bot.channels.rest import TOKEN_HEADER, parse_rest_request
from tests.depth import examples
from tests.kakao_helpers import SECRET_HEADER, assert_valid_skill_response, load_fixture, skill_payload

PARSE_EXAMPLES = examples(2500)  # per channel
HTTP_EXAMPLES = examples(150)  # per channel, against the real server
KAKAO_FIXTURES = [
    "skill_payload_text.json",
    "skill_payload_callback.json",
    "skill_payload_secureimage.json",
    "skill_payload_quick_reply_intent.json",
    "skill_payload_block_params.json",
]
KAKAO_PATHS = [
    "userRequest",
    "userRequest.utterance",
    "userRequest.user",
    "userRequest.user.id",
    "userRequest.user.type",
    "userRequest.user.properties",
    "userRequest.user.properties.plusfriendUserKey",
    "userRequest.params",
    "userRequest.params.media",
    "userRequest.callbackUrl",
    "userRequest.timezone",
    "userRequest.block",
    "action",
    "action.params",
    "action.params.secureimage",
    "action.detailParams",
    "action.clientExtra",
    "action.clientExtra.payload",
    "action.clientExtra.intent",
    "action.clientExtra.entities",
    "action.clientExtra.sotong_continuation",
    "action.clientExtra.page",
    "bot",
    "bot.name",
    "intent",
    "extra",
]
REST_PATHS = ["sender", "message", "metadata", "metadata.image_urls", "metadata.kakao", "input_channel", "extra"]

# Every code point, surrogates included (Hypothesis leaves category Cs out by default), and
# strings with lone surrogates (escaped as \ud800 by json.dumps) drawn often on purpose.
any_text = st.text(st.characters(blacklist_categories=()), max_size=30)
surrogate_text = st.builds(
    lambda head, lone, tail: head + lone + tail,
    st.sampled_from(["", "x", "가로등", "a1b2"]),
    st.sampled_from(["\ud800", "\udfff", "\ud83d", "\udc00"]),
    st.sampled_from(["", "y", "😀"]),
)
special_text = st.sampled_from(
    [
        "",
        " ",
        "/greet",
        "/greet{",
        '/greet{"name": "\\ud800"}',
        "/greet" + "{" * 40,
        "/" + "[" * 5000,
        '{"payload": "/affirm"}',
        '{"intent": "report_complaint", "entities": "{\\"x\\": \\"\\\\udc00\\"}"}',
        "[" * 20000,
        '{"secureUrls": "List(https://a.example/1.jpg, http://127.0.0.1/x)"}',
        "secureUrls" + "[" * 3000,
        "https://bot-api.kakao.com/v1/bots/b/callback/t",
        "https://127.0.0.1:5055/webhook",
        "http://[::1]/x",
        "https://169.254.169.254/latest",
        "https://[broken",
        "AbCdEfGh12345678",
        "가" * 2001,
        "x" * 70_000,
        "010-1234-5678",
        "😀\u200b\u202e\x00\x7f",
        "rest:someone",
        "a" * 129,
    ]
)
scalars = (
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | any_text | special_text | surrogate_text
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text | special_text, inner, max_size=4),
    max_leaves=12,
)


_DELETE = object()


def _set(payload: Any, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    target = payload
    for key in parents:
        if not isinstance(target, dict) or not isinstance(target.get(key), dict):
            return
        target = target[key]
    if isinstance(target, dict):
        if value is _DELETE:
            target.pop(last, None)
        else:
            target[last] = value


def _encode(draw: Callable[[Any], Any], payload: Any) -> bytes:
    """JSON text of ``payload`` in one of several encodings, some of them broken on purpose."""
    mode = draw(st.sampled_from(["ascii", "ascii", "utf8", "utf8", "surrogatepass", "latin1", "truncated", "utf16"]))
    text = json.dumps(payload, ensure_ascii=(mode == "ascii"))
    if mode == "surrogatepass":
        return text.encode("utf-8", "surrogatepass")  # lone surrogates as raw (invalid UTF-8) bytes
    if mode == "latin1":
        return text.encode("latin-1", "replace")
    if mode == "utf16":
        return text.encode("utf-16", "surrogatepass")
    body = text.encode("utf-8", "replace")
    if mode == "truncated":
        return body[: draw(st.integers(0, max(0, len(body) - 1)))]
    return body


mutations = st.one_of(surrogate_text, special_text, json_values, st.just(_DELETE))
raw_bodies = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(
        [
            b"",
            b"null",
            b"[]",
            b"{}",
            b'"text"',
            b"1" * 5000,
            b'{"userRequest": 1e999}',
            b'{"sender": NaN}',
            b"\xef\xbb\xbf{}",
            b"{" * 33,
            b"\xed\xa0\x80",
        ]
    ),
    st.builds(
        lambda opener, depth: opener * depth,
        st.sampled_from([b"[", b'{"a":', b'[{"a":']),
        st.sampled_from([31, 32, 33, 1000, 30_000, 60_000]),
    ),
    st.builds(lambda size: b'{"a": "' + b"x" * size + b'"}', st.sampled_from([65_520, 65_531, 70_000])),
)


@st.composite
def kakao_bodies(draw: Callable[[Any], Any]) -> bytes:
    if draw(st.integers(0, 4)) == 0:
        return draw(raw_bodies)
    payload = copy.deepcopy(load_fixture(draw(st.sampled_from(KAKAO_FIXTURES))))
    for _ in range(draw(st.integers(1, 3))):
        _set(payload, draw(st.sampled_from(KAKAO_PATHS)), draw(mutations))
    return _encode(draw, payload)


@st.composite
def rest_bodies(draw: Callable[[Any], Any]) -> bytes:
    if draw(st.integers(0, 4)) == 0:
        return draw(raw_bodies)
    payload: Any = {
        "sender": draw(st.sampled_from(["dev", "fuzz-1", "a1b2c3"]) | any_text | surrogate_text),
        "message": draw(
            st.sampled_from(["안녕하세요", "/greet", "가로등이 고장났어요"]) | any_text | surrogate_text | special_text
        ),
    }
    for _ in range(draw(st.integers(0, 2))):
        _set(payload, draw(st.sampled_from(REST_PATHS)), draw(mutations))
    if draw(st.integers(0, 19)) == 0:
        payload = draw(json_values)
    return _encode(draw, payload)


def _assert_storable(*values: Any) -> None:
    for value in values:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")  # no surrogate, no NaN


def _assert_typed_outcome(parse: Callable[[bytes], Any], body: bytes) -> Any:
    try:
        result = parse(body)
    except RequestError as error:
        event(f"refused {error.status} {error.code}")  # see pytest --hypothesis-show-statistics
        assert error.status in (400, 413), (error.status, error.code)
        assert error.code and error.message
        _assert_storable(error.to_json())
        return None
    event("accepted")
    return result


PARSE_SETTINGS = settings(
    max_examples=PARSE_EXAMPLES, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


@PARSE_SETTINGS
@given(body=kakao_bodies())
def test_kakao_parser_raises_only_typed_4xx_errors(body: bytes) -> None:
    request = _assert_typed_outcome(parse_skill_request, body)
    if request is not None:
        _assert_storable(request.sender_id, request.text, request.metadata, request.callback_url)
        assert ":" not in request.sender_id  # never a REST conversation's id


@PARSE_SETTINGS
@given(body=rest_bodies())
def test_rest_parser_raises_only_typed_4xx_errors(body: bytes) -> None:
    request = _assert_typed_outcome(parse_rest_request, body)
    if request is not None:
        _assert_storable(request.sender_id, request.text, request.metadata)
        assert request.sender_id.startswith("rest:") and len(request.text) <= 2000


# ----------------------------------------------------------------------------- over HTTP


odd_headers = st.fixed_dictionaries(
    {},
    optional={
        "Content-Type": st.sampled_from(
            [
                "application/json",
                "text/plain",
                "application/json; charset=latin-1",
                "multipart/form-data; boundary=x",
                "",
            ]
        ),
        "Content-Encoding": st.sampled_from(["gzip", "br", "identity"]),
        "X-Forwarded-For": st.sampled_from(["127.0.0.1", "::1, 10.0.0.1", "x" * 2000]),
        "Accept": st.sampled_from(["*/*", "text/html", "\x7f"]),
        # Any bytes an HTTP client can send in a header value (no CR, LF, NUL, no leading space).
        "X-Odd": st.binary(min_size=1, max_size=50).map(
            lambda b: bytes(c for c in b if c not in b"\r\n\x00").lstrip() or b"x"
        ),
    },
)


def _post(url: str, body: bytes, headers: dict[str, Any], chunked: bool) -> requests.Response:
    data: Any = iter([body[i : i + 4096] for i in range(0, len(body), 4096)] or [b""]) if chunked else body
    return requests.post(url, data=data, headers=headers, timeout=60)


HTTP_SETTINGS = settings(
    max_examples=HTTP_EXAMPLES, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
credentials = st.sampled_from(["right"] * 8 + ["wrong", None])


def test_the_real_server_never_answers_5xx_and_keeps_answering(rasa_stack: Any) -> None:
    statuses: dict[int, int] = {}

    def send(
        url: str, header: str, right: str, body: bytes, headers: dict[str, Any], credential: Any, chunked: bool
    ) -> None:
        headers = dict(headers)
        if credential is not None:
            headers[header] = right if credential == "right" else "wrong"
        response = _post(url, body, headers, chunked)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, response.text[:300]

    @HTTP_SETTINGS
    @given(body=kakao_bodies(), headers=odd_headers, credential=credentials, chunked=st.booleans())
    def kakao_route(body: bytes, headers: dict[str, Any], credential: Any, chunked: bool) -> None:
        send(rasa_stack.kakao_url, SECRET_HEADER, rasa_stack.kakao_secret, body, headers, credential, chunked)

    @HTTP_SETTINGS
    @given(body=rest_bodies(), headers=odd_headers, credential=credentials, chunked=st.booleans())
    def rest_route(body: bytes, headers: dict[str, Any], credential: Any, chunked: bool) -> None:
        send(rasa_stack.rest_url, TOKEN_HEADER, rasa_stack.rest_token, body, headers, credential, chunked)

    kakao_route()
    rest_route()
    print(f"\nfuzz over HTTP: {sum(statuses.values())} requests, statuses {sorted(statuses.items())}")
    assert sum(statuses.values()) >= 2 * HTTP_EXAMPLES
    assert statuses.get(200, 0) > 0 and statuses.get(400, 0) > 0  # turns ran, and refusals happened

    assert all(service.process.poll() is None for service in rasa_stack.services)
    kakao = requests.post(
        rasa_stack.kakao_url,
        json=skill_payload("안녕하세요", "fuzz-after-1"),
        headers={SECRET_HEADER: rasa_stack.kakao_secret},
        timeout=30,
    )
    assert kakao.status_code == 200
    body = kakao.json()
    assert_valid_skill_response(body)
    texts: list[str] = [o["simpleText"]["text"] for o in body["template"]["outputs"] if "simpleText" in o]
    assert texts and kakao_texts.TURN_FAILED not in texts
    replies = rasa_stack.say("fuzz-after-2", "대형 폐기물은 어떻게 버려요?")
    assert replies and replies[0]["recipient_id"] == "fuzz-after-2"
    assert all(reply.get("text") != kakao_texts.TURN_FAILED for reply in replies)
