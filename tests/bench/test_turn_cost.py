"""bench/profiled_rasa.py's timers leave behaviour unchanged; bench/turn_cost.py's table adds up."""

from __future__ import annotations

import asyncio

import pytest

from bench import profiled_rasa
from bench.turn_cost import PathResult, citizen_script, markdown, per_turn, stage_table


@pytest.fixture(autouse=True)
def fresh_totals(monkeypatch):
    monkeypatch.setattr(profiled_rasa, "_totals", {})


def test_timed_functions_return_and_raise_as_before():
    def double(value):
        return value * 2

    async def fail(_):
        raise KeyError("kept")

    timed_double = profiled_rasa._timed("stage:sync", double)
    timed_fail = profiled_rasa._timed(lambda value: f"stage:{value}", fail)

    assert timed_double(21) == 42
    with pytest.raises(KeyError, match="kept"):
        asyncio.run(timed_fail("async"))
    totals = profiled_rasa.snapshot()
    assert totals["stage:sync"]["calls"] == 1
    assert totals["stage:async"]["calls"] == 1  # counted even when it raised
    assert timed_double.__name__ == "double"


def test_timed_lock_yields_the_ticket_and_releases_on_error():
    from contextlib import asynccontextmanager

    released = []

    @asynccontextmanager
    async def lock(_, conversation_id):
        try:
            yield f"ticket-{conversation_id}"
        finally:
            released.append(conversation_id)

    timed = profiled_rasa._timed_lock(lock)

    async def use() -> str:
        async with timed(None, "a") as ticket:
            got = ticket
        with pytest.raises(ValueError):
            async with timed(None, "b"):
                raise ValueError
        return got

    assert asyncio.run(use()) == "ticket-a"
    assert released == ["a", "b"]
    assert profiled_rasa.snapshot()["lock:release"]["calls"] == 2


def test_stage_table_derives_the_rest_of_the_turn():
    result = PathResult("sotong_kakao", turns=[0.1, 0.1])
    result.stages = {
        "server:webhook": {"calls": 2, "seconds": 0.18},
        "agent:handle_message": {"calls": 2, "seconds": 0.16},
        "nlu:parse_message": {"calls": 2, "seconds": 0.1},
        "nlu:graph": {"calls": 2, "seconds": 0.08},
        "nlu:node:DIETClassifier5": {"calls": 2, "seconds": 0.06},
        "action_server:action_x": {"calls": 1, "seconds": 0.02},
        "action:run": {"calls": 4, "seconds": 0.04},
    }
    rows = per_turn(result)
    assert rows["=client"]["ms"] == pytest.approx(100)
    assert rows["=outside_server"]["ms"] == pytest.approx(10)
    assert rows["=nlu_graph_overhead"]["ms"] == pytest.approx(10)
    assert rows["=inprocess_actions"]["ms"] == pytest.approx(10)
    assert rows["=turn_rest"]["ms"] == pytest.approx(80 - 50 - 20)
    table = stage_table([result, PathResult("stock_rest", turns=[0.1])])
    diet = next(row for row in table if row["key"] == "nlu:node:DIETClassifier5")
    assert diet["stage"] == "node DIETClassifier5"
    assert diet["sotong_kakao"]["share"] == pytest.approx(0.3)
    assert diet["stock_rest"] is None
    report = {"paths": {}, "stages": table}
    assert "node DIETClassifier5" in markdown(report)


def test_both_paths_get_the_same_script():
    assert citizen_script(3) == citizen_script(3)
    assert "{ticket} 처리 상황 알려주세요" in citizen_script(3)
