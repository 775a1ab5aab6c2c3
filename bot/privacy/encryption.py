"""Encryption at rest for personal data a ticket must keep (citizens' contact numbers).

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from the ``cryptography`` package)
under a key taken from the environment:

* ``SOTONG_DATA_KEY``: one or more url-safe base64 Fernet keys, comma-separated. The first key
  encrypts; every key decrypts, so a key is rotated by putting the new one first and re-saving.
  ``make run`` generates one into ``var/data_key`` (``python -m bot.privacy.encryption new-key``).

Encrypted values are text, ``enc1:<token>``, so they fit the string columns and JSON payloads
that held the plain value. ``decrypt`` passes a value without the prefix through unchanged, so
rows written before encryption was introduced stay readable.
"""

from __future__ import annotations

import sys
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bot.settings import env_str

KEY_ENV = "SOTONG_DATA_KEY"
PREFIX = "enc1:"


class DataKeyError(RuntimeError):
    """The data key is missing or malformed, or a value was encrypted under another key."""


class FieldCipher:
    """Encrypts and decrypts single text values (one field of a row or a payload)."""

    def __init__(self, keys: str) -> None:
        parts = [part.strip() for part in (keys or "").split(",") if part.strip()]
        if not parts:
            raise DataKeyError(f"{KEY_ENV} is not set: generate one with `python -m bot.privacy.encryption new-key`")
        try:
            self._fernet = MultiFernet([Fernet(part.encode("ascii")) for part in parts])
        except (ValueError, UnicodeEncodeError) as error:
            raise DataKeyError(f"{KEY_ENV} must hold url-safe base64 Fernet keys (32 bytes each)") from error

    @staticmethod
    def is_encrypted(value: str | None) -> bool:
        return isinstance(value, str) and value.startswith(PREFIX)

    def encrypt(self, value: str | None) -> str | None:
        """``enc1:…`` for a text; None and already-encrypted values are returned as they are."""
        if value is None or self.is_encrypted(value):
            return value
        return PREFIX + self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, value: str | None) -> str | None:
        """The plain text of an ``enc1:…`` value; other values (None, legacy plain text) unchanged."""
        if not self.is_encrypted(value):
            return value
        try:
            return self._fernet.decrypt(value[len(PREFIX) :].encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as error:
            raise DataKeyError("a stored value cannot be decrypted with the configured data key") from error


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


@lru_cache(maxsize=4)
def _cipher_for(keys: str) -> FieldCipher:
    return FieldCipher(keys)


def data_cipher() -> FieldCipher:
    """The cipher for ``SOTONG_DATA_KEY`` as the environment holds it now."""
    return _cipher_for(env_str(KEY_ENV, ""))


def data_key_configured() -> bool:
    """Whether ``SOTONG_DATA_KEY`` is set (not whether it holds usable keys: data_cipher() says that)."""
    return env_str(KEY_ENV) is not None


def main(argv: list | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["new-key"]:
        print(new_key())
        return 0
    print("usage: python -m bot.privacy.encryption new-key", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
