"""Admin pages: accounts (add, disable, enable), reloading the routing data, the audit log."""

from __future__ import annotations

from sanic import Blueprint, response
from sanic.request import Request

from bot.city import CityDataError
from bot.staff.accounts import AccountError, Role, add_account, list_accounts, set_active
from bot.staff.audit import recent_entries, record_now
from bot.staff.login_throttle import locked_usernames, unlock
from bot.staff.sessions import end_sessions_of
from bot.staff.web.rendering import render
from bot.staff.web.security import requires
from bot.staff.web.services import blocking
from bot.staff.web.ticket_routes import staff_member

blueprint = Blueprint("staff_admin", url_prefix="/admin")

ACCOUNT_DONE = {
    "added": "계정을 만들었어요.",
    "disabled": "계정을 사용 중지했어요. 로그인 중이던 세션도 끝났어요.",
    "enabled": "계정을 다시 사용하게 했어요.",
    "unlocked": "로그인 잠금을 풀었어요.",
}


async def _accounts_page(request: Request, error: str = "", status: int = 200, form=None):
    services = request.app.ctx.services
    accounts = await blocking(list_accounts, services.sessions)
    locked = await blocking(locked_usernames, services.sessions, services.settings)
    return render(
        request,
        "accounts.html",
        status=status,
        accounts=accounts,
        locked=locked,
        error=error,
        form=form or {},
        departments=services.config().departments,
        roles=list(Role),
        message=ACCOUNT_DONE.get(request.args.get("done")),
    )


@blueprint.get("/accounts")
@requires(Role.ADMIN)
async def accounts(request: Request):
    return await _accounts_page(request)


@blueprint.post("/accounts")
@requires(Role.ADMIN)
async def create_account(request: Request):
    services = request.app.ctx.services
    form = {name: (request.form.get(name) or "").strip() for name in ("username", "display_name", "role", "department")}
    try:
        await blocking(
            add_account,
            services.sessions,
            services.config(),
            staff_member(request).actor,
            username=form["username"],
            password=request.form.get("password") or "",
            role=form["role"],
            department_id=form["department"] or None,
            display_name=form["display_name"] or None,
        )
    except AccountError as error:
        return await _accounts_page(request, f"계정을 만들 수 없어요: {error}", 400, form)
    return response.redirect("/admin/accounts?done=added")


@blueprint.post("/accounts/<username:str>/disable")
@requires(Role.ADMIN)
async def disable_account(request: Request, username: str):
    if username == request.ctx.login.account.username:
        return await _accounts_page(request, "자기 계정은 사용 중지할 수 없어요.", 400)
    return await _set_active(request, username, False)


@blueprint.post("/accounts/<username:str>/enable")
@requires(Role.ADMIN)
async def enable_account(request: Request, username: str):
    return await _set_active(request, username, True)


@blueprint.post("/accounts/<username:str>/unlock")
@requires(Role.ADMIN)
async def unlock_account(request: Request, username: str):
    """Lift the login lock of a username (from every address), e.g. after password spraying."""
    services = request.app.ctx.services
    if not any(a.username == username for a in await blocking(list_accounts, services.sessions)):
        return await _accounts_page(request, "없는 계정이에요.", 404)
    await blocking(unlock, services.sessions, staff_member(request).actor, username)
    return response.redirect("/admin/accounts?done=unlocked")


async def _set_active(request: Request, username: str, active: bool):
    services = request.app.ctx.services
    if not await blocking(set_active, services.sessions, staff_member(request).actor, username, active):
        return await _accounts_page(request, "없는 계정이에요.", 404)
    if not active:
        target = next(a for a in await blocking(list_accounts, services.sessions) if a.username == username)
        await blocking(end_sessions_of, services.sessions, target.id)
    return response.redirect(f"/admin/accounts?done={'enabled' if active else 'disabled'}")


def _routing_page(request: Request, errors=None, status: int = 200, reloaded: bool = False):
    """The routing table of the data in use, its version, and the problems of refused newer files
    (given by a reload, or noticed by the console's own check of data/city)."""
    services = request.app.ctx.services
    config = services.config()  # first: it notices changed files
    city_data = services.city_data_status()
    return render(
        request,
        "routing.html",
        status=status,
        config=config,
        city_data=city_data,
        errors=errors or (city_data.problems if city_data else ()),
        reloaded=reloaded,
    )


@blueprint.get("/routing")
@requires(Role.ADMIN)
async def routing(request: Request):
    return _routing_page(request, reloaded=request.args.get("done") == "reloaded")


@blueprint.post("/routing/reload")
@requires(Role.ADMIN)
async def reload_routing(request: Request):
    services = request.app.ctx.services
    try:
        config = await blocking(services.reload_city_data)
    except CityDataError as error:
        await blocking(
            record_now,
            services.sessions,
            staff_member(request).actor,
            "routing.reload_failed",
            problems=len(error.errors),
        )
        return _routing_page(request, errors=error.errors, status=400)
    await blocking(
        record_now,
        services.sessions,
        staff_member(request).actor,
        "routing.reloaded",
        departments=len(config.departments),
        categories=len(config.complaint_categories),
    )
    return response.redirect("/admin/routing?done=reloaded")


@blueprint.get("/audit")
@requires(Role.ADMIN)
async def audit_log(request: Request):
    actor = (request.args.get("actor") or "").strip() or None
    entries = await blocking(recent_entries, request.app.ctx.services.sessions, 300, actor)
    return render(request, "audit.html", entries=entries, actor=actor or "")
