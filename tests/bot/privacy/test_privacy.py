"""Masking of phone numbers and resident registration numbers (the log records: tests/bot/privacy/test_log_masking.py)."""

from __future__ import annotations

import pytest

from bot.privacy.masking import mask_personal_data, mask_phone, mask_rrn


@pytest.mark.parametrize(
    "text, masked",
    [
        ("제 번호는 010-1234-5678 이에요", "제 번호는 010-****-5678 이에요"),
        ("01098765432로 연락 주세요", "010****5432로 연락 주세요"),
        ("010 1234 5678", "010 **** 5678"),
        ("010.1234.5678", "010.****.5678"),
        ("+82 10-1234-5678", "+82 10-****-5678"),
        ("+821012345678", "+8210****5678"),
        ("02-123-4567", "02-***-4567"),
        ("031-909-9000", "031-***-9000"),
        ("(02)1234-5678", "(02)****-5678"),
        ("070-1234-5678", "070-****-5678"),
        ("016-123-4567", "016-***-4567"),
    ],
)
def test_phone_numbers_are_masked(text: str, masked: str) -> None:
    assert mask_phone(text) == masked


@pytest.mark.parametrize(
    "text",
    ["민원번호 GY-2024-0001", "2024-11-26", "1588-1234", "접수번호 20240101-1234", "123456789012", "", None],
)
def test_other_numbers_are_left_alone(text: str) -> None:
    assert mask_phone(text) == text


@pytest.mark.parametrize(
    "text, masked",
    [
        ("주민번호 900101-1234567", "주민번호 900101-1******"),
        ("0512254123456", "0512254******"),
        ("외국인 851231-5123456", "851231-5******"),
    ],
)
def test_resident_registration_numbers_are_masked(text: str, masked: str) -> None:
    assert mask_rrn(text).endswith(masked)


def test_registration_number_is_not_taken_for_a_phone_number() -> None:
    assert mask_personal_data("900101-1234567 / 010-1234-5678") == "900101-1****** / 010-****-5678"
