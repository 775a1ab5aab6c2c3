"""Subscription commands for staff.

  python -m bot.subscriptions broadcast --topic transport --text "…" [--sent-by NAME]
        queue a notice to everyone subscribed to a topic or district (e.g. --topic 일산서구)
  python -m bot.subscriptions topics
        list what can be subscribed to, with the number of active subscribers
  python -m bot.subscriptions deliver
        one round of the outbox dispatcher with the Kakao Event send method (what
        `python -m bot.delivery run` does continuously once it has that send method)

The database is SOTONG_DATABASE_URL (or --database-url); the Event API is configured by
KAKAO_BOT_ID, KAKAO_REST_API_KEY, KAKAO_EVENT_NAME and KAKAO_EVENT_API_URL.
"""

from __future__ import annotations

import argparse
import logging
import sys

from bot.delivery import DeliverySettings
from bot.delivery.assembly import full_dispatcher
from bot.privacy.log_masking import install_record_masking
from bot.subscriptions.broadcast import BroadcastError, broadcast
from bot.subscriptions.catalogue import get_catalogue
from bot.subscriptions.store import SubscriptionStore


def _parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m bot.subscriptions", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=None)
    commands = parser.add_subparsers(dest="command", required=True)
    send = commands.add_parser("broadcast", help="queue a notice to a topic's subscribers")
    send.add_argument("--topic", required=True, help="a topic id or a district name")
    send.add_argument("--text", required=True)
    send.add_argument("--sent-by", default="cli")
    commands.add_parser("topics", help="list subscription topics")
    commands.add_parser("deliver", help="deliver what is due in the outbox now")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    install_record_masking()
    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    store = SubscriptionStore.from_env(args.database_url)
    catalogue = get_catalogue()
    if args.command == "broadcast":
        try:
            result = broadcast(store, catalogue, args.topic, args.text, sent_by=args.sent_by)
        except BroadcastError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(
            f"broadcast #{result.broadcast_id} to {result.target}: {result.recipients} recipient(s) "
            f"in {result.batches} queued request(s)"
        )
        return 0
    if args.command == "topics":
        for target in catalogue.targets:
            print(f"{target.key}\t{target.title}\t{len(store.recipients(target.key))} subscriber(s)")
        return 0
    report = full_dispatcher(store.sessions, DeliverySettings.from_env()).run_once()
    print(f"delivered={report.delivered} retried={report.retried} dead={report.dead}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
