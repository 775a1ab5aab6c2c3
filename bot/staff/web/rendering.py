"""Server-rendered pages: Jinja2 templates from bot/staff/templates, autoescaped."""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sanic import response
from sanic.request import Request

from bot.staff.accounts import Role
from bot.tickets.models import TicketStatus

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
NO_STORE = {"Cache-Control": "no-store"}
WEEKDAYS_KO = "월화수목금토일"


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    """ "2026-05-04 09:30" in the city's time (aware datetimes are converted)."""
    if moment is None:
        return "-"
    return (moment.astimezone(zone) if moment.tzinfo else moment).strftime("%Y-%m-%d %H:%M")


def _day(day: date | None) -> str:
    return f"{day.isoformat()} ({WEEKDAYS_KO[day.weekday()]})" if day else "-"


def _query(args: dict) -> str:
    return urlencode(args)


def make_environment(timezone: str) -> Environment:
    environment = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(when=partial(_when, zone=ZoneInfo(timezone)), day=_day, query=_query)
    environment.globals.update(Role=Role)
    return environment


def render(request: Request, template: str, status: int = 200, **context: Any) -> response.HTTPResponse:
    """The page, with the signed-in account, its CSRF token and the city's name available."""
    services = request.app.ctx.services
    login = getattr(request.ctx, "login", None)
    config = services.config()
    account = login.account if login else None
    department = config.departments.get(account.department_id) if account and account.department_id else None
    body = services.templates.get_template(template).render(
        login=login,
        account=account,
        csrf_token=login.csrf_token if login else "",
        account_department=department.name if department else (account.department_id if account else None),
        city_name=config.profile.name,
        path=request.path,
        **context,
    )
    return response.html(body, status=status, headers=NO_STORE)


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, TicketStatus):
        return value.value
    raise TypeError(type(value).__name__)


def json_response(body: Any, status: int = 200) -> response.HTTPResponse:
    """JSON with Korean kept readable, dates as ISO text, never cached."""
    return response.json(
        body, status=status, headers=NO_STORE, dumps=partial(json.dumps, ensure_ascii=False, default=_json_default)
    )


def script_json(value: Any) -> str:
    """JSON safe to place inside a <script type="application/json"> element (no "</script>")."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
