"""Staff console commands.

  python -m bot.staff serve [--host 127.0.0.1] [--port 8000]
        the console (http://HOST:PORT/) and the Open311 API (/open311/v2/)
  python -m bot.staff users add --username kim --role staff|supervisor|admin [--department ID]
        [--name "김담당"] [--password-stdin]     (asks for the password unless --password-stdin)
  python -m bot.staff users list
  python -m bot.staff users disable USERNAME | enable USERNAME
  python -m bot.staff users password USERNAME [--password-stdin]
  python -m bot.staff unlock USERNAME
        lift the login lock of USERNAME after too many failed logins (audited)
  python -m bot.staff apikeys add --name CLIENT [--scope create] [--scope read_full] | list | revoke CLIENT
        Open311 API keys (the key is printed once); `read_full` lets a client read requests in full

The database is SOTONG_DATABASE_URL (or --database-url); settings come from SOTONG_STAFF_*
(see bot/staff/settings.py); the Kakao Event API for notices to citizens from KAKAO_* (see
bot/subscriptions/event_api.py).
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys

import bot.staff.schema  # noqa: F401  (the console's tables, for open_database)
from bot.city import get_city_config
from bot.privacy.log_masking import install_record_masking
from bot.settings import env_int, env_str
from bot.staff.accounts import AccountError, Role, add_account, list_accounts, set_active, set_password
from bot.staff.audit import Actor
from bot.staff.open311.keys import DEFAULT_SCOPES, SCOPES, create_key, list_keys, revoke_key
from bot.tickets.store import open_database

logger = logging.getLogger("bot.staff")


def _parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m bot.staff", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=None)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the console and the Open311 API")
    serve.add_argument("--host", default=env_str("SOTONG_STAFF_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=env_int("SOTONG_STAFF_PORT", 8000, minimum=1))

    users = commands.add_parser("users", help="staff accounts").add_subparsers(dest="action", required=True)
    add = users.add_parser("add")
    add.add_argument("--username", required=True)
    add.add_argument("--role", required=True, choices=[role.value for role in Role])
    add.add_argument("--department", default=None, help="department id (required for staff)")
    add.add_argument("--name", default=None, help="name shown in the console")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    users.add_parser("list")
    for action in ("disable", "enable"):
        users.add_parser(action).add_argument("username")
    password = users.add_parser("password")
    password.add_argument("username")
    password.add_argument("--password-stdin", action="store_true")

    commands.add_parser("unlock", help="lift a username's login lock").add_argument("username")

    keys = commands.add_parser("apikeys", help="Open311 API keys").add_subparsers(dest="action", required=True)
    add_key = keys.add_parser("add")
    add_key.add_argument("--name", required=True)
    add_key.add_argument(
        "--scope", action="append", choices=SCOPES, dest="scopes", help="repeat for several (default: create)"
    )
    keys.add_parser("list")
    keys.add_parser("revoke").add_argument("name")
    return parser.parse_args(argv)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise AccountError("password: the two entries differ")
    return first


def _cli_actor() -> Actor:
    return Actor(f"cli:{getpass.getuser()}", "cli")


def _serve(args) -> int:
    from bot.staff.web.app import create_app  # Sanic only for this command

    app = create_app(database_url=args.database_url)
    logger.info("Staff console on http://%s:%d/ (Open311 GeoReport v2 under /open311/v2/)", args.host, args.port)
    app.run(host=args.host, port=args.port, workers=1, access_log=False, motd=False)
    return 0


def _users(args, sessions) -> int:
    if args.action == "list":
        for account in list_accounts(sessions):
            print(
                f"{account.username}\t{account.role.value}\t{account.department_id or '-'}\t"
                f"{'active' if account.active else 'disabled'}\t{account.display_name}"
            )
        return 0
    if args.action in ("disable", "enable"):
        changed = set_active(sessions, _cli_actor(), args.username, args.action == "enable")
        if changed and args.action == "disable":
            from bot.staff.sessions import end_sessions_of

            account = next(a for a in list_accounts(sessions) if a.username == args.username.lower())
            end_sessions_of(sessions, account.id)
        print(f"{args.username}: {args.action}d" if changed else f"{args.username}: no such account")
        return 0 if changed else 1
    if args.action == "password":
        changed = set_password(sessions, _cli_actor(), args.username, _read_password(args.password_stdin))
        print(f"{args.username}: password set" if changed else f"{args.username}: no such account")
        return 0 if changed else 1
    account = add_account(
        sessions,
        get_city_config(),
        _cli_actor(),
        username=args.username,
        password=_read_password(args.password_stdin),
        role=args.role,
        department_id=args.department,
        display_name=args.name,
    )
    print(f"added {account.username} ({account.role.value}, department {account.department_id or '-'})")
    return 0


def _unlock(args, sessions) -> int:
    from bot.staff.login_throttle import unlock

    if not any(account.username == args.username.lower() for account in list_accounts(sessions)):
        print(f"{args.username}: no such account")
        return 1
    cleared = unlock(sessions, _cli_actor(), args.username)
    print(f"{args.username}: unlocked ({cleared} failure counters cleared)")
    return 0


def _apikeys(args, sessions) -> int:
    if args.action == "list":
        for key in list_keys(sessions):
            print(
                f"{key.name}\t{key.scopes}\tcreated {key.created_at:%Y-%m-%d}\t"
                f"{'revoked ' + format(key.revoked_at, '%Y-%m-%d') if key.revoked_at else 'active'}"
            )
        return 0
    if args.action == "revoke":
        revoked = revoke_key(sessions, args.name)
        print(f"{args.name}: revoked" if revoked else f"{args.name}: no active key")
        return 0 if revoked else 1
    print(create_key(sessions, args.name, args.scopes or DEFAULT_SCOPES))
    return 0


def main(argv: list | None = None) -> int:
    install_record_masking()  # every record, also those of handlers Sanic adds when serving
    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "serve":
        return _serve(args)
    sessions = open_database(args.database_url)
    try:
        handler = {"users": _users, "unlock": _unlock, "apikeys": _apikeys}[args.command]
        return handler(args, sessions)
    except (AccountError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
