"""bot.rasa_ext: every patch of Rasa applied by one install() from `python -m bot.server`, only on
a verified Rasa version; the stores patch nothing, and the tracker store refuses to run without
the patches and reads its options from an endpoints file strictly."""

from __future__ import annotations

import subprocess
import textwrap

import pytest

import bot.rasa_ext
from bot.settings import SettingsError
from tests.stack import ROOT, VENV_BIN, base_env

STORE_TYPE = "bot.rasa_ext.tracker_store.MaskingSQLTrackerStore"


def python(code: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV_BIN / "python"), "-c", textwrap.dedent(code), *args],
        cwd=ROOT,
        env=base_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
    )


# ------------------------------------------------------------------------------ Rasa's version


def test_only_verified_rasa_versions_are_accepted():
    assert bot.rasa_ext.check_rasa_version() == "3.6.21"  # the installed one
    with pytest.raises(bot.rasa_ext.UnverifiedRasaVersion) as refused:
        bot.rasa_ext.check_rasa_version("3.7.0", env={})
    message = str(refused.value)
    assert "Rasa 3.7.0" in message and "3.6.21" in message and "SOTONG_RASA_UNVERIFIED_OK=1" in message
    assert bot.rasa_ext.check_rasa_version("3.7.0", env={"SOTONG_RASA_UNVERIFIED_OK": "1"}) == "3.7.0"
    with pytest.raises(bot.rasa_ext.UnverifiedRasaVersion):
        bot.rasa_ext.check_rasa_version("3.7.0", env={"SOTONG_RASA_UNVERIFIED_OK": "0"})
    with pytest.raises(SettingsError, match="SOTONG_RASA_UNVERIFIED_OK"):
        bot.rasa_ext.check_rasa_version("3.7.0", env={"SOTONG_RASA_UNVERIFIED_OK": "yes please"})


# A Rasa whose version says 3.7.0, then `python -m bot.server` exactly as the scripts run it.
AS_RASA_370 = """
    import runpy, rasa
    rasa.__version__ = "3.7.0"
    runpy.run_module("bot.server", run_name="__main__", alter_sys=True)
"""


@pytest.mark.integration  # starts two Python processes that import all of Rasa
def test_the_server_refuses_to_start_on_an_unverified_rasa():
    refused = python(AS_RASA_370, "run", "--help", SOTONG_RASA_UNVERIFIED_OK="")
    assert refused.returncode != 0
    assert "bot.server: Rasa 3.7.0 is installed" in refused.stderr
    assert "usage: rasa run" not in refused.stdout  # Rasa's CLI never ran

    forced = python(AS_RASA_370, "run", "--help", SOTONG_RASA_UNVERIFIED_OK="1")
    assert forced.returncode == 0, forced.stderr[-2000:]
    assert "usage: rasa run" in forced.stdout  # the arguments went to Rasa's own `rasa run`
    assert "--enable-api" in forced.stdout and "--endpoints" in forced.stdout


# ------------------------------------------------------------------------------ who patches what


@pytest.mark.integration  # a fresh Python process that imports all of Rasa
def test_stores_patch_nothing_and_install_patches_everything(tmp_path):
    """In a fresh process: creating the lock store changes nothing in Rasa, the tracker store
    refuses to start (naming the fix); after install() every patch is in place, once."""
    result = python(f"""
        import logging
        import rasa.core.run
        import rasa.shared.utils.validation
        from rasa.core.actions.action import RemoteAction
        from rasa.core.processor import MessageProcessor
        from rasa.core.tracker_store import FailSafeTrackerStore
        from rasa.utils.endpoints import EndpointConfig
        from rasa.utils.tensorflow.models import RasaModel

        import bot.rasa_ext
        from bot.rasa_ext.lock_store import AtomicRedisLockStore
        from bot.rasa_ext.tracker_store import MaskingSQLTrackerStore

        def patches():
            return {{
                "validator": hasattr(RemoteAction, "_sotong_cached_validator"),
                "sessions": hasattr(EndpointConfig, "_sotong_shared_sessions"),
                "nlu thread": hasattr(MessageProcessor, "_sotong_parse_in_thread"),
                "strict fail-safe": hasattr(FailSafeTrackerStore, "_sotong_strict_patch"),
                "failed turns": hasattr(RemoteAction, "_sotong_failed_turn_detection"),
                "training": hasattr(rasa.shared.utils.validation, "_sotong_training_speedups"),
                "gc freeze": hasattr(rasa.core.run.load_agent_on_start, "_sotong_gc_freeze"),
                "inference load": hasattr(RasaModel, "_sotong_inference_load"),
                "log masking": logging.getLogRecordFactory()("x", 20, "f", 1, "010-1234-5678", None, None)
                               .getMessage() != "010-1234-5678",
            }}

        originals = (RemoteAction.run, FailSafeTrackerStore.save, MessageProcessor.parse_message)
        AtomicRedisLockStore(host="127.0.0.1", port=1)  # connects on first use only
        assert not any(patches().values()), patches()
        try:
            MaskingSQLTrackerStore(dialect="sqlite", db={str(tmp_path / "t.db")!r})
        except bot.rasa_ext.NotInstalled as refused:
            print("REFUSED:", refused)
        assert not any(patches().values()), patches()
        assert (RemoteAction.run, FailSafeTrackerStore.save, MessageProcessor.parse_message) == originals

        assert bot.rasa_ext.install() is True and bot.rasa_ext.install() is False
        assert all(patches().values()), patches()
        store = MaskingSQLTrackerStore(dialect="sqlite", db={str(tmp_path / "t.db")!r})
        print("STARTED:", type(store).__name__, store.strict)
    """)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "REFUSED: bot.rasa_ext.tracker_store.MaskingSQLTrackerStore relies on" in result.stdout
    assert "`python -m bot.server run ...`" in result.stdout
    assert "STARTED: MaskingSQLTrackerStore True" in result.stdout


