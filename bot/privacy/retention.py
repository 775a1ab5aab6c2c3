"""Retention of conversation data (PIPA): deletes conversations older than N days from Rasa's
SQL tracker store, and training signals (bot.trainer.signals: masked messages for the training
inbox) older than N days from the application database. Tickets, their consent records, the
outbox, budget and subscription data live in the application database and are not touched.

    python -m bot.privacy.retention --days 90                         # once (endpoints.yml's tracker store)
    python -m bot.privacy.retention --days 90 --endpoints config/profiles/production/endpoints.yml
    python -m bot.privacy.retention --days 90 --every-hours 24        # now, then daily, until SIGTERM/SIGINT
    python -m bot.privacy.retention --days 90 --tracker-url postgresql://user@host/db --dry-run

What is deleted: every event older than the cutoff, except the events of a conversation session
that is still going on at the cutoff (a session with events on both sides of the cutoff keeps its
earlier events until the whole session is older than the cutoff, so an open form is never cut in
half). A conversation whose every event is older than the cutoff disappears entirely.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine, create_engine

from bot.privacy.log_masking import install_record_masking

logger = logging.getLogger(__name__)

SECONDS_PER_DAY = 86400.0
DEFAULT_ENDPOINTS = "endpoints.yml"

# One statement for SQLite and PostgreSQL. For each event older than the cutoff, the boundary is
# the start of the session that is live at the sender's first event at/after the cutoff (no such
# event: the cutoff itself); events before the boundary are deleted.
_OLD_EVENTS = """
WHERE events.timestamp < :cutoff
  AND events.timestamp < COALESCE(
    (SELECT MAX(started.timestamp) FROM events AS started
      WHERE started.sender_id = events.sender_id
        AND started.type_name = 'session_started'
        AND started.timestamp <= (SELECT MIN(later.timestamp) FROM events AS later
                                   WHERE later.sender_id = events.sender_id
                                     AND later.timestamp >= :cutoff)),
    :cutoff)
"""
_DELETE_OLD_EVENTS = text("DELETE FROM events" + _OLD_EVENTS)
_COUNT_OLD_EVENTS = text("SELECT COUNT(*) FROM events" + _OLD_EVENTS)
_COUNT_CONVERSATIONS = text("SELECT COUNT(DISTINCT sender_id) FROM events")


@dataclass(frozen=True)
class RetentionReport:
    cutoff: float
    events_deleted: int
    conversations_before: int
    conversations_after: int

    @property
    def conversations_deleted(self) -> int:
        return self.conversations_before - self.conversations_after


def tracker_url_from_endpoints(endpoints_file: str):
    """The SQLAlchemy URL of the SQL tracker store configured in `endpoints_file` (${ENV} substituted)."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.utils.endpoints import read_endpoint_config

    config = read_endpoint_config(endpoints_file, "tracker_store")
    if config is None:
        raise SystemExit(f"{endpoints_file} has no tracker_store")
    if (config.type or "").lower() != "sql":
        from rasa.shared.utils.common import class_from_module_path

        try:
            store_class = class_from_module_path(config.type)  # a wrapper names the SQL store it wraps
            is_sql = issubclass(getattr(store_class, "sql_store_class", store_class), SQLTrackerStore)
        except (AttributeError, ImportError, TypeError):
            is_sql = False
        if not is_sql:
            raise SystemExit(f"{endpoints_file}: tracker store type '{config.type}' is not an SQL store")
    kwargs = config.kwargs

    def option(name: str):
        value = kwargs.get(name)
        return value if value not in ("", None) else None

    return SQLTrackerStore.get_db_url(
        dialect=option("dialect") or "sqlite",
        host=config.url or None,
        port=option("port"),
        db=option("db") or "rasa.db",
        username=option("username"),
        password=option("password"),
        login_db=None,
        query=option("query"),
    )


def tracker_engine_from_endpoints(endpoints_file: str) -> Engine:
    """An engine on the SQL tracker store configured in `endpoints_file`."""
    from rasa.core.tracker_store import create_engine_kwargs

    url = tracker_url_from_endpoints(endpoints_file)
    return create_engine(url, future=True, pool_pre_ping=True, **create_engine_kwargs(url))


def delete_old_conversations(
    engine: Engine, days: float, now: float | None = None, dry_run: bool = False
) -> RetentionReport:
    """Deletes tracker events older than `days` days (see the module docstring for what stays)."""
    if days <= 0:
        raise ValueError("days must be positive")
    cutoff = (time.time() if now is None else now) - days * SECONDS_PER_DAY
    if not inspect(engine).has_table("events"):  # no conversation stored yet
        return RetentionReport(cutoff=cutoff, events_deleted=0, conversations_before=0, conversations_after=0)
    with engine.begin() as connection:
        before = connection.execute(_COUNT_CONVERSATIONS).scalar_one()
        if dry_run:
            deleted = connection.execute(_COUNT_OLD_EVENTS, {"cutoff": cutoff}).scalar_one()
            after = before
        else:
            deleted = connection.execute(_DELETE_OLD_EVENTS, {"cutoff": cutoff}).rowcount
            after = connection.execute(_COUNT_CONVERSATIONS).scalar_one()
    return RetentionReport(
        cutoff=cutoff, events_deleted=deleted, conversations_before=before, conversations_after=after
    )


def _parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m bot.privacy.retention",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--days", type=float, required=True, help="keep conversations of the last N days")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--endpoints", default=None, help=f"endpoints file (default {DEFAULT_ENDPOINTS})")
    source.add_argument("--tracker-url", default=None, help="SQLAlchemy URL of the tracker store database")
    parser.add_argument(
        "--every-hours",
        type=float,
        default=None,
        help="run now and then every N hours until stopped (the schedule of run scripts)",
    )
    parser.add_argument("--dry-run", action="store_true", help="count what would be deleted")
    return parser.parse_args(argv)


def _run(engine: Engine, args) -> None:
    try:
        report = delete_old_conversations(engine, args.days, dry_run=args.dry_run)
    except Exception:  # scheduled mode: a database hiccup is retried at the next run
        if args.every_hours is None:
            raise
        logger.exception("Retention run failed")
        return
    verb = "would delete" if args.dry_run else "deleted"
    logger.info(
        "Retention (%g days, cutoff %s): %s %d events; conversations %d -> %d",
        args.days,
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(report.cutoff)),
        verb,
        report.events_deleted,
        report.conversations_before,
        report.conversations_after,
    )
    try:
        from bot.storage.db import make_engine
        from bot.trainer.signals import delete_old_signals

        application = make_engine()
        try:
            signals = delete_old_signals(application, args.days, dry_run=args.dry_run)
        finally:
            application.dispose()
        logger.info("Retention (%g days): %s %d training signals", args.days, verb, signals)
    except Exception:  # like the conversations: retried at the next scheduled run
        if args.every_hours is None:
            raise
        logger.exception("Retention of training signals failed")


def main(argv=None) -> int:
    args = _parse_args(argv)
    install_record_masking()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.tracker_url:
        engine = create_engine(args.tracker_url, future=True, pool_pre_ping=True)
    else:
        endpoints = args.endpoints or DEFAULT_ENDPOINTS
        if not Path(endpoints).is_file():
            raise SystemExit(f"no endpoints file {endpoints}")
        engine = tracker_engine_from_endpoints(endpoints)
    try:
        if args.every_hours is None:
            _run(engine, args)
            return 0
        stop = threading.Event()
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signal_number, lambda *_: stop.set())
        while not stop.is_set():
            _run(engine, args)
            stop.wait(args.every_hours * 3600)
        return 0
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
