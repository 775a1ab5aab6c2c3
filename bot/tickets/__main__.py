"""Ticket maintenance commands.

  python -m bot.tickets encrypt-contacts    encrypt contact numbers stored in plain text (tickets,
                                            budget proposals and outbox payloads) under
                                            SOTONG_DATA_KEY; idempotent

The database is SOTONG_DATABASE_URL (or --database-url).
"""

from __future__ import annotations

import argparse
import sys

from bot.privacy.encryption import KEY_ENV
from bot.storage.db import make_engine
from bot.tickets.contacts import encrypt_stored_contacts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.tickets", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=None)
    parser.add_argument("command", choices=["encrypt-contacts"])
    args = parser.parse_args(argv)
    engine = make_engine(args.database_url)
    try:
        with engine.begin() as connection:
            changed = encrypt_stored_contacts(connection)
    finally:
        engine.dispose()
    if changed is None:
        print(f"error: {KEY_ENV} is not set", file=sys.stderr)
        return 1
    print(f"encrypted {changed} stored values")
    return 0


if __name__ == "__main__":
    sys.exit(main())
