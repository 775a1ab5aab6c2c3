"""The local department inbox in the console (`make run` only; bot/staff/local_inbox.py):

  POST /local-inbox/deliveries   the dispatcher's deliveries (loopback only, X-Sotong-Inbox-Token)
  GET  /local-inbox              what each department received (staff: their department's)

Both answer 404 when the receiver is off (SOTONG_LOCAL_INBOX_TOKEN unset, as in production).
The POST is a machine endpoint authenticated by its token, not by a login cookie: the app skips
the cookie session and CSRF checks for RECEIVE_PATH (bot/staff/web/app.py).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections import OrderedDict

from sanic import Blueprint
from sanic.exceptions import NotFound
from sanic.request import Request

from bot.channels.limits import RequestError, RequestLimits, decode_json
from bot.delivery.local_inbox import TOKEN_HEADER
from bot.staff.accounts import Account
from bot.staff.errors import AccessDenied
from bot.staff.local_inbox import InboxDocumentError, InboxEntry, LocalInboxStore, ReceiverSettings
from bot.staff.web.rendering import json_response, render
from bot.staff.web.security import requires
from bot.staff.web.services import blocking

logger = logging.getLogger(__name__)
blueprint = Blueprint("staff_local_inbox")

RECEIVE_PATH = "/local-inbox/deliveries"
PAGE_PATH = "/local-inbox"
DOCUMENT_LIMITS = RequestLimits(max_body_bytes=1_000_000, max_nesting_depth=12)
SHOWN_PER_RECIPIENT = 50


def _receiver(request: Request) -> ReceiverSettings:
    return request.app.ctx.local_inbox


@blueprint.listener("before_server_start")
async def _configure(app, _loop):
    app.ctx.local_inbox = settings = ReceiverSettings.from_env()
    app.ctx.local_inbox_store = LocalInboxStore(settings.directory)
    app.ctx.services.templates.globals["local_inbox_enabled"] = settings.enabled
    if settings.enabled:
        logger.info("Local inbox on: deliveries to POST %s are kept in %s", RECEIVE_PATH, settings.directory)


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


@blueprint.post(RECEIVE_PATH)
async def receive(request: Request):
    settings = _receiver(request)
    if not settings.enabled:
        raise NotFound("no local inbox")
    if not _is_loopback(request.ip or ""):
        raise AccessDenied(f"local inbox delivery from {request.ip}")
    token = request.headers.get(TOKEN_HEADER) or ""
    if not hmac.compare_digest(token.encode("utf-8"), settings.token.encode("utf-8")):
        return json_response({"error": "bad_token"}, status=401)
    try:
        document = decode_json(request.body or b"", DOCUMENT_LIMITS)
    except RequestError as error:
        return json_response({"error": error.code, "message": error.message}, status=error.status)
    if not isinstance(document, dict):
        return json_response({"error": "bad_request", "message": "a JSON object is expected"}, status=400)
    try:
        recipient, created = await blocking(request.app.ctx.local_inbox_store.store, document)
    except InboxDocumentError as error:
        return json_response({"error": "bad_request", "message": str(error)}, status=400)
    if created:
        logger.info(
            "Local inbox: %s for %s (%s)",
            document["payload"].get("ticket", {}).get("number", "-"),
            recipient.key,
            document.get("method"),
        )
    return json_response({"stored": created, "recipient": recipient.key}, status=201 if created else 200)


def visible_entries(entries: list[InboxEntry], account: Account) -> list[InboxEntry]:
    """Staff see what their department received; supervisors and admins everything."""
    if account.sees_all_departments:
        return entries
    return [
        entry
        for entry in entries
        if entry.recipient.kind == "department" and entry.recipient.id == account.department_id
    ]


@blueprint.get(PAGE_PATH)
@requires()
async def page(request: Request):
    if not _receiver(request).enabled:
        raise NotFound("no local inbox")
    entries = visible_entries(await blocking(request.app.ctx.local_inbox_store.entries), request.ctx.login.account)
    groups: OrderedDict[str, list] = OrderedDict()
    for entry in sorted(entries, key=lambda e: (e.recipient.kind != "department", e.recipient.name)):
        groups.setdefault(entry.recipient.key, []).append(entry)
    for key in groups:
        groups[key].sort(key=lambda e: e.received_at, reverse=True)
    return render(
        request,
        "local_inbox.html",
        groups=[(items[0].recipient, items[:SHOWN_PER_RECIPIENT], len(items)) for items in groups.values()],
    )
