"""`make validate` check of the knowledge base against the NLU data.

Errors: invalid knowledge files; a `civic_info/<topic>` of the NLU data without knowledge (its
questions could only get a generic answer); a knowledge topic no NLU intent leads to; an answer
without keywords (no question can select it). Warnings: a keyword that cannot match even itself;
an answer whose keywords all belong to another answer too (text questions then never pick it,
only its quick reply does); how many topics are still sample content.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.knowledge.loader import KnowledgeError, load_knowledge_base
from bot.knowledge.matching import Question, TermFunction, keyword_matches, morpheme_terms
from bot.knowledge.models import KnowledgeBase, Topic
from bot.knowledge.suggestions import topic_of_response_key


@dataclass
class CoverageReport:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def nlu_civic_topics(nlu_data=None) -> set[str]:
    """The `<topic>` of every `civic_info/<topic>` with examples in the NLU data."""
    if nlu_data is None:
        from bot.trainer.nlu_data import load_nlu

        nlu_data = load_nlu()
    keys = (message.get("intent_response_key") for message in nlu_data.intent_examples)
    return {topic for topic in map(topic_of_response_key, keys) if topic}


def check_knowledge_coverage(
    nlu_data=None, knowledge_dir: os.PathLike | None = None, terms_of: TermFunction = morpheme_terms
) -> CoverageReport:
    report = CoverageReport()
    try:
        knowledge = load_knowledge_base(knowledge_dir)
    except KnowledgeError as error:
        report.errors.extend(f"knowledge: {problem}" for problem in error.errors)
        return report
    check_topics(nlu_civic_topics(nlu_data), knowledge, report)
    for topic in knowledge:
        check_answers_reachable(topic, report, terms_of)
    samples = sum(topic.sample_data for topic in knowledge)
    if samples:
        report.warnings.append(
            f"knowledge: {samples} of {len(knowledge)} topics are sample content "
            "(sample_data: true); replace them with the city's reviewed answers"
        )
    return report


def check_topics(nlu_topics: Iterable[str], knowledge: KnowledgeBase, report: CoverageReport) -> None:
    nlu_topics = set(nlu_topics)
    for topic_id in sorted(nlu_topics - set(knowledge.topics)):
        report.errors.append(f"knowledge: civic_info/{topic_id} has NLU examples but no data/knowledge/{topic_id}.yml")
    for topic_id in sorted(set(knowledge.topics) - nlu_topics):
        report.errors.append(
            f"knowledge: topic '{topic_id}' cannot be reached: no civic_info/{topic_id} examples in the NLU data"
        )


def check_answers_reachable(topic: Topic, report: CoverageReport, terms_of: TermFunction) -> None:
    where = f"knowledge: {topic.id}"
    for answer in topic.answers:
        if not answer.keywords:
            report.errors.append(f"{where}/{answer.id} cannot be reached: it has no keywords")
            continue
        for keyword in answer.keywords:
            if not keyword_matches(keyword, Question.of(keyword, terms_of), terms_of):
                report.warnings.append(f"{where}/{answer.id}: keyword '{keyword}' can never match")
        for other in topic.answers:
            if other.id != answer.id and set(answer.keywords) <= set(other.keywords):
                report.warnings.append(
                    f"{where}/{answer.id}: every keyword is also one of "
                    f"{other.id}; questions will not pick it over {other.id}"
                )
                break
