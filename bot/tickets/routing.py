"""Who receives a ticket: the category's department, or for an emergency its department and the
agencies of the hotline fan-out. Pure functions of the city data."""

from __future__ import annotations

from dataclasses import dataclass

from bot.city.models import CityConfig, SendTarget

DEPARTMENT = "department"
AGENCY = "agency"


@dataclass(frozen=True)
class Recipient:
    kind: str  # DEPARTMENT or AGENCY
    id: str
    name: str
    send: SendTarget


def complaint_recipients(config: CityConfig, category_id: str) -> tuple[Recipient, ...]:
    department = config.department_for_category(category_id)
    return (Recipient(DEPARTMENT, department.id, department.name, department.send),)


def emergency_recipients(config: CityConfig, emergency_type_id: str, district: str | None) -> tuple[Recipient, ...]:
    emergency = config.emergency_types[emergency_type_id]
    department = config.departments[emergency.department_id]
    agencies = config.agencies_to_alert(emergency_type_id, district)
    return (
        Recipient(DEPARTMENT, department.id, department.name, department.send),
        *(Recipient(AGENCY, agency.id, agency.name, agency.send) for agency in agencies),
    )
