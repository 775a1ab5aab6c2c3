"""The JVM of konlpy's analyzers gets the heap of SOTONG_JVM_MAX_HEAP_MB (issue 18, memory), and Okt
still cuts a 2,000-character message without spaces (Kakao's longest) within that heap."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.stack import ROOT, base_env

PROBE = """
import json
from bench.long_messages import long_texts
from bot.nlu.analyzers import get_analyzer
import jpype

okt = get_analyzer("okt")
text = long_texts(2000, 1)["nospace"][0]
morphemes = okt.pos(text)
print(json.dumps({
    "max_heap_mb": jpype.java.lang.Runtime.getRuntime().maxMemory() >> 20,
    "chars": len(text),
    "covered": sum(len(m) for m, _ in morphemes),
}))
"""


def run_probe(heap_mb: str) -> dict[str, int]:
    output = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=base_env(SOTONG_JVM_MAX_HEAP_MB=heap_mb),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


@pytest.mark.integration  # starts a Python process with a JVM
def test_okt_jvm_takes_the_heap_setting_and_cuts_a_long_message() -> None:
    result = run_probe("128")  # half of what scripts/memory_env.sh gives: that has room to spare
    assert 100 <= result["max_heap_mb"] <= 128
    assert result["chars"] == 2000
    assert result["covered"] == 2000  # every character in a morpheme: nothing lost
