"""Horizontal scale: scripts/run_cluster.sh (nginx in front of two `rasa run` processes on the
PostgreSQL tracker store and the Redis lock store, two action servers, the dispatcher) keeps one
consistent conversation per citizen whichever instance gets each turn, and never runs two turns
of one conversation at once.

Needs SOTONG_TEST_POSTGRES_URL and SOTONG_TEST_REDIS_URL (.ci/run sets them) and nginx (installed
with scripts/install_nginx.sh when apt-get is available); skips with the reason otherwise.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.engine import create_engine

from bot.channels.rest import rasa_sender_id
from bot.privacy.encryption import data_cipher
from bot.tickets import Ticket
from tests.cluster import (
    POSTGRES_URL_ENV,
    REDIS_URL_ENV,
    TICKET_NUMBER,
    Cluster,
    answer_text,
    prerequisites_missing,
    redis_reachable,
)

PHONE, MASKED_PHONE = "010-2345-6789", "010-****-6789"

missing = prerequisites_missing()
stack = pytest.mark.skipif(missing is not None, reason=missing or "")


def lock_store(prefix: str, redis_url: str):
    from bot.rasa_ext.lock_store import AtomicRedisLockStore

    parts = urlsplit(redis_url)
    return AtomicRedisLockStore(
        host=parts.hostname,
        port=parts.port or 6379,
        db=int((parts.path or "/0").strip("/") or 0),
        password=parts.password,
        key_prefix=prefix,
    )


@pytest.fixture(scope="module")
def cluster(trained_model: Path, tmp_path_factory):
    # --debug: Rasa then logs every user message, which lets the test check that none is unmasked.
    cluster = Cluster(
        trained_model,
        tmp_path_factory.mktemp("cluster"),
        os.environ[POSTGRES_URL_ENV],
        os.environ[REDIS_URL_ENV],
        instances=2,
        action_instances=2,
        rasa_args="--debug",
    )
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@stack
def test_turns_alternating_between_instances_are_one_conversation(cluster):
    user = f"cluster-{uuid.uuid4().hex[:8]}"
    script = [  # (utterance, what the answer must contain)
        ("가로등이 고장났어요", "위치를 알려 주세요"),
        ("일산동구 백석동 흰돌마을 5단지 앞", "어떤 상황인지"),
        ("가로등이 밤새 깜빡이다가 꺼졌어요", "개인정보"),
        ("동의해요", "휴대전화"),
        (PHONE, MASKED_PHONE),
        ("네 접수해 주세요", "접수"),
    ]
    answers = []
    for turn, (utterance, expected) in enumerate(script):
        answer = cluster.kakao(user, utterance, instance=turn % 2)  # 0, 1, 0, 1, ...
        assert expected in answer, (turn, utterance, answer)
        answers.append(answer)
    number = TICKET_NUMBER.search(answers[-1]).group(0)

    # Both instances read the same tracker, the form is over and its slots were cleared.
    trackers = [cluster.tracker(user, instance) for instance in (0, 1)]
    assert trackers[0]["events"] == trackers[1]["events"]
    assert not trackers[0]["active_loop"].get("name") and trackers[0]["slots"]["location"] is None

    engine = create_engine(cluster.database_url, future=True)
    try:
        with engine.connect() as connection:
            ticket = connection.execute(select(Ticket).where(Ticket.number == number)).one()
    finally:
        engine.dispose()
    assert ticket.sender_id == user and ticket.consent_given
    assert ticket.contact_phone != PHONE and data_cipher().decrypt(ticket.contact_phone) == PHONE  # encrypted
    assert ticket.location_text == "일산동구 백석동 흰돌마을 5단지 앞"

    # PIPA: the stored conversation and every log of the cluster have the number masked.
    stored = cluster.stored_events(user)
    user_texts = [event["text"] for event in stored if event["event"] == "user"]
    assert MASKED_PHONE in user_texts and PHONE not in user_texts
    logs = cluster.logs()
    assert "rasa_events" in logs and "kakao.turn.start" in logs  # Rasa's debug log has user texts...
    assert MASKED_PHONE in logs and PHONE not in logs  # ...masked


@stack
def test_nginx_spreads_one_conversation_over_both_instances(cluster):
    user = f"cluster-lb-{uuid.uuid4().hex[:8]}"
    upstreams = []
    for utterance, expected in (
        ("가로등이 고장났어요", "위치"),
        ("일산서구 주엽동 강선마을 14단지 앞", "어떤 상황"),
        ("가로등이 꺼졌어요", "개인정보"),
        ("취소", "취소"),
    ):
        response = cluster.kakao_raw(user, utterance)
        assert response.status_code == 200
        upstreams.append(response.headers["X-Sotong-Upstream"])
        response = cluster.follow_pending(user, response)  # a busy machine: fetch a deferred answer
        assert expected in answer_text(response.json()), (utterance, response.json())
    assert len(set(upstreams)) == 2, upstreams
    assert cluster.kakao_raw(user, "x", url=f"{cluster.url}/model/parse").status_code == 404  # API not public


@stack
def test_nginx_forwards_only_the_kakao_skill_route(cluster):
    """From outside only the Kakao skill route and its health check answer: the REST channel,
    Rasa's HTTP API (even with its token) and Rasa's root are 404 at nginx, also when the path is
    dressed up; on an instance's loopback port the API still answers to the token, and the action
    servers behind their nginx port want their secret."""
    from bot.ops.warmup import rest_headers
    from bot.rasa_ext.action_server import SECRET_HEADER

    token = f"?token={cluster.rasa_token}"
    probes = [
        ("post", "/webhooks/rest/webhook"),
        ("post", "/model/parse"),
        ("post", f"/model/parse{token}"),
        ("get", "/conversations/x/tracker"),
        ("get", f"/conversations/x/tracker{token}"),
        ("get", f"/status{token}"),
        ("get", "/"),
        ("get", "/version"),
        ("post", "/webhooks/kakao/../rest/webhook"),
        ("post", "/webhooks/kakao/%2e%2e/rest/webhook"),
        ("post", "/webhooks/kakao/webhook/../../rest/webhook"),
        ("post", "/webhooks/rest/../kakao/x"),
        ("get", "/webhooks/"),
    ]
    for method, path in probes:
        response = requests.request(
            method,
            f"{cluster.url}{path}",
            headers=rest_headers(cluster.rest_token),
            json={"sender": "x", "message": "안녕하세요", "text": "안녕하세요"},
            timeout=10,
        )
        assert response.status_code == 404, (path, response.status_code)
    assert requests.get(f"{cluster.url}/webhooks/kakao/", timeout=10).status_code == 200
    assert "안녕" in cluster.kakao(f"cluster-door-{uuid.uuid4().hex[:8]}", "안녕하세요")

    instance = cluster.instance_url(0)
    assert requests.get(f"{instance}/conversations/x/tracker", timeout=10).status_code == 401
    assert requests.get(cluster.api_url("/conversations/x/tracker"), timeout=10).status_code == 200
    actions = f"http://127.0.0.1:{cluster.actions_port}"
    assert (
        requests.post(
            f"{actions}/webhook", json={"next_action": "action_check_complaint_status"}, timeout=10
        ).status_code
        == 401
    )
    assert requests.get(f"{actions}/actions", headers={SECRET_HEADER: cluster.action_secret}, timeout=10).ok


@stack
def test_a_turn_waits_for_the_conversation_lock_held_elsewhere(cluster):
    """While another process holds the conversation's lock in Redis, an instance does not start
    the citizen's turn; it runs as soon as the lock is released."""
    user = f"cluster-lock-{uuid.uuid4().hex[:8]}"
    store = lock_store(cluster.lock_prefix, cluster.redis_url)
    conversation = rasa_sender_id(user)  # REST senders are kept apart from Kakao users
    ticket = store.issue_ticket(conversation, lock_lifetime=60)
    assert not store.get_lock(conversation).is_locked(ticket)  # held by "another process": this test
    with ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        turn = pool.submit(cluster.rest, user, "안녕하세요", 1)
        time.sleep(2.5)
        assert not turn.done()
        assert cluster.stored_events(conversation) == []
        store.cleanup(conversation, ticket)
        answer = turn.result(timeout=30)
    assert "안녕하세요" in answer and time.monotonic() - started >= 2.5


