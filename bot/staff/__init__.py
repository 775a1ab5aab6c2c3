"""The staff console and the Open311 GeoReport v2 API (a Sanic app on the tickets database).

    python -m bot.staff serve --port 8000
    python -m bot.staff users add --username kim --role staff --department road_management

Modules that do not need Sanic (accounts, audit log, citizen notices, ticket work, dashboard
figures) can be imported by the action server and tools: the web layer lives in bot.staff.web and
bot.staff.open311 only. The chat's status lookup calls
`bot.tickets.notices.take_pending_notices` (see there).
"""
