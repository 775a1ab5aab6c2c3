"""Request security: the login session from its cookie, CSRF checks on every state-changing
request, role checks, and security headers on every answer.

CSRF: a signed-in session has its own token, sent back in each form (`csrf_token`) or, from
scripts, in the X-CSRF-Token header. The login form, before any session exists, uses a
double-submit token: a random value in a SameSite=Strict cookie that the form must repeat.
The Open311 API is not cookie-authenticated (API keys) and is exempt.
"""

from __future__ import annotations

import hmac
import re
import secrets
from functools import wraps
from typing import Any
from urllib.parse import quote, urlsplit

from sanic import response
from sanic.exceptions import InvalidUsage
from sanic.request import Request

from bot.channels.limits import RequestError, RequestLimits, decode_json, holds_lone_surrogate
from bot.staff.accounts import Role
from bot.staff.errors import AccessDenied
from bot.staff.sessions import COOKIE_NAME, LoginSession, load_session
from bot.staff.web.services import blocking

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
LOGIN_CSRF_COOKIE = "sotong_login_csrf"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CSRF_EXEMPT_PREFIXES = ("/open311/",)
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' https: data:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'; object-src 'none'"
)


class CsrfRejected(AccessDenied):
    pass


def client_ip(request: Request) -> str:
    return (request.remote_addr or request.ip or "")[:64]


def is_api(request: Request) -> bool:
    return request.path.startswith("/api/")


async def load_login(request: Request) -> None:
    services = request.app.ctx.services
    token = request.cookies.get(COOKIE_NAME)
    request.ctx.login = await blocking(load_session, services.sessions, token, services.settings) if token else None


def check_csrf(request: Request) -> None:
    if request.method in SAFE_METHODS or request.path.startswith(CSRF_EXEMPT_PREFIXES):
        return
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.host:
        raise CsrfRejected(f"cross-origin {request.method} from {origin}")
    submitted = request.headers.get(CSRF_HEADER) or _form_value(request, CSRF_FIELD)
    if request.path == "/login":
        expected = request.cookies.get(LOGIN_CSRF_COOKIE)
        if not (expected and submitted and hmac.compare_digest(expected, submitted)):
            raise CsrfRejected("login form without its CSRF token")
        return
    login: LoginSession | None = request.ctx.login
    if login is None or not login.csrf_matches(submitted):
        raise CsrfRejected(f"{request.method} {request.path} without a valid CSRF token")


def storable_text(value: str) -> bool:
    """Text every database can store: no NUL character (PostgreSQL refuses it) and no lone
    surrogate (no encoding can write one)."""
    return "\x00" not in value and not holds_lone_surrogate(value)


def check_input(request: Request) -> None:
    """Query and form values must be storable text; anything else is a 400 before any work."""
    pairs = list(request.args.items())
    if _has_form(request):
        pairs += list((request.form or {}).items())
    for key, values in pairs:
        if not (storable_text(key) and all(storable_text(value) for value in values)):
            raise InvalidUsage("입력에 쓸 수 없는 문자(NUL 등)가 있어요.")


# The staff JSON API takes small flat objects.
API_BODY_LIMITS = RequestLimits(max_body_bytes=100_000, max_nesting_depth=4)


def json_object(request: Request) -> dict[str, Any]:
    """The JSON object of an API request (size, nesting and Unicode checked first); 400 otherwise."""
    try:
        body = decode_json(request.body or b"", API_BODY_LIMITS)
    except RequestError as error:
        raise InvalidUsage(error.message) from None
    if not isinstance(body, dict):
        raise InvalidUsage("a JSON object is expected")
    return body


def text_field(body: dict[str, Any], name: str) -> str | None:
    """A text value of a JSON object (None when absent); another type or unstorable text is a 400."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not storable_text(value):
        raise InvalidUsage(f"{name} must be text")
    return value


def _has_form(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    )


def _form_value(request: Request, name: str) -> str | None:
    return request.form.get(name) if _has_form(request) else None


def new_login_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def set_cookie(
    resp: response.HTTPResponse,
    name: str,
    value: str,
    *,
    secure: bool,
    max_age: int | None = None,
    same_site: str = "Lax",
) -> None:
    resp.cookies[name] = value
    cookie = resp.cookies[name]
    cookie["httponly"] = True
    cookie["samesite"] = same_site
    cookie["path"] = "/"
    if secure:
        cookie["secure"] = True
    if max_age is not None:
        cookie["max-age"] = max_age


def clear_cookie(resp: response.HTTPResponse, name: str, *, secure: bool) -> None:
    set_cookie(resp, name, "", secure=secure, max_age=0)


def add_security_headers(request: Request, resp: response.HTTPResponse) -> None:
    headers = resp.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.app.ctx.services.settings.cookie_secure:  # served over HTTPS: browsers stay on it
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if not request.path.startswith("/open311/"):
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Frame-Options", "DENY")


def requires(role: Role = Role.STAFF):
    """Route decorator: a signed-in account of `role` or above. Not signed in: pages redirect to
    the login form, the API answers 401."""

    def decorator(handler):
        @wraps(handler)
        async def wrapper(request: Request, *args, **kwargs):
            login: LoginSession | None = request.ctx.login
            if login is None:
                if is_api(request):
                    return response.json({"error": "login_required"}, status=401)
                target = request.path + (f"?{request.query_string}" if request.query_string else "")
                return response.redirect(f"/login?next={quote(target, safe='')}")
            if not login.account.has_role(role):
                raise AccessDenied(f"{login.account.username} is not {role.value}")
            return await handler(request, *args, **kwargs)

        return wrapper

    return decorator


_LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9/_.~%?=&+-]*")


def safe_next(target: str | None) -> str:
    """A local path to go to after login: never another site (no "//host", no backslashes,
    whitespace or control characters that browsers would strip into one)."""
    return target if target and _LOCAL_PATH.fullmatch(target) else "/"
