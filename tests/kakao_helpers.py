"""Shared helpers of the Kakao channel tests: schema, payloads, a channel server on a real port."""

from __future__ import annotations

import asyncio
import copy
import json
import socket
import threading
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jsonschema
import requests
from sanic import Sanic

from bot.channels.kakao.channel import KakaoInput
from bot.channels.kakao.settings import KakaoChannelSettings

TESTS = Path(__file__).resolve().parent
SCHEMA_PATH = TESTS / "schemas" / "skill_response.schema.json"
FIXTURES = TESTS / "fixtures" / "kakao"
SECRET_HEADER = "X-Sotong-Secret"

_validator: jsonschema.Draft7Validator | None = None


def skill_response_validator() -> jsonschema.Draft7Validator:
    global _validator
    if _validator is None:
        schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
        jsonschema.Draft7Validator.check_schema(schema)
        _validator = jsonschema.Draft7Validator(schema)
    return _validator


def assert_valid_skill_response(body: Any) -> None:
    errors = sorted(skill_response_validator().iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, "invalid SkillResponse:\n" + "\n".join(
        f"- {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}" for e in errors
    )


def load_fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def skill_payload(
    utterance: str,
    user_id: str = "test-user",
    *,
    callback_url: str | None = None,
    client_extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A SkillPayload shaped like Open Builder's, based on ``skill_payload_text.json``."""
    payload = copy.deepcopy(load_fixture("skill_payload_text.json"))
    payload["userRequest"]["utterance"] = utterance
    payload["userRequest"]["user"]["id"] = user_id
    if callback_url is not None:
        payload["userRequest"]["callbackUrl"] = callback_url
    if client_extra is not None:
        payload["action"]["clientExtra"] = client_extra
    return payload


def post_skill(
    url: str,
    payload: Any,
    secret: str | None,
    *,
    timeout: float = 10.0,
    raw: bytes | None = None,
    header: str = SECRET_HEADER,
) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[header] = secret
    data = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return requests.post(url, data=data, headers=headers, timeout=timeout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def channel_settings(**overrides: Any) -> KakaoChannelSettings:
    values: dict[str, Any] = {
        "secret": "unit-test-secret",
        "secret_header": SECRET_HEADER,
        "callback_threshold_seconds": 0.4,
        "callback_timeout_seconds": 2.0,
        "turn_timeout_seconds": 10.0,
    }
    values.update(overrides)
    return KakaoChannelSettings(**values)


class ChannelServer:
    """A real Sanic server on a free loopback port serving one channel's blueprint (Kakao or REST),
    under ``/webhooks/<name>`` as Rasa mounts it.

    ``on_new_message`` stands in for Rasa's agent, so tests control how long a turn takes.
    The server runs its own event loop in a daemon thread.
    """

    def __init__(self, channel: Any, on_new_message: Callable[[Any], Awaitable[Any]]) -> None:
        self.channel = channel
        self.on_new_message = on_new_message
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._server: Any = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}/webhooks/{self.channel.name()}/webhook"

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            # Test mode lets several Sanic apps start in one process (no one-way code touch-ups).
            Sanic.test_mode = True
            app = Sanic(f"kakao_test_{uuid.uuid4().hex[:8]}")
            app.blueprint(self.channel.blueprint(self.on_new_message), url_prefix=f"/webhooks/{self.channel.name()}")
            server = self.loop.run_until_complete(
                app.create_server(host="127.0.0.1", port=self.port, return_asyncio_server=True, access_log=False)
            )
            self.loop.run_until_complete(server.startup())
            self._server = server
        except BaseException as error:  # reported to the test thread
            self._error = error
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()

    def run(self, coroutine: Awaitable[Any], timeout: float = 10.0) -> Any:
        """Runs ``coroutine`` on the server's loop and returns its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def __enter__(self) -> ChannelServer:
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise RuntimeError("channel server did not start") from self._error
        return self

    def __exit__(self, *_: Any) -> None:
        try:
            if isinstance(self.channel, KakaoInput):
                self.run(self.channel.guard.drain(), timeout=15)
        finally:
            if self._server is not None:
                self.loop.call_soon_threadsafe(self._server.close)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)


class EventApiStandIn:
    """A real local HTTP server answering like Kakao's Event API (SUCCESS with a task id); it
    records each request's path, Authorization header and body. ``fail`` makes it answer 500."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list = []
        self.fail = False
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stand_in.requests.append(
                    {"path": self.path, "authorization": self.headers["Authorization"], "body": body}
                )
                status, answer = (
                    (500, b'{"status":"FAIL"}')
                    if stand_in.fail
                    else (200, json.dumps({"taskId": f"task-{len(stand_in.requests)}", "status": "SUCCESS"}).encode())
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v2/bots/test-bot/talk"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
