"""Deprecated import path, kept for one release: endpoints files written before the move name
`bot.lock_store.AtomicRedisLockStore`. The store lives in bot.rasa_ext.lock_store."""

from bot.rasa_ext.lock_store import AtomicRedisLockStore  # noqa: F401
