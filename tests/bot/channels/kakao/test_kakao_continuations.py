"""The continuation stores behind "더 보기" and "답변 보기": in memory, and in Redis (real server
from SOTONG_TEST_REDIS_URL, which .ci/run sets) so that every Rasa process behind a load balancer
sees the same answers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bot.channels.kakao.continuations import (
    LookupStatus,
    MemoryContinuationStore,
    RedisContinuationStore,
    continuation_store,
)
from bot.channels.kakao.settings import KakaoSettingsError
from tests.cluster import redis_url_or_skip
from tests.kakao_helpers import channel_settings, free_port

PAGES = [{"simpleText": {"text": "첫 쪽"}}, {"simpleText": {"text": "둘째 쪽"}}]


def redis_store(ttl_seconds: float = 600.0) -> RedisContinuationStore:
    store = RedisContinuationStore(redis_url_or_skip(), ttl_seconds)
    store.key_prefix = f"sotong-test:{uuid.uuid4().hex[:8]}:"
    return store


STORES = {
    "memory": lambda ttl=600.0: MemoryContinuationStore(ttl),
    "redis": redis_store,
}


def run(coroutine_function: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(coroutine_function())


@pytest.mark.parametrize("kind", sorted(STORES))
def test_a_stored_answer_is_found_by_its_owner_only(kind: str) -> None:
    store = STORES[kind]()

    async def scenario() -> None:
        token = await store.put("owner", PAGES)
        found = await store.get("owner", token)
        assert found.status is LookupStatus.READY and found.templates == PAGES
        assert (await store.get("someone-else", token)).status is LookupStatus.MISSING
        assert (await store.get("owner", "NoSuchToken123")).status is LookupStatus.MISSING

    run(scenario)


@pytest.mark.parametrize("kind", sorted(STORES))
def test_a_reserved_answer_is_pending_until_resolved_and_a_lookup_waits_for_it(kind: str) -> None:
    store = STORES[kind]()

    async def scenario() -> None:
        token = await store.open("owner")
        assert (await store.get("owner", token)).status is LookupStatus.PENDING
        await store.resolve("someone-else", token, [{"simpleText": {"text": "남의 답"}}])  # ignored
        assert (await store.get("owner", token)).status is LookupStatus.PENDING

        async def finish_later() -> None:
            await asyncio.sleep(0.3)
            await store.resolve("owner", token, PAGES)

        loop = asyncio.get_running_loop()
        started = loop.time()
        finisher = asyncio.ensure_future(finish_later())
        found = await store.get("owner", token, wait_seconds=2.0)
        assert found.status is LookupStatus.READY and found.templates == PAGES
        assert 0.25 < loop.time() - started < 1.5  # waited for the answer, not for the whole 2 s
        await finisher

        other = await store.open("owner")
        started = loop.time()
        assert (await store.get("owner", other, wait_seconds=0.3)).status is LookupStatus.PENDING
        assert loop.time() - started >= 0.29

    run(scenario)


@pytest.mark.parametrize("kind", sorted(STORES))
def test_answers_expire(kind: str) -> None:
    store = STORES[kind](1.0)

    async def scenario() -> None:
        token = await store.put("owner", PAGES)
        await asyncio.sleep(1.3)
        assert (await store.get("owner", token)).status is LookupStatus.MISSING
        reserved = await store.open("owner")
        await asyncio.sleep(1.3)
        await store.resolve("owner", reserved, PAGES)  # too late: not revived
        assert (await store.get("owner", reserved)).status is LookupStatus.MISSING

    run(scenario)


def test_two_redis_stores_share_answers_like_two_rasa_processes() -> None:
    first = redis_store()
    second = RedisContinuationStore(first.url, 600.0)
    second.key_prefix = first.key_prefix

    async def scenario() -> None:
        token = await first.put("owner", PAGES)
        assert (await second.get("owner", token)).templates == PAGES
        reserved = await first.open("owner")
        await second.resolve("owner", reserved, PAGES)
        assert (await first.get("owner", reserved)).templates == PAGES

    run(scenario)


def test_redis_down_keeps_answers_in_this_process_and_asks_to_tap_again() -> None:
    store = RedisContinuationStore(f"redis://127.0.0.1:{free_port()}/0", 600.0, timeout_seconds=0.5)

    async def scenario() -> None:
        token = await store.put("owner", PAGES)  # nothing listens on that port
        assert (await store.get("owner", token)).templates == PAGES
        reserved = await store.open("owner")
        await store.resolve("owner", reserved, PAGES)
        assert (await store.get("owner", reserved)).templates == PAGES
        # A token this process does not hold cannot be looked up now: "tap again", not "expired".
        assert (await store.get("owner", "HeldElsewhere123")).status is LookupStatus.PENDING

    run(scenario)


def test_the_store_is_chosen_by_url_and_environment(monkeypatch: Any) -> None:
    assert isinstance(continuation_store("", 60), MemoryContinuationStore)
    assert isinstance(continuation_store("redis://127.0.0.1:6379/1", 60), RedisContinuationStore)
    monkeypatch.setenv("SOTONG_KAKAO_CONTINUATIONS_URL", "redis://127.0.0.1:6379/3")
    from bot.channels.kakao.settings import KakaoChannelSettings

    settings = KakaoChannelSettings.from_credentials({"secret": "s"})
    assert settings.continuation_store_url == "redis://127.0.0.1:6379/3"
    explicit = KakaoChannelSettings.from_credentials({"secret": "s", "continuation_store_url": ""})
    assert explicit.continuation_store_url == ""
    with pytest.raises(KakaoSettingsError, match="continuation_store_url"):
        channel_settings(continuation_store_url="http://example.com/")
    with pytest.raises(KakaoSettingsError, match="max_concurrent_turns"):
        channel_settings(max_concurrent_turns=-1)
