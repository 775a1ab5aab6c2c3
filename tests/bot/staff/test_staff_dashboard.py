"""The live dashboard over HTTP: figures as JSON, and the server-sent event stream that pushes
new figures when a ticket changes and closes when the session ends."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from tests.staff_support import StaffClient, StaffServer, file_pothole, report_sinkhole, seed_accounts, sqlite_url

pytestmark = pytest.mark.integration  # starts the staff console


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("staff-dashboard")
    database_url = sqlite_url(workdir)
    seed_accounts(database_url)
    file_pothole(database_url, days_ago=20)
    server = StaffServer(database_url, workdir).start()
    yield {"server": server, "db": database_url}
    server.stop()


def figure_events(response) -> Iterator[dict]:
    event, data = None, []
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            data.append(line.split(":", 1)[1].strip())
        elif line == "" and event == "figures":
            yield json.loads("".join(data))
            event, data = None, []


def test_figures_as_json_and_the_page(world):
    client = StaffClient.signed_in(world["server"].url, "road.kim")
    figures = client.get("/api/dashboard").json()
    assert figures["scope"] == "도로관리과" and figures["overdue"]["total"] == 1 and len(figures["trend"]) == 14
    page = client.get("/dashboard")
    assert page.status_code == 200 and 'id="dashboard-data"' in page.text and "/static/dashboard.js" in page.text


def test_the_stream_pushes_new_figures_when_a_ticket_arrives(world):
    client = StaffClient.signed_in(world["server"].url, "road.kim")
    with client.http.get(f"{world['server'].url}/api/dashboard/stream", stream=True, timeout=20) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = figure_events(response)
        first = next(events)
        report_sinkhole(world["db"])
        started = time.monotonic()
        second = next(events)
        assert time.monotonic() - started < 10
    assert second["version"] != first["version"]
    assert len(second["emergencies_today"]) == len(first["emergencies_today"]) + 1


def test_the_stream_ends_with_the_session(world):
    client = StaffClient.signed_in(world["server"].url, "road.lee")
    with client.http.get(f"{world['server'].url}/api/dashboard/stream", stream=True, timeout=20) as response:
        events = figure_events(response)
        next(events)
        assert client.post("/logout").status_code == 302
        started = time.monotonic()
        assert list(events) == []  # the server closes the stream
        assert time.monotonic() - started < 10
