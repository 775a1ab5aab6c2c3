"""Trainer tools: the Korean data lint and the held-out evaluation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from bot.trainer import evaluate, lint
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
        [sys.executable, "-m", "bot.trainer.lint"],
        cwd=ROOT,
        env=base_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 errors" in result.stdout


def prediction(intent: str, predicted: str, confidence: float = 0.9) -> evaluate.Prediction:
    return evaluate.Prediction(
        text="예문",
        intent=intent,
        predicted_intent=predicted,
        topic=None,
        predicted_topic=None,
        entities={},
        predicted_entities={},
        confidence=confidence,
    )


def test_expected_calibration_error_of_a_hand_made_example() -> None:
    # bin 0.9-1.0: confidence 0.95, half right -> |0.5 - 0.95| = 0.45, weight 1/2
    # bin 0.1-0.2: confidence 0.15, none right -> |0 - 0.15| = 0.15, weight 1/2
    confidences = [0.95, 0.95, 0.15, 0.15]
    correct = [True, False, False, False]
    assert evaluate.expected_calibration_error(confidences, correct) == pytest.approx(0.3)
    bins = evaluate.calibration_bins(confidences, correct)
    assert [b["count"] for b in bins] == [0, 2, 0, 0, 0, 0, 0, 0, 0, 2]
    # confidence 1.0 falls in the last bin; always right at 1.0 is perfectly calibrated
    assert evaluate.expected_calibration_error([1.0, 1.0], [True, True]) == 0
    assert evaluate.calibration_bins([1.0, 0.1], [True, True])[9]["count"] == 1
    assert evaluate.calibration_bins([1.0, 0.1], [True, True])[1]["count"] == 1
    assert evaluate.expected_calibration_error([], []) is None


def test_casual_chat_starting_a_workflow_is_counted_among_casual_messages_only() -> None:
    predictions = [
        prediction("smalltalk", "report_complaint"),  # starts the complaint form
        prediction("thank", "subscribe"),  # starts a subscription
        prediction("greet", "greet"),
        prediction("out_of_scope", "civic_info"),  # wrong, but no workflow
        prediction("bot_challenge", "human_handoff"),  # wrong, but no workflow
        prediction("report_complaint", "report_complaint"),  # not casual: not counted
        prediction("civic_info", "budget_propose"),  # not casual: not counted
    ]
    assert evaluate.casual_workflow_rate(predictions) == pytest.approx(2 / 5)
    assert evaluate.casual_workflow_rate([prediction("report_complaint", "smalltalk")]) is None


def test_accuracy_uses_the_intent_the_fallback_classifier_replaced() -> None:
    result = {
        "intent": {"name": "nlu_fallback", "confidence": 0.45},
        "intent_ranking": [
            {"name": "nlu_fallback", "confidence": 0.45},
            {"name": "report_complaint", "confidence": 0.41},
            {"name": "civic_info", "confidence": 0.38},
        ],
    }
    assert evaluate.without_fallback(result) == {"name": "report_complaint", "confidence": 0.41}
    confident = {"intent": {"name": "greet", "confidence": 0.99}, "intent_ranking": []}
    assert evaluate.without_fallback(confident)["name"] == "greet"


def test_evaluation_writes_reports_and_scores(trained_model: Path, tmp_path: Path) -> None:
    holdout = ROOT / "tests" / "nlu_holdout.yml"
    realistic = ROOT / "tests" / "nlu_realistic.yml"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.trainer.evaluate",
            "--model",
            str(trained_model),
            str(holdout),
            str(realistic),
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        env=base_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # one table, both sets side by side, figures only (no Rasa log lines)
    header, *rows = [line for line in result.stdout.splitlines() if not line.startswith(("model:", "reports:"))]
    assert header.split() == ["nlu_holdout", "nlu_realistic"]
    labels = [row[:26].strip() for row in rows]
    for label in [
        "intent accuracy",
        "intent macro-F1",
        "complaint recall",
        "civic topic accuracy",
        "complaint category acc.",
        "casual chat -> workflow",
        "calibration error (ECE)",
        "wrong at conf >= 0.95",
        "fell to nlu_fallback",
        "title",
        "heading",
    ]:
        assert label in labels, label
    assert "processor.message.parse" not in result.stdout
    summary = json.loads((tmp_path / "nlu_holdout" / "summary.json").read_text())
    # the small test model is weaker than the full one, but far from chance
    assert summary["intent_macro_f1"] > 0.75
    assert summary["civic_topic_accuracy"] > 0.75
    realistic_summary = json.loads((tmp_path / "nlu_realistic" / "summary.json").read_text())
    assert realistic_summary["examples"] >= 650
    assert 0 <= realistic_summary["expected_calibration_error"] <= 1
    for name in ["intent_report.json", "entity_report.json", "civic_topic_report.json"]:
        assert json.loads((tmp_path / "nlu_realistic" / name).read_text()) is not None
    errors = json.loads((tmp_path / "nlu_realistic" / "errors.json").read_text())
    assert errors and {"text", "intent", "predicted_intent", "confidence", "shape"} <= set(errors[0])
    assert (tmp_path / "nlu_holdout" / "intent_confusion_matrix.png").stat().st_size > 10_000
    assert (tmp_path / "nlu_realistic" / "reliability_diagram.png").stat().st_size > 5_000


def test_eval_history_compares_with_the_previous_model(tmp_path: Path) -> None:
    from bot.trainer import eval_history

    history = tmp_path / eval_history.FILENAME
    old = {"nlu_realistic": {"intent_accuracy": 0.90, "casual_workflow_rate": 0.01, "complaint_recall": None}}
    new = {"nlu_realistic": {"intent_accuracy": 0.95, "casual_workflow_rate": 0.03, "complaint_recall": 0.97}}
    assert eval_history.previous_run(history, "models/a.tar.gz") is None
    eval_history.record(history, "models/a.tar.gz", old)
    eval_history.record(history, "models/b.tar.gz", new)
    history.open("a").write("not json\n")
    assert eval_history.previous_run(history, "models/b.tar.gz")["model"] == "models/a.tar.gz"
    assert eval_history.previous_run(history, "models/c.tar.gz")["model"] == "models/b.tar.gz"
    table = eval_history.format_comparison(eval_history.previous_run(history, "models/b.tar.gz"), new)
    assert "a.tar.gz" in table
    lines = {line.split("  ")[0].strip() + "|" + line[16:42].strip(): line for line in table.splitlines()[2:]}
    assert lines["nlu_realistic|intent accuracy"].endswith("+0.050 +")  # higher is better
    assert lines["nlu_realistic|casual chat -> workflow"].endswith("+0.020 -")  # a higher rate is worse
    assert not any("complaint recall" in line for line in table.splitlines())  # no figure before: no row
