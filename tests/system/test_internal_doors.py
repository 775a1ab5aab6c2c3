"""Internal doors stay shut (issue 13, findings 1-3 and 10):

* the supervisor of `make run` (scripts/supervise.sh, shared with `make run-prod`) restarts a
  process that died and logs it, the others keep running, and Ctrl-C stops everything;
* the action server answers only Rasa: without the shared secret header a forged call gets 401
  and files nothing; it listens on loopback and does not start without a secret;
* Rasa's HTTP API needs its token, and a real conversation keeps the citizen's number out of
  the tracker database while the turn still sees it.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
import requests

from bot.channels.rest import rasa_sender_id
from bot.rasa_ext.action_server import SECRET_ENV, SECRET_HEADER
from tests.cluster import _alive
from tests.stack import ROOT, VENV_BIN, Service, base_env, free_port, load_domain

PHONE, MASKED_PHONE = "010-2345-6789", "010-****-6789"


# ------------------------------------------------------------------------------ supervisor

SUPERVISED_SCRIPT = """
set -euo pipefail
. "$ROOT/scripts/supervise.sh"
stop_supervised_on_exit
supervise sleeper "$PYTHON" -c "import time; time.sleep(600)"
supervise other "$PYTHON" -c "import time; time.sleep(600)"
wait
"""


def read_pid(run_dir: Path, name: str, old: int | None = None, timeout: float = 15) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid = int((run_dir / f"{name}.pid").read_text().strip())
            if pid != old and _alive(pid):
                return pid
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"{name} has no (new) running pid")


def test_supervisor_restarts_a_dead_process_and_ctrl_c_stops_everything(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    env = base_env(ROOT=str(ROOT), PYTHON=str(VENV_BIN / "python"), RUN_DIR=str(run_dir), SOTONG_RESTART_DELAY="0.2")
    script = subprocess.Popen(
        ["bash", "-c", SUPERVISED_SCRIPT],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        sleeper, other = read_pid(run_dir, "sleeper"), read_pid(run_dir, "other")
        os.kill(sleeper, signal.SIGKILL)  # a crash
        restarted = read_pid(run_dir, "sleeper", old=sleeper)
        assert restarted != sleeper and _alive(other)  # the rest keeps running
        assert script.poll() is None

        os.kill(script.pid, signal.SIGINT)  # Ctrl-C reaches the script
        _, errors = script.communicate(timeout=20)
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
            script.wait()
    assert script.returncode == 0
    assert "sleeper exited with status 137; restarting" in errors  # logged
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (_alive(restarted) or _alive(other)):
        time.sleep(0.05)
    assert not _alive(restarted) and not _alive(other)


SECRETS = {
    "KAKAO_SKILL_SECRET": "kakao_secret",
    "SOTONG_RASA_TOKEN": "rasa_token",
    "SOTONG_ACTION_SECRET": "action_secret",
    "SOTONG_REST_TOKEN": "rest_token",
    "SOTONG_DATA_KEY": "data_key",
}


def test_secrets_are_generated_once_into_private_files_unless_set(tmp_path):
    script = '. "$ROOT/scripts/secrets.sh"; ensure_sotong_secrets "$DIR" "$PYTHON"; ' + "; ".join(
        f'echo "{name}=${name}"' for name in SECRETS
    )
    env = base_env(ROOT=str(ROOT), PYTHON=str(VENV_BIN / "python"), DIR=str(tmp_path / "var"))
    for name in SECRETS:
        env.pop(name, None)

    def run(**extra: str) -> dict[str, str]:
        output = subprocess.run(
            ["bash", "-euc", script],
            cwd=ROOT,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        return dict(line.split("=", 1) for line in output.splitlines() if "=" in line and line.split("=")[0] in SECRETS)

    first = run()
    for name, file in SECRETS.items():
        path = tmp_path / "var" / file
        assert first[name] == path.read_text().strip() and len(first[name]) >= 32
        assert path.stat().st_mode & 0o777 == 0o600
    from bot.privacy.encryption import FieldCipher

    FieldCipher(first["SOTONG_DATA_KEY"])  # a usable Fernet key
    assert run() == first  # kept, not regenerated
    assert run(SOTONG_RASA_TOKEN="from-the-environment")["SOTONG_RASA_TOKEN"] == "from-the-environment"


# ------------------------------------------------------------------------------ action server

ACTION_SECRET = "doors-test-action-secret-0123456789"


def listening_addresses(port: int) -> list[str]:
    """Local IPv4/IPv6 addresses listening on `port` (from /proc/net/tcp*), as hex."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                found.append(address)
    return found


@pytest.fixture(scope="module")
def action_server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("doors-actions")
    port = free_port()
    env = base_env(SOTONG_DATABASE_URL=f"sqlite:///{workdir / 'sotong.db'}", **{SECRET_ENV: ACTION_SECRET})
    env.pop("SANIC_HOST", None)
    service = Service(
        "action server",
        [str(VENV_BIN / "python"), "-m", "bot.rasa_ext.action_server", "--actions", "actions", "--port", str(port)],
        env,
        workdir / "actions.log",
        f"http://127.0.0.1:{port}/health",
    )
    service.start(timeout=180)
    try:
        yield f"http://127.0.0.1:{port}", workdir / "sotong.db", port
    finally:
        service.stop()


