"""Send methods: HTTP POST of the JSON ticket document, or an e-mail through SMTP.

A sender gets one Delivery and returns normally on success or raises DeliveryFailed.
"""

from __future__ import annotations

import hashlib
import json
import smtplib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import requests

from bot.city.models import EMAIL, HTTP
from bot.delivery.settings import DeliverySettings

USER_AGENT = "Sotong-Dispatcher/1.0"
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_ERROR_CHARS = 300


class DeliveryFailed(Exception):
    """The recipient did not accept the document; the dispatcher retries later."""


@dataclass(frozen=True)
class Delivery:
    """One claimed outbox entry, detached from the database while it is sent."""

    entry_id: int
    claim_token: str
    attempts: int
    method: str
    destination: str
    payload: dict[str, Any]
    idempotency_key: str

    @property
    def ticket_number(self) -> str:
        return self.payload.get("ticket", {}).get("number", "?")


Sender = Callable[[Delivery], None]


class HttpSender:
    def __init__(
        self, timeout_seconds: float, session: requests.Session = None, extra_headers: Mapping[str, str] | None = None
    ):
        self._timeout = timeout_seconds
        self._session = session or requests.Session()
        self._extra_headers = dict(extra_headers or {})

    def __call__(self, delivery: Delivery) -> None:
        headers = {IDEMPOTENCY_HEADER: delivery.idempotency_key, "User-Agent": USER_AGENT, **self._extra_headers}
        try:
            response = self._session.post(
                delivery.destination,
                json=delivery.payload,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
        if not 200 <= response.status_code < 300:
            raise DeliveryFailed(f"HTTP {response.status_code}: {response.text[:MAX_ERROR_CHARS]}")


class EmailSender:
    def __init__(self, settings: DeliverySettings):
        self._settings = settings

    def __call__(self, delivery: Delivery) -> None:
        settings = self._settings
        message = build_email(delivery, settings.smtp_sender)
        try:
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds) as smtp:
                if settings.smtp_starttls:
                    smtp.starttls()
                if settings.smtp_user:
                    smtp.login(settings.smtp_user, settings.smtp_password or "")
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc


def build_email(delivery: Delivery, sender_address: str) -> EmailMessage:
    """A plain-text e-mail for staff, with the JSON ticket document attached."""
    ticket = delivery.payload.get("ticket", {})
    city = delivery.payload.get("city", {}).get("name", "")
    urgent = "[긴급] " if ticket.get("urgent") else ""
    escalation = delivery.payload.get("escalation")
    if escalation:  # bot.delivery.escalation: an agency did not acknowledge the alert
        urgent = f"[미확인 경보: {escalation.get('agency_id')}] " + urgent
    message = EmailMessage()
    message["Subject"] = f"{urgent}[{city} 민원] {ticket.get('number')} {ticket.get('category_label')}"
    message["From"] = sender_address
    message["To"] = delivery.destination
    message["Message-ID"] = f"<{hashlib.sha256(delivery.idempotency_key.encode()).hexdigest()[:32]}@sotong>"
    message["X-Sotong-Idempotency-Key"] = delivery.idempotency_key
    message.set_content(_email_body(ticket))
    document = json.dumps(delivery.payload, ensure_ascii=False, indent=2).encode("utf-8")
    message.add_attachment(
        document, maintype="application", subtype="json", filename=f"{ticket.get('number', 'ticket')}.json"
    )
    return message


def _email_body(ticket: dict[str, Any]) -> str:
    contact = ticket.get("contact") or {}
    lines = [
        f"접수번호: {ticket.get('number')}",
        f"유형: {ticket.get('category_label')}" + (" (긴급)" if ticket.get("urgent") else ""),
        f"담당: {ticket.get('department', {}).get('name')}",
        f"위치: {ticket.get('location', {}).get('text') or '-'}",
        f"내용: {ticket.get('description') or '-'}",
        f"사진: {ticket.get('photo_url') or '-'}",
        f"처리기한: {ticket.get('due_date') or '-'}",
        f"접수시각: {ticket.get('created_at')}",
    ]
    if contact:
        lines.append(f"연락처: {'익명' if contact.get('anonymous') else contact.get('phone')}")
    lines += ["", "이 메일은 소통(Sotong) 민원 챗봇이 자동으로 보냈어요. 첨부한 JSON에 같은 내용이 있어요."]
    return "\n".join(lines)


def default_senders(settings: DeliverySettings) -> dict[str, Sender]:
    return {HTTP: HttpSender(settings.http_timeout_seconds), EMAIL: EmailSender(settings)}
