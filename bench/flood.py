"""Flood scenario (issue 16): many citizens report the same flooded underpass within a minute.

    python bench/flood.py                                   # own stack, the test model (tests/stack.py)
    python bench/flood.py --citizens 200 --seconds 60
    python bench/flood.py --base-url http://127.0.0.1:5005 --secret "$KAKAO_SKILL_SECRET" \
                          --database-url sqlite:///var/sotong.db

N citizens (different Kakao users) each send one report of the same underpass in their own words
(place and kind in the message), at arrival times spread evenly over S seconds, to the Kakao skill
endpoint of a running server (loopback only). Measured:
- every citizen answered within Kakao's 5 s (deferred answers counted apart) and told the incident
  number;
- one incident in the database, with N reports;
- the outbox: one alert per recipient plus N-1 updates each, then delivered by the dispatcher to a
  local HTTP receiver standing for every agency: what each agency received, by Idempotency-Key
  (one alert, N-1 updates, nothing missing, nothing twice).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.kakao_load import is_deferred  # noqa: E402
from bench.load_common import Tally, kakao_payload, post_json, require_loopback  # noqa: E402

NUMBER = re.compile(r"GY-\d{4}-\d{6}")
PLACES = ("일산동구 백석동 백석지하차도", "백석동 백석지하차도", "일산동구 백석1동 지하차도", "백석동 지하차도 입구")
WORDS = (
    "에 물이 차서 차가 갇혔어요",
    " 침수됐어요 차들이 못 나가요",
    "에 물이 차올라요 사람 있어요",
    " 물에 잠겼어요 빨리 와 주세요",
)


def report_text(index: int) -> str:
    return PLACES[index % len(PLACES)] + WORDS[(index // len(PLACES)) % len(WORDS)]


def answer_text(body: Any) -> str:
    outputs = (body or {}).get("template", {}).get("outputs", []) if isinstance(body, dict) else []
    return " ".join(o.get("simpleText", {}).get("text", "") for o in outputs)


async def citizens(base_url: str, secret: str, count: int, seconds: float) -> dict[str, Any]:
    tally = Tally()
    url = f"{base_url}/webhooks/kakao/webhook"
    stamp = int(time.time())
    answers: list[Any | None] = [None] * count
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=120), connector=aiohttp.TCPConnector(limit=0)
    ) as session:
        started = time.perf_counter()

        async def one(index: int) -> None:
            await asyncio.sleep(seconds * index / count)
            answers[index] = await post_json(
                session,
                url,
                kakao_payload(report_text(index), f"flood-{stamp}-{index}"),
                {"X-Sotong-Secret": secret},
                tally,
            )

        await asyncio.gather(*(one(i) for i in range(count)))
        tally.wall_seconds = time.perf_counter() - started
    tally.deferred = sum(1 for a in answers if is_deferred(a))
    numbers = Counter(m.group(0) for m in (NUMBER.search(answer_text(a)) for a in answers) if m)
    told_known = sum(1 for a in answers if "이미 접수" in answer_text(a))
    figures = tally.figures()
    return {
        "citizens": count,
        "spread_s": seconds,
        "errors": figures["errors"],
        "deferred": figures["deferred"],
        "over_5s": figures["answers_over_5s"],
        "p50_s": round(figures["p50_ms"] / 1000, 3),
        "p95_s": round(figures["p95_ms"] / 1000, 3),
        "max_s": round(figures["max_ms"] / 1000, 3),
        "answers_with_number": sum(numbers.values()),
        "numbers": dict(numbers),
        "told_already_known": told_known,
        "error_samples": figures["error_samples"],
        "stamp": stamp,
    }


class Receiver:
    """One local HTTP endpoint standing for every agency: counts documents by Idempotency-Key."""

    def __init__(self):
        self.keys: Counter = Counter()
        self.events: dict[str, Counter] = defaultdict(Counter)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.keys[self.headers["Idempotency-Key"]] += 1
                receiver.events[body["recipient"]["id"]][body["event"]] += 1
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/agency"


def check_database(database_url: str, numbers: dict[str, int], count: int) -> dict[str, Any]:
    from sqlalchemy import func, select, update

    from bot.delivery import DeliverySettings, Dispatcher, OutboxEntry
    from bot.tickets import Ticket, open_database
    from bot.tickets.models import IncidentReport

    sessions = open_database(database_url)
    with sessions() as session:
        tickets = session.execute(select(Ticket).where(Ticket.number.in_(list(numbers)))).scalars().all()
        ids = [t.id for t in tickets]
        reports = session.execute(
            select(func.count(), func.count(func.distinct(IncidentReport.sender_id))).where(
                IncidentReport.ticket_id.in_(ids)
            )
        ).one()
        keys = [
            k for (k,) in session.execute(select(OutboxEntry.idempotency_key).where(OutboxEntry.ticket_id.in_(ids)))
        ]
    alerts = [k for k in keys if "/ticket.created/" in k]
    updates = [k for k in keys if "/incident.updated/" in k]
    receiver = Receiver()
    try:
        with sessions.begin() as session:  # the local receiver stands for every agency and department
            session.execute(
                update(OutboxEntry)
                .where(OutboxEntry.ticket_id.in_(ids))
                .values(send_method="http", destination=receiver.url)
            )
        started = time.perf_counter()
        dispatcher = Dispatcher(sessions, DeliverySettings(batch_size=200))
        while dispatcher.run_once().handled:
            pass
        delivery_s = time.perf_counter() - started
        with sessions() as session:
            states = Counter(
                s.value for (s,) in session.execute(select(OutboxEntry.state).where(OutboxEntry.ticket_id.in_(ids)))
            )
    finally:
        receiver.server.shutdown()
    return {
        "incidents": len(tickets),
        "reports": reports[0],
        "distinct_reporters": reports[1],
        "outbox_alerts": len(alerts),
        "outbox_updates": len(updates),
        "outbox_states": dict(states),
        "delivery_seconds": round(delivery_s, 1),
        "received_per_recipient": {rid: dict(events) for rid, events in receiver.events.items()},
        "keys_missing": len(set(keys) - set(receiver.keys)),
        "keys_received_twice": sum(1 for n in receiver.keys.values() if n > 1),
        "expected_updates_per_recipient": count - 1,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", help="a running server (default: start one with the test model)")
    parser.add_argument("--secret", help="the Kakao skill secret of --base-url")
    parser.add_argument("--database-url", help="the tickets database of --base-url")
    parser.add_argument("--model", type=Path, help="model for the bench's own stack (default: the test model)")
    parser.add_argument("--citizens", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0, help="arrivals spread over this time")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    if not 1 <= args.citizens <= 1000 or not 0 <= args.seconds <= 600:
        parser.error("--citizens must be 1-1000 and --seconds 0-600")
    stack = None
    if args.base_url:
        if not (args.secret and args.database_url):
            parser.error("--secret and --database-url are needed with --base-url")
        require_loopback(args.base_url)
        base_url, secret, database_url = args.base_url.rstrip("/"), args.secret, args.database_url
    else:
        from bot.privacy.encryption import KEY_ENV, new_key
        from tests.stack import RasaStack, train_test_model

        os.environ.setdefault(KEY_ENV, new_key())
        stack = RasaStack(
            model=args.model or train_test_model(), workdir=Path(tempfile.mkdtemp(prefix="sotong-flood-"))
        ).start()
        base_url, secret, database_url = stack.rasa_url, stack.kakao_secret, stack.database_url
    try:
        chat = asyncio.run(citizens(base_url, secret, args.citizens, args.seconds))
    finally:
        if stack is not None:
            stack.stop()
    report = {
        "chat": chat,
        "database": check_database(database_url, chat["numbers"], args.citizens),
        "load_average": os.getloadavg(),
    }
    print(json.dumps(report, ensure_ascii=False, indent=2))
    if args.json_out:
        args.json_out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
