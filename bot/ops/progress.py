"""`rasa train` with one line of progress instead of thousands (issue 15 point 11).

    python -m bot.ops.progress train [--log var/log/train.log] [--config config.yml] [-- COMMAND...]

Runs COMMAND (default: `python -m bot.server train --config config.yml --domain domain.yml --data
data --out models`, bot/ops/train_command.py, as `make train`) with all of its output in the log
file, and shows

    training: BucketedDIETClassifier epoch 23/50, about 2 min left

updated in place on a terminal. The estimate: the epochs still to run, of the component being
trained and of those not trained yet (their `epochs` in the config; a component Rasa restores from
its cache costs nothing), times the seconds per epoch measured so far. When the output is not a
terminal (CI, a pipe), one line per component instead. When training fails, the last lines of
the log and where the whole log is; the exit status is the command's.
"""

from __future__ import annotations

import argparse
import os
import re
import select
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import yaml

from bot.ops.train_command import rasa_train_command

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_LOG = Path("var/log/train.log")
FAILURE_TAIL_LINES = 30
REFRESH_SECONDS = 1.0

_STARTED = re.compile(r"Starting to train component '([^']+)'")
_FINISHED = re.compile(r"(?:Finished training|Restored) component '([^']+)'")
_EPOCHS = re.compile(r"Epochs:\s+\d+%\|[^|]*\|\s*(\d+)/(\d+)")
_SAVED = re.compile(r"model is trained and saved at '([^']+)'")


def planned_epochs(config_path: Path) -> dict[str, int]:
    """Epochs of each component of the config that trains in epochs, by the class name Rasa logs."""
    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    plan: dict[str, int] = {}
    for item in (config.get("pipeline") or []) + (config.get("policies") or []):
        if isinstance(item, dict) and isinstance(item.get("epochs"), int):
            plan[str(item["name"]).rsplit(".", 1)[-1]] = item["epochs"]
    return plan


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    return f"{seconds / 60:.0f} min"


@dataclass
class TrainingMonitor:
    """Rasa's training output in, a one-line status out."""

    plan: dict[str, int]
    started_at: float
    component: str | None = None
    epoch: int = 0
    epochs: int = 0
    finished: list[str] = field(default_factory=list)
    model: str | None = None
    epoch_seconds: float = 0.0  # spent in finished epochs
    epochs_done: int = 0
    _component_epoch_started: float = 0.0
    _epoch_base: int = 0

    def feed(self, line: str, now: float) -> bool:
        """Take one line (or progress-bar update); True when a new component started."""
        if match := _EPOCHS.search(line):
            epoch, epochs = int(match.group(1)), int(match.group(2))
            if self.epochs == 0:  # first bar of this component
                self._component_epoch_started, self._epoch_base = now, epoch
            self.epoch, self.epochs = epoch, epochs
            return False
        if match := _STARTED.search(line):
            self._close_component(now)
            self.component = match.group(1)
            return True
        if match := _FINISHED.search(line):
            if match.group(1) == self.component:
                self._close_component(now)
            if match.group(1) not in self.finished:
                self.finished.append(match.group(1))
            return False
        if match := _SAVED.search(line):
            self.model = match.group(1)
        return False

    def _close_component(self, now: float) -> None:
        if self.component and self.epochs:
            self.epoch_seconds += now - self._component_epoch_started
            self.epochs_done += self.epoch - self._epoch_base
        if self.component and self.component not in self.finished:
            self.finished.append(self.component)
        self.component, self.epoch, self.epochs = None, 0, 0

    def seconds_per_epoch(self, now: float) -> float | None:
        seconds, done = self.epoch_seconds, self.epochs_done
        if self.epochs and self.epoch > self._epoch_base:
            seconds += now - self._component_epoch_started
            done += self.epoch - self._epoch_base
        return seconds / done if done else None

    def remaining_epochs(self) -> int:
        current = max(self.epochs - self.epoch, 0) if self.epochs else self.plan.get(self.component or "", 0)
        later = sum(
            epochs for name, epochs in self.plan.items() if name != self.component and name not in self.finished
        )
        return current + later

    def status(self, now: float) -> str:
        elapsed = now - self.started_at
        if self.component is None:
            return f"training: preparing, {_duration(elapsed)} so far"
        text = f"training: {self.component}"
        if self.epochs:
            text += f" epoch {self.epoch}/{self.epochs}"
        rate = self.seconds_per_epoch(now)
        if rate is not None:
            text += f", about {_duration(rate * self.remaining_epochs())} left"
        else:
            text += f", {_duration(elapsed)} so far"
        return text

    def component_line(self) -> str:
        epochs = self.plan.get(self.component or "")
        return f"training: {self.component}" + (f" ({epochs} epochs)" if epochs else "")


