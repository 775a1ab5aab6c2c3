"""Load benchmark of the production profile: one Rasa process versus the load-balanced set.

    # start a throw-away cluster (scripts/run_cluster.sh on fresh PostgreSQL databases), measure, stop:
    python bench/cluster_load.py --start --postgres-url postgresql://postgres@127.0.0.1:5432/test \\
        --redis-url redis://127.0.0.1:6379/0 --users 50 --seconds 60 --json-out reports/cluster_load.json
    # or against a running `make run-prod` (nginx on :5005, instances on :5011, :5012):
    python bench/cluster_load.py --url http://127.0.0.1:5005 --instance-url http://127.0.0.1:5011 \\
        --pids-from var/run --secret "$KAKAO_SKILL_SECRET"

Simulated citizens talk over the Kakao skill endpoint, each waiting for the answer before the
next message, with a mix of conversations: civic information questions, a full complaint (the
form to the receipt, anonymous) and a status lookup of that complaint. The same load runs
in one run against one Rasa process (its own port) and through nginx against all of them, in
alternating slices (one, all, all, one: --rounds), so that a host that speeds up or slows down
during the run weighs on both alike.
Reported per phase: throughput, latency p50/p95/p99/max, errors (HTTP errors and the channel's
"something went wrong" answer), answers later than 5 s, answers deferred by the 5-second guard,
and the RSS memory of every process. Before the load, a single citizen's turns are timed apart
(where the time of a turn goes): `/model/parse` (NLU alone), the whole turn over REST, and the
action server's share from nginx's log of the action upstream.

Every request goes to loopback; every phase is bounded in seconds and in requests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load_common import Tally, kakao_payload, post_json, require_loopback, write_report  # noqa: E402
from bot.ops.warmup import RASA_TOKEN_ENV, REST_TOKEN_ENV, api_url, rest_headers  # noqa: E402
from bot.settings import env_str  # noqa: E402
from tests.cluster import TICKET_NUMBER, answer_text  # noqa: E402

TURN_FAILED_MARK = "문제가 생겼어요"
PENDING_MARK = "답변 보기"
SHARED_PROGRAMS = ("postgres", "redis-server", "nginx")  # their CPU is shown per program
PLACES = [
    "일산서구 주엽동 강선마을 14단지 앞",
    "덕양구 화정동 은빛마을 6단지 앞",
    "일산동구 장항동 호수공원 입구",
    "덕양구 행신동 무원마을 2단지 앞",
    "일산서구 대화동 킨텍스로 앞",
    "일산동구 마두동 강촌마을 3단지 앞",
]
INFO_QUESTIONS = [
    "대형 폐기물은 어떻게 버려요?",
    "여권 재발급하려면 뭐가 필요해요?",
    "도서관 운영 시간 알려 주세요",
    "주민등록등본 어디서 떼요?",
    "자동차세 납부 기한이 언제예요?",
    "주민참여예산이 뭐예요?",
    "안녕하세요",
    "고마워요",
]


def conversation(rng: random.Random, index: int) -> list[str]:
    """One citizen's messages; the status lookup's ticket number is filled in while talking."""
    kind = ("info", "complaint", "info", "complaint_status")[index % 4]
    if kind == "info":
        return rng.sample(INFO_QUESTIONS, 4)
    place = rng.choice(PLACES) + f" {rng.randint(1, 999)}m"
    messages = [f"{place} 도로에 포트홀이 생겼어요", "사진 없음", "동의하지 않아요", "네 접수해 주세요"]
    if kind == "complaint_status":
        messages += ["{ticket} 처리 상황 알려주세요", "고마워요"]
    return messages


@dataclass
class Phase(Tally):
    name: str = ""
    target: str = ""
    conversations: int = 0
    tickets: int = 0
    memory_mb: dict[str, float] = field(default_factory=dict)
    cpu_used: dict[str, float] = field(default_factory=dict)  # CPU seconds per process
    slices_rps: list[float] = field(default_factory=list)

    def merge(self, other: Phase) -> None:
        """Adds another slice of the same configuration (the rounds alternate A-B-B-A)."""
        super().merge(other)
        self.conversations += other.conversations
        self.tickets += other.tickets
        self.memory_mb = other.memory_mb
        for name, seconds in other.cpu_used.items():
            self.cpu_used[name] = self.cpu_used.get(name, 0.0) + seconds
        self.slices_rps.append(round(other.figures()["throughput_rps"], 1))

    def summary(self) -> dict[str, Any]:
        figures = self.figures()
        deferred = figures.pop("deferred")
        cores = {name: round(seconds / self.wall_seconds, 2) for name, seconds in self.cpu_used.items()}
        return {
            "phase": self.name,
            "target": self.target,
            **figures,
            "deferred_by_guard": deferred,
            "conversations_finished": self.conversations,
            "tickets_filed": self.tickets,
            "throughput_rps_per_slice": self.slices_rps,
            "rss_mb": self.memory_mb,
            "cpu_cores_used": cores,
        }


class Load:
    def __init__(self, args: argparse.Namespace, pids: dict[str, int]):
        self.args = args
        self.pids = pids
        self.run_id = f"{int(time.time())}-{os.getpid()}"
        self.slices = 0  # every slice of load has citizens of its own

    async def turn(self, session: aiohttp.ClientSession, url: str, user: str, text: str, phase: Phase) -> str:
        body = await post_json(session, url, kakao_payload(text, user), {"X-Sotong-Secret": self.args.secret}, phase)
        if body is None:
            return ""
        answer = answer_text(body)
        if TURN_FAILED_MARK in answer:
            phase.failed(f"turn failed: {text}")
        elif PENDING_MARK in answer:
            phase.deferred += 1
        return answer

    async def citizen(self, session, url: str, index: int, phase: Phase, deadline: float) -> None:
        rng = random.Random(index)
        round_number = 0
        while time.perf_counter() < deadline and phase.requests < self.args.max_requests:
            user = f"bench-{phase.name}-{self.run_id}-{self.slices}-{index}-{round_number}"
            ticket = None
            for message in conversation(rng, index + round_number):
                if time.perf_counter() >= deadline:
                    return
                if "{ticket}" in message:
                    if not ticket:
                        break
                    message = message.format(ticket=ticket)
                answer = await self.turn(session, url, user, message, phase)
                found = TICKET_NUMBER.search(answer)
                if found and "접수" in answer and ticket is None:
                    ticket = found.group(0)
                    phase.tickets += 1
            phase.conversations += 1
            round_number += 1

    async def phase(self, name: str, base_url: str, seconds: float) -> Phase:
        phase = Phase(name=name, target=base_url)
        self.slices += 1
        url = f"{base_url}/webhooks/kakao/webhook"
        timeout = aiohttp.ClientTimeout(total=self.args.request_timeout)
        async with aiohttp.ClientSession(
            timeout=timeout, connector=aiohttp.TCPConnector(limit=self.args.users)
        ) as session:
            cpu_before = cpu_seconds(self.pids)
            started = time.perf_counter()
            deadline = started + seconds
            await asyncio.gather(*(self.citizen(session, url, i, phase, deadline) for i in range(self.args.users)))
            phase.wall_seconds = time.perf_counter() - started
            cpu_after = cpu_seconds(self.pids)
        phase.memory_mb = rss_mb(self.pids)
        phase.cpu_used = {name: cpu_after[name] - cpu_before[name] for name in cpu_after if name in cpu_before}
        return phase


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU time used so far by each of our processes, by this load generator and by the whole
    machine (busy time of all cores, from /proc/stat), so a phase shows where the cores went."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {"load_generator": time.process_time()}
    for name, pid in sorted(pids.items()):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            used[name] = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
        except (OSError, IndexError, ValueError):
            pass
    for program, seconds in cpu_seconds_by_program(SHARED_PROGRAMS, ticks).items():
        used[program] = seconds
    try:
        cpu = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        used["machine"] = (sum(cpu[:8]) - cpu[3] - cpu[4]) / ticks  # all but idle and iowait
        used["machine_stolen"] = cpu[7] / ticks  # taken by the hypervisor for other machines
    except (OSError, ValueError, IndexError):
        pass
    return used


def cpu_seconds_by_program(programs, ticks: int) -> dict[str, float]:
    """CPU time of every running process of each program (all PostgreSQL backends, nginx's workers)."""
    used = {program: 0.0 for program in programs}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        program = text[text.index("(") + 1 : text.rindex(")")]
        if program in used:
            fields = text.rsplit(")", 1)[1].split()
            used[program] += (int(fields[11]) + int(fields[12])) / ticks
    return used


def rss_mb(pids: dict[str, int]) -> dict[str, float]:
    memory = {}
    for name, pid in sorted(pids.items()):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            kb = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
            memory[name] = round(kb / 1024, 1)
        except (OSError, AttributeError):
            pass
    return memory


def pids_from(run_dir: Path | None) -> dict[str, int]:
    if not run_dir or not run_dir.is_dir():
        return {}
    pids = {}
    for path in run_dir.glob("*.pid"):
        try:
            pids[path.stem] = int(path.read_text().strip())
        except ValueError:
            pass
    return pids


def nginx_action_times(log: Path | None, since: float) -> list[float]:
    """nginx's time for each action-server POST logged since `since` (epoch seconds)."""
    if not log or not log.exists():
        return []
    times = []
    for line in log.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) < 7 or parts[3] != "/webhook":
            continue
        try:
            stamp = datetime.fromisoformat(parts[0]).timestamp()
            seconds = float(parts[4])
        except ValueError:
            continue
        if stamp + 1 >= since:
            times.append(seconds)
    return times


