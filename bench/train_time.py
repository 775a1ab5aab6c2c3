"""A from-scratch `make train` timed, with where the time goes (issue 14, point 8: <= 5 minutes).

    python bench/train_time.py                       # config.yml, domain.yml, data/
    python bench/train_time.py --config /tmp/variant.yml --json-out reports/train_time.json

Runs the same `rasa train` as `make train`, into a temporary folder with an empty training
cache (nothing reused), and stamps every line of Rasa's log as it arrives. Reported: the total
wall time, the time before the first component starts (imports, reading the data), and each
component's training time from Rasa's "Starting/Finished training component" lines; with the
commit the data comes from and the machine's load average at start and end, since the 2 cores
are often shared.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
_STEP = re.compile(r"(Starting|Finished) training component '([^']+)'")


def timed_training(config: Path, workdir: Path) -> Dict[str, Any]:
    env = dict(os.environ, RASA_CACHE_DIRECTORY=str(workdir / "cache"), TF_CPP_MIN_LOG_LEVEL="3",
               RASA_TELEMETRY_ENABLED="false", PYTHONPATH=str(ROOT))
    command = [str(ROOT / ".venv" / "bin" / "rasa"), "train", "--config", str(config), "--domain", "domain.yml",
               "--data", "data", "--out", str(workdir / "models")]
    started = time.perf_counter()
    begun: Dict[str, float] = {}
    components: List[Dict[str, Any]] = []
    first_component: Optional[float] = None
    log_tail: List[str] = []
    with subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace") as process:
        for line in process.stdout:
            now = time.perf_counter() - started
            log_tail = (log_tail + [line.rstrip()])[-20:]
            match = _STEP.search(line)
            if not match:
                continue
            kind, name = match.groups()
            if kind == "Starting":
                begun[name] = now
                first_component = now if first_component is None else first_component
            elif name in begun:
                components.append({"component": name, "seconds": round(now - begun.pop(name), 1)})
    total = time.perf_counter() - started
    if process.returncode:
        raise SystemExit("rasa train failed:\n" + "\n".join(log_tail))
    return {"total_seconds": round(total, 1), "before_first_component_seconds": round(first_component or 0, 1),
            "components": sorted(components, key=lambda c: -c["seconds"])}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--model-out", type=Path, help="keep the trained model here (e.g. to evaluate it)")
    args = parser.parse_args(argv)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="sotong-train-") as tmp:
        report = timed_training(args.config.resolve(), Path(tmp))
        if args.model_out:
            shutil.move(str(next((Path(tmp) / "models").glob("*.tar.gz"))), args.model_out)
    report.update(config=str(args.config), commit=commit, cpus=os.cpu_count(),
                  load_average_start=round(load_before, 1), load_average_end=round(os.getloadavg()[0], 1),
                  date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    print(f"\nrasa train from scratch ({report['config']}, commit {commit}, {report['cpus']} CPUs, "
          f"load average {report['load_average_start']} -> {report['load_average_end']})")
    print(f"  total {report['total_seconds']} s ({report['total_seconds'] / 60:.1f} min); "
          f"{report['before_first_component_seconds']} s before the first component")
    for component in report["components"]:
        print(f"  {component['seconds']:>8} s  {component['component']}")
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
