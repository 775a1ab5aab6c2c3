"""A from-scratch `make train` timed, with where the time goes (issue 14, point 8: <= 5 minutes).

    python bench/train_time.py                       # config.yml, domain.yml, data/
    python bench/train_time.py --config /tmp/variant.yml --json-out reports/train_time.json

Runs the same `rasa train` as `make train`, into a temporary folder with an empty training
cache (nothing reused), and stamps every line of Rasa's log as it arrives. Reported: the total
wall time, the CPU time Rasa used (user + system, both cores: steadier than the wall time when
other jobs share the machine), the time before the first component starts (imports, reading the
data), and each
component's training time from Rasa's "Starting to train / Finished training component" lines,
and the time after the last component (writing the model's .tar.gz); with the
commit the data comes from and the machine's load average at start and end, since the 2 cores
are often shared.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.ops.train_command import rasa_train_command

ROOT = Path(__file__).resolve().parents[1]
# Rasa 3.6's LoggingHook (rasa/engine/training/hooks.py), INFO level.
_STEP = re.compile(r"(Starting to train|Finished training) component '([^']+)'")


def timed_training(config: Path, workdir: Path, log: Path | None = None) -> dict[str, Any]:
    env = dict(
        os.environ,
        RASA_CACHE_DIRECTORY=str(workdir / "cache"),
        TF_CPP_MIN_LOG_LEVEL="3",
        RASA_TELEMETRY_ENABLED="false",
        PYTHONPATH=str(ROOT),
    )
    command = rasa_train_command(config, workdir / "models")
    started = time.perf_counter()
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    begun: dict[str, float] = {}
    components: list[dict[str, Any]] = []
    first_component: float | None = None
    last_finished = 0.0
    log_tail: list[str] = []
    with subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    ) as process:
        log_file = log.open("w", encoding="utf-8", buffering=1) if log else None
        for line in process.stdout:
            now = time.perf_counter() - started
            if log_file:
                log_file.write(f"{now:8.1f} {line}")
            log_tail = (log_tail + [line.rstrip()])[-20:]
            match = _STEP.search(line)
            if not match:
                continue
            kind, name = match.groups()
            if kind.startswith("Starting"):
                begun[name] = now
                first_component = now if first_component is None else first_component
            elif name in begun:
                components.append({"component": name, "seconds": round(now - begun.pop(name), 1)})
                last_finished = now
        if log_file:
            log_file.close()
    total = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (usage.ru_utime - usage_before.ru_utime) + (usage.ru_stime - usage_before.ru_stime)
    if process.returncode:
        raise SystemExit("rasa train failed:\n" + "\n".join(log_tail))
    if not components:
        raise SystemExit(
            "no component timings found in Rasa's log (has the log line changed?):\n" + "\n".join(log_tail)
        )
    return {
        "total_seconds": round(total, 1),
        "cpu_seconds": round(cpu, 1),
        "before_first_component_seconds": round(first_component or 0, 1),
        "after_last_component_seconds": round(total - last_finished, 1),
        "components": sorted(components, key=lambda c: -c["seconds"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--model-out", type=Path, help="keep the trained model here (e.g. to evaluate it)")
    parser.add_argument("--log", type=Path, help="write Rasa's whole log here, each line stamped with its second")
    args = parser.parse_args(argv)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="sotong-train-") as tmp:
        report = timed_training(args.config.resolve(), Path(tmp), args.log)
        if args.model_out:
            shutil.move(str(next((Path(tmp) / "models").glob("*.tar.gz"))), args.model_out)
    report.update(
        config=str(args.config),
        commit=commit,
        cpus=os.cpu_count(),
        load_average_start=round(load_before, 1),
        load_average_end=round(os.getloadavg()[0], 1),
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    )
    print(
        f"\nrasa train from scratch ({report['config']}, commit {commit}, {report['cpus']} CPUs, "
        f"load average {report['load_average_start']} -> {report['load_average_end']})"
    )
    print(
        f"  total {report['total_seconds']} s ({report['total_seconds'] / 60:.1f} min); "
        f"{report['before_first_component_seconds']} s before the first component, "
        f"{report['after_last_component_seconds']} s after the last (packing the model); "
        f"{report['cpu_seconds']} s of CPU time (both cores)"
    )
    for component in report["components"]:
        print(f"  {component['seconds']:>8} s  {component['component']}")
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
