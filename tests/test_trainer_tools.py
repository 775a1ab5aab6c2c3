"""Trainer tools: the Korean data lint and the held-out evaluation."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from bot.trainer import lint
from tests.stack import ROOT, base_env


def training_data(yaml_text: str):
    return RasaYAMLReader().reads(yaml_text)


def many(prefix: str, count: int) -> str:
    return "\n".join(f"      - {prefix} {i}번째 예문이에요" for i in range(count))


def test_lint_finds_cross_intent_duplicates_and_low_counts() -> None:
    data = training_data(
        f"""
version: "3.1"
nlu:
  - intent: greet
    examples: |
      - 안녕하세요
{many("인사", 45)}
  - intent: goodbye
    examples: |
      - 안녕 하세요!!
      - 잘 가요
"""
    )
    report = lint.lint(data, "okt", ["greet", "goodbye"])
    assert any("same example under goodbye, greet" in e for e in report.errors)
    assert any("intent goodbye has 2 examples" in e for e in report.errors)
    assert not any("intent greet" in e for e in report.errors)


def test_lint_rejects_entities_off_token_boundaries_and_unknown_values() -> None:
    data = training_data(
        """
version: "3.1"
nlu:
  - intent: report_complaint
    examples: |
      - [가로]{"entity": "complaint_category", "value": "streetlight"}등이 고장났어요
      - [보안등]{"entity": "complaint_category", "value": "lamp"}이 꺼졌어요
      - [주엽역](location) 앞 [가로등]{"entity": "complaint_category", "value": "streetlight"}이 나갔어요
"""
    )
    report = lint.lint(data, "okt", [])
    boundary = [e for e in report.errors if "token boundaries" in e]
    assert len(boundary) == 1 and "'가로'" in boundary[0]
    assert any("unknown complaint_category value 'lamp'" in e for e in report.errors)


def test_project_data_passes_the_lint() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.trainer.lint"], cwd=ROOT, env=base_env(),
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 errors" in result.stdout


def test_evaluation_writes_reports_and_scores(trained_model: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.trainer.evaluate", "--model", str(trained_model),
         "--holdout", str(ROOT / "tests" / "nlu_holdout.yml"), "--out", str(tmp_path)],
        cwd=ROOT, env=base_env(), capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "intent_macro_f1:" in result.stdout
    summary = json.loads((tmp_path / "summary.json").read_text())
    # the small test model is weaker than the full one, but far from chance
    assert summary["intent_macro_f1"] > 0.75
    assert summary["civic_topic_accuracy"] > 0.75
    for name in ["intent_report.json", "entity_report.json", "civic_topic_report.json", "errors.json"]:
        assert json.loads((tmp_path / name).read_text()) is not None
    assert (tmp_path / "intent_confusion_matrix.png").stat().st_size > 10_000
