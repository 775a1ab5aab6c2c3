"""One log-masking mechanism: the record factory of bot.privacy.log_masking masks every record when it
is created, so a handler added after installation (Sanic's, rasa_sdk's, basicConfig's) writes masked
text too, for the message and for an exception's traceback."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.privacy import masking
from bot.privacy.log_masking import install_record_masking

ROOT = Path(__file__).resolve().parents[3]
PHONE, MASKED_PHONE = "010-1234-5678", "010-****-5678"
OTHER_PHONE, MASKED_OTHER_PHONE = "01098765432", "010****5432"


@pytest.fixture
def masked_logging():
    """Record masking installed for one test; the previous record factory is put back afterwards."""
    previous = logging.getLogRecordFactory()
    install_record_masking()
    yield
    logging.setLogRecordFactory(previous)


def _raise_with_number():
    raise ValueError(f"could not call {OTHER_PHONE}")


def test_a_file_handler_added_after_installation_writes_masked_lines(masked_logging, tmp_path):
    log_file = tmp_path / "sotong.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")  # added after install_record_masking()
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("tests.log_masking.file")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("citizen %s left the number %s", "kakao-user-1", PHONE)
        try:
            _raise_with_number()
        except ValueError:
            logger.exception("turn failed for %s", PHONE)
    finally:
        logger.removeHandler(handler)
        handler.close()
    written = log_file.read_text(encoding="utf-8")
    assert f"WARNING citizen kakao-user-1 left the number {MASKED_PHONE}" in written
    assert f"ERROR turn failed for {MASKED_PHONE}" in written
    assert "Traceback (most recent call last)" in written and "_raise_with_number" in written
    assert f"ValueError: could not call {MASKED_OTHER_PHONE}" in written
    assert PHONE not in written and OTHER_PHONE not in written


def test_a_stream_handler_on_the_root_logger_added_later_is_masked(masked_logging):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        logging.getLogger("tests.log_masking.root").warning("연락처 %s, 주민번호 %s", PHONE, "900101-2345678")
    finally:
        root.removeHandler(handler)
    assert stream.getvalue().strip() == f"연락처 {MASKED_PHONE}, 주민번호 900101-2******"


def test_without_the_factory_the_same_handler_writes_the_number(tmp_path):
    """The masking above comes from install_record_masking(), not from the handler or the test setup."""
    previous = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("tests.log_masking.unmasked")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("number %s", PHONE)
    finally:
        logger.removeHandler(handler)
        logging.setLogRecordFactory(previous)
    assert PHONE in stream.getvalue()


def test_a_process_that_configures_logging_after_installing_writes_masked_lines(tmp_path):
    """As the entry points do it: install first, then the process's own logging set-up, then a crash."""
    log_file = tmp_path / "process.log"
    script = textwrap.dedent(f"""
        import logging
        from bot.privacy.log_masking import install_record_masking
        install_record_masking()
        logging.basicConfig(filename={str(log_file)!r}, level=logging.INFO, format="%(message)s")
        logging.getLogger("bot.tickets").info("ticket filed, contact %s", {PHONE!r})
        try:
            raise RuntimeError("SMTP refused " + {OTHER_PHONE!r})
        except RuntimeError:
            logging.getLogger("bot.delivery").exception("delivery failed")
    """)
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, timeout=60)
    written = log_file.read_text(encoding="utf-8")
    assert f"ticket filed, contact {MASKED_PHONE}" in written
    assert f"RuntimeError: SMTP refused {MASKED_OTHER_PHONE}" in written
    assert PHONE not in written and OTHER_PHONE not in written


def test_the_handler_filter_mechanism_is_gone():
    assert not hasattr(masking, "PersonalDataLogFilter") and not hasattr(masking, "install_log_masking")
