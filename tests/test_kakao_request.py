"""Parsing and validation of Kakao SkillPayloads (fixtures shaped after Kakao's documentation)."""
from __future__ import annotations

import copy
import json
from typing import Any, Dict

import pytest

from bot.channels.kakao_extra import continuation_from, is_rasa_payload, rasa_payload_from
from bot.channels.kakao_request import (
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


def _with(path: str, value: Any) -> Dict[str, Any]:
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
        (encode(_with("userRequest.callbackUrl", "ftp://example.org/x")), 400, "invalid_callback_url", "callbackUrl"),
        (encode(_with("userRequest.callbackUrl", 7)), 400, "wrong_type", "callbackUrl"),
        (encode(_with("userRequest.utterance", "")), 400, "empty_message", "utterance"),
        (b" " * 70_000, 413, "body_too_large", "larger than"),
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
    assert parse(payload, callback_allowed_hosts=("kakao.com",)).callback_url
    with pytest.raises(SkillRequestError) as caught:
        parse(payload, callback_allowed_hosts=("example.org",))
    assert caught.value.code == "callback_host_not_allowed"


# ----------------------------------------------------------------------------- extra convention


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"payload": "/greet"}, "/greet"),
        ({"payload": ' /inform{"district": "ilsanseo"} '}, '/inform{"district": "ilsanseo"}'),
        ({"intent": "check_complaint_status", "entities": {"ticket_id": "GY-2024-0001"}},
         '/check_complaint_status{"ticket_id":"GY-2024-0001"}'),
        ({"intent": "budget_feedback", "entities": {"score": 5, "tags": ["park", "road"]}},
         '/budget_feedback{"score":5,"tags":["park","road"]}'),
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