def breakdown(args, instance_url: str, action_log: Path | None) -> dict[str, Any]:
    """One citizen, no other load: NLU alone vs whole turns, and the action server's share."""
    parse, turns = [], []
    texts = [conversation(random.Random(7), 1)[i] for i in range(4)] + INFO_QUESTIONS[:4]
    for text in texts:  # warm each text's path once
        requests.post(api_url(f"{instance_url}/model/parse", args.rasa_token), json={"text": text}, timeout=30)
    for _ in range(args.profile_rounds):
        for text in texts:
            started = time.perf_counter()
            requests.post(
                api_url(f"{instance_url}/model/parse", args.rasa_token), json={"text": text}, timeout=30
            ).raise_for_status()
            parse.append(time.perf_counter() - started)
    since = 0.0
    for round_number in range(-1, args.profile_rounds):  # round -1 warms the action servers up
        if round_number == 0:
            time.sleep(1.1)  # nginx logs whole seconds: keep the warm-up round out of `since`
            since = time.time()
        user = f"bench-profile-{os.getpid()}-{round_number}"
        for text in conversation(random.Random(round_number), 1) + INFO_QUESTIONS[:4]:
            started = time.perf_counter()
            requests.post(
                f"{instance_url}/webhooks/rest/webhook",
                json={"sender": user, "message": text},
                headers=rest_headers(args.rest_token),
                timeout=60,
            ).raise_for_status()
            if round_number >= 0:
                turns.append(time.perf_counter() - started)
    actions = nginx_action_times(action_log, since)
    mean = lambda values: statistics.fmean(values) * 1000 if values else float("nan")  # noqa: E731
    turn_ms = mean(turns)
    action_ms_per_turn = sum(actions) * 1000 / len(turns) if turns and actions else float("nan")
    return {
        "nlu_parse_ms": mean(parse),
        "turn_ms": turn_ms,
        "action_calls_per_turn": len(actions) / len(turns),
        "action_server_ms_per_turn": action_ms_per_turn,
        "rest_of_turn_ms (policies, tracker store, lock, channel)": turn_ms - mean(parse) - action_ms_per_turn,
        "turns": len(turns),
    }


