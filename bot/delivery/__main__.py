"""Dispatcher commands.

  python -m bot.delivery run              poll and deliver until SIGTERM/SIGINT
  python -m bot.delivery once             deliver what is due now, then exit
  python -m bot.delivery dead             list dead letters
  python -m bot.delivery requeue ID...    make dead letters pending again (re-routed from data/city)

The database is SOTONG_DATABASE_URL (or --database-url); settings come from SOTONG_DELIVERY_*
and SOTONG_SMTP_* (see bot/delivery/settings.py).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from bot.city import get_city_config
from bot.delivery.assembly import full_dispatcher
from bot.delivery.dead_letters import list_dead_letters, requeue_dead_letter
from bot.delivery.settings import DeliverySettings
from bot.privacy.log_masking import install_record_masking
from bot.tickets import open_database


def _parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m bot.delivery", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=None)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="poll and deliver until stopped")
    commands.add_parser("once", help="deliver what is due now")
    commands.add_parser("dead", help="list dead letters")
    requeue = commands.add_parser("requeue", help="make dead letters pending again")
    requeue.add_argument("entry_ids", type=int, nargs="+")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    install_record_masking()
    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sessions = open_database(args.database_url)

    if args.command == "dead":
        for entry in list_dead_letters(sessions):
            print(
                f"#{entry.id}\t{entry.payload.get('ticket', {}).get('number')}\t{entry.target_kind} "
                f"{entry.target_id}\t{entry.send_method} {entry.destination}\t"
                f"attempts={entry.attempts}\t{entry.last_error}"
            )
        return 0
    if args.command == "requeue":
        config = get_city_config()
        results = {entry_id: requeue_dead_letter(sessions, entry_id, config) for entry_id in args.entry_ids}
        for entry_id, requeued in results.items():
            print(f"#{entry_id}: {'requeued' if requeued else 'not a dead letter'}")
        return 0 if all(results.values()) else 1

    dispatcher = full_dispatcher(sessions, DeliverySettings.from_env())
    if args.command == "once":
        report = dispatcher.run_once()
        print(f"delivered={report.delivered} retried={report.retried} dead={report.dead}")
        return 0
    stop = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: stop.set())
    dispatcher.run_forever(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
