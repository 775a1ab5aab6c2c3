"""bot.settings: one meaning for numbers, yes/no and URLs in every process."""

import pytest

from bot.settings import SettingsError, env_bool, env_float, env_int, env_list, env_str, env_url


@pytest.mark.parametrize(
    "text,expected",
    [
        ("1", True),
        ("TRUE", True),
        (" yes ", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("No", False),
        ("off", False),
    ],
)
def test_yes_and_no_words(text, expected):
    assert env_bool("X", default=not expected, env={"X": text}) is expected


@pytest.mark.parametrize("default", [True, False])
def test_unset_and_blank_mean_the_default(default):
    assert env_bool("X", default, env={}) is default
    assert env_bool("X", default, env={"X": "  "}) is default
    assert env_int("X", 7, env={"X": ""}) == 7
    assert env_str("X", "d", env={"X": " "}) == "d"


def test_a_misspelt_yes_is_an_error_naming_the_variable():
    with pytest.raises(SettingsError, match="SOTONG_STAFF_COOKIE_SECURE='ture'"):
        env_bool("SOTONG_STAFF_COOKIE_SECURE", False, env={"SOTONG_STAFF_COOKIE_SECURE": "ture"})


def test_numbers_are_checked():
    assert env_int("N", 1, env={"N": " 42 "}) == 42
    assert env_float("F", 1.0, env={"F": "2.5"}) == 2.5
    with pytest.raises(SettingsError, match="whole number"):
        env_int("N", 1, env={"N": "4.5"})
    with pytest.raises(SettingsError, match="finite"):
        env_float("F", 1.0, env={"F": "nan"})
    with pytest.raises(SettingsError, match="at least 0"):
        env_float("F", 1.0, env={"F": "-1"}, minimum=0)


def test_urls_need_a_scheme_and_a_host():
    assert env_url("U", env={"U": "https://bot-api.kakao.com/x"}) == "https://bot-api.kakao.com/x"
    assert env_url("U", "http://d", env={}) == "http://d"
    for bad in ("localhost:6379", "ftp://host/x", "http://", "http://host:port/"):
        with pytest.raises(SettingsError):
            env_url("U", env={"U": bad})
    assert env_url("U", env={"U": "redis://127.0.0.1:6379/0"}, schemes=("redis",)) == "redis://127.0.0.1:6379/0"


def test_lists_drop_empty_items():
    assert env_list("L", env={"L": "a, b,,c "}) == ["a", "b", "c"]
    assert env_list("L", ["x"], env={}) == ["x"]
