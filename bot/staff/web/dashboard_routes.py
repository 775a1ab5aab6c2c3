"""The live dashboard: the page, its figures as JSON, and a server-sent event stream that pushes
new figures whenever they change (the page falls back to polling the JSON if the stream fails)."""
from __future__ import annotations

import asyncio
import json
import logging
import time

from sanic import Blueprint
from sanic.request import Request

from bot.staff.sessions import COOKIE_NAME, load_session
from bot.staff.web.rendering import json_response, render, script_json
from bot.staff.web.security import requires
from bot.staff.web.services import blocking

logger = logging.getLogger(__name__)
blueprint = Blueprint("staff_dashboard")

HEARTBEAT_SECONDS = 15.0
RETRY_MILLISECONDS = 3000


@blueprint.get("/dashboard")
@requires()
async def dashboard_page(request: Request):
    services = request.app.ctx.services
    figures = await blocking(services.dashboard.snapshot, request.ctx.login.account)
    return render(request, "dashboard.html", figures_json=script_json(figures),
                  refresh_seconds=services.settings.dashboard_refresh_seconds)


@blueprint.get("/api/dashboard")
@requires()
async def dashboard_figures(request: Request):
    services = request.app.ctx.services
    return json_response(await blocking(services.dashboard.snapshot, request.ctx.login.account))


def _event(figures) -> str:
    return f"event: figures\nid: {figures['version']}\ndata: {json.dumps(figures, ensure_ascii=False)}\n\n"


@blueprint.get("/api/dashboard/stream")
@requires()
async def dashboard_stream(request: Request):
    """Figures now, then again whenever they change; a comment line keeps idle connections open.
    The stream ends after `dashboard_stream_minutes` (the browser reconnects and is checked
    again) or as soon as the session has ended."""
    services = request.app.ctx.services
    settings = services.settings
    account = request.ctx.login.account
    token = request.cookies.get(COOKIE_NAME)
    stream = await request.respond(content_type="text/event-stream; charset=utf-8",
                                   headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
    await stream.send(f"retry: {RETRY_MILLISECONDS}\n\n")
    ends_at = time.monotonic() + settings.dashboard_stream_minutes * 60
    last_version, last_sent = None, time.monotonic()
    try:
        while time.monotonic() < ends_at:
            if await blocking(load_session, services.sessions, token, settings) is None:
                break
            figures = await blocking(services.dashboard.snapshot, account)
            if figures["version"] != last_version:
                await stream.send(_event(figures))
                last_version, last_sent = figures["version"], time.monotonic()
            elif time.monotonic() - last_sent >= HEARTBEAT_SECONDS:
                await stream.send(": keep-alive\n\n")
                last_sent = time.monotonic()
            await asyncio.sleep(settings.dashboard_refresh_seconds)
    except (ConnectionError, asyncio.CancelledError):
        logger.debug("Dashboard stream closed by the client")
        raise
    finally:
        try:
            await stream.eof()
        except Exception:  # the connection is gone already
            pass
