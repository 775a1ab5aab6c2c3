"""Database engine and sessions for Sotong's own tables (tickets, outbox, …).

The URL comes from SOTONG_DATABASE_URL (default: an SQLite file var/sotong.db, relative to the
working directory). SQLAlchemy 1.4 with the 2.0-style API (`future=True`).

SQLite is tuned for several processes (action server, dispatcher, staff console) sharing one file:
WAL journal, foreign keys on, a busy timeout, and every transaction opened with BEGIN IMMEDIATE
so that concurrent writers queue up instead of failing on a lock upgrade.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine, create_engine, make_url
from sqlalchemy.orm import declarative_base, sessionmaker
from sqlalchemy.types import DateTime, TypeDecorator

from bot.settings import env_str

DATABASE_URL_ENV = "SOTONG_DATABASE_URL"
DEFAULT_DATABASE_URL = "sqlite:///var/sotong.db"
SQLITE_BUSY_TIMEOUT_SECONDS = 30

Base = declarative_base()


def database_url() -> str:
    return env_str(DATABASE_URL_ENV, DEFAULT_DATABASE_URL)


def make_engine(url: str | None = None, echo: bool = False) -> Engine:
    """An engine for `url` (default: database_url()); creates the SQLite file's directory."""
    url = make_url(url or database_url())
    if url.get_backend_name() != "sqlite":
        return create_engine(url, future=True, echo=echo, pool_pre_ping=True)

    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        future=True,
        echo=echo,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
    )
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see "begin").
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)


def create_schema(engine: Engine) -> None:
    """Create the tables of every model module imported so far (idempotent).

    A database under Alembic (bot.storage.migrate; it has an `alembic_version` table) is left alone: there
    the migrations own the schema, and `python -m bot.storage.migrate upgrade` runs before the services.
    """
    if inspect(engine).has_table("alembic_version"):
        return
    Base.metadata.create_all(engine)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class UtcDateTime(TypeDecorator):
    """A timezone-aware UTC datetime, stored without zone (SQLite keeps none) and read back as UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UtcDateTime needs a timezone-aware datetime")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        return value.replace(tzinfo=timezone.utc) if value is not None else None
