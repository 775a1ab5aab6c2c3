"""The realistic development set (tests/nlu_realistic.yml): complete, labelled with known values,
and independent of the training data."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.trainer import lint, nlu_data
from tests.stack import ROOT

REALISTIC = ROOT / "tests" / "nlu_realistic.yml"
MIN_EXAMPLES = 650
COMPLAINT_SHAPES = {"title", "grievance", "body", "statement"}
CIVIC_SHAPES = {"heading", "question"}


@pytest.fixture(scope="module")
def realistic() -> list[Message]:
    return list(nlu_data.load_nlu(REALISTIC).intent_examples)


@pytest.fixture(scope="module")
def training() -> list[Message]:
    return list(nlu_data.load_nlu().intent_examples)


def shape_of(message: Message) -> str:
    return ((message.get("metadata") or {}).get("intent") or {}).get("shape")


def same_text_key(text: str) -> str:
    """Text without spaces, punctuation, emoji and case (the lint's loose form); a message of
    symbols only is compared as written."""
    return lint.loose_form(text) or text.strip()


def test_realistic_set_covers_every_intent_topic_and_shape(realistic: list[Message], training: list[Message]) -> None:
    assert len(realistic) >= MIN_EXAMPLES
    intents = Counter(m.get("intent") for m in realistic)
    required = {*lint.TAXONOMY_INTENTS, "subscribe", "unsubscribe", "list_subscriptions"}
    assert required <= set(intents), required - set(intents)
    assert set(intents) <= {m.get("intent") for m in training}, "an intent the model does not know"
    complaints = [m for m in realistic if m.get("intent") == "report_complaint"]
    assert len(complaints) >= 0.35 * len(realistic)
    assert {shape_of(m) for m in complaints} == COMPLAINT_SHAPES
    # every civic_info topic of the training data, as FAQ headings and as questions
    training_topics = {m.get("intent_response_key") for m in training if m.get("intent_response_key")}
    for topic in training_topics:
        shapes = {shape_of(m) for m in realistic if m.get("intent_response_key") == topic}
        assert shapes == CIVIC_SHAPES, (topic, shapes)
    assert intents["smalltalk"] >= 0.08 * len(realistic)


def test_realistic_labels_are_known_values(realistic: list[Message]) -> None:
    categories = lint.city_complaint_categories()
    annotated = Counter()
    for message in realistic:
        for entity in message.get("entities") or []:
            if entity["entity"] == "complaint_category":
                assert entity["value"] in categories, (entity["value"], message.get("text"))
                assert message.get("intent") in {"report_complaint", "check_complaint_status"}
                annotated[entity["value"]] += 1
    # every category the city knows, the catch-all included, is exercised
    assert set(annotated) == set(categories), set(categories) - set(annotated)


def test_no_realistic_example_is_a_training_example(realistic: list[Message], training: list[Message]) -> None:
    trained = {same_text_key(m.get("text")): m.get("text") for m in training}
    copies = [
        (m.get("text"), trained[same_text_key(m.get("text"))])
        for m in realistic
        if same_text_key(m.get("text")) in trained
    ]
    assert not copies, f"realistic examples found in data/nlu (reword one side): {copies}"


def test_same_text_key_ignores_spacing_punctuation_and_emoji() -> None:
    assert same_text_key("불법 주차 단속해 주세요!! 😡") == same_text_key("불법주차단속해주세요")
    assert same_text_key("😭😭") != same_text_key("👍")


def test_training_tools_never_read_the_realistic_set(realistic: list[Message], training: list[Message]) -> None:
    path = REALISTIC.resolve()
    # the lint (make validate) reads data/nlu only
    assert not path.is_relative_to(nlu_data.NLU_DIR.resolve())
    # every Rasa command of the Makefile (train, validate) takes its data from data/ only
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    data_dirs = re.findall(r"--data\s+(\S+)", makefile)
    assert data_dirs
    for folder in data_dirs:
        assert not path.is_relative_to((ROOT / folder).resolve()), folder
    # and what the lint loads holds none of the set's texts
    assert not {m.get("text") for m in training} & {m.get("text") for m in realistic}
