"""The Korean won amount parser and formatter (bot/budget/amounts.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.budget.amounts import format_krw, parse_krw
from tests.depth import examples

KOREAN_DIGITS = "영일이삼사오육칠팔구"


@pytest.mark.parametrize(
    "text, amount",
    [
        ("3천만원", 30_000_000),
        ("1억 2천만 원", 120_000_000),
        ("오백만원", 5_000_000),
        ("1,500만원", 15_000_000),
        ("2억", 200_000_000),
        ("삼천오백만 원", 35_000_000),
        ("50000000원", 50_000_000),
        ("5천", 5_000),  # literally 5,000 won; the form explains the minimum and asks for the unit
        ("만원", 10_000),
        ("억", 100_000_000),
        ("천만 원", 10_000_000),
        ("3천5백만원", 35_000_000),
        ("3천500만원", 35_000_000),
        ("1.5억", 150_000_000),
        ("2.5천만원", None),  # a decimal inside a Korean numeral is not a number
        ("12억 3456만 7890원", 1_234_567_890),
        ("일억이천만원", 120_000_000),
        ("십오만 원", 150_000),
        ("약 3천만원 정도", 30_000_000),
        ("5억 원 이내", 500_000_000),
        ("대략 2억쯤", 200_000_000),
        ("₩1,000,000", 1_000_000),
        ("1500만", 15_000_000),
        ("0원", 0),
        ("  7 천 만 원 ", 70_000_000),
    ],
)
def test_parses_amounts_as_citizens_write_them(text, amount):
    assert parse_krw(text) == amount


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "원",
        "abc",
        "많이",
        "삼천오백만 원 정도 아니면 4억",
        "억억",
        "천천",
        "만억",
        "1억 12000만",
        "1만 12345원",
        "-5만원",
        "1,50,0만원",
        "1.5",
        "3천만원 4억",
        "1억만원",
        "0천만원",
        "삼5만원",
        "３천만원",
        None,
        30000000,
    ],
)
def test_refuses_what_is_not_one_amount(text):
    assert parse_krw(text) is None


@pytest.mark.parametrize(
    "amount, text",
    [
        (0, "0원"),
        (5_000, "5,000원"),
        (10_000, "1만 원"),
        (12_345, "1만 2,345원"),
        (35_000_000, "3,500만 원"),
        (100_000_000, "1억 원"),
        (120_000_000, "1억 2,000만 원"),
        (1_000_000_000_005, "1조 5원"),
    ],
)
def test_formats_amounts_the_korean_way(amount, text):
    assert format_krw(amount) == text


def test_format_refuses_negative_amounts():
    with pytest.raises(ValueError):
        format_krw(-1)


# --- properties ----------------------------------------------------------------------------------

AMOUNTS = st.integers(min_value=0, max_value=10**16)


@settings(deadline=None)
@given(AMOUNTS)
def test_formatted_amounts_parse_back(amount):
    assert parse_krw(format_krw(amount)) == amount


def spell_group(value: int, write_one: bool) -> str:
    """A number below 10,000 in Korean numerals: 3500 → 삼천오백 (일천오백 or 천오백 for 1500)."""
    words = []
    for unit_value, unit in ((1000, "천"), (100, "백"), (10, "십")):
        digit, value = divmod(value, unit_value)
        if digit:
            words.append(("" if digit == 1 and not write_one else KOREAN_DIGITS[digit]) + unit)
    if value:
        words.append(KOREAN_DIGITS[value])
    return "".join(words)


@st.composite
def korean_amounts(draw):
    amount = draw(st.integers(min_value=1, max_value=10**16 - 1))
    write_one, spaced, arabic = draw(st.booleans()), draw(st.booleans()), draw(st.booleans())
    parts, rest = [], amount
    for unit, unit_value in (("조", 10**12), ("억", 10**8), ("만", 10**4)):
        count, rest = divmod(rest, unit_value)
        if count:
            number = f"{count:,}" if arabic else spell_group(count, write_one)
            parts.append(number + unit)
    if rest:
        parts.append(f"{rest:,}" if arabic else spell_group(rest, True))
    text = (" " if spaced else "").join(parts) + draw(st.sampled_from(["", "원", " 원"]))
    return text, amount


@settings(deadline=None)
@given(korean_amounts())
def test_korean_and_arabic_spellings_parse(case):
    text, amount = case
    assert parse_krw(text) == amount


@settings(max_examples=examples(300), deadline=None)
@given(st.text(alphabet="0123456789,.조억만천백십일이삼사오육칠팔구원 약정도-", max_size=20))
def test_any_text_gives_a_whole_non_negative_amount_or_none(text):
    result = parse_krw(text)
    assert result is None or (isinstance(result, int) and result >= 0)
