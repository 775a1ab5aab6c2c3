"""Alembic environment for Sotong's own tables (see alembic.ini and bot/storage/migrate.py).

The URL comes from, in this order: a connection handed over by bot.storage.migrate
(config.attributes["connection"]), `-x url=...`, sqlalchemy.url in the config, SOTONG_DATABASE_URL.
The target metadata is every model module of the application (bot.storage.migrate.application_metadata).
Tables that are not in it (Rasa's tracker table `events` when it shares the database) are ignored.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from bot.storage.db import database_url, make_engine
from bot.storage.migrate import application_metadata, include_object, render_item

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = application_metadata()


def _url() -> str:
    return (
        context.get_x_argument(as_dictionary=True).get("url")
        or config.get_main_option("sqlalchemy.url")
        or database_url()
    )


def _configure(**kwargs) -> None:
    context.configure(
        target_metadata=target_metadata,
        include_object=include_object,
        render_item=render_item,
        compare_type=True,
        render_as_batch=True,  # SQLite cannot ALTER most things: batch mode recreates tables
        **kwargs,
    )


def run_migrations_offline() -> None:
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            _configure(connection=connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
