"""The production profile for tests and benchmarks: scripts/run_cluster.sh on throw-away
PostgreSQL databases and a Redis key prefix of its own, and a private PostgreSQL server that a
test may stop and start (never the shared one).

    cluster = Cluster(model, workdir, postgres_url, redis_url).start()
    cluster.kakao("user-1", "가로등이 고장났어요")      # through nginx
    cluster.rest("user-1", "...", instance=1)          # straight to one Rasa process (nginx has no REST)
    cluster.kill("actions-0")                          # the script's supervisor restarts it
    cluster.stop()                                     # stops everything, drops the databases
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy import text
from sqlalchemy.engine import create_engine, make_url

from tests.stack import ROOT, base_env

SECRET_HEADER = "X-Sotong-Secret"
READY_LINE = "Sotong cluster ready"
POSTGRES_URL_ENV = "SOTONG_TEST_POSTGRES_URL"
REDIS_URL_ENV = "SOTONG_TEST_REDIS_URL"


def nginx_binary() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None


def ensure_nginx() -> str | None:
    """nginx's path, installing it with scripts/install_nginx.sh when apt can; None if impossible."""
    if nginx_binary():
        return nginx_binary()
    if shutil.which("apt-get") and (os.geteuid() == 0 or shutil.which("sudo")):
        subprocess.run(
            ["bash", str(ROOT / "scripts" / "install_nginx.sh")],
            cwd=ROOT,
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=600,
        )
    return nginx_binary()


def port_block(count: int) -> int:
    """The first of `count` consecutive free loopback ports.

    Drawn below Linux's ephemeral range (32768-60999), so an outgoing connection's source port,
    ours or another test worker's, cannot take the port between this check and the bind.
    """
    for _ in range(200):
        base = random.randint(20000, 32700 - count)
        sockets = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                sock.bind(("127.0.0.1", port))
                sockets.append(sock)
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no block of free ports")


def answer_text(body: Any) -> str:
    """Every text a citizen sees in a SkillResponse (texts, card titles and descriptions)."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("text", "title", "description") and isinstance(item, str):
                    found.append(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk((body or {}).get("template") if isinstance(body, dict) and "template" in body else body)
    return "\n".join(found)


def kakao_payload(utterance: str, user_id: str, client_extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "intent": {"id": "test-block", "name": "test"},
        "userRequest": {
            "timezone": "Asia/Seoul",
            "params": {},
            "block": {"id": "test-block", "name": "test"},
            "utterance": utterance,
            "lang": "ko",
            "user": {"id": user_id, "type": "botUserKey", "properties": {}},
        },
        "bot": {"id": "test-bot", "name": "test"},
        "action": {
            "id": "test-action",
            "name": "sotong_skill",
            "clientExtra": client_extra,
            "params": {},
            "detailParams": {},
        },
    }


def pending_token(body: Any) -> dict[str, Any] | None:
    """The "답변 보기" extra of an answer the channel's 5-second guard deferred, else None."""
    from bot.channels.kakao import texts as kakao_texts

    if (
        not isinstance(body, dict)
        or kakao_texts.PENDING_ANSWER not in answer_text(body)
        and kakao_texts.STILL_PENDING not in answer_text(body)
    ):
        return None
    for reply in (body.get("template") or {}).get("quickReplies") or []:
        extra = reply.get("extra") or {}
        if "sotong_continuation" in extra:
            return extra
    return None


# ------------------------------------------------------------------------------ databases


class ThrowAwayDatabases:
    """Fresh databases on a PostgreSQL server, dropped again (connections terminated first)."""

    def __init__(self, server_url: str, names: list[str]):
        self.server_url = make_url(server_url)
        self.names = names
        self._admin = create_engine(self.server_url, future=True, isolation_level="AUTOCOMMIT")

    def url(self, name: str) -> str:
        return self.server_url.set(database=name).render_as_string(hide_password=False)

    def create(self) -> ThrowAwayDatabases:
        with self._admin.connect() as connection:
            for name in self.names:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        return self

    def drop(self) -> None:
        try:
            with self._admin.connect() as connection:
                for name in self.names:
                    connection.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = :name AND pid <> pg_backend_pid()"
                        ),
                        {"name": name},
                    )
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        finally:
            self._admin.dispose()


