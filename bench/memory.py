"""Memory of a Rasa process with the full model (issue 18, point 3), one row per variant of settings.

    python bench/memory.py                                   # default variants, newest model
    python bench/memory.py --variant 'arena2:MALLOC_ARENA_MAX=2' --variant 'jvm128:SOTONG_JVM_MAX_HEAP_MB=128'
    python bench/memory.py --turns 300 --breakdown --json-out reports/memory.json

For every variant (a name and environment settings on top of those of `make run`, read from
scripts/memory_env.sh and the TensorFlow threads of scripts/run.sh) the bench starts a Rasa server
and an action server as the tests do (tests/stack.py: `python -m bot.server run --model ...` with
the project's endpoints and credentials, SQLite, free loopback ports), warms it up as `make run`
does, and reads the memory of both processes from /proc (RSS, its anonymous and file-backed parts,
the peak VmHWM, threads). Then it sends a bounded number of Kakao-shaped turns (civic questions,
small talk, complaint starts and, every --long-every turns, a message of 2,000 characters, with
and without spaces), a few users at a time, and reads the memory again. One row per variant, all
in one run, so the rows are comparable.

--breakdown adds where the memory goes, in a separate Python process stage by stage (imports,
the model's components, the JVM of the Okt analyzer, the first turns), and the size of each
component in the model file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.kakao_load import DEFAULT_UTTERANCES, is_deferred  # noqa: E402
from bench.load_common import Tally, kakao_payload, newest_model, post_json, write_report  # noqa: E402
from bench.long_messages import long_texts  # noqa: E402
from tests.stack import RasaStack, Service, base_env  # noqa: E402

MEMORY_ENV_SCRIPT = ROOT / "scripts" / "memory_env.sh"
# What scripts/run.sh and run_cluster.sh set for every Rasa process besides scripts/memory_env.sh.
RUN_SH_ENV = {"TF_INTRA_OP_PARALLELISM_THREADS": "1", "TF_INTER_OP_PARALLELISM_THREADS": "1"}
# Before issue 18: konlpy's own JVM heap (1 GB) and glibc's default arenas (8 per core).
BEFORE = {"SOTONG_JVM_MAX_HEAP_MB": "1024", "MALLOC_ARENA_MAX": "", "JAVA_TOOL_OPTIONS": ""}
TARGET_MB = 1024
TURNS = [
    *DEFAULT_UTTERANCES,
    "음식물 쓰레기 배출 요일이 언제예요?",
    "전입신고는 어디서 해요?",
    "배고파요",
    "오늘 날씨 좋네요",
    "도로에 포트홀이 있어요",
    "우리 집 앞에 쓰레기가 무단 투기돼 있어요",
    "민원 접수한 거 어떻게 됐어요?",
    "처음으로",
]
STATUS_FIELDS = ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM")


def proc_memory(pid: int) -> dict[str, float]:
    """A process's memory from /proc/<pid>/status, in MB, and its thread count."""
    status = Path(f"/proc/{pid}/status").read_text()
    figures: dict[str, float] = {}
    for name in STATUS_FIELDS:
        found = re.search(rf"^{name}:\s+(\d+) kB", status, re.M)
        figures[name] = round(int(found.group(1)) / 1024, 1) if found else float("nan")
    threads = re.search(r"^Threads:\s+(\d+)", status, re.M)
    figures["Threads"] = int(threads.group(1)) if threads else 0
    return figures


def make_run_env() -> dict[str, str]:
    """The memory settings `make run` gives every Rasa process: scripts/memory_env.sh, sourced."""
    script = f'set -a; . "{MEMORY_ENV_SCRIPT}"; env -0'
    output = subprocess.run(["bash", "-c", script], env={"PATH": os.environ.get("PATH", "")}, capture_output=True)
    output.check_returncode()
    pairs = (item.split("=", 1) for item in output.stdout.decode().split("\0") if "=" in item)
    return {
        k: v
        for k, v in pairs
        if k.startswith(("MALLOC_", "JAVA_TOOL_OPTIONS", "SOTONG_JVM_", "SOTONG_RASA_INFERENCE_LOAD", "TF_"))
    }


@dataclass
class Variant:
    name: str
    env: dict[str, str]

    @classmethod
    def parse(cls, text: str) -> Variant:
        """``name:KEY=value,KEY=value`` (settings on top of `make run`'s; ``KEY=`` unsets KEY)."""
        name, _, settings = text.partition(":")
        env = {}
        for item in filter(None, (s.strip() for s in settings.split(","))):
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise ValueError(f"not KEY=value: {item!r}")
            env[key] = value
        return cls(name.strip(), env)


def default_variants() -> list[Variant]:
    return [
        Variant("before (konlpy's 1 GB JVM heap)", dict(BEFORE)),
        Variant("make run (scripts/memory_env.sh)", {}),
        Variant("make run + MALLOC_MMAP_THRESHOLD_=128 KB", {"MALLOC_MMAP_THRESHOLD_": "131072"}),
    ]


