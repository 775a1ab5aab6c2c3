"""Imports every table the staff console and the Open311 API use, so that `create_schema` (called
by `open_database`) creates the missing ones."""

import bot.budget.tables  # noqa: F401
import bot.delivery.outbox  # noqa: F401
import bot.staff.accounts  # noqa: F401
import bot.staff.audit  # noqa: F401
import bot.staff.login_throttle  # noqa: F401
import bot.staff.open311.keys  # noqa: F401
import bot.staff.sessions  # noqa: F401
import bot.staff.ticket_records  # noqa: F401
import bot.subscriptions.models  # noqa: F401
import bot.tickets.models  # noqa: F401
import bot.tickets.notices  # noqa: F401
