"""What the load benchmarks share: loopback-only targets, Kakao-shaped requests, latency figures."""
from __future__ import annotations

import ipaddress
import socket
import statistics
from typing import Dict, List
from urllib.parse import urlsplit

from tests.cluster import kakao_payload  # the SkillPayload shape the tests send too

__all__ = ["KAKAO_TIME_LIMIT_SECONDS", "kakao_payload", "latency_figures_ms", "percentile", "require_loopback"]

KAKAO_TIME_LIMIT_SECONDS = 5.0


def require_loopback(url: str) -> None:
    """Refuses any target that is not on this machine's loopback interface."""
    host = urlsplit(url).hostname
    if not host:
        raise SystemExit(f"not a URL: {url}")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as error:
        raise SystemExit(f"cannot resolve {host}: {error}")
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise SystemExit(f"refusing to load {host}: only loopback targets are allowed")


def percentile(values: List[float], q: float) -> float:
    """The q-th percentile (nearest rank) of ``values``; NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def latency_figures_ms(values: List[float]) -> Dict[str, float]:
    """mean, p50, p95, p99 and max of answer times in seconds, in milliseconds."""
    nan = float("nan")
    return {"mean_ms": statistics.fmean(values) * 1000 if values else nan,
            "p50_ms": percentile(values, 50) * 1000, "p95_ms": percentile(values, 95) * 1000,
            "p99_ms": percentile(values, 99) * 1000, "max_ms": max(values) * 1000 if values else nan}
