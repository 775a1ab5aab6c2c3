"""City data: departments, agencies, complaint categories, emergency types and districts.

`get_city_config()` loads data/city/ (or SOTONG_CITY_DATA_DIR) on first use, raising CityDataError
with every problem listed when the data is invalid, and renews it within a few seconds when the
files change (bot/city/live.py; a broken change keeps the last good data).
"""

from __future__ import annotations

from bot.city.live import CITY_DATA, CityDataStatus, follows_city_config, get_city_config
from bot.city.loader import CityDataError, default_data_dir, load_city_config
from bot.city.models import (
    EMAIL,
    HTTP,
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

__all__ = [
    "CITY_DATA",
    "EMAIL",
    "HTTP",
    "Agency",
    "CityConfig",
    "CityDataError",
    "CityDataStatus",
    "CityProfile",
    "ComplaintCategory",
    "ConsentText",
    "Department",
    "District",
    "EmergencyType",
    "SendTarget",
    "WorkingHours",
    "default_data_dir",
    "follows_city_config",
    "get_city_config",
    "load_city_config",
]
