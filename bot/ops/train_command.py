"""The one `rasa train` command line of the project: Rasa's training through bot.server.

`python -m bot.server train ...` is `rasa train ...` after bot.rasa_ext.install(), so the training
speed-ups (bot/rasa_ext/training_speedups.py) apply wherever a model is trained: `make train`
(bot/ops/progress.py), the test model (tests/stack.py), bench/train_time.py and
bench/nlu_compare.py.
"""

from __future__ import annotations

import sys
from pathlib import Path


def rasa_train_command(config: Path | str, out: Path | str, *extra: str, nlu_only: bool = False) -> list[str]:
    """argv for training `config` with the project's domain and data into the folder `out`."""
    what = ["train", "nlu", "--nlu", "data"] if nlu_only else ["train", "--data", "data"]
    return [
        sys.executable,
        "-m",
        "bot.server",
        *what,
        "--config",
        str(config),
        "--domain",
        "domain.yml",
        "--out",
        str(out),
        *extra,
    ]