def postgres_reachable(url: str) -> str | None:
    """None if a connection works, else the reason."""
    engine = create_engine(url, future=True, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return None
    except Exception as error:
        return f"{type(error).__name__}: {str(error).strip()[:200]}"
    finally:
        engine.dispose()


def redis_reachable(url: str) -> str | None:
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=5).ping()
        return None
    except Exception as error:
        return f"{type(error).__name__}: {error}"


def redis_url_or_skip() -> str:
    """The test Redis server's URL; skips the test (with the reason) when there is none."""
    import pytest

    url = os.environ.get(REDIS_URL_ENV)
    if not url:
        pytest.skip(f"{REDIS_URL_ENV} is not set (.ci/run sets it)")
    problem = redis_reachable(url)
    if problem:
        pytest.skip(f"Redis at {REDIS_URL_ENV} unavailable: {problem}")
    return url


def prerequisites_missing() -> str | None:
    """Why the production-profile tests cannot run here, or None."""
    postgres, redis_url = os.environ.get(POSTGRES_URL_ENV), os.environ.get(REDIS_URL_ENV)
    if not postgres or not redis_url:
        return f"{POSTGRES_URL_ENV} and {REDIS_URL_ENV} are needed (.ci/run sets them)"
    problem = postgres_reachable(postgres)
    if problem:
        return f"PostgreSQL at {POSTGRES_URL_ENV} unavailable: {problem}"
    problem = redis_reachable(redis_url)
    if problem:
        return f"Redis at {REDIS_URL_ENV} unavailable: {problem}"
    if not ensure_nginx():
        return "nginx is not installed and scripts/install_nginx.sh could not install it (no apt-get or no root)"
    return None


# ------------------------------------------------------------------------------ private PostgreSQL


