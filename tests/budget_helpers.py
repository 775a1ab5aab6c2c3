"""Helpers of the participatory-budget tests: the sample data with its send target redirected,
moments inside each phase (taken from the data, so a city may change its dates), and a real
local HTTP server standing in for the PB office."""

from __future__ import annotations

import dataclasses
import json
import threading
from datetime import date, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

from bot.budget import BudgetData, PhaseKind, load_budget_data
from bot.city import HTTP, SendTarget, get_city_config


def sample_data(office_url: str = "http://127.0.0.1:9/budget/proposals") -> BudgetData:
    """data/budget/ with the PB office's send target at `office_url`."""
    data = load_budget_data(get_city_config())
    office = dataclasses.replace(data.cycle.office, send=SendTarget(method=HTTP, destination=office_url))
    return dataclasses.replace(data, cycle=dataclasses.replace(data.cycle, office=office))


def day_in(data: BudgetData, kind: PhaseKind, offset_days: int = 1) -> date:
    """A day `offset_days` after the phase starts (negative: before it starts)."""
    return data.cycle.phase(kind).starts + timedelta(days=offset_days)


def moment_on(data: BudgetData, day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo(data.timezone))


def moment_in(data: BudgetData, kind: PhaseKind, offset_days: int = 1) -> datetime:
    return moment_on(data, day_in(data, kind, offset_days))


class Clock:
    """A settable clock for the store's phase decisions."""

    def __init__(self, moment: datetime):
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


class OfficeEndpoint:
    """http.server in a thread that records every POST (path, headers, JSON body)."""

    def __init__(self, status: int = 200):
        self.requests: list[dict] = []
        self.status = status
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                endpoint.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "json": json.loads(body.decode("utf-8"))}
                )
                self.send_response(endpoint.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/budget/proposals"

    def __enter__(self) -> OfficeEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
