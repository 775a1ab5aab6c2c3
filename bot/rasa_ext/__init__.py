"""Sotong's extensions of Rasa 3.6: every change to Rasa's own behaviour lives in this package.

Two kinds of code live here:

* Classes Rasa loads by name from an endpoints file; they change nothing outside themselves:
  - ``tracker_store.MaskingSQLTrackerStore`` (personal data masked, callback numbers encrypted,
    turns all-or-nothing), built from ``sql_store.MaskingSQLStore`` and
    ``conversation_cache.CachingTrackerStore``;
  - ``lock_store.AtomicRedisLockStore`` (Redis ticket queue changed atomically).
* Patches of Rasa's internals, applied together by :func:`install` and nowhere else:
  - ``bot.privacy.log_masking.install_record_masking``: every log record of the process masked;
  - ``speedups``: cached action-answer validator, one HTTP session per endpoint, NLU off the
    event loop;
  - ``training_speedups``: cached training-data schema validators, sparse features fingerprinted
    from their arrays, sparse batches built in one step (``python -m bot.server train``);
  - ``fail_safe``: Rasa's FailSafeTrackerStore passes errors on for stores asking for it
    (``strict``) instead of falling back to process memory;
  - ``failed_turns``: a custom action that fails (action server down, 5xx, timeout, invalid
    answer) marks the turn as failed by exception type, so the tracker store refuses to save it.
  - ``inference_load``: DIET, ResponseSelector and TED models loaded for answering only, without
    the optimizer's state and training graph that Rasa's load builds (``SOTONG_RASA_INFERENCE_LOAD``).

:func:`install` is called by the Rasa server's entry point, ``python -m bot.server`` (the same
arguments as the ``rasa`` command: ``python -m bot.server run --model ... --enable-api ...``), so
the patches no longer depend on which tracker or lock store an endpoints file names. Tests that
drive Rasa in-process call it themselves. ``MaskingSQLTrackerStore`` refuses to start in a
process where it was not called (plain ``rasa run``): its guarantees need the patches, and a
store that silently ran without them is what this package was made to prevent. The lock store
needs no patch and does not check.

The patches replace private parts of Rasa, so :func:`install` refuses a Rasa version they were
not verified with (:data:`VERIFIED_RASA_VERSIONS`). After checking each patch against a new
version, add it there; to try one anyway (development only), set
``SOTONG_RASA_UNVERIFIED_OK=1``.

``action_server`` (``python -m bot.rasa_ext.action_server``) is the action server's entry point
(rasa_sdk, not Rasa); it does not import Rasa and uses only the log masking.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.settings import env_bool

logger = logging.getLogger(__name__)

VERIFIED_RASA_VERSIONS = ("3.6.21",)
UNVERIFIED_OK_ENV = "SOTONG_RASA_UNVERIFIED_OK"

_installed = False


class UnverifiedRasaVersion(RuntimeError):
    """The installed Rasa is not a version the patches of this package were checked against."""


class NotInstalled(RuntimeError):
    """Something that relies on the patches runs in a process where install() was not called."""


def check_rasa_version(version: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The installed Rasa's version; raises UnverifiedRasaVersion unless it is verified or
    SOTONG_RASA_UNVERIFIED_OK is set."""
    if version is None:
        import rasa

        version = rasa.__version__
    if version in VERIFIED_RASA_VERSIONS:
        return version
    verified = ", ".join(VERIFIED_RASA_VERSIONS)
    if env_bool(UNVERIFIED_OK_ENV, False, env=env):
        logger.warning(
            "Rasa %s is not a version Sotong's patches were verified with (%s); starting anyway because %s is set",
            version,
            verified,
            UNVERIFIED_OK_ENV,
        )
        return version
    raise UnverifiedRasaVersion(
        f"Rasa {version} is installed, but Sotong's patches of Rasa's internals (bot/rasa_ext) were verified "
        f"only with Rasa {verified}. Install that version (requirements), or check every patch of bot/rasa_ext "
        f"against Rasa {version} and add it to VERIFIED_RASA_VERSIONS. To start anyway (development only), "
        f"set {UNVERIFIED_OK_ENV}=1."
    )


def install() -> bool:
    """Checks Rasa's version and applies every patch of this package (see the module docstring);
    idempotent, True the first time."""
    global _installed
    check_rasa_version()
    from bot.privacy.log_masking import install_record_masking
    from bot.rasa_ext import fail_safe, failed_turns, inference_load, speedups, training_speedups

    install_record_masking()  # first: whatever the other patches log is masked too
    speedups.install()
    training_speedups.install()
    fail_safe.install()
    failed_turns.install()
    inference_load.install()
    first, _installed = not _installed, True
    return first


def installed() -> bool:
    """Whether install() has run in this process."""
    return _installed


def require_installed(user: str) -> None:
    """Raises NotInstalled, naming `user` and the fix, unless install() has run."""
    if not _installed:
        raise NotInstalled(
            f"{user} relies on Sotong's patches of Rasa (bot.rasa_ext.install()), which are not applied in this "
            f"process: start Rasa with `python -m bot.server run ...` (same arguments as `rasa run`) instead of "
            f"`rasa run`, or call bot.rasa_ext.install() first."
        )
