"""Figures of the live dashboard, scoped like the ticket list: counts by status, department and
category, overdue tickets, today's emergencies, open emergency incidents (reports, which agencies
acknowledged, alerts unacknowledged past SOTONG_ALERT_ACK_MINUTES) and a 14-day trend of new and
closed tickets."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.orm import sessionmaker

from bot.city.models import CityConfig
from bot.delivery.settings import DeliverySettings
from bot.staff.accounts import Account
from bot.staff.ticket_queries import department_scope, local_today
from bot.storage.db import utc_now
from bot.tickets.documents import category_label
from bot.tickets.incidents import open_incidents
from bot.tickets.models import OPEN_STATUSES, STATUS_LABELS_KO, Ticket, TicketEvent, TicketEventKind, TicketStatus

TREND_DAYS = 14
MAX_LISTED = 20
CLOSED_STATUSES = tuple(status.value for status in TicketStatus if status not in OPEN_STATUSES)


class DashboardFigures:
    def __init__(
        self, session_factory: sessionmaker, config: Callable[[], CityConfig], clock: Callable[[], datetime] = utc_now
    ):
        self.sessions = session_factory
        self._config = config
        self._clock = clock

    def snapshot(self, account: Account) -> dict[str, Any]:
        """Everything the dashboard shows, as JSON-ready data with a `version` that changes
        whenever any figure does."""
        config = self._config()
        zone = ZoneInfo(config.profile.timezone)
        now = self._clock()
        today = local_today(config, now)
        department = department_scope(account, None)
        scope = [Ticket.department_id == department] if department else []
        with self.sessions() as session:
            by_status = dict(
                session.execute(select(Ticket.status, func.count()).where(*scope).group_by(Ticket.status)).all()
            )
            open_rows = session.execute(
                select(Ticket.department_id, Ticket.category, Ticket.emergency_type, func.count())
                .where(Ticket.status.in_(OPEN_STATUSES), *scope)
                .group_by(Ticket.department_id, Ticket.category, Ticket.emergency_type)
            ).all()
            overdue_query = select(Ticket).where(Ticket.status.in_(OPEN_STATUSES), Ticket.due_date < today, *scope)
            overdue_total = session.execute(select(func.count()).select_from(overdue_query.subquery())).scalar_one()
            overdue = (
                session.execute(overdue_query.order_by(Ticket.due_date, Ticket.id).limit(MAX_LISTED)).scalars().all()
            )
            day_start = datetime.combine(today, datetime.min.time(), tzinfo=zone)
            emergencies = (
                session.execute(
                    select(Ticket)
                    .where(Ticket.urgent.is_(True), Ticket.created_at >= day_start, *scope)
                    .order_by(Ticket.created_at.desc())
                    .limit(MAX_LISTED)
                )
                .scalars()
                .all()
            )
            trend_start = day_start - timedelta(days=TREND_DAYS - 1)
            created_times = (
                session.execute(select(Ticket.created_at).where(Ticket.created_at >= trend_start, *scope))
                .scalars()
                .all()
            )
            closed_times = (
                session.execute(
                    select(TicketEvent.created_at)
                    .join(Ticket, Ticket.id == TicketEvent.ticket_id)
                    .where(
                        and_(
                            TicketEvent.kind == TicketEventKind.STATUS_CHANGED,
                            TicketEvent.new_status.in_(CLOSED_STATUSES),
                            TicketEvent.new_status != TicketStatus.TRANSFERRED.value,
                        ),
                        TicketEvent.created_at >= trend_start,
                        *scope,
                    )
                )
                .scalars()
                .all()
            )

            def brief(ticket: Ticket) -> dict[str, Any]:
                department_ = config.departments.get(ticket.department_id)
                return {
                    "number": ticket.number,
                    "label": category_label(config, ticket),
                    "department": department_.name if department_ else ticket.department_id,
                    "location": ticket.location_text,
                    "status": STATUS_LABELS_KO[ticket.status],
                    "due_date": ticket.due_date.isoformat() if ticket.due_date else None,
                    "days_overdue": (today - ticket.due_date).days if ticket.due_date else 0,
                    "created_at": ticket.created_at.astimezone(zone).strftime("%H:%M"),
                }

            overdue_list = [brief(ticket) for ticket in overdue]
            incidents = open_incidents(
                session, config, now, DeliverySettings.from_env().alert_ack_minutes, scope, MAX_LISTED
            )
            emergency_list = [brief(ticket) for ticket in emergencies]

        by_department: Counter = Counter()
        by_category: Counter = Counter()
        for department_id, category, emergency_type, count in open_rows:
            by_department[department_id] += count
            by_category[emergency_type and "emergency" or category] += count
        days = [trend_start.date() + timedelta(days=offset) for offset in range(TREND_DAYS)]
        created = Counter(moment.astimezone(zone).date() for moment in created_times)
        closed = Counter(moment.astimezone(zone).date() for moment in closed_times)
        figures = {
            "scope": config.departments[department].name if department in config.departments else "전체 부서",
            "by_status": [
                {"key": status.value, "label": STATUS_LABELS_KO[status], "count": by_status.get(status, 0)}
                for status in TicketStatus
            ],
            "open_total": sum(by_status.get(status, 0) for status in OPEN_STATUSES),
            "by_department": [
                {"key": key, "label": _department_name(config, key), "count": count}
                for key, count in by_department.most_common()
            ],
            "by_category": [
                {"key": key, "label": _category_name(config, key), "count": count}
                for key, count in by_category.most_common()
            ],
            "overdue": {"total": overdue_total, "tickets": overdue_list},
            "emergencies_today": emergency_list,
            "incidents": incidents,
            "trend": [
                {
                    "date": day.isoformat(),
                    "label": f"{day.month}/{day.day}",
                    "created": created.get(day, 0),
                    "closed": closed.get(day, 0),
                }
                for day in days
            ],
        }
        figures["version"] = hashlib.sha256(
            json.dumps(figures, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()[:16]
        figures["generated_at"] = now.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
        return figures


def _department_name(config: CityConfig, department_id: str) -> str:
    department = config.departments.get(department_id)
    return department.name if department else department_id


def _category_name(config: CityConfig, key: str) -> str:
    if key == "emergency":
        return "긴급 신고"
    category = config.complaint_categories.get(key)
    return category.label if category else key
