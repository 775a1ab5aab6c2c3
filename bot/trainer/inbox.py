"""The training inbox: signals grouped by similarity, labelled into reviewed NLU data.

Grouping: messages are compared by their character bigrams (spacing, punctuation and case
ignored: bot.trainer.lint.loose_form); a message joins the group whose first message it resembles
most when the Jaccard similarity reaches GROUP_SIMILARITY. Largest groups first.

Labels go to exactly one place: training examples to data/nlu/reviewed/inbox.yml (read by
`make train` with the rest of data/nlu), held-out examples to tests/nlu_realistic.yml. Before a
label is written it is checked with the checks of `make validate` (bot.trainer.lint): no error
may be added to the data; an example already in the other set (training vs held-out) is refused.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.shared.nlu.training_data.training_data import TrainingData
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.knowledge.lint import check_knowledge_coverage, nlu_civic_topics
from bot.nlu.analyzers import get_analyzer
from bot.nlu.segmentation import Span, segment
from bot.privacy.masking import mask_personal_data
from bot.settings import env_path
from bot.storage.db import utc_now
from bot.trainer import lint, nlu_data
from bot.trainer.signals import SignalStatus, TrainingSignal

GROUP_SIMILARITY = 0.4
REVIEWED_DIR_ENV = "SOTONG_REVIEWED_DIR"
HELD_OUT_FILE_ENV = "SOTONG_HELD_OUT_FILE"
REVIEWED_FILE_NAME = "inbox.yml"
HELD_OUT_SETS = (nlu_data.ROOT / "tests" / "nlu_realistic.yml", nlu_data.ROOT / "tests" / "nlu_holdout.yml")
TRAINING, HELD_OUT = "training", "held_out"


class LabelRefused(ValueError):
    """The label cannot be written (unknown intent, lint errors, already in the other set…)."""


# --- grouping ---------------------------------------------------------------------------------------


def bigrams(text: str) -> set[str]:
    """Character bigrams of the text without spacing, punctuation, case and digits (masked
    numbers and dates differ between near-duplicates)."""
    loose = "".join(c for c in lint.loose_form(text or "") if not c.isdigit())
    return {loose[i : i + 2] for i in range(len(loose) - 1)} or ({loose} if loose else set())


def similarity(a: str, b: str) -> float:
    first, second = bigrams(a), bigrams(b)
    if not first or not second:
        return 0.0
    return len(first & second) / len(first | second)


@dataclass
class Group:
    members: list[TrainingSignal] = field(default_factory=list)
    _shape: set[str] = field(default_factory=set)

    @property
    def id(self) -> int:
        return self.members[0].id

    @property
    def first(self) -> TrainingSignal:
        return self.members[0]

    @property
    def size(self) -> int:
        return len(self.members)

    def counts(self, attribute: str) -> list[tuple]:
        return Counter(getattr(m, attribute) for m in self.members if getattr(m, attribute)).most_common()

    @property
    def last_seen(self):
        return max(m.created_at for m in self.members)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "size": self.size,
            "text": self.first.text,
            "kinds": dict(self.counts("kind")),
            "predicted": dict(self.counts("predicted_intent")),
            "hints": dict(self.counts("hint")),
            "last_seen": self.last_seen.isoformat(),
            "members": [
                {
                    "id": m.id,
                    "text": m.text,
                    "kind": m.kind,
                    "model_id": m.model_id,
                    "predicted_intent": m.predicted_intent,
                    "confidence": m.confidence,
                    "top3": m.top3_list(),
                    "created_at": m.created_at.isoformat(),
                }
                for m in self.members
            ],
        }


def group_signals(signals: Iterable[TrainingSignal], threshold: float = GROUP_SIMILARITY) -> list[Group]:
    """Near-duplicates together (each signal joins the most similar group), largest groups first."""
    groups: list[Group] = []
    for signal in sorted(signals, key=lambda s: s.id or 0):
        shape = bigrams(signal.text)
        best, best_score = None, threshold
        for group in groups:
            score = len(shape & group._shape) / len(shape | group._shape) if shape and group._shape else 0.0
            if score >= best_score:
                best, best_score = group, score
        if best is None:
            groups.append(Group([signal], shape))
        else:
            best.members.append(signal)
    return sorted(groups, key=lambda g: (-g.size, -g.last_seen.timestamp()))


def open_signals(
    sessions: sessionmaker, since_days: float | None = None, statuses: Sequence[str] = (SignalStatus.NEW,)
) -> list[TrainingSignal]:
    query = select(TrainingSignal).where(TrainingSignal.status.in_(list(statuses)))
    if since_days:
        query = query.where(TrainingSignal.created_at >= utc_now() - timedelta(days=since_days))
    with sessions() as session:
        return list(session.execute(query.order_by(TrainingSignal.id)).scalars())


def inbox_groups(sessions: sessionmaker, since_days: float | None = None) -> list[Group]:
    return group_signals(open_signals(sessions, since_days))


def group_of(sessions: sessionmaker, signal_id: int) -> Group:
    """The open group that signal `signal_id` belongs to (just that signal when it is no longer open)."""
    for group in inbox_groups(sessions):
        if any(member.id == signal_id for member in group.members):
            return group
    with sessions() as session:
        signal = session.get(TrainingSignal, signal_id)
    if signal is None:
        raise LookupError(f"no training signal {signal_id}")
    return Group([signal], bigrams(signal.text))


# --- tokens and labels ------------------------------------------------------------------------------


def analyzer_name() -> str:
    return nlu_data.tokenizer_settings().get("analyzer", "okt")


def tokens(text: str) -> list[Span]:
    """The configured tokenizer's tokens of `text` (entity spans must start and end on them)."""
    return segment(text, get_analyzer(analyzer_name()).pos)


