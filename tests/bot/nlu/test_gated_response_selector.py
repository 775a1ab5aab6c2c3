"""The civic_info topic is selected for possible civic_info questions only (config.yml's
GatedResponseSelector): on the served test model, and on messages built by hand."""

from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message

from bot.nlu.gated_response_selector import retrieval_intent_confidence


def test_a_civic_question_gets_a_topic_and_a_greeting_or_form_answer_does_not(rasa_stack):
    civic = rasa_stack.parse("대형 폐기물은 어떻게 버려요?")
    assert civic["intent"]["name"] == "civic_info"
    selected = civic["response_selector"]["civic_info"]
    assert selected["response"]["intent_response_key"] == "civic_info/waste"
    assert selected["ranking"]  # the "did you mean" suggestions read it
    for text in ("안녕하세요", "가로등이 고장났어요", "동의하지 않아요"):
        parsed = rasa_stack.parse(text)
        assert parsed["intent"]["name"] != "civic_info"
        assert "civic_info" not in (parsed.get("response_selector") or {}), text


def test_retrieval_intent_confidence_comes_from_the_intent_or_its_ranking():
    message = Message(
        data={
            "text": "x",
            "intent": {"name": "nlu_fallback", "confidence": 0.4},
            "intent_ranking": [{"name": "greet", "confidence": 0.3}, {"name": "civic_info", "confidence": 0.2}],
        }
    )
    assert retrieval_intent_confidence(message, "civic_info") == 0.2
    assert retrieval_intent_confidence(message, "report_complaint") == 0.0
    message.set("intent", {"name": "civic_info", "confidence": 0.6})
    assert retrieval_intent_confidence(message, "civic_info") == 1.0
