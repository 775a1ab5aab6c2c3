"""Topic and district subscriptions: consent-recorded subscribe/unsubscribe from chat, and staff
broadcasts delivered through the Kakao Event API by the outbox dispatcher (queued and retried).

CLI: `python -m bot.subscriptions broadcast --topic transport --text "…"` (see __main__.py).
"""

from bot.subscriptions.broadcast import BroadcastError, BroadcastResult, broadcast
from bot.subscriptions.catalogue import Catalogue, SubscriptionTarget, get_catalogue, load_catalogue
from bot.subscriptions.event_api import KAKAO_EVENT, EventApiSettings, KakaoEventSender, subscription_senders
from bot.subscriptions.models import Broadcast, Subscription
from bot.subscriptions.store import Subscriber, SubscriptionStore, get_subscription_store

__all__ = [
    "Broadcast",
    "BroadcastError",
    "BroadcastResult",
    "Catalogue",
    "EventApiSettings",
    "KAKAO_EVENT",
    "KakaoEventSender",
    "Subscriber",
    "Subscription",
    "SubscriptionStore",
    "SubscriptionTarget",
    "broadcast",
    "get_catalogue",
    "get_subscription_store",
    "load_catalogue",
    "subscription_senders",
]
