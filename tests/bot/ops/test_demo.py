"""`make demo` (issue 15 point 13): `python -m bot.ops.demo` as a real process on a fresh SQLite
file, then a real staff console signed into with the printed passwords, and the real dispatcher
delivering the sample tickets to the console's local inbox."""

from __future__ import annotations

import re
import subprocess

import pytest
from sqlalchemy import func, select

from bot.delivery import OutboxEntry
from bot.ops.demo import ACCOUNTS, TICKETS
from bot.staff.accounts import Role
from bot.tickets.models import Ticket
from tests.bot.delivery.test_local_inbox import TOKEN, dispatch_once
from tests.stack import VENV_BIN, base_env
from tests.staff_support import StaffClient, StaffServer, close_sessions, sessions_for, sqlite_url

pytestmark = pytest.mark.integration  # runs make demo and a staff console

PASSWORD_LINE = re.compile(r"^  (\S+)\s+(\w+)\s+(?:created, password|new password): (\S+)$", re.M)
TICKET_LINE = re.compile(r"^  (GY-\d{4}-\d{6})  .+, (filed now|filed before)$", re.M)


def demo(database_url: str, *args: str, **env) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(VENV_BIN / "python"), "-m", "bot.ops.demo", "--database-url", database_url, *args],
        env=base_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result


def sign_in(console: StaffServer, username: str, password: str) -> StaffClient:
    client = StaffClient(console.url)
    assert client.login(username, password).status_code == 302, f"{username} cannot sign in"
    return client


def test_demo_accounts_and_tickets_once_then_reset(tmp_path):
    database_url = sqlite_url(tmp_path)
    first = demo(database_url)
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""  # no log lines, no warnings
    passwords = {name: password for name, _role, password in PASSWORD_LINE.findall(first.stdout)}
    roles = {name: role for name, role, _password in PASSWORD_LINE.findall(first.stdout)}
    assert set(roles.values()) == {role.value for role in Role}  # one account per role
    assert len(set(passwords.values())) == len(ACCOUNTS) and all(len(p) >= 16 for p in passwords.values())
    tickets = TICKET_LINE.findall(first.stdout)
    assert [state for _number, state in tickets] == ["filed now"] * len(TICKETS)

    second = demo(database_url)
    assert second.returncode == 0, second.stderr
    assert PASSWORD_LINE.findall(second.stdout) == []
    assert second.stdout.count("exists, password unchanged") == len(ACCOUNTS)
    assert TICKET_LINE.findall(second.stdout) == [(number, "filed before") for number, _state in tickets]
    sessions = sessions_for(database_url)
    with sessions() as session:
        assert session.execute(select(func.count()).select_from(Ticket)).scalar() == len(TICKETS)
        assert session.execute(select(func.count()).select_from(OutboxEntry)).scalar() == len(TICKETS)

    console = StaffServer(
        database_url,
        tmp_path,
        env_extra={"SOTONG_LOCAL_INBOX_TOKEN": TOKEN, "SOTONG_LOCAL_INBOX_DIR": str(tmp_path / "inbox")},
    ).start()
    try:
        supervisor = sign_in(console, "demo.supervisor", passwords["demo.supervisor"])
        listing = supervisor.get("/tickets").text
        assert all(number in listing for number, _state in tickets)
        road = sign_in(console, "demo.staff", passwords["demo.staff"]).get("/tickets").text
        assert tickets[0][0] in road and tickets[3][0] not in road  # 도로관리과 only
        sign_in(console, "demo.admin", passwords["demo.admin"])
        sign_in(console, "demo.trainer", passwords["demo.trainer"])

        # The sample tickets reach the local inbox through the real dispatcher.
        assert f"delivered={len(TICKETS)} retried=0" in dispatch_once(
            database_url, f"{console.url}/local-inbox/deliveries"
        )
        inbox = supervisor.get("/local-inbox").text
        assert all(number in inbox for number, _state in tickets) and "환경관리과" in inbox

        reset = demo(database_url, "--reset-passwords")
        assert reset.returncode == 0, reset.stderr
        new_passwords = {name: password for name, _role, password in PASSWORD_LINE.findall(reset.stdout)}
        assert set(new_passwords) == set(passwords) and not set(new_passwords.values()) & set(passwords.values())
        assert StaffClient(console.url).login("demo.staff", passwords["demo.staff"]).status_code != 302
        sign_in(console, "demo.staff", new_passwords["demo.staff"])
    finally:
        console.stop()
        close_sessions(database_url)


def test_without_the_data_key_it_stops_with_a_hint(tmp_path):
    result = demo(sqlite_url(tmp_path), SOTONG_DATA_KEY="")
    assert result.returncode == 1 and "make demo" in result.stderr and "var/data_key" in result.stderr
    assert not (tmp_path / "sotong.db").exists()
