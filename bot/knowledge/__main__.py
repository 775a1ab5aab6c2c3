"""Knowledge base commands for content editors.

python -m bot.knowledge check                  validate data/knowledge/ against the NLU data
python -m bot.knowledge ask TOPIC "question"   which answer a question selects, and why
"""

from __future__ import annotations

import argparse
import sys

from bot.knowledge.lint import check_knowledge_coverage
from bot.knowledge.loader import KnowledgeError, get_knowledge_base
from bot.knowledge.selection import select_answer


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.knowledge", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="validate the knowledge files and their coverage")
    ask = commands.add_parser("ask", help="show the answer a question selects")
    ask.add_argument("topic")
    ask.add_argument("question")
    args = parser.parse_args(argv)

    if args.command == "check":
        report = check_knowledge_coverage()
        for line in [f"warning: {w}" for w in report.warnings] + [f"error: {e}" for e in report.errors]:
            print(line)
        print(f"{len(report.errors)} errors, {len(report.warnings)} warnings")
        return 1 if report.errors else 0
    try:
        topic = get_knowledge_base().topic(args.topic)
    except KnowledgeError as error:
        print(error, file=sys.stderr)
        return 1
    if topic is None:
        print(f"no topic '{args.topic}' (one of: {', '.join(get_knowledge_base().topics)})", file=sys.stderr)
        return 1
    selection = select_answer(topic, args.question)
    title = selection.answer.title if selection.answer else f"{topic.title} (overview)"
    print(f"{title}\tscore={selection.score:.2f}\tmatched={', '.join(selection.matched) or '-'}")
    print(selection.answer.text if selection.answer else topic.overview)
    return 0


if __name__ == "__main__":
    sys.exit(main())
