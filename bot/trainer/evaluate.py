"""Evaluates the newest trained model on held-out NLU sets (`make eval`).

Every set (default: tests/nlu_holdout.yml and tests/nlu_realistic.yml) gets its own folder in
the output folder, named after the file: intent_report.json, entity_report.json,
civic_topic_report.json, errors.json (every miss with its confidence), summary.json,
intent_confusion_matrix.png and reliability_diagram.png. A table of the figures of every set
is printed side by side.

Intents are scored on the prediction without the FallbackClassifier (the best intent of the
ranking); how many messages fell to nlu_fallback is reported beside it.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any

from bot.trainer import eval_history  # noqa: E402
from bot.trainer.nlu_data import load_nlu  # noqa: E402

DEFAULT_SETS = ("tests/nlu_holdout.yml", "tests/nlu_realistic.yml")
FALLBACK_INTENT = "nlu_fallback"
COMPLAINT_INTENT = "report_complaint"
EMERGENCY_INTENT = "report_emergency"
# Casual talk that must never start a workflow, and the intents that start one.
CASUAL_INTENTS = frozenset({"smalltalk", "out_of_scope", "greet", "thank", "goodbye", "bot_challenge"})
WORKFLOW_INTENTS = frozenset(
    {
        "report_complaint",
        "report_emergency",
        "budget_propose",
        "budget_feedback",
        "check_complaint_status",
        "subscribe",
        "unsubscribe",
    }
)
CONFIDENT = 0.95
CALIBRATION_BINS = 10


@dataclass
class Prediction:
    text: str
    intent: str
    predicted_intent: str
    topic: str | None
    predicted_topic: str | None
    entities: dict[str, str]
    predicted_entities: dict[str, str]
    confidence: float = 1.0
    fell_to_fallback: bool = False
    shape: str | None = None
    ranking: list[dict[str, Any]] = field(default_factory=list)

    @property
    def intent_right(self) -> bool:
        return self.intent == self.predicted_intent


def _entity_values(entities: list[dict[str, Any]]) -> dict[str, str]:
    return {e["entity"]: str(e.get("value")) for e in entities or []}


def without_fallback(result: dict[str, Any]) -> dict[str, Any]:
    """The best intent other than nlu_fallback: what the classifier chose before the
    FallbackClassifier replaced it (the ranking keeps the original entries)."""
    intent = result.get("intent") or {}
    if intent.get("name") != FALLBACK_INTENT:
        return intent
    for entry in result.get("intent_ranking") or []:
        if entry.get("name") != FALLBACK_INTENT:
            return entry
    return intent


def _prediction(message: Any, result: dict[str, Any]) -> Prediction:
    topic = message.get("intent_response_key")
    selected = (result.get("response_selector") or {}).get("civic_info", {})
    best = without_fallback(result)
    return Prediction(
        text=message.get("text"),
        intent=message.get("intent"),
        predicted_intent=best.get("name"),
        topic=topic,
        predicted_topic=selected.get("response", {}).get("intent_response_key") if topic else None,
        entities=_entity_values(message.get("entities")),
        predicted_entities=_entity_values(result.get("entities")),
        confidence=float(best.get("confidence") or 0.0),
        fell_to_fallback=(result.get("intent") or {}).get("name") == FALLBACK_INTENT,
        shape=((message.get("metadata") or {}).get("intent") or {}).get("shape"),
        ranking=[
            {"intent": e.get("name"), "confidence": round(float(e.get("confidence") or 0.0), 4)}
            for e in (result.get("intent_ranking") or [])[:3]
        ],
    )


EVAL_LOG = Path("var/log/eval.log")


def _log_warning(message, category, filename, lineno, file=None, line=None) -> None:
    logging.getLogger("py.warnings").warning(
        "%s", warnings.formatwarning(message, category, filename, lineno, line).rstrip()
    )


def _quiet() -> None:
    """Figures only on the terminal: Rasa's log (structlog), TensorFlow's and the libraries'
    warnings go to var/log/eval.log (WARNING and above; debug and info lines nowhere). Called
    again once the model is loaded, since imports on the way add their own handlers and filters."""
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # through the standard loggers, so into the file below
    root = logging.getLogger()
    if not any(getattr(handler, "baseFilename", None) == str(EVAL_LOG.resolve()) for handler in root.handlers):
        EVAL_LOG.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(EVAL_LOG, mode="w", encoding="utf-8", delay=True)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    loggers = [root, *(item for item in logging.root.manager.loggerDict.values() if isinstance(item, logging.Logger))]
    for logger in loggers:  # e.g. TensorFlow's own handler on stderr: to the file instead
        for handler in list(logger.handlers):
            if type(handler) is logging.StreamHandler:
                logger.removeHandler(handler)
        logger.propagate = True
    root.setLevel(logging.WARNING)
    logging.disable(logging.INFO)
    warnings.simplefilter("default")
    warnings.showwarning = _log_warning  # some libraries reset the filters


async def predict_sets(model_path: str, sets: Sequence[str]) -> dict[str, list[Prediction]]:
    """Predictions of one model for every example of every set (the model is loaded once)."""
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    _quiet()
    predictions: dict[str, list[Prediction]] = {}
    for path in sets:
        predictions[path] = [
            _prediction(message, await agent.parse_message(message.get("text")))
            for message in load_nlu(path).intent_examples
        ]
    return predictions


async def predict(model_path: str, holdout: str) -> list[Prediction]:
    return (await predict_sets(model_path, [holdout]))[holdout]


def _share(outcomes: list[bool]) -> float | None:
    return sum(outcomes) / len(outcomes) if outcomes else None


def entity_accuracy(predictions: list[Prediction], entity: str) -> float | None:
    return _share([p.predicted_entities.get(entity) == p.entities[entity] for p in predictions if entity in p.entities])


def recall(predictions: list[Prediction], intent: str) -> float | None:
    return _share([p.intent_right for p in predictions if p.intent == intent])


def civic_topic_right(prediction: Prediction) -> bool:
    """The citizen gets the right answer card: civic_info recognised and the topic right."""
    return prediction.intent_right and prediction.topic == prediction.predicted_topic


def casual_workflow_rate(predictions: list[Prediction]) -> float | None:
    """Share of casual messages (small talk, out of scope, greetings, thanks, goodbyes,
    "are you a bot") whose predicted intent would start a workflow."""
    return _share([p.predicted_intent in WORKFLOW_INTENTS for p in predictions if p.intent in CASUAL_INTENTS])


def calibration_bins(
    confidences: Sequence[float], correct: Sequence[bool], bins: int = CALIBRATION_BINS
) -> list[dict[str, Any]]:
    """Equal-width confidence bins over [0, 1] (1.0 falls in the last one): count, mean
    confidence and accuracy of each."""
    grouped: list[list[int]] = [[] for _ in range(bins)]
    for index, confidence in enumerate(confidences):
        grouped[min(int(confidence * bins), bins - 1)].append(index)
    return [
        {
            "low": b / bins,
            "high": (b + 1) / bins,
            "count": len(members),
            "confidence": sum(confidences[i] for i in members) / len(members) if members else None,
            "accuracy": sum(bool(correct[i]) for i in members) / len(members) if members else None,
        }
        for b, members in enumerate(grouped)
    ]


def expected_calibration_error(
    confidences: Sequence[float], correct: Sequence[bool], bins: int = CALIBRATION_BINS
) -> float | None:
    """ECE: the bins' |accuracy - mean confidence|, weighted by their share of the examples."""
    if not confidences:
        return None
    return sum(
        b["count"] / len(confidences) * abs(b["accuracy"] - b["confidence"])
        for b in calibration_bins(confidences, correct, bins)
        if b["count"]
    )


