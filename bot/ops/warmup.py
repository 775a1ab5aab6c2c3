"""Waits until Sotong's processes answer, and warms up each Rasa process before citizens reach it.

    python -m bot.ops.warmup --ready http://127.0.0.1:5061/health --rasa http://127.0.0.1:5011 ...

A freshly started `rasa run` spends its first turn starting the Korean analyzer's JVM and tracing
the TensorFlow graphs of DIET, the ResponseSelector and TED: about 4 s for the first message and
1-1.5 s for the first dialogue prediction on this 2-core machine, which is past Kakao's 5-second
limit together with the rest of the turn. Each `--rasa` URL therefore gets one NLU parse per
warm-up text (Rasa's HTTP API, enabled on loopback only, with the token in SOTONG_RASA_TOKEN) and
one whole turn over the REST channel (dialogue policies, tracker store, action server; header
X-Sotong-Rest-Token from SOTONG_REST_TOKEN) in a conversation of its own (`sotong-warmup`),
before the script reports the cluster ready. A Rasa process restarted by its supervisor is warmed
up the same way as soon as it answers.

`api_url` and `rest_headers` are how every client of ours (tests, benchmarks) passes those
credentials.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from urllib.parse import urlencode

from bot.settings import env_str

WARMUP_TEXTS = ("안녕하세요", "가로등이 고장났어요", "대형 폐기물은 어떻게 버려요?")
WARMUP_SENDER = "sotong-warmup"
RASA_TOKEN_ENV = "SOTONG_RASA_TOKEN"
REST_TOKEN_ENV = "SOTONG_REST_TOKEN"
REST_TOKEN_HEADER = "X-Sotong-Rest-Token"


def api_url(url: str, token: str | None = None) -> str:
    """`url` of Rasa's HTTP API with its auth token (Rasa's scheme: `?token=`; default
    SOTONG_RASA_TOKEN)."""
    token = env_str(RASA_TOKEN_ENV) if token is None else token
    if not token:
        return url
    return f"{url}{'&' if '?' in url else '?'}{urlencode({'token': token})}"


def rest_headers(token: str | None = None) -> dict[str, str]:
    """The REST channel's credential header (default SOTONG_REST_TOKEN)."""
    token = env_str(REST_TOKEN_ENV) if token is None else token
    return {REST_TOKEN_HEADER: token} if token else {}


def wait_until_ready(url: str, deadline: float) -> None:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{url} did not answer in time; see the logs")
        time.sleep(0.5)


def _post(url: str, body: dict, headers: dict[str, str] | None = None, timeout: float = 60) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        response.read()


def warm_up(rasa_url: str, api_token: str | None = None, rest_token: str | None = None) -> float:
    """One parse per warm-up text and one whole turn; returns the seconds it took."""
    started = time.monotonic()
    for text in WARMUP_TEXTS:
        _post(api_url(f"{rasa_url}/model/parse", api_token), {"text": text})
    _post(
        f"{rasa_url}/webhooks/rest/webhook",
        {"sender": WARMUP_SENDER, "message": WARMUP_TEXTS[0]},
        rest_headers(rest_token),
    )
    return time.monotonic() - started


def main(argv: list[str] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.ops.warmup", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ready", action="append", default=[], help="URL that must answer 200")
    parser.add_argument("--rasa", action="append", default=[], help="base URL of a Rasa process to warm up")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.timeout
    for url in args.ready + [f"{rasa}/" for rasa in args.rasa]:
        wait_until_ready(url, deadline)
    for rasa in args.rasa:
        try:
            seconds = warm_up(rasa)
            print(f"warmed up {rasa} in {seconds:.1f} s", flush=True)
        except Exception as error:  # a cold instance is slow, not broken
            print(f"warm-up of {rasa} failed: {error}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
