"""The city configuration of a running process, renewed when the data files change.

Every process (each action server, the dispatcher, the staff console, the command-line tools)
reads the city data through `get_city_config()`. It loads data/city/ (or SOTONG_CITY_DATA_DIR) on
first use. Afterwards, at most every SOTONG_CITY_RELOAD_SECONDS (default 2 s; 0 checks on every
call), it compares a cheap signature of the data directory (each *.yml file's name, size, inode
and mtime_ns) with the one it loaded, and reads and validates the files again when it differs. So
an edit saved into data/city, or the staff console's "다시 읽기", reaches every process within a
few seconds without a restart.

A broken edit (a YAML error, a validation error, a file that cannot be read) never replaces a good
configuration: the process keeps the last good one and logs the problems once per change of the
files. Only the very first load raises CityDataError, as before (a process does not start on
invalid data).

What is derived from the configuration (a matcher, a ticket store with its routing) follows it
with `follows_city_config`: rebuilt when `get_city_config()` returns a new configuration.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from functools import wraps
from pathlib import Path
from typing import Generic, TypeVar

from bot.city.loader import CityDataError, default_data_dir, load_city_config
from bot.city.models import CityConfig
from bot.settings import env_float

logger = logging.getLogger(__name__)

RELOAD_SECONDS_ENV = "SOTONG_CITY_RELOAD_SECONDS"
DEFAULT_RELOAD_SECONDS = 2.0
DATA_FILES = "*.yml"

Signature = tuple[object, ...]
T = TypeVar("T")


def reload_interval_seconds() -> float:
    """How often a process looks at the data files (SOTONG_CITY_RELOAD_SECONDS)."""
    return env_float(RELOAD_SECONDS_ENV, DEFAULT_RELOAD_SECONDS, minimum=0)


def data_files(directory: Path) -> list[Path]:
    return sorted(directory.glob(DATA_FILES))


def files_signature(directory: Path) -> Signature:
    """What changes when a data file is written, added, removed or replaced (a few stat calls)."""
    parts: list[object] = [str(directory)]
    for path in data_files(directory):
        try:
            stat = path.stat()
        except OSError:  # removed between listing and stat, or a dangling link
            parts.append((path.name, None))
            continue
        parts.append((path.name, stat.st_size, stat.st_ino, stat.st_mtime_ns))
    return tuple(parts)


def content_version(directory: Path) -> str:
    """A short hash of the data files' names and contents: equal in two processes (or on two
    machines) exactly when they read the same data."""
    digest = hashlib.sha256()
    for path in data_files(directory):
        digest.update(path.name.encode("utf-8") + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"<unreadable>")
        digest.update(b"\0")
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class CityDataStatus:
    """Which city data this process uses, and what is wrong with newer files if they were refused."""

    data_dir: Path
    version: str  # content_version of the files loaded
    loaded_at: datetime  # UTC
    checked_every_seconds: float
    refused_version: str | None = None  # newer files that were invalid, still refused
    problems: tuple[str, ...] = ()  # their problems


@dataclass(frozen=True)
class _Loaded:
    config: CityConfig
    signature: Signature
    status: CityDataStatus


@dataclass(frozen=True)
class _Refused:
    signature: Signature
    version: str
    error: Exception

    @property
    def problems(self) -> tuple[str, ...]:
        if isinstance(self.error, CityDataError):
            return tuple(self.error.errors)
        return (f"{type(self.error).__name__}: {self.error}",)


class CityConfigSource:
    """One process's city configuration: loaded once, renewed when the files change."""

    def __init__(
        self,
        data_dir: Callable[[], Path] = default_data_dir,
        load: Callable[[Path], CityConfig] = load_city_config,
        clock: Callable[[], float] = time.monotonic,
        interval: float | None = None,
    ):
        self._data_dir = data_dir
        self._load = load
        self._clock = clock
        self._fixed_interval = interval
        self._lock = threading.Lock()
        self.cache_clear()

    def cache_clear(self) -> None:
        """Forget everything: the next call loads the files again (tests, a changed data directory)."""
        with self._lock:
            self._loaded: _Loaded | None = None
            self._refused: _Refused | None = None
            self._next_check = 0.0
            self._interval = self._fixed_interval

    def get(self) -> CityConfig:
        """The current configuration; CityDataError only if no valid data was ever loaded."""
        loaded = self._loaded
        if loaded is not None and self._clock() < self._next_check:
            return loaded.config
        with self._lock:
            self._check(force=False)
            return self._loaded.config

    def refresh(self) -> CityConfig:
        """Look at the files now (the console's reload button). Raises CityDataError listing the
        problems when the files on disk are invalid; the last good configuration stays in use."""
        with self._lock:
            self._check(force=True)
            if self._refused is not None:
                raise _as_city_data_error(self._refused)
            return self._loaded.config

    def status(self) -> CityDataStatus | None:
        """Which data this process uses (None before the first load)."""
        with self._lock:
            loaded, refused = self._loaded, self._refused
        if loaded is None:
            return None
        if refused is None:
            return loaded.status
        return replace(loaded.status, refused_version=refused.version, problems=refused.problems)

    # --- inside the lock -------------------------------------------------------------------------

    def _check(self, force: bool) -> None:
        now = self._clock()
        if not force and self._loaded is not None and now < self._next_check:
            return  # another thread has just checked
        if self._interval is None:
            self._interval = reload_interval_seconds()
        self._next_check = now + self._interval
        directory = self._data_dir()
        signature = files_signature(directory)
        if self._loaded is not None and signature == self._loaded.signature:
            self._refused = None  # e.g. a broken edit was undone
            return
        if self._refused is not None and signature == self._refused.signature:
            if self._loaded is None:
                raise self._refused.error
            return
        self._read(directory, signature)

    def _read(self, directory: Path, signature: Signature) -> None:
        version = content_version(directory)
        try:
            config = self._load(directory)
        except Exception as error:  # YAML, validation, unreadable file: keep the last good data
            self._refused = _Refused(signature, version, error)
            if self._loaded is None:
                logger.error(
                    "City data in %s (version %s) cannot be used: %s",
                    directory,
                    version,
                    "; ".join(self._refused.problems),
                )
                raise
            logger.error(
                "City data in %s changed (version %s) but cannot be used; still using version %s: %s",
                directory,
                version,
                self._loaded.status.version,
                "; ".join(self._refused.problems),
            )
            return
        previous = self._loaded
        self._loaded = _Loaded(
            config,
            signature,
            CityDataStatus(
                data_dir=directory,
                version=version,
                loaded_at=datetime.now(timezone.utc),
                checked_every_seconds=self._interval or 0.0,
            ),
        )
        self._refused = None
        if previous is None:
            logger.info("City data version %s loaded from %s", version, directory)
        elif previous.status.version != version or previous.status.data_dir != directory:
            logger.info("City data reloaded from %s: version %s (was %s)", directory, version, previous.status.version)


