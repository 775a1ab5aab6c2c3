"""Starts real Sotong processes (Rasa server, action server) for tests and benchmarks."""

from __future__ import annotations

import fcntl
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

from bot.ops.train_command import rasa_train_command
from bot.rasa_ext.action_server import SECRET_HEADER

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
MODEL_CACHE = ROOT / ".cache" / "test-models"
# Epochs for the small test model: enough to learn the data, a fraction of full training.
TEST_EPOCHS = {"BucketedDIETClassifier": 40, "GatedResponseSelector": 30, "TEDPolicy": 20}  # by class name
# A fixed seed for those three, so every clean clone trains the same test model from the same data
# (an unseeded run once read "…에 물이 차서 차가 잠겼어요" as a complaint and an incident test failed).
TEST_RANDOM_SEED = 20261202


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT),
        TF_CPP_MIN_LOG_LEVEL="3",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        RASA_TELEMETRY_ENABLED="false",
    )
    env.update(extra)
    return env


# The secret the action servers that tests start check (bot.rasa_ext.action_server).
TEST_ACTION_SECRET = "sotong-test-action-secret-4f1c9a"


def action_server_service(port: int, env: dict[str, str], log: Path, name: str = "action server") -> Service:
    """The action server as `make run` starts it (python -m bot.rasa_ext.action_server: masked logs,
    the secret checked; it imports no TensorFlow, unlike `rasa run actions`), on 127.0.0.1:`port`.
    `env` may set SOTONG_ACTION_SECRET; otherwise TEST_ACTION_SECRET (send action_headers())."""
    return Service(
        name,
        [str(VENV_BIN / "python"), "-m", "bot.rasa_ext.action_server", "--actions", "actions", "--port", str(port)],
        {"SOTONG_ACTION_SECRET": TEST_ACTION_SECRET, **env},
        log,
        f"http://127.0.0.1:{port}/health",
    )


def action_headers() -> dict[str, str]:
    """What Rasa sends an action server started by action_server_service() (endpoints.yml's header)."""
    return {SECRET_HEADER: TEST_ACTION_SECRET}


def load_domain() -> dict[str, object]:
    """domain.yml as the action server receives it in webhook requests."""
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


def _training_inputs() -> list[Path]:
    files = [ROOT / "config.yml", ROOT / "domain.yml"]
    # Rasa's training data: NLU, responses, rules and stories (not the city's other data)
    files += sorted((ROOT / "data").glob("*.yml"))
    files += sorted((ROOT / "data" / "nlu").rglob("*.yml"))
    files += sorted((ROOT / "data" / "responses").rglob("*.yml"))
    files += sorted((ROOT / "bot" / "nlu").glob("*.py"))
    return files


def test_config_text() -> str:
    """config.yml with fewer epochs and a fixed random seed, as YAML."""
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    for component in config["pipeline"] + config["policies"]:
        class_name = component["name"].rsplit(".", 1)[-1]
        if class_name in TEST_EPOCHS:
            component["epochs"] = TEST_EPOCHS[class_name]
            component["random_seed"] = TEST_RANDOM_SEED
    return yaml.safe_dump(config, allow_unicode=True)


def test_config(path: Path) -> Path:
    """The test model's config (test_config_text), written to `path`."""
    path.write_text(test_config_text(), encoding="utf-8")
    return path