# ------------------------------------------------------------------------------ the store's options


@pytest.fixture
def installed():
    import logging

    previous = logging.getLogRecordFactory()
    bot.rasa_ext.install()
    yield
    logging.setLogRecordFactory(previous)


def store_from_endpoints(tmp_path, section: str, monkeypatch=None, **env: str):
    """The tracker store Rasa creates from an endpoints file (${ENV} substituted by Rasa)."""
    from rasa.core.tracker_store import TrackerStore
    from rasa.utils.endpoints import read_endpoint_config

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text("tracker_store:\n" + textwrap.indent(textwrap.dedent(section), "  "))
    return TrackerStore.create(read_endpoint_config(str(endpoints), "tracker_store"))


def test_options_from_environment_variables_are_parsed_once(tmp_path, monkeypatch, installed):
    from bot.rasa_ext.tracker_store import MaskingSQLTrackerStore, TrackerStoreOptions

    for type_path in (STORE_TYPE, "bot.tracker_store.MaskingSQLTrackerStore"):  # and the deprecated alias
        store = store_from_endpoints(
            tmp_path,
            f"""\
            type: {type_path}
            dialect: sqlite
            db: ${{T_DB}}
            port: ${{T_EMPTY}}
            username: ${{T_EMPTY}}
            strict: ${{T_NO}}
            fail_turn_on_action_error: ${{T_YES}}
            cache_conversations: ${{T_CACHE}}
            encrypted_slots: [phone]
            unmasked_slots: ${{T_EMPTY}}
        """,
            monkeypatch,
            T_DB=str(tmp_path / "t.db"),
            T_EMPTY="",
            T_NO="off",
            T_YES="Yes",
            T_CACHE="7",
        )
        assert isinstance(store, MaskingSQLTrackerStore)  # Rasa uses it as it is (async methods)
        assert store.options == TrackerStoreOptions(
            db=str(tmp_path / "t.db"), strict=False, cache_conversations=7, encrypted_slots=frozenset({"phone"})
        )
        assert store.strict is False and store.cache.max_conversations == 7
        assert store.sql.encrypted_slots == {"phone"} and store.sql.unmasked_slots == {"photo_url"}
        store.sql.engine.dispose()
    assert "secret-pw" not in repr(TrackerStoreOptions(password="secret-pw"))


@pytest.mark.parametrize(
    "option, value, expected",
    [
        ("strict", "ture", "tracker_store.strict='ture': expected one of"),
        ("fail_turn_on_action_error", "maybe", "tracker_store.fail_turn_on_action_error='maybe'"),
        ("cache_conversations", "-1", "tracker_store.cache_conversations='-1': expected a number of at least 0"),
        ("port", "fivefourthreetwo", "tracker_store.port='fivefourthreetwo': expected a whole number"),
        ("encrypted_slot", "phone", "tracker_store.encrypted_slot='…': expected one of the known options: "),
        ("pasword", "s3cret", "tracker_store.pasword='…'"),
    ],
)
def test_a_bad_option_stops_the_start_naming_it(tmp_path, installed, option, value, expected):
    from bot.rasa_ext.tracker_store import MaskingSQLTrackerStore

    with pytest.raises(SettingsError) as error:
        MaskingSQLTrackerStore(dialect="sqlite", db=str(tmp_path / "t.db"), **{option: value})
    assert expected in str(error.value)
    assert "s3cret" not in str(error.value)


def test_a_store_that_cannot_start_is_not_replaced_by_rasas_in_memory_store(tmp_path, monkeypatch, installed):
    """Rasa turns an ImportError of a custom store (here: no MySQL driver installed) into an
    in-memory store with a warning; this one stops the start."""
    from bot.rasa_ext.tracker_store import TrackerStoreError

    with pytest.raises(TrackerStoreError, match="could not start: ModuleNotFoundError"):
        store_from_endpoints(tmp_path, f"type: {STORE_TYPE}\ndialect: mysql\ndb: sotong\n")
