"""Ticket pages (list, detail, actions, CSV export) and the JSON API used by scripts.

Every route goes through the same department scope (TicketQueries / TicketDesk): a staff account
asking for another department's ticket gets 403 from the page, the API and the export alike.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request

from bot.staff import transitions
from bot.staff.accounts import Role, department_accounts
from bot.staff.audit import record_now
from bot.staff.errors import ActionRefused
from bot.staff.ticket_actions import StaffMember
from bot.staff.ticket_export import tickets_csv
from bot.staff.ticket_queries import OPEN, SORTS, TicketFilters
from bot.staff.ticket_records import NoteKind
from bot.staff.web.rendering import NO_STORE, json_response, render
from bot.staff.web.security import client_ip, json_object, requires, text_field
from bot.staff.web.services import blocking
from bot.tickets.models import STATUS_LABELS_KO, TicketStatus

blueprint = Blueprint("staff_tickets")

DONE_MESSAGES = {
    "accept": "민원을 맡았어요.",
    "assign": "담당자를 배정했어요.",
    "note": "내부 메모를 남겼어요.",
}
CITIZEN_TOLD = {
    True: "카카오톡으로 시민에게 알림을 보내요.",
    False: "시민이 챗봇에서 민원을 조회하면 이 소식을 보여 드려요.",
}
CITIZEN_DONE = {"status": "상태를 바꿨어요.", "reply": "시민에게 답변을 남겼어요."}


def staff_member(request: Request) -> StaffMember:
    return StaffMember(request.ctx.login.account, client_ip(request))


def done_message(request: Request) -> str | None:
    done = request.args.get("done")
    if done in CITIZEN_DONE:
        return f"{CITIZEN_DONE[done]} {CITIZEN_TOLD[request.app.ctx.services.event_api_configured()]}"
    return DONE_MESSAGES.get(done)


# --- list and export ---------------------------------------------------------------------------------


@blueprint.get("/")
@requires(Role.TRAINER)
async def home(request: Request):
    """Each role's first page: trainers see no tickets, so they start in the training inbox."""
    return response.redirect("/training" if request.ctx.login.account.role is Role.TRAINER else "/tickets")


@blueprint.get("/tickets")
@requires()
async def ticket_list(request: Request):
    services = request.app.ctx.services
    config = services.config()
    filters = TicketFilters.from_args(request.args, config)
    page = await blocking(services.queries.list_page, request.ctx.login.account, filters, services.settings.page_size)
    return render(
        request,
        "tickets.html",
        page=page,
        filters=filters,
        sorts=SORTS,
        config=config,
        statuses=[(OPEN, "열린 민원 (접수·처리 중)")] + [(s.value, label) for s, label in STATUS_LABELS_KO.items()],
        message=done_message(request),
    )


@blueprint.get("/tickets/export.csv")
@requires()
async def ticket_export(request: Request):
    services = request.app.ctx.services
    account = request.ctx.login.account
    filters = TicketFilters.from_args(request.args, services.config())
    rows = await blocking(services.queries.export_rows, account, filters)
    await blocking(
        record_now,
        services.sessions,
        staff_member(request).actor,
        "tickets.exported",
        department_id=filters.department or account.department_id,
        rows=len(rows),
        filters=json.dumps(filters.query_args(page=1), ensure_ascii=False),
    )
    return response.text(
        tickets_csv(rows),
        content_type="text/csv; charset=utf-8",
        headers={**NO_STORE, "Content-Disposition": 'attachment; filename="tickets.csv"'},
    )


# --- one ticket ----------------------------------------------------------------------------------


async def detail_page(
    request: Request, number: str, *, error: str | None = None, revealed_contact: str | None = None, status: int = 200
):
    services = request.app.ctx.services
    account = request.ctx.login.account
    detail = await blocking(services.queries.detail, account, number)
    config = services.config()
    current = detail.row.status
    moves = [
        (move.value, transitions.move_label(current, move), transitions.needs_reason(current, move))
        for move in transitions.allowed_moves(current)
    ]
    assignees = await blocking(department_accounts, services.sessions, detail.row.department_id)
    departments = [d for d in config.departments.values() if d.id != detail.row.department_id]
    return render(
        request,
        "ticket.html",
        status=status,
        detail=detail,
        row=detail.row,
        moves=moves,
        assignees=assignees,
        departments=departments,
        can_transfer=transitions.can_transfer(current),
        error=error,
        message=None if error else done_message(request),
        revealed_contact=revealed_contact,
        event_api=services.event_api_configured(),
    )


@blueprint.get("/tickets/<number:str>")
@requires()
async def ticket_detail(request: Request, number: str):
    return await detail_page(request, number.upper())