@stack
def test_simultaneous_messages_at_two_instances_run_one_after_the_other(cluster):
    """One citizen's messages arriving at both instances at once: both turns run, one after the
    other, and the stored conversation is well formed (each user message followed by its actions
    up to action_listen, nothing interleaved, nothing duplicated)."""
    for attempt in range(3):
        user = f"cluster-race-{attempt}-{uuid.uuid4().hex[:8]}"
        barrier = threading.Barrier(2)

        def send(instance: int, utterance: str, barrier=barrier, user=user) -> str:
            barrier.wait()
            return cluster.rest(user, utterance, instance)

        with ThreadPoolExecutor(2) as pool:
            list(pool.map(send, (0, 1), ("가로등이 고장났어요", "대형 폐기물은 어떻게 버려요?")))
        events = cluster.stored_events(rasa_sender_id(user))
        kinds = [event["event"] for event in events]
        assert kinds.count("user") == 2
        turns: list[list[dict]] = []
        for event in events:
            if event["event"] == "user":
                turns.append([])
            elif turns:
                turns[-1].append(event)
        for turn in turns:
            assert turn and turn[-1].get("name") == "action_listen", [e.get("name") for e in turn]
            assert all(e["event"] != "user" for e in turn)
        timestamps = [event["timestamp"] for event in events]
        assert timestamps == sorted(timestamps)


