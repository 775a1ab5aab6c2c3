"""Where a turn's time goes: Sotong's Kakao path versus stock Rasa 3.6's REST channel, in one run.

    python bench/turn_cost.py --json-out reports/turn_cost.json        # make bench-turn
    python bench/turn_cost.py --citizens 2 --parse-rounds 1             # make bench-quick

Starts, on free loopback ports, one action server and two Rasa processes on the same model
(default: the newest models/*.tar.gz), both through bench/profiled_rasa.py (stage timers that
leave behaviour unchanged):

* Sotong: `python -m bot.server run` as `make run` configures it (the project's credentials and
  endpoints: Kakao and REST channels, the masking SQL tracker store on SQLite, the training-signal
  event broker, in-memory lock store), one TensorFlow thread per op as scripts/run.sh sets;
* stock: plain `rasa run` (no Sotong patches), Rasa's own `rest` channel, InMemoryTrackerStore,
  in-memory lock store, no event broker, the same action server (its secret header set in the
  endpoints file) and the same TensorFlow threads.

One citizen at a time talks through the same script on both (a greeting, civic information
questions, a pothole complaint to the receipt, a status lookup of that ticket, thanks), in slices
ordered Sotong, stock, stock, Sotong (A-B-B-A) so that a machine getting faster or slower weighs
on both alike, after one warm-up citizen each. Then the NLU parse alone (`/model/parse`, the
floor) on the script's texts, alternating the two servers.

Reported: p50/p90/mean of a turn per path and of the parse; the ratios "Sotong turn / stock REST
turn" (target <= 1.2) and "Sotong turn / NLU parse alone" (target <= 2); and per stage (NLU graph
nodes, policies, tracker retrieve and save, lock store, each action-server call, the Kakao
channel's parsing and rendering, Python's garbage collections) the milliseconds per turn and share
of the turn, side by side; and the NLU stages of `/model/parse` alone. The stage figures come from
each server's `GET /bench/timings` (bench/profiled_rasa.py), taken before and after every slice.
Each run's servers keep their logs and databases in --workdir/run-<pid>.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.cluster_load import INFO_QUESTIONS, PENDING_MARK, PLACES, TURN_FAILED_MARK  # noqa: E402
from bench.load_common import kakao_payload, newest_model, percentile, require_loopback, write_report  # noqa: E402
from bot.ops.warmup import api_url, rest_headers  # noqa: E402
from tests.cluster import TICKET_NUMBER, answer_text  # noqa: E402
from tests.stack import VENV_BIN, RasaStack, Service, free_port  # noqa: E402

TARGET_PEER_RATIO = 1.2
TARGET_FLOOR_RATIO = 2.0
TF_THREADS = {"TF_INTRA_OP_PARALLELISM_THREADS": "1", "TF_INTER_OP_PARALLELISM_THREADS": "1"}  # scripts/run.sh
TIMINGS_ROUTE = "/bench/timings"  # bench/profiled_rasa.py
PROFILED_RASA = str(ROOT / "bench" / "profiled_rasa.py")
SMALL_TALK = ("안녕하세요", "고마워요")
QUESTIONS = [q for q in INFO_QUESTIONS if q not in SMALL_TALK]
SAMPLE_TICKET = "GY-2026-000001"  # for the parse-only texts


def citizen_script(index: int) -> list[str]:
    """One citizen's messages (the same on both paths); "{ticket}" is filled in while talking."""
    rng = random.Random(index)
    first, second, third = rng.sample(QUESTIONS, 3)
    place = f"{rng.choice(PLACES)} {rng.randint(1, 999)}m"
    return [
        "안녕하세요",
        first,
        second,
        f"{place} 도로에 포트홀이 생겼어요",
        "사진 없음",
        "동의하지 않아요",
        "네 접수해 주세요",
        "{ticket} 처리 상황 알려주세요",
        third,
        "고마워요",
    ]


# ---------------------------------------------------------------------------- the two servers


