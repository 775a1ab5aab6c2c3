"""The dispatcher as the running system uses it: every send method, including Kakao events
(subscription broadcasts and notices to one citizen).

Kept apart from bot.delivery's core so that the outbox does not depend on its users.
"""

from __future__ import annotations

from sqlalchemy.orm import sessionmaker

from bot.city import CityDataError, SendTarget, get_city_config
from bot.delivery.dead_letters import current_send_target
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.outbox import OutboxEntry
from bot.delivery.senders import default_senders
from bot.delivery.settings import DeliverySettings


def full_dispatcher(sessions: sessionmaker, settings: DeliverySettings) -> Dispatcher:
    from bot.delivery.local_inbox import local_inbox_senders
    from bot.subscriptions.event_api import subscription_senders
    from bot.subscriptions.store import SubscriptionStore
    from bot.tickets.notices import citizen_notice_senders

    senders = {
        **default_senders(settings),
        **local_inbox_senders(settings),  # `make run`: http and email to the local inbox
        **subscription_senders(SubscriptionStore(sessions)),
        **citizen_notice_senders(),
    }
    return Dispatcher(sessions, settings, senders=senders, route=route_by_city_data)


def route_by_city_data(entry: OutboxEntry) -> SendTarget | None:
    """A department's or agency's send target in the city data as it is now (bot.city notices an
    edit within seconds); None, i.e. as enqueued, while no valid city data could be read."""
    try:
        return current_send_target(get_city_config(), entry)
    except CityDataError:  # bot.city logs the problems
        return None
