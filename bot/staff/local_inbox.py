"""The receiving end of the local department inbox (bot/delivery/local_inbox.py explains why it
exists): documents the dispatcher delivered under `make run`, one JSON file per delivery.

Files: SOTONG_LOCAL_INBOX_DIR (default var/inbox)/<kind>-<id>/<hash of the Idempotency-Key>.json,
so a repeated delivery (the dispatcher's retry after a lost answer) replaces nothing and is not
listed twice. The recipient is the document's `payload.recipient` (a department or an agency); an
escalation e-mail is filed under the address it was for (the situation room). Citizens' phone
numbers are masked before anything is written: this stands in for a department, nobody calls back.

The receiver is on only when SOTONG_LOCAL_INBOX_TOKEN is set (scripts/run.sh sets it).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bot.delivery.local_inbox import TOKEN_ENV
from bot.privacy.masking import mask_phone
from bot.settings import Environment, env_path, env_str

DIR_ENV = "SOTONG_LOCAL_INBOX_DIR"
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "var" / "inbox"
ESCALATION_KIND = "escalation"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.@-]+")


class InboxDocumentError(ValueError):
    """A received document the inbox cannot file."""


@dataclass(frozen=True)
class Recipient:
    kind: str  # "department", "agency", "budget_office", "escalation", …
    id: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.id}"


@dataclass(frozen=True)
class InboxEntry:
    recipient: Recipient
    received_at: datetime
    document: dict[str, Any]

    @property
    def ticket(self) -> dict[str, Any]:
        return self.document.get("payload", {}).get("ticket", {}) or {}


@dataclass(frozen=True)
class ReceiverSettings:
    token: str | None
    directory: Path

    @classmethod
    def from_env(cls, env: Environment | None = None) -> ReceiverSettings:
        return cls(env_str(TOKEN_ENV, env=env), env_path(DIR_ENV, DEFAULT_DIR, env=env))

    @property
    def enabled(self) -> bool:
        return self.token is not None


def recipient_of(document: dict[str, Any]) -> Recipient:
    payload = document.get("payload")
    if not isinstance(payload, dict) or not isinstance(document.get("idempotency_key"), str):
        raise InboxDocumentError("a local inbox document has a payload object and an idempotency_key")
    if "escalation" in payload:
        destination = str(document.get("destination") or "situation-room")
        return Recipient(ESCALATION_KIND, _safe(destination), destination)
    recipient = payload.get("recipient")
    if not isinstance(recipient, dict) or not recipient.get("kind") or not recipient.get("id"):
        destination = str(document.get("destination") or "unknown")
        return Recipient("other", _safe(destination), destination)
    return Recipient(
        _safe(str(recipient["kind"])), _safe(str(recipient["id"])), str(recipient.get("name") or recipient["id"])
    )


def _safe(text: str) -> str:
    return _SAFE_NAME.sub("_", text)[:80] or "_"


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: (mask_phone(item) if key == "phone" and isinstance(item, str) else _masked(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_masked(item) for item in value]
    if isinstance(value, str):
        return mask_phone(value)  # e-mail bodies repeat the number ("연락처: 010-…")
    return value


class LocalInboxStore:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._lock = threading.Lock()

    def store(self, document: dict[str, Any], now: datetime | None = None) -> tuple[Recipient, bool]:
        """File the document; returns its recipient and False when this delivery was filed before."""
        recipient = recipient_of(document)
        key_hash = hashlib.sha256(document["idempotency_key"].encode("utf-8")).hexdigest()[:24]
        folder = self.directory / recipient.key
        path = folder / f"{key_hash}.json"
        record = {
            "received_at": (now or datetime.now(timezone.utc)).isoformat(),
            "recipient": {"kind": recipient.kind, "id": recipient.id, "name": recipient.name},
            "document": _masked(document),
        }
        with self._lock:
            if path.exists():
                return recipient, False
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            temporary = path.with_suffix(".tmp")
            with open(
                os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8"
            ) as handle:
                json.dump(record, handle, ensure_ascii=False, indent=2)
            temporary.replace(path)
        return recipient, True

    def entries(self) -> list[InboxEntry]:
        """Every filed delivery, newest first."""
        found = []
        for path in self.directory.glob("*/*.json"):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                recipient = Recipient(**record["recipient"])
                found.append(InboxEntry(recipient, datetime.fromisoformat(record["received_at"]), record["document"]))
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a file being replaced, or not ours
        return sorted(found, key=lambda entry: entry.received_at, reverse=True)