def rasa_args(flavour: str, model: Path, token: str, port: int, credentials: Path, endpoints: Path) -> list[str]:
    """A profiled Rasa server's command line: `flavour` sotong (bot.server) or stock (rasa)."""
    return [
        str(VENV_BIN / "python"),
        PROFILED_RASA,
        flavour,
        "run",
        "--model",
        str(model),
        "--enable-api",
        "--auth-token",
        token,
        "--port",
        str(port),
        "--interface",
        "127.0.0.1",
        "--credentials",
        str(credentials),
        "--endpoints",
        str(endpoints),
    ]


@dataclass
class SideBySide(RasaStack):
    """tests/stack.py's Sotong stack, both Rasa processes profiled, plus the stock peer."""

    stock_port: int = field(default_factory=free_port)
    data_key: str = ""

    @property
    def stock_url(self) -> str:
        return f"http://127.0.0.1:{self.stock_port}"

    def env(self) -> dict[str, str]:
        from bot.privacy.encryption import KEY_ENV, new_key

        if not self.data_key:
            self.data_key = os.environ.get(KEY_ENV) or new_key()  # contact numbers at rest: a key for this run
        return {**super().env(), **TF_THREADS, KEY_ENV: self.data_key}

    def _write_stock_configs(self) -> tuple[Path, Path]:
        project = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8"))
        endpoints = {  # no tracker_store, lock_store, event_broker: Rasa's in-memory defaults
            "action_endpoint": {
                **project["action_endpoint"],
                "url": f"{self.actions_url}/webhook",
                "headers": {"X-Sotong-Action-Secret": self.action_secret},
            }
        }
        endpoints_file, credentials_file = self.workdir / "stock-endpoints.yml", self.workdir / "stock-credentials.yml"
        endpoints_file.write_text(yaml.safe_dump(endpoints))
        credentials_file.write_text("rest:\n")
        return credentials_file, endpoints_file

    def start(self) -> SideBySide:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._write_configs()
        stock_credentials, stock_endpoints = self._write_stock_configs()
        actions = Service(
            "action server",
            [str(VENV_BIN / "python"), "-m", "bot.rasa_ext.action_server", "--actions", "actions"]
            + ["--port", str(self.actions_port)],
            self.env(),
            self.workdir / "actions.log",
            f"{self.actions_url}/health",
        )
        self.services.append(actions.start())
        servers = [
            Service(
                "sotong rasa",
                rasa_args(
                    "sotong",
                    self.model,
                    self.rasa_token,
                    self.rasa_port,
                    self.workdir / "credentials.yml",
                    self.workdir / "endpoints.yml",
                ),
                self.env(),
                self.workdir / "rasa-sotong.log",
                self.api_url("/status"),
            ),
            Service(
                "stock rasa",
                rasa_args("stock", self.model, self.rasa_token, self.stock_port, stock_credentials, stock_endpoints),
                self.env(),
                self.workdir / "rasa-stock.log",
                api_url(f"{self.stock_url}/status", self.rasa_token),
            ),
        ]
        self.services += servers
        with ThreadPoolExecutor(len(servers)) as pool:  # both load the model at once
            for started in [pool.submit(server.start, 300) for server in servers]:
                started.result()
        return self


# ---------------------------------------------------------------------------- one path


@dataclass
class PathResult:
    """What one path (Sotong Kakao or stock REST) measured."""

    name: str
    turns: list[float] = field(default_factory=list)
    parses: list[float] = field(default_factory=list)
    failed: int = 0
    deferred: int = 0
    tickets: int = 0
    stages: dict[str, dict[str, float]] = field(default_factory=dict)  # over the measured turns
    parse_stages: PathResult | None = None  # over the /model/parse requests

    def add_stages(self, before: dict, after: dict) -> None:
        for stage, totals in after.items():
            was = before.get(stage, {"calls": 0, "seconds": 0.0})
            mine = self.stages.setdefault(stage, {"calls": 0, "seconds": 0.0})
            mine["calls"] += totals["calls"] - was["calls"]
            mine["seconds"] += totals["seconds"] - was["seconds"]


