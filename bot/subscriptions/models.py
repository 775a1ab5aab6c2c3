"""Tables of subscriptions (with consent and unsubscribe times) and staff broadcasts.

A subscription row is never deleted: unsubscribing sets `unsubscribed_at`, and subscribing again
adds a new row with a new consent, so the consent history stays auditable. Delivery of a broadcast
goes through the outbox (bot/delivery), one entry per batch of recipients.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Text, text

from bot.storage.db import Base, UtcDateTime, utc_now

ACTIVE = text("unsubscribed_at IS NULL")


class Subscription(Base):
    __tablename__ = "subscriptions"

    id = Column(Integer, primary_key=True)
    user_key = Column(String(256), nullable=False)  # Kakao user id (Rasa sender id)
    user_key_type = Column(String(30), nullable=False)  # Event API user type, e.g. botUserKey
    target = Column(String(80), nullable=False)  # a subscription topic id or a district name
    consent_version = Column(String(40), nullable=False)  # version of the consent text agreed to
    consented_at = Column(UtcDateTime, nullable=False, default=utc_now)
    unsubscribed_at = Column(UtcDateTime)

    __table_args__ = (
        Index("ix_subscriptions_user", "user_key"),
        Index("ix_subscriptions_target", "target", "unsubscribed_at"),
        # at most one active subscription per user and target
        Index(
            "uq_subscriptions_active", "user_key", "target", unique=True, sqlite_where=ACTIVE, postgresql_where=ACTIVE
        ),
    )

    @property
    def is_active(self) -> bool:
        return self.unsubscribed_at is None


class Broadcast(Base):
    __tablename__ = "broadcasts"

    id = Column(Integer, primary_key=True)
    target = Column(String(80), nullable=False, index=True)
    text = Column(Text, nullable=False)
    sent_by = Column(String(100), nullable=False)  # staff member or "cli"
    created_at = Column(UtcDateTime, nullable=False, default=utc_now)
    recipient_count = Column(Integer, nullable=False, default=0)
    batch_count = Column(Integer, nullable=False, default=0)
