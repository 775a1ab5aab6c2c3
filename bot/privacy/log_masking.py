"""Masking of personal data in every log record a process creates (PIPA).

`bot.privacy.masking.install_log_masking` puts a filter on the log *handlers* that exist when it is called
(the Kakao channel does that once Rasa has set up logging). Processes whose logging is set up
by a library after our code runs (the action server: rasa_sdk configures logging in its main;
Sanic adds handlers when it starts) need a hook that does not depend on the order: a log-record
factory. Every record is masked when it is created, before any handler, filter or formatter sees
it, including the text of an exception's traceback.

    from bot.privacy.log_masking import install_record_masking
    install_record_masking()   # once, as early as you like; idempotent
"""
from __future__ import annotations

import logging
from typing import Callable

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
