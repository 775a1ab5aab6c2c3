"""Measured speed-ups of Rasa 3.6's server process, applied at run time.

1. Action-server answers validated with a cached validator.
`RemoteAction._validate_action_result` checks every action server answer with
`jsonschema.validate(answer, schema)`. That function first validates the *schema* against
JSON Schema's meta-schema (`check_schema`) and builds a new validator, on every call. With
jsonschema 4.17 (Draft 2020-12 meta-schema, `$dynamicRef`) this dominated the Rasa process:
a py-spy profile under load (bench/cluster_load.py, 20 citizens) put 61 % of the server's samples
in `_validate_action_result` → `check_schema`, for 2.6 action calls per turn. The schema is a
constant, so it is checked once and its validator is reused; each answer is still validated in
full and an invalid answer raises the same `ValidationError` with the same message.

2. One HTTP client session per endpoint, kept open.
`EndpointConfig.request` (every custom action and form validation call) opened a new aiohttp
`ClientSession` — a new TCP connection to the action server — for each call and closed it
afterwards, and serialised the whole tracker with the standard `json` module. Here each endpoint
(URL, headers, auth) gets one session per event loop, with keep-alive connections, serialising
with `ujson` (3.5 times faster on a tracker, same JSON; the standard module is the fallback for
anything ujson refuses). A py-spy profile under load had put 8.5 % of the Rasa process in opening
those requests, most of it serialising.

3. Message parsing (the NLU graph) off the event loop.
`MessageProcessor.parse_message` ran the NLU graph (tokenizer, featurizers, DIET, the response
selector) inside the event loop, so a long message held every other request, the Kakao channel's
5-second guard and the health check until it was parsed (issue 13, finding 6). Here the graph
runs in one worker thread per process (`NLU_THREAD_NAME`); the loop stays free meanwhile. One
thread keeps the models' TensorFlow inference and the analyzers (each behind its own lock)
called from a single thread at a time, as before; the rest of `parse_message` is unchanged.

4. The loaded model kept out of the garbage collector's full passes.
A Rasa process holds millions of long-lived objects once TensorFlow, Rasa and the model are
loaded. Python's full (generation-2) collection walks all of them: 1-1.4 s every 50-100 turns
in bench/turn_cost.py, landing in whatever turn was running and making most of its p90. After the
model is loaded, everything alive is collected once and moved to the permanent generation
(`gc.freeze()`); later full passes walk only what the turns themselves created. Then glibc is
asked to return the free memory that loading left in its heaps (`malloc_trim(0)`): about 200 MB
of a Rasa process's RSS (bench/memory.py).

    from bot.rasa_ext.speedups import install
    install()   # idempotent; bot.rasa_ext.install() (python -m bot.server) calls it
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import json
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import ujson

_MARKER = "_sotong_cached_validator"
_SESSION_MARKER = "_sotong_shared_sessions"


def install() -> bool:
    """Applies every speed-up of this module; False if they were already applied."""
    first = _install_cached_validator()
    _install_shared_sessions()
    _install_parse_in_worker_thread()
    _install_gc_freeze_after_model_load()
    return first


_GC_MARKER = "_sotong_gc_freeze"


def freeze_long_lived_objects() -> int:
    """Collects once, then moves every object alive to the permanent generation, which the
    collector's later passes skip, and returns free heap memory to the system; returns how many
    objects are frozen."""
    gc.collect()
    gc.freeze()
    release_free_heap()
    return gc.get_freeze_count()


def release_free_heap() -> bool:
    """glibc's malloc_trim(0): free memory at the top of and inside malloc's heaps goes back to
    the system. False where the C library has no malloc_trim (not glibc)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.malloc_trim(0))
    except (OSError, AttributeError):
        return False


def _install_gc_freeze_after_model_load() -> None:
    import rasa.core.run

    original = rasa.core.run.load_agent_on_start
    if getattr(original, _GC_MARKER, False):
        return

    async def load_agent_on_start(*args: Any, **kwargs: Any) -> Any:
        agent = await original(*args, **kwargs)
        freeze_long_lived_objects()
        return agent

    setattr(load_agent_on_start, _GC_MARKER, True)
    rasa.core.run.load_agent_on_start = load_agent_on_start


