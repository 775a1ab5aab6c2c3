"""Simultaneous long Kakao messages (issue 13, finding 6): does the 5-second guard still answer?

    python bench/long_messages.py                                   # starts its own stack, newest model
    python bench/long_messages.py --model models/x.tar.gz --messages 12 --chars 2000
    python bench/long_messages.py --base-url http://127.0.0.1:5005 --secret "$KAKAO_SKILL_SECRET"

N Kakao skill requests of C characters each (Kakao's permitted maximum is 2,000) are sent at the
same moment, from N different users, in two rounds: text made of the training corpus with its
spaces ("spaced") and the same text without spaces ("nospace", the hardest input for a
morphological analyzer). Meanwhile the channel's health check (GET /webhooks/kakao/) is polled,
which answers only when the server's event loop is free. Reported per round: every request's
latency, how many were deferred by the guard, how many took longer than 5 s, and the health
check's worst wait.

Without --base-url the bench starts the Rasa and action servers itself (tests/stack.py, as the
tests do) on free loopback ports and stops them afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.kakao_load import is_deferred  # noqa: E402
from bench.load_common import (  # noqa: E402
    KAKAO_TIME_LIMIT_SECONDS,
    Tally,
    kakao_payload,
    newest_model,
    post_json,
    require_loopback,
    write_report,
)


def long_texts(length: int, count: int) -> dict[str, list[str]]:
    """`count` texts of `length` characters made of the training corpus: with spaces, and without."""
    from bot.trainer.nlu_data import load_nlu

    joined = " ".join(m.get("text") for m in load_nlu().intent_examples)
    spaced = [joined[i * length : (i + 1) * length] for i in range(count)]
    squashed = "".join(joined.split())
    nospace = [squashed[i * length : (i + 1) * length] for i in range(count)]
    return {"spaced": spaced, "nospace": nospace}


async def _health_poller(session: aiohttp.ClientSession, url: str, stop: asyncio.Event, waits: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        try:
            async with session.get(url) as response:
                await response.read()
        except Exception:
            pass
        waits.append(time.perf_counter() - started)
        await asyncio.sleep(0.2)


async def burst(base_url: str, secret: str, secret_header: str, texts: list[str], label: str) -> dict[str, Any]:
    """Sends every text at once from its own user; the health check is polled meanwhile."""
    tally = Tally()
    waits: list[float] = []
    kakao_url = f"{base_url}/webhooks/kakao/webhook"
    answers: list[Any | None] = []
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as session:
        stop = asyncio.Event()
        poller = asyncio.ensure_future(_health_poller(session, f"{base_url}/webhooks/kakao/", stop, waits))
        started = time.perf_counter()
        stamp = int(time.time() * 1000)
        answers = await asyncio.gather(
            *(
                post_json(
                    session,
                    kakao_url,
                    kakao_payload(text, f"bench-long-{label}-{stamp}-{i}"),
                    {secret_header: secret},
                    tally,
                )
                for i, text in enumerate(texts)
            )
        )
        tally.wall_seconds = time.perf_counter() - started
        stop.set()
        await poller
    tally.deferred = sum(1 for a in answers if is_deferred(a))
    figures = tally.figures()
    return {
        "round": label,
        "messages": len(texts),
        "chars": len(texts[0]) if texts else 0,
        "latencies_s": [round(s, 2) for s in sorted(tally.latencies)],
        "over_5s": figures["answers_over_5s"],
        "deferred": figures["deferred"],
        "errors": figures["errors"],
        "max_s": round(figures["max_ms"] / 1000, 2),
        "p50_s": round(figures["p50_ms"] / 1000, 2),
        "health_check_worst_s": round(max(waits), 2) if waits else None,
        "error_samples": figures["error_samples"],
    }


async def run(
    base_url: str, secret: str, secret_header: str, messages: int, chars: int, shapes: list[str]
) -> list[dict[str, Any]]:
    texts = long_texts(chars, messages)
    # one short turn first, so the rounds do not pay for loading anything
    await burst(base_url, secret, secret_header, ["안녕하세요"], "warmup")
    return [await burst(base_url, secret, secret_header, texts[shape], shape) for shape in shapes]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", help="a running server (default: start one with --model)")
    parser.add_argument("--secret", help="the Kakao skill secret of --base-url")
    parser.add_argument("--secret-header", default="X-Sotong-Secret")
    parser.add_argument("--model", type=Path, help="model for the bench's own stack (default: newest in models/)")
    parser.add_argument("--messages", type=int, default=12)
    parser.add_argument("--chars", type=int, default=2000)
    parser.add_argument("--shapes", default="spaced,nospace")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    if not 1 <= args.messages <= 100 or not 1 <= args.chars <= 2000:
        parser.error("--messages must be 1-100 and --chars 1-2000 (Kakao's limit)")
    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    stack = None
    if args.base_url:
        if not args.secret:
            parser.error("--secret is needed with --base-url")
        require_loopback(args.base_url)
        base_url, secret = args.base_url.rstrip("/"), args.secret
    else:
        from bot.privacy.encryption import KEY_ENV, new_key
        from tests.stack import RasaStack

        os.environ.setdefault(KEY_ENV, new_key())  # contact numbers at rest: a key for this run
        stack = RasaStack(
            model=args.model or newest_model(), workdir=Path(tempfile.mkdtemp(prefix="sotong-long-"))
        ).start()
        base_url, secret = stack.rasa_url, stack.kakao_secret
    try:
        report = asyncio.run(run(base_url, secret, args.secret_header, args.messages, args.chars, shapes))
    finally:
        if stack is not None:
            stack.stop()
    print(f"\n{args.messages} simultaneous Kakao messages of {args.chars} characters -> {base_url}")
    for r in report:
        print(
            f"  {r['round']:8} p50 {r['p50_s']} s, max {r['max_s']} s, past {KAKAO_TIME_LIMIT_SECONDS:g} s: "
            f"{r['over_5s']}, deferred by the guard: {r['deferred']}, errors: {r['errors']}, "
            f"health check worst wait {r['health_check_worst_s']} s"
        )
        print(f"           latencies (s): {r['latencies_s']}")
        for sample in r["error_samples"]:
            print(f"           error: {sample}")
    write_report(report, args.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
