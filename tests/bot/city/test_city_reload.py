"""The city data reaches every process without a restart (issue 15 point 8): a department's
endpoint is changed in a copy of data/city (SOTONG_CITY_DATA_DIR) and

* the accessor returns the new configuration, and a broken edit keeps the last good one and is
  reported once;
* the actions' ticket store files the next complaint to the new endpoint (same database);
* a running dispatcher (`python -m bot.delivery run`) delivers the next outbox entry to the new
  endpoint, a real local HTTP server, even an entry written with the old one;
* the staff console's routing page says when the other processes use the new data, and shows the
  problems of a broken edit while it keeps the old routing.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.city import CityDataError, get_city_config, load_city_config
from bot.city.live import RELOAD_SECONDS_ENV, CityConfigSource, content_version
from bot.city.loader import DATA_DIR_ENV, DEFAULT_DATA_DIR
from bot.delivery import OutboxEntry, OutboxState
from bot.tickets import ComplaintDraft, TicketStore, open_database
from tests.bot.delivery.test_delivery import SAMPLE_ENDPOINT, DepartmentEndpoint, free_port
from tests.staff_support import StaffClient, StaffServer, close_sessions, seed_accounts, sqlite_url

pytestmark = pytest.mark.integration  # starts the dispatcher and the staff console

ROOT = Path(__file__).resolve().parents[3]
ROAD = "road_management"
ROAD_URL = f"{SAMPLE_ENDPOINT}/departments/{ROAD}"


class CityFiles:
    """A copy of the shipped city data whose road department's endpoint a test changes."""

    def __init__(self, directory: Path):
        self.dir = directory
        shutil.copytree(DEFAULT_DATA_DIR, directory)
        self.departments = directory / "departments.yml"

    def road_url(self) -> str:
        return load_city_config(self.dir).departments[ROAD].send.destination

    def point_road_at(self, url: str) -> None:
        text = self.departments.read_text(encoding="utf-8")
        current = self.road_url()
        assert text.count(current) == 1
        self._write(text.replace(current, url))

    def break_yaml(self) -> None:
        self._write(self.departments.read_text(encoding="utf-8") + "\n  - id: [unclosed\n")

    def break_validation(self) -> None:
        text = self.departments.read_text(encoding="utf-8")
        self._write(text.replace(f"url: {self.road_url()}", "url: not-a-url", 1))

    def _write(self, text: str) -> None:
        before = self.departments.stat().st_mtime_ns
        self.departments.write_text(text, encoding="utf-8")
        # a coarse file-system clock could keep mtime_ns; size or inode changes anyway in these edits
        assert self.departments.stat().st_mtime_ns >= before


@pytest.fixture
def city(tmp_path: Path) -> CityFiles:
    return CityFiles(tmp_path / "city")


class TickingClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def road_destination(source: CityConfigSource) -> str:
    return source.get().departments[ROAD].send.destination


# --- the accessor ----------------------------------------------------------------------------------


def test_a_changed_file_is_read_again_after_the_check_interval(city):
    clock = TickingClock()
    source = CityConfigSource(data_dir=lambda: city.dir, clock=clock, interval=2.0)
    first = source.get()
    assert road_destination(source) == ROAD_URL
    assert source.get() is first  # nothing changed: the same object, no re-read

    city.point_road_at("http://127.0.0.1:9999/new/road")
    clock.now += 1.0
    assert road_destination(source) == ROAD_URL  # not looked at before the interval is over
    clock.now += 1.5
    assert road_destination(source) == "http://127.0.0.1:9999/new/road"
    status = source.status()
    assert status.version == content_version(city.dir) != content_version(DEFAULT_DATA_DIR)
    assert status.data_dir == city.dir and status.problems == () and status.checked_every_seconds == 2.0