NLU_THREAD_NAME = "sotong-nlu"
_PARSE_MARKER = "_sotong_parse_in_thread"
_nlu_executor: ThreadPoolExecutor | None = None
_nlu_executor_lock = threading.Lock()


def nlu_executor() -> ThreadPoolExecutor:
    """The process's single NLU worker thread (created on first use)."""
    global _nlu_executor
    with _nlu_executor_lock:
        if _nlu_executor is None:
            _nlu_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=NLU_THREAD_NAME)
        return _nlu_executor


def _install_parse_in_worker_thread() -> None:
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.trackers import DialogueStateTracker

    if getattr(MessageProcessor, _PARSE_MARKER, None) is not None:
        return
    original = MessageProcessor.parse_message

    async def parse_message(self, message, tracker=None, only_output_properties=True):
        if self.http_interpreter:
            return await original(self, message, tracker, only_output_properties)
        if tracker is None:
            tracker = DialogueStateTracker.from_events(message.sender_id, [])
        parse_data = await asyncio.get_running_loop().run_in_executor(
            nlu_executor(), self._parse_message_with_graph, message, tracker, only_output_properties
        )
        self._update_full_retrieval_intent(parse_data)
        self._check_for_unseen_features(parse_data)
        return parse_data

    parse_message.__doc__ = original.__doc__
    MessageProcessor.parse_message = parse_message
    setattr(MessageProcessor, _PARSE_MARKER, original)


def _dumps(value: Any) -> str:
    try:
        return ujson.dumps(value)
    except (TypeError, OverflowError, ValueError):
        return json.dumps(value)


class _KeptSession:
    """`async with` over a shared session that does not close it at the end of the block."""

    def __init__(self, session: Any) -> None:
        self._session = session

    async def __aenter__(self) -> Any:
        return self._session

    async def __aexit__(self, *_: Any) -> None:
        return None


def _install_shared_sessions() -> None:
    import aiohttp
    from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

    if getattr(EndpointConfig, _SESSION_MARKER, None) is not None:
        return
    sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, Any]] = weakref.WeakKeyDictionary()

    def session(self: EndpointConfig) -> _KeptSession:
        loop = asyncio.get_running_loop()
        auth = (self.basic_auth or {}).get("username"), (self.basic_auth or {}).get("password")
        key = (self.url, tuple(sorted((self.headers or {}).items())), auth)
        per_loop = sessions.setdefault(loop, {})
        shared = per_loop.get(key)
        if shared is None or shared.closed:
            shared = per_loop[key] = aiohttp.ClientSession(
                headers=self.headers,
                auth=aiohttp.BasicAuth(*auth) if self.basic_auth else None,
                timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                json_serialize=_dumps,
            )
        return _KeptSession(shared)

    EndpointConfig.session = session
    setattr(EndpointConfig, _SESSION_MARKER, sessions)


async def close_shared_sessions() -> None:
    """Closes the shared sessions of the running event loop (tests; a server just exits)."""
    from rasa.utils.endpoints import EndpointConfig

    sessions = getattr(EndpointConfig, _SESSION_MARKER, None)
    for shared in (sessions or {}).pop(asyncio.get_running_loop(), {}).values():
        await shared.close()


def _install_cached_validator() -> bool:
    """Replaces RemoteAction._validate_action_result; False if it was already replaced."""
    from jsonschema import exceptions
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    if getattr(RemoteAction, _MARKER, None) is not None:
        return False
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)

    def _validate_action_result(self, result: dict[str, Any]) -> bool:
        error = exceptions.best_match(validator.iter_errors(result))
        if error is not None:
            error.message += (
                f". Failed to validate Action server response from API, "
                f"make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit "
                f"{DOCS_BASE_URL}/custom-actions"
            )
            raise error
        return True

    RemoteAction._validate_action_result = _validate_action_result
    setattr(RemoteAction, _MARKER, validator)
    return True
