"""Test databases: a fresh SQLite file, or a throw-away schema on the PostgreSQL server named by
SOTONG_TEST_POSTGRES_URL (CI runs one), so the same tests cover the embedded and the production
profile."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import text
from sqlalchemy.engine import create_engine

POSTGRES_URL_ENV = "SOTONG_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgresql")


@contextmanager
def database_url_for(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'sotong.db'}"
        return
    server_url = os.environ.get(POSTGRES_URL_ENV)
    if not server_url:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set")
    schema = f"sotong_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, future=True)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as error:  # server down: the SQLite run still covers the logic
        pytest.skip(f"PostgreSQL at {POSTGRES_URL_ENV} unavailable: {error}")
    separator = "&" if "?" in server_url else "?"
    try:
        yield f"{server_url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
