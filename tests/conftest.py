"""Session fixtures: one small trained model and one running Rasa stack per test session."""
from __future__ import annotations

from pathlib import Path

import pytest

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
