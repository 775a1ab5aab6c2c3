"""Rasa's NLU graph runs off the event loop (bot/rasa_ext/speedups.py, issue 13 finding 6), once
bot.rasa_ext.install() (what `python -m bot.server` calls) has applied the speed-ups."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage

import bot.rasa_ext
from bot.rasa_ext.speedups import NLU_THREAD_NAME


def test_parsing_runs_in_the_worker_thread_while_the_loop_serves_others(trained_model: Path) -> None:
    previous = logging.getLogRecordFactory()
    bot.rasa_ext.install()
    logging.setLogRecordFactory(previous)  # the rest of the session logs as before
    agent = Agent.load(str(trained_model))
    runner = agent.processor.graph_runner
    real_run = runner.run
    graph_threads = []
    state = {"parsing": False, "ticks_while_parsing": 0}

    def spying_run(*args, **kwargs):
        graph_threads.append(threading.current_thread().name)
        state["parsing"] = True
        try:
            return real_run(*args, **kwargs)
        finally:
            state["parsing"] = False

    runner.run = spying_run
    long_text = "주엽역 앞 보안등이 꺼져서 밤에 너무 어두워요 빨리 고쳐 주세요 " * 60

    async def scenario():
        parse = asyncio.ensure_future(agent.processor.parse_message(UserMessage(long_text, sender_id="t")))
        while not parse.done():
            if state["parsing"]:
                state["ticks_while_parsing"] += 1
            await asyncio.sleep(0)
        return await parse

    parse_data = asyncio.run(scenario())
    assert parse_data["intent"]["name"]
    assert parse_data["text"] == long_text.strip()
    assert graph_threads and all(name.startswith(NLU_THREAD_NAME) for name in graph_threads)
    assert state["ticks_while_parsing"] > 0
