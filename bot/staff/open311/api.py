"""The GeoReport v2 JSON endpoints under /open311/v2/.

    GET  services.json                 the complaint categories
    GET  services/{service_code}.json  a category's definition (the consent attribute)
    POST requests.json                 file a request (api_key required)
    GET  requests.json                 find requests: service_request_id, service_code, start_date,
                                       end_date, status (open|closed)
    GET  requests/{service_request_id}.json

Errors are the spec's list, `[{"code": 404, "description": "…"}]`, with the same HTTP status.
Only the JSON format is served.
"""
from __future__ import annotations

import json
import logging
from functools import partial, wraps
from typing import Dict

from sanic import Blueprint, response
from sanic.request import Request

from bot.db import utc_now
from bot.staff.open311.documents import Open311Error, parse_request_query, service, service_definition
from bot.staff.open311.keys import client_for_key
from bot.staff.open311.service_requests import create_request, find_request, find_requests
from bot.staff.web.security import client_ip
from bot.staff.web.services import blocking

logger = logging.getLogger(__name__)
blueprint = Blueprint("open311", url_prefix="/open311/v2")

JSON_SUFFIX = ".json"
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
        except Exception:
            logger.exception("Open311 %s %s failed", request.method, request.path)
            return _json(Open311Error(500, "internal error").document(), 500)
    return wrapper


def _params(request: Request) -> Dict[str, str]:
    """Query parameters, and for a POST the form or JSON body, as single strings."""
    params = {key: values[0] for key, values in request.args.items()}
    if request.method == "POST":
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            body = request.json if isinstance(request.json, dict) else {}
            params.update({key: str(value) for key, value in body.items() if value is not None})
        else:
            params.update({key: values[0] for key, values in (request.form or {}).items()})
    return params


def _check_jurisdiction(request: Request) -> None:
    jurisdiction = request.args.get("jurisdiction_id")
    if jurisdiction and jurisdiction != request.app.ctx.services.config().profile.id:
        raise Open311Error(404, f"jurisdiction_id not found: {jurisdiction}")


def _json_name(name: str) -> str:
    if not name.endswith(JSON_SUFFIX):
        raise Open311Error(404, "only the JSON format is supported (use .json)")
    return name[:-len(JSON_SUFFIX)]


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
    created = await blocking(create_request, services_.ticket_store, client, params, client_ip(request))
    return _json([created], 201)


@blueprint.get("/requests.json")
@open311_endpoint
async def search(request: Request):
    services_ = request.app.ctx.services
    query = parse_request_query(_params(request), services_.config(), utc_now())
    return _json(await blocking(find_requests, services_.ticket_store, query))


@blueprint.get("/requests/<name:str>")
@open311_endpoint
async def one(request: Request, name: str):
    number = _json_name(name)
    return _json([await blocking(find_request, request.app.ctx.services.ticket_store, number)])


@blueprint.route("/<rest:path>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
@open311_endpoint
async def unknown(request: Request, rest: str):
    raise Open311Error(404, f"no such endpoint: {rest}")
