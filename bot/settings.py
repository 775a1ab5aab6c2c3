"""Reading settings from the environment: the one place that turns SOTONG_* strings into values.

Every process of Sotong (Rasa with its channels and stores, the action server, the dispatcher,
the staff console, the command-line tools) reads its settings through these helpers, so a
number, a yes/no or a URL means the same everywhere:

* an unset variable, or one set to the empty string or only spaces, means "use the default";
* yes/no accepts ``1 true yes on`` and ``0 false no off`` (any case); anything else is an error
  rather than a silent "no" (``SOTONG_STAFF_COOKIE_SECURE=ture`` must not turn cookies insecure);
* numbers are checked against an optional lower bound;
* URLs must have a scheme and a host (``sqlite:///path`` has no host and is read with
  ``env_str``).

A bad value raises :class:`SettingsError`, naming the variable and what it holds, at the moment
the setting is read (at start-up for every long-running process): a clear stop instead of a
surprise in a citizen's turn. Every variable is documented in ``config/sotong.env.example``.

    from bot.settings import env_bool, env_float
    secure = env_bool("SOTONG_STAFF_COOKIE_SECURE", False)
    window = env_float("SOTONG_INCIDENT_WINDOW_MINUTES", 60.0, minimum=0)
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})

Environment = Mapping[str, str]


class SettingsError(ValueError):
    """A setting holds a value that cannot be used; the message names the variable."""

    def __init__(self, name: str, value: str, expected: str) -> None:
        shown = value if len(value) <= 60 else value[:57] + "..."
        super().__init__(f"{name}={shown!r}: expected {expected}")
        self.name = name


def _raw(name: str, env: Environment | None) -> str | None:
    value = (os.environ if env is None else env).get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def env_str(name: str, default: str | None = None, env: Environment | None = None) -> str | None:
    """The variable's text, stripped of surrounding spaces; ``default`` when unset or blank."""
    value = _raw(name, env)
    return default if value is None else value


def parse_bool(name: str, value: object, default: bool = False) -> bool:
    """A yes/no setting from any source (environment, credentials.yml, endpoints.yml): a bool as
    is, one of TRUE_WORDS / FALSE_WORDS in any case, ``default`` when blank or None; anything else
    raises SettingsError naming the setting (a misspelt "ture" must not silently mean "no")."""
    if isinstance(value, bool):
        return value
    text = "" if value is None else str(value).strip()
    if not text:
        return default
    word = text.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise SettingsError(name, text, "one of " + ", ".join(sorted(TRUE_WORDS | FALSE_WORDS)))


def env_bool(name: str, default: bool = False, env: Environment | None = None) -> bool:
    return parse_bool(name, _raw(name, env), default)


def env_int(name: str, default: int, env: Environment | None = None, minimum: int | None = None) -> int:
    value = _raw(name, env)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise SettingsError(name, value, "a whole number") from None
    return _at_least(name, value, number, minimum)


def env_float(name: str, default: float, env: Environment | None = None, minimum: float | None = None) -> float:
    value = _raw(name, env)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise SettingsError(name, value, "a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise SettingsError(name, value, "a finite number")
    return _at_least(name, value, number, minimum)


Number = TypeVar("Number", int, float)


def _at_least(name: str, value: str, number: Number, minimum: Number | None) -> Number:
    if minimum is not None and number < minimum:
        raise SettingsError(name, value, f"a number of at least {minimum}")
    return number


def env_url(
    name: str, default: str | None = None, env: Environment | None = None, schemes: Sequence[str] = ("http", "https")
) -> str | None:
    """A URL with one of ``schemes`` and a host; ``default`` when unset or blank."""
    value = _raw(name, env)
    if value is None:
        return default
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError on a port that is not a number
    except ValueError:
        raise SettingsError(name, value, "a URL") from None
    if parts.scheme.lower() not in schemes or not parts.hostname:
        raise SettingsError(name, value, f"a URL with a host and the scheme {' or '.join(schemes)}")
    return value


def env_path(name: str, default: Path, env: Environment | None = None) -> Path:
    value = _raw(name, env)
    return default if value is None else Path(value)


def env_list(name: str, default: Sequence[str] = (), env: Environment | None = None, separator: str = ",") -> list[str]:
    """Comma-separated items, each stripped, empty items dropped."""
    value = _raw(name, env)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(separator) if item.strip()]
