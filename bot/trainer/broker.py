"""Rasa event broker that turns live traffic into training signals (bot.trainer.signals).

Registered in both profiles' endpoints files:

    event_broker:
      type: bot.trainer.broker.SignalBroker

The masking tracker store (bot.rasa_ext.tracker_store) publishes each saved turn's events to it, already
masked. Signals go to the Sotong database (SOTONG_DATABASE_URL, or `url:` in the endpoint
config) from one background thread: a turn never waits for the write, and no error in detection
or storage reaches the conversation (it is logged and the signal is lost).
"""

from __future__ import annotations

import logging
from asyncio import AbstractEventLoop
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from bot.trainer.signals import FALLBACK_THRESHOLD, SignalDetector, SignalDraft, store_signals

logger = logging.getLogger(__name__)


class SignalBroker(EventBroker):
    def __init__(self, database_url: str | None = None, threshold: float = FALLBACK_THRESHOLD) -> None:
        from bot.tickets.store import open_database  # creates the table on a database without Alembic

        self.sessions = open_database(database_url or None)
        self.detector = SignalDetector(threshold=threshold)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="training-signals")

    @classmethod
    async def from_endpoint_config(
        cls, broker_config: EndpointConfig, event_loop: AbstractEventLoop | None = None
    ) -> SignalBroker:
        kwargs = broker_config.kwargs or {}
        return cls(
            database_url=broker_config.url or None, threshold=float(kwargs.get("threshold") or FALLBACK_THRESHOLD)
        )

    def publish(self, event: dict[str, Any]) -> None:
        try:
            drafts = self.detector.observe(event)
        except Exception:  # a malformed event must not fail the turn
            logger.exception("training signals: could not inspect an event")
            return
        if drafts:
            self._writer.submit(self._store, drafts)

    def _store(self, drafts: list[SignalDraft]) -> None:
        try:
            store_signals(self.sessions, drafts)
            logger.info("training signals: stored %s", ", ".join(draft.kind for draft in drafts))
        except Exception:
            logger.exception("training signals: could not store %d signal(s)", len(drafts))

    def flush(self) -> None:
        """Waits until the signals published so far are stored (tests)."""
        self._writer.submit(lambda: None).result()

    async def close(self) -> None:
        self._writer.shutdown(wait=True)