async def _act(request: Request, number: str, done: str, action, *args, **kwargs):
    """Run a desk action; back to the ticket (or the list, when it left the department)."""
    number = number.upper()
    try:
        await blocking(action, staff_member(request), number, *args, **kwargs)
    except ActionRefused as refusal:
        return await detail_page(request, number, error=str(refusal), status=400)
    return response.redirect(f"/tickets/{number}?done={done}")


def _form(request: Request, name: str) -> str:
    return (request.form.get(name) or "").strip()


def _status(value: str) -> TicketStatus | None:
    try:
        return TicketStatus(value)
    except ValueError:
        return None


@blueprint.post("/tickets/<number:str>/accept")
@requires()
async def ticket_accept(request: Request, number: str):
    return await _act(request, number, "accept", request.app.ctx.services.desk.accept)


@blueprint.post("/tickets/<number:str>/assign")
@requires()
async def ticket_assign(request: Request, number: str):
    try:
        assignee = int(_form(request, "assignee"))
    except ValueError:
        return await detail_page(request, number.upper(), error="배정할 직원을 골라 주세요.", status=400)
    return await _act(request, number, "assign", request.app.ctx.services.desk.assign, assignee)


@blueprint.post("/tickets/<number:str>/status")
@requires()
async def ticket_status(request: Request, number: str):
    new_status = _status(_form(request, "status"))
    if new_status is None:
        return await detail_page(request, number.upper(), error="바꿀 상태를 골라 주세요.", status=400)
    return await _act(
        request,
        number,
        "status",
        request.app.ctx.services.desk.change_status,
        new_status,
        message=_form(request, "message"),
        reason=_form(request, "reason"),
        expected_status=_status(_form(request, "expected_status")),
    )


@blueprint.post("/tickets/<number:str>/transfer")
@requires()
async def ticket_transfer(request: Request, number: str):
    number = number.upper()
    desk = request.app.ctx.services.desk
    try:
        await blocking(
            desk.transfer, staff_member(request), number, _form(request, "department"), _form(request, "reason")
        )
    except ActionRefused as refusal:
        return await detail_page(request, number, error=str(refusal), status=400)
    account = request.ctx.login.account
    return response.redirect(
        f"/tickets/{number}?done=status" if account.sees_all_departments else "/tickets?done=status"
    )


@blueprint.post("/tickets/<number:str>/reply")
@requires()
async def ticket_reply(request: Request, number: str):
    return await _act(
        request, number, "reply", request.app.ctx.services.desk.add_note, _form(request, "body"), NoteKind.REPLY
    )


@blueprint.post("/tickets/<number:str>/note")
@requires()
async def ticket_note(request: Request, number: str):
    return await _act(
        request, number, "note", request.app.ctx.services.desk.add_note, _form(request, "body"), NoteKind.INTERNAL
    )


@blueprint.post("/tickets/<number:str>/contact")
@requires()
async def ticket_contact(request: Request, number: str):
    number = number.upper()
    phone = await blocking(request.app.ctx.services.desk.reveal_contact, staff_member(request), number)
    return await detail_page(request, number, revealed_contact=phone or "익명 (연락처 없음)")


# --- JSON API --------------------------------------------------------------------------------------


def _row_json(row) -> dict[str, Any]:
    data = asdict(row)
    data["status_label"] = row.status_label
    return data


@blueprint.get("/api/tickets")
@requires()
async def api_ticket_list(request: Request):
    services = request.app.ctx.services
    filters = TicketFilters.from_args(request.args, services.config())
    page = await blocking(services.queries.list_page, request.ctx.login.account, filters, services.settings.page_size)
    return json_response(
        {"total": page.total, "page": page.page, "pages": page.pages, "tickets": [_row_json(row) for row in page.rows]}
    )


@blueprint.get("/api/tickets/<number:str>")
@requires()
async def api_ticket_detail(request: Request, number: str):
    services = request.app.ctx.services
    detail = await blocking(services.queries.detail, request.ctx.login.account, number.upper())
    return json_response(
        {
            **_row_json(detail.row),
            "photo_url": detail.photo_url,
            "watchers": detail.watchers,
            "has_contact": detail.has_contact,
            "history": [asdict(item) for item in detail.history],
        }
    )


@blueprint.post("/api/tickets/<number:str>/status")
@requires()
async def api_ticket_status(request: Request, number: str):
    body = json_object(request)
    new_status = _status(text_field(body, "status") or "")
    if new_status is None:
        return json_response({"error": "unknown_status"}, status=400)
    try:
        status = await blocking(
            request.app.ctx.services.desk.change_status,
            staff_member(request),
            number.upper(),
            new_status,
            message=text_field(body, "message"),
            reason=text_field(body, "reason"),
            expected_status=_status(text_field(body, "expected_status") or ""),
        )
    except ActionRefused as refusal:
        return json_response({"error": "refused", "message": str(refusal)}, status=409)
    return json_response({"number": number.upper(), "status": status.value})