@dataclass
class VariantStack(RasaStack):
    """A RasaStack whose processes get extra environment settings (an empty value unsets one)."""

    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = {**super().env(), **RUN_SH_ENV, **make_run_env(), **self.extra_env}
        return {k: v for k, v in env.items() if v != ""}

    def pid(self, name: str) -> int:
        process = next(s.process for s in self.services if s.name == name)
        assert process is not None
        return process.pid


def _patient_start(self: Service, timeout: float = 900) -> Service:
    """Service.start with a longer wait: the full model loads in minutes on a busy 2-core machine."""
    return _service_start(self, timeout)


_service_start = Service.start


def traffic_texts(turns: int, long_every: int) -> list[str]:
    """``turns`` messages: the short mix, and every ``long_every``-th one 2,000 characters long."""
    longs = long_texts(2000, max(1, turns // max(long_every, 1)))
    long_mix = [text for pair in zip(longs["spaced"], longs["nospace"]) for text in pair]
    texts = []
    for index in range(turns):
        if long_every and index % long_every == long_every - 1 and long_mix:
            texts.append(long_mix.pop(0))
        else:
            texts.append(TURNS[index % len(TURNS)])
    return texts


async def send_traffic(stack: RasaStack, texts: list[str], users: int) -> dict[str, Any]:
    """The texts over the Kakao endpoint, ``users`` conversations at a time, each in order."""
    tally = Tally()
    stamp = int(time.time())
    timeout = aiohttp.ClientTimeout(total=60)
    headers = {"X-Sotong-Secret": stack.kakao_secret}

    async def user(index: int) -> None:
        for text in texts[index::users]:
            answer = await post_json(
                session, stack.kakao_url, kakao_payload(text, f"bench-memory-{stamp}-{index}"), headers, tally
            )
            tally.deferred += is_deferred(answer)

    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=users)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(user(i) for i in range(users)))
        tally.wall_seconds = time.perf_counter() - started
    figures = tally.figures()
    return {k: figures[k] for k in ("requests", "errors", "deferred", "p50_ms", "p99_ms", "max_ms", "error_samples")}


def measure(variant: Variant, model: Path, texts: list[str], users: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="sotong-memory-"))
    stack = VariantStack(model=model, workdir=workdir, extra_env=variant.env)
    started = time.perf_counter()
    Service.start = _patient_start  # type: ignore[method-assign]
    try:
        stack.start()
        load_seconds = time.perf_counter() - started
        rasa, actions = stack.pid("rasa server"), stack.pid("action server")
        after_load = {"rasa": proc_memory(rasa), "actions": proc_memory(actions)}
        traffic = asyncio.run(send_traffic(stack, texts, users))
        after_traffic = {"rasa": proc_memory(rasa), "actions": proc_memory(actions)}
    finally:
        stack.stop()
    settings = {k: v for k, v in stack.env().items() if k.startswith(("MALLOC_", "SOTONG_JVM_", "TF_INT"))}
    return {
        "variant": variant.name,
        "settings": settings,
        "load_and_warmup_s": round(load_seconds, 1),
        "after_load": after_load,
        "after_traffic": after_traffic,
        "traffic": traffic,
    }


# --- where the memory goes: one process, stage by stage ---------------------------------------------


def model_components(model: Path) -> dict[str, float]:
    """MB of each graph component's files in the model archive (uncompressed)."""
    sizes: dict[str, int] = defaultdict(int)
    with tarfile.open(model) as archive:
        for member in archive.getmembers():
            if member.isfile():
                parts = Path(member.name).parts
                key = parts[1] if len(parts) > 2 and parts[0] == "components" else parts[0]
                sizes[key] += member.size
    return {k: round(v / 2**20, 1) for k, v in sorted(sizes.items(), key=lambda kv: -kv[1]) if v >= 2**20}


def stage_probe(model: str) -> None:
    """Run in a child process: prints one JSON line per stage with the process's memory."""
    pid = os.getpid()

    def stage(name: str, **extra: Any) -> None:
        print(json.dumps({"stage": name, **proc_memory(pid), **extra}), flush=True)

    stage("python")
    import tensorflow  # noqa: F401

    stage("import tensorflow")
    import rasa.core.agent

    from bot.rasa_ext import install

    install()
    stage("import rasa, Sotong's patches")
    import jpype  # type: ignore[import-untyped]

    from bot.nlu.analyzers import get_analyzer

    get_analyzer("okt").pos("안녕하세요")
    runtime = jpype.java.lang.Runtime.getRuntime()
    heap = {"jvm_heap_committed_mb": runtime.totalMemory() >> 20, "jvm_heap_max_mb": runtime.maxMemory() >> 20}
    stage("JVM and Okt started (one short text)", **heap)
    agent = rasa.core.agent.Agent.load(model)
    stage("model loaded (all components)")
    asyncio.run(agent.parse_message("안녕하세요"))
    stage("first parse")
    for text in TURNS:
        asyncio.run(agent.parse_message(text))
    for text in long_texts(2000, 4)["nospace"]:
        asyncio.run(agent.parse_message(text))
    heap["jvm_heap_committed_mb"] = runtime.totalMemory() >> 20
    heap["jvm_heap_used_mb"] = (runtime.totalMemory() - runtime.freeMemory()) >> 20
    stage("parsed the short mix and 4 × 2,000 characters", **heap)


