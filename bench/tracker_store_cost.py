"""What the tracker store costs per turn, in process: retrieve and save of a realistic conversation.

    .venv/bin/python bench/tracker_store_cost.py                     # SQLite file, 20 citizens x 8 turns
    .venv/bin/python bench/tracker_store_cost.py --database-url postgresql://postgres@127.0.0.1:5432/test

The store is the one `make run` configures (bot.rasa_ext.tracker_store.MaskingSQLTrackerStore: masking,
encrypted callback numbers, conversation cache), with an event broker that only counts what it
gets (the training-signal broker's own work is not the store's). Each citizen's conversation
starts with --events stored events (a session start, then turns of a user message with Rasa's
parse data and Kakao metadata, an action, a slot, a bot answer with buttons, action_listen); then
every turn does what Rasa does (retrieve, add a turn's events, save), citizens in round robin, so
the cache is as warm as in a running process. Reported: ms per retrieve and per save (mean, p50,
p90), SQL statements and commits per turn, events published per turn.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

from rasa.core.brokers.broker import EventBroker  # noqa: E402
from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered  # noqa: E402
from rasa.shared.core.trackers import DialogueStateTracker  # noqa: E402
from sqlalchemy import event as sa_event  # noqa: E402

INTENTS = ["report_complaint", "ask_info", "greet", "thank", "inform", "affirm", "deny", "goodbye", "check_status"]


class CountingBroker(EventBroker):
    def __init__(self) -> None:
        self.published = 0

    def publish(self, event: dict[str, Any]) -> None:
        self.published += 1


def turn_events(index: int) -> list[Event]:
    """One citizen turn as Rasa records it (user message with parse data and Kakao metadata, an
    action with a slot, a bot answer with buttons, action_listen)."""
    text = f"{index}번째 말씀: 우리 동네 가로등이 고장났어요 연락처는 010-1234-{index:04d}"
    ranking = [{"name": name, "confidence": round(0.9 / (rank + 1), 4)} for rank, name in enumerate(INTENTS)]
    parse_data = {
        "text": text,
        "intent": ranking[0],
        "intent_ranking": ranking,
        "entities": [{"entity": "location", "value": "우리 동네", "start": 0, "end": 5, "extractor": "DIETClassifier"}],
        "response_selector": {"all_retrieval_intents": [], "default": {"response": {"responses": None}, "ranking": []}},
    }
    metadata = {"kakao": {"userRequest": {"utterance": text, "user": {"id": "user-key-0123456789"}}}}
    return [
        UserUttered(text, intent=ranking[0], entities=parse_data["entities"], parse_data=parse_data, metadata=metadata),
        ActionExecuted("complaint_form", policy="RulePolicy", confidence=1.0),
        SlotSet("description", f"가로등 고장 {index}"),
        BotUttered(
            f"{index}번째 답변이에요. 접수할까요?",
            data={"buttons": [{"title": "네", "payload": "/affirm"}, {"title": "아니요", "payload": "/deny"}]},
        ),
        ActionExecuted("action_listen", policy="RulePolicy", confidence=1.0),
    ]


def conversation(domain: Domain, sender: str, events: int) -> DialogueStateTracker:
    history: list[Event] = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]
    index = 0
    while len(history) < events:
        history += turn_events(index)
        index += 1
    return DialogueStateTracker.from_events(sender, history[:events], domain.slots)


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "mean": statistics.fmean(ordered) * 1000,
        "p50": ordered[len(ordered) // 2] * 1000,
        "p90": ordered[int(len(ordered) * 0.9)] * 1000,
    }


def open_store(database_url: str | None, workdir: Path, domain: Domain, broker: EventBroker) -> Any:
    from bot.rasa_ext.tracker_store import MaskingSQLTrackerStore

    if database_url:
        return MaskingSQLTrackerStore(domain=domain, event_broker=broker, dialect="postgresql", host=database_url)
    return MaskingSQLTrackerStore(domain=domain, event_broker=broker, dialect="sqlite", db=str(workdir / "tracker.db"))


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    import bot.rasa_ext
    from bot.privacy.encryption import KEY_ENV, new_key

    os.environ.setdefault(KEY_ENV, new_key())
    bot.rasa_ext.install()
    domain = Domain.load(str(ROOT / "domain.yml"))
    broker = CountingBroker()
    store = open_store(args.database_url, workdir, domain, broker)
    statements = {"sql": 0, "commit": 0}
    sa_event.listen(
        store.sql.engine, "before_cursor_execute", lambda *_: statements.__setitem__("sql", statements["sql"] + 1)
    )
    sa_event.listen(store.sql.engine, "commit", lambda *_: statements.__setitem__("commit", statements["commit"] + 1))
    run_id = f"{os.getpid()}-{int(time.time())}"
    senders = [f"bench-{run_id}-{number}" for number in range(args.citizens)]
    for sender in senders:
        await store.save(conversation(domain, sender, args.events))
        tracker = await store.retrieve(sender)  # a first turn, as the process's previous one
        await store.save(tracker)
    retrieves: list[float] = []
    saves: list[float] = []
    statements.update(sql=0, commit=0)
    published = broker.published
    for turn in range(args.turns):
        for sender in senders:
            started = time.perf_counter()
            tracker = await store.retrieve(sender)
            retrieved = time.perf_counter()
            for new_event in turn_events(1000 + turn):
                tracker.update(new_event)
            saving = time.perf_counter()
            await store.save(tracker)
            saves.append(time.perf_counter() - saving)
            retrieves.append(retrieved - started)
    turns = len(saves)
    store.sql.engine.dispose()
    return {
        "database": "postgresql" if args.database_url else "sqlite file",
        "citizens": args.citizens,
        "turns_per_citizen": args.turns,
        "events_at_start": args.events,
        "retrieve_ms": summary(retrieves),
        "save_ms": summary(saves),
        "sql_statements_per_turn": statements["sql"] / turns,
        "commits_per_turn": statements["commit"] / turns,
        "events_published_per_turn": (broker.published - published) / turns,
        "load_average": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--citizens", type=int, default=20)
    parser.add_argument("--turns", type=int, default=8, help="turns per citizen")
    parser.add_argument("--events", type=int, default=40, help="stored events per conversation at the start")
    parser.add_argument("--database-url", help="a PostgreSQL URL (default: an SQLite file in a temporary folder)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tracker-store-cost-") as workdir:
        result = asyncio.run(run(args, Path(workdir)))
    print(f"{result['database']}, {args.citizens} citizens x {args.turns} turns, {args.events} events at the start")
    for name in ("retrieve_ms", "save_ms"):
        figures = result[name]
        print(f"  {name[:-3]:8} mean {figures['mean']:6.2f} ms  p50 {figures['p50']:6.2f}  p90 {figures['p90']:6.2f}")
    print(
        f"  per turn: {result['sql_statements_per_turn']:.1f} SQL statements, {result['commits_per_turn']:.1f} commits, "
        f"{result['events_published_per_turn']:.1f} events published; load average {result['load_average']:.1f}"
    )


if __name__ == "__main__":
    main()
