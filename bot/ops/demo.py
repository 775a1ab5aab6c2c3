"""`make demo`: something to look at in the staff console on a fresh install (issue 15 point 13).

    python -m bot.ops.demo [--reset-passwords] [--database-url URL]

* One staff account per role (bot/staff/accounts.py: staff of 도로관리과, supervisor, admin,
  trainer), each with a random password printed once. The console has no forced change at first
  login; an admin sets a new one with `python -m bot.staff users password NAME`.
* A few sample complaints filed through the ticket store as the chat files them: numbered, routed
  to their departments (HTTP and e-mail send methods), in the console's lists, and queued in the
  outbox, so `make run`'s dispatcher delivers them to the local inbox (/local-inbox).

Idempotent: an account that exists keeps its password (--reset-passwords gives every demo account
a new one, and enables it again); a sample ticket is filed once (each has its own demo citizen).
Works on the embedded database (SOTONG_DATABASE_URL, default var/sotong.db) whether or not
`make run` is running: SQLite takes turns between the processes. The database is migrated first.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
from dataclasses import dataclass

import bot.staff.schema  # noqa: F401  (the console's tables)
from bot.city import get_city_config
from bot.privacy.encryption import data_key_configured
from bot.settings import env_int
from bot.staff.accounts import Role, add_account, list_accounts, set_active, set_password
from bot.staff.audit import Actor
from bot.storage.db import database_url
from bot.tickets import ComplaintDraft
from bot.tickets.store import TicketStore, open_database

ACTOR = Actor("cli:make-demo", "cli")
PASSWORD_BYTES = 12  # 16 url-safe characters
DEMO_DEPARTMENT = "road_management"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: Role
    display_name: str
    department_id: str | None = None


ACCOUNTS = (
    DemoAccount("demo.staff", Role.STAFF, "데모 도로관리과 담당자", DEMO_DEPARTMENT),
    DemoAccount("demo.supervisor", Role.SUPERVISOR, "데모 총괄 관리자"),
    DemoAccount("demo.admin", Role.ADMIN, "데모 시스템 관리자"),
    DemoAccount("demo.trainer", Role.TRAINER, "데모 챗봇 학습 담당자"),
)

# Each sample ticket has its own demo citizen: a ticket of that sender means it was filed before.
TICKETS = (
    ComplaintDraft(
        category="road_damage",
        location_text="일산서구 주엽동 강선마을 14단지 앞",
        description="도로에 큰 포트홀이 생겨서 차가 지나갈 때마다 덜컹거려요",
        sender_id="demo-citizen-1",
        contact_phone="010-0000-0001",
        consent_given=True,
    ),
    ComplaintDraft(
        category="streetlight",
        location_text="일산동구 백석동 흰돌마을 6단지 후문",
        description="가로등이 며칠째 꺼져 있어서 밤길이 어두워요",
        sender_id="demo-citizen-2",
    ),
    ComplaintDraft(
        category="illegal_dumping",
        location_text="덕양구 화정동 화정역 2번 출구 옆",
        description="대형 쓰레기봉투가 일주일째 쌓여 있어요",
        sender_id="demo-citizen-3",
    ),
    ComplaintDraft(
        category="park_facility",
        location_text="일산동구 장항동 호수공원 어린이 놀이터",
        description="그네 줄이 끊어져 있어요",
        sender_id="demo-citizen-4",
    ),
)


def new_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


def seed_accounts(sessions, reset_passwords: bool) -> list[str]:
    """Lines to print: each demo account, with its password when one was set now."""
    existing = {account.username: account for account in list_accounts(sessions)}
    config = get_city_config()
    lines = []
    for demo in ACCOUNTS:
        label = f"  {demo.username:<16} {demo.role.value:<11}"
        if demo.username not in existing:
            password = new_password()
            add_account(
                sessions,
                config,
                ACTOR,
                username=demo.username,
                password=password,
                role=demo.role.value,
                department_id=demo.department_id,
                display_name=demo.display_name,
            )
            lines.append(f"{label} created, password: {password}")
        elif reset_passwords:
            password = new_password()
            set_password(sessions, ACTOR, demo.username, password)
            if not existing[demo.username].active:
                set_active(sessions, ACTOR, demo.username, True)
            lines.append(f"{label} new password: {password}")
        else:
            state = "" if existing[demo.username].active else " (disabled)"
            lines.append(f"{label} exists{state}, password unchanged")
    return lines


def file_tickets(store: TicketStore) -> list[str]:
    """Lines to print: each sample ticket, filed now or before."""
    lines = []
    for draft in TICKETS:
        department = store.config.department_for_category(draft.category)
        earlier = store.tickets_of(draft.sender_id, limit=1)
        if earlier:
            number, state = earlier[0].number, "filed before"
        else:
            number, state = store.file_complaint(draft).number, "filed now"
        label = store.config.complaint_categories[draft.category].label
        lines.append(f"  {number}  {label} -> {department.name} ({department.send.method}), {state}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.ops.demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reset-passwords", action="store_true", help="new passwords for existing demo accounts")
    parser.add_argument("--database-url", default=None, help="default: SOTONG_DATABASE_URL, else var/sotong.db")
    args = parser.parse_args(argv)
    if not data_key_configured():  # tickets and their outbox entries are stored with it
        print(
            "error: SOTONG_DATA_KEY is not set. `make demo` uses the one `make run` keeps in var/data_key\n"
            "(scripts/secrets.sh); the demo tickets must be readable by the processes of `make run`.",
            file=sys.stderr,
        )
        return 1
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    url = args.database_url or database_url()
    from bot.storage.migrate import upgrade  # Alembic only for this

    upgrade(url)
    logging.getLogger().setLevel(logging.WARNING)  # Alembic's configuration turned its own lines on
    sessions = open_database(url)
    console = f"http://127.0.0.1:{env_int('SOTONG_STAFF_PORT', 8000)}"

    print(f"Demo data in {url}")
    print(f"Staff accounts (sign in at {console}/login):")
    for line in seed_accounts(sessions, args.reset_passwords):
        print(line)
    print(
        "  Passwords are shown only here and stored only as hashes. The console has no forced change at first\n"
        "  login: set your own with `.venv/bin/python -m bot.staff users password NAME`; new random ones for\n"
        "  every demo account: `make demo ARGS=--reset-passwords`."
    )
    print("Sample tickets:")
    for line in file_tickets(TicketStore(sessions, get_city_config())):
        print(line)
    print(
        f"The dispatcher of `make run` delivers them (now if it runs, else when it starts) to the local inbox:\n"
        f"  {console}/local-inbox (demo.supervisor sees every department, demo.staff 도로관리과)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