def breakdown(model: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    command = [sys.executable, "-c", f"from bench.memory import stage_probe; stage_probe({str(model)!r})"]
    output = subprocess.run(command, cwd=ROOT, env=base_env(**env), capture_output=True, text=True, timeout=900)
    stages = [json.loads(line) for line in output.stdout.splitlines() if line.startswith("{")]
    if output.returncode != 0:
        print(output.stderr[-2000:], file=sys.stderr)
    return stages


# --- report -----------------------------------------------------------------------------------------


def print_report(report: dict[str, Any]) -> None:
    print(f"\nmodel {report['model']}, {report['turns']} Kakao turns, {report['users']} users at a time")
    print(f"load average at start {report['load_average_start']}, at end {report['load_average_end']}\n")
    header = "| variant | Rasa RSS after load (anon / file) | Rasa RSS after traffic (anon / file) | Rasa peak | threads | action server RSS after traffic | p50 / p99 ms | errors |"
    print(header)
    print("|" + "---|" * header.count(" | ") + "---|")
    for row in report["rows"]:
        load, traffic = row["after_load"]["rasa"], row["after_traffic"]["rasa"]
        t = row["traffic"]
        print(
            f"| {row['variant']} | {load['VmRSS']:.0f} ({load['RssAnon']:.0f} / {load['RssFile']:.0f}) "
            f"| {traffic['VmRSS']:.0f} ({traffic['RssAnon']:.0f} / {traffic['RssFile']:.0f}) "
            f"| {traffic['VmHWM']:.0f} | {traffic['Threads']} | {row['after_traffic']['actions']['VmRSS']:.0f} "
            f"| {t['p50_ms']:.0f} / {t['p99_ms']:.0f} | {t['errors']} |"
        )
    for row in report["rows"]:
        print(f"  {row['variant']}: {row['settings']}")
        for sample in row["traffic"]["error_samples"]:
            print(f"    error: {sample}")
    if report.get("breakdown"):
        print(
            "\nOne process, stage by stage (MB):\n\n| stage | RSS | anon | file | threads | JVM heap |\n|---|---|---|---|---|---|"
        )
        for s in report["breakdown"]:
            jvm = ", ".join(f"{k[8:-3]} {v}" for k, v in s.items() if k.startswith("jvm_heap"))
            print(
                f"| {s['stage']} | {s['VmRSS']:.0f} | {s['RssAnon']:.0f} | {s['RssFile']:.0f} | {s['Threads']} | {jvm} |"
            )
        print("\nModel archive, MB per component (uncompressed): " + json.dumps(report["model_components"]))
    best = min(r["after_traffic"]["rasa"]["VmRSS"] for r in report["rows"])
    print(
        f"\n[{'ok' if best <= TARGET_MB else 'MISSED'}] a Rasa process <= {TARGET_MB} MB RSS after traffic (best row: {best:.0f} MB)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, help="default: the newest in models/")
    parser.add_argument("--variant", action="append", help="name:KEY=value,... (repeatable; default: a built-in set)")
    parser.add_argument("--turns", type=int, default=300, help="Kakao turns per variant (max 2000)")
    parser.add_argument("--users", type=int, default=5, help="conversations at a time (max 50)")
    parser.add_argument("--long-every", type=int, default=50, help="every N-th turn is 2,000 characters (0: none)")
    parser.add_argument("--breakdown", action="store_true", help="also: stage by stage in one process")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    if not 1 <= args.turns <= 2000 or not 1 <= args.users <= 50 or args.long_every < 0:
        parser.error("--turns must be 1-2000, --users 1-50, --long-every 0 or more")
    variants = [Variant.parse(v) for v in args.variant] if args.variant else default_variants()
    model = (args.model or newest_model()).resolve()
    # A copy: a `make train` or `make clean-models` meanwhile must not pull the model from under the run.
    model_copy = Path(tempfile.mkdtemp(prefix="sotong-memory-model-")) / model.name
    shutil.copyfile(model, model_copy)
    from bot.privacy.encryption import KEY_ENV, new_key

    os.environ.setdefault(KEY_ENV, new_key())  # contact numbers at rest: a key for this run
    texts = traffic_texts(args.turns, args.long_every)
    report: dict[str, Any] = {
        "model": str(model.relative_to(ROOT) if model.is_relative_to(ROOT) else model),
        "turns": args.turns,
        "users": args.users,
        "load_average_start": os.getloadavg(),
        "rows": [],
    }
    for variant in variants:
        print(f"measuring {variant.name} ...", flush=True)
        report["rows"].append(measure(variant, model_copy, texts, args.users))
        write_report(report, args.json_out)  # each row as soon as it is measured
    if args.breakdown:
        report["breakdown"] = breakdown(model_copy, {**RUN_SH_ENV, **make_run_env()})
        report["model_components"] = model_components(model)
    report["load_average_end"] = os.getloadavg()
    shutil.rmtree(model_copy.parent)
    print_report(report)
    write_report(report, args.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
