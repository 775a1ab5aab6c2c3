"""The local department inbox of `make run`: department and agency deliveries go to one local
receiver instead of the city's endpoints, so that a newcomer sees a ticket delivered.

The sample city data (data/city/departments.yml, agencies.yml) names endpoints that do not exist
on a developer's machine (http://127.0.0.1:8081/…, …@goyang.example); without a local inbox the
dispatcher would retry every ticket until it becomes a dead letter. With it, the dispatcher's
`http` and `email` send methods POST one JSON document per delivery to the local inbox (the staff
console's POST /local-inbox/deliveries, bot/staff/web/local_inbox_routes.py), which keeps it in
var/inbox/ and lists it per department on the console's page /local-inbox.

E-mail goes to the same inbox rather than to a local SMTP debug sink: one place to look, no extra
process or port, and the message is rendered exactly as EmailSender would send it (subject, body)
and stored beside the JSON document. The outbox entry keeps its real destination, so the same
queue delivers to the real endpoints once the setting is removed.

Settings (read with bot.settings; only scripts/run.sh sets them, the production profile never):
  SOTONG_DELIVERY_LOCAL_INBOX  URL of the receiver, e.g. http://127.0.0.1:8000/local-inbox/deliveries;
                               unset: the real endpoints of data/city.
  SOTONG_LOCAL_INBOX_TOKEN     shared secret, sent in the X-Sotong-Inbox-Token header (scripts/secrets.sh
                               generates var/local_inbox_token); required with the URL.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from bot.city.models import EMAIL, HTTP
from bot.delivery.senders import Delivery, HttpSender, Sender, build_email
from bot.delivery.settings import DeliverySettings
from bot.settings import Environment, SettingsError, env_str, env_url

logger = logging.getLogger(__name__)

URL_ENV = "SOTONG_DELIVERY_LOCAL_INBOX"
TOKEN_ENV = "SOTONG_LOCAL_INBOX_TOKEN"
TOKEN_HEADER = "X-Sotong-Inbox-Token"
DOCUMENT_SCHEMA = "sotong.local_inbox.v1"


@dataclass(frozen=True)
class LocalInbox:
    url: str
    token: str

    @classmethod
    def from_env(cls, env: Environment | None = None) -> LocalInbox | None:
        """The configured local inbox, None when SOTONG_DELIVERY_LOCAL_INBOX is unset."""
        url = env_url(URL_ENV, env=env)
        if url is None:
            return None
        token = env_str(TOKEN_ENV, env=env)
        if token is None:
            raise SettingsError(TOKEN_ENV, "", f"the local inbox's token (required with {URL_ENV})")
        return cls(url, token)


def inbox_document(delivery: Delivery, email_sender_address: str) -> dict[str, Any]:
    """What the local inbox receives for one delivery: where it would have gone, and what."""
    document: dict[str, Any] = {
        "schema": DOCUMENT_SCHEMA,
        "method": delivery.method,
        "destination": delivery.destination,
        "idempotency_key": delivery.idempotency_key,
        "attempt": delivery.attempts,
        "payload": delivery.payload,
    }
    if delivery.method == EMAIL:
        message = build_email(delivery, email_sender_address)
        document["email"] = {
            "subject": str(message["Subject"]),
            "from": str(message["From"]),
            "to": str(message["To"]),
            "body": message.get_body(preferencelist=("plain",)).get_content(),
        }
    return document


class LocalInboxSender:
    """Sends a department's or agency's delivery (HTTP or e-mail) to the local inbox."""

    def __init__(self, inbox: LocalInbox, settings: DeliverySettings):
        self._inbox = inbox
        self._email_sender_address = settings.smtp_sender
        self._post = HttpSender(settings.http_timeout_seconds, extra_headers={TOKEN_HEADER: inbox.token})

    def __call__(self, delivery: Delivery) -> None:
        self._post(
            replace(delivery, destination=self._inbox.url, payload=inbox_document(delivery, self._email_sender_address))
        )


def local_inbox_senders(settings: DeliverySettings, env: Environment | None = None) -> dict[str, Sender]:
    """The `http` and `email` send methods replaced by the local inbox when one is configured
    (add after default_senders); no senders when it is not."""
    inbox = LocalInbox.from_env(env)
    if inbox is None:
        return {}
    logger.info(
        "Local inbox: department and agency deliveries (http, email) go to %s (%s), not to the endpoints of data/city",
        inbox.url,
        URL_ENV,
    )
    sender = LocalInboxSender(inbox, settings)
    return {HTTP: sender, EMAIL: sender}
