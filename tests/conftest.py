"""Session fixtures: one small trained model and one running Rasa stack per test session."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.privacy.encryption import KEY_ENV, new_key

# Contact numbers are encrypted at rest (bot/privacy/encryption.py): one key for this test session, passed
# on to every server the tests start (their environment is copied from this one).
os.environ.setdefault(KEY_ENV, new_key())

from tests.stack import RasaStack, train_test_model


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