class Target:
    """Talks to one server: a whole turn, a parse, the server's stage timers."""

    def __init__(self, name: str, base_url: str, token: str):
        require_loopback(base_url)
        self.name, self.base_url, self.token = name, base_url, token
        self.http = requests.Session()  # keep-alive, as Open Builder and a REST client keep it

    def turn(self, user: str, text: str) -> str:
        raise NotImplementedError

    def parse(self, text: str) -> None:
        self.http.post(
            api_url(f"{self.base_url}/model/parse", self.token), json={"text": text}, timeout=30
        ).raise_for_status()

    def timings(self) -> dict[str, dict[str, float]]:
        return self.http.get(f"{self.base_url}{TIMINGS_ROUTE}", timeout=10).json()


class KakaoPath(Target):
    def __init__(self, base_url: str, token: str, secret: str):
        super().__init__("sotong_kakao", base_url, token)
        self.headers = {"X-Sotong-Secret": secret}

    def turn(self, user: str, text: str) -> str:
        response = self.http.post(
            f"{self.base_url}/webhooks/kakao/webhook", json=kakao_payload(text, user), headers=self.headers, timeout=60
        )
        response.raise_for_status()
        return answer_text(response.json())


class RestPath(Target):
    def __init__(self, base_url: str, token: str, rest_token: str | None = None, name: str = "stock_rest"):
        super().__init__(name, base_url, token)
        self.headers = rest_headers(rest_token) if rest_token else {}

    def turn(self, user: str, text: str) -> str:
        response = self.http.post(
            f"{self.base_url}/webhooks/rest/webhook",
            json={"sender": user, "message": text},
            headers=self.headers,
            timeout=60,
        )
        response.raise_for_status()
        return "\n".join(str(message.get("text", "")) for message in response.json())


def converse(path: Target, user: str, script: list[str], result: PathResult | None) -> None:
    """One citizen's conversation; each turn's time counted in `result` (None: warm-up)."""
    ticket = None
    for message in script:
        if "{ticket}" in message:
            if ticket is None:
                continue
            message = message.format(ticket=ticket)
        started = time.perf_counter()
        answer = path.turn(user, message)
        seconds = time.perf_counter() - started
        found = TICKET_NUMBER.search(answer)
        if found and ticket is None and "접수" in answer:
            ticket = found.group(0)
            if result is not None:
                result.tickets += 1
        if result is not None:
            result.turns.append(seconds)
            result.failed += TURN_FAILED_MARK in answer
            result.deferred += PENDING_MARK in answer


def parse_texts() -> list[str]:
    return sorted({m.replace("{ticket}", SAMPLE_TICKET) for i in range(4) for m in citizen_script(i)})


