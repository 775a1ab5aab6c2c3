"""Korean NLU data lint for trainers: `make validate` runs it after `rasa data validate`.

Errors (exit 1): the same example under two intents, examples of different intents
that differ only in spacing/punctuation/emoji, intents below their minimum count,
entity annotations that do not fall on token boundaries of the configured tokenizer,
complaint_category values that data/city/complaint_categories.yml does not route, civic_info topics without knowledge and knowledge
entries that cannot be reached (bot/knowledge/lint.py). Warnings: near-duplicates within one intent.
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.city.loader import NLU_COMPLAINT_CATEGORIES, CityDataError, load_city_config
from bot.knowledge.lint import check_knowledge_coverage
from bot.nlu.analyzers import get_analyzer
from bot.nlu.segmentation import segment
from bot.trainer import nlu_data

MIN_EXAMPLES_PER_INTENT = 40
MIN_EXAMPLES_PER_CIVIC_TOPIC = 15
MIN_EXAMPLES_PER_COMPLAINT_CATEGORY = 10
COMPLAINT_CATEGORIES = frozenset(NLU_COMPLAINT_CATEGORIES)


def city_complaint_categories() -> frozenset:
    """The categories of the city data (every one must be annotated), plus the NLU contract's.

    Categories are data: a category added to complaint_categories.yml becomes a known value here.
    Invalid city data leaves the contract's values (`python -m bot.city validate` reports it)."""
    try:
        return COMPLAINT_CATEGORIES | frozenset(load_city_config().complaint_categories)
    except CityDataError:
        return COMPLAINT_CATEGORIES


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def label_of(message: Message) -> str:
    """`civic_info/waste` for retrieval intents, else the intent name."""
    return message.get("intent_response_key") or message.get("intent")


def loose_form(text: str) -> str:
    """Text without spaces, punctuation, symbols and case: for near-duplicates."""
    return "".join(c for c in text.lower() if unicodedata.category(c)[0] in "LN")


def check_duplicates(examples: list[Message], report: Report) -> None:
    by_loose: dict[str, list[Message]] = defaultdict(list)
    for message in examples:
        key = loose_form(message.get("text"))
        if key:
            by_loose[key].append(message)
    for group in by_loose.values():
        if len(group) < 2:
            continue
        labels = sorted({label_of(m) for m in group})
        texts = " | ".join(repr(m.get("text")) for m in group)
        if len(labels) > 1:
            report.errors.append(f"same example under {', '.join(labels)}: {texts}")
        else:
            report.warnings.append(f"near-duplicate examples in {labels[0]}: {texts}")


def check_counts(
    examples: list[Message],
    required_intents: Iterable[str],
    report: Report,
    categories_required: Iterable[str] = COMPLAINT_CATEGORIES,
) -> None:
    intents = Counter(m.get("intent") for m in examples)
    for intent in required_intents:
        if intents[intent] < MIN_EXAMPLES_PER_INTENT:
            report.errors.append(f"intent {intent} has {intents[intent]} examples (minimum {MIN_EXAMPLES_PER_INTENT})")
    topics = Counter(m.get("intent_response_key") for m in examples if m.get("intent_response_key"))
    for topic, count in sorted(topics.items()):
        if count < MIN_EXAMPLES_PER_CIVIC_TOPIC:
            report.errors.append(f"{topic} has {count} examples (minimum {MIN_EXAMPLES_PER_CIVIC_TOPIC})")
    categories = Counter(
        entity["value"]
        for m in examples
        for entity in m.get("entities") or []
        if entity["entity"] == "complaint_category"
    )
    for category in sorted(categories_required):
        if categories[category] < MIN_EXAMPLES_PER_COMPLAINT_CATEGORY:
            report.errors.append(
                f"complaint_category {category} is annotated in {categories[category]} "
                f"examples (minimum {MIN_EXAMPLES_PER_COMPLAINT_CATEGORY})"
            )


def check_entities(
    examples: list[Message], analyzer: str, report: Report, known_categories: Iterable[str] = COMPLAINT_CATEGORIES
) -> None:
    known_categories = frozenset(known_categories)
    pos = get_analyzer(analyzer).pos
    for message in examples:
        entities = message.get("entities") or []
        if not entities:
            continue
        text = message.get("text")
        spans = segment(text, pos)
        starts = {s.start for s in spans}
        ends = {s.end for s in spans}
        for entity in entities:
            value = text[entity["start"] : entity["end"]]
            if entity["start"] not in starts or entity["end"] not in ends:
                tokens = " ".join(s.text for s in spans)
                report.errors.append(
                    f"entity {entity['entity']} '{value}' in {text!r} does not fall on "
                    f"token boundaries ({analyzer}: {tokens}); move particles outside the brackets"
                )
            if entity["entity"] == "complaint_category" and entity.get("value") not in known_categories:
                report.errors.append(f"unknown complaint_category value {entity.get('value')!r} in {text!r}")


def lint(
    data: TrainingData, analyzer: str, required_intents: Iterable[str], categories: Iterable[str] | None = None
) -> Report:
    """`categories`: the complaint_category values to require and accept (default: the city's)."""
    report = Report()
    examples = list(data.intent_examples)
    categories = city_complaint_categories() if categories is None else frozenset(categories)
    check_duplicates(examples, report)
    check_counts(examples, required_intents, report, categories)
    check_entities(examples, analyzer, report, categories)
    return report


def lint_project(data: TrainingData, analyzer: str) -> Report:
    """The data lint plus the knowledge base's coverage of the civic_info topics."""
    report = lint(data, analyzer, TAXONOMY_INTENTS)
    coverage = check_knowledge_coverage(data)
    report.errors += coverage.errors
    report.warnings += coverage.warnings
    return report


TAXONOMY_INTENTS = [
    "greet",
    "goodbye",
    "thank",
    "affirm",
    "deny",
    "bot_challenge",
    "human_handoff",
    "out_of_scope",
    "civic_info",
    "report_complaint",
    "report_emergency",
    "check_complaint_status",
    "budget_propose",
    "budget_info",
    "budget_feedback",
    "smalltalk",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=str(nlu_data.NLU_DIR))
    parser.add_argument("--analyzer", help="defaults to the one in config.yml")
    args = parser.parse_args(argv)
    analyzer = args.analyzer or nlu_data.tokenizer_settings().get("analyzer", "okt")
    report = lint_project(nlu_data.load_nlu(args.data), analyzer)
    for warning in report.warnings:
        print(f"warning: {warning}")
    for error in report.errors:
        print(f"error: {error}")
    print(f"{len(report.errors)} errors, {len(report.warnings)} warnings")
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
