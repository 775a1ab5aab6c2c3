"""`python -m bot.ops.progress train` (issue 15 point 11) around a real process that prints what
`rasa train` prints: component log lines and tqdm epoch bars redrawn with carriage returns."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.ops.progress import TrainingMonitor, planned_epochs
from tests.stack import ROOT, VENV_BIN, base_env

pytestmark = pytest.mark.integration  # runs the training wrapper as a process

FAKE_TRAINER = textwrap.dedent("""
    import sys, time
    def log(text):
        print(f"2026-12-02 10:00:00 INFO     rasa.engine.training.hooks  - {text}", file=sys.stderr, flush=True)
    for i in range(40):
        print(f"noise line {i}: WARNING tensorflow deprecation", flush=True)
    log("Restored component 'CountVectorsFeaturizer' from cache.")
    log("Starting to train component 'DIETClassifier'.")
    for epoch in range(1, 6):
        bar = "#" * epoch
        sys.stderr.write(f"\\rEpochs: {epoch * 20:3d}%|{bar:<5}| {epoch}/5 [00:0{epoch}<00:01, 1.00it/s, t_loss=1.2]")
        sys.stderr.flush()
        time.sleep(0.3)
    sys.stderr.write("\\n")
    log("Finished training component 'DIETClassifier'.")
    if len(sys.argv) > 1:
        print("Traceback: something broke", flush=True)
        sys.exit(int(sys.argv[1]))
    print("Your Rasa model is trained and saved at 'models/20261202-100000-test.tar.gz'.", flush=True)
