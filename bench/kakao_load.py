"""Load test of the Kakao channel against Rasa's REST channel, on a running Sotong server.

    python bench/kakao_load.py --secret "$KAKAO_SKILL_SECRET"            # 50 users × 10 messages
    python bench/kakao_load.py --users 20 --messages 5 --json-out reports/kakao_load.json

N simulated users talk at the same time, each sending its messages one after another (a user
waits for the answer before typing the next one, as a person does). By default the next message
follows the answer at once (``--think-seconds 0``): the hardest case, where 50 users keep 50
requests in flight all the time. ``--think-seconds T`` lets each user read and type for a random
time between 0.5·T and 1.5·T before the next message, as people chatting do. The same load runs over
``/webhooks/rest/webhook`` and over ``/webhooks/kakao/webhook`` in one run, after a short warm-up,
in rounds ordered A B B A with fresh sender ids each (so server drift hits both channels alike). Reported per channel: throughput, latency p50/p95/p99/max,
errors, answers later than 5 s, and for Kakao the answers deferred by the 5-second guard
(callback acknowledgement or "답변 보기"); then the Kakao/REST ratios against the targets
(overhead ≤ 10 %, no answer later than 5 s, p99 < 1.5 s at 50 users).

Traffic goes to loopback addresses only, and every phase is bounded in requests and seconds.
"""

import argparse
import asyncio
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.load_common import Tally, kakao_payload, post_json, require_loopback, write_report  # noqa: E402
from bot.ops.warmup import REST_TOKEN_ENV, rest_headers  # noqa: E402
from bot.settings import env_str, env_url  # noqa: E402

TARGET_OVERHEAD = 0.10
TARGET_P99_SECONDS = 1.5
DEFAULT_UTTERANCES = [
    "안녕하세요",
    "대형 폐기물은 어떻게 버려요?",
    "여권 재발급하려면 뭐가 필요해요?",
    "가로등이 고장났어요",
    "주민참여예산이 뭐예요?",
    "불법 주차 신고하고 싶어요",
    "도서관 운영 시간 알려 주세요",
    "고마워요",
]


@dataclass
class ChannelResult(Tally):
    channel: str = ""

    def summary(self) -> dict[str, Any]:
        return {"channel": self.channel, **self.figures()}


def is_deferred(body: Any) -> bool:
    """Whether a Kakao answer is the guard's stand-in rather than the turn's answer."""
    if not isinstance(body, dict):
        return False
    if body.get("useCallback"):
        return True
    replies = (body.get("template") or {}).get("quickReplies") or []
    return any("sotong_continuation" in (r.get("extra") or {}) and r.get("extra", {}).get("page") == 1 for r in replies)


class LoadRun:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.base = args.base_url.rstrip("/")
        self.kakao_url = f"{self.base}/webhooks/kakao/webhook"
        self.rest_url = args.rest_url or f"{self.base}/webhooks/rest/webhook"
        self.run_id = f"{int(time.time())}-{os.getpid()}"
        self.utterances = args.utterance_list

    async def _request(
        self, session: aiohttp.ClientSession, channel: str, user_id: str, text: str, result: ChannelResult
    ) -> None:
        if channel == "kakao":
            url, body = self.kakao_url, kakao_payload(text, user_id)
            headers = {self.args.secret_header: self.args.secret}
        else:
            url, body, headers = self.rest_url, {"sender": user_id, "message": text}, rest_headers(self.args.rest_token)
        payload = await post_json(session, url, body, headers, result)
        if payload is not None and channel == "kakao" and is_deferred(payload):
            result.deferred += 1

    async def _user(
        self,
        session: aiohttp.ClientSession,
        channel: str,
        index: int,
        phase: str,
        result: ChannelResult,
        deadline: float,
    ) -> None:
        user_id = f"bench-{phase}-{channel}-{self.run_id}-{index}"
        rng = random.Random(f"{phase}-{channel}-{index}")
        for turn in range(self.args.messages):
            if turn and self.args.think_seconds:
                await asyncio.sleep(self.args.think_seconds * rng.uniform(0.5, 1.5))
            if time.perf_counter() > deadline:
                return
            text = self.utterances[(index + turn) % len(self.utterances)]
            await self._request(session, channel, user_id, text, result)

    async def phase(self, channel: str, users: int, phase: str = "load") -> ChannelResult:
        result = ChannelResult(channel=channel)
        timeout = aiohttp.ClientTimeout(total=self.args.request_timeout)
        connector = aiohttp.TCPConnector(limit=users)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            deadline = time.perf_counter() + self.args.max_seconds
            started = time.perf_counter()
            await asyncio.gather(*(self._user(session, channel, i, phase, result, deadline) for i in range(users)))
            result.wall_seconds = time.perf_counter() - started
        return result

    async def run(self) -> dict[str, Any]:
        for channel in ("rest", "kakao"):  # warm-up: model caches, connections
            await self.phase(channel, users=min(5, self.args.users), phase="warmup")
        # Rounds in A B B A order, fresh senders each: slow drift of the server (growing
        # stores, caches) falls on both channels alike.
        first, second = self.args.order
        results = {"rest": ChannelResult(channel="rest"), "kakao": ChannelResult(channel="kakao")}
        for round_index in range(self.args.rounds):
            order = (first, second) if round_index % 2 == 0 else (second, first)
            for channel in order:
                results[channel].merge(await self.phase(channel, self.args.users, phase=f"r{round_index}"))
        return compare(results["rest"], results["kakao"], self.args)