@dataclass(frozen=True)
class EntitySpan:
    entity: str
    start: int
    end: int
    value: str | None = None  # None: the text of the span


@dataclass(frozen=True)
class Label:
    intent: str  # e.g. report_complaint, civic_info/waste
    entities: Sequence[EntitySpan] = ()


def example_markup(text: str, entities: Sequence[EntitySpan]) -> str:
    """Rasa's YAML example syntax: ``[span](entity)`` or ``[span]{"entity": …, "value": …}``."""
    parts, position = [], 0
    for span in sorted(entities, key=lambda e: e.start):
        if span.start < position or not 0 <= span.start < span.end <= len(text):
            raise LabelRefused(f"entity {span.entity}: span {span.start}-{span.end} overlaps or is outside the text")
        surface = text[span.start : span.end]
        parts.append(text[position : span.start])
        if span.value is None or span.value == surface:
            parts.append(f"[{surface}]({span.entity})")
        else:
            parts.append(
                "[" + surface + "]" + json.dumps({"entity": span.entity, "value": span.value}, ensure_ascii=False)
            )
        position = span.end
    parts.append(text[position:])
    return "".join(parts)


def nlu_block(intent: str, example: str) -> str:
    return f"- intent: {intent}\n  examples: |\n    - {example}\n"


def reviewed_file() -> Path:
    return env_path(REVIEWED_DIR_ENV, nlu_data.NLU_DIR / "reviewed") / REVIEWED_FILE_NAME


def held_out_file() -> Path:
    return env_path(HELD_OUT_FILE_ENV, HELD_OUT_SETS[0])


def known_labels(data: TrainingData | None = None) -> list[str]:
    """Intents of the domain, and civic_info/<topic> for every topic of the NLU data."""
    domain = yaml.safe_load((nlu_data.ROOT / "domain.yml").read_text(encoding="utf-8"))
    intents = [name if isinstance(name, str) else next(iter(name)) for name in domain.get("intents", [])]
    topics = sorted(nlu_civic_topics(data))
    return [i for i in intents if i != "civic_info"] + [f"civic_info/{topic}" for topic in topics]


def _parse(content: str) -> TrainingData:
    return RasaYAMLReader().reads(content)


def _load(paths: Iterable[Path]) -> TrainingData:
    data = TrainingData()
    for path in paths:
        if path.exists():
            data = data.merge(_parse(path.read_text(encoding="utf-8")))
    return data


def _training_data(reviewed: Path) -> TrainingData:
    data = nlu_data.load_nlu()
    inside = nlu_data.NLU_DIR.resolve() in reviewed.resolve().parents
    return data if inside or not reviewed.exists() else data.merge(_load([reviewed]))


def _errors(data: TrainingData, new_examples: Sequence[Any] = ()) -> set[str]:
    """`make validate`'s checks (bot.trainer.lint.lint_project); entity boundaries for the new
    examples only (the rest of the data was checked when it was written)."""
    report = lint.Report()
    categories = lint.city_complaint_categories()
    examples = list(data.intent_examples)
    lint.check_duplicates(examples, report)
    lint.check_counts(examples, lint.TAXONOMY_INTENTS, report, categories)
    lint.check_entities(list(new_examples), analyzer_name(), report, categories)
    report.errors += check_knowledge_coverage(data).errors
    return set(report.errors)