def measure(paths: list[Target], citizens: int, slices: int, parse_rounds: int, run_id: str) -> dict[str, PathResult]:
    results = {path.name: PathResult(path.name) for path in paths}
    for path in paths:  # warm-up: one citizen and each parse text, not counted
        converse(path, f"warmup-{run_id}-{path.name}", citizen_script(10_000), None)
        for text in parse_texts():
            path.parse(text)
    per_slice = [citizens // slices + (i < citizens % slices) for i in range(slices)]
    citizen = 0
    for number, count in enumerate(per_slice):
        for path in paths[:: -1 if number % 2 else 1]:  # A-B-B-A
            before = path.timings()
            for index in range(citizen, citizen + count):
                converse(path, f"citizen-{run_id}-{path.name}-{index}", citizen_script(index), results[path.name])
            results[path.name].add_stages(before, path.timings())
        citizen += count
    before_parses = {path.name: path.timings() for path in paths}
    for number in range(parse_rounds):
        for text in parse_texts():
            for path in paths[:: -1 if number % 2 else 1]:
                started = time.perf_counter()
                path.parse(text)
                results[path.name].parses.append(time.perf_counter() - started)
    for path in paths:  # the NLU stages of /model/parse alone, to compare with the same stages in turns
        parse_stages = results[path.name].parse_stages = PathResult(path.name)
        parse_stages.add_stages(before_parses[path.name], path.timings())
    return results


# ---------------------------------------------------------------------------- the report

# (label, stage or derived key, indent); derived keys start with "=".
STAGE_ROWS = [
    ("whole turn, measured by the client", "=client", 0),
    ("outside the server (HTTP client, socket, Sanic before its middleware)", "=outside_server", 1),
    ("webhook request inside the server", "server:webhook", 1),
    ("channel around the Rasa turn (guard, sender lock, routing)", "=channel", 2),
    ("Kakao: request body read", "channel:kakao:read_body", 3),
    ("Kakao: request parsing", "channel:kakao:parse_request", 3),
    ("Kakao: rendering (templates)", "channel:kakao:render_templates", 3),
    ("Kakao: rendering (page)", "channel:kakao:render_page", 3),
    ("Kakao: JSON response", "channel:kakao:json_response", 3),
    ("Rasa turn (Agent.handle_message)", "agent:handle_message", 2),
    ("lock store: acquire", "lock:acquire", 3),
    ("lock store: release", "lock:release", 3),
    ("tracker: fetch and session update", "tracker:fetch_and_update_session", 3),
    ("tracker: retrieve", "tracker:retrieve", 4),
    ("NLU: parse_message", "nlu:parse_message", 3),
    ("NLU graph", "nlu:graph", 4),
    ("*node ", "*nlu:node:", 5),
    ("graph run outside the nodes (dask)", "=nlu_graph_overhead", 5),
    ("hand-over outside the graph (thread, checks)", "=nlu_outside_graph", 4),
    ("slot extraction (action_extract_slots)", "core:extract_slots", 3),
    ("policies (one prediction per call)", "core:predict", 3),
    ("*node ", "*core:node:", 4),
    ("graph run outside the nodes (dask)", "=core_graph_overhead", 4),
    ("actions (run_action, all kinds, with side effects)", "action:run", 3),
    ("*action server call: ", "*action_server:", 4),
    ("HTTP to the action server (part of the calls above)", "action_server:http", 5),
    ("in-process actions and side effects", "=inprocess_actions", 4),
    ("tracker: save", "tracker:save", 3),
    ("event broker (stream_events)", "tracker:stream_events", 4),
    ("*Sotong store (in retrieve, save, stream_events): ", "*store:", 4),
    ("rest of the Rasa turn", "=turn_rest", 3),
    ("*Python garbage collection (inside the stages above): ", "*gc:", 1),
]


ROW_KEYS = {key for _, key, _ in STAGE_ROWS}


def per_turn(result: PathResult) -> dict[str, dict[str, float]]:
    """Milliseconds and calls per measured turn, for every stage and the derived rows."""
    turns = len(result.turns) or 1
    rows = {
        stage: {"ms": totals["seconds"] * 1000 / turns, "calls": totals["calls"] / turns}
        for stage, totals in result.stages.items()
    }
    ms = lambda stage: rows.get(stage, {}).get("ms", 0.0)  # noqa: E731
    client = statistics.fmean(result.turns) * 1000 if result.turns else float("nan")
    server = ms("server:webhook")
    agent = ms("agent:handle_message")
    remote = sum(
        row["ms"] for stage, row in rows.items() if stage.startswith("action_server:") and stage != "action_server:http"
    )
    derived = {
        "=client": client,
        "=outside_server": client - server,
        "=channel": server - agent,
        "=nlu_outside_graph": ms("nlu:parse_message") - ms("nlu:graph"),
        "=inprocess_actions": ms("action:run") - remote,
        "=nlu_graph_overhead": ms("nlu:graph") - sum(r["ms"] for s, r in rows.items() if s.startswith("nlu:node:")),
        "=core_graph_overhead": ms("core:predict")
        - sum(r["ms"] for s, r in rows.items() if s.startswith("core:node:")),
        "=turn_rest": agent
        - sum(
            ms(stage)
            for stage in (
                "lock:acquire",
                "lock:release",
                "tracker:fetch_and_update_session",
                "nlu:parse_message",
                "core:extract_slots",
                "core:predict",
                "action:run",
                "tracker:save",
            )
        ),
    }
    rows.update({key: {"ms": value, "calls": 1.0} for key, value in derived.items()})
    return rows


def stage_table(results: list[PathResult]) -> list[dict[str, Any]]:
    tables = [per_turn(result) for result in results]
    table = []
    for label, key, indent in STAGE_ROWS:  # "*" keys: every stage with that prefix, label as a prefix
        if key.startswith("*"):
            prefix = key[1:]
            names = sorted(
                {stage for rows in tables for stage in rows if stage.startswith(prefix) and stage not in ROW_KEYS}
            )
            names.sort(key=lambda stage: -max(rows.get(stage, {}).get("ms", 0.0) for rows in tables))
            entries = [(label.removeprefix("*") + stage.removeprefix(prefix), stage) for stage in names]
        else:
            entries = [(label, key)]
        for name, stage in entries:
            if all(stage not in rows for rows in tables):
                continue
            row: dict[str, Any] = {"stage": name, "key": stage, "indent": indent}
            for result, rows in zip(results, tables):
                found = rows.get(stage)
                client = rows["=client"]["ms"]
                row[result.name] = (
                    None
                    if found is None
                    else {
                        "ms_per_turn": round(found["ms"], 2),
                        "share": round(found["ms"] / client, 3) if client else None,
                        "calls_per_turn": round(found["calls"], 2),
                    }
                )
            table.append(row)
    return table


def figures_ms(values: list[float]) -> dict[str, float]:
    return {
        "count": len(values),
        "p50_ms": round(percentile(values, 50) * 1000, 1),
        "p90_ms": round(percentile(values, 90) * 1000, 1),
        "mean_ms": round(statistics.fmean(values) * 1000, 1) if values else float("nan"),
    }


def conditions(model: Path) -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": git("rev-parse", "--short", "HEAD")
        + ("+dirty" if git("status", "--porcelain", "--", "bot", "actions", "config.yml") else ""),
        "model": str(model.relative_to(ROOT) if model.is_relative_to(ROOT) else model),
        "load_average": list(os.getloadavg()),
        "cpus": os.cpu_count(),
        "tf_threads": TF_THREADS,
    }


