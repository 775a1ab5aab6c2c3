"""Masking of personal data in every log record a process creates (PIPA): the one mechanism.

A log-record factory: every record is masked (bot.privacy.masking.mask_personal_data) when it is
created, before any handler, filter or formatter sees it, including the text of an exception's
traceback. It does not depend on the order in which logging is set up: handlers added later (rasa_sdk
configures logging in its main, Sanic adds handlers when it starts, basicConfig after us) get masked
records too. Every process installs it: the Rasa process (tracker store, Kakao and REST channels),
the action server, the dispatcher, the staff console, the retention job and the subscription tool.

    from bot.privacy.log_masking import install_record_masking
    install_record_masking()   # once, as early as you like; idempotent
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.privacy.masking import mask_personal_data

_MARKER = "_sotong_masks_personal_data"
_exception_formatter = logging.Formatter()


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Masks the record's final message (and its traceback text) in place."""
    try:
        message = record.getMessage()
    except Exception:  # a broken record is the logging module's business, not ours
        return record
    masked = mask_personal_data(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and not record.exc_text:
        try:
            record.exc_text = mask_personal_data(_exception_formatter.formatException(record.exc_info))
        except Exception:
            pass
    return record


def install_record_masking() -> bool:
    """Wraps the current log-record factory so that every record is masked; False if already done."""
    current: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()
    if getattr(current, _MARKER, False):
        return False

    def masking_factory(*args, **kwargs) -> logging.LogRecord:
        return mask_record(current(*args, **kwargs))

    setattr(masking_factory, _MARKER, True)
    logging.setLogRecordFactory(masking_factory)
    return True
