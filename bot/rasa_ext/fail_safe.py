"""No silent fallback to process memory when the tracker store's database fails.

Rasa 3.6 wraps every tracker store in a `FailSafeTrackerStore` that, when the database fails,
retrieves *nothing* (the turn then runs on an empty conversation: an open form is forgotten) and
saves into an in-memory store of that one process (other processes never see it). With several
processes and PostgreSQL that turns a database restart into lost and forked conversations.

This patch makes the wrapper pass `save`, `retrieve` and `retrieve_full_tracker` straight to the
wrapped store, errors included, when that store has a true `strict` attribute
(bot.rasa_ext.tracker_store.MaskingSQLTrackerStore with `strict: true`, the default): the turn
fails, the citizen gets the channel's "잠시 후 다시 말씀해 주세요", nothing is written anywhere
else, and the conversation goes on from the database once it is back. Stores without the
attribute keep Rasa's behaviour.

Applied by bot.rasa_ext.install(); idempotent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

STRICT_ATTRIBUTE = "strict"
_MARKER = "_sotong_strict_patch"
_METHODS = ("save", "retrieve", "retrieve_full_tracker")


def install() -> bool:
    """Patches Rasa's FailSafeTrackerStore; False if it was already patched."""
    from rasa.core.tracker_store import FailSafeTrackerStore

    if getattr(FailSafeTrackerStore, _MARKER, False):
        return False
    for name in _METHODS:
        setattr(FailSafeTrackerStore, name, _strict(name, getattr(FailSafeTrackerStore, name)))
    setattr(FailSafeTrackerStore, _MARKER, True)
    return True


def _strict(name: str, fallback: Callable[..., Any]) -> Callable[..., Any]:
    async def method(self, *args: Any, **kwargs: Any) -> Any:
        if getattr(self._tracker_store, STRICT_ATTRIBUTE, False):
            return await getattr(self._tracker_store, name)(*args, **kwargs)
        return await fallback(self, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = fallback.__doc__
    return method