def _by_shape(predictions: list[Prediction], intent: str, outcome) -> dict[str, float]:
    shapes = sorted({p.shape for p in predictions if p.intent == intent and p.shape})
    return {
        shape: _share([outcome(p) for p in predictions if p.intent == intent and p.shape == shape]) for shape in shapes
    }


def _plot_reliability(bins: list[dict[str, Any]], ece: float | None, title: str, path: Path) -> None:
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 6))
    width = 1 / len(bins)
    filled = [b for b in bins if b["count"]]
    axis.bar(
        [b["low"] for b in filled],
        [b["accuracy"] for b in filled],
        width=width,
        align="edge",
        edgecolor="black",
        label="accuracy",
    )
    axis.bar(
        [b["low"] for b in filled],
        [b["confidence"] - b["accuracy"] for b in filled],
        bottom=[b["accuracy"] for b in filled],
        width=width,
        align="edge",
        color="red",
        alpha=0.3,
        edgecolor="red",
        label="gap to confidence",
    )
    for b in filled:
        axis.text(b["low"] + width / 2, 0.02, str(b["count"]), ha="center", fontsize=8)
    axis.plot([0, 1], [0, 1], "k--", label="perfect calibration")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.set_xlabel("top intent confidence")
    axis.set_ylabel("accuracy")
    axis.set_title(f"{title}: ECE {ece:.3f}" if ece is not None else title)
    axis.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def write_reports(predictions: list[Prediction], out: Path, title: str = "held-out") -> dict[str, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay, classification_report

    out.mkdir(parents=True, exist_ok=True)
    truth = [p.intent for p in predictions]
    guess = [p.predicted_intent for p in predictions]
    labels = sorted(set(truth) | set(guess))
    # Averages over the taxonomy's intents (the true labels).
    intent_report = classification_report(truth, guess, labels=sorted(set(truth)), output_dict=True, zero_division=0)
    (out / "intent_report.json").write_text(json.dumps(intent_report, indent=2, ensure_ascii=False))

    topics = [p for p in predictions if p.topic]
    topic_report = (
        classification_report(
            [p.topic for p in topics], [str(p.predicted_topic) for p in topics], output_dict=True, zero_division=0
        )
        if topics
        else {}
    )
    (out / "civic_topic_report.json").write_text(json.dumps(topic_report, indent=2, ensure_ascii=False))

    entity_names = sorted({e for p in predictions for e in p.entities})
    entity_report = {name: entity_accuracy(predictions, name) for name in entity_names}
    (out / "entity_report.json").write_text(json.dumps(entity_report, indent=2))

    errors = [
        p.__dict__
        for p in predictions
        if not p.intent_right
        or p.topic != p.predicted_topic
        or any(p.predicted_entities.get(k) != v for k, v in p.entities.items())
    ]
    errors.sort(key=lambda e: -e["confidence"])
    (out / "errors.json").write_text(json.dumps(errors, indent=2, ensure_ascii=False))

    figure, axis = plt.subplots(figsize=(12, 11))
    ConfusionMatrixDisplay.from_predictions(truth, guess, labels=labels, ax=axis, xticks_rotation=70, colorbar=False)
    axis.set_title(f"Sotong intent confusion matrix ({title})")
    figure.tight_layout()
    figure.savefig(out / "intent_confusion_matrix.png", dpi=90)
    plt.close(figure)

    confidences = [p.confidence for p in predictions]
    correct = [p.intent_right for p in predictions]
    bins = calibration_bins(confidences, correct)
    ece = expected_calibration_error(confidences, correct)
    _plot_reliability(bins, ece, title, out / "reliability_diagram.png")

    summary = {
        "examples": len(predictions),
        "intent_accuracy": _share(correct),
        "intent_macro_f1": intent_report["macro avg"]["f1-score"],
        "complaint_recall": recall(predictions, COMPLAINT_INTENT),
        "complaint_recall_by_shape": _by_shape(predictions, COMPLAINT_INTENT, lambda p: p.intent_right),
        "emergency_recall": recall(predictions, EMERGENCY_INTENT),
        # Share of civic_info examples answered with the right card: intent and topic right.
        "civic_topic_accuracy": _share([civic_topic_right(p) for p in topics]),
        "civic_topic_accuracy_by_shape": _by_shape(predictions, "civic_info", civic_topic_right),
        # The same among the examples recognised as civic_info: the topic choice alone.
        "civic_topic_accuracy_when_intent_right": _share(
            [p.topic == p.predicted_topic for p in topics if p.intent_right]
        ),
        "complaint_category_accuracy": entity_report.get("complaint_category"),
        "casual_workflow_rate": casual_workflow_rate(predictions),
        "expected_calibration_error": ece,
        "confident_errors": sum(1 for p in predictions if not p.intent_right and p.confidence >= CONFIDENT),
        "fallback_count": sum(p.fell_to_fallback for p in predictions),
        "fallback_rate": _share([p.fell_to_fallback for p in predictions]),
        "calibration_bins": bins,
        "errors": len(errors),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


TABLE_ROWS = (
    ("examples", "examples", "d"),
    ("intent accuracy", "intent_accuracy", "f"),
    ("intent macro-F1", "intent_macro_f1", "f"),
    ("complaint recall", "complaint_recall", "f"),
    ("  by shape:", "complaint_recall_by_shape", "shape"),
    ("emergency recall", "emergency_recall", "f"),
    ("civic topic accuracy", "civic_topic_accuracy", "f"),
    ("  by shape:", "civic_topic_accuracy_by_shape", "shape"),
    ("complaint category acc.", "complaint_category_accuracy", "f"),
    ("casual chat -> workflow", "casual_workflow_rate", "f"),
    ("calibration error (ECE)", "expected_calibration_error", "f"),
    (f"wrong at conf >= {CONFIDENT}", "confident_errors", "d"),
    ("fell to nlu_fallback", "fallback_count", "d"),
)


def format_table(summaries: dict[str, dict[str, Any]]) -> str:
    """The sets' figures side by side, one row per figure (— where a set has none)."""
    names = list(summaries)
    width = max(12, *(len(n) for n in names))
    rows = []
    for label, key, kind in TABLE_ROWS:
        if kind == "shape":
            shapes = sorted({s for summary in summaries.values() for s in (summary.get(key) or {})})
            entries = [(f"    {shape}", [(summaries[n].get(key) or {}).get(shape) for n in names]) for shape in shapes]
        else:
            entries = [(label, [summaries[n].get(key) for n in names])]
        for row_label, values in entries:
            cells = ["—" if v is None else (f"{v:d}" if kind == "d" else f"{v:.3f}") for v in values]
            rows.append(f"{row_label:<26}" + "".join(f"{c:>{width + 2}}" for c in cells))
    header = f"{'':<26}" + "".join(f"{n:>{width + 2}}" for n in names)
    return "\n".join([header, *rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sets", nargs="*", help=f"held-out NLU files (default: {' '.join(DEFAULT_SETS)})")
    parser.add_argument("--holdout", action="append", help="a held-out file (same as a positional one)")
    parser.add_argument("--model", help="model file; default: newest in models/")
    parser.add_argument("--out", default="reports")
    args = parser.parse_args(argv)
    sets = [*args.sets, *(args.holdout or [])] or list(DEFAULT_SETS)
    _quiet()
    from rasa.model import get_latest_model

    model = args.model or get_latest_model("models")
    if not model:
        print("error: no trained model in models/ (run make train)", file=sys.stderr)
        return 1
    predictions = asyncio.run(predict_sets(str(model), sets))
    summaries = {}
    for path in sets:
        name = Path(path).stem
        summaries[name] = write_reports(predictions[path], Path(args.out) / name, title=name)
    print(f"model: {model}")
    print(format_table(summaries))
    history = Path(args.out) / eval_history.FILENAME
    previous = eval_history.previous_run(history, str(model))
    if previous is not None:
        print(eval_history.format_comparison(previous, summaries))
    eval_history.record(history, str(model), summaries)
    print(f"reports: {args.out}/<set>/ (errors.json, reliability_diagram.png, ...); history: {history}")
    if EVAL_LOG.exists():
        print(f"Rasa's and TensorFlow's warnings: {EVAL_LOG}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