@pytest.mark.parametrize(
    "breakage, problem", [("break_yaml", "not valid YAML"), ("break_validation", "is not an http(s) URL")]
)
def test_a_broken_edit_keeps_the_last_good_data_and_is_reported_once(city, caplog, breakage, problem):
    source = CityConfigSource(data_dir=lambda: city.dir, interval=0)
    city.point_road_at("http://127.0.0.1:9999/good")
    good = source.get()
    good_version = source.status().version

    getattr(city, breakage)()
    with caplog.at_level(logging.ERROR, logger="bot.city.live"):
        for _ in range(5):
            assert source.get() is good
    reports = [record for record in caplog.records if "cannot be used" in record.getMessage()]
    assert len(reports) == 1 and problem in reports[0].getMessage()
    assert good_version in reports[0].getMessage()  # says which data is still in use

    status = source.status()
    assert status.version == good_version and status.refused_version == content_version(city.dir)
    assert any(problem in line for line in status.problems)
    with pytest.raises(CityDataError) as refused:
        source.refresh()  # the console's button: the problems, and still the old data
    assert any(problem in line for line in refused.value.errors)
    assert source.get() is good

    shutil.copy(DEFAULT_DATA_DIR / "departments.yml", city.departments)  # fixed
    assert road_destination(source) == ROAD_URL
    assert source.status().problems == () and source.status().refused_version is None


def test_invalid_data_at_start_is_still_an_error(city):
    city.break_yaml()
    source = CityConfigSource(data_dir=lambda: city.dir, interval=0)
    for _ in range(2):  # the refused files are not parsed again until they change
        with pytest.raises(CityDataError):
            source.get()
    assert source.status() is None


def test_get_city_config_follows_the_data_directory_setting(city, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(city.dir))
    monkeypatch.setenv(RELOAD_SECONDS_ENV, "0")
    get_city_config.cache_clear()
    try:
        before = get_city_config()
        city.point_road_at("http://127.0.0.1:9999/accessor")
        assert get_city_config() is not before
        assert get_city_config().departments[ROAD].send.destination == "http://127.0.0.1:9999/accessor"
    finally:
        monkeypatch.undo()
        get_city_config.cache_clear()


# --- the action server's ticket store --------------------------------------------------------------

POTHOLE = dict(
    category="road_damage",
    location_text="일산서구 주엽동 강선마을 14단지 앞",
    description="도로에 큰 구멍이 났어요",
    sender_id="kakao-user-1",
)


def outbox_entries(sessions) -> list[OutboxEntry]:
    with sessions() as session:
        return list(session.execute(select(OutboxEntry).order_by(OutboxEntry.id)).scalars())


def test_the_actions_file_the_next_complaint_with_the_new_routing(city, tmp_path, monkeypatch):
    from actions import complaints

    monkeypatch.setenv(DATA_DIR_ENV, str(city.dir))
    monkeypatch.setenv(RELOAD_SECONDS_ENV, "0")
    monkeypatch.setenv("SOTONG_DATABASE_URL", f"sqlite:///{tmp_path / 'sotong.db'}")
    get_city_config.cache_clear()
    complaints.ticket_store.cache_clear()
    try:
        first_store = complaints.ticket_store()
        first_store.file_complaint(ComplaintDraft(**POTHOLE))
        city.point_road_at("http://127.0.0.1:9999/actions/road")
        second_store = complaints.ticket_store()
        second_store.file_complaint(ComplaintDraft(**{**POTHOLE, "sender_id": "kakao-user-2"}))
        assert second_store is not first_store and second_store.sessions is first_store.sessions
        assert [entry.destination for entry in outbox_entries(second_store.sessions)] == [
            ROAD_URL,
            "http://127.0.0.1:9999/actions/road",
        ]
        assert complaints.category_matcher() is complaints.category_matcher()  # kept while unchanged
    finally:
        monkeypatch.undo()
        get_city_config.cache_clear()
        complaints.ticket_store.cache_clear()
        complaints.category_matcher.cache_clear()


# --- the dispatcher process ------------------------------------------------------------------------


@pytest.fixture
def endpoints():
    servers = [DepartmentEndpoint(free_port()).start() for _ in range(2)]
    yield servers
    for server in servers:
        server.stop()


