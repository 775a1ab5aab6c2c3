"""Compares NLU variants on our data: training time, held-out scores, tokenizer speed.

    .venv/bin/python bench/nlu_compare.py                      # kiwi, okt, komoran, mecab; config.yml otherwise
    .venv/bin/python bench/nlu_compare.py --variant okt-light:analyzer=okt,DIETClassifier.number_of_transformer_layers=1

Each variant is config.yml with overrides (`Component.key=value`, `analyzer=name`);
results are printed as a Markdown table and appended to bench/results/nlu_compare.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.long_messages import long_texts  # noqa: E402
from bot.nlu.analyzers import get_analyzer  # noqa: E402
from bot.nlu.segmentation import segment  # noqa: E402
from bot.ops.train_command import rasa_train_command  # noqa: E402
from bot.trainer.evaluate import predict_sets, write_reports  # noqa: E402
from bot.trainer.nlu_data import TOKENIZER_NAME, load_nlu  # noqa: E402

DEFAULT_VARIANTS = ["kiwi:analyzer=kiwi", "okt:analyzer=okt", "komoran:analyzer=komoran", "mecab:analyzer=mecab"]
DEFAULT_SETS = [ROOT / "tests" / "nlu_holdout.yml", ROOT / "tests" / "nlu_realistic.yml"]


def parse_value(text: str):
    return yaml.safe_load(text)


def variant_config(spec: str, out: Path) -> tuple[str, Path]:
    name, _, overrides = spec.partition(":")
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    for override in filter(None, re.split(r",(?![^\[]*\])", overrides)):  # not inside [..]
        key, _, value = override.partition("=")
        if key == "analyzer":
            component, field = TOKENIZER_NAME, "analyzer"
        else:
            component, _, field = key.rpartition(".")
        matches = [c for c in config["pipeline"] if c["name"] == component]
        if not matches:
            raise SystemExit(f"no component {component} in config.yml")
        matches[0][field] = parse_value(value)
    path = out / f"{name}.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return name, path


def tokenizer_speed(analyzer: str) -> dict:
    """Milliseconds per message through segment(): the training corpus, 2,000-character texts."""
    texts = [m.get("text") for m in load_nlu().intent_examples]
    pos = get_analyzer(analyzer).pos
    for text in texts[:50]:
        segment(text, pos)  # warm up (the JVM's JIT for konlpy)
    speeds = {}
    long = long_texts(2000, 5)
    for name, batch in {"corpus": texts, "long": long["spaced"], "long_nospace": long["nospace"]}.items():
        start = time.perf_counter()
        for text in batch:
            segment(text, pos)
        speeds[f"ms_{name}"] = round(1000 * (time.perf_counter() - start) / len(batch), 2)
    return speeds


def run_variant(spec: str, sets: list, workdir: Path) -> dict:
    name, config = variant_config(spec, workdir)
    analyzer = yaml.safe_load(config.read_text())["pipeline"][0].get("analyzer", "okt")
    started = time.perf_counter()
    subprocess.run(
        rasa_train_command(config, workdir, "--fixed-model-name", name, nlu_only=True),
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    train_seconds = time.perf_counter() - started
    model = workdir / f"{name}.tar.gz"
    predictions = asyncio.run(predict_sets(str(model), sets))
    scores = {Path(path).stem: write_reports(predictions[path], workdir / name / Path(path).stem) for path in sets}
    return {
        "variant": spec,
        "train_s": round(train_seconds, 1),
        **tokenizer_speed(analyzer),
        "scores": {s: {k: v for k, v in summary.items() if k in SCORE_KEYS} for s, summary in scores.items()},
    }


SCORE_KEYS = (
    "intent_accuracy",
    "intent_macro_f1",
    "civic_topic_accuracy",
    "complaint_category_accuracy",
    "complaint_recall",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--variant", action="append", help="name:overrides (repeatable)")
    parser.add_argument(
        "--holdout", action="append", help="evaluation set (repeatable; default: nlu_holdout.yml and nlu_realistic.yml)"
    )
    parser.add_argument("--keep", type=Path, help="keep models and reports in this folder")
    args = parser.parse_args()
    sets = args.holdout or [str(p) for p in DEFAULT_SETS if p.exists()]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for spec in args.variant or DEFAULT_VARIANTS:
            rows.append(run_variant(spec, sets, workdir))
            print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    names = [Path(p).stem for p in sets]
    header = ["variant", "NLU train s", "ms/msg corpus", "ms/2,000 chars", "ms/2,000 chars no spaces"]
    header += [f"{n} {label}" for n in names for label in ("intent acc", "intent macro-F1", "topic acc")]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [
            f"`{r['variant']}`",
            str(r["train_s"]),
            str(r["ms_corpus"]),
            str(r["ms_long"]),
            str(r["ms_long_nospace"]),
        ]
        for n in names:
            score = r["scores"][n]
            cells += [
                f"{score[k]:.3f}" if score.get(k) is not None else "—"
                for k in ("intent_accuracy", "intent_macro_f1", "civic_topic_accuracy")
            ]
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    with (results / "nlu_compare.md").open("a", encoding="utf-8") as file:
        file.write(f"\n## {time.strftime('%Y-%m-%d %H:%M')}\n\n{table}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
