"""What the console's routes work with, built once per process: database sessions, the city data
(reloadable by an admin), the ticket store, the desk (changes), queries, dashboard figures."""
from __future__ import annotations

import asyncio
import threading
from typing import Callable, Optional, TypeVar

from jinja2 import Environment
from sqlalchemy.orm import sessionmaker

from bot.city import get_city_config, load_city_config
from bot.city.loader import default_data_dir
from bot.city.models import CityConfig
from bot.staff.dashboard import DashboardFigures
from bot.staff.settings import StaffSettings
from bot.staff.ticket_actions import TicketDesk
from bot.staff.ticket_queries import TicketQueries
from bot.staff.web.rendering import make_environment
from bot.subscriptions.event_api import EventApiSettings
from bot.tickets.store import TicketStore, open_database
import bot.staff.schema  # noqa: F401  (every table the console uses, for create_schema)

T = TypeVar("T")


class StaffServices:
    def __init__(self, settings: StaffSettings, database_url: Optional[str] = None,
                 config: Optional[CityConfig] = None):
        self.settings = settings
        self.sessions: sessionmaker = open_database(database_url)
        self._config = config or get_city_config()
        self.templates: Environment = make_environment(self._config.profile.timezone)
        self._lock = threading.Lock()
        self.ticket_store = TicketStore(self.sessions, self._config)
        self.desk = TicketDesk(self.sessions, self.config)
        self.queries = TicketQueries(self.sessions, self.config)
        self.dashboard = DashboardFigures(self.sessions, self.config)

    def config(self) -> CityConfig:
        return self._config

    @staticmethod
    def event_api_configured() -> bool:
        return not EventApiSettings.from_env().problems()

    def reload_city_data(self) -> CityConfig:
        """Read data/city again (CityDataError, and nothing changes, when it is invalid). New
        tickets filed through Open311 and transfers use the new routing at once; the chat's action
        server and the dispatcher read the files when they restart."""
        config = load_city_config(default_data_dir())
        with self._lock:
            self._config = config
            self.ticket_store = TicketStore(self.sessions, config)
        get_city_config.cache_clear()
        return config


async def blocking(function: Callable[..., T], *args, **kwargs) -> T:
    """Run database work (and password hashing) off the event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)
