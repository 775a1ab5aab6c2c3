"""Every process reads its settings through bot.settings (issue 15 point 5): the dispatcher's, the
staff console's, the action server's and the smaller readers keep their names and defaults, accept
the same yes/no words and stop with the variable's name on a typo instead of guessing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.budget.phases import budget_now
from bot.delivery.settings import DeliverySettings
from bot.rasa_ext.action_server import action_secret
from bot.settings import SettingsError
from bot.staff.open311.keys import ApiClient, client_for_key
from bot.staff.settings import StaffSettings
from bot.staff.web.dashboard_routes import agency_tokens
from bot.storage.db import DEFAULT_DATABASE_URL, database_url
from bot.subscriptions.event_api import EventApiSettings
from bot.tickets.incidents import incident_window


def test_unset_and_blank_variables_keep_every_default():
    blank = {
        name: " "
        for name in (
            "SOTONG_DELIVERY_MAX_ATTEMPTS",
            "SOTONG_SMTP_HOST",
            "SOTONG_SMTP_STARTTLS",
            "SOTONG_SMTP_USER",
            "SOTONG_STAFF_COOKIE_SECURE",
            "SOTONG_STAFF_PAGE_SIZE",
            "SOTONG_STAFF_LOGIN_SLOW_SECONDS",
            "KAKAO_EVENT_NAME",
            "KAKAO_EVENT_API_URL",
        )
    }
    for env in ({}, blank):
        assert DeliverySettings.from_env(env) == DeliverySettings()
        assert StaffSettings.from_env(env) == StaffSettings()
        assert EventApiSettings.from_env(env) == EventApiSettings()
    assert incident_window({}) == timedelta(minutes=60)


def test_dispatcher_settings_are_read():
    settings = DeliverySettings.from_env(
        {
            "SOTONG_DELIVERY_MAX_ATTEMPTS": "3",
            "SOTONG_DELIVERY_POLL_SECONDS": "0.1",
            "SOTONG_SMTP_HOST": " mail.goyang.example ",
            "SOTONG_SMTP_PORT": "587",
            "SOTONG_SMTP_STARTTLS": "yes",
            "SOTONG_SMTP_USER": "sotong",
            "SOTONG_ALERT_ACK_MINUTES": "2.5",
        }
    )
    assert (settings.max_attempts, settings.poll_interval_seconds) == (3, 0.1)
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_starttls) == ("mail.goyang.example", 587, True)
    assert (settings.smtp_user, settings.smtp_password, settings.alert_ack_minutes) == ("sotong", None, 2.5)


def test_an_empty_escalation_address_turns_escalation_off():
    assert DeliverySettings.from_env({}).escalation_email == "situation-room@goyang.example"
    assert DeliverySettings.from_env({"SOTONG_ESCALATION_EMAIL": ""}).escalation_email == ""
    assert (
        DeliverySettings.from_env({"SOTONG_ESCALATION_EMAIL": " room@x.example "}).escalation_email == "room@x.example"
    )


@pytest.mark.parametrize(
    "reader,name,value,expected",
    [
        (DeliverySettings.from_env, "SOTONG_SMTP_STARTTLS", "ture", "one of"),
        (DeliverySettings.from_env, "SOTONG_DELIVERY_BATCH_SIZE", "20.5", "whole number"),
        (DeliverySettings.from_env, "SOTONG_DELIVERY_MAX_ATTEMPTS", "0", "at least 1"),
        (DeliverySettings.from_env, "SOTONG_DELIVERY_BACKOFF_BASE_SECONDS", "thirty", "a number"),
        (StaffSettings.from_env, "SOTONG_STAFF_COOKIE_SECURE", "ture", "one of"),
        (StaffSettings.from_env, "SOTONG_STAFF_SESSION_IDLE_MINUTES", "2h", "whole number"),
        (StaffSettings.from_env, "SOTONG_STAFF_LOGIN_SLOW_SECONDS", "-1", "at least 0"),
        (EventApiSettings.from_env, "KAKAO_EVENT_API_URL", "bot-api.kakao.com/v2", "URL"),
        (EventApiSettings.from_env, "SOTONG_DELIVERY_HTTP_TIMEOUT_SECONDS", "ten", "a number"),
        (incident_window, "SOTONG_INCIDENT_WINDOW_MINUTES", "-5", "at least 0"),
    ],
)
def test_a_bad_value_stops_with_the_variable_named(reader, name, value, expected):
    with pytest.raises(SettingsError, match=f"{name}=.*{expected}"):
        reader({name: value})


@pytest.mark.parametrize("word,secure", [("1", True), ("true", True), ("YES", True), ("0", False), ("off", False)])
def test_the_cookie_flag_accepts_the_common_words(word, secure):
    assert StaffSettings.from_env({"SOTONG_STAFF_COOKIE_SECURE": word}).cookie_secure is secure


def test_staff_numbers_are_read():
    settings = StaffSettings.from_env(
        {
            "SOTONG_STAFF_LOGIN_MAX_FAILURES_PER_IP": "12",
            "SOTONG_STAFF_LOGIN_SLOW_SECONDS": "2",
            "SOTONG_STAFF_PAGE_SIZE": "50",
        }
    )
    assert (settings.login_max_failures_per_ip, settings.login_slow_seconds, settings.page_size) == (12, 2.0, 50)


def test_incident_window_and_token_lists():
    assert incident_window({"SOTONG_INCIDENT_WINDOW_MINUTES": "90"}) == timedelta(minutes=90)
    token = "t" * 16
    assert agency_tokens({"SOTONG_AGENCY_TOKENS": f" fire:{token} , police:short,, :{'x' * 16}"}) == {token: "fire"}
    keys = {"SOTONG_OPEN311_API_KEYS": " city-app:KEY-ONE , ,KEY-TWO"}
    assert client_for_key(None, "KEY-ONE", keys) == ApiClient("city-app")
    assert client_for_key(None, "KEY-TWO", keys) == ApiClient("env-2")


def test_database_url_and_budget_clock(monkeypatch):
    monkeypatch.setenv("SOTONG_DATABASE_URL", "  ")
    assert database_url() == DEFAULT_DATABASE_URL
    monkeypatch.setenv("SOTONG_BUDGET_NOW", " ")
    assert budget_now().year >= 2024
    monkeypatch.setenv("SOTONG_BUDGET_NOW", "2026-06-10")
    assert budget_now("Asia/Seoul").isoformat() == "2026-06-10T00:00:00+09:00"


def test_the_action_server_insecure_switch(monkeypatch):
    monkeypatch.delenv("SOTONG_ACTION_SECRET", raising=False)
    for word in ("1", "yes", "true"):
        monkeypatch.setenv("SOTONG_ACTIONS_INSECURE", word)
        assert action_secret() is None
    monkeypatch.setenv("SOTONG_ACTIONS_INSECURE", "0")
    with pytest.raises(SystemExit, match="needs SOTONG_ACTION_SECRET"):
        action_secret()
    monkeypatch.setenv("SOTONG_ACTIONS_INSECURE", "yse")
    with pytest.raises(SettingsError, match="SOTONG_ACTIONS_INSECURE='yse'"):
        action_secret()
    monkeypatch.setenv("SOTONG_ACTION_SECRET", " a-secret-of-20-chars ")
    assert action_secret() == "a-secret-of-20-chars"
