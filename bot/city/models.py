"""Typed, read-only view of the city data in data/city/ (see loader.py for validation)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time

HTTP = "http"
EMAIL = "email"
SEND_METHODS = (HTTP, EMAIL)


@dataclass(frozen=True)
class SendTarget:
    """Where and how a department or agency receives ticket documents."""

    method: str  # HTTP or EMAIL
    destination: str  # URL for HTTP, e-mail address for EMAIL


@dataclass(frozen=True)
class WorkingHours:
    """Weekday office hours of a department."""

    opens: time
    closes: time

    def describe(self) -> str:
        return f"평일 {self.opens:%H:%M}-{self.closes:%H:%M}"


@dataclass(frozen=True)
class Department:
    id: str
    name: str
    phone: str
    working_hours: WorkingHours
    send: SendTarget


@dataclass(frozen=True)
class Agency:
    """An outside body alerted by the emergency hotline fan-out."""

    id: str
    name: str
    kind: str
    phone: str
    send: SendTarget
    districts: tuple[str, ...] = ()  # empty: covers the whole city

    def covers(self, district: str | None) -> bool:
        """True when the agency should be alerted for an emergency in this district."""
        return not self.districts or district is None or district in self.districts


@dataclass(frozen=True)
class ComplaintCategory:
    id: str
    label: str
    department_id: str
    synonyms: tuple[str, ...]
    processing_days: int
    petition_type: str
    needs_photo: bool
    needs_exact_location: bool
    duplicate_window_hours: int | None = None  # None: the city default


@dataclass(frozen=True)
class EmergencyType:
    id: str
    label: str
    synonyms: tuple[str, ...]
    call_numbers: tuple[str, ...]
    guidance: str
    department_id: str
    agency_ids: tuple[str, ...]


@dataclass(frozen=True)
class District:
    name: str
    aliases: tuple[str, ...]
    dongs: tuple[str, ...]


@dataclass(frozen=True)
class ConsentText:
    """The 개인정보 수집·이용 동의 shown to citizens (purpose, items, retention) and its version."""

    version: str
    purpose: str
    items: str
    retention: str


@dataclass(frozen=True)
class CityProfile:
    id: str
    name: str
    name_en: str
    ticket_prefix: str
    timezone: str
    call_centre_name: str
    call_centre_phone: str
    call_centre_hours: str
    duplicate_window_hours: int
    consent: ConsentText
    extra_holidays: tuple[date, ...] = ()


@dataclass(frozen=True)
class CityConfig:
    """Everything a city configures, validated and cross-referenced."""

    profile: CityProfile
    departments: Mapping[str, Department]
    agencies: Mapping[str, Agency]
    complaint_categories: Mapping[str, ComplaintCategory]
    emergency_types: Mapping[str, EmergencyType]
    districts: tuple[District, ...]
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def department_for_category(self, category_id: str) -> Department:
        return self.departments[self.complaint_categories[category_id].department_id]

    def duplicate_window_hours(self, category_id: str) -> int:
        override = self.complaint_categories[category_id].duplicate_window_hours
        return override if override is not None else self.profile.duplicate_window_hours

    def agencies_to_alert(self, emergency_type_id: str, district: str | None) -> tuple[Agency, ...]:
        emergency = self.emergency_types[emergency_type_id]
        candidates = (self.agencies[agency_id] for agency_id in emergency.agency_ids)
        return tuple(agency for agency in candidates if agency.covers(district))
