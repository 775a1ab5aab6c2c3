"""Staff console settings, read from the environment (SOTONG_STAFF_*)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.settings import env_bool, env_float, env_int


@dataclass(frozen=True)
class StaffSettings:
    cookie_secure: bool = False  # set SOTONG_STAFF_COOKIE_SECURE=1 behind HTTPS
    session_idle_minutes: int = 120  # a session unused this long ends
    session_max_hours: int = 12  # and every session ends after a working day
    login_max_failures: int = 5  # per username and IP address …
    login_window_minutes: int = 15  # … within this window; then logins are refused until it passes
    login_max_failures_per_user: int = 10  # one username from any addresses: locks it too
    login_max_failures_per_ip: int = 30  # any usernames from one address (password spraying) …
    login_slow_seconds: float = 10.0  # … then that address gets one attempt per this many seconds
    dashboard_refresh_seconds: float = 5.0  # how often the live dashboard stream looks for changes
    dashboard_stream_minutes: float = 10.0  # the browser reconnects (and is re-authorised) after this
    page_size: int = 25

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StaffSettings:
        """From SOTONG_STAFF_* (``env``: the process environment by default); unset values keep the
        defaults above."""
        defaults = cls()

        def count(name: str, default: int) -> int:
            return env_int(name, default, env, minimum=1)

        def seconds(name: str, default: float) -> float:
            return env_float(name, default, env, minimum=0)

        return cls(
            cookie_secure=env_bool("SOTONG_STAFF_COOKIE_SECURE", defaults.cookie_secure, env),
            session_idle_minutes=count("SOTONG_STAFF_SESSION_IDLE_MINUTES", defaults.session_idle_minutes),
            session_max_hours=count("SOTONG_STAFF_SESSION_MAX_HOURS", defaults.session_max_hours),
            login_max_failures=count("SOTONG_STAFF_LOGIN_MAX_FAILURES", defaults.login_max_failures),
            login_window_minutes=count("SOTONG_STAFF_LOGIN_WINDOW_MINUTES", defaults.login_window_minutes),
            login_max_failures_per_user=count(
                "SOTONG_STAFF_LOGIN_MAX_FAILURES_PER_USER", defaults.login_max_failures_per_user
            ),
            login_max_failures_per_ip=count(
                "SOTONG_STAFF_LOGIN_MAX_FAILURES_PER_IP", defaults.login_max_failures_per_ip
            ),
            login_slow_seconds=seconds("SOTONG_STAFF_LOGIN_SLOW_SECONDS", defaults.login_slow_seconds),
            dashboard_refresh_seconds=seconds(
                "SOTONG_STAFF_DASHBOARD_REFRESH_SECONDS", defaults.dashboard_refresh_seconds
            ),
            dashboard_stream_minutes=seconds(
                "SOTONG_STAFF_DASHBOARD_STREAM_MINUTES", defaults.dashboard_stream_minutes
            ),
            page_size=count("SOTONG_STAFF_PAGE_SIZE", defaults.page_size),
        )
