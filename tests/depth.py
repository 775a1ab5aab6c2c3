"""How thorough the property and corpus tests are: all of it under `make test` and CI, a fifth
under `make test-fast` (which sets SOTONG_TEST_QUICK=1), so the quick loop stays quick while the
full suite keeps every example.

    @settings(max_examples=examples(2500), ...)
    for message in sample(corpus): ...
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

QUICK_SHARE = 5  # a quick run keeps one example in five
# CI (CI=true) or SOTONG_TEST_NO_SKIP=1: every test runs (tests/conftest.py fails a skip) with every example.
FULL_RUN = os.environ.get("CI", "").lower() in ("1", "true", "yes") or os.environ.get("SOTONG_TEST_NO_SKIP") == "1"
QUICK = os.environ.get("SOTONG_TEST_QUICK") == "1" and not FULL_RUN


def examples(full: int) -> int:
    """Hypothesis' max_examples: `full`, or a fifth of it (at least 20) in a quick run."""
    return max(20, full // QUICK_SHARE) if QUICK else full


def sample(items: Sequence[T]) -> Sequence[T]:
    """Every item, or every fifth in a quick run."""
    return items[::QUICK_SHARE] if QUICK else items
