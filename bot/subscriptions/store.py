"""Subscriptions in the database: subscribe with consent, unsubscribe, who receives a target."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

import bot.tickets.models  # noqa: F401  (the outbox, used by broadcasts, refers to the tickets table)
from bot.storage.db import create_schema, make_engine, make_session_factory, utc_now
from bot.subscriptions.models import Subscription

BOT_USER_KEY = "botUserKey"
EVENT_API_USER_TYPES = ("botUserKey", "plusfriendUserKey", "appUserId")


@dataclass(frozen=True)
class Subscriber:
    """Who a notice goes to: a Kakao user id and its Event API type."""

    user_key: str
    user_key_type: str = BOT_USER_KEY


class SubscriptionStore:
    def __init__(self, session_factory: sessionmaker, clock: Callable[[], datetime] = utc_now):
        self.sessions = session_factory
        self._clock = clock

    @classmethod
    def from_env(cls, database_url: str | None = None) -> SubscriptionStore:
        engine = make_engine(database_url)
        create_schema(engine)
        return cls(make_session_factory(engine))

    def subscribe(self, subscriber: Subscriber, target: str, consent_version: str) -> bool:
        """Record a subscription with the consent given now; False if it was already active."""
        try:
            with self.sessions.begin() as session:
                if self._active(session, subscriber.user_key, [target]):
                    return False
                session.add(
                    Subscription(
                        user_key=subscriber.user_key,
                        user_key_type=subscriber.user_key_type,
                        target=target,
                        consent_version=consent_version,
                        consented_at=self._clock(),
                    )
                )
            return True
        except IntegrityError:  # a concurrent request subscribed first
            return False

    def unsubscribe(self, user_key: str, targets: Iterable[str] | None = None) -> list[str]:
        """End the user's active subscriptions to `targets` (all when None); the ended targets."""
        with self.sessions.begin() as session:
            ended = self._active(session, user_key, None if targets is None else list(targets))
            now = self._clock()
            for subscription in ended:
                subscription.unsubscribed_at = now
            return [subscription.target for subscription in ended]

    def active_subscriptions(self, user_key: str) -> list[Subscription]:
        with self.sessions() as session:
            return self._active(session, user_key, None)

    def recipients(self, target: str) -> list[Subscriber]:
        """Everyone subscribed to `target` now, once each, oldest subscription first."""
        with self.sessions() as session:
            return self.recipients_in(session, target)

    @staticmethod
    def recipients_in(session: Session, target: str) -> list[Subscriber]:
        """`recipients` inside the caller's transaction."""
        rows = session.execute(
            select(Subscription.user_key, Subscription.user_key_type)
            .where(Subscription.target == target, Subscription.unsubscribed_at.is_(None))
            .order_by(Subscription.id)
        ).all()
        unique = {}
        for row in rows:
            unique.setdefault(row.user_key, Subscriber(row.user_key, row.user_key_type))
        return list(unique.values())

    def still_subscribed(self, target: str, user_keys: Iterable[str]) -> set:
        """The subset of `user_keys` whose subscription to `target` is still active."""
        user_keys = list(user_keys)
        if not user_keys:
            return set()
        with self.sessions() as session:
            return set(
                session.execute(
                    select(Subscription.user_key).where(
                        Subscription.target == target,
                        Subscription.unsubscribed_at.is_(None),
                        Subscription.user_key.in_(user_keys),
                    )
                ).scalars()
            )

    @staticmethod
    def _active(session: Session, user_key: str, targets: list[str] | None) -> list[Subscription]:
        query = (
            select(Subscription)
            .where(Subscription.user_key == user_key, Subscription.unsubscribed_at.is_(None))
            .order_by(Subscription.id)
        )
        if targets is not None:
            query = query.where(Subscription.target.in_(targets))
        return list(session.execute(query).scalars())


@cache
def get_subscription_store() -> SubscriptionStore:
    """The store of this process, on SOTONG_DATABASE_URL (tables created on first use)."""
    return SubscriptionStore.from_env()