def report(results: dict[str, PathResult], model: Path, started_load: list[float]) -> dict[str, Any]:
    sotong, stock = results["sotong_kakao"], results["stock_rest"]
    turn, peer, floor = figures_ms(sotong.turns), figures_ms(stock.turns), figures_ms(stock.parses)
    ratios = {
        "sotong_turn_over_stock_rest_turn_p50": round(turn["p50_ms"] / peer["p50_ms"], 2),
        "sotong_turn_over_stock_rest_turn_mean": round(turn["mean_ms"] / peer["mean_ms"], 2),
        "sotong_turn_over_nlu_parse_p50": round(turn["p50_ms"] / floor["p50_ms"], 2),
        "sotong_turn_over_nlu_parse_mean": round(turn["mean_ms"] / floor["mean_ms"], 2),
        "stock_turn_over_nlu_parse_p50": round(peer["p50_ms"] / floor["p50_ms"], 2),
    }
    return {
        "conditions": {**conditions(model), "load_average_at_start": started_load},
        "paths": {
            name: {
                "turns": figures_ms(result.turns),
                "parse": figures_ms(result.parses),
                "failed_turns": result.failed,
                "deferred_turns": result.deferred,
                "tickets_filed": result.tickets,
            }
            for name, result in results.items()
        },
        "ratios": ratios,
        "targets": {
            f"Sotong turn <= {TARGET_PEER_RATIO} x stock REST turn (p50)": ratios[
                "sotong_turn_over_stock_rest_turn_p50"
            ]
            <= TARGET_PEER_RATIO,
            f"Sotong turn <= {TARGET_FLOOR_RATIO} x NLU parse alone (p50)": ratios["sotong_turn_over_nlu_parse_p50"]
            <= TARGET_FLOOR_RATIO,
        },
        "stages": stage_table([sotong, stock]),
        "nlu_stages_ms_per_parse": {
            name: {
                stage: round(totals["seconds"] * 1000 / max(1, len(result.parses)), 2)
                for stage, totals in sorted(result.parse_stages.stages.items())
                if stage.startswith(("nlu:", "gc:"))
            }
            for name, result in results.items()
            if result.parse_stages is not None
        },
        "raw_stage_totals": {name: result.stages for name, result in results.items()},
    }


