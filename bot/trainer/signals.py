"""Training signals: citizens' messages that Sotong probably misread, for the training inbox.

A signal is one message (masked: bot.privacy.masking) with what the model made of it (model id, predicted
intent, confidence, the top 3) and a few masked lines of conversation before it. Kinds:

- ``low_confidence``  the best intent scored under the fallback threshold;
- ``fallback``        NLU gave ``nlu_fallback`` (the bot offered "did you mean" or a human);
- ``clarified``       the citizen tapped another path than the top intent (``hint``: the choice);
- ``denied``          "아니에요 / 그게 아니라" right after an answer (the message before it);
- ``abandoned``       a budget or emergency flow left half-way (``hint``: the form);
- ``staff_correction`` staff changed a complaint's category or transferred it (``hint``: the
                      category or department staff chose: a correction label).

:class:`SignalDetector` finds them in a stream of (already masked) Rasa events;
bot.trainer.broker feeds it from Rasa's event broker in both profiles.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, Float, Index, Integer, String, Text
from sqlalchemy.orm import sessionmaker

from bot.knowledge.clarification import complaint_or_info, is_typed, ranked_intents
from bot.knowledge.fallback import FALLBACK_INTENT
from bot.privacy.masking import mask_personal_data
from bot.storage.db import Base, UtcDateTime, utc_now

FALLBACK_THRESHOLD = 0.45  # config.yml's FallbackClassifier threshold
CONTEXT_LINES = 6
MAX_TEXT_CHARS = 500
# Flows whose abandonment is a signal: participatory budget forms and emergency reports.
WATCHED_FLOW = re.compile(r"^(budget_\w+_form|\w*emergency\w*)$")
DENIAL = re.compile(
    r"^\s*(아니(요|에요|예요|야|오|라고요)?|아닌데|아닌데요|그게\s*아니(라|고|에요)|그런\s*게\s*아니|틀렸)"
)


class SignalKind:
    LOW_CONFIDENCE = "low_confidence"
    FALLBACK = "fallback"
    CLARIFIED = "clarified"
    DENIED = "denied"
    ABANDONED = "abandoned"
    STAFF_CORRECTION = "staff_correction"


KIND_LABELS_KO = {
    SignalKind.LOW_CONFIDENCE: "확신 낮음",
    SignalKind.FALLBACK: "이해 못 함",
    SignalKind.CLARIFIED: "다른 선택",
    SignalKind.DENIED: '"아니에요"',
    SignalKind.ABANDONED: "중간에 그만둠",
    SignalKind.STAFF_CORRECTION: "담당자 정정",
}
# Kinds counted as "unanswered" (the bot had nothing) in the weekly report; the others are misread.
UNANSWERED_KINDS = frozenset({SignalKind.FALLBACK, SignalKind.LOW_CONFIDENCE})


class SignalStatus:
    NEW = "new"
    LABELLED = "labelled"
    HELD_OUT = "held_out"
    NOT_USEFUL = "not_useful"


class TrainingSignal(Base):
    __tablename__ = "training_signals"
    __table_args__ = (Index("ix_training_signals_status_created", "status", "created_at"),)

    id = Column(Integer, primary_key=True)
    created_at = Column(UtcDateTime, nullable=False, default=utc_now)
    kind = Column(String(30), nullable=False)
    text = Column(Text, nullable=False)  # masked
    model_id = Column(String(80))
    predicted_intent = Column(String(100))
    confidence = Column(Float)
    top3 = Column(Text, nullable=False, default="[]")  # JSON [[intent, confidence], ...]
    context = Column(Text, nullable=False, default="[]")  # JSON [{"who": "user"|"bot", "text": masked}]
    hint = Column(String(100))
    status = Column(String(20), nullable=False, default=SignalStatus.NEW)
    label = Column(Text)  # JSON of the label given
    reviewed_by = Column(String(40))
    reviewed_at = Column(UtcDateTime)

    def top3_list(self) -> list[list[Any]]:
        return json.loads(self.top3 or "[]")

    def context_list(self) -> list[dict[str, str]]:
        return json.loads(self.context or "[]")


@dataclass
class SignalDraft:
    kind: str
    text: str
    model_id: str | None = None
    predicted_intent: str | None = None
    confidence: float | None = None
    top3: Sequence[Sequence[Any]] = ()
    context: Sequence[Mapping[str, str]] = ()
    hint: str | None = None

    def row(self, created_at: datetime | None = None) -> TrainingSignal:
        """The row to store; every text masked again (the caller's events may not have been)."""
        masked_context = [
            {"who": line.get("who", "user"), "text": mask_personal_data(line.get("text") or "")}
            for line in self.context
        ]
        return TrainingSignal(
            created_at=created_at or utc_now(),
            kind=self.kind,
            text=mask_personal_data(self.text)[:MAX_TEXT_CHARS],
            model_id=(self.model_id or None) and self.model_id[:80],
            predicted_intent=self.predicted_intent,
            confidence=self.confidence,
            top3=json.dumps([[name, round(float(score), 4)] for name, score in self.top3], ensure_ascii=False),
            context=json.dumps(masked_context, ensure_ascii=False),
            hint=self.hint,
        )


def store_signals(sessions: sessionmaker, drafts: Iterable[SignalDraft]) -> int:
    rows = [draft.row() for draft in drafts]
    if rows:
        with sessions() as session, session.begin():
            session.add_all(rows)
    return len(rows)


def record_staff_correction(
    session: Any, description: str | None, *, category: str | None, old: str, new: str, what: str
) -> None:
    """Adds to the caller's transaction a signal that staff corrected a complaint (`what`:
    "category" or "department") from `old` to `new`; the complaint's description is the citizen's
    text, `category` what the bot filed it under."""
    if not description or old == new:
        return
    session.add(
        SignalDraft(
            kind=SignalKind.STAFF_CORRECTION,
            text=description,
            predicted_intent=f"report_complaint:{category}" if category else None,
            hint=f"{what}:{new}"[:100],
            context=[{"who": "bot", "text": f"{what}: {old} → {new}"}],
        ).row()
    )


def delete_old_signals(engine: Any, days: float, now: datetime | None = None, dry_run: bool = False) -> int:
    """Retention (bot.privacy.retention): deletes signals older than `days` days, like conversations.
    Signals that became reviewed examples live on only as the (masked) example in the YAML."""
    from sqlalchemy import delete, func, inspect, select

    if not inspect(engine).has_table(TrainingSignal.__tablename__):
        return 0
    cutoff = (now or utc_now()) - timedelta(days=days)
    old = TrainingSignal.created_at < cutoff
    with engine.begin() as connection:
        if dry_run:
            return connection.execute(select(func.count()).select_from(TrainingSignal).where(old)).scalar_one()
        return connection.execute(delete(TrainingSignal).where(old)).rowcount


# --- detection in Rasa's event stream ---------------------------------------------------------------


def _typed_message(event: Mapping[str, Any]) -> dict[str, Any] | None:
    parse = event.get("parse_data") or {}
    if not isinstance(parse, Mapping):
        return None
    text = event.get("text") or parse.get("text") or ""
    if not is_typed({"text": text}):
        return None
    ranking = ranked_intents(parse)
    intent = (parse.get("intent") or {}).get("name")
    return {
        "text": text,
        "intent": intent,
        "ranking": ranking,
        "parse": parse,
        "model_id": (event.get("metadata") or {}).get("model_id"),
    }


def _tap_intent(event: Mapping[str, Any]) -> str | None:
    text = (event.get("text") or "").strip()
    if not text.startswith("/"):
        return None
    return ((event.get("parse_data") or {}).get("intent") or {}).get("name") or text[1:].split("{")[0]


@dataclass
class _Conversation:
    context: deque[dict[str, str]] = field(default_factory=lambda: deque(maxlen=CONTEXT_LINES))
    last_typed: dict[str, Any] | None = None
    answered: bool = False  # the bot said something after last_typed
    flow: str | None = None
    flow_message: dict[str, Any] | None = None
    flow_context: list[dict[str, str]] = field(default_factory=list)


class SignalDetector:
    """Finds signals in Rasa's event stream (``{"sender_id": ..., "event": ...}`` dictionaries, in
    order). Keeps a little state for the most recent `max_conversations` senders."""

    def __init__(self, threshold: float = FALLBACK_THRESHOLD, max_conversations: int = 2000) -> None:
        self.threshold = threshold
        self.max_conversations = max_conversations
        self._conversations: OrderedDict[str, _Conversation] = OrderedDict()

    def _conversation(self, sender_id: str) -> _Conversation:
        conversation = self._conversations.pop(sender_id, None) or _Conversation()
        self._conversations[sender_id] = conversation
        while len(self._conversations) > self.max_conversations:
            self._conversations.popitem(last=False)
        return conversation

    def _draft(
        self, kind: str, message: dict[str, Any], context: Iterable[dict[str, str]], hint: str | None = None
    ) -> SignalDraft:
        ranking = message["ranking"]
        best = ranking[0] if ranking else (message["intent"], None)
        return SignalDraft(
            kind=kind,
            text=message["text"],
            model_id=message["model_id"],
            predicted_intent=best[0],
            confidence=best[1],
            top3=ranking[:3],
            context=list(context),
            hint=hint,
        )

    def observe(self, event: Mapping[str, Any]) -> list[SignalDraft]:
        sender_id = str(event.get("sender_id") or "")
        kind = event.get("event")
        if not sender_id or kind not in ("user", "bot", "action", "active_loop", "session_started", "restart"):
            return []
        conversation = self._conversation(sender_id)
        if kind == "user":
            return self._user(conversation, event)
        if kind == "bot":
            text = event.get("text") or ""
            if not text:
                custom = (event.get("data") or {}).get("custom") or {}
                text = json.dumps(custom, ensure_ascii=False)[:200] if custom else ""
            if text:
                conversation.context.append({"who": "bot", "text": text[:300]})
            conversation.answered = True
            return []
        if kind == "active_loop":
            name = event.get("name")
            if name and WATCHED_FLOW.match(name) and conversation.flow != name:
                conversation.flow, conversation.flow_message = name, conversation.last_typed
                conversation.flow_context = list(conversation.context)
            elif not name:
                conversation.flow = None  # finished (or deactivated: see the action below)
            return []
        if kind == "action" and event.get("name") == "action_deactivate_loop" or kind in ("session_started", "restart"):
            return self._abandoned(conversation)
        return []

    def _abandoned(self, conversation: _Conversation) -> list[SignalDraft]:
        flow, message = conversation.flow, conversation.flow_message
        conversation.flow = conversation.flow_message = None
        if not flow or not message:
            return []
        return [self._draft(SignalKind.ABANDONED, message, conversation.flow_context, hint=flow)]

    def _user(self, conversation: _Conversation, event: Mapping[str, Any]) -> list[SignalDraft]:
        drafts: list[SignalDraft] = []
        previous, answered = conversation.last_typed, conversation.answered
        tapped = _tap_intent(event)
        if tapped:
            if (
                previous
                and previous["ranking"]
                and (complaint_or_info(previous["parse"]) or previous["intent"] == FALLBACK_INTENT)
            ):
                top = previous["ranking"][0][0]
                if tapped != top and not top.startswith(tapped + "/"):
                    drafts.append(
                        self._draft(SignalKind.CLARIFIED, previous, list(conversation.context)[:-1], hint=tapped)
                    )
            conversation.context.append({"who": "user", "text": f"[선택] {tapped}"})
            conversation.answered = False
            return drafts
        message = _typed_message(event)
        if message is None:
            return drafts
        context_before = list(conversation.context)
        if previous and answered and (DENIAL.match(message["text"]) or message["intent"] == "deny"):
            drafts.append(
                self._draft(
                    SignalKind.DENIED, previous, context_before + [{"who": "user", "text": message["text"][:300]}]
                )
            )
        best = message["ranking"][0][1] if message["ranking"] else 0.0
        if message["intent"] == FALLBACK_INTENT:
            drafts.append(self._draft(SignalKind.FALLBACK, message, context_before))
        elif best < self.threshold:
            drafts.append(self._draft(SignalKind.LOW_CONFIDENCE, message, context_before))
        conversation.context.append({"who": "user", "text": message["text"][:300]})
        conversation.last_typed, conversation.answered = message, False
        return drafts