@stack
def test_paged_and_late_answers_are_shared_by_every_instance_through_redis(cluster):
    """A "더 보기" or "답변 보기" tap may reach any instance: the answers live in Redis."""
    from bot.channels.kakao.continuations import RedisContinuationStore

    for index in range(cluster.instances):
        health = requests.get(f"{cluster.instance_url(index)}/webhooks/kakao/", timeout=10).json()
        assert health == {"status": "ok", "continuations": "redis"}
    # An answer of two pages kept the way the channel keeps it, by a process that is not serving.
    user = f"cluster-pages-{uuid.uuid4().hex[:8]}"
    pages = [
        {"outputs": [{"simpleText": {"text": "첫 쪽 안내"}}]},
        {"outputs": [{"simpleText": {"text": "둘째 쪽 안내"}}]},
    ]
    token = asyncio.run(RedisContinuationStore(os.environ[REDIS_URL_ENV], 600).put(user, pages))
    for index in range(cluster.instances):
        url = f"{cluster.instance_url(index)}/webhooks/kakao/webhook"
        tapped = cluster.kakao_raw(user, "더 보기 (1/2)", url, client_extra={"sotong_continuation": token, "page": 2})
        assert answer_text(tapped.json()) == "둘째 쪽 안내"
        someone_else = cluster.kakao_raw(
            "someone-else", "더 보기 (1/2)", url, client_extra={"sotong_continuation": token, "page": 2}
        )
        assert "둘째 쪽" not in answer_text(someone_else.json())


# ------------------------------------------------------------------------------ the lock store alone

redis_missing = (
    f"{REDIS_URL_ENV} is not set" if not os.environ.get(REDIS_URL_ENV) else redis_reachable(os.environ[REDIS_URL_ENV])
)