def print_failure(log: Path, what: str, out: TextIO = sys.stderr, lines: int = FAILURE_TAIL_LINES) -> None:
    """The last lines of a failed stage's log, and where the whole log is."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    tail = [line for line in re.split(r"[\r\n]+", text) if line.strip()][-lines:]
    print(f"\n{what} failed. Last {len(tail)} lines of {log}:", file=out)
    for line in tail:
        print(f"  {line}", file=out)
    print(f"Full log: {log}", file=out, flush=True)


class StatusLine:
    """One line rewritten in place on a terminal; on anything else, only the lines asked for."""

    def __init__(self, out: TextIO):
        self._out = out
        self.live = out.isatty()
        self._shown = False

    def update(self, text: str) -> None:
        if self.live:
            self._out.write("\r\033[K" + text)
            self._out.flush()
            self._shown = True

    def line(self, text: str) -> None:
        if self.live:
            self.update(text)
        else:
            self._out.write(text + "\n")
            self._out.flush()

    def end(self, text: str) -> None:
        if self.live and self._shown:
            self._out.write("\r\033[K")
        self._out.write(text + "\n")
        self._out.flush()


def run_training(
    command: Sequence[str], log: Path, plan: dict[str, int], out: TextIO = sys.stdout, clock=time.monotonic
) -> int:
    log.parent.mkdir(parents=True, exist_ok=True)
    started = clock()
    monitor = TrainingMonitor(plan, started)
    status = StatusLine(out)
    status.line(f"training: starting (full log: {log})")
    pending = ""
    with open(log, "wb") as log_file:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert process.stdout is not None
        descriptor = process.stdout.fileno()
        last_shown = 0.0
        while True:
            ready, _, _ = select.select([descriptor], [], [], REFRESH_SECONDS)
            chunk = os.read(descriptor, 65536) if ready else b""
            if ready and not chunk:
                break
            log_file.write(chunk)
            log_file.flush()
            pieces = re.split(r"[\r\n]", pending + chunk.decode("utf-8", errors="replace"))
            pending = pieces.pop()
            now = clock()
            for piece in pieces:
                if monitor.feed(piece, now) and not status.live:
                    status.line(monitor.component_line())
            if pending and _EPOCHS.search(pending):  # a bar being redrawn: its latest state
                monitor.feed(pending, now)
            if status.live and now - last_shown >= REFRESH_SECONDS / 2:
                status.update(monitor.status(now))
                last_shown = now
        monitor.feed(pending, clock())
        code = process.wait()
    elapsed = clock() - started
    if code != 0:
        status.end(f"training: failed after {_duration(elapsed)}")
        print_failure(log, "Training", out=out)
        return code
    status.end(f"training: done in {_duration(elapsed)}" + (f", model {monitor.model}" if monitor.model else ""))
    return 0


def _train(args) -> int:
    command = args.command or rasa_train_command(args.config, "models")
    return run_training(command, args.log, planned_epochs(args.config))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.ops.progress", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command_name", required=True)
    train = commands.add_parser("train", help="rasa train with a progress line")
    train.add_argument("--log", type=Path, default=DEFAULT_LOG)
    train.add_argument("--config", type=Path, default=Path("config.yml"))
    train.add_argument("command", nargs=argparse.REMAINDER, help="-- and the command (default: rasa train)")
    args = parser.parse_args(argv)
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    try:
        return _train(args)
    except KeyboardInterrupt:
        print("\ntraining: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
