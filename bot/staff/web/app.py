"""The staff console's Sanic app: pages, the staff JSON API, the dashboard stream, Open311."""

from __future__ import annotations

import logging
from pathlib import Path

from sanic import Sanic
from sanic.exceptions import NotFound, SanicException
from sanic.request import Request
from sqlalchemy.exc import DataError

from bot.staff.errors import AccessDenied, TicketNotFound
from bot.staff.open311.api import blueprint as open311_blueprint
from bot.staff.settings import StaffSettings
from bot.staff.web import (
    admin_routes,
    auth_routes,
    dashboard_routes,
    local_inbox_routes,
    supervisor_routes,
    ticket_routes,
    trainer_routes,
)
from bot.staff.web.rendering import json_response, render
from bot.staff.web.security import (
    CsrfRejected,
    add_security_headers,
    check_csrf,
    check_input,
    is_api,
    load_login,
)
from bot.staff.web.services import StaffServices

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
APP_NAME = "sotong_staff"
REQUEST_MAX_BYTES = 1_000_000  # forms and Open311 requests are small

ERROR_TEXTS = {
    403: ("접근 권한이 없어요", "이 민원이나 화면은 다른 부서 또는 상위 권한의 것이에요."),
    404: ("찾을 수 없어요", "주소나 접수번호를 다시 확인해 주세요."),
}
CSRF_TEXT = (
    "요청을 확인할 수 없어요",
    "화면이 오래되었거나 다른 사이트에서 보낸 요청이에요. 화면을 새로 고친 뒤 다시 시도해 주세요.",
)


def create_app(settings: StaffSettings | None = None, database_url: str | None = None, name: str = APP_NAME) -> Sanic:
    app = Sanic(name, configure_logging=False)  # logging is set up by the command (bot.staff serve)
    app.config.REQUEST_MAX_SIZE = REQUEST_MAX_BYTES
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.ctx.services = StaffServices(settings or StaffSettings.from_env(), database_url)

    for blueprint in (
        auth_routes.blueprint,
        ticket_routes.blueprint,
        dashboard_routes.blueprint,
        supervisor_routes.blueprint,
        admin_routes.blueprint,
        trainer_routes.blueprint,
        open311_blueprint,
        local_inbox_routes.blueprint,
    ):
        app.blueprint(blueprint)
    app.static("/static", str(STATIC_DIR), name="staff_static")

    @app.get("/health", name="staff_health")
    async def health(request: Request):
        return json_response({"status": "ok"})

    @app.on_request
    async def before(request: Request):
        request.ctx.login = None
        if request.path.startswith(("/static/", "/open311/", "/health", local_inbox_routes.RECEIVE_PATH)):
            return None
        check_input(request)
        await load_login(request)
        check_csrf(request)
        return None

    @app.on_response
    async def after(request: Request, resp):
        add_security_headers(request, resp)

    @app.exception(AccessDenied)
    async def forbidden(request: Request, error: AccessDenied):
        logger.warning("403 %s %s: %s", request.method, request.path, error)
        title, text = CSRF_TEXT if isinstance(error, CsrfRejected) else ERROR_TEXTS[403]
        return _error(request, 403, "csrf_rejected" if isinstance(error, CsrfRejected) else "forbidden", title, text)

    @app.exception(TicketNotFound, NotFound)
    async def not_found(request: Request, error: Exception):
        return _error(request, 404, "not_found", *ERROR_TEXTS[404])

    @app.exception(DataError)
    async def unstorable(request: Request, error: DataError):
        # A value the database refuses (too long for its column, out of range): the request's fault.
        logger.warning(
            "400 %s %s: the database refused a value (%s)", request.method, request.path, type(error.orig).__name__
        )
        return _error(
            request, 400, "bad_request", "요청을 처리할 수 없어요", "입력한 값이 너무 길거나 형식이 맞지 않아요."
        )

    @app.exception(SanicException)
    async def other(request: Request, error: SanicException):
        status = getattr(error, "status_code", 500) or 500
        return _error(request, status, "error", "요청을 처리할 수 없어요", str(error) if status < 500 else "")

    return app


def _error(request: Request, status: int, code: str, title: str, text: str):
    if is_api(request) or not hasattr(request.ctx, "login"):
        return json_response({"error": code, "message": title, **({"detail": text} if text else {})}, status=status)
    return render(request, "error.html", status=status, title=title, text=text)