def print_report(report: dict[str, Any]) -> None:
    print("\nWhere a turn's time goes (one citizen, no other load):")
    for key, value in report["breakdown"].items():
        print(f"  {key:58} {value:10.1f}" if isinstance(value, float) else f"  {key:58} {value:>10}")
    columns = [
        "requests",
        "errors",
        "deferred_by_guard",
        "answers_over_5s",
        "conversations_finished",
        "tickets_filed",
        "throughput_rps",
        "throughput_rps_per_slice",
        "mean_ms",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "max_ms",
    ]
    names = [phase["phase"] for phase in report["phases"]]
    print(
        f"\n{report['users']} concurrent citizens, {report['seconds']} s per configuration "
        f"in {report['rounds']} alternating slices\n"
    )
    print(f"{'':24}" + "".join(f"{name:>18}" for name in names))
    for column in columns:
        cells = [phase[column] for phase in report["phases"]]
        print(f"{column:24}" + "".join(f"{c:>18.1f}" if isinstance(c, float) else f"{str(c):>18}" for c in cells))
    for phase in report["phases"]:
        print(f"RSS after {phase['phase']}: " + ", ".join(f"{k} {v:.0f} MB" for k, v in phase["rss_mb"].items()))
        print(
            f"CPU cores used in {phase['phase']}: "
            + ", ".join(f"{k} {v:.2f}" for k, v in phase["cpu_cores_used"].items())
        )
        for sample in phase["error_samples"]:
            print(f"  {phase['phase']} error: {sample}")
    print(f"\nthroughput ratio (load-balanced / one process): {report['throughput_ratio']:.2f}")
    for target, met in report["targets"].items():
        print(f"  [{'ok' if met else 'MISSED'}] {target}")


