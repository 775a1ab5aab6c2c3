"""The training inbox from a terminal (the console's /training page does the same):

    python -m bot.trainer inbox [--json] [--since DAYS]          # open signal groups, largest first
    python -m bot.trainer label ID --intent report_complaint \\
        [--entity complaint_category:road_damage:START:END] [--held-out]
    python -m bot.trainer dismiss ID                             # not useful
    python -m bot.trainer check                                  # lint data/nlu/reviewed/ (make validate's checks)

ID is a signal id as `inbox` lists it; labelling closes the signal's whole group. Every action is
written to the staff audit log (actor: the system user running the command).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from bot.staff.audit import Actor, record_now
from bot.tickets.store import open_database
from bot.trainer import inbox
from bot.trainer.signals import KIND_LABELS_KO


def _entity(spec: str) -> inbox.EntitySpan:
    """ENTITY:VALUE:START:END or ENTITY:START:END (value = the text of the span)."""
    parts = spec.split(":")
    if len(parts) == 3:
        return inbox.EntitySpan(parts[0], int(parts[1]), int(parts[2]))
    if len(parts) == 4:
        return inbox.EntitySpan(parts[0], int(parts[2]), int(parts[3]), parts[1])
    raise argparse.ArgumentTypeError("entity: ENTITY:VALUE:START:END or ENTITY:START:END")


def cli_actor() -> Actor:
    return Actor(f"cli:{getpass.getuser()}", "cli")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.trainer", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("inbox", help="open signal groups, largest first")
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--since", type=float, metavar="DAYS", help="only signals of the last DAYS days")
    labelling = commands.add_parser("label", help="label a signal (and its group)")
    labelling.add_argument("id", type=int)
    labelling.add_argument("--intent", required=True, help="e.g. report_complaint or civic_info/waste")
    labelling.add_argument(
        "--entity",
        type=_entity,
        action="append",
        default=[],
        help="ENTITY:VALUE:START:END (character offsets on token boundaries)",
    )
    labelling.add_argument("--held-out", action="store_true", help=f"append to {inbox.held_out_file().name}")
    labelling.add_argument("--text", help="the example's text, when it should differ from the message")
    dismissing = commands.add_parser("dismiss", help="mark a signal (and its group) as not useful")
    dismissing.add_argument("id", type=int)
    commands.add_parser("check", help="lint the reviewed examples against the project's data")
    args = parser.parse_args(argv)

    if args.command == "check":
        errors = inbox.reviewed_errors()
        for error in errors:
            print(f"error: {error}")
        print(f"{inbox.reviewed_file()}: {len(errors)} errors")
        return 1 if errors else 0

    sessions = open_database()
    if args.command == "inbox":
        groups = inbox.inbox_groups(sessions, args.since)
        if args.json:
            print(json.dumps([group.as_dict() for group in groups], ensure_ascii=False, indent=2))
        else:
            for group in groups:
                kinds = ", ".join(f"{KIND_LABELS_KO.get(kind, kind)} {count}" for kind, count in group.counts("kind"))
                predicted = ", ".join(f"{name} {count}" for name, count in group.counts("predicted_intent"))
                print(f"#{group.id:<6} ×{group.size:<3} {group.first.text}\n         {kinds} | {predicted}")
            print(f"{len(groups)} groups, {sum(group.size for group in groups)} signals")
        return 0
    actor = cli_actor()
    try:
        if args.command == "label":
            target = inbox.HELD_OUT if args.held_out else inbox.TRAINING
            result = inbox.label_group(
                sessions,
                args.id,
                inbox.Label(args.intent, tuple(args.entity)),
                target,
                reviewer=actor.name,
                text=args.text,
            )
            record_now(
                sessions,
                actor,
                "training.labelled",
                signal_ids=result["signal_ids"],
                intent=args.intent,
                target=target,
                file=result["file"],
            )
            print(
                f"{result['file']}: - {result['example']} ({args.intent}; {len(result['signal_ids'])} signals closed)"
            )
        else:
            ids = inbox.dismiss_group(sessions, args.id, reviewer=actor.name)
            record_now(sessions, actor, "training.dismissed", signal_ids=ids)
            print(f"{len(ids)} signals marked not useful")
    except (inbox.LabelRefused, LookupError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
