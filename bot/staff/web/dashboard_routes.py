"""The live dashboard: the page, its figures as JSON, and a server-sent event stream that pushes
new figures whenever they change (the page falls back to polling the JSON if the stream fails);
and the agencies' acknowledgement of emergency alerts (POST /open311/agency/acknowledge)."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Mapping

from sanic import Blueprint
from sanic.request import Request

from bot.settings import env_list
from bot.staff.sessions import COOKIE_NAME, load_session
from bot.staff.web.rendering import json_response, render, script_json
from bot.staff.web.security import requires, storable_text
from bot.staff.web.services import blocking
from bot.tickets.incidents import IncidentStore

logger = logging.getLogger(__name__)
blueprint = Blueprint("staff_dashboard")

HEARTBEAT_SECONDS = 15.0
RETRY_MILLISECONDS = 3000


@blueprint.get("/dashboard")
@requires()
async def dashboard_page(request: Request):
    services = request.app.ctx.services
    figures = await blocking(services.dashboard.snapshot, request.ctx.login.account)
    return render(
        request,
        "dashboard.html",
        figures_json=script_json(figures),
        refresh_seconds=services.settings.dashboard_refresh_seconds,
    )


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
    stream = await request.respond(
        content_type="text/event-stream; charset=utf-8",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
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


# --- agencies acknowledge emergency alerts (issue 16) ------------------------------------------------

AGENCY_TOKENS_ENV = "SOTONG_AGENCY_TOKENS"  # "agency_id:token,agency_id:token"
AGENCY_TOKEN_HEADER = "X-Sotong-Agency-Token"
MAX_KEY_CHARS = 200


def agency_tokens(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """token → agency id, from SOTONG_AGENCY_TOKENS (tokens shorter than 16 characters ignored)."""
    tokens = {}
    for pair in env_list(AGENCY_TOKENS_ENV, env=env):
        agency_id, _, token = pair.partition(":")
        if agency_id and len(token) >= 16:
            tokens[token] = agency_id
    return tokens


def agency_of(token: str | None) -> str | None:
    """The agency whose token this is (constant-time comparison against every configured token)."""
    found = None
    for known, agency_id in agency_tokens().items():
        if token and hmac.compare_digest(known.encode(), token.encode()):
            found = agency_id
    return found


@blueprint.post("/open311/agency/acknowledge")
async def acknowledge_alert(request: Request):
    """An agency confirms an emergency alert: header X-Sotong-Agency-Token, body
    {"idempotency_key": "<the Idempotency-Key header of the alert>"}. 200 with the time of the
    (first) acknowledgement, also when repeated; 404 for a key not sent to this agency."""
    agency_id = agency_of(request.headers.get(AGENCY_TOKEN_HEADER))
    if agency_id is None:
        return json_response({"error": "unauthorized"}, status=401)
    try:
        body = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        body = None
    key = body.get("idempotency_key") if isinstance(body, dict) else None
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARS or not storable_text(key):
        return json_response({"error": "bad_request", "message": "idempotency_key is required"}, status=400)
    services = request.app.ctx.services
    store = IncidentStore(services.ticket_store)
    acknowledged_at = await blocking(store.acknowledge, agency_id, key)
    if acknowledged_at is None:
        return json_response({"error": "not_found"}, status=404)
    return json_response({"idempotency_key": key, "agency_id": agency_id, "acknowledged_at": acknowledged_at})