def wait_until(condition, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_running_dispatcher_delivers_to_the_new_endpoint(city, tmp_path, endpoints):
    old, new = endpoints
    old_url, new_url = (f"http://127.0.0.1:{server.port}/departments/{ROAD}" for server in endpoints)
    city.point_road_at(old_url)
    database_url = f"sqlite:///{tmp_path / 'sotong.db'}"
    sessions = open_database(database_url)
    # an action server that has not noticed the change yet: it keeps writing the old endpoint
    stale_store = TicketStore(sessions, load_city_config(city.dir))
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.delivery", "--database-url", database_url, "run"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            DATA_DIR_ENV: str(city.dir),
            RELOAD_SECONDS_ENV: "0.2",
            "SOTONG_DELIVERY_POLL_SECONDS": "0.1",
        },
    )
    try:
        stale_store.file_complaint(ComplaintDraft(**POTHOLE))
        assert wait_until(lambda: len(old.accepted) == 1)

        city.point_road_at(new_url)
        time.sleep(0.5)  # longer than SOTONG_CITY_RELOAD_SECONDS
        second = stale_store.file_complaint(ComplaintDraft(**{**POTHOLE, "sender_id": "kakao-user-2"}))
        assert wait_until(lambda: len(new.accepted) == 1)
        assert new.accepted[0]["json"]["ticket"]["number"] == second.number

        city.break_yaml()  # a broken edit: the dispatcher keeps the last good routing
        time.sleep(0.5)
        third = stale_store.file_complaint(ComplaintDraft(**{**POTHOLE, "sender_id": "kakao-user-3"}))
        assert wait_until(lambda: len(new.accepted) == 2)
        assert new.accepted[1]["json"]["ticket"]["number"] == third.number
        assert len(old.received) == 1
    finally:
        process.terminate()
        _out, err = process.communicate(timeout=15)
    entries = outbox_entries(sessions)
    assert [entry.state for entry in entries] == [OutboxState.DELIVERED] * 3
    assert [entry.destination for entry in entries] == [old_url, new_url, new_url]  # as really sent
    assert "re-routed by the city data" in err
    assert err.count("cannot be used") == 1 and "not valid YAML" in err


# --- the staff console -----------------------------------------------------------------------------


@pytest.fixture
def console(city, tmp_path):
    database_url = sqlite_url(tmp_path)
    seed_accounts(database_url)
    server = StaffServer(
        database_url, tmp_path, env_extra={DATA_DIR_ENV: str(city.dir), RELOAD_SECONDS_ENV: "3"}
    ).start()
    yield server
    server.stop()
    close_sessions(database_url)


def test_the_routing_page_reloads_and_says_when_the_other_processes_follow(city, console):
    admin = StaffClient.signed_in(console.url, "admin.jung")
    page = admin.get("/admin/routing").text
    assert ROAD_URL in page and content_version(city.dir) in page

    city.point_road_at("http://127.0.0.1:9999/console/road")
    reloaded = admin.post("/admin/routing/reload")
    assert reloaded.status_code == 302 and reloaded.headers["location"] == "/admin/routing?done=reloaded"
    page = admin.get("/admin/routing?done=reloaded").text
    assert "http://127.0.0.1:9999/console/road" in page and ROAD_URL not in page
    assert "챗봇(액션 서버)과 전송기도 3초 안에 새 데이터를 써요" in page
    assert "다시 시작할 때" not in page
    good_version = content_version(city.dir)
    assert f"버전 {good_version}" in page

    city.break_validation()
    refused = admin.post("/admin/routing/reload")
    assert refused.status_code == 400
    assert "데이터에 문제가 있어 이전 데이터(버전 " + good_version + ")를 계속 써요" in refused.text
    assert "is not an http(s) URL" in refused.text
    assert "http://127.0.0.1:9999/console/road" in refused.text  # still the routing in use
    # the page shows the refused edit without pressing the button too (the console checks by itself)
    page = admin.get("/admin/routing").text
    assert "is not an http(s) URL" in page and "새 데이터를 써요" not in page
