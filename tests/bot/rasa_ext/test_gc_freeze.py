"""After the model is loaded, the long-lived objects leave the collector's passes
(bot/rasa_ext/speedups.py, point 4; issue 18: full collections of 1-1.4 s made the p90)."""

from __future__ import annotations

import asyncio
import gc
import logging
from pathlib import Path

import rasa.core.run
from rasa.core.utils import AvailableEndpoints
from sanic import Sanic

import bot.rasa_ext
from bot.rasa_ext.speedups import freeze_long_lived_objects, release_free_heap


def test_freezing_moves_what_is_alive_out_of_later_collections():
    try:
        frozen = freeze_long_lived_objects()
        assert frozen == gc.get_freeze_count() > 10_000  # this test process holds Rasa's modules
        gc.collect(2)
        assert gc.get_freeze_count() == frozen  # a full pass leaves them where they are
    finally:
        gc.unfreeze()


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_free_heap_memory_goes_back_to_the_system():
    blocks = [bytearray(4096) for _ in range(50_000)]  # ~200 MB in small blocks, malloc's heap
    del blocks[:-1]  # freed, but glibc keeps the pages of the heap until trimmed
    before = rss_kb()
    assert release_free_heap() is True
    assert rss_kb() < before - 50_000  # at least 50 MB returned


def test_the_server_freezes_once_its_model_is_loaded(trained_model: Path):
    previous = logging.getLogRecordFactory()
    bot.rasa_ext.install()
    logging.setLogRecordFactory(previous)
    app = Sanic("gc_freeze_test")
    try:
        gc.unfreeze()
        loop = asyncio.new_event_loop()
        agent = loop.run_until_complete(
            rasa.core.run.load_agent_on_start(str(trained_model), AvailableEndpoints(), None, app, loop)
        )
        loop.close()
        assert agent.is_ready() and app.ctx.agent is agent
        assert gc.get_freeze_count() > 100_000  # Rasa, TensorFlow and the model, frozen
    finally:
        gc.unfreeze()
