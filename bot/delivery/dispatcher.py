"""The dispatcher: claims due outbox entries and sends them, with retries and dead letters.

Safe with several dispatchers on one database: an entry is claimed by a conditional UPDATE
(pending and due → sending) that only one of them can win. Nothing is held open while sending.
After a success the entry is marked delivered under the same claim and is never claimed again.
An entry left "sending" by a dispatcher that died is claimed again once its lease has expired, so
a crash delays a delivery but does not lose it (the receiver may then see the same
Idempotency-Key twice if the crash came after the send and before the commit).

With a `route` (the running dispatcher's: the recipient's send target in the current city data,
bot.delivery.assembly), an entry is sent where its department or agency receives documents at the
time of sending, not where it did when the entry was written: a changed endpoint in data/city
takes effect for every entry still waiting, without restarting the dispatcher.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import sessionmaker

from bot.city.models import SendTarget
from bot.delivery.escalation import escalate_unacknowledged
from bot.delivery.outbox import OutboxEntry, OutboxState, open_contacts
from bot.delivery.senders import Delivery, DeliveryFailed, Sender, default_senders
from bot.delivery.settings import DeliverySettings
from bot.privacy.masking import mask_personal_data
from bot.storage.db import utc_now

logger = logging.getLogger(__name__)

Route = Callable[[OutboxEntry], SendTarget | None]  # None: send where the entry says


@dataclass
class DispatchReport:
    delivered: int = 0
    retried: int = 0
    dead: int = 0

    @property
    def handled(self) -> int:
        return self.delivered + self.retried + self.dead


def retry_delay_seconds(
    attempts: int, settings: DeliverySettings, random_fraction: Callable[[], float] = random.random
) -> float:
    """Exponential back-off with jitter: half the doubled delay fixed, half random."""
    ceiling = min(settings.backoff_max_seconds, settings.backoff_base_seconds * 2 ** max(attempts - 1, 0))
    return ceiling / 2 + random_fraction() * ceiling / 2


class Dispatcher:
    def __init__(
        self,
        session_factory: sessionmaker,
        settings: DeliverySettings,
        senders: Mapping[str, Sender] | None = None,
        clock: Callable[[], datetime] = utc_now,
        random_fraction: Callable[[], float] = random.random,
        route: Route | None = None,
    ):
        self._sessions = session_factory
        self._route = route
        self._settings = settings
        self._senders: dict[str, Sender] = dict(senders if senders is not None else default_senders(settings))
        self._clock = clock
        self._random_fraction = random_fraction

    # --- loop ------------------------------------------------------------------------------------

    def run_once(self, stop: threading.Event | None = None) -> DispatchReport:
        """Send every entry that is due now (each at most once in this run)."""
        report = DispatchReport()
        self._bury_exhausted_claims(report)
        tried: set[int] = set()
        while not (stop and stop.is_set()):
            candidates = self._due_entry_ids(exclude=tried)
            if not candidates:
                break
            for entry_id in candidates:
                if stop and stop.is_set():
                    break
                tried.add(entry_id)
                delivery = self._claim(entry_id)
                if delivery is not None:
                    self._deliver(delivery, report)
        return report

    def run_forever(self, stop: threading.Event) -> None:
        """Poll until `stop` is set; an entry being sent when it is set is finished first."""
        logger.info(
            "Dispatcher running (poll every %.1f s, dead letter after %d attempts)",
            self._settings.poll_interval_seconds,
            self._settings.max_attempts,
        )
        while not stop.is_set():
            try:
                escalate_unacknowledged(self._sessions, self._settings, self._clock)
                report = self.run_once(stop)
            except Exception:  # keep running through a database hiccup; retried next poll
                logger.exception("Dispatch round failed")
                report = DispatchReport()
            if report.handled:
                logger.info(
                    "Dispatch round: %d delivered, %d to retry, %d dead", report.delivered, report.retried, report.dead
                )
            stop.wait(self._settings.poll_interval_seconds)
        logger.info("Dispatcher stopped")

    # --- claiming --------------------------------------------------------------------------------

    def _claimable(self, now: datetime):
        lease_expired_before = now - timedelta(seconds=self._settings.claim_lease_seconds)
        return or_(
            and_(OutboxEntry.state == OutboxState.PENDING, OutboxEntry.next_attempt_at <= now),
            and_(OutboxEntry.state == OutboxState.SENDING, OutboxEntry.claimed_at < lease_expired_before),
        )

    def _due_entry_ids(self, exclude: set[int]) -> list[int]:
        query = (
            select(OutboxEntry.id)
            .where(self._claimable(self._clock()))
            .order_by(OutboxEntry.next_attempt_at, OutboxEntry.id)
            .limit(self._settings.batch_size)
        )
        if exclude:
            query = query.where(OutboxEntry.id.not_in(exclude))
        with self._sessions() as session:
            return list(session.execute(query).scalars())

    def _claim(self, entry_id: int) -> Delivery | None:
        """Take the entry if it is still claimable; None if another dispatcher was first."""
        now = self._clock()
        token = uuid.uuid4().hex
        with self._sessions.begin() as session:
            claimed = session.execute(
                update(OutboxEntry)
                .where(OutboxEntry.id == entry_id, self._claimable(now))
                .values(state=OutboxState.SENDING, claimed_at=now, claim_token=token, attempts=OutboxEntry.attempts + 1)
                .execution_options(synchronize_session=False)
            ).rowcount
            if claimed != 1:
                return None
            entry = session.execute(select(OutboxEntry).where(OutboxEntry.id == entry_id)).scalar_one()
            self._reroute(entry)
            return Delivery(
                entry_id=entry.id,
                claim_token=token,
                attempts=entry.attempts,
                method=entry.send_method,
                destination=entry.destination,
                payload=entry.payload,
                idempotency_key=entry.idempotency_key,
            )

    def _reroute(self, entry: OutboxEntry) -> None:
        """Point the claimed entry at its recipient's current send target (saved with the claim)."""
        target = self._route(entry) if self._route is not None else None
        if target is None or (target.method, target.destination) == (entry.send_method, entry.destination):
            return
        logger.info(
            "Outbox #%d re-routed by the city data: %s %s -> %s %s",
            entry.id,
            entry.send_method,
            mask_personal_data(entry.destination),
            target.method,
            mask_personal_data(target.destination),
        )
        entry.send_method, entry.destination = target.method, target.destination

    def _bury_exhausted_claims(self, report: DispatchReport) -> None:
        """Claims lost on their last allowed attempt become dead letters instead of looping."""
        now = self._clock()
        lease_expired_before = now - timedelta(seconds=self._settings.claim_lease_seconds)
        with self._sessions.begin() as session:
            report.dead += session.execute(
                update(OutboxEntry)
                .where(
                    OutboxEntry.state == OutboxState.SENDING,
                    OutboxEntry.claimed_at < lease_expired_before,
                    OutboxEntry.attempts >= self._settings.max_attempts,
                )
                .values(
                    state=OutboxState.DEAD,
                    claim_token=None,
                    last_error="dispatcher stopped while sending (last attempt)",
                )
                .execution_options(synchronize_session=False)
            ).rowcount

    # --- sending ---------------------------------------------------------------------------------

    def _deliver(self, delivery: Delivery, report: DispatchReport) -> None:
        sender = self._senders.get(delivery.method)
        try:
            if sender is None:
                raise DeliveryFailed(f"no sender for send method '{delivery.method}'")
            # Contact numbers are decrypted here, for the recipient only (a wrong data key is this
            # entry's failure like any other).
            sender(replace(delivery, payload=open_contacts(delivery.payload)))
        except Exception as exc:  # any failure of one entry is that entry's retry, not a crash
            self._record_failure(delivery, exc, report)
        else:
            self._record_success(delivery, report)

    def _finish(self, delivery: Delivery, **values) -> bool:
        """Update the entry if this dispatcher still holds its claim."""
        with self._sessions.begin() as session:
            updated = session.execute(
                update(OutboxEntry)
                .where(
                    OutboxEntry.id == delivery.entry_id,
                    OutboxEntry.claim_token == delivery.claim_token,
                    OutboxEntry.state == OutboxState.SENDING,
                )
                .values(claim_token=None, **values)
                .execution_options(synchronize_session=False)
            ).rowcount
        if not updated:
            logger.warning("Outbox #%d: claim lost before the result was recorded", delivery.entry_id)
        return bool(updated)

    def _record_success(self, delivery: Delivery, report: DispatchReport) -> None:
        if self._finish(delivery, state=OutboxState.DELIVERED, delivered_at=self._clock(), last_error=None):
            report.delivered += 1
            logger.info(
                "Outbox #%d delivered (ticket %s, %s, attempt %d)",
                delivery.entry_id,
                delivery.ticket_number,
                delivery.method,
                delivery.attempts,
            )

    def _record_failure(self, delivery: Delivery, error: Exception, report: DispatchReport) -> None:
        message = mask_personal_data(str(error) or type(error).__name__)[:500]
        if delivery.attempts >= self._settings.max_attempts:
            if self._finish(delivery, state=OutboxState.DEAD, last_error=message):
                report.dead += 1
                logger.error(
                    "Outbox #%d is a dead letter after %d attempts (ticket %s): %s",
                    delivery.entry_id,
                    delivery.attempts,
                    delivery.ticket_number,
                    message,
                )
            return
        delay = retry_delay_seconds(delivery.attempts, self._settings, self._random_fraction)
        retry_at = self._clock() + timedelta(seconds=delay)
        if self._finish(delivery, state=OutboxState.PENDING, next_attempt_at=retry_at, last_error=message):
            report.retried += 1
            logger.warning(
                "Outbox #%d failed (ticket %s, attempt %d), retry in %.0f s: %s",
                delivery.entry_id,
                delivery.ticket_number,
                delivery.attempts,
                delay,
                message,
            )
