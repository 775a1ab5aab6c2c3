"""The figures of every `make eval`, kept in `reports/eval_history.jsonl` (one JSON line a run),
so that after retraining a trainer sees each held-out set's figures beside the previous model's
and whether the new labels helped."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

FILENAME = "eval_history.jsonl"
# (label, summary key, higher is better)
FIGURES = (
    ("intent accuracy", "intent_accuracy", True),
    ("intent macro-F1", "intent_macro_f1", True),
    ("complaint recall", "complaint_recall", True),
    ("emergency recall", "emergency_recall", True),
    ("civic topic accuracy", "civic_topic_accuracy", True),
    ("complaint category acc.", "complaint_category_accuracy", True),
    ("casual chat -> workflow", "casual_workflow_rate", False),
    ("calibration error (ECE)", "expected_calibration_error", False),
)


def read(path: Path) -> list[dict[str, Any]]:
    """The runs recorded so far, oldest first (unreadable lines are skipped)."""
    runs = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                runs.append(json.loads(line))
            except ValueError:
                continue
    return runs


def previous_run(path: Path, model: str) -> dict[str, Any] | None:
    """The newest recorded run of another model than `model`."""
    return next((run for run in reversed(read(path)) if run.get("model") != model), None)


def record(path: Path, model: str, summaries: dict[str, dict[str, Any]]) -> None:
    entry = {
        "model": model,
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "sets": {name: {key: summary.get(key) for _, key, _ in FIGURES} for name, summary in summaries.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as history:
        history.write(json.dumps(entry, ensure_ascii=False) + "\n")


def format_comparison(previous: dict[str, Any], summaries: dict[str, dict[str, Any]]) -> str:
    """Each set's figures: the previous model's, this model's and the change (+ better, - worse)."""
    rows = [
        f"compared with {Path(previous['model']).name} (evaluated {previous.get('at', '?')}):",
        f"{'set':<16}{'figure':<26}{'before':>8}{'now':>8}{'change':>10}",
    ]
    for name, summary in summaries.items():
        before_set = previous.get("sets", {}).get(name)
        if before_set is None:
            continue
        for label, key, higher_is_better in FIGURES:
            before, now = before_set.get(key), summary.get(key)
            if before is None or now is None:
                continue
            change = now - before
            verdict = "" if abs(change) < 0.0005 else (" +" if (change > 0) == higher_is_better else " -")
            rows.append(f"{name:<16}{label:<26}{before:>8.3f}{now:>8.3f}{change:>+8.3f}{verdict}")
    return "\n".join(rows)
