"""Login and logout."""

from __future__ import annotations

import logging
import math

from sanic import Blueprint, response
from sanic.request import Request

from bot.staff.accounts import authenticate
from bot.staff.audit import Actor, record_now
from bot.staff.login_throttle import LOCKED, reserve_attempt, settle_attempt
from bot.staff.sessions import COOKIE_NAME, end_session, start_session
from bot.staff.web.rendering import render
from bot.staff.web.security import (
    LOGIN_CSRF_COOKIE,
    clear_cookie,
    client_ip,
    new_login_csrf_token,
    requires,
    safe_next,
    set_cookie,
)
from bot.staff.web.services import blocking

logger = logging.getLogger(__name__)
blueprint = Blueprint("staff_auth")

WRONG_LOGIN = "아이디 또는 비밀번호가 맞지 않아요."
THROTTLED = "로그인 실패가 많아 잠시 로그인할 수 없어요. {minutes}분 뒤에 다시 시도해 주세요."
SLOWED = "이 주소에서 로그인 실패가 많아요. {seconds}초 뒤에 다시 시도해 주세요."


def login_form(request: Request, error: str = "", status: int = 200, username: str = ""):
    token = new_login_csrf_token()
    target = request.form.get("next") if request.method == "POST" else request.args.get("next")
    page = render(
        request, "login.html", status=status, error=error, login_csrf=token, username=username, next=safe_next(target)
    )
    set_cookie(
        page, LOGIN_CSRF_COOKIE, token, secure=request.app.ctx.services.settings.cookie_secure, same_site="Strict"
    )
    return page


@blueprint.get("/login")
async def login_page(request: Request):
    if request.ctx.login is not None:
        return response.redirect("/")
    return login_form(request)


@blueprint.post("/login")
async def login(request: Request):
    services = request.app.ctx.services
    settings = services.settings
    username = (request.form.get("username") or "").strip()[:80]
    password = request.form.get("password") or ""
    ip = client_ip(request)
    # The attempt is counted (and refused when over a limit) before the password is checked.
    permit = await blocking(reserve_attempt, services.sessions, username, ip, settings)
    if not permit.allowed:
        await blocking(
            record_now, services.sessions, Actor(username or "-", None, ip), "login.throttled", reason=permit.reason
        )
        logger.warning("Login %s for %s from %s", permit.reason, username, ip)
        message = (
            THROTTLED.format(minutes=math.ceil(permit.retry_after_seconds / 60))
            if permit.reason == LOCKED
            else SLOWED.format(seconds=permit.retry_after_seconds)
        )
        page = login_form(request, message, 429, username)
        page.headers["Retry-After"] = str(permit.retry_after_seconds)
        return page
    account = await blocking(authenticate, services.sessions, username, password)
    await blocking(settle_attempt, services.sessions, username, ip, account is not None, settings)
    if account is None:
        await blocking(record_now, services.sessions, Actor(username or "-", None, ip), "login.failed")
        return login_form(request, WRONG_LOGIN, 401, username)
    token = await blocking(start_session, services.sessions, account, settings, ip)
    await blocking(record_now, services.sessions, Actor(account.username, account.role.value, ip), "login.succeeded")
    resp = response.redirect(safe_next(request.form.get("next")))
    set_cookie(resp, COOKIE_NAME, token, secure=settings.cookie_secure)
    clear_cookie(resp, LOGIN_CSRF_COOKIE, secure=settings.cookie_secure)
    return resp


@blueprint.post("/logout")
@requires()
async def logout(request: Request):
    services = request.app.ctx.services
    await blocking(end_session, services.sessions, request.cookies.get(COOKIE_NAME))
    account = request.ctx.login.account
    await blocking(
        record_now, services.sessions, Actor(account.username, account.role.value, client_ip(request)), "logout"
    )
    resp = response.redirect("/login")
    clear_cookie(resp, COOKIE_NAME, secure=services.settings.cookie_secure)
    return resp