@dataclass
class PrivatePostgres:
    """A PostgreSQL server of our own (initdb into a temporary directory, pg_ctl on a free port),
    so that a test may stop and restart it. Runs as the `postgres` system user when we are root, so
    its directory must be one that user can reach: use `PrivatePostgres.in_tmp()` (a directory
    right under /tmp; pytest's own tmp tree is private to its user and pytest resets its mode)."""

    directory: Path
    port: int = field(default_factory=lambda: port_block(1))

    @classmethod
    def in_tmp(cls) -> PrivatePostgres:
        import tempfile

        return cls(Path(tempfile.mkdtemp(prefix="sotong-test-pg-")))

    @staticmethod
    def binaries() -> Path | None:
        candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
        return candidates[0].parent if candidates else None

    @classmethod
    def unavailable(cls) -> str | None:
        if cls.binaries() is None:
            return "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin"
        if os.geteuid() == 0 and not _system_user_exists("postgres"):
            return "running as root and there is no 'postgres' user to run initdb as"
        return None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [str(self.binaries() / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=timeout)

    def init(self) -> PrivatePostgres:
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(
            "initdb",
            "-D",
            str(self.directory / "data"),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        with (self.directory / "data" / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.directory}'\nfsync = off\n"
                "max_connections = 300\nshared_buffers = 64MB\n"
            )
        return self

    def start(self) -> None:
        self._run(
            "pg_ctl",
            "-D",
            str(self.directory / "data"),
            "-l",
            str(self.directory / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.directory / "data"), "-m", "fast", "-w", "-t", "60", "stop")

    def is_running(self) -> bool:
        try:
            self._run("pg_ctl", "-D", str(self.directory / "data"), "status")
            return True
        except subprocess.CalledProcessError:
            return False

    def destroy(self) -> None:
        if (self.directory / "data").exists() and self.is_running():
            try:
                self.stop()
            except subprocess.SubprocessError:
                pass
        shutil.rmtree(self.directory, ignore_errors=True)


def _system_user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


# ------------------------------------------------------------------------------ the cluster


@dataclass
class Cluster:
    """scripts/run_cluster.sh with its own ports, databases, Redis key prefix and var directory."""

    model: Path
    workdir: Path
    postgres_url: str  # a server URL (any database); two fresh databases are made on it
    redis_url: str
    instances: int = 2
    action_instances: int = 2
    dispatcher: bool = True
    retention_days: int = 0
    rasa_args: str = ""
    secret: str = "cluster-test-secret-0123456789"
    rasa_token: str = "cluster-test-rasa-token-0123456789"
    action_secret: str = "cluster-test-action-secret-0123456789"
    rest_token: str = "cluster-test-rest-token-0123456789"
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    databases: ThrowAwayDatabases | None = None

    def __post_init__(self) -> None:
        tag = uuid.uuid4().hex[:10]
        self.tag = tag
        self.app_db, self.tracker_db = f"sotong_t{tag}_app", f"sotong_t{tag}_tracker"
        self.lock_prefix = f"sotongt{tag}"
        self.port = port_block(1)
        self.rasa_base_port = port_block(self.instances)
        self.actions_port = port_block(1)
        self.actions_base_port = port_block(self.action_instances)

    # --- addresses

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def kakao_url(self) -> str:
        return f"{self.url}/webhooks/kakao/webhook"

    def instance_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.rasa_base_port + index}"

    def api_url(self, path: str, instance: int = 0) -> str:
        """A URL of one instance's Rasa HTTP API, with the token."""
        from bot.ops.warmup import api_url

        return api_url(f"{self.instance_url(instance)}{path}", self.rasa_token)

    @property
    def database_url(self) -> str:
        return self.databases.url(self.app_db)

    @property
    def tracker_database_url(self) -> str:
        return self.databases.url(self.tracker_db)

    @property
    def log_dir(self) -> Path:
        return self.workdir / "log"

    def env(self) -> dict[str, str]:
        server = make_url(self.postgres_url)
        redis_parts = urlsplit(self.redis_url)
        redis_db = (redis_parts.path or "/0").strip("/") or "0"
        env = base_env(
            SOTONG_VAR_DIR=str(self.workdir),
            SOTONG_MODEL=str(self.model),
            SOTONG_PORT=str(self.port),
            SOTONG_RASA_INSTANCES=str(self.instances),
            SOTONG_RASA_BASE_PORT=str(self.rasa_base_port),
            SOTONG_ACTION_INSTANCES=str(self.action_instances),
            SOTONG_ACTIONS_PORT=str(self.actions_port),
            SOTONG_ACTIONS_BASE_PORT=str(self.actions_base_port),
            SOTONG_RUN_DISPATCHER="1" if self.dispatcher else "0",
            SOTONG_RETENTION_DAYS=str(self.retention_days),
            SOTONG_RESTART_DELAY="1",
            SOTONG_RASA_ARGS=self.rasa_args,
            SOTONG_DATABASE_URL=self.database_url,
            SOTONG_TRACKER_DB_HOST=server.host or "127.0.0.1",
            SOTONG_TRACKER_DB_PORT=str(server.port or 5432),
            SOTONG_TRACKER_DB_NAME=self.tracker_db,
            SOTONG_TRACKER_DB_USER=server.username or "postgres",
            SOTONG_TRACKER_DB_PASSWORD=server.password or "",
            SOTONG_REDIS_HOST=redis_parts.hostname or "127.0.0.1",
            SOTONG_REDIS_PORT=str(redis_parts.port or 6379),
            SOTONG_REDIS_DB=redis_db,
            SOTONG_REDIS_PASSWORD=redis_parts.password or "",
            SOTONG_REDIS_LOCK_PREFIX=self.lock_prefix,
            KAKAO_SKILL_SECRET=self.secret,
            SOTONG_RASA_TOKEN=self.rasa_token,
            SOTONG_ACTION_SECRET=self.action_secret,
            SOTONG_REST_TOKEN=self.rest_token,
        )  # SOTONG_DATA_KEY: the test session's (tests/conftest.py)
        env.pop("SOTONG_ACTION_ENDPOINT_URL", None)
        env.pop("SOTONG_KAKAO_CONTINUATIONS_URL", None)  # run_cluster.sh builds it from SOTONG_REDIS_*
        env.update(self.extra_env)
        return env

    # --- life cycle

    def start(self, timeout: float = 900) -> Cluster:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.databases = ThrowAwayDatabases(self.postgres_url, [self.app_db, self.tracker_db]).create()
        log = (self.workdir / "cluster.log").open("wb")  # a fresh log: an old "ready" line must not count
        self.process = subprocess.Popen(
            ["bash", str(ROOT / "scripts" / "run_cluster.sh")],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if READY_LINE in self.output():
                return self
            if self.process.poll() is not None:
                output = self.output()
                self.stop()
                raise RuntimeError(f"run_cluster.sh exited ({self.process.returncode}):\n{output[-4000:]}")
            time.sleep(1)
        self.stop()
        raise RuntimeError(f"cluster not ready in {timeout}s; see {self.workdir}")

    def output(self) -> str:
        path = self.workdir / "cluster.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
            # whatever is left of this cluster's process group (its own session)
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
        if self.databases is not None:
            try:
                self.databases.drop()
            except Exception:
                pass
        try:
            import redis

            client = redis.Redis.from_url(self.redis_url, socket_timeout=5)
            keys = list(client.scan_iter(match=f"{self.lock_prefix}:*", count=1000))
            if keys:
                client.delete(*keys)
        except Exception:
            pass

    # --- processes

    def pid(self, name: str) -> int | None:
        path = self.workdir / "run" / f"{name}.pid"
        try:
            return int(path.read_text().strip())
        except (OSError, ValueError):
            return None

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        """Kills one supervised process (e.g. "actions-0", "rasa-1") and returns its pid once it is
        gone: a SIGKILLed process keeps its sockets for a moment while the kernel frees its memory,
        and a request reaching it then fails (that is a crash mid-request, not a dead server)."""
        pid = self.pid(name)
        assert pid, f"no pid for {name}"
        os.kill(pid, sig)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.02)
        return pid

    def wait_restarted(self, name: str, old_pid: int, ready_url: str, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = self.pid(name)
            if pid and pid != old_pid:
                try:
                    if requests.get(ready_url, timeout=2).ok:
                        return
                except requests.RequestException:
                    pass
            time.sleep(0.5)
        raise AssertionError(f"{name} was not restarted within {timeout}s")

    def actions_health_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.actions_base_port + index}/health"

    # --- talking

    def kakao_raw(
        self,
        user: str,
        utterance: str,
        url: str | None = None,
        timeout: float = 60,
        client_extra: dict[str, Any] | None = None,
    ) -> requests.Response:
        return requests.post(
            url or self.kakao_url,
            timeout=timeout,
            data=json.dumps(kakao_payload(utterance, user, client_extra), ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json", SECRET_HEADER: self.secret},
        )

    def kakao_answer(self, user: str, utterance: str, instance: int | None = None) -> requests.Response:
        url = None if instance is None else f"{self.instance_url(instance)}/webhooks/kakao/webhook"
        return self.follow_pending(user, self.kakao_raw(user, utterance, url), url)

    def follow_pending(
        self, user: str, response: requests.Response, url: str | None = None, patience: float = 60
    ) -> requests.Response:
        """An answer deferred by the 5-second guard (a busy machine) is fetched with "답변 보기"
        from the process that holds it (continuations live in that process's memory)."""
        deadline = time.monotonic() + patience
        while response.status_code == 200 and pending_token(response.json()) and time.monotonic() < deadline:
            upstream = response.headers.get("X-Sotong-Upstream")
            if upstream:
                url = f"http://{upstream.split(',')[-1].strip()}/webhooks/kakao/webhook"
            response = self.kakao_raw(user, "답변 보기", url, client_extra=pending_token(response.json()))
        return response

    def kakao(self, user: str, utterance: str, instance: int | None = None) -> str:
        response = self.kakao_answer(user, utterance, instance)
        response.raise_for_status()
        return answer_text(response.json())

    def rest(self, user: str, utterance: str, instance: int = 0) -> str:
        """One turn over the REST channel of one instance (loopback only: nginx does not forward it)."""
        from bot.ops.warmup import rest_headers

        response = requests.post(
            f"{self.instance_url(instance)}/webhooks/rest/webhook",
            json={"sender": user, "message": utterance},
            timeout=60,
            headers=rest_headers(self.rest_token),
        )
        response.raise_for_status()
        return "\n".join(reply.get("text", "") for reply in response.json())

    def tracker(self, user: str, instance: int = 0) -> dict[str, Any]:
        response = requests.get(self.api_url(f"/conversations/{user}/tracker", instance), timeout=30)
        response.raise_for_status()
        return response.json()

    def stored_events(self, user: str) -> list[dict[str, Any]]:
        """The rows of the tracker store (what is on disk), in order."""
        engine = create_engine(self.tracker_database_url, future=True)
        try:
            with engine.connect() as connection:
                rows = connection.execute(
                    text("SELECT data FROM events WHERE sender_id = :user ORDER BY id"), {"user": user}
                ).scalars()
                return [json.loads(row) for row in rows]
        finally:
            engine.dispose()

    def logs(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in sorted(self.log_dir.glob("*.log")))


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie waiting for its parent counts as gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] not in ("Z", "X")


TICKET_NUMBER = re.compile(r"GY-\d{4}-\d{6}")
