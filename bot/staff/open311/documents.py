"""GeoReport v2 documents: service list and definitions, service requests as JSON, statuses
mapped to open/closed, errors as `[{"code": …, "description": …}]`, and the request filters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from bot.city.models import CityConfig, ComplaintCategory
from bot.privacy.masking import mask_personal_data
from bot.tickets.models import OPEN_STATUSES, STATUS_LABELS_KO, Ticket, TicketStatus
from bot.tickets.notices import EXTERNAL_SENDER_PREFIX

OPEN, CLOSED = "open", "closed"
CONSENT_ATTRIBUTE = "contact_consent"  # attribute[contact_consent]=yes: keep the phone number
CONSENT_YES = "yes"
DEFAULT_WINDOW = timedelta(days=90)  # the spec's default when no start_date is given
MAX_RESULTS = 1000
MAX_REQUEST_IDS = 100  # service_request_id=a,b,c… in one query
MAX_PARAM_CHARS = 2000  # any one parameter
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(2999, 12, 31, tzinfo=timezone.utc)


class Open311Error(Exception):
    """Answered as the spec's error list with this HTTP status."""

    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description

    def document(self) -> list[dict[str, Any]]:
        return [{"code": self.status, "description": self.description}]


def open_or_closed(status: TicketStatus) -> str:
    return OPEN if status in OPEN_STATUSES else CLOSED


def statuses_for(value: str) -> tuple[TicketStatus, ...]:
    return OPEN_STATUSES if value == OPEN else tuple(s for s in TicketStatus if s not in OPEN_STATUSES)


# --- services ------------------------------------------------------------------------------------


def service(config: CityConfig, category: ComplaintCategory) -> dict[str, Any]:
    department = config.departments[category.department_id]
    petition = f"{category.petition_type}, " if category.petition_type else ""
    return {
        "service_code": category.id,
        "service_name": category.label,
        "description": f"{petition}처리 기한 {category.processing_days}일(근무일 기준), 담당: {department.name}",
        "metadata": True,
        "type": "realtime",
        "keywords": ",".join(category.synonyms),
        "group": department.name,
    }


def service_definition(config: CityConfig, category: ComplaintCategory) -> dict[str, Any]:
    consent = config.profile.consent
    return {
        "service_code": category.id,
        "attributes": [
            {
                "variable": True,
                "code": CONSENT_ATTRIBUTE,
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": "전화번호(phone)를 함께 보낼 때 시민의 동의 여부",
                "order": 1,
                "description": (
                    f"개인정보 수집·이용 동의 (목적: {consent.purpose}; 항목: {consent.items}; "
                    f"보관: {consent.retention}). 동의하지 않으면 전화번호는 저장하지 않습니다."
                ),
                "values": [{"key": CONSENT_YES, "name": "동의"}, {"key": "no", "name": "동의하지 않음"}],
            }
        ],
    }


# --- service requests ----------------------------------------------------------------------------


def _iso(moment: datetime | None, zone: ZoneInfo) -> str | None:
    return moment.astimezone(zone).isoformat(timespec="seconds") if moment else None


def service_request(config: CityConfig, ticket: Ticket, full: bool = False) -> dict[str, Any]:
    """A ticket as a GeoReport service request. What a citizen wrote in the chat (description,
    exact address, photo) is private: the public view of a chat-filed ticket has its category,
    status, district and dates only; `full` (an API key with the read_full scope) adds the rest.
    Requests filed through this API were written for it and show as filed. The contact number is
    never part of either view."""
    zone = ZoneInfo(config.profile.timezone)
    category = config.complaint_categories.get(ticket.category)
    department = config.departments.get(ticket.department_id)
    expected = None
    if ticket.due_date and department:
        expected = datetime.combine(ticket.due_date, department.working_hours.closes, tzinfo=zone)
    from_api = ticket.sender_id.startswith(EXTERNAL_SENDER_PREFIX)
    private = not (full or from_api)
    return {
        "service_request_id": ticket.number,
        "status": open_or_closed(ticket.status),
        "status_notes": STATUS_LABELS_KO[ticket.status],
        "service_name": category.label if category else ticket.category,
        "service_code": ticket.category,
        "description": "" if private else mask_personal_data(ticket.description),
        "agency_responsible": department.name if department else ticket.department_id,
        "service_notice": "",
        "requested_datetime": _iso(ticket.created_at, zone),
        "updated_datetime": _iso(ticket.updated_at, zone),
        "expected_datetime": _iso(expected, zone),
        "address": (ticket.district or "") if private else ticket.location_text,
        "district": ticket.district or "",
        "address_id": "",
        "zipcode": "",
        "lat": None,
        "long": None,
        # Photos sent in KakaoTalk stay private; a client's own media URL is public already.
        "media_url": None if private else ticket.photo_url,
    }


@dataclass(frozen=True)
class RequestQuery:
    numbers: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    statuses: tuple[TicketStatus, ...] = ()
    start: datetime | None = None
    end: datetime | None = None


def parse_request_query(args: Mapping[str, str], config: CityConfig, now: datetime) -> RequestQuery:
    """GET requests.json parameters. service_request_id overrides every other parameter; without
    dates the last 90 days are searched."""
    too_long = sorted(name for name, value in args.items() if len(value) > MAX_PARAM_CHARS)
    if too_long:
        raise Open311Error(400, f"parameter too long: {too_long[0][:40]}")
    numbers = _list(args.get("service_request_id"))
    if len(numbers) > MAX_REQUEST_IDS:
        raise Open311Error(400, f"at most {MAX_REQUEST_IDS} service_request_id values at once")
    if numbers:
        return RequestQuery(numbers=tuple(number.upper() for number in numbers))
    codes = _list(args.get("service_code"))
    unknown = [code for code in codes if code not in config.complaint_categories]
    if unknown:
        raise Open311Error(400, f"service_code not found: {', '.join(unknown)}")
    statuses: list[TicketStatus] = []
    for value in _list(args.get("status")):
        if value not in (OPEN, CLOSED):
            raise Open311Error(400, "status must be 'open' or 'closed'")
        statuses.extend(statuses_for(value))
    zone = ZoneInfo(config.profile.timezone)
    start = _moment(args.get("start_date"), "start_date", zone)
    end = _moment(args.get("end_date"), "end_date", zone)
    if start and end and start > end:
        raise Open311Error(400, "start_date is after end_date")
    if start is None:
        start = (end or now) - DEFAULT_WINDOW
    return RequestQuery(service_codes=tuple(codes), statuses=tuple(statuses), start=start, end=end)


def _list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _moment(value: str | None, name: str, zone: ZoneInfo) -> datetime | None:
    if not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        moment = moment.astimezone(timezone.utc)  # fails for moments a zone offset pushes out of range
    except (ValueError, OverflowError):
        raise Open311Error(400, f"{name} must be a W3C date-time like 2026-05-01T09:00:00+09:00") from None
    if not EARLIEST <= moment <= LATEST:
        raise Open311Error(400, f"{name} is out of range (1970-2999)")
    return moment
