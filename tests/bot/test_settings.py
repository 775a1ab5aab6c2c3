"""bot.settings: one meaning for numbers, yes/no and URLs in every process."""

import pytest

from bot.settings import SettingsError, env_bool, env_float, env_int, env_list, env_str, env_url, parse_bool


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


@pytest.mark.parametrize(
    "value,expected", [(True, True), (False, False), ("Yes", True), ("off", False), (1, True), (0, False)]
)
def test_yes_no_from_yaml_files_reads_like_the_environment(value, expected):
    assert parse_bool("use_ssl", value) is expected


@pytest.mark.parametrize("value", ["ture", "2", "y e s", 3])
def test_a_misspelt_yes_no_in_any_file_names_its_setting(value):
    with pytest.raises(SettingsError, match="use_ssl"):
        parse_bool("use_ssl", value)


def test_the_lock_store_and_the_kakao_channel_parse_yes_no_alike():
    from bot.channels.kakao.settings import KakaoChannelSettings, KakaoSettingsError
    from bot.rasa_ext.lock_store import AtomicRedisLockStore

    assert (
        AtomicRedisLockStore(host="127.0.0.1", port=1, use_ssl="Yes").red.connection_pool.connection_class.__name__
        == "SSLConnection"
    )
    with pytest.raises(SettingsError, match="use_ssl"):
        AtomicRedisLockStore(host="127.0.0.1", port=1, use_ssl="ture")
    with pytest.raises(KakaoSettingsError, match="callback_allow_http"):
        KakaoChannelSettings.from_credentials({"secret": "s", "callback_allow_http": "ture"})
