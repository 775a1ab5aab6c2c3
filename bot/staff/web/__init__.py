"""The staff console's Sanic app (create_app in app.py) and its routes."""
