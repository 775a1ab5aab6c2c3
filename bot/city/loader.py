"""Load and validate the city data files (data/city/*.yml) into a CityConfig.

All problems are collected and raised together as one CityDataError, so a city editor sees every
mistake in one run of `python -m bot.city validate`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import date, time
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bot.city.fields import DataFilesError, FieldReader
from bot.city.models import (
    HTTP,
    SEND_METHODS,
    Agency,
    CityConfig,
    CityProfile,
    ComplaintCategory,
    ConsentText,
    Department,
    District,
    EmergencyType,
    SendTarget,
    WorkingHours,
)
from bot.settings import env_path

# Values of the `complaint_category` and `emergency_type` entities (NLU contract, DESIGN.md):
# each must be routable, so each must be present in the data. `other` (기타 생활민원) is the
# catch-all any complaint can fall back to. A city may add more categories as data.
NLU_COMPLAINT_CATEGORIES = (
    "road_damage",
    "streetlight",
    "illegal_parking",
    "noise",
    "illegal_dumping",
    "water_leak",
    "sewer",
    "park_facility",
    "traffic_signal",
    "stray_animal",
    "sidewalk",
    "tree",
    "other",
)
CATCH_ALL_CATEGORY = "other"
NLU_EMERGENCY_TYPES = ("flood", "fire", "sinkhole", "traffic_accident", "gas", "collapse", "medical")

DATA_DIR_ENV = "SOTONG_CITY_DATA_DIR"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = PROJECT_ROOT / "data" / "city"

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
TICKET_PREFIX_PATTERN = re.compile(r"^[A-Z]{2,5}$")
WORKING_HOURS_PATTERN = re.compile(r"^(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})$")
URL_PATTERN = re.compile(r"^https?://[^\s/:]+(:\d+)?(/\S*)?$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

T = TypeVar("T")


class CityDataError(DataFilesError):
    """The city data is invalid; `errors` holds one readable line per problem."""

    kind = "city"


def default_data_dir() -> Path:
    return env_path(DATA_DIR_ENV, DEFAULT_DATA_DIR)


def load_city_config(data_dir: os.PathLike | None = None) -> CityConfig:
    """Read, validate and cross-check all city files; raise CityDataError listing every problem."""
    directory = Path(data_dir) if data_dir is not None else default_data_dir()
    errors: list[str] = []
    profile = _parse_profile(_read_yaml(directory / "city.yml", errors), errors)
    districts, _ = _load_list(directory, "districts", _parse_district, errors, key=lambda item: item.name)
    departments, _ = _load_list(directory, "departments", _parse_department, errors)
    agencies, _ = _load_list(directory, "agencies", _parse_agency, errors)
    categories, category_ids = _load_list(directory, "complaint_categories", _parse_category, errors)
    emergencies, emergency_ids = _load_list(directory, "emergency_types", _parse_emergency, errors)

    _check_districts(districts, errors)
    _check_references(departments, agencies, categories, emergencies, districts, errors)
    _check_contract_values(
        "complaint_categories.yml", "complaint category", NLU_COMPLAINT_CATEGORIES, category_ids, errors
    )
    _check_contract_values("emergency_types.yml", "emergency type", NLU_EMERGENCY_TYPES, emergency_ids, errors)
    if errors or profile is None:
        raise CityDataError(errors or ["city.yml: could not be read"])
    return CityConfig(
        profile=profile,
        departments=departments,
        agencies=agencies,
        complaint_categories=categories,
        emergency_types=emergencies,
        districts=tuple(districts.values()),
        warnings=tuple(_unused_department_warnings(departments, categories, emergencies)),
    )


# --- files ---------------------------------------------------------------------------------------


def _read_yaml(path: Path, errors: list[str]) -> dict[str, Any]:
    if not path.is_file():
        errors.append(f"{path.name}: file not found in {path.parent}")
        return {}
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        errors.append(f"{path.name}: not valid YAML: {exc}")
        return {}
    if not isinstance(content, dict):
        errors.append(f"{path.name}: must be a mapping at the top level")
        return {}
    return content


def _load_list(
    directory: Path,
    list_key: str,
    parse_item: Callable[[FieldReader], T | None],
    errors: list[str],
    key: Callable[[T], str] = lambda item: item.id,
) -> tuple[dict[str, T], set]:
    """Parse the list `list_key` of <list_key>.yml item by item, reporting duplicate ids.

    Returns the valid items by id and every id written in the file, valid or not (so that one
    broken item is not also reported as missing)."""
    filename = f"{list_key}.yml"
    document = _read_yaml(directory / filename, errors)
    top = FieldReader(document, filename, errors, allowed={"sample_data", list_key}) if document else None
    raw_items = top.raw_list(list_key) if top else []
    kind, id_field = _ITEM_KINDS[list_key]
    parsed: dict[str, T] = {}
    declared_ids = {raw.get(id_field) for raw in raw_items if isinstance(raw, dict)}
    for index, raw in enumerate(raw_items, start=1):
        declared_id = raw.get(id_field) if isinstance(raw, dict) else None
        where = f"{filename}: {kind} '{declared_id}'" if declared_id else f"{filename}: {list_key} item {index}"
        item = parse_item(FieldReader(raw, where, errors, allowed=_ALLOWED_FIELDS[list_key]))
        if item is None:
            continue
        if key(item) in parsed:
            errors.append(f"{filename}: duplicate id '{key(item)}' in {list_key} (item {index})")
            continue
        parsed[key(item)] = item
    return parsed, declared_ids


_ITEM_KINDS = {
    "departments": ("department", "id"),
    "agencies": ("agency", "id"),
    "complaint_categories": ("complaint category", "id"),
    "emergency_types": ("emergency type", "id"),
    "districts": ("district", "name"),
}
_ALLOWED_FIELDS = {
    "departments": {"id", "name", "phone", "working_hours", "send"},
    "agencies": {"id", "name", "kind", "phone", "districts", "send"},
    "complaint_categories": {
        "id",
        "label",
        "department",
        "synonyms",
        "processing_days",
        "petition_type",
        "needs_photo",
        "needs_exact_location",
        "duplicate_window_hours",
    },
    "emergency_types": {"id", "label", "synonyms", "call_numbers", "guidance", "department", "agencies"},
    "districts": {"name", "aliases", "dongs"},
}


# --- items ---------------------------------------------------------------------------------------


def _read_id(fields: FieldReader) -> str | None:
    item_id = fields.text("id")
    if item_id and not ID_PATTERN.match(item_id):
        fields.error(f"id '{item_id}' must be lower-case letters, digits and '_'")
        return None
    return item_id or None


def _parse_send_target(fields: FieldReader) -> SendTarget | None:
    send = fields.nested("send", allowed={"method", "url", "address"})
    method = send.text("method")
    if not method:
        return None
    if method not in SEND_METHODS:
        send.error(f"unknown send method '{method}' (expected one of: {', '.join(SEND_METHODS)})")
        return None
    destination_field, pattern, kind = (
        ("url", URL_PATTERN, "an http(s) URL") if method == HTTP else ("address", EMAIL_PATTERN, "an e-mail address")
    )
    destination = send.text(destination_field)
    if not destination:
        send.error(f"send method '{method}' needs a '{destination_field}'")
        return None
    if not pattern.match(destination):
        send.error(f"'{destination}' is not {kind}")
        return None
    return SendTarget(method=method, destination=destination)


def _parse_working_hours(fields: FieldReader) -> WorkingHours | None:
    text = fields.text("working_hours")
    match = WORKING_HOURS_PATTERN.match(text)
    if not match:
        if text:
            fields.error(f"working_hours '{text}' must look like 09:00-18:00")
        return None
    hour_open, minute_open, hour_close, minute_close = (int(part) for part in match.groups())
    try:
        opens, closes = time(hour_open, minute_open), time(hour_close, minute_close)
    except ValueError:
        fields.error(f"working_hours '{text}' is not a valid time range")
        return None
    if opens >= closes:
        fields.error(f"working_hours '{text}' must open before it closes")
        return None
    return WorkingHours(opens=opens, closes=closes)


def _parse_department(fields: FieldReader) -> Department | None:
    department_id = _read_id(fields)
    name, phone = fields.text("name"), fields.text("phone")
    hours, send = _parse_working_hours(fields), _parse_send_target(fields)
    if not (department_id and name and phone and hours and send):
        return None
    return Department(id=department_id, name=name, phone=phone, working_hours=hours, send=send)


def _parse_agency(fields: FieldReader) -> Agency | None:
    agency_id = _read_id(fields)
    name, kind, phone = fields.text("name"), fields.text("kind"), fields.text("phone")
    districts, send = fields.texts("districts"), _parse_send_target(fields)
    if not (agency_id and name and kind and phone and send):
        return None
    return Agency(id=agency_id, name=name, kind=kind, phone=phone, send=send, districts=districts)


def _parse_category(fields: FieldReader) -> ComplaintCategory | None:
    category_id = _read_id(fields)
    label, department_id = fields.text("label"), fields.text("department")
    processing_days = fields.integer("processing_days", minimum=1, maximum=90)
    window = fields.integer("duplicate_window_hours", required=False, minimum=1, maximum=24 * 90)
    category = ComplaintCategory(
        id=category_id or "",
        label=label,
        department_id=department_id,
        synonyms=fields.texts("synonyms"),
        processing_days=processing_days or 0,
        petition_type=fields.text("petition_type", required=False),
        needs_photo=fields.flag("needs_photo"),
        needs_exact_location=fields.flag("needs_exact_location"),
        duplicate_window_hours=window,
    )
    return category if (category_id and label and department_id and processing_days) else None


def _parse_emergency(fields: FieldReader) -> EmergencyType | None:
    emergency_id = _read_id(fields)
    emergency = EmergencyType(
        id=emergency_id or "",
        label=fields.text("label"),
        synonyms=fields.texts("synonyms"),
        call_numbers=fields.texts("call_numbers", required=True),
        guidance=" ".join(fields.text("guidance").split()),
        department_id=fields.text("department"),
        agency_ids=fields.texts("agencies", required=True),
    )
    required = (
        emergency.id,
        emergency.label,
        emergency.call_numbers,
        emergency.guidance,
        emergency.department_id,
        emergency.agency_ids,
    )
    return emergency if all(required) else None


def _parse_district(fields: FieldReader) -> District | None:
    name = fields.text("name")
    dongs = fields.texts("dongs", required=True)
    for dong in dongs:
        if not dong.endswith("동") or any(char.isdigit() for char in dong):
            fields.error(f"dong '{dong}' must be a base name ending in 동 without numbers (주엽동, not 주엽1동)")
    if not name:
        return None
    return District(name=name, aliases=fields.texts("aliases"), dongs=dongs)


def _parse_profile(document: dict[str, Any], errors: list[str]) -> CityProfile | None:
    if not document:
        return None
    top = FieldReader(document, "city.yml", errors, allowed={"sample_data", "city", "complaints", "calendar"})
    city = top.nested("city", allowed={"id", "name", "name_en", "ticket_prefix", "timezone", "call_centre"})
    call_centre = city.nested("call_centre", allowed={"name", "phone", "hours"})
    complaints = top.nested("complaints", allowed={"duplicate_window_hours", "consent"})
    consent = complaints.nested("consent", allowed={"version", "purpose", "items", "retention"})
    calendar = FieldReader(document.get("calendar") or {}, "city.yml, calendar", errors, allowed={"extra_holidays"})

    prefix = city.text("ticket_prefix")
    if prefix and not TICKET_PREFIX_PATTERN.match(prefix):
        city.error(f"ticket_prefix '{prefix}' must be 2 to 5 capital letters")
    timezone = city.text("timezone")
    if timezone and not _is_timezone(timezone):
        city.error(f"unknown timezone '{timezone}'")
    profile = CityProfile(
        id=city.text("id"),
        name=city.text("name"),
        name_en=city.text("name_en", required=False),
        ticket_prefix=prefix,
        timezone=timezone,
        call_centre_name=call_centre.text("name"),
        call_centre_phone=call_centre.text("phone"),
        call_centre_hours=call_centre.text("hours", required=False),
        duplicate_window_hours=complaints.integer("duplicate_window_hours", maximum=24 * 90) or 0,
        consent=ConsentText(
            version=consent.text("version"),
            purpose=consent.text("purpose"),
            items=consent.text("items"),
            retention=consent.text("retention"),
        ),
        extra_holidays=_parse_dates(calendar, "extra_holidays"),
    )
    return profile


def _parse_dates(fields: FieldReader, key: str) -> tuple:
    dates = []
    for value in fields.texts(key):
        try:
            dates.append(date.fromisoformat(value))
        except ValueError:
            fields.error(f"'{value}' in {key} is not a date like 2026-05-01")
    return tuple(dates)


def _is_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


# --- cross-references ----------------------------------------------------------------------------


def _check_districts(districts: dict[str, District], errors: list[str]) -> None:
    seen: dict[str, str] = {}
    for district in districts.values():
        for name in (district.name, *district.aliases, *district.dongs):
            compact = name.replace(" ", "")
            if compact in seen and seen[compact] != district.name:
                errors.append(f"districts.yml: '{name}' is listed for both {seen[compact]} and {district.name}")
            seen[compact] = district.name


def _check_references(
    departments: dict[str, Department],
    agencies: dict[str, Agency],
    categories: dict[str, ComplaintCategory],
    emergencies: dict[str, EmergencyType],
    districts: dict[str, District],
    errors: list[str],
) -> None:
    for agency in agencies.values():
        for district in agency.districts:
            if district not in districts:
                errors.append(f"agencies.yml: agency '{agency.id}' covers unknown district '{district}'")
    for category in categories.values():
        if category.department_id not in departments:
            errors.append(
                f"complaint_categories.yml: category '{category.id}' names unknown "
                f"department '{category.department_id}'"
            )
    for emergency in emergencies.values():
        if emergency.department_id not in departments:
            errors.append(
                f"emergency_types.yml: emergency type '{emergency.id}' names unknown "
                f"department '{emergency.department_id}'"
            )
        for agency_id in emergency.agency_ids:
            if agency_id not in agencies:
                errors.append(
                    f"emergency_types.yml: emergency type '{emergency.id}' names unknown agency '{agency_id}'"
                )


def _check_contract_values(filename: str, kind: str, required: tuple, present: set, errors: list[str]) -> None:
    missing = [value for value in required if value not in present]
    if missing and present:
        errors.append(
            f"{filename}: no {kind} for NLU value(s) {', '.join(missing)}; "
            f"every value the bot can recognise must be routed"
        )


def _unused_department_warnings(
    departments: dict[str, Department], categories: dict[str, ComplaintCategory], emergencies: dict[str, EmergencyType]
) -> list[str]:
    used = {category.department_id for category in categories.values()}
    used |= {emergency.department_id for emergency in emergencies.values()}
    return [
        f"departments.yml: department '{department_id}' receives no category or emergency"
        for department_id in departments
        if department_id not in used
    ]
