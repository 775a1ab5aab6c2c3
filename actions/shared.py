"""Helpers every action module uses: tracker reading, replies, blocking calls, city services."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.city import follows_city_config
from bot.city.places import PlaceNormaliser
from bot.replies import Reply, rasa_message


@follows_city_config
def place_normaliser(config, _previous) -> PlaceNormaliser:
    return PlaceNormaliser.for_city(config)


async def in_thread(function: Callable, *args):
    """Run a blocking store call without stalling the action server's event loop."""
    return await asyncio.to_thread(function, *args)


def utter(dispatcher: CollectingDispatcher, reply: Reply) -> None:
    """Sends a reply (text, choices, cards) as one bot message; every channel renders it."""
    dispatcher.utter_message(**rasa_message(reply))


def latest_text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")
