"""A Rasa server with stage timers, for bench/turn_cost.py: where a turn's time goes.

    python bench/profiled_rasa.py sotong run --model m.tar.gz ...   # as `python -m bot.server run ...`
    python bench/profiled_rasa.py stock run --model m.tar.gz ...    # as plain `rasa run ...`

`sotong` applies Sotong's patches of Rasa (bot.rasa_ext.install(), as bot.server does) and then
the timers; `stock` applies only the timers, so the peer is Rasa 3.6 as shipped. The timers wrap
Rasa's own methods (and the Kakao channel's request parsing and rendering) with a
`time.perf_counter()` pair around the original call: arguments, results and exceptions pass
through unchanged. Each stage adds up its calls and seconds in this process; the server answers
`GET /bench/timings` with the running totals (the bench takes the difference over a phase).

Stages (names as in the JSON):
  server:<path>          the whole HTTP request inside Sanic (middleware), per route kind
  channel:kakao:*        the Kakao channel: whole handler, request parsing, rendering, JSON
  agent:handle_message   the Rasa turn, under the lock store's lock
  lock:acquire, lock:release
  tracker:fetch_and_update_session, tracker:retrieve (inside it), tracker:save,
  tracker:stream_events (inside save: the event broker)
  nlu:parse_message      the whole parse (Sotong: in its worker thread, with the hand-over)
  nlu:graph              the NLU graph run; nlu:node:<node> each of its nodes
  core:extract_slots     action_extract_slots
  core:predict           one policy-ensemble prediction; core:node:<node> each graph node
  action:run             every action run (utter, listen, remote) with its side effects
  action_server:<name>   RemoteAction.run per custom action; action_server:http the HTTP call
  gc:generation_<n>      Python's garbage collections (they pause the stage that triggered them)
  store:*                (sotong) parts of the masking SQL tracker store and of the signal broker,
                         and every SQLAlchemy commit
"""

from __future__ import annotations

import functools
import sys
import threading
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TIMINGS_ROUTE = "/bench/timings"

_totals: dict[str, list[float]] = {}  # stage -> [calls, seconds]
_graph = threading.local()  # which graph run (nlu, core) the current thread is in


def add(stage: str, seconds: float) -> None:
    entry = _totals.get(stage)
    if entry is None:
        _totals[stage] = [1, seconds]
    else:
        entry[0] += 1
        entry[1] += seconds


def snapshot() -> dict[str, dict[str, float]]:
    return {stage: {"calls": calls, "seconds": seconds} for stage, (calls, seconds) in list(_totals.items())}


def _timed(stage: str | Callable[..., str], function: Callable) -> Callable:
    """`function` (sync or async) timed under `stage` (or `stage(*args)`), behaviour unchanged."""
    name_of = stage if callable(stage) else (lambda *_: stage)
    if _is_coroutine_function(function):

        @functools.wraps(function)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await function(*args, **kwargs)
            finally:
                add(name_of(*args), time.perf_counter() - started)

        return timed_async

    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            add(name_of(*args), time.perf_counter() - started)

    return timed


def _is_coroutine_function(function: Callable) -> bool:
    import inspect

    return inspect.iscoroutinefunction(function)


def _wrap(owner: Any, attribute: str, stage: str | Callable[..., str]) -> None:
    setattr(owner, attribute, _timed(stage, getattr(owner, attribute)))


def _in_graph(kind: str, function: Callable) -> Callable:
    """`function` run with this thread marked as inside the `kind` graph (nlu or core)."""

    @functools.wraps(function)
    def marked(*args: Any, **kwargs: Any) -> Any:
        outer = getattr(_graph, "kind", None)
        _graph.kind = kind
        try:
            return function(*args, **kwargs)
        finally:
            _graph.kind = outer

    return marked


def _node_stage(node: Any, *_: Any) -> str:
    name = node._node_name.removeprefix("run_").rsplit(".", 1)[-1]
    return f"{getattr(_graph, 'kind', None) or 'other'}:node:{name}"


def _timed_lock(original: Callable) -> Callable:
    """LockStore.lock with its acquisition and its release timed apart."""

    @asynccontextmanager
    @functools.wraps(original)
    async def lock(self: Any, *args: Any, **kwargs: Any) -> Any:
        manager = original(self, *args, **kwargs)
        started = time.perf_counter()
        ticket = await manager.__aenter__()
        add("lock:acquire", time.perf_counter() - started)
        try:
            yield ticket
        except BaseException:
            started = time.perf_counter()
            suppressed = await manager.__aexit__(*sys.exc_info())
            add("lock:release", time.perf_counter() - started)
            if not suppressed:
                raise
        else:
            started = time.perf_counter()
            await manager.__aexit__(None, None, None)
            add("lock:release", time.perf_counter() - started)

    return lock