def compare(rest: ChannelResult, kakao: ChannelResult, args: argparse.Namespace) -> dict[str, Any]:
    r, k = rest.summary(), kakao.summary()
    overhead = (k["mean_ms"] - r["mean_ms"]) / r["mean_ms"] if r["mean_ms"] else float("nan")
    return {
        "users": args.users,
        "think_seconds": args.think_seconds,
        "messages_per_user": args.messages,
        "rounds": args.rounds,
        "base_url": args.base_url,
        "rest": r,
        "kakao": k,
        "kakao_over_rest": {
            "mean_latency_ratio": k["mean_ms"] / r["mean_ms"] if r["mean_ms"] else float("nan"),
            "p50_ratio": k["p50_ms"] / r["p50_ms"] if r["p50_ms"] else float("nan"),
            "p99_ratio": k["p99_ms"] / r["p99_ms"] if r["p99_ms"] else float("nan"),
            "throughput_ratio": k["throughput_rps"] / r["throughput_rps"] if r["throughput_rps"] else float("nan"),
            "overhead": overhead,
        },
        "targets": {
            f"kakao overhead <= {TARGET_OVERHEAD:.0%} of REST": overhead <= TARGET_OVERHEAD,
            "no Kakao answer later than 5 s": k["answers_over_5s"] == 0 and k["errors"] == 0,
            f"Kakao p99 < {TARGET_P99_SECONDS} s": k["p99_ms"] < TARGET_P99_SECONDS * 1000,
        },
    }


def print_report(report: dict[str, Any]) -> None:
    think = f", {report['think_seconds']} s mean think time" if report["think_seconds"] else ", no think time"
    print(
        f"\n{report['users']} concurrent users × {report['messages_per_user']} messages × "
        f"{report['rounds']} rounds per channel{think} → {report['base_url']}\n"
    )
    columns = [
        "requests",
        "errors",
        "deferred",
        "answers_over_5s",
        "throughput_rps",
        "mean_ms",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "max_ms",
    ]
    print(f"{'':16}" + "".join(f"{c:>16}" for c in ("rest", "kakao")))
    for column in columns:
        cells = []
        for channel in ("rest", "kakao"):
            value = report[channel][column]
            cells.append(f"{value:>16.1f}" if isinstance(value, float) else f"{value:>16}")
        print(f"{column:16}" + "".join(cells))
    ratios = report["kakao_over_rest"]
    print("\nKakao / REST: " + ", ".join(f"{k} {v:.3f}" for k, v in ratios.items()))
    for target, met in report["targets"].items():
        print(f"  [{'ok' if met else 'MISSED'}] {target}")
    for channel in ("rest", "kakao"):
        for sample in report[channel]["error_samples"]:
            print(f"  {channel} error: {sample}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", default=env_url("SOTONG_RASA_URL", "http://127.0.0.1:5005"))
    parser.add_argument("--secret", default=env_str("KAKAO_SKILL_SECRET"))
    parser.add_argument("--secret-header", default=env_str("KAKAO_SECRET_HEADER", "X-Sotong-Secret"))
    parser.add_argument(
        "--rest-token", default=env_str(REST_TOKEN_ENV), help=f"the REST channel's token (env {REST_TOKEN_ENV})"
    )
    parser.add_argument(
        "--rest-url",
        help="REST webhook (default: on --base-url; under make run-prod only a "
        "Rasa instance has it, e.g. http://127.0.0.1:5011/webhooks/rest/webhook)",
    )
    parser.add_argument("--users", type=int, default=50, help="concurrent simulated users (max 500)")
    parser.add_argument("--messages", type=int, default=10, help="messages per user (max 200)")
    parser.add_argument(
        "--think-seconds",
        type=float,
        default=0.0,
        help="mean pause between an answer and the user's next message (0: none)",
    )
    parser.add_argument("--max-seconds", type=float, default=120.0, help="time cap per phase")
    parser.add_argument("--request-timeout", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=2, help="rounds per channel, in A B B A order (max 10)")
    parser.add_argument("--order", default="rest,kakao", help="order in the first round, e.g. kakao,rest")
    parser.add_argument("--utterances", type=Path, help="file with one utterance per line")
    parser.add_argument("--json-out", type=Path, help="also write the report as JSON")
    args = parser.parse_args(argv)
    if not args.secret:
        parser.error("the Kakao skill secret is needed: --secret or KAKAO_SKILL_SECRET")
    if (
        not 1 <= args.users <= 500
        or not 1 <= args.messages <= 200
        or args.max_seconds <= 0
        or not 1 <= args.rounds <= 10
        or not 0 <= args.think_seconds <= 60
    ):
        parser.error(
            "--users must be 1-500, --messages 1-200, --rounds 1-10, --max-seconds positive, --think-seconds 0-60"
        )
    args.order = [c.strip() for c in args.order.split(",")]
    if sorted(args.order) != ["kakao", "rest"]:
        parser.error("--order must name rest and kakao once each")
    args.utterance_list = DEFAULT_UTTERANCES
    if args.utterances:
        args.utterance_list = [
            line.strip() for line in args.utterances.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    require_loopback(args.base_url)
    if args.rest_url:
        require_loopback(args.rest_url)
    report = asyncio.run(LoadRun(args).run())
    print_report(report)
    write_report(report, args.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