def _as_city_data_error(refused: _Refused) -> CityDataError:
    if isinstance(refused.error, CityDataError):
        return refused.error
    return CityDataError(list(refused.problems))


class follows_city_config(Generic[T]):
    """`build(config, previous)` kept for as long as `get_city_config()` returns the same
    configuration, built again (given the value it replaces, e.g. to keep its database) when the
    city data changed. `cache_clear()` forgets the value, previous included.

        @follows_city_config
        def category_matcher(config, previous):
            return CategoryMatcher(config)
    """

    def __init__(self, build: Callable[[CityConfig, T | None], T], source: Callable[[], CityConfig] | None = None):
        wraps(build)(self)
        self._build = build
        self._source = source
        self._lock = threading.Lock()
        self._config: CityConfig | None = None
        self._value: T | None = None

    def __call__(self) -> T:
        config = (self._source or get_city_config)()
        with self._lock:
            if self._config is not config:
                self._value = self._build(config, self._value)
                self._config = config
            return self._value

    def cache_clear(self) -> None:
        with self._lock:
            self._config, self._value = None, None


CITY_DATA = CityConfigSource()


def get_city_config() -> CityConfig:
    """The validated city data of this process, renewed within SOTONG_CITY_RELOAD_SECONDS of a
    change of the files (a broken change keeps the last good data)."""
    return CITY_DATA.get()


get_city_config.cache_clear = CITY_DATA.cache_clear  # type: ignore[attr-defined]
