"""Typed reading of YAML mappings that records readable errors instead of raising at once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class DataFilesError(Exception):
    """Data files a city edits are invalid; `errors` holds one readable line per problem."""

    kind = "data"

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        lines = "\n".join(f"  - {error}" for error in self.errors)
        super().__init__(f"invalid {self.kind} data ({len(self.errors)} problem(s)):\n{lines}")


class FieldReader:
    """Reads the fields of one YAML mapping; every problem becomes a line in `errors`.

    `where` names the mapping in messages, e.g. "departments.yml: department 'parks'".
    """

    def __init__(self, raw: Any, where: str, errors: list[str], allowed: Iterable[str]):
        self.where = where
        self._errors = errors
        self._raw = raw if isinstance(raw, dict) else {}
        if not isinstance(raw, dict):
            self.error("must be a mapping of fields")
            return
        allowed = set(allowed)
        for key in raw:
            if key not in allowed:
                self.error(f"unknown field '{key}' (expected one of: {', '.join(sorted(allowed))})")

    def error(self, message: str) -> None:
        self._errors.append(f"{self.where}: {message}")

    def has(self, key: str) -> bool:
        return self._raw.get(key) is not None

    def text(self, key: str, required: bool = True, default: str = "") -> str:
        value = self._raw.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.error(f"'{key}' is missing")
            return default
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.error(f"'{key}' must be text, got {type(value).__name__}")
            return default
        return str(value).strip()

    def integer(self, key: str, required: bool = True, minimum: int = 1, maximum: int = 10_000) -> int | None:
        value = self._raw.get(key)
        if value is None:
            if required:
                self.error(f"'{key}' is missing")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(f"'{key}' must be a whole number, got {value!r}")
            return None
        if not minimum <= value <= maximum:
            self.error(f"'{key}' must be between {minimum} and {maximum}, got {value}")
            return None
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        value = self._raw.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.error(f"'{key}' must be true or false, got {value!r}")
            return default
        return value

    def texts(self, key: str, required: bool = False) -> tuple[str, ...]:
        value = self._raw.get(key)
        if value is None:
            if required:
                self.error(f"'{key}' is missing")
            return ()
        if not isinstance(value, list) or not all(isinstance(item, (str, int)) for item in value):
            self.error(f"'{key}' must be a list of texts")
            return ()
        items = tuple(str(item).strip() for item in value if str(item).strip())
        if required and not items:
            self.error(f"'{key}' must not be empty")
        return items

    def raw_list(self, key: str) -> list:
        value = self._raw.get(key)
        if value is None:
            self.error(f"'{key}' is missing")
            return []
        if not isinstance(value, list):
            self.error(f"'{key}' must be a list")
            return []
        return value

    def nested(self, key: str, allowed: Iterable[str]) -> FieldReader:
        value = self._raw.get(key)
        if value is None:
            self.error(f"'{key}' is missing")
            # Read the absent mapping quietly: its own fields would only repeat this error.
            return FieldReader({}, f"{self.where}, {key}", [], allowed)
        return FieldReader(value, f"{self.where}, {key}", self._errors, allowed)
