"""The GeoReport v2 JSON endpoints under /open311/v2/.

    GET  services.json                 the complaint categories
    GET  services/{service_code}.json  a category's definition (the consent attribute)
    POST requests.json                 file a request (api_key required)
    GET  requests.json                 find requests: service_request_id, service_code, start_date,
                                       end_date, status (open|closed)
    GET  requests/{service_request_id}.json

Reading is public, but a request filed in the chat shows only its category, status, district and
dates; `api_key` of a key with the `read_full` scope shows description and exact address too (each
such read is in the audit log). POST needs a key with the `create` scope.

Errors are the spec's list, `[{"code": 404, "description": "…"}]`, with the same HTTP status.
Only the JSON format is served.
"""

from __future__ import annotations

import json
import logging
from functools import partial, wraps

from sanic import Blueprint, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sqlalchemy.exc import DataError

from bot.channels.limits import RequestError, RequestLimits, decode_json
from bot.staff.audit import Actor, record_now
from bot.staff.open311.documents import Open311Error, parse_request_query, service, service_definition
from bot.staff.open311.keys import CREATE, READ_FULL, ApiClient, client_for_key
from bot.staff.open311.service_requests import create_request, find_request, find_requests
from bot.staff.web.security import client_ip, storable_text
from bot.staff.web.services import blocking
from bot.storage.db import utc_now

logger = logging.getLogger(__name__)
blueprint = Blueprint("open311", url_prefix="/open311/v2")

JSON_SUFFIX = ".json"
# A GeoReport request is one flat object; the app's REQUEST_MAX_SIZE bounds the bytes already.
JSON_BODY_LIMITS = RequestLimits(max_body_bytes=1_000_000, max_nesting_depth=4)
_dumps = partial(json.dumps, ensure_ascii=False)


def _json(body, status: int = 200):
    return response.json(body, status=status, dumps=_dumps)


def open311_endpoint(handler):
    """Spec-format errors for refusals and failures alike."""

    @wraps(handler)
    async def wrapper(request: Request, *args, **kwargs):
        try:
            _check_jurisdiction(request)
            return await handler(request, *args, **kwargs)
        except Open311Error as error:
            return _json(error.document(), error.status)
        except DataError:  # a value the database refuses (too long for its column, …)
            logger.warning("Open311 %s %s: the database refused a value", request.method, request.path)
            return _json(Open311Error(400, "a value is too long or malformed").document(), 400)
        except SanicException as error:  # e.g. a body that is not JSON
            status = getattr(error, "status_code", 500) or 500
            if status >= 500:
                raise
            return _json(Open311Error(status, str(error) or "bad request").document(), status)
        except Exception:
            logger.exception("Open311 %s %s failed", request.method, request.path)
            return _json(Open311Error(500, "internal error").document(), 500)

    return wrapper


def _params(request: Request) -> dict[str, str]:
    """Query parameters, and for a POST the form or JSON body, as single strings of storable text."""
    params = {key: values[0] for key, values in request.args.items()}
    if request.method == "POST":
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            try:
                body = decode_json(request.body or b"", JSON_BODY_LIMITS, "a JSON object")
            except RequestError as error:
                raise Open311Error(error.status, error.message) from None
            body = body if isinstance(body, dict) else {}
            params.update({key: str(value) for key, value in body.items() if value is not None})
        else:
            params.update({key: values[0] for key, values in (request.form or {}).items()})
    if not all(storable_text(key) and storable_text(value) for key, value in params.items()):
        raise Open311Error(400, "parameters must be valid UTF-8 text without NUL characters")
    return params


def _check_jurisdiction(request: Request) -> None:
    jurisdiction = request.args.get("jurisdiction_id")
    if jurisdiction and jurisdiction != request.app.ctx.services.config().profile.id:
        raise Open311Error(404, f"jurisdiction_id not found: {jurisdiction}")


def _json_name(name: str) -> str:
    if not name.endswith(JSON_SUFFIX):
        raise Open311Error(404, "only the JSON format is supported (use .json)")
    return name[: -len(JSON_SUFFIX)]


@blueprint.get("/services.json")
@open311_endpoint
async def services(request: Request):
    config = request.app.ctx.services.config()
    return _json([service(config, category) for category in config.complaint_categories.values()])


@blueprint.get("/services/<name:str>")
@open311_endpoint
async def service_definition_document(request: Request, name: str):
    code = _json_name(name)
    config = request.app.ctx.services.config()
    category = config.complaint_categories.get(code)
    if category is None:
        raise Open311Error(404, f"service_code not found: {code}")
    return _json(service_definition(config, category))


@blueprint.post("/requests.json")
@open311_endpoint
async def create(request: Request):
    services_ = request.app.ctx.services
    params = _params(request)
    client = await blocking(client_for_key, services_.sessions, params.get("api_key"))
    if client is None:
        raise Open311Error(403, "a valid api_key is required")
    if not client.may(CREATE):
        raise Open311Error(403, f"this api_key may not file requests (scope {CREATE})")
    created = await blocking(create_request, services_.ticket_store, client, params, client_ip(request))
    return _json([created], 201)


async def _full_view_client(request: Request, params: dict[str, str]) -> ApiClient | None:
    """The client reading in full, or None for the public view (no api_key, or a key without
    read_full); an unknown or revoked key is refused."""
    key = params.get("api_key")
    if not key:
        return None
    client = await blocking(client_for_key, request.app.ctx.services.sessions, key)
    if client is None:
        raise Open311Error(403, "api_key is not valid")
    return client if client.may(READ_FULL) else None


async def _audit_full_read(request: Request, client: ApiClient | None, found: list[dict]) -> None:
    if client is not None and found:
        await blocking(
            record_now,
            request.app.ctx.services.sessions,
            Actor(f"open311:{client.name}", "open311", client_ip(request)),
            "open311.requests_read_full",
            requests=",".join(item["service_request_id"] for item in found[:20]),
            count=len(found),
        )


@blueprint.get("/requests.json")
@open311_endpoint
async def search(request: Request):
    services_ = request.app.ctx.services
    params = _params(request)
    query = parse_request_query(params, services_.config(), utc_now())
    client = await _full_view_client(request, params)
    found = await blocking(find_requests, services_.ticket_store, query, client is not None)
    await _audit_full_read(request, client, found)
    return _json(found)


@blueprint.get("/requests/<name:str>")
@open311_endpoint
async def one(request: Request, name: str):
    number = _json_name(name)
    client = await _full_view_client(request, _params(request))
    found = [await blocking(find_request, request.app.ctx.services.ticket_store, number, client is not None)]
    await _audit_full_read(request, client, found)
    return _json(found)


@blueprint.route("/<rest:path>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
@open311_endpoint
async def unknown(request: Request, rest: str):
    raise Open311Error(404, f"no such endpoint: {rest}")
