"""What the console's routes work with, built once per process: database sessions, the city data
(renewed when data/city changes, checked at once by an admin's reload), the ticket store, the desk
(changes), queries, dashboard figures."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from jinja2 import Environment
from sqlalchemy.orm import sessionmaker

import bot.staff.schema  # noqa: F401  (every table the console uses, for create_schema)
from bot.city import CITY_DATA, CityDataStatus, follows_city_config, get_city_config
from bot.city.models import CityConfig
from bot.staff.dashboard import DashboardFigures
from bot.staff.settings import StaffSettings
from bot.staff.ticket_actions import TicketDesk
from bot.staff.ticket_queries import TicketQueries
from bot.staff.web.rendering import make_environment
from bot.subscriptions.event_api import EventApiSettings
from bot.tickets.store import TicketStore, open_database

T = TypeVar("T")


class StaffServices:
    def __init__(self, settings: StaffSettings, database_url: str | None = None, config: CityConfig | None = None):
        self.settings = settings
        self.sessions: sessionmaker = open_database(database_url)
        self._fixed_config = config  # tests; normally the city data as it is now
        self.templates: Environment = make_environment(self.config().profile.timezone)
        self._ticket_store = follows_city_config(
            lambda city, _previous: TicketStore(self.sessions, city), source=self.config
        )
        self.desk = TicketDesk(self.sessions, self.config)
        self.queries = TicketQueries(self.sessions, self.config)
        self.dashboard = DashboardFigures(self.sessions, self.config)

    def config(self) -> CityConfig:
        return self._fixed_config or get_city_config()

    @property
    def ticket_store(self) -> TicketStore:
        """Files Open311 requests with the routing of the city data as it is now."""
        return self._ticket_store()

    @staticmethod
    def event_api_configured() -> bool:
        return not EventApiSettings.from_env().problems()

    @staticmethod
    def reload_city_data() -> CityConfig:
        """Look at data/city now (CityDataError listing the problems when it is invalid; the last
        good data stays in use). The console uses new data at once; the action servers and the
        dispatcher notice the change by themselves within SOTONG_CITY_RELOAD_SECONDS."""
        return CITY_DATA.refresh()

    @staticmethod
    def city_data_status() -> CityDataStatus | None:
        """Which city data this console uses (version, load time, refused newer files)."""
        return CITY_DATA.status()


async def blocking(function: Callable[..., T], *args, **kwargs) -> T:
    """Run database work (and password hashing) off the event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)