def train_test_model() -> Path:
    """Trains (or reuses, when config, domain, data and tokenizer are unchanged) a small model."""
    # Keyed by the test config itself, not only config.yml: a changed epoch count or seed retrains.
    digest = hashlib.sha256(test_config_text().encode("utf-8"))
    for file in _training_inputs():
        digest.update(str(file.relative_to(ROOT)).encode())
        digest.update(file.read_bytes())
    name = f"test-{digest.hexdigest()[:16]}"
    model = MODEL_CACHE / f"{name}.tar.gz"
    MODEL_CACHE.mkdir(parents=True, exist_ok=True)
    # Several test sessions may start at once: one trains, the others wait and reuse its model.
    with (MODEL_CACHE / "train.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not model.exists():
            for stale in MODEL_CACHE.glob("test-*.tar.gz"):
                stale.unlink()
            config = test_config(MODEL_CACHE / "config.test.yml")
            subprocess.run(
                rasa_train_command(config, MODEL_CACHE, "--fixed-model-name", name),
                cwd=ROOT,
                env=base_env(),
                check=True,
                stdout=subprocess.DEVNULL,
            )
    return model


@dataclass
class Service:
    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    ready_url: str
    process: subprocess.Popen | None = None

    def start(self, timeout: float = 180) -> Service:
        self.process = subprocess.Popen(
            self.args,
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; see {self.log}:\n{self.log.read_text()[-3000:]}")
            try:
                if requests.get(self.ready_url, timeout=2).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"{self.name} did not become ready in {timeout}s; see {self.log}")

    def stop(self) -> None:
        """Stops the service's whole process group: SIGTERM, then SIGKILL after 20 s."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@dataclass
class RasaStack:
    """A Rasa server with REST and Kakao channels plus an action server, on free ports."""

    model: Path
    workdir: Path
    kakao_secret: str = "test-secret-0123456789"
    rasa_token: str = "test-rasa-token-0123456789"  # Rasa's HTTP API (?token=)
    action_secret: str = "test-action-secret-0123456789"  # Rasa -> action server header
    rest_token: str = "test-rest-token-0123456789"  # REST channel (X-Sotong-Rest-Token)
    rasa_port: int = field(default_factory=free_port)
    actions_port: int = field(default_factory=free_port)
    services: list[Service] = field(default_factory=list)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.actions_port}"

    def api_url(self, path: str) -> str:
        """A URL of Rasa's HTTP API, with this stack's token."""
        from bot.ops.warmup import api_url

        return api_url(f"{self.rasa_url}{path}", self.rasa_token)

    @property
    def kakao_url(self) -> str:
        return f"{self.rasa_url}/webhooks/kakao/webhook"

    @property
    def rest_url(self) -> str:
        return f"{self.rasa_url}/webhooks/rest/webhook"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.workdir / 'sotong.db'}"

    def env(self) -> dict[str, str]:
        return base_env(
            SOTONG_DATABASE_URL=self.database_url,
            KAKAO_SKILL_SECRET=self.kakao_secret,
            SOTONG_ACTION_SECRET=self.action_secret,
            SOTONG_REST_TOKEN=self.rest_token,
        )

    def _write_configs(self) -> None:
        # The project's endpoints (its ${SOTONG_ACTION_SECRET} header too), on this stack's files and ports.
        project = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8"))
        endpoints = {
            "action_endpoint": {**project["action_endpoint"], "url": f"{self.actions_url}/webhook"},
            "tracker_store": {**project["tracker_store"], "db": str(self.workdir / "tracker.db")},
            "event_broker": project["event_broker"],  # training signals into this stack's database
        }
        (self.workdir / "endpoints.yml").write_text(yaml.safe_dump(endpoints))
        credentials = yaml.safe_load((ROOT / "credentials.yml").read_text(encoding="utf-8"))
        (self.workdir / "credentials.yml").write_text(yaml.safe_dump(credentials, allow_unicode=True))

    def start(self) -> RasaStack:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._write_configs()
        actions = action_server_service(self.actions_port, self.env(), self.workdir / "actions.log")
        rasa = Service(
            "rasa server",
            [
                str(VENV_BIN / "python"),
                "-m",
                "bot.server",
                "run",
                "--model",
                str(self.model),
                "--enable-api",
                "--auth-token",
                self.rasa_token,
                "--port",
                str(self.rasa_port),
                "--interface",
                "127.0.0.1",
                "--credentials",
                str(self.workdir / "credentials.yml"),
                "--endpoints",
                str(self.workdir / "endpoints.yml"),
            ],
            self.env(),
            self.workdir / "rasa.log",
            self.api_url("/status"),
        )
        for service in (actions, rasa):
            self.services.append(service)
            service.start()
        from bot.ops.warmup import warm_up

        warm_up(self.rasa_url, self.rasa_token, self.rest_token)  # as make run does before citizens arrive
        return self

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()

    def say(self, sender: str, text: str) -> list[dict]:
        """One turn over the REST channel (Rasa keeps the conversation as ``rest:<sender>``)."""
        from bot.ops.warmup import rest_headers

        response = requests.post(
            self.rest_url, json={"sender": sender, "message": text}, headers=rest_headers(self.rest_token), timeout=30
        )
        response.raise_for_status()
        return response.json()

    def parse(self, text: str) -> dict:
        response = requests.post(self.api_url("/model/parse"), json={"text": text}, timeout=30)
        response.raise_for_status()
        return response.json()