def markdown(report_: dict[str, Any]) -> str:
    names = list(report_["paths"])
    lines = [
        "| | turns | turn p50 ms | turn p90 ms | turn mean ms | `/model/parse` p50 ms | p90 ms | failed | deferred | tickets |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, path in report_["paths"].items():
        t, p = path["turns"], path["parse"]
        lines.append(
            f"| {name} | {t['count']} | {t['p50_ms']} | {t['p90_ms']} | {t['mean_ms']} | {p['p50_ms']} | {p['p90_ms']} "
            f"| {path['failed_turns']} | {path['deferred_turns']} | {path['tickets_filed']} |"
        )
    lines += ["", "| stage (ms per turn) | " + " | ".join(f"{n} ms | share | calls" for n in names) + " |"]
    lines.append("|---" * (1 + 3 * len(names)) + "|")
    for row in report_["stages"]:
        cells = []
        for name in names:
            cell = row.get(name)
            cells += (
                ["–", "–", "–"]
                if cell is None
                else [f"{cell['ms_per_turn']:.1f}", f"{cell['share'] * 100:.0f} %", f"{cell['calls_per_turn']:g}"]
            )
        label = "&nbsp;&nbsp;" * row["indent"] + row["stage"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def print_summary(report_: dict[str, Any]) -> None:
    c = report_["conditions"]
    print(
        f"\n{c['date']} commit {c['commit']} model {c['model']} load average {c['load_average_at_start']} -> "
        f"{[round(x, 2) for x in c['load_average']]}, start-up {c['startup_seconds']} s\n"
    )
    print(markdown(report_))
    print()
    print("\nNLU stages in /model/parse alone (ms per parse):")
    parse_stages = report_["nlu_stages_ms_per_parse"]
    for stage in sorted({s for stages in parse_stages.values() for s in stages}):
        print(f"  {stage:42}" + "".join(f"{stages.get(stage, 0.0):10.1f}" for stages in parse_stages.values()))
    for name, value in report_["ratios"].items():
        print(f"  {name:42} {value:.2f}")
    for target, met in report_["targets"].items():
        print(f"  [{'ok' if met else 'MISSED'}] {target}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, help="default: the newest models/*.tar.gz")
    parser.add_argument("--test-model", action="store_true", help="tests/stack.py's small test model instead")
    parser.add_argument("--citizens", type=int, default=12, help="per path, 10 turns each (default 12)")
    parser.add_argument("--slices", type=int, default=4, help="alternating slices: 4 = A B B A A B B A")
    parser.add_argument("--parse-rounds", type=int, default=6, help="rounds of /model/parse over the script texts")
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "bench-turn-cost")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    if not 1 <= args.citizens <= 100 or not 1 <= args.slices <= min(args.citizens, 10) or args.parse_rounds > 50:
        parser.error("--citizens 1-100, --slices 1-min(citizens, 10), --parse-rounds up to 50")
    if args.test_model:
        from tests.stack import train_test_model

        args.model = train_test_model()
    model = (args.model or newest_model("`make model`, --model or --test-model")).resolve()
    started_load = [round(x, 2) for x in os.getloadavg()]
    stack = SideBySide(model, args.workdir / f"run-{os.getpid()}")
    try:
        started = time.perf_counter()
        stack.start()
        startup_seconds = round(time.perf_counter() - started, 1)
        paths: list[Target] = [
            KakaoPath(stack.rasa_url, stack.rasa_token, stack.kakao_secret),
            RestPath(stack.stock_url, stack.rasa_token),
        ]
        results = measure(paths, args.citizens, args.slices, args.parse_rounds, f"{int(time.time())}-{os.getpid()}")
    finally:
        stack.stop()
    report_ = report(results, model, started_load)
    report_["conditions"]["startup_seconds"] = startup_seconds  # action server, both Rasa processes
    print_summary(report_)
    write_report(report_, args.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
