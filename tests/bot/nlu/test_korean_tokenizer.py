"""The Korean tokenizer: exact offsets on any text, sensible tokens, one JVM, thread safety."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.analyzers import AnalyzerUnavailable, get_analyzer
from bot.nlu.korean_tokenizer import KoreanTokenizer
from bot.nlu.segmentation import MAX_ANALYSED_CHARS, MAX_TOKENS, MAX_WORD_CHARS, segment
from tests.depth import examples, sample

ANALYZERS = ["kiwi", "okt", "komoran", "mecab"]

HANGUL = st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
PIECES = st.one_of(
    st.text(HANGUL, min_size=1, max_size=8),
    st.sampled_from(
        [
            "가로등이",
            "고장났어요",
            "했어요",
            "됐나요",
            "대형폐기물버리는법",
            "주엽역2번출구",
            "GY-2026-000123",
            "gy-2025-004512번",
            "010-1234-5678",
            "031.909.9000",
            "ㅇㅇ",
            "ㄱㅅ",
            "ㄴㄴ",
            "ㅋㅋㅋ",
            "😀",
            "👍🏻",
            "👨‍👩‍👧",
            "GTX-A",
            "passport",
            "3천만원",
            "1억 2천만 원",
            "!!",
            "?",
            "~",
            "https://www.goyang.go.kr",
            "help@goyang.go.kr",
            "高陽",
            "  ",
            "\n",
            "\t",
            "ㅠㅠ",
            "1,000원",
            "ㅎㅇ요",
        ]
    ),
    st.text(max_size=4),
)
TEXTS = st.lists(PIECES, max_size=12).flatmap(
    lambda parts: st.lists(st.sampled_from(["", " ", "  "]), min_size=len(parts), max_size=len(parts)).map(
        lambda seps: "".join(p + s for p, s in zip(parts, seps))
    )
)


def check_invariants(text: str, spans) -> None:
    previous_end = 0
    for span in spans:
        assert text[span.start : span.end] == span.text
        assert span.text and not span.text.isspace()
        assert span.start >= previous_end
        previous_end = span.end


@pytest.mark.parametrize("analyzer", ANALYZERS)
@settings(max_examples=examples(400), deadline=None)
@given(text=TEXTS)
def test_offsets_are_exact_on_varied_text(analyzer: str, text: str) -> None:
    check_invariants(text, segment(text, get_analyzer(analyzer).pos))


@pytest.mark.parametrize("analyzer", ANALYZERS)
def test_offsets_on_the_training_corpus(analyzer: str) -> None:
    from bot.trainer.nlu_data import load_nlu

    pos = get_analyzer(analyzer).pos
    examples = load_nlu().intent_examples
    assert len(examples) > 500
    for message in sample(examples):
        check_invariants(message.get("text"), segment(message.get("text"), pos))


def texts(text: str, analyzer: str = "okt"):
    return [s.text for s in segment(text, get_analyzer(analyzer).pos)]


@pytest.mark.parametrize("analyzer", ANALYZERS)
def test_special_tokens_stay_whole(analyzer: str) -> None:
    tokens = texts("접수번호GY-2026-000123번 010-1234-5678로 연락 ㄱㅅ 👍🏻 https://www.goyang.go.kr", analyzer)
    for whole in ["GY-2026-000123", "010-1234-5678", "ㄱㅅ", "👍🏻", "https://www.goyang.go.kr"]:
        assert whole in tokens


@pytest.mark.parametrize("analyzer", ANALYZERS)
def test_particles_split_from_nouns(analyzer: str) -> None:
    tokens = texts("가로등이 고장났어요", analyzer)
    assert tokens[:2] == ["가로등", "이"]


def test_missing_and_extra_spaces_give_the_same_words() -> None:
    spaced = texts("대형 폐기물 버리는 법")
    squashed = texts("대형폐기물버리는법")
    assert spaced == squashed
    assert texts("가로등이    고장났어요") == texts("가로등이 고장났어요")


def test_punctuation_dropped_emoji_kept() -> None:
    assert texts("불이야!!! 🔥🔥") == ["불", "이야", "🔥", "🔥"]


def test_component_sets_tokens_and_pos_for_rasa() -> None:
    tokenizer = KoreanTokenizer({**KoreanTokenizer.get_default_config(), "analyzer": "okt"})
    message = Message.build(text="주엽역 앞 보안등이 꺼졌어요")
    tokenizer.process([message])
    tokens = message.get("text_tokens")
    assert [t.text for t in tokens][:4] == ["주엽역", "앞", "보안등", "이"]
    assert all(message.get("text")[t.start : t.end] == t.text for t in tokens)
    assert tokens[0].get("pos") == "Noun"


def test_analyzer_is_shared_and_thread_safe() -> None:
    assert get_analyzer("okt") is get_analyzer("OKT")
    sentences = ["가로등이 고장났어요", "여권 재발급 어디서 해요?", "불이야 살려주세요", "GY-2026-000123 조회"] * 25
    expected = [texts(s) for s in sentences]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(texts, sentences))
    assert results == expected


def test_unknown_analyzer_is_a_clear_error() -> None:
    with pytest.raises(AnalyzerUnavailable, match="Unknown analyzer"):
        get_analyzer("nonexistent")


def test_second_analyzer_reuses_the_running_jvm() -> None:
    import jpype

    get_analyzer("okt")
    assert jpype.isJVMStarted()
    # a second analyzer in the same process must not try to start another JVM
    assert texts("가로등이 고장났어요", "komoran")[:2] == ["가로등", "이"]


class CountingPos:
    """An analyzer's pos function that records every text it is given."""

    def __init__(self, analyzer: str) -> None:
        self._pos = get_analyzer(analyzer).pos
        self.texts = []

    def __call__(self, text: str):
        self.texts.append(text)
        return self._pos(text)


@pytest.mark.parametrize(
    "unit", ["도로에 구멍이 났어요 ", "도로에구멍이났어요", "가", "불편해요! 빨리 고쳐 주세요 😡 GY-2026-000123 "]
)
def test_work_per_message_is_bounded_on_a_40000_character_message(unit: str) -> None:
    text = unit * (40_000 // len(unit))
    counting = CountingPos("kiwi")
    spans = segment(text, counting)
    check_invariants(text, spans)
    assert sum(map(len, counting.texts)) <= MAX_ANALYSED_CHARS
    # analyzers are quadratic or worse in a word's length: no long word goes in one piece
    assert all(len(word) <= MAX_WORD_CHARS for piece in counting.texts for word in piece.split())
    assert len(spans) <= MAX_TOKENS


def test_analysed_characters_grow_linearly_below_the_bound() -> None:
    counts = []
    for words in (20, 40, 80):
        counting = CountingPos("okt")
        segment("가로등이 고장났어요 " * words, counting)
        counts.append(sum(map(len, counting.texts)))
    assert counts[1] <= 2 * counts[0] + 1 and counts[2] <= 2 * counts[1] + 1


def test_a_long_tail_leaves_the_first_tokens_as_they_were() -> None:
    head = "주엽역 앞 보안등이 꺼졌어요 빨리 고쳐 주세요 "
    alone = segment(head, get_analyzer("kiwi").pos)
    with_tail = segment(head + "도로에구멍이났어요" * 4000, get_analyzer("kiwi").pos)
    assert with_tail[: len(alone)] == alone
    check_invariants(head + "도로에구멍이났어요" * 4000, with_tail)
