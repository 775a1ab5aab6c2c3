"""`python -m bot.staff users …` and `apikeys …` as an operator runs them."""

from __future__ import annotations

import subprocess

import pytest

from bot.staff.accounts import authenticate
from bot.staff.open311.keys import client_for_key
from tests.stack import ROOT, VENV_BIN, base_env
from tests.staff_support import sessions_for, sqlite_url

pytestmark = pytest.mark.integration  # runs the console commands as processes


@pytest.fixture
def run(tmp_path):
    database_url = sqlite_url(tmp_path)

    def command(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(VENV_BIN / "python"), "-m", "bot.staff", *args],
            cwd=ROOT,
            input=stdin,
            env=base_env(SOTONG_DATABASE_URL=database_url),
            capture_output=True,
            text=True,
            timeout=60,
        )

    command.database_url = database_url
    return command


def test_add_list_disable_and_enable_accounts(run):
    added = run(
        "users",
        "add",
        "--username",
        "Road.Kim",
        "--role",
        "staff",
        "--department",
        "road_management",
        "--name",
        "김도로",
        "--password-stdin",
        stdin="a-long-password\n",
    )
    assert added.returncode == 0, added.stderr
    assert "added road.kim (staff, department road_management)" in added.stdout
    assert (
        run(
            "users",
            "add",
            "--username",
            "chief",
            "--role",
            "supervisor",
            "--password-stdin",
            stdin="another-password\n",
        ).returncode
        == 0
    )
    listing = run("users", "list").stdout.splitlines()
    assert listing == ["chief\tsupervisor\t-\tactive\tchief", "road.kim\tstaff\troad_management\tactive\t김도로"]
    sessions = sessions_for(run.database_url)
    assert authenticate(sessions, "road.kim", "a-long-password").department_id == "road_management"
    assert run("users", "disable", "road.kim").returncode == 0
    assert authenticate(sessions, "road.kim", "a-long-password") is None
    assert run("users", "enable", "road.kim").returncode == 0
    assert run("users", "password", "road.kim", "--password-stdin", stdin="a-new-password!\n").returncode == 0
    assert authenticate(sessions, "road.kim", "a-new-password!") is not None
    assert run("users", "disable", "nobody").returncode == 1


@pytest.mark.parametrize(
    "args, password, message",
    [
        (["--role", "staff"], "a-long-password", "department"),
        (["--role", "staff", "--department", "no_such"], "a-long-password", "unknown department"),
        (["--role", "admin"], "short", "password"),
    ],
)
def test_invalid_accounts_are_refused_with_a_reason(run, args, password, message):
    result = run("users", "add", "--username", "someone", *args, "--password-stdin", stdin=password + "\n")
    assert result.returncode == 1 and message in result.stderr


def test_a_username_is_taken_once(run):
    for expected in (0, 1):
        result = run(
            "users", "add", "--username", "twin", "--role", "admin", "--password-stdin", stdin="a-long-password\n"
        )
        assert result.returncode == expected
    assert "taken" in result.stderr


def test_api_keys(run):
    key = run("apikeys", "add", "--name", "partner").stdout.strip()
    sessions = sessions_for(run.database_url)
    client = client_for_key(sessions, key, env={})
    assert client.name == "partner" and client.may("create") and not client.may("read_full")
    assert "partner\tcreate\tcreated" in run("apikeys", "list").stdout
    assert run("apikeys", "revoke", "partner").returncode == 0
    assert client_for_key(sessions, key, env={}) is None
    reader = run("apikeys", "add", "--name", "city-hall", "--scope", "read_full").stdout.strip()
    assert client_for_key(sessions, reader, env={}).scopes == {"read_full"}
    assert "city-hall\tread_full\tcreated" in run("apikeys", "list").stdout
    assert run("apikeys", "add", "--name", "x", "--scope", "admin").returncode == 2
