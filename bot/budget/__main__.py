"""Participatory-budget commands for staff and city editors.

  python -m bot.budget validate                      check data/budget/ (exit 1 on errors)
  python -m bot.budget phase [--now 2027-04-20]      the phase open now (or at --now)
  python -m bot.budget results [--csv FILE] [--table NAME ...] [--with-contacts]
                                                     proposals, votes, ratings, comments, surveys

The data directory is SOTONG_BUDGET_DATA_DIR (default data/budget), the database
SOTONG_DATABASE_URL (or --database-url). CSV files are UTF-8 with a byte-order mark, so that
spreadsheet programs show Korean text correctly. Phone numbers are stored encrypted and shown
masked unless --with-contacts (for the PB office; every such run is in the staff audit log as
budget.contacts_revealed by cli:<user>).
"""

from __future__ import annotations

import argparse
import getpass
import sys

from bot.budget.loader import BudgetDataError, default_data_dir, load_budget_data
from bot.budget.phases import budget_now, parse_moment, phase_status
from bot.budget.reports import TABLE_NAMES, build_results, format_text, write_csv
from bot.budget.store import open_budget_store
from bot.city import CityDataError, get_city_config
from bot.staff.audit import Actor, record_now


def _parse_args(argv: list[str] | None):
    parser = argparse.ArgumentParser(
        prog="python -m bot.budget", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", default=None, help=f"default: {default_data_dir()}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("validate", help="check the budget data files")
    phase = commands.add_parser("phase", help="show the phase open now")
    phase.add_argument("--now", default=None, help="a date or date-time instead of the clock")
    results = commands.add_parser("results", help="staff results")
    results.add_argument("--database-url", default=None)
    results.add_argument("--csv", metavar="FILE", default=None, help="write CSV to FILE ('-': stdout)")
    results.add_argument(
        "--table",
        dest="tables",
        action="append",
        choices=TABLE_NAMES,
        help="only this table (repeatable); default: all",
    )
    results.add_argument("--with-contacts", action="store_true", help="show phone numbers in full")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    data_dir = args.data_dir or default_data_dir()
    try:
        data = load_budget_data(get_city_config(), data_dir)
    except (BudgetDataError, CityDataError) as error:
        print(f"{data_dir}: {error}", file=sys.stderr)
        return 1

    if args.command == "validate":
        for warning in data.warnings:
            print(f"warning: {warning}")
        print(
            f"{data_dir}: OK — cycle {data.cycle.id}, {len(data.projects)} projects "
            f"({len(data.candidates)} candidates), {len(data.surveys)} surveys"
        )
        return 0

    if args.command == "phase":
        now = parse_moment(args.now, data.timezone) if args.now else budget_now(data.timezone)
        status = phase_status(data.cycle, now, data.timezone)
        current = (
            f"{status.current.kind.value} ({status.current.starts} – {status.current.ends or 'open'})"
            if status.current
            else "none"
        )
        upcoming = f"{status.upcoming.kind.value} from {status.upcoming.starts}" if status.upcoming else "none"
        print(f"{status.today}: current phase {current}; next {upcoming}")
        return 0

    store = open_budget_store(data, args.database_url)
    results = build_results(store.session_factory, data, include_contacts=args.with_contacts)
    if args.with_contacts:
        shown = sum(1 for row in results.table("proposals").rows if row[-2] != "anonymous")
        record_now(
            store.session_factory,
            Actor(f"cli:{getpass.getuser()}", "cli"),
            "budget.contacts_revealed",
            cycle_id=data.cycle.id,
            proposals_with_contact=shown,
        )
    if args.csv is None:
        print(format_text(results, args.tables))
    elif args.csv == "-":
        write_csv(results, sys.stdout, args.tables)
    else:
        with open(args.csv, "w", encoding="utf-8-sig", newline="") as stream:
            write_csv(results, stream, args.tables)
        print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