def check_label(text: str, label: Label, target: str) -> str:
    """The YAML block to append for `label`, after the lint; raises LabelRefused."""
    if target not in (TRAINING, HELD_OUT):
        raise LabelRefused(f"target must be {TRAINING} or {HELD_OUT}")
    if "\n" in text or not text.strip():
        raise LabelRefused("an example is one non-empty line")
    block = nlu_block(label.intent, example_markup(text, label.entities))
    new = _parse('version: "3.1"\nnlu:\n' + block)
    if not new.intent_examples or new.intent_examples[0].get("text") != text:
        raise LabelRefused("the example does not read back as written (brackets or braces in the text?)")
    reviewed = reviewed_file()
    training = _training_data(reviewed)
    if label.intent not in known_labels(training):
        raise LabelRefused(f"unknown intent {label.intent!r}")
    loose = lint.loose_form(text)
    other = training if target == HELD_OUT else _load(HELD_OUT_SETS + (held_out_file(),))
    if any(lint.loose_form(m.get("text")) == loose for m in other.intent_examples):
        where = "학습 데이터" if target == HELD_OUT else "평가용 데이터"
        raise LabelRefused(f"이미 {where}에 있는 문장이에요 (학습과 평가에 함께 둘 수 없어요).")
    if target == TRAINING:
        errors = _errors(training.merge(new), new.intent_examples) - _errors(training)
    else:
        held_out = _load([held_out_file()])
        errors = _errors(held_out.merge(new), new.intent_examples) - _errors(held_out)
        errors = {e for e in errors if "has " not in e and "minimum" not in e}  # counts are for training
    if errors:
        raise LabelRefused("; ".join(sorted(errors)))
    return block


def reviewed_errors() -> list[str]:
    """Lint errors that the reviewed file adds to the project's training data (none: it passes)."""
    reviewed = reviewed_file()
    added = _load([reviewed])
    project = nlu_data.load_nlu()
    if nlu_data.NLU_DIR.resolve() in reviewed.resolve().parents:  # load_nlu read it already: lint without it
        keep = {(m.get("text"), lint.label_of(m)) for m in added.intent_examples}
        project = TrainingData(
            [m for m in project.training_examples if (m.get("text"), lint.label_of(m)) not in keep],
            entity_synonyms=project.entity_synonyms,
            regex_features=project.regex_features,
            lookup_tables=project.lookup_tables,
            responses=project.responses,
        )
    return sorted(_errors(project.merge(added), added.intent_examples) - _errors(project))


def append_block(path: Path, block: str) -> None:
    """Appends an `nlu:` item to a Rasa YAML file (created with its header when missing), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    current = (
        path.read_text(encoding="utf-8")
        if path.exists()
        else (
            "# Reviewed examples from the training inbox (python -m bot.trainer, console /training).\n"
            'version: "3.1"\nnlu:\n'
        )
    )
    if not current.endswith("\n"):
        current += "\n"
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(current + block)
    os.replace(temporary, path)


def label_group(
    sessions: sessionmaker, signal_id: int, label: Label, target: str, reviewer: str, text: str | None = None
) -> dict[str, Any]:
    """Writes the example (`text`, default: the signal's masked text) and closes the signal's group."""
    group = group_of(sessions, signal_id)
    chosen = (
        next(m for m in group.members if m.id == signal_id)
        if signal_id in {m.id for m in group.members}
        else group.first
    )
    example = mask_personal_data(text if text is not None else chosen.text)
    block = check_label(example, label, target)
    path = reviewed_file() if target == TRAINING else held_out_file()
    append_block(path, block)
    status = SignalStatus.LABELLED if target == TRAINING else SignalStatus.HELD_OUT
    ids = _close(
        sessions,
        [m.id for m in group.members],
        status,
        reviewer,
        {"intent": label.intent, "entities": [vars(e) for e in label.entities], "target": target, "file": str(path)},
    )
    return {"signal_ids": ids, "file": str(path), "example": block.splitlines()[-1].strip()[2:]}


def dismiss_group(sessions: sessionmaker, signal_id: int, reviewer: str) -> list[int]:
    group = group_of(sessions, signal_id)
    return _close(sessions, [m.id for m in group.members], SignalStatus.NOT_USEFUL, reviewer, None)


def _close(
    sessions: sessionmaker, ids: list[int], status: str, reviewer: str, label: dict[str, Any] | None
) -> list[int]:
    with sessions() as session, session.begin():
        for signal in session.execute(select(TrainingSignal).where(TrainingSignal.id.in_(ids))).scalars():
            signal.status, signal.reviewed_by, signal.reviewed_at = status, reviewer, utc_now()
            signal.label = json.dumps(label, ensure_ascii=False) if label else None
    return ids
