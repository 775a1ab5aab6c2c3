"""CSV export of the ticket list (same filters and department scope as the list).

UTF-8 with a byte-order mark so that spreadsheet programs show Korean; citizen text that a
spreadsheet would run as a formula is quoted (bot.budget.reports.spreadsheet_safe); phone numbers
are always masked (revealing one is a logged, per-ticket action).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from bot.budget.reports import spreadsheet_safe
from bot.staff.ticket_queries import TicketRow

HEADERS = (
    "접수번호",
    "접수일시",
    "유형",
    "유형 코드",
    "담당 부서",
    "구",
    "위치",
    "내용",
    "상태",
    "긴급",
    "처리 기한",
    "기한 경과",
    "담당자",
    "연락처",
)
BYTE_ORDER_MARK = "\ufeff"


def tickets_csv(rows: Iterable[TicketRow]) -> str:
    stream = io.StringIO()
    stream.write(BYTE_ORDER_MARK)
    writer = csv.writer(stream)
    writer.writerow(HEADERS)
    for row in rows:
        values = (
            row.number,
            row.created_at.strftime("%Y-%m-%d %H:%M"),
            row.label,
            row.category,
            row.department_name,
            row.district or "",
            row.location_text,
            row.description,
            row.status_label,
            "Y" if row.urgent else "",
            row.due_date.isoformat() if row.due_date else "",
            "Y" if row.overdue else "",
            row.assignee or "",
            row.contact_masked or "익명",
        )
        writer.writerow([spreadsheet_safe(value) for value in values])
    return stream.getvalue()
