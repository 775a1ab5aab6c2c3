"""Loading the project's NLU data and pipeline settings for the trainer tools."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.rasa_ext import training_speedups

ROOT = Path(__file__).resolve().parents[2]
NLU_DIR = ROOT / "data" / "nlu"
CONFIG = ROOT / "config.yml"
TOKENIZER_NAME = "bot.nlu.korean_tokenizer.KoreanTokenizer"


def load_nlu(path: Path | str = NLU_DIR) -> TrainingData:
    """Rasa's own reader over a file or a folder of NLU YAML, with the cached schema validators of
    bot.rasa_ext.training_speedups (data/nlu: 5.0 s -> about 1 s; the same data, the same errors)."""
    training_speedups.install_schema_validators()
    return load_data(str(path), language="ko")


def tokenizer_settings(config_path: Path = CONFIG) -> dict[str, Any]:
    """The Korean tokenizer's entry in config.yml (raises when it is missing)."""
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    for component in config.get("pipeline", []):
        if component.get("name") == TOKENIZER_NAME:
            return component
    raise ValueError(f"{config_path} has no {TOKENIZER_NAME} in its pipeline")
