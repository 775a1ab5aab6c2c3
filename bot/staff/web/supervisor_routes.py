"""Pages beyond one department's tickets: notices to subscribers and participatory-budget results
(supervisors), and failed deliveries (dead letters: every account, scoped to its department)."""

from __future__ import annotations

import io
from functools import lru_cache

from sanic import Blueprint, response
from sanic.request import Request
from sqlalchemy import select

from bot.budget.definitions import BudgetData
from bot.budget.loader import BudgetDataError, load_budget_data
from bot.budget.reports import TABLE_NAMES, build_results, write_csv
from bot.city import get_city_config
from bot.delivery.dead_letters import list_dead_letters, requeue_dead_letter
from bot.delivery.outbox import OutboxEntry
from bot.staff.accounts import Account, Role
from bot.staff.audit import record_now
from bot.staff.errors import AccessDenied
from bot.staff.web.rendering import NO_STORE, render
from bot.staff.web.security import requires
from bot.staff.web.services import blocking
from bot.staff.web.ticket_routes import staff_member
from bot.subscriptions.broadcast import MAX_NOTICE_CHARS, BroadcastError, broadcast
from bot.subscriptions.catalogue import get_catalogue
from bot.subscriptions.models import Broadcast
from bot.subscriptions.store import SubscriptionStore
from bot.tickets.models import Ticket

blueprint = Blueprint("staff_supervisor")

RECENT_BROADCASTS = 20


# --- notices to subscribers ------------------------------------------------------------------------


def _notice_page_data(store: SubscriptionStore):
    catalogue = get_catalogue()
    targets = [(target, len(store.recipients(target.key))) for target in catalogue.targets]
    with store.sessions() as session:
        recent = list(
            session.execute(select(Broadcast).order_by(Broadcast.id.desc()).limit(RECENT_BROADCASTS)).scalars()
        )
    return targets, recent


async def _notice_page(
    request: Request, error: str | None = None, sent: str | None = None, text: str = "", status: int = 200
):
    store = SubscriptionStore(request.app.ctx.services.sessions)
    targets, recent = await blocking(_notice_page_data, store)
    return render(
        request,
        "notices.html",
        status=status,
        targets=targets,
        recent=recent,
        error=error,
        sent=sent,
        text=text,
        max_chars=MAX_NOTICE_CHARS,
    )


@blueprint.get("/notices")
@requires(Role.SUPERVISOR)
async def notices_page(request: Request):
    sent = request.args.get("sent")
    return await _notice_page(request, sent=f"공지를 구독자 {sent}명에게 보내도록 등록했어요." if sent else None)


@blueprint.post("/notices")
@requires(Role.SUPERVISOR)
async def send_notice(request: Request):
    services = request.app.ctx.services
    target, text = (request.form.get("target") or "").strip(), (request.form.get("text") or "").strip()
    store = SubscriptionStore(services.sessions)
    try:
        result = await blocking(
            broadcast, store, get_catalogue(), target, text, sent_by=request.ctx.login.account.username
        )
    except BroadcastError as error:
        message = (
            "카카오 알림(Event API)이 설정되지 않아 보낼 수 없어요."
            if "not configured" in str(error)
            else f"보낼 수 없어요: {error}"
        )
        return await _notice_page(request, error=message, text=text, status=400)
    await blocking(
        record_now,
        services.sessions,
        staff_member(request).actor,
        "broadcast.queued",
        target=target,
        recipients=result.recipients,
        broadcast_id=result.broadcast_id,
    )
    return response.redirect(f"/notices?sent={result.recipients}")


# --- participatory budget -----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def budget_data() -> BudgetData:
    return load_budget_data(get_city_config())


@blueprint.get("/budget")
@requires(Role.SUPERVISOR)
async def budget_results(request: Request):
    try:
        data = budget_data()
    except BudgetDataError as error:
        return render(request, "budget.html", results=None, error=str(error))
    results = await blocking(build_results, request.app.ctx.services.sessions, data)
    return render(request, "budget.html", results=results, error=None, table_names=TABLE_NAMES)


@blueprint.get("/budget/results.csv")
@requires(Role.SUPERVISOR)
async def budget_results_csv(request: Request):
    services = request.app.ctx.services
    table = request.args.get("table")
    table = table if table in TABLE_NAMES else None  # only a known name reaches the filename header
    tables = [table] if table else list(TABLE_NAMES)
    results = await blocking(build_results, services.sessions, budget_data())
    stream = io.StringIO()
    stream.write("\ufeff")
    write_csv(results, stream, tables)
    await blocking(
        record_now, services.sessions, staff_member(request).actor, "budget.results_exported", tables=",".join(tables)
    )
    filename = f"budget-{results.cycle_id}-{table or 'all'}.csv"
    return response.text(
        stream.getvalue(),
        content_type="text/csv; charset=utf-8",
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- failed deliveries --------------------------------------------------------------------------------


def _visible_dead_letters(sessions, account: Account) -> list[tuple]:
    entries = list_dead_letters(sessions)
    ticket_ids = {entry.ticket_id for entry in entries if entry.ticket_id}
    with sessions() as session:
        tickets = (
            {ticket.id: ticket for ticket in session.execute(select(Ticket).where(Ticket.id.in_(ticket_ids))).scalars()}
            if ticket_ids
            else {}
        )
    visible = []
    for entry in entries:
        ticket = tickets.get(entry.ticket_id)
        department = ticket.department_id if ticket else entry.target_id
        if account.may_work_on(department) or (account.department_id and entry.target_id == account.department_id):
            visible.append((entry, ticket))
    return visible


@blueprint.get("/deliveries/dead")
@requires()
async def dead_letters(request: Request):
    services = request.app.ctx.services
    visible = await blocking(_visible_dead_letters, services.sessions, request.ctx.login.account)
    requeued = request.args.get("requeued")
    return render(
        request,
        "dead_letters.html",
        entries=visible,
        message=f"#{requeued} 전송을 다시 시도하도록 했어요." if requeued else None,
    )


@blueprint.post("/deliveries/<entry_id:int>/requeue")
@requires()
async def requeue(request: Request, entry_id: int):
    services = request.app.ctx.services
    account = request.ctx.login.account
    visible = await blocking(_visible_dead_letters, services.sessions, account)
    if entry_id not in {entry.id for entry, _ in visible}:
        raise AccessDenied(f"dead letter {entry_id} is not {account.username}'s to requeue")
    entry: OutboxEntry = next(entry for entry, _ in visible if entry.id == entry_id)
    await blocking(requeue_dead_letter, services.sessions, entry_id, services.config())
    await blocking(
        record_now,
        services.sessions,
        staff_member(request).actor,
        "delivery.requeued",
        ticket_id=entry.ticket_id,
        department_id=entry.target_id,
        entry_id=entry_id,
    )
    return response.redirect(f"/deliveries/dead?requeued={entry_id}")
