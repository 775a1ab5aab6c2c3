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
from pathlib import Path
from typing import List, Mapping, Optional, Sequence
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


def _raw(name: str, env: Optional[Environment]) -> Optional[str]:
    value = (os.environ if env is None else env).get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def env_str(name: str, default: Optional[str] = None, env: Optional[Environment] = None) -> Optional[str]:
    """The variable's text, stripped of surrounding spaces; ``default`` when unset or blank."""
    value = _raw(name, env)
    return default if value is None else value


def env_bool(name: str, default: bool = False, env: Optional[Environment] = None) -> bool:
    value = _raw(name, env)
    if value is None:
        return default
    word = value.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise SettingsError(name, value, "one of " + ", ".join(sorted(TRUE_WORDS | FALSE_WORDS)))


def env_int(name: str, default: int, env: Optional[Environment] = None, minimum: Optional[int] = None) -> int:
    value = _raw(name, env)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise SettingsError(name, value, "a whole number") from None
    return _at_least(name, value, number, minimum)


def env_float(name: str, default: float, env: Optional[Environment] = None,
              minimum: Optional[float] = None) -> float:
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


def _at_least(name: str, value: str, number, minimum):
    if minimum is not None and number < minimum:
        raise SettingsError(name, value, f"a number of at least {minimum}")
    return number


def env_url(name: str, default: Optional[str] = None, env: Optional[Environment] = None,
            schemes: Sequence[str] = ("http", "https")) -> Optional[str]:
    """A URL with one of ``schemes`` and a host; ``default`` when unset or blank."""
    value = _raw(name, env)
    if value is None:
        return default
    try:
        parts = urlsplit(value)
        parts.port  # raises ValueError on a port that is not a number
    except ValueError:
        raise SettingsError(name, value, "a URL") from None
    if parts.scheme.lower() not in schemes or not parts.hostname:
        raise SettingsError(name, value, f"a URL with a host and the scheme {' or '.join(schemes)}")
    return value


def env_path(name: str, default: Path, env: Optional[Environment] = None) -> Path:
    value = _raw(name, env)
    return default if value is None else Path(value)


def env_list(name: str, default: Sequence[str] = (), env: Optional[Environment] = None,
             separator: str = ",") -> List[str]:
    """Comma-separated items, each stripped, empty items dropped."""
    value = _raw(name, env)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(separator) if item.strip()]