""")

CONFIG = "pipeline:\n  - name: bot.x.DIETClassifier\n    epochs: 5\n  - name: CountVectorsFeaturizer\npolicies:\n  - name: TEDPolicy\n    epochs: 4\n"


def progress_command(tmp_path: Path, *fake_args: str):
    (tmp_path / "fake_train.py").write_text(FAKE_TRAINER)
    (tmp_path / "config.yml").write_text(CONFIG)
    return [
        str(VENV_BIN / "python"),
        "-m",
        "bot.ops.progress",
        "train",
        "--log",
        str(tmp_path / "log" / "train.log"),
        "--config",
        str(tmp_path / "config.yml"),
        "--",
        sys.executable,
        str(tmp_path / "fake_train.py"),
        *fake_args,
    ]


def test_a_line_per_component_when_not_on_a_terminal_and_everything_in_the_log(tmp_path):
    result = subprocess.run(
        progress_command(tmp_path), cwd=ROOT, env=base_env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"training: starting (full log: {tmp_path / 'log' / 'train.log'})"
    assert lines[1] == "training: DIETClassifier (5 epochs)"
    assert lines[2].startswith("training: done in ") and lines[2].endswith("model models/20261202-100000-test.tar.gz")
    assert len(lines) == 3 and "\r" not in result.stdout
    log = (tmp_path / "log" / "train.log").read_text()
    assert "noise line 39" in log and "5/5" in log and "Finished training component" in log


def test_on_a_terminal_one_line_is_redrawn_with_the_epoch_and_time_left(tmp_path):
    primary, secondary = pty.openpty()
    process = subprocess.Popen(progress_command(tmp_path), cwd=ROOT, env=base_env(), stdout=secondary, stderr=secondary)
    os.close(secondary)
    output = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        output += chunk
    assert process.wait(timeout=60) == 0
    text = output.decode()
    assert "\r\x1b[Ktraining: DIETClassifier epoch " in text
    assert "/5, about " in text and " left" in text
    assert "noise line" not in text and "Epochs:" not in text
    assert text.rstrip().splitlines()[-1].split("\x1b[K")[-1].startswith("training: done in ")


def test_a_failure_shows_the_end_of_the_log_and_where_it_is(tmp_path):
    result = subprocess.run(
        progress_command(tmp_path, "3"), cwd=ROOT, env=base_env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 3
    assert "training: failed after" in result.stdout
    assert "Traceback: something broke" in result.stdout
    assert f"Full log: {tmp_path / 'log' / 'train.log'}" in result.stdout
    assert "noise line 39" in result.stdout and "noise line 10" not in result.stdout  # the last 30 lines


def test_the_estimate_counts_the_epochs_still_to_run_at_the_measured_pace(tmp_path):
    (tmp_path / "config.yml").write_text(CONFIG)
    assert planned_epochs(tmp_path / "config.yml") == {"DIETClassifier": 5, "TEDPolicy": 4}
    assert set(planned_epochs(ROOT / "config.yml")) == {"BucketedDIETClassifier", "GatedResponseSelector", "TEDPolicy"}
    monitor = TrainingMonitor({"DIETClassifier": 50, "GatedResponseSelector": 40, "TEDPolicy": 40}, started_at=0)
    assert monitor.status(30) == "training: preparing, 30 s so far"
    monitor.feed("INFO  - Starting to train component 'DIETClassifier'.", 40)
    monitor.feed("Epochs:   0%|          | 0/50 [00:00<?, ?it/s]", 40)
    assert monitor.status(45) == "training: DIETClassifier epoch 0/50, 45 s so far"
    monitor.feed("Epochs:  20%|██        | 10/50 [00:20<01:20, 0.5it/s, t_loss=3.1]", 60)
    # 2 s an epoch; 40 + 40 + 40 epochs to go
    assert monitor.status(60) == "training: DIETClassifier epoch 10/50, about 4 min left"
    monitor.feed("Epochs: 100%|██████████| 50/50 [01:40<00:00, 0.5it/s]", 140)
    monitor.feed("INFO  - Finished training component 'DIETClassifier'.", 140)
    monitor.feed("INFO  - Restored component 'GatedResponseSelector' from cache.", 141)
    monitor.feed("INFO  - Starting to train component 'TEDPolicy'.", 142)
    assert monitor.status(142) == "training: TEDPolicy, about 80 s left"  # 40 epochs at 2 s


# --- the stages of make run (scripts/stage.sh) and the supervisor's logs (scripts/supervise.sh) ---


def test_a_stage_is_one_line_and_a_failed_one_shows_the_end_of_its_log(tmp_path):
    script = (
        '. scripts/stage.sh; run_stage "first: fine" "$DIR/log/a.log" echo hidden; '
        'run_stage "second: breaks" "$DIR/log/b.log" bash -c \'for i in $(seq 1 40); do echo line $i; done; exit 4\'; '
        'echo "not reached"'
    )
    result = subprocess.run(
        ["bash", "-euc", script], cwd=ROOT, env=base_env(DIR=str(tmp_path)), capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 4
    assert result.stdout.splitlines() == ["first: fine ... done (0 s)", "second: breaks ... failed (status 4)"]
    assert "hidden" in (tmp_path / "log" / "a.log").read_text()
    errors = result.stderr.splitlines()
    assert errors[0] == f"Last 30 lines of {tmp_path}/log/b.log:"
    assert errors[1:-1] == [f"  line {i}" for i in range(11, 41)]
    assert errors[-1] == f"Full log: {tmp_path}/log/b.log"


SUPERVISED = """
. scripts/supervise.sh
stop_supervised_on_exit
supervise crasher bash -c 'echo "crasher output $RANDOM"; exit 3'
sleep 2
"""


def test_supervised_output_goes_to_its_log_and_the_first_crash_shows_its_end(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "log").mkdir()
    env = base_env(RUN_DIR=str(tmp_path / "run"), LOG_DIR=str(tmp_path / "log"), SOTONG_RESTART_DELAY="0.3")
    result = subprocess.run(["bash", "-euc", SUPERVISED], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert result.stdout == ""
    log = (tmp_path / "log" / "crasher.log").read_text()
    assert log.count("supervise: starting crasher") >= 2 and log.count("crasher output") >= 2
    restarts = [
        line for line in result.stderr.splitlines() if "exited with status 3" in line and not line.startswith("  ")
    ]  # not the lines of the log's end
    assert len(restarts) >= 2 and all(line.endswith(f"(log: {tmp_path}/log/crasher.log)") for line in restarts)
    assert result.stderr.count("Last 30 lines of") == 1  # the first crash only
    assert "crasher output" in result.stderr