@pytest.mark.skipif(redis_missing is not None, reason=f"Redis unavailable: {redis_missing}")
def test_atomic_lock_store_never_lets_two_holders_in():
    """Six 'processes' (threads with their own store and event loop) take one conversation's lock
    90 times as fast as they can. Rasa's own RedisLockStore lets holders overlap and loses tickets
    under this load (seen: 16 overlaps and 3 LockErrors in 90); the atomic one never does."""
    prefix = f"locktest{uuid.uuid4().hex[:8]}"
    conversation = "citizen-1"
    inside, overlaps, done, errors = [0], [0], [0], []
    guard = threading.Lock()

    def process(turns: int) -> None:
        store = lock_store(prefix, os.environ[REDIS_URL_ENV])

        async def run() -> None:
            for _ in range(turns):
                try:
                    async with store.lock(conversation, lock_lifetime=10, wait_time_in_seconds=0.01):
                        with guard:
                            inside[0] += 1
                            overlaps[0] += inside[0] > 1
                        await asyncio.sleep(0.002)
                        with guard:
                            inside[0] -= 1
                        done[0] += 1
                except Exception as error:
                    errors.append(repr(error))

        asyncio.run(run())

    threads = [threading.Thread(target=process, args=(15,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert (done[0], overlaps[0], errors) == (90, 0, [])
    store = lock_store(prefix, os.environ[REDIS_URL_ENV])
    assert store.get_lock(conversation) is None  # released and deleted at the end


@pytest.mark.skipif(redis_missing is not None, reason=f"Redis unavailable: {redis_missing}")
def test_a_free_conversation_costs_two_redis_round_trips_and_stays_readable_by_rasa():
    """Every Redis command blocks the Rasa process's event loop: taking and releasing the lock of a
    conversation nobody else holds is one script call each. A queue written by the script is
    Rasa's TicketLock JSON, and one written by Rasa's own store is read by the script."""
    from rasa.core.lock import TicketLock

    store = lock_store(f"lockcount{uuid.uuid4().hex[:8]}", os.environ[REDIS_URL_ENV])
    store.update_lock("warm-up")  # loads the script once
    commands: list[str] = []
    execute = store.red.execute_command

    def counting(*args, **options):
        commands.append(str(args[0]))
        return execute(*args, **options)

    store.red.execute_command = counting

    async def turn() -> list[int]:
        async with store.lock("citizen", lock_lifetime=30) as held:
            waiting = store.issue_ticket("citizen", 30)  # a second message of the same citizen
            return [ticket.number for ticket in held.tickets] + [waiting]

    assert asyncio.run(turn()) == [0, 1]
    assert commands == ["EVALSHA", "EVALSHA", "EVALSHA"]  # issue, second ticket, release
    queue = store.get_lock("citizen")
    assert [ticket.number for ticket in queue.tickets] == [1] and not queue.is_locked(1)
    rasa_written = TicketLock("citizen", queue.tickets)
    rasa_written.issue_ticket(30)
    store.save_lock(rasa_written)
    assert store.issue_ticket("citizen", 30) == 3
    for number in (1, 2, 3):
        store.cleanup("citizen", number)
    assert store.get_lock("citizen") is None


@pytest.mark.skipif(redis_missing is not None, reason=f"Redis unavailable: {redis_missing}")
def test_atomic_lock_store_from_endpoint_config():
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import EndpointConfig

    parts = urlsplit(os.environ[REDIS_URL_ENV])
    config = EndpointConfig(
        url=parts.hostname,
        type="bot.rasa_ext.lock_store.AtomicRedisLockStore",
        port=str(parts.port or 6379),
        db=(parts.path or "/0").strip("/") or "0",
        password="",
        key_prefix="sotongcfg",
        poll_interval_seconds="0.05",
    )
    store = LockStore.create(config)
    assert type(store).__name__ == "AtomicRedisLockStore"
    assert store.key_prefix == "sotongcfg:lock:" and store.poll_interval_seconds == 0.05
    ticket = store.issue_ticket("c", 5)
    assert store.red.pttl(store.key_prefix + "c") > 5000  # an abandoned queue expires
    store.cleanup("c", ticket)
    assert store.get_lock("c") is None


# ------------------------------------------------------------------------------ Rasa speed-up


def test_action_results_are_validated_with_a_cached_validator():
    import jsonschema
    from rasa.core.actions.action import RemoteAction

    from bot.rasa_ext.speedups import install

    install()
    action = RemoteAction.__new__(RemoteAction)
    assert action._validate_action_result(
        {"events": [{"event": "slot", "name": "x", "value": 1}], "responses": [{"text": "hi"}]}
    )
    with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result({"events": [], "responses": "not a list"})
    started = time.perf_counter()
    for _ in range(200):
        action._validate_action_result({"events": [], "responses": []})
    assert (time.perf_counter() - started) / 200 < 0.005  # was ~19 ms per call (schema re-checked)


def test_endpoint_requests_share_one_kept_alive_session():
    """Every action call used to open (and close) its own connection; now one session per endpoint
    and event loop is reused, and what it sends is the same JSON."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from rasa.utils.endpoints import EndpointConfig

    from bot.rasa_ext.speedups import close_shared_sessions, install

    install()
    received, connections = [], set()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive

        def do_POST(self) -> None:  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            connections.add(self.client_address)
            body = b'{"events": [], "responses": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = EndpointConfig(f"http://127.0.0.1:{server.server_port}/webhook")
        payload = {
            "next_action": "action_x",
            "tracker": {
                "latest_message": {"text": "가로등이 고장났어요 😢"},
                "events": [{"timestamp": 1764190000.123456}],
            },
        }

        async def calls() -> list:
            try:
                return [await endpoint.request(json=payload, method="post") for _ in range(5)]
            finally:
                await close_shared_sessions()

        answers = asyncio.run(calls())
    finally:
        server.shutdown()
        server.server_close()
    assert answers == [{"events": [], "responses": []}] * 5
    assert received == [payload] * 5
    assert len(connections) == 1  # one connection (client port) for the five calls
