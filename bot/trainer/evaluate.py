"""Evaluates the newest trained model on held-out NLU examples (`make eval`).

Writes to the output folder: intent_report.json, entity_report.json,
civic_topic_report.json, intent_confusion_matrix.png, errors.json, summary.json;
prints intent macro-F1, civic_info topic accuracy and complaint_category accuracy.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

from rasa.shared.nlu.training_data.loading import load_data


@dataclass
class Prediction:
    text: str
    intent: str
    predicted_intent: str
    topic: Optional[str]
    predicted_topic: Optional[str]
    entities: Dict[str, str]
    predicted_entities: Dict[str, str]


def _entity_values(entities: List[Dict[str, Any]]) -> Dict[str, str]:
    return {e["entity"]: str(e.get("value")) for e in entities or []}


async def predict(model_path: str, holdout: str) -> List[Prediction]:
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    predictions = []
    for message in load_data(holdout, language="ko").intent_examples:
        result = await agent.parse_message(message.get("text"))
        topic = message.get("intent_response_key")
        selected = (result.get("response_selector") or {}).get("civic_info", {})
        predictions.append(
            Prediction(
                text=message.get("text"),
                intent=message.get("intent"),
                predicted_intent=result["intent"]["name"],
                topic=topic,
                predicted_topic=selected.get("response", {}).get("intent_response_key")
                if topic
                else None,
                entities=_entity_values(message.get("entities")),
                predicted_entities=_entity_values(result.get("entities")),
            )
        )
    return predictions


def _share(outcomes: List[bool]) -> Optional[float]:
    return sum(outcomes) / len(outcomes) if outcomes else None


def entity_accuracy(predictions: List[Prediction], entity: str) -> Optional[float]:
    return _share([p.predicted_entities.get(entity) == p.entities[entity] for p in predictions if entity in p.entities])


def write_reports(predictions: List[Prediction], out: Path) -> Dict[str, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay, classification_report

    out.mkdir(parents=True, exist_ok=True)
    truth = [p.intent for p in predictions]
    guess = [p.predicted_intent for p in predictions]
    labels = sorted(set(truth) | set(guess))
    # Averages over the taxonomy's intents (the true labels); a prediction of
    # nlu_fallback is simply a miss, not a class of its own.
    intent_report = classification_report(
        truth, guess, labels=sorted(set(truth)), output_dict=True, zero_division=0
    )
    (out / "intent_report.json").write_text(json.dumps(intent_report, indent=2, ensure_ascii=False))

    topics = [p for p in predictions if p.topic]
    topic_report = classification_report(
        [p.topic for p in topics], [str(p.predicted_topic) for p in topics], output_dict=True, zero_division=0
    ) if topics else {}
    (out / "civic_topic_report.json").write_text(json.dumps(topic_report, indent=2, ensure_ascii=False))

    entity_names = sorted({e for p in predictions for e in p.entities})
    entity_report = {name: entity_accuracy(predictions, name) for name in entity_names}
    (out / "entity_report.json").write_text(json.dumps(entity_report, indent=2))

    errors = [
        p.__dict__ for p in predictions
        if p.intent != p.predicted_intent or p.topic != p.predicted_topic
        or any(p.predicted_entities.get(k) != v for k, v in p.entities.items())
    ]
    (out / "errors.json").write_text(json.dumps(errors, indent=2, ensure_ascii=False))

    figure, axis = plt.subplots(figsize=(12, 11))
    ConfusionMatrixDisplay.from_predictions(truth, guess, labels=labels, ax=axis, xticks_rotation=70, colorbar=False)
    axis.set_title("Sotong intent confusion matrix (held-out)")
    figure.tight_layout()
    figure.savefig(out / "intent_confusion_matrix.png", dpi=90)
    plt.close(figure)

    summary = {
        "examples": len(predictions),
        "intent_macro_f1": intent_report["macro avg"]["f1-score"],
        "intent_accuracy": sum(t == g for t, g in zip(truth, guess)) / len(truth),
        "fallback_rate": guess.count("nlu_fallback") / len(guess),
        # Share of civic_info examples answered with the right topic: the topic is only chosen for
        # possible civic_info questions (bot/nlu/gated_response_selector.py), so an example whose
        # intent was missed counts as wrong here as it does for the citizen.
        "civic_topic_accuracy": _share([p.topic == p.predicted_topic for p in topics]),
        # The same among the examples recognised as civic_info: the topic choice alone.
        "civic_topic_accuracy_when_intent_right": _share(
            [p.topic == p.predicted_topic for p in topics if p.predicted_intent == p.intent]
        ),
        "complaint_category_accuracy": entity_report.get("complaint_category"),
        "errors": len(errors),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def main(argv: Optional[List[str]] = None) -> int:
    from rasa.model import get_latest_model

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--holdout", default="tests/nlu_holdout.yml")
    parser.add_argument("--model", help="model file; default: newest in models/")
    parser.add_argument("--out", default="reports")
    args = parser.parse_args(argv)
    model = args.model or get_latest_model("models")
    if not model:
        print("error: no trained model in models/ (run make train)", file=sys.stderr)
        return 1
    predictions = asyncio.run(predict(str(model), args.holdout))
    summary = write_reports(predictions, Path(args.out))
    print(f"model: {model}")
    for key, value in summary.items():
        print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
