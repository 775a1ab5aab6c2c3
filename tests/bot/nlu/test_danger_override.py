"""The danger safety net (bot/nlu/danger_override.py, data/city/danger_signs.yml): a clear sign of
danger to a person or property now makes report_emergency the top intent, whatever DIET said; words
shared with information questions and ordinary complaints do not."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from ruamel.yaml import YAML

from bot.nlu.danger_override import DangerSignOverride, default_signs_path, read_signs

ROOT = Path(__file__).resolve().parents[3]

# a DIET-like answer that is confidently wrong (the failure mode the net is for)
RANKING = [
    {"name": "report_complaint", "confidence": 0.97},
    {"name": "smalltalk", "confidence": 0.02},
    {"name": "report_emergency", "confidence": 0.006},
    {"name": "civic_info", "confidence": 0.004},
]

DANGER = [
    ("가슴이 너무 아프고 숨쉬기가 힘드네", "medical"),
    ("아버지가 숨을 못 쉬세요 빨리요", "medical"),
    ("숨을못쉬겠어요 도와주세요", "medical"),
    ("할머니가 갑자기 쓰러지셨어요", "medical"),
    ("마트 앞에서 사람이 쓰러졌는데 의식이 없어요", "medical"),
    ("손을 베었는데 피가 멈추지 않고 계속 나요", "medical"),
    ("아이가 경련을 일으켜요", "medical"),
    ("호흡이 가빠지고 가슴이 조여 와요", "medical"),
    ("my father can't breathe", "medical"),
    ("끊어진 전선에서 불꽃이 튀고 있어요", "fire"),
    ("옆 건물 창고에서 불길이 치솟아요", "fire"),
    ("아파트 복도에 검은 연기가 가득해요", "fire"),
    ("윗집에서 불이 났어요", "fire"),
    ("부엌에서 가스 냄새가 심하게 나요", "gas"),
    ("가스가 새는 소리가 나요", "gas"),
    ("공장에서 화학 약품 냄새가 나고 나서 숨이 막히고 눈이 따가워요", "gas"),
    ("there is a gas smell in our hallway", "gas"),
    ("지하차도에 물이 차서 차 안에 사람이 갇혔어요", "flood"),
    ("하천 둑이 곧 넘칠 것 같아요", "flood"),
    ("물이 허리까지 차올랐어요", "flood"),
    ("도로 한가운데 싱크홀이 생겼어요", "sinkhole"),
    ("인도가 갑자기 푹 꺼졌어요", "sinkhole"),
    ("공사장 옹벽이 무너졌어요", "collapse"),
    ("교차로에서 할아버지가 차에 치였어요", "traffic_accident"),
    ("골목에서 사고가 났는데 운전하던 분이 안 움직여요", "traffic_accident"),
    ("뒷산에 산사태가 나서 집 쪽으로 흙이 밀려와요", "collapse"),
    ("반지하인데 물이 들어차서 못 나가요", "flood"),
    ("아버지가 갑자기 한쪽 팔다리에 힘이 없고 말이 어눌해요", "medical"),
    ("할머니 얼굴 한쪽이 마비가 왔어요", "medical"),
    ("남편이 자다 깼는데 몸이 안 움직인대요", "medical"),
    ("편의점 앞에서 어떤 남자가 칼을 들고 소리를 질러요", "violence"),
    ("옆집에서 누가 여자를 마구 때리고 있어요", "violence"),
    ("모르는 사람이 계속 따라오고 있어요 무서워요", "violence"),
]

NOT_DANGER = [
    "가스 요금 얼마나 나왔는지 조회하고 싶어요",
    "가스 점검 신청은 어디서 해요?",
    "화재보험 가입 지원 있나요",
    "고양시 숨은 명소 추천해 주세요",
    "불법 소각 연기 민원 넣고 싶어요",
    "하수구 냄새가 너무 심해요",
    "양돈 농가 냄새 개선 요구합니다",
    "가스 냄새가 나면 어떻게 해야 하나요?",
    "더워서 숨 막혀 죽겠어 ㅋㅋ",
    "지난주에 가스 냄새 신고했는데 어떻게 됐어요",
    "또 침수됐어요 배수로 좀 넓혀주세요",
    "커피를 많이 마셨더니 잠이 안 와",
    "싱크홀 예방 대책이 궁금해요",
    "불꽃놀이 축제 언제 해요",
    "쓰러진 나무 좀 치워주세요",
    "보도블럭이 깔려 있는데 울퉁불퉁해요",
    "심폐소생술 교육 신청하고 싶어요",
    "화재 신고 방법 알려주세요",
    "전기불이 나갔어요",
    "고기 굽는 연기 때문에 창문을 못 열겠어요",
    "안녕하세요",
    "작년에 불이 났던 빈 건물 좀 철거해 주세요",
    "산사태 위험 지역 조회하고 싶어요",
    "교통사고 다발 구역 개선해 주세요",
    "도로 구덩이 때문에 타이어가 빠졌어요",
    "/affirm",
    "차가 안 움직여요 견인 좀 불러주세요",
    "다리 마비 장애인 활동지원 신청 방법 알려주세요",
    "칼을 들고 요리하다가 손끝을 살짝 베었어요",
    "흉기 소지 신고 방법 알려주세요",
]


@pytest.fixture(scope="module")
def net() -> DangerSignOverride:
    return DangerSignOverride({})


def message(text: str, ranking=None) -> Message:
    ranking = [dict(e) for e in (ranking or RANKING)]
    return Message(data={"text": text, "intent": dict(ranking[0]), "intent_ranking": ranking, "entities": []})


@pytest.mark.parametrize("text,kind", DANGER)
def test_a_sign_of_danger_makes_report_emergency_the_top_intent(net, text, kind):
    [result] = net.process([message(text)])
    assert result.get("intent")["name"] == "report_emergency"
    ranking = result.get("intent_ranking")
    assert ranking[0] == result.get("intent")
    assert [e["name"] for e in ranking].count("report_emergency") == 1
    confidences = [e["confidence"] for e in ranking]
    assert confidences == sorted(confidences, reverse=True)
    assert sum(confidences) == pytest.approx(1.0)
    assert confidences[0] - confidences[1] > 0.1  # the FallbackClassifier's ambiguity gap
    assert result.get("danger_sign")["type"] == kind
    assert result.get("danger_sign")["replaced_intent"] == "report_complaint"
    [entity] = [e for e in result.get("entities") if e["entity"] == "emergency_type"]
    assert entity["value"] == kind
    assert text[entity["start"] : entity["end"]] == result.get("danger_sign")["text"]


@pytest.mark.parametrize("text", NOT_DANGER)
def test_shared_words_in_questions_and_ordinary_complaints_change_nothing(net, text):
    before = message(text)
    [result] = net.process([message(text)])
    assert result.get("intent") == before.get("intent")
    assert result.get("intent_ranking") == before.get("intent_ranking")
    assert result.get("danger_sign") is None
    assert result.get("entities") == []


def test_the_classifiers_own_emergency_entity_and_higher_confidence_are_kept(net):
    ranking = [{"name": "report_emergency", "confidence": 0.99}, {"name": "greet", "confidence": 0.01}]
    msg = message("아래층에서 불이 났어요", ranking)
    msg.set("entities", [{"entity": "emergency_type", "value": "fire", "start": 6, "end": 10}])
    [result] = net.process([msg])
    assert result.get("intent") == {"name": "report_emergency", "confidence": 0.99}
    assert len(result.get("entities")) == 1


def test_a_message_without_a_ranking_still_gets_the_intent(net):
    msg = Message(data={"text": "사람이 쓰러졌어요"})
    [result] = net.process([msg])
    assert result.get("intent") == {"name": "report_emergency", "confidence": 0.9}
    assert result.get("intent_ranking") == [result.get("intent")]


def test_every_sign_type_is_an_emergency_type_and_every_pattern_compiles():
    signs, not_danger = read_signs(default_signs_path())
    types = YAML(typ="safe").load((ROOT / "data/city/emergency_types.yml").read_text(encoding="utf-8"))
    ids = {t["id"] for t in types["emergency_types"]}
    assert set(signs) <= ids
    assert {"medical", "fire", "gas", "flood", "sinkhole", "collapse"} <= set(signs)
    assert not_danger


def test_the_signs_travel_with_the_trained_model(tmp_path):
    storage = LocalModelStorage(tmp_path)
    resource = Resource("danger")
    context = ExecutionContext(graph_schema=None, model_id="m")  # type: ignore[arg-type]
    trained = DangerSignOverride.create({}, storage, resource, context)
    trained.train(TrainingData())
    loaded = DangerSignOverride.load({}, storage, resource, context)
    assert loaded.signs == trained.signs and loaded.not_danger == trained.not_danger
    assert loaded.find_sign("숨을 못 쉬어요")[0] == "medical"


def test_the_pipeline_runs_the_net_after_diet_and_before_the_fallback_classifier():
    config = YAML(typ="safe").load((ROOT / "config.yml").read_text(encoding="utf-8"))
    names = [c["name"] for c in config["pipeline"]]
    net_at = names.index("bot.nlu.danger_override.DangerSignOverride")
    assert names.index("bot.nlu.length_buckets.BucketedDIETClassifier") < net_at < names.index("FallbackClassifier")


def test_a_model_without_the_city_file_uses_the_copy_it_was_trained_with(tmp_path, monkeypatch):
    (tmp_path / "model").mkdir()
    storage = LocalModelStorage(tmp_path / "model")
    resource = Resource("danger")
    context = ExecutionContext(graph_schema=None, model_id="m")  # type: ignore[arg-type]
    DangerSignOverride.create({}, storage, resource, context).train(TrainingData())
    monkeypatch.setenv("SOTONG_CITY_DATA_DIR", str(tmp_path / "no-city-data"))
    loaded = DangerSignOverride.load({}, storage, resource, context)
    assert loaded.find_sign("가스 냄새가 나요")[0] == "gas"