def run(args, url: str, instance_url: str, pids: dict[str, int], action_log: Path | None) -> dict[str, Any]:
    for target in (url, instance_url):
        require_loopback(target)
    report: dict[str, Any] = {
        "users": args.users,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "breakdown": breakdown(args, instance_url, action_log),
    }
    load = Load(args, pids)
    configurations = [("one_process", instance_url), ("load_balanced", url)]
    totals = {name: Phase(name=name, target=target) for name, target in configurations}
    # Rounds alternate the order (A-B-B-A...), so a machine that gets faster or slower during the
    # run (other tenants of the host) weighs on both configurations alike.
    for round_number in range(args.rounds):
        for name, target in configurations[:: -1 if round_number % 2 else 1]:
            asyncio.run(load.phase(f"{name}-warmup", target, args.warmup_seconds))
            totals[name].merge(asyncio.run(load.phase(name, target, args.seconds / args.rounds)))
    report["phases"] = phases = [totals[name].summary() for name, _ in configurations]
    single, balanced = phases
    report["throughput_ratio"] = (
        balanced["throughput_rps"] / single["throughput_rps"] if single["throughput_rps"] else 0
    )
    report["targets"] = {
        ">= 1.8x throughput with the load-balanced set": report["throughput_ratio"] >= 1.8,
        "zero errors (load-balanced)": balanced["errors"] == 0,
        "zero answers past 5 s (load-balanced)": balanced["answers_over_5s"] == 0,
    }
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--start", action="store_true", help="start a throw-away cluster (tests/cluster.py)")
    parser.add_argument("--postgres-url", default=env_str("SOTONG_TEST_POSTGRES_URL"))
    parser.add_argument("--redis-url", default=env_str("SOTONG_TEST_REDIS_URL"))
    parser.add_argument("--model", type=Path, help="default: the test model (tests/stack.py)")
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument(
        "--tf-threads",
        type=int,
        default=None,
        help="with --start: TensorFlow intra/inter-op threads of each Rasa process",
    )
    parser.add_argument("--url", default="http://127.0.0.1:5005", help="nginx (without --start)")
    parser.add_argument("--instance-url", default="http://127.0.0.1:5011", help="one Rasa process (without --start)")
    parser.add_argument("--pids-from", type=Path, default=ROOT / "var" / "run")
    parser.add_argument("--action-log", type=Path, default=ROOT / "var" / "log" / "nginx-access.log")
    parser.add_argument("--secret", default=env_str("KAKAO_SKILL_SECRET"))
    parser.add_argument("--rasa-token", default=env_str(RASA_TOKEN_ENV), help=f"env {RASA_TOKEN_ENV}")
    parser.add_argument("--rest-token", default=env_str(REST_TOKEN_ENV), help=f"env {REST_TOKEN_ENV}")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured per configuration (max 180)")
    parser.add_argument(
        "--rounds", type=int, default=2, help="slices per configuration, in alternating order: 2 = one, two, two, one"
    )
    parser.add_argument("--warmup-seconds", type=float, default=8.0)
    parser.add_argument("--max-requests", type=int, default=20000)
    parser.add_argument("--request-timeout", type=float, default=30.0)
    parser.add_argument("--profile-rounds", type=int, default=3)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    if (
        not 1 <= args.users <= 300
        or not 0 < args.seconds <= 180
        or args.warmup_seconds > 30
        or not 1 <= args.rounds <= 6
    ):
        parser.error("--users 1-300, --seconds up to 180, --warmup-seconds up to 30, --rounds 1-6")

    cluster = None
    try:
        if args.start:
            from tests.cluster import Cluster
            from tests.stack import train_test_model

            if not args.postgres_url or not args.redis_url:
                parser.error("--start needs --postgres-url and --redis-url")
            workdir = ROOT / "var" / "bench-cluster"
            extra_env = {}
            if args.tf_threads:
                extra_env = {
                    "TF_INTRA_OP_PARALLELISM_THREADS": str(args.tf_threads),
                    "TF_INTER_OP_PARALLELISM_THREADS": str(args.tf_threads),
                }
            cluster = Cluster(
                args.model or train_test_model(),
                workdir,
                args.postgres_url,
                args.redis_url,
                instances=args.instances,
                action_instances=2,
                dispatcher=True,
                extra_env=extra_env,
            ).start()
            args.secret, args.rasa_token, args.rest_token = cluster.secret, cluster.rasa_token, cluster.rest_token
            url, instance_url = cluster.url, cluster.instance_url(0)
            pids, action_log = pids_from(workdir / "run"), workdir / "log" / "nginx-access.log"
        else:
            if not args.secret:
                parser.error("--secret (or KAKAO_SKILL_SECRET) is needed")
            url, instance_url = args.url.rstrip("/"), args.instance_url.rstrip("/")
            pids, action_log = pids_from(args.pids_from), args.action_log
        report = run(args, url, instance_url, pids, action_log)
    finally:
        if cluster is not None:
            cluster.stop()
    print_report(report)
    write_report(report, args.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