def install_gc_timer() -> None:
    """Python's cyclic garbage collections, by generation (they pause whatever code runs then)."""
    import gc

    started = [0.0]

    def collection(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            add(f"gc:generation_{info['generation']}", time.perf_counter() - started[0])

    gc.callbacks.append(collection)


def install_rasa_timers() -> None:
    from rasa.core.actions.action import RemoteAction
    from rasa.core.agent import Agent
    from rasa.core.lock_store import LockStore
    from rasa.core.processor import MessageProcessor
    from rasa.core.tracker_store import TrackerStore
    from rasa.engine.graph import GraphNode
    from rasa.utils.endpoints import EndpointConfig

    _wrap(Agent, "handle_message", "agent:handle_message")
    LockStore.lock = _timed_lock(LockStore.lock)
    _wrap(MessageProcessor, "fetch_tracker_and_update_session", "tracker:fetch_and_update_session")
    _wrap(MessageProcessor, "get_tracker", "tracker:retrieve")
    _wrap(MessageProcessor, "save_tracker", "tracker:save")
    _wrap(TrackerStore, "stream_events", "tracker:stream_events")
    _wrap(MessageProcessor, "parse_message", "nlu:parse_message")
    MessageProcessor._parse_message_with_graph = _in_graph(
        "nlu", _timed("nlu:graph", MessageProcessor._parse_message_with_graph)
    )
    _wrap(MessageProcessor, "run_action_extract_slots", "core:extract_slots")
    MessageProcessor._predict_next_with_tracker = _in_graph(
        "core", _timed("core:predict", MessageProcessor._predict_next_with_tracker)
    )
    _wrap(MessageProcessor, "_run_action", "action:run")
    _wrap(RemoteAction, "run", lambda action, *_: f"action_server:{action.name()}")
    _wrap(EndpointConfig, "request", "action_server:http")
    _wrap(GraphNode, "__call__", _node_stage)


def install_sotong_store_timers() -> None:
    """The parts of Sotong's tracker store (bot/rasa_ext) and training-signal broker, and every
    SQLAlchemy commit of the process (Rasa's stock in-memory store makes none)."""
    from sqlalchemy.orm import Session

    from bot.rasa_ext.sql_store import MaskingSQLStore
    from bot.trainer.broker import SignalBroker

    for method in ("version", "stored_events", "tracker_from_stored", "unsaved_events", "append"):
        _wrap(MaskingSQLStore, method, f"store:{method}")
    _wrap(SignalBroker, "publish", "store:broker_publish")
    _wrap(Session, "commit", "store:sql_commit")


def install_kakao_timers() -> None:
    from bot.channels.kakao import channel

    _wrap(channel.KakaoInput, "handle", "channel:kakao:handle")
    _wrap(channel, "read_body", "channel:kakao:read_body")
    _wrap(channel, "parse_skill_request", "channel:kakao:parse_request")
    _wrap(channel, "build_templates", "channel:kakao:render_templates")
    _wrap(channel, "page_response", "channel:kakao:render_page")
    _wrap(channel, "_json", "channel:kakao:json_response")


def _route_kind(path: str) -> str:
    if path.endswith("/webhook"):
        return "server:webhook"
    if path.startswith("/model/parse"):
        return "server:model_parse"
    return "server:other"


def install_timings_route() -> None:
    """Adds the request timer and GET /bench/timings to the app Rasa's `run` command builds."""
    import rasa.core.run
    from sanic import response

    original = rasa.core.run.configure_app

    @functools.wraps(original)
    def configure_app(*args: Any, **kwargs: Any) -> Any:
        app = original(*args, **kwargs)

        async def started(request: Any) -> None:
            request.ctx.bench_started = time.perf_counter()

        async def finished(request: Any, _: Any) -> None:
            if hasattr(request.ctx, "bench_started") and not request.path.startswith(TIMINGS_ROUTE):
                add(_route_kind(request.path), time.perf_counter() - request.ctx.bench_started)

        async def timings(_: Any) -> Any:
            return response.json(snapshot())

        app.register_middleware(started, "request")
        app.register_middleware(finished, "response")
        app.add_route(timings, TIMINGS_ROUTE, methods=["GET"])
        return app

    rasa.core.run.configure_app = configure_app


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in ("sotong", "stock"):
        raise SystemExit("usage: profiled_rasa.py sotong|stock <rasa arguments>")
    flavour, rasa_args = argv[0], argv[1:]
    sys.path.insert(0, str(ROOT))
    if flavour == "sotong":
        from bot.rasa_ext import install

        install()  # Sotong's patches first (bot.server's main finds them applied), timers around them
    install_rasa_timers()
    install_gc_timer()
    install_timings_route()
    if flavour == "sotong":
        install_kakao_timers()
        install_sotong_store_timers()
        from bot.server import main as sotong_main

        sotong_main(rasa_args)
    else:
        from rasa.__main__ import main as rasa_main

        sys.argv = ["rasa", *rasa_args]
        rasa_main()


if __name__ == "__main__":
    main(sys.argv[1:])
