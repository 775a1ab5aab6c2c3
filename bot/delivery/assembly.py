"""The dispatcher as the running system uses it: every send method, including Kakao events
(subscription broadcasts and notices to one citizen).

Kept apart from bot.delivery's core so that the outbox does not depend on its users.
"""
from __future__ import annotations

from sqlalchemy.orm import sessionmaker

from bot.delivery.dispatcher import Dispatcher
from bot.delivery.senders import default_senders
from bot.delivery.settings import DeliverySettings


def full_dispatcher(sessions: sessionmaker, settings: DeliverySettings) -> Dispatcher:
    from bot.delivery.local_inbox import local_inbox_senders
    from bot.tickets.notices import citizen_notice_senders
    from bot.subscriptions.event_api import subscription_senders
    from bot.subscriptions.store import SubscriptionStore

    senders = {
        **default_senders(settings),
        **local_inbox_senders(settings),  # `make run`: http and email to the local inbox
        **subscription_senders(SubscriptionStore(sessions)),
        **citizen_notice_senders(),
    }
    return Dispatcher(sessions, settings, senders=senders)
