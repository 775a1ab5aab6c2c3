"""Login throttling under parallel attempts: the decision and the attempt record are one atomic
step, taken before the password is checked (the throttle store on SQLite and PostgreSQL, and a real
console over HTTP); one address spraying usernames is slowed, not locked, and locks no username;
admins unlock in the console and with the CLI, audited. Also the session cookie's Secure flag."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.staff.audit import Actor, AuditEntry
from bot.staff.login_throttle import (
    LOCKED,
    SLOWED,
    LoginThrottle,
    locked_usernames,
    reserve_attempt,
    settle_attempt,
    unlock,
)
from bot.staff.settings import StaffSettings
from bot.storage.db import utc_now
from bot.tickets.store import open_database
from tests.databases import BACKENDS, database_url_for
from tests.stack import ROOT, VENV_BIN, base_env
from tests.staff_support import PASSWORD, StaffClient, StaffServer, seed_accounts, sessions_for, sqlite_url

SETTINGS = StaffSettings()  # 5 per username and address, 10 per username, 30 per address
ATTEMPTS = 25


@pytest.fixture(params=BACKENDS)
def sessions(request, tmp_path):
    with database_url_for(request.param, tmp_path) as url:
        factory = open_database(url)
        yield factory
        factory.kw["bind"].dispose()


def in_parallel(count: int, attempt: Callable[[int], object]) -> list[object]:
    """`count` calls of attempt(i), released at the same moment from their own threads."""
    start = threading.Barrier(count)

    def run(index: int):
        start.wait()
        return attempt(index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def audit(database_url: str, action: str, actor: str = None) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    with sessions_for(database_url)() as session:
        return list(session.execute(query).scalars())


# --- the throttle store ----------------------------------------------------------------------------------


def test_parallel_attempts_on_one_username_and_address_pass_at_most_the_limit(sessions):
    permits = in_parallel(ATTEMPTS, lambda _: reserve_attempt(sessions, "road.kim", "10.0.0.1", SETTINGS))
    assert sum(permit.allowed for permit in permits) == SETTINGS.login_max_failures
    refused = [permit for permit in permits if not permit.allowed]
    assert {permit.reason for permit in refused} == {LOCKED}
    assert all(0 < permit.retry_after_seconds <= SETTINGS.login_window_minutes * 60 for permit in refused)
    assert not reserve_attempt(sessions, "ROAD.KIM ", "10.0.0.1", SETTINGS).allowed  # same username
    assert locked_usernames(sessions, SETTINGS) == {"road.kim"}


def test_parallel_attempts_from_many_addresses_lock_the_username(sessions):
    permits = in_parallel(ATTEMPTS, lambda i: reserve_attempt(sessions, "chief.park", f"10.0.1.{i}", SETTINGS))
    assert sum(permit.allowed for permit in permits) == SETTINGS.login_max_failures_per_user
    assert not reserve_attempt(sessions, "chief.park", "10.9.9.9", SETTINGS).allowed
    assert reserve_attempt(sessions, "road.lee", "10.0.1.1", SETTINGS).allowed  # other usernames are free


def test_spraying_from_one_address_is_slowed_not_locked(sessions):
    settings = StaffSettings(login_max_failures_per_ip=12, login_slow_seconds=30)
    permits = in_parallel(ATTEMPTS, lambda i: reserve_attempt(sessions, f"user{i}", "10.0.2.1", settings))
    assert sum(permit.allowed for permit in permits) == 12
    assert {permit.reason for permit in permits if not permit.allowed} == {SLOWED}
    assert locked_usernames(sessions, settings) == set()  # nobody behind that address is locked
    assert reserve_attempt(sessions, "user1", "10.0.2.2", settings).allowed  # from elsewhere: fine
    later = reserve_attempt(
        sessions, "user1", "10.0.2.1", settings, now=utc_now() + timedelta(seconds=31)
    )  # after the pause: one more attempt …
    assert later.allowed
    again = reserve_attempt(sessions, "user2", "10.0.2.1", settings, now=utc_now() + timedelta(seconds=32))
    assert not again.allowed and again.reason == SLOWED  # … and then the next pause


def test_a_success_clears_the_counters_and_a_window_expires(sessions):
    for _ in range(4):
        assert reserve_attempt(sessions, "forgetful", "10.0.3.1", SETTINGS).allowed
    assert reserve_attempt(sessions, "forgetful", "10.0.3.1", SETTINGS).allowed
    settle_attempt(sessions, "forgetful", "10.0.3.1", True, SETTINGS)
    for _ in range(SETTINGS.login_max_failures):
        assert reserve_attempt(sessions, "forgetful", "10.0.3.1", SETTINGS).allowed
    assert not reserve_attempt(sessions, "forgetful", "10.0.3.1", SETTINGS).allowed
    after_window = utc_now() + timedelta(seconds=SETTINGS.login_window_minutes * 60 + 1)
    assert reserve_attempt(sessions, "forgetful", "10.0.3.1", SETTINGS, now=after_window).allowed


def test_counters_untouched_for_a_day_are_forgotten_at_the_next_success(sessions):
    reserve_attempt(sessions, "gone.user", "10.0.6.1", SETTINGS)
    with sessions() as session:
        assert session.execute(select(func.count()).select_from(LoginThrottle)).scalar_one() == 3
    settle_attempt(sessions, "other.user", "10.0.6.2", True, SETTINGS, now=utc_now() + timedelta(days=2))
    with sessions() as session:
        assert session.execute(select(func.count()).select_from(LoginThrottle)).scalar_one() == 0


def test_unlock_clears_every_counter_of_the_username_and_is_audited(sessions):
    for address in ("10.0.4.1", "10.0.4.2"):
        in_parallel(6, lambda _, address=address: reserve_attempt(sessions, "locked.out", address, SETTINGS))
    assert not reserve_attempt(sessions, "locked.out", "10.0.4.1", SETTINGS).allowed
    assert unlock(sessions, Actor("admin.jung", "admin"), "locked.out") == 3  # two pairs and the username
    assert reserve_attempt(sessions, "locked.out", "10.0.4.1", SETTINGS).allowed
    with sessions() as session:
        entry = session.execute(select(AuditEntry).where(AuditEntry.action == "account.unlocked")).scalar_one()
    assert entry.actor == "admin.jung" and entry.detail["username"] == "locked.out"


# --- a real console over HTTP --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("staff-throttle")
    database_url = sqlite_url(workdir)
    seed_accounts(
        database_url,
        {
            "target.user": ("staff", "road_management"),
            "admin.jung": ("admin", None),
            **{f"office{i}": ("staff", "road_management") for i in range(8)},
        },
    )
    server = StaffServer(
        database_url, workdir, {"SOTONG_STAFF_LOGIN_MAX_FAILURES_PER_IP": "12", "SOTONG_STAFF_LOGIN_SLOW_SECONDS": "2"}
    ).start()
    yield {"url": server.url, "db": database_url}
    server.stop()


def parallel_logins(url: str, username: str, passwords: list[str]) -> list[int]:
    clients = [StaffClient(url) for _ in passwords]
    for client in clients:
        client.get("/login")  # each with its login CSRF cookie
    return in_parallel(
        len(passwords),
        lambda i: clients[i].post("/login", {"username": username, "password": passwords[i]}).status_code,
    )


def test_parallel_wrong_passwords_over_http_are_verified_at_most_five_times(console):
    statuses = parallel_logins(console["url"], "target.user", ["wrong-password"] * ATTEMPTS)
    assert sorted(statuses) == [401] * 5 + [429] * (ATTEMPTS - 5)
    assert len(audit(console["db"], "login.failed", "target.user")) == 5  # passwords checked: five
    assert len(audit(console["db"], "login.throttled", "target.user")) == ATTEMPTS - 5
    refused = StaffClient(console["url"]).login("target.user", PASSWORD)
    assert refused.status_code == 429 and "잠시 로그인할 수 없어요" in refused.text
    assert int(refused.headers["retry-after"]) > 0
    assert not audit(console["db"], "login.succeeded", "target.user")

    admin = StaffClient.signed_in(console["url"], "admin.jung")
    page = admin.get("/admin/accounts")
    assert "로그인 잠김" in page.text and "/admin/accounts/target.user/unlock" in page.text
    unlocked = admin.post("/admin/accounts/target.user/unlock")
    assert unlocked.status_code == 302 and unlocked.headers["location"] == "/admin/accounts?done=unlocked"
    assert "로그인 잠김" not in admin.get("/admin/accounts").text
    assert StaffClient(console["url"]).login("target.user", PASSWORD).status_code == 302
    (entry,) = audit(console["db"], "account.unlocked")
    assert entry.actor == "admin.jung" and entry.detail["username"] == "target.user"


def test_one_address_spraying_usernames_is_slowed_and_locks_nobody(console):
    sprayer = StaffClient(console["url"])
    statuses = [sprayer.login(f"office{i % 8}", "wrong-password").status_code for i in range(14)]
    # 14 tries pass the address's limit (12) whatever the tests before this one (on this worker or
    # not) left on it; it is slowed, no username is locked (at most 2 tries each, the pair's limit is 5).
    assert 429 in statuses
    slowed = StaffClient(console["url"]).login("office0", PASSWORD)  # a colleague behind the same NAT
    assert slowed.status_code == 429 and "초 뒤에 다시 시도해 주세요" in slowed.text
    time.sleep(2.2)
    assert StaffClient(console["url"]).login("office0", PASSWORD).status_code == 302  # slowed, not locked
    time.sleep(2.2)
    admin = StaffClient.signed_in(console["url"], "admin.jung")
    assert "로그인 잠김" not in admin.get("/admin/accounts").text


def test_session_cookie_is_secure_when_configured(tmp_path):
    """SOTONG_STAFF_COOKIE_SECURE=1 (the production profile, behind HTTPS) marks both cookies Secure;
    without it (plain-HTTP localhost) they are not: see test_staff_access."""
    database_url = sqlite_url(tmp_path)
    seed_accounts(database_url, {"admin.jung": ("admin", None)})
    server = StaffServer(database_url, tmp_path, {"SOTONG_STAFF_COOKIE_SECURE": "1"}).start()
    try:
        client = StaffClient(server.url)
        login_page = client.get("/login")
        assert "Secure" in login_page.headers["set-cookie"]
        # A browser would send the Secure cookie over HTTPS only; here it is handed back by hand.
        client.http.cookies.set("sotong_login_csrf", login_page.cookies["sotong_login_csrf"])
        response = client.post("/login", {"username": "admin.jung", "password": PASSWORD})
        assert response.status_code == 302
        session_cookie = next(
            part
            for part in response.headers["set-cookie"].split(", sotong")
            if part.lstrip().startswith(("sotong_staff=", "_staff="))
        )
        assert "Secure" in session_cookie and "HttpOnly" in session_cookie
        assert response.headers["strict-transport-security"] == "max-age=31536000"
    finally:
        server.stop()


def test_cli_unlock(console):
    sessions = sessions_for(console["db"])
    for _ in range(5):
        reserve_attempt(sessions, "office7", "10.0.5.1", SETTINGS)
    assert not reserve_attempt(sessions, "office7", "10.0.5.1", SETTINGS).allowed
    result = subprocess.run(
        [str(VENV_BIN / "python"), "-m", "bot.staff", "unlock", "office7"],
        cwd=ROOT,
        env=base_env(SOTONG_DATABASE_URL=console["db"]),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and "office7: unlocked" in result.stdout, result.stderr
    assert reserve_attempt(sessions, "office7", "10.0.5.1", SETTINGS).allowed
    assert audit(console["db"], "account.unlocked")[-1].actor.startswith("cli:")
    missing = subprocess.run(
        [str(VENV_BIN / "python"), "-m", "bot.staff", "unlock", "nobody"],
        cwd=ROOT,
        env=base_env(SOTONG_DATABASE_URL=console["db"]),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 1
