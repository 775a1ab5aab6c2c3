"""Schema migrations (Alembic) of Sotong's own tables, on SQLite and PostgreSQL.

    python -m bot.storage.migrate upgrade              bring SOTONG_DATABASE_URL's schema to the newest revision
    python -m bot.storage.migrate check                exit 1 (and list the differences) if the models and the
                                               migrated schema differ, i.e. a migration is missing
    python -m bot.storage.migrate current              print the database's revision
    python -m bot.storage.migrate ensure-database [--tracker-endpoints FILE]
                                               create the PostgreSQL database(s) if missing
    python -m bot.storage.migrate revision -m "..."    autogenerate a migration from the models (see below)

`--database-url URL` overrides SOTONG_DATABASE_URL. `python -m bot.storage.db upgrade` is the same command.

A database created before migrations existed (every table made by `create_schema`, no
`alembic_version` table) is stamped with the first revision, whose schema it has, and then
upgraded. Once a database is under Alembic, `bot.storage.db.create_schema` leaves it alone: the schema is
the migrations' job from then on.

After changing a model: `python -m bot.storage.migrate revision -m "what changed"` against an up-to-date
database (an empty SQLite file works: the command upgrades it first), review the new file in
migrations/versions/, and run the migration tests (tests/bot/storage/test_migrations.py). The test fails while
a model change has no migration.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, inspect
from sqlalchemy.engine import Connection, make_url

from bot.storage.db import Base, UtcDateTime, database_url, make_engine

ROOT = Path(__file__).resolve().parents[2]
ALEMBIC_INI = ROOT / "alembic.ini"
VERSION_TABLE = "alembic_version"

# Every module that defines tables on bot.storage.db.Base. A new model module must be added here
# (bot.staff.schema imports the staff console's and the Open311 API's).
MODEL_MODULES = (
    "bot.tickets.models",
    "bot.delivery.outbox",
    "bot.budget.tables",
    "bot.subscriptions.models",
    "bot.staff.schema",
    "bot.trainer.signals",
)

logger = logging.getLogger(__name__)


def application_metadata() -> MetaData:
    """bot.storage.db.Base.metadata with every application table loaded."""
    import importlib

    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata


def include_object(obj: Any, name: str, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Leave tables that are not ours (Rasa's tracker `events`, …) out of comparisons."""
    if type_ == "table" and reflected and compare_to is None:
        return False
    return True


def render_item(type_: str, obj: Any, autogen_context: Any):
    """Render bot.storage.db.UtcDateTime as a plain DateTime so that migrations do not import the app."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime()"
    return False


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["configure_logging"] = False
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def ensure_database(url: str) -> bool:
    """Creates the PostgreSQL database named in `url` if it does not exist (connecting to the
    server's `postgres` database); True if it was created. Other backends: nothing to do."""
    from sqlalchemy import text
    from sqlalchemy.engine import create_engine

    target = make_url(url)
    if target.get_backend_name() != "postgresql" or not target.database:
        return False
    admin = create_engine(target.set(database="postgres"), future=True, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
            ).first()
            if exists:
                return False
            quoted = target.database.replace('"', '""')
            connection.execute(text(f'CREATE DATABASE "{quoted}"'))
            return True
    finally:
        admin.dispose()


def base_revision() -> str:
    bases = ScriptDirectory.from_config(alembic_config()).get_bases()
    if len(bases) != 1:
        raise RuntimeError(f"expected one base migration, found {bases}")
    return bases[0]


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(url: str | None = None) -> str | None:
    engine = make_engine(url or database_url())
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def _needs_baseline_stamp(url: str) -> bool:
    """Tables of ours exist but Alembic has never run: a database made by create_schema."""
    engine = make_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    ours = set(application_metadata().tables)
    return VERSION_TABLE not in tables and bool(tables & ours)


def upgrade(url: str | None = None, revision: str = "head") -> str:
    """Migrates the database at `url` (default SOTONG_DATABASE_URL) to `revision`; returns the new one."""
    url = url or database_url()
    if _needs_baseline_stamp(url):
        baseline = base_revision()
        logger.warning("Database has tables but no migration history: stamping it as %s", baseline)
        command.stamp(alembic_config(url), baseline)
    command.upgrade(alembic_config(url), revision)
    return current_revision(url)


def schema_differences(url: str | None = None) -> list[Any]:
    """What Alembic's autogenerate finds between the models and the database (empty: in sync)."""
    engine = make_engine(url or database_url())
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "include_object": include_object,
                    "render_item": render_item,
                },
            )
            return compare_metadata(context, application_metadata())
    finally:
        engine.dispose()


def autogenerate_revision(message: str, url: str | None = None) -> None:
    """Writes a new migration from the difference between the models and the (upgraded) database.

    Without `url`, a throw-away SQLite file is upgraded to head and compared; the generated
    operations are portable (SQLite and PostgreSQL)."""
    with tempfile.TemporaryDirectory() as scratch:
        url = url or f"sqlite:///{Path(scratch) / 'autogenerate.db'}"
        command.upgrade(alembic_config(url), "head")
        command.revision(alembic_config(url), message=message, autogenerate=True)


def _parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m bot.storage.migrate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=None, help="default: SOTONG_DATABASE_URL")
    commands = parser.add_subparsers(dest="command", required=True)
    upgrade_parser = commands.add_parser("upgrade", help="migrate to the newest revision")
    upgrade_parser.add_argument("revision", nargs="?", default="head")
    commands.add_parser("current", help="print the database's revision")
    ensure = commands.add_parser("ensure-database", help="create the PostgreSQL database(s) if missing")
    ensure.add_argument(
        "--tracker-endpoints", default=None, help="also the tracker store database of this endpoints file"
    )
    commands.add_parser("check", help="exit 1 if the models differ from the migrated schema")
    revision = commands.add_parser("revision", help="autogenerate a migration from the models")
    revision.add_argument("-m", "--message", required=True)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "upgrade":
        revision = upgrade(args.database_url, args.revision)
        print(f"database at revision {revision}")
        return 0
    if args.command == "ensure-database":
        urls = [args.database_url or database_url()]
        if args.tracker_endpoints:
            from bot.privacy.retention import tracker_url_from_endpoints

            urls.append(tracker_url_from_endpoints(args.tracker_endpoints))
        for url in urls:
            url = url if isinstance(url, str) else url.render_as_string(hide_password=False)
            if ensure_database(url):
                print(f"created database {make_url(url).render_as_string(hide_password=True)}")
        return 0
    if args.command == "current":
        print(current_revision(args.database_url) or "(none)")
        return 0
    if args.command == "check":
        differences = schema_differences(args.database_url)
        for difference in differences:
            print(difference)
        print("schema matches the models" if not differences else f"{len(differences)} difference(s)")
        return 1 if differences else 0
    autogenerate_revision(args.message, args.database_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
