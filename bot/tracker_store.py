"""Deprecated import path, kept for one release: endpoints files written before the move name
`bot.tracker_store.MaskingSQLTrackerStore`. The store lives in bot.rasa_ext.tracker_store."""

from bot.rasa_ext.tracker_store import *  # noqa: F401,F403
from bot.rasa_ext.tracker_store import MaskingSQLTrackerStore  # noqa: F401
