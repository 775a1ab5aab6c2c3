"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2) over the tickets store.

Service codes are the city's complaint categories; a request filed through the API becomes a ticket
through TicketStore, so routing, the outbox and deadlines apply as for a chat complaint. The Sanic
routes are in bot.staff.open311.api; the rest needs no web framework.
"""
