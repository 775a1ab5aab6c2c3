"""The training inbox (trainers and admins): citizens' messages Sotong probably misread, grouped,
labelled into reviewed NLU data (bot.trainer.inbox), and the weekly report of what citizens ask
that Sotong cannot answer. Department staff and supervisors get 403; trainers see no tickets."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from functools import wraps
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request

from bot.staff.accounts import Role
from bot.staff.audit import record_now
from bot.staff.errors import AccessDenied
from bot.staff.web.rendering import NO_STORE, json_response, render, script_json
from bot.staff.web.security import requires
from bot.staff.web.services import blocking
from bot.staff.web.ticket_routes import staff_member
from bot.storage.db import utc_now
from bot.trainer import inbox
from bot.trainer.signals import KIND_LABELS_KO, UNANSWERED_KINDS, SignalStatus

blueprint = Blueprint("staff_training")

PAGE_GROUPS = 30
REPORT_DAYS = 7
REPORT_GROUPS = 10
ENTITY_NAMES = ("complaint_category", "location", "emergency_type", "ticket_id")
DONE_MESSAGES = {
    "labelled": "학습 데이터에 예문을 추가했어요.",
    "held_out": "평가용 데이터에 예문을 추가했어요.",
    "dismissed": "도움이 되지 않는 메시지로 표시했어요.",
}


def trainers_only(handler):
    """Signed in (pages redirect to the login form) and allowed to train (trainer or admin)."""

    @requires(Role.TRAINER)
    @wraps(handler)
    async def wrapper(request: Request, *args, **kwargs):
        account = request.ctx.login.account
        if not account.may_train:
            raise AccessDenied(f"{account.username} ({account.role.value}) may not open the training inbox")
        return await handler(request, *args, **kwargs)

    return wrapper


def _inbox_data(sessions, since: float | None) -> dict[str, Any]:
    groups = inbox.inbox_groups(sessions, since)
    shown = groups[:PAGE_GROUPS]
    tokens = {
        group.id: [{"text": span.text, "start": span.start, "end": span.end} for span in inbox.tokens(group.first.text)]
        for group in shown
    }
    return {
        "groups": shown,
        "total_groups": len(groups),
        "total_signals": sum(g.size for g in groups),
        "tokens": tokens,
        "labels": inbox.known_labels(),
    }


@blueprint.get("/training")
@trainers_only
async def training_inbox(request: Request, error: str | None = None, status: int = 200):
    services = request.app.ctx.services
    since = _since(request)
    data = await blocking(_inbox_data, services.sessions, since)
    categories = sorted(services.config().complaint_categories)
    return render(
        request,
        "training_inbox.html",
        status=status,
        error=error,
        since=since,
        message=DONE_MESSAGES.get(request.args.get("done")),
        kind_labels=KIND_LABELS_KO,
        entity_names=ENTITY_NAMES,
        categories=categories,
        tokens_json=script_json(data.pop("tokens")),
        **data,
    )


@blueprint.get("/training/groups.json")
@trainers_only
async def training_groups_json(request: Request):
    groups = await blocking(inbox.inbox_groups, request.app.ctx.services.sessions, _since(request))
    return json_response([group.as_dict() for group in groups])


def _since(request: Request) -> float | None:
    try:
        value = float(request.args.get("since") or 0)
    except ValueError:
        return None
    return value if 0 < value <= 3650 else None


def _entities(raw: str) -> list[inbox.EntitySpan]:
    try:
        items = json.loads(raw or "[]")
        return [
            inbox.EntitySpan(
                str(item["entity"]),
                int(item["start"]),
                int(item["end"]),
                (str(item["value"]) if item.get("value") else None),
            )
            for item in items
        ][:10]
    except (ValueError, KeyError, TypeError):
        raise inbox.LabelRefused("엔티티 정보를 읽을 수 없어요.") from None


@blueprint.post("/training/<signal_id:int>/label")
@trainers_only
async def label(request: Request, signal_id: int):
    services = request.app.ctx.services
    form = request.form
    target = inbox.HELD_OUT if form.get("target") == inbox.HELD_OUT else inbox.TRAINING
    who = staff_member(request)
    try:
        entities = _entities(form.get("entities") or "[]")
        chosen = inbox.Label((form.get("intent") or "").strip(), tuple(entities))
        result = await blocking(inbox.label_group, services.sessions, signal_id, chosen, target, who.account.username)
    except inbox.LabelRefused as refused:
        await blocking(
            record_now,
            services.sessions,
            who.actor,
            "training.label_refused",
            signal_id=signal_id,
            intent=form.get("intent"),
            target=target,
            reason=str(refused)[:300],
        )
        return await training_inbox(request, error=f"저장하지 않았어요: {refused}", status=400)
    except LookupError:
        return await training_inbox(request, error="그 메시지를 찾을 수 없어요.", status=404)
    await blocking(
        record_now,
        services.sessions,
        who.actor,
        "training.labelled",
        signal_ids=result["signal_ids"],
        intent=chosen.intent,
        target=target,
        file=result["file"],
        entities=[vars(entity) for entity in entities],
    )
    return response.redirect(f"/training?done={'held_out' if target == inbox.HELD_OUT else 'labelled'}")


@blueprint.post("/training/<signal_id:int>/dismiss")
@trainers_only
async def dismiss(request: Request, signal_id: int):
    services = request.app.ctx.services
    try:
        ids = await blocking(inbox.dismiss_group, services.sessions, signal_id, request.ctx.login.account.username)
    except LookupError:
        return await training_inbox(request, error="그 메시지를 찾을 수 없어요.", status=404)
    await blocking(record_now, services.sessions, staff_member(request).actor, "training.dismissed", signal_ids=ids)
    return response.redirect("/training?done=dismissed")


# --- weekly report -----------------------------------------------------------------------------------


def weekly_report(sessions, days: int = REPORT_DAYS) -> dict[str, Any]:
    """The largest groups of the last `days` days (every status: a labelled group was still asked)."""
    statuses = (SignalStatus.NEW, SignalStatus.LABELLED, SignalStatus.HELD_OUT, SignalStatus.NOT_USEFUL)
    groups = inbox.group_signals(inbox.open_signals(sessions, days, statuses))
    rows = []
    for group in groups[:REPORT_GROUPS]:
        unanswered = sum(1 for m in group.members if m.kind in UNANSWERED_KINDS)
        predicted = group.counts("predicted_intent")
        rows.append(
            {
                "id": group.id,
                "text": group.first.text,
                "size": group.size,
                "unanswered": unanswered,
                "misread": group.size - unanswered,
                "predicted": predicted[0][0] if predicted else "-",
                "status": group.first.status,
            }
        )
    until = utc_now()
    return {
        "rows": rows,
        "since": until - timedelta(days=days),
        "until": until,
        "total": sum(group.size for group in groups),
        "groups": len(groups),
    }


def bar_chart(rows: list[dict[str, Any]], width: int = 640, bar: int = 22) -> dict[str, Any]:
    """Geometry of a horizontal stacked bar chart (unanswered, misread) for the template's SVG."""
    label_width, gap = 40, 8
    largest = max([row["size"] for row in rows] or [1])
    scale = (width - label_width - 40) / largest
    bars = []
    for index, row in enumerate(rows):
        y = index * (bar + gap)
        bars.append(
            {
                "y": y,
                "label": f"#{row['id']}",
                "unanswered": row["unanswered"] * scale,
                "misread": row["misread"] * scale,
                "size": row["size"],
                "text": row["text"],
            }
        )
    return {"width": width, "height": max(len(rows) * (bar + gap), bar), "bar": bar, "x0": label_width, "bars": bars}


@blueprint.get("/training/report")
@trainers_only
async def report_page(request: Request):
    report = await blocking(weekly_report, request.app.ctx.services.sessions)
    return render(request, "training_report.html", chart=bar_chart(report["rows"]), **report)


@blueprint.get("/training/report.csv")
@trainers_only
async def report_csv(request: Request):
    services = request.app.ctx.services
    report = await blocking(weekly_report, services.sessions)
    stream = io.StringIO()
    stream.write("\ufeff")  # Excel reads UTF-8 Korean with a BOM
    writer = csv.writer(stream)
    writer.writerow(["group", "messages", "unanswered", "misread", "predicted_intent", "status", "example"])
    for row in report["rows"]:
        writer.writerow(
            [row["id"], row["size"], row["unanswered"], row["misread"], row["predicted"], row["status"], row["text"]]
        )
    await blocking(
        record_now,
        services.sessions,
        staff_member(request).actor,
        "training.report_exported",
        groups=len(report["rows"]),
    )
    filename = f"training-report-{report['until'].date().isoformat()}.csv"
    return response.text(
        stream.getvalue(),
        content_type="text/csv; charset=utf-8",
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'},
    )