def forged_complaint(sender: str) -> dict:
    """A hand-written call of the complaint form's last step: files a ticket without any conversation."""
    from actions import complaints as form

    slots = {
        form.CATEGORY: "road_damage",
        form.LOCATION: "일산동구 백석동 흰돌마을 5단지 앞",
        form.DESCRIPTION: "도로에 큰 구멍이 생겼어요",
        form.PHOTO: form.NO_PHOTO,
        form.CONSENT: False,
        form.PHONE: form.ANONYMOUS,
        form.DECISION: form.SUBMIT,
    }
    latest = {"text": "네 접수해 주세요", "intent": {"name": "affirm", "confidence": 1.0}, "entities": []}
    tracker = {
        "sender_id": sender,
        "slots": slots,
        "latest_message": latest,
        "events": [
            {"event": "action", "name": "action_listen"},
            {"event": "user", "text": latest["text"], "parse_data": latest},
        ],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }
    return {
        "next_action": "action_submit_complaint",
        "sender_id": sender,
        "tracker": tracker,
        "domain": load_domain(),
        "version": "3.6.21",
    }


def row_counts(database: Path) -> dict[str, int]:
    if not database.exists():
        return {"tickets": 0, "outbox": 0}
    with sqlite3.connect(database) as connection:
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0] if table in tables else 0
            for table in ("tickets", "outbox")
        }


def test_a_forged_action_call_gets_401_and_files_nothing(action_server):
    url, database, port = action_server
    before = row_counts(database)
    for headers in (
        {},
        {SECRET_HEADER: "wrong"},
        {SECRET_HEADER: ACTION_SECRET[:-1]},
        {SECRET_HEADER: ACTION_SECRET + "x"},
        {"X-Sotong-Secret": ACTION_SECRET},
    ):
        response = requests.post(f"{url}/webhook", json=forged_complaint("forger-1"), headers=headers, timeout=30)
        assert response.status_code == 401, (headers, response.text)
        assert response.json() == {"error": "unauthorized"}
    assert requests.get(f"{url}/actions", timeout=10).status_code == 401
    assert row_counts(database) == before  # no ticket, no delivery to a department
    assert requests.get(f"{url}/health", timeout=10).json() == {"status": "ok"}  # stays open

    # What Rasa sends: the header from endpoints.yml. The same call now files the ticket.
    response = requests.post(
        f"{url}/webhook", json=forged_complaint("citizen-1"), timeout=60, headers={SECRET_HEADER: ACTION_SECRET}
    )
    assert response.status_code == 200, response.text
    after = row_counts(database)
    assert after["tickets"] == before["tickets"] + 1 and after["outbox"] > before["outbox"]

    addresses = listening_addresses(port)
    assert addresses and set(addresses) <= {"0100007F", "00000000000000000000000001000000"}  # loopback only


def test_the_action_server_does_not_start_without_a_secret(tmp_path):
    env = base_env(SOTONG_DATABASE_URL=f"sqlite:///{tmp_path / 'sotong.db'}")
    for name in (SECRET_ENV, "SOTONG_ACTIONS_INSECURE"):
        env.pop(name, None)
    command = [
        str(VENV_BIN / "python"),
        "-m",
        "bot.rasa_ext.action_server",
        "--actions",
        "actions",
        "--port",
        str(free_port()),
    ]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and SECRET_ENV in result.stderr
    result = subprocess.run(
        command, cwd=ROOT, env={**env, SECRET_ENV: "short"}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and "too short" in result.stderr


# ------------------------------------------------------------------------------ Rasa server


def test_rasas_http_api_needs_the_token(rasa_stack):
    for method, path in (
        ("get", "/conversations/someone/tracker"),
        ("post", "/model/parse"),
        ("get", "/status"),
        ("post", "/conversations/someone/trigger_intent"),
        ("put", "/model"),
    ):
        response = requests.request(method, f"{rasa_stack.rasa_url}{path}", json={"text": "안녕"}, timeout=10)
        assert response.status_code == 401, (path, response.status_code)
        wrong = requests.request(method, f"{rasa_stack.rasa_url}{path}?token=wrong", json={}, timeout=10)
        assert wrong.status_code == 401, path
    assert requests.get(rasa_stack.api_url("/status"), timeout=10).ok


def test_the_callback_number_is_encrypted_in_the_tracker_database(rasa_stack):
    """A real conversation up to the callback number: the turn (and the API's tracker) has the
    number, the tracker store's SQLite file does not."""
    user = "doors-phone-1"
    say = lambda text: "\n".join(reply.get("text", "") for reply in rasa_stack.say(user, text))  # noqa: E731
    assert "사진" in say("덕양구 화정동 은빛마을 6단지 앞 도로에 포트홀이 생겼어요")
    assert "개인정보" in say("사진 없음")
    assert "휴대전화" in say("동의해요")
    assert MASKED_PHONE in say(PHONE)  # the form read the real number back
    tracker = requests.get(rasa_stack.api_url(f"/conversations/{rasa_sender_id(user)}/tracker"), timeout=10).json()
    assert tracker["slots"]["phone"] == PHONE
    stored = (rasa_stack.workdir / "tracker.db").read_bytes()
    assert b"enc1:" in stored and PHONE.encode() not in stored and PHONE.replace("-", "").encode() not in stored
    assert "접수" in say("네 접수해 주세요")
    stored = (rasa_stack.workdir / "tracker.db").read_bytes()
    assert PHONE.encode() not in stored and PHONE.replace("-", "").encode() not in stored
