"""City data: departments, agencies, complaint categories, emergency types and districts.

`get_city_config()` loads data/city/ once per process (or SOTONG_CITY_DATA_DIR) and raises
CityDataError with every problem listed when the data is invalid.
"""
from __future__ import annotations

from functools import lru_cache

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


@lru_cache(maxsize=None)
def get_city_config() -> CityConfig:
    """The validated city data of this process (loaded on first use)."""
    return load_city_config(default_data_dir())


__all__ = [
    "EMAIL", "HTTP", "Agency", "CityConfig", "CityDataError", "CityProfile", "ComplaintCategory",
    "ConsentText", "Department", "District", "EmergencyType", "SendTarget", "WorkingHours",
    "default_data_dir", "get_city_config", "load_city_config",
]
