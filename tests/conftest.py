"""Session fixtures: one small trained model and one running Rasa stack per test session.

Hooks:
- every test that needs the trained model or a Rasa stack (directly or through another fixture) is
  marked `integration`, so `make test-fast` (`pytest -m "not integration"`) leaves it out; tests that
  start servers or browsers without the model carry the marker themselves;
- under CI (CI=true) or with SOTONG_TEST_NO_SKIP=1 a skipped test fails: there a skip means a missing
  service or tool (PostgreSQL, Redis, nginx, Chromium), not a test that may be left out.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.privacy.encryption import KEY_ENV, new_key

# Contact numbers are encrypted at rest (bot/privacy/encryption.py): one key for this test session, passed
# on to every server the tests start (their environment is copied from this one).
os.environ.setdefault(KEY_ENV, new_key())

from tests.depth import FULL_RUN
from tests.stack import RasaStack, train_test_model

# Fixtures that make a test an integration test (pytest resolves fixtures of fixtures into fixturenames).
INTEGRATION_FIXTURES = frozenset({"trained_model", "rasa_stack"})
NO_SKIP = FULL_RUN


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    system_tests = Path(__file__).parent / "system"
    for item in items:
        if INTEGRATION_FIXTURES.intersection(getattr(item, "fixturenames", ())) or system_tests in item.path.parents:
            item.add_marker(pytest.mark.integration)


def _skip_reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    longrepr = report.longrepr
    return str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)


def _fail_skip(report: pytest.CollectReport | pytest.TestReport) -> None:
    if NO_SKIP and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = (
            f"skipped, and skips fail under CI=true or SOTONG_TEST_NO_SKIP=1 "
            f"(a service or tool is missing, or the test skips itself): {_skip_reason(report)}"
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    _fail_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    outcome = yield
    _fail_skip(outcome.get_result())


@pytest.fixture(scope="session")
def trained_model() -> Path:
    return train_test_model()


@pytest.fixture(scope="session")
def rasa_stack(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> RasaStack:
    stack = RasaStack(model=trained_model, workdir=tmp_path_factory.mktemp("stack"))
    try:
        yield stack.start()
    finally:
        stack.stop()
