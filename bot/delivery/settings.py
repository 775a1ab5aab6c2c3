"""Dispatcher settings, read from the environment (SOTONG_DELIVERY_*, SOTONG_SMTP_*)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from bot.settings import env_bool, env_float, env_int, env_str

ESCALATION_EMAIL_ENV = "SOTONG_ESCALATION_EMAIL"


@dataclass(frozen=True)
class DeliverySettings:
    max_attempts: int = 8  # then the entry becomes a dead letter
    backoff_base_seconds: float = 30.0  # first retry after 15-30 s, then doubling
    backoff_max_seconds: float = 3600.0
    http_timeout_seconds: float = 10.0
    claim_lease_seconds: float = 300.0  # a "sending" claim older than this was lost (crash)
    poll_interval_seconds: float = 2.0
    batch_size: int = 20
    smtp_host: str = "localhost"
    smtp_port: int = 1025
    smtp_sender: str = "sotong@goyang.example"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 10.0
    alert_ack_minutes: float = 5.0  # an unacknowledged emergency alert is escalated after this
    escalation_email: str | None = "situation-room@goyang.example"  # "" turns escalation off

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DeliverySettings:
        """From SOTONG_DELIVERY_*, SOTONG_SMTP_*, SOTONG_ALERT_ACK_MINUTES and SOTONG_ESCALATION_EMAIL
        (``env``: the process environment by default); unset values keep the defaults above."""
        defaults = cls()
        return cls(
            max_attempts=env_int("SOTONG_DELIVERY_MAX_ATTEMPTS", defaults.max_attempts, env, minimum=1),
            backoff_base_seconds=env_float(
                "SOTONG_DELIVERY_BACKOFF_BASE_SECONDS", defaults.backoff_base_seconds, env, minimum=0
            ),
            backoff_max_seconds=env_float(
                "SOTONG_DELIVERY_BACKOFF_MAX_SECONDS", defaults.backoff_max_seconds, env, minimum=0
            ),
            http_timeout_seconds=env_float(
                "SOTONG_DELIVERY_HTTP_TIMEOUT_SECONDS", defaults.http_timeout_seconds, env, minimum=0
            ),
            claim_lease_seconds=env_float(
                "SOTONG_DELIVERY_CLAIM_LEASE_SECONDS", defaults.claim_lease_seconds, env, minimum=0
            ),
            poll_interval_seconds=env_float(
                "SOTONG_DELIVERY_POLL_SECONDS", defaults.poll_interval_seconds, env, minimum=0
            ),
            batch_size=env_int("SOTONG_DELIVERY_BATCH_SIZE", defaults.batch_size, env, minimum=1),
            smtp_host=env_str("SOTONG_SMTP_HOST", defaults.smtp_host, env),
            smtp_port=env_int("SOTONG_SMTP_PORT", defaults.smtp_port, env, minimum=1),
            smtp_sender=env_str("SOTONG_SMTP_FROM", defaults.smtp_sender, env),
            smtp_user=env_str("SOTONG_SMTP_USER", None, env),
            smtp_password=env_str("SOTONG_SMTP_PASSWORD", None, env),
            smtp_starttls=env_bool("SOTONG_SMTP_STARTTLS", defaults.smtp_starttls, env),
            smtp_timeout_seconds=env_float(
                "SOTONG_SMTP_TIMEOUT_SECONDS", defaults.smtp_timeout_seconds, env, minimum=0
            ),
            alert_ack_minutes=env_float("SOTONG_ALERT_ACK_MINUTES", defaults.alert_ack_minutes, env, minimum=0),
            escalation_email=_escalation_email(defaults.escalation_email, env),
        )


def _escalation_email(default: str | None, env: Mapping[str, str] | None) -> str | None:
    """SOTONG_ESCALATION_EMAIL; set to the empty string it turns escalation off (unlike other settings,
    where an empty value means the default)."""
    if (os.environ if env is None else env).get(ESCALATION_EMAIL_ENV) is not None:
        return env_str(ESCALATION_EMAIL_ENV, "", env)
    return default
