"""Compares NLU variants on our data: training time, held-out scores, tokenizer speed.

    .venv/bin/python bench/nlu_compare.py                      # okt vs komoran, config.yml otherwise
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

from bot.nlu.analyzers import get_analyzer  # noqa: E402
from bot.nlu.segmentation import segment  # noqa: E402
from bot.trainer.evaluate import predict, write_reports  # noqa: E402
from bot.trainer.nlu_data import TOKENIZER_NAME, load_nlu  # noqa: E402

DEFAULT_VARIANTS = ["okt:analyzer=okt", "komoran:analyzer=komoran"]


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


def tokenizer_speed(analyzer: str) -> float:
    texts = [m.get("text") for m in load_nlu().intent_examples]
    pos = get_analyzer(analyzer).pos
    segment(texts[0], pos)  # warm up the JVM
    start = time.perf_counter()
    for text in texts:
        segment(text, pos)
    return len(texts) / (time.perf_counter() - start)


def run_variant(spec: str, holdout: str, workdir: Path) -> dict:
    name, config = variant_config(spec, workdir)
    analyzer = yaml.safe_load(config.read_text())["pipeline"][0].get("analyzer", "okt")
    started = time.perf_counter()
    subprocess.run(
        [str(ROOT / ".venv/bin/rasa"), "train", "nlu", "--config", str(config), "--nlu", "data",
         "--domain", "domain.yml", "--out", str(workdir), "--fixed-model-name", name],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    train_seconds = time.perf_counter() - started
    model = workdir / f"{name}.tar.gz"
    summary = write_reports(asyncio.run(predict(str(model), holdout)), workdir / name)
    return {"variant": spec, "train_s": round(train_seconds, 1),
            "tokens_msgs_per_s": round(tokenizer_speed(analyzer)), **summary}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--variant", action="append", help="name:overrides (repeatable)")
    parser.add_argument("--holdout", default=str(ROOT / "tests" / "nlu_holdout.yml"))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.variant or DEFAULT_VARIANTS:
            rows.append(run_variant(spec, args.holdout, Path(tmp)))
            print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    header = "| variant | NLU train s | intent macro-F1 | civic topic acc | complaint_category acc | tokenizer msgs/s |"
    lines = [header, "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| `{r['variant']}` | {r['train_s']} | {r['intent_macro_f1']:.3f} | "
            f"{r['civic_topic_accuracy']:.3f} | {r['complaint_category_accuracy']:.3f} | {r['tokens_msgs_per_s']} |"
        )
    table = "\n".join(lines)
    print(table)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    with (results / "nlu_compare.md").open("a", encoding="utf-8") as file:
        file.write(f"\n## {time.strftime('%Y-%m-%d %H:%M')}\n\n{table}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
