"""Rasa's TensorFlow models loaded for answering only (bot/rasa_ext/inference_load.py, issue 18
point 3): the same predictions as Rasa's own load, with fewer TensorFlow variables and less memory.

Each load runs in its own Python process (`python -m tests.bot.rasa_ext.test_inference_load`),
with bot.rasa_ext.install() and SOTONG_RASA_INFERENCE_LOAD=1 or 0, so that the memory figures of
the two are comparable and the patch of one does not leak into the other."""

from __future__ import annotations

import asyncio
import gc
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from tests.stack import ROOT, base_env

HOLDOUT = ROOT / "tests" / "nlu_holdout.yml"
MESSAGES_PER_INTENT = 2
ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")  # [text](entity) and [text]{...}
EXTRA_MESSAGES = (
    "",  # an empty message
    "ㅋ",
    "주엽역 앞 보안등이 꺼져서 밤에 너무 어두워요 빨리 고쳐 주세요 " * 20,  # a long one
    "불이야!! 아파트 3층에서 연기가 나요",
    "hello can you speak English?",
)


def sample_messages() -> list[str]:
    """A few held-out examples of every intent (entity annotations removed), and some odd ones."""
    messages = []
    for block in yaml.safe_load(HOLDOUT.read_text(encoding="utf-8"))["nlu"]:
        examples = [line[2:].strip() for line in block["examples"].splitlines() if line.startswith("- ")]
        messages += [ANNOTATION.sub(r"\1", example) for example in examples[:MESSAGES_PER_INTENT]]
    return messages + list(EXTRA_MESSAGES)


# ------------------------------------------------------------------------------ the probe process


def _rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]


def _tensorflow_variables() -> dict[str, float]:
    import tensorflow as tf

    gc.collect()
    variables = [obj for obj in gc.get_objects() if isinstance(obj, tf.Variable)]
    size = sum(int(np.prod(v.shape)) * v.dtype.size for v in variables)
    return {"count": len(variables), "mb": size / 2**20}


def _ted_policies(agent: Any) -> list[Any]:
    from rasa.core.policies.ted_policy import TEDPolicy

    nodes = agent.processor.graph_runner._instantiated_nodes.values()
    return [node._component for node in nodes if isinstance(node._component, TEDPolicy)]


def _ted_probabilities(agent: Any, text: str, parsed: dict[str, Any]) -> list[list[float]]:
    from rasa.shared.core.constants import ACTION_LISTEN_NAME
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    events = [ActionExecuted(ACTION_LISTEN_NAME), UserUttered(text, parsed["intent"], parsed["entities"], parsed)]
    tracker = DialogueStateTracker.from_events("probe", events, slots=agent.domain.slots)
    return [ted.predict_action_probabilities(tracker, agent.domain).probabilities for ted in _ted_policies(agent)]


def probe(model: str, messages: list[str]) -> dict[str, Any]:
    """Loads `model` as the Rasa server does and returns its answers to `messages`, the
    TensorFlow variables alive and the process's RSS."""
    import bot.rasa_ext
    from bot.rasa_ext.speedups import release_free_heap

    bot.rasa_ext.install()
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    release_free_heap()
    rss = _rss_mb()
    answers = []
    for text in messages:
        parsed = asyncio.run(agent.parse_message(text))
        answers.append(
            {
                "text": text,
                "intent_ranking": {item["name"]: item["confidence"] for item in parsed.get("intent_ranking", [])},
                "entities": parsed["entities"],
                "response_selector": parsed.get("response_selector", {}),
                "ted": _ted_probabilities(agent, text, parsed),
            }
        )
    return {
        "answers": answers,
        "variables": _tensorflow_variables(),
        "rss_mb": rss,
        "patched": bot.rasa_ext.inference_load.installed(),
    }


def run_probe(model: Path, inference_load: bool, messages: list[str]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "tests.bot.rasa_ext.test_inference_load", str(model), json.dumps(messages)],
        cwd=ROOT,
        env=base_env(SOTONG_RASA_INFERENCE_LOAD="1" if inference_load else "0"),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------ the comparison


def assert_close(ours: Any, rasa: Any, where: str) -> None:
    """Same structure, same strings, numbers equal up to float32 rounding."""
    if isinstance(rasa, dict):
        assert isinstance(ours, dict) and ours.keys() == rasa.keys(), f"{where}: {ours!r} != {rasa!r}"
        for key in rasa:
            assert_close(ours[key], rasa[key], f"{where}.{key}")
    elif isinstance(rasa, list) and rasa and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in rasa):
        assert np.allclose(ours, rasa, rtol=1e-5, atol=1e-6), f"{where}: {ours!r} != {rasa!r}"
    elif isinstance(rasa, list):
        assert isinstance(ours, list) and len(ours) == len(rasa), f"{where}: {ours!r} != {rasa!r}"
        for index, (mine, theirs) in enumerate(zip(ours, rasa)):
            assert_close(mine, theirs, f"{where}[{index}]")
    elif isinstance(rasa, float):
        assert np.isclose(ours, rasa, rtol=1e-5, atol=1e-6), f"{where}: {ours!r} != {rasa!r}"
    else:
        assert ours == rasa, f"{where}: {ours!r} != {rasa!r}"


