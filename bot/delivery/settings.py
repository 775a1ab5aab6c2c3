"""Dispatcher settings, read from the environment (SOTONG_DELIVERY_*, SOTONG_SMTP_*)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Optional


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
    smtp_user: Optional[str] = None
    smtp_password: Optional[str] = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 10.0
    alert_ack_minutes: float = 5.0  # an unacknowledged emergency alert is escalated after this
    escalation_email: Optional[str] = "situation-room@goyang.example"  # "" turns escalation off

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "DeliverySettings":
        def number(name: str, default, kind=float):
            value = env.get(name)
            return kind(value) if value not in (None, "") else default

        defaults = cls()
        return cls(
            max_attempts=number("SOTONG_DELIVERY_MAX_ATTEMPTS", defaults.max_attempts, int),
            backoff_base_seconds=number("SOTONG_DELIVERY_BACKOFF_BASE_SECONDS", defaults.backoff_base_seconds),
            backoff_max_seconds=number("SOTONG_DELIVERY_BACKOFF_MAX_SECONDS", defaults.backoff_max_seconds),
            http_timeout_seconds=number("SOTONG_DELIVERY_HTTP_TIMEOUT_SECONDS", defaults.http_timeout_seconds),
            claim_lease_seconds=number("SOTONG_DELIVERY_CLAIM_LEASE_SECONDS", defaults.claim_lease_seconds),
            poll_interval_seconds=number("SOTONG_DELIVERY_POLL_SECONDS", defaults.poll_interval_seconds),
            batch_size=number("SOTONG_DELIVERY_BATCH_SIZE", defaults.batch_size, int),
            smtp_host=env.get("SOTONG_SMTP_HOST") or defaults.smtp_host,
            smtp_port=number("SOTONG_SMTP_PORT", defaults.smtp_port, int),
            smtp_sender=env.get("SOTONG_SMTP_FROM") or defaults.smtp_sender,
            smtp_user=env.get("SOTONG_SMTP_USER") or None,
            smtp_password=env.get("SOTONG_SMTP_PASSWORD") or None,
            smtp_starttls=env.get("SOTONG_SMTP_STARTTLS", "").lower() in ("1", "true", "yes"),
            smtp_timeout_seconds=number("SOTONG_SMTP_TIMEOUT_SECONDS", defaults.smtp_timeout_seconds),
            alert_ack_minutes=number("SOTONG_ALERT_ACK_MINUTES", defaults.alert_ack_minutes),
            escalation_email=env.get("SOTONG_ESCALATION_EMAIL", defaults.escalation_email),
        )
