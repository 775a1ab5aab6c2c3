"""Reliable delivery of ticket documents: the outbox (written with the ticket) and the dispatcher
that sends it by HTTP or e-mail. Run it with `python -m bot.delivery run`."""

from bot.delivery.dispatcher import Dispatcher, DispatchReport, retry_delay_seconds
from bot.delivery.outbox import OutboxEntry, OutboxState, enqueue
from bot.delivery.senders import Delivery, DeliveryFailed, EmailSender, HttpSender
from bot.delivery.settings import DeliverySettings

__all__ = [
    "Delivery",
    "DeliveryFailed",
    "DeliverySettings",
    "DispatchReport",
    "Dispatcher",
    "EmailSender",
    "HttpSender",
    "OutboxEntry",
    "OutboxState",
    "enqueue",
    "retry_delay_seconds",
]