@pytest.fixture(scope="module")
def both_loads(trained_model: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    messages = sample_messages()
    return run_probe(trained_model, True, messages), run_probe(trained_model, False, messages)


def test_the_answers_are_those_of_rasas_load(both_loads):
    ours, rasa = both_loads
    assert ours["patched"] and not rasa["patched"]
    assert len(rasa["answers"]) >= 30
    assert any(answer["entities"] for answer in rasa["answers"])
    assert any(answer["response_selector"] for answer in rasa["answers"])
    for mine, theirs in zip(ours["answers"], rasa["answers"], strict=True):
        assert_close(mine, theirs, repr(theirs["text"][:40]))


def test_fewer_variables_and_less_memory(both_loads):
    ours, rasa = both_loads
    print(f"inference load: {ours['variables']}, RSS {ours['rss_mb']:.0f} MB")
    print(f"Rasa's load: {rasa['variables']}, RSS {rasa['rss_mb']:.0f} MB")
    # Adam keeps two slots per trainable variable: Rasa's load holds about three times the weights.
    assert ours["variables"]["mb"] < rasa["variables"]["mb"] / 2
    assert ours["variables"]["count"] < rasa["variables"]["count"] / 2
    assert ours["rss_mb"] < rasa["rss_mb"]


# The project's models have no TED model (its dialogues are rules), so TED gets a tiny one here.
TINY_DOMAIN = """
version: "3.1"
intents: [greet, ask_hours, thank, goodbye]
responses:
  utter_greet: [{text: "안녕하세요"}]
  utter_hours: [{text: "9시부터 6시까지예요"}]
  utter_welcome: [{text: "천만에요"}]
  utter_goodbye: [{text: "안녕히 가세요"}]
"""
TINY_STORIES = """
version: "3.1"
stories:
- story: hours
  steps: [{intent: greet}, {action: utter_greet}, {intent: ask_hours}, {action: utter_hours},
          {intent: thank}, {action: utter_welcome}]
- story: goodbye
  steps: [{intent: greet}, {action: utter_greet}, {intent: goodbye}, {action: utter_goodbye}]
- story: straight to hours
  steps: [{intent: ask_hours}, {action: utter_hours}, {intent: goodbye}, {action: utter_goodbye}]
"""
TINY_CONFIG = """
recipe: default.v1
assistant_id: ted-probe
policies:
- {name: TEDPolicy, epochs: 3, random_seed: 1, max_history: 3}
"""


@pytest.mark.integration  # trains a tiny TED model (about a minute)
def test_ted_answers_are_those_of_rasas_load(tmp_path: Path) -> None:
    for name, text in {"domain.yml": TINY_DOMAIN, "stories.yml": TINY_STORIES, "config.yml": TINY_CONFIG}.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    train = [sys.executable, "-m", "bot.server", "train", "core", "--domain", "domain.yml", "--stories", "stories.yml"]
    train += ["--config", "config.yml", "--out", "models", "--fixed-model-name", "ted"]
    trained = subprocess.run(train, cwd=tmp_path, env=base_env(), capture_output=True, text=True, timeout=900)
    assert trained.returncode == 0, trained.stderr[-3000:]
    messages = ["/greet", "/ask_hours", "/thank", "/goodbye"]
    ours, rasa = (run_probe(tmp_path / "models" / "ted.tar.gz", patched, messages) for patched in (True, False))
    assert all(any(answer["ted"][0]) for answer in rasa["answers"])  # a TED model answered
    for mine, theirs in zip(ours["answers"], rasa["answers"], strict=True):
        assert_close(mine, theirs, theirs["text"])
    assert ours["variables"]["mb"] < rasa["variables"]["mb"] / 2


def test_finetuning_keeps_rasas_load(monkeypatch):
    """finetune_mode=True and a load without a prediction example go to Rasa's own load."""
    from rasa.utils.tensorflow.models import RasaModel

    import bot.rasa_ext.inference_load as inference_load

    monkeypatch.setenv(inference_load.ENABLED_ENV, "1")
    inference_load.install()
    assert inference_load.install() is False
    calls = []
    monkeypatch.setattr(RasaModel, inference_load._MARKER, lambda cls, *args: calls.append(args) or "rasa's")
    monkeypatch.setattr(inference_load, "load_for_inference", lambda *args, **kwargs: "ours")
    assert RasaModel.load("weights", "example", "predict example", True) == "rasa's"
    assert RasaModel.load("weights", "example", None, False) == "rasa's"
    assert RasaModel.load("weights", "example", "predict example", False) == "ours"
    assert calls == [("weights", "example", "predict example", True), ("weights", "example", None, False)]


if __name__ == "__main__":
    print(json.dumps(probe(sys.argv[1], json.loads(sys.argv[2])), ensure_ascii=False, default=float))
