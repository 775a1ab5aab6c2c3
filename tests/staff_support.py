"""Shared helpers of the staff console tests (no tests here): a real `python -m bot.staff serve`
on a free port over a fresh SQLite file, seeded accounts and tickets, and a signed-in HTTP client
that sends CSRF tokens like the console's forms do."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import requests
from sqlalchemy.orm import sessionmaker

import bot.staff.schema  # noqa: F401
from bot.city import get_city_config
from bot.staff.accounts import add_account
from bot.staff.audit import Actor
from bot.storage.db import utc_now
from bot.tickets import ComplaintDraft, EmergencyReport, TicketStore
from bot.tickets.store import open_database
from tests.stack import VENV_BIN, Service, base_env, free_port

PASSWORD = "correct-horse-42"
ROAD = "road_management"
PARKS = "parks"
SETUP_ACTOR = Actor("test-setup", "cli")
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')

# username → (role, department)
ACCOUNTS = {
    "road.kim": ("staff", ROAD),
    "road.lee": ("staff", ROAD),
    "park.choi": ("staff", PARKS),
    "chief.park": ("supervisor", None),
    "admin.jung": ("admin", None),
}


_SESSIONS: dict[str, sessionmaker] = {}


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'sotong.db'}"


def sessions_for(database_url: str) -> sessionmaker:
    """One engine per test database (opening one creates the schema, which takes a while)."""
    if database_url not in _SESSIONS:
        _SESSIONS[database_url] = open_database(database_url)
    return _SESSIONS[database_url]


def close_sessions(database_url: str) -> None:
    sessions = _SESSIONS.pop(database_url, None)
    if sessions is not None:
        sessions.kw["bind"].dispose()


def seed_accounts(database_url: str, accounts: dict[str, tuple] = ACCOUNTS) -> None:
    sessions = sessions_for(database_url)
    names = {
        "road.kim": "김도로",
        "road.lee": "이도로",
        "park.choi": "최공원",
        "chief.park": "박총괄",
        "admin.jung": "정관리",
    }
    for username, (role, department) in accounts.items():
        add_account(
            sessions,
            get_city_config(),
            SETUP_ACTOR,
            username=username,
            password=PASSWORD,
            role=role,
            department_id=department,
            display_name=names.get(username),
        )


def ticket_store(database_url: str, days_ago: float = 0) -> TicketStore:
    clock: Callable[[], datetime] = (lambda: utc_now() - timedelta(days=days_ago)) if days_ago else utc_now
    return TicketStore(sessions_for(database_url), get_city_config(), clock=clock)


def file_pothole(database_url: str, sender: str = "kakao-owner-1", days_ago: float = 0, **overrides) -> str:
    values = dict(
        category="road_damage",
        location_text="일산서구 주엽동 강선마을 14단지 앞",
        description="도로에 큰 포트홀이 생겼어요",
        sender_id=sender,
        photo_url="https://img.example/pothole.jpg",
        contact_phone="010-2345-6789",
        consent_given=True,
    )
    values.update(overrides)
    return ticket_store(database_url, days_ago).file_complaint(ComplaintDraft(**values)).number


def file_park_complaint(database_url: str, sender: str = "kakao-owner-2") -> str:
    return (
        ticket_store(database_url)
        .file_complaint(
            ComplaintDraft(
                category="park_facility",
                location_text="일산동구 장항동 호수공원 놀이터",
                description="그네가 부서졌어요",
                sender_id=sender,
            )
        )
        .number
    )


def report_sinkhole(database_url: str, sender: str = "kakao-owner-3") -> str:
    return (
        ticket_store(database_url)
        .report_emergency(EmergencyReport("sinkhole", sender, "일산동구 백석동 사거리", "땅이 꺼졌어요"))
        .number
    )


@dataclass
class StaffServer:
    database_url: str
    workdir: Path
    env_extra: dict[str, str] | None = None
    port: int = 0
    service: Service | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / "staff.log"

    def start(self) -> StaffServer:
        self.port = free_port()
        env = base_env(
            SOTONG_DATABASE_URL=self.database_url,
            SOTONG_STAFF_DASHBOARD_REFRESH_SECONDS="0.5",
            KAKAO_BOT_ID="",
            KAKAO_REST_API_KEY="",
            KAKAO_EVENT_API_URL="",
            **(self.env_extra or {}),
        )
        self.service = Service(
            "staff console",
            [str(VENV_BIN / "python"), "-m", "bot.staff", "serve", "--port", str(self.port)],
            env,
            self.log,
            f"{self.url}/health",
        ).start(timeout=60)
        return self

    def stop(self) -> None:
        if self.service:
            self.service.stop()


class StaffClient:
    """A browser-like session: cookies, and the CSRF token of the last page read."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = requests.Session()
        self.csrf: str | None = None

    def get(self, path: str, **kwargs) -> requests.Response:
        response = self.http.get(self.base_url + path, allow_redirects=False, timeout=30, **kwargs)
        match = CSRF_INPUT.search(response.text) if "text/html" in response.headers.get("content-type", "") else None
        if match:
            self.csrf = match.group(1)
        return response

    def post(self, path: str, data: dict | None = None, csrf: bool = True, **kwargs) -> requests.Response:
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf or "")
        return self.http.post(self.base_url + path, data=form, allow_redirects=False, timeout=30, **kwargs)

    def login(self, username: str, password: str = PASSWORD) -> requests.Response:
        self.get("/login")
        return self.post("/login", {"username": username, "password": password})

    @classmethod
    def signed_in(cls, base_url: str, username: str) -> StaffClient:
        client = cls(base_url)
        response = client.login(username)
        assert response.status_code == 302, response.text[:500]
        client.get("/tickets")  # a page with the session's CSRF token
        return client
