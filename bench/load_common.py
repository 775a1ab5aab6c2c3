"""What the benchmarks share: loopback-only targets, Kakao-shaped requests, latency figures, the
newest model, the JSON report."""

from __future__ import annotations

import ipaddress
import json
import socket
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bot.channels.kakao.settings import KAKAO_TIME_LIMIT_SECONDS
from tests.cluster import kakao_payload  # the SkillPayload shape the tests send too

__all__ = [
    "KAKAO_TIME_LIMIT_SECONDS",
    "Tally",
    "kakao_payload",
    "latency_figures_ms",
    "newest_model",
    "percentile",
    "post_json",
    "require_loopback",
    "write_report",
]

ROOT = Path(__file__).resolve().parents[1]


def newest_model(hint: str = "run make train, or pass --model") -> Path:
    """The most recently written models/*.tar.gz; exits naming `hint` when there is none."""
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda path: path.stat().st_mtime)
    if not models:
        raise SystemExit(f"no model in models/: {hint}")
    return models[-1]


def write_report(report: dict[str, Any], path: Path | None) -> None:
    """A bench's whole report as JSON at `path` (its folder made), when a path is given."""
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")


def require_loopback(url: str) -> None:
    """Refuses any target that is not on this machine's loopback interface."""
    host = urlsplit(url).hostname
    if not host:
        raise SystemExit(f"not a URL: {url}")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as error:
        raise SystemExit(f"cannot resolve {host}: {error}") from None
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise SystemExit(f"refusing to load {host}: only loopback targets are allowed")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of ``values``; NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def latency_figures_ms(values: list[float]) -> dict[str, float]:
    """mean, p50, p95, p99 and max of answer times in seconds, in milliseconds."""
    nan = float("nan")
    return {
        "mean_ms": statistics.fmean(values) * 1000 if values else nan,
        "p50_ms": percentile(values, 50) * 1000,
        "p95_ms": percentile(values, 95) * 1000,
        "p99_ms": percentile(values, 99) * 1000,
        "max_ms": max(values) * 1000 if values else nan,
    }


@dataclass
class Tally:
    """What one phase of load got back: requests, failures (with samples), answer times."""

    requests: int = 0
    errors: int = 0
    deferred: int = 0
    over_time_limit: int = 0
    wall_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    def failed(self, reason: str) -> None:
        self.errors += 1
        self.error_samples.append(reason[:200])

    def answered(self, seconds: float) -> None:
        self.latencies.append(seconds)
        self.over_time_limit += seconds > KAKAO_TIME_LIMIT_SECONDS

    def merge(self, other: Tally) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.deferred += other.deferred
        self.over_time_limit += other.over_time_limit
        self.wall_seconds += other.wall_seconds
        self.latencies += other.latencies
        self.error_samples += other.error_samples

    def figures(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "deferred": self.deferred,
            "answers_over_5s": self.over_time_limit,
            "throughput_rps": len(self.latencies) / self.wall_seconds if self.wall_seconds else 0.0,
            **latency_figures_ms(self.latencies),
            "error_samples": self.error_samples[:5],
        }


async def post_json(
    session: aiohttp.ClientSession, url: str, body: Any, headers: dict[str, str], tally: Tally
) -> Any | None:
    """POSTs one request and counts it in ``tally``; the JSON answer, or None when it failed
    (the simulated user goes on)."""
    tally.requests += 1
    started = time.perf_counter()
    try:
        async with session.post(url, json=body, headers=headers) as response:
            payload = await response.json(content_type=None)
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}: {str(payload)[:120]}")
    except Exception as error:
        tally.failed(f"{type(error).__name__}: {error}")
        return None
    tally.answered(time.perf_counter() - started)
    return payload
