"""The action server with personal data masked in its logs, without CORS.

    python -m bot.rasa_ext.action_server --actions actions --port 5055     # same arguments as `rasa run actions`

`rasa run actions` configures logging itself and then imports the actions; a citizen's phone
number in an action's log line (or in a traceback) would reach the log unmasked. This entry
point installs the record-level masking of bot.privacy.log_masking first and then hands over to rasa_sdk's
own main, so everything else is exactly `rasa run actions`.

rasa_sdk always wraps its app in Sanic-CORS, for browsers calling the action server. Only Rasa
calls ours, on loopback or behind nginx, so the CORS middleware (a response middleware and header
matching on every action call) is left out; `--cors` is then refused rather than ignored.

Only Rasa may call it: every request except `GET /health` must carry the header
`X-Sotong-Action-Secret` with the secret in SOTONG_ACTION_SECRET (Rasa sends it: endpoints.yml,
`action_endpoint.headers`). It is compared in constant time before the body is parsed or any
action runs; a request without it, or with another value, gets 401 and touches nothing. Without
a secret the server refuses to start, unless SOTONG_ACTIONS_INSECURE=1 (development only).
It listens on 127.0.0.1 unless SANIC_HOST says otherwise (rasa_sdk's setting).
"""

from __future__ import annotations

import hmac
import os
import sys
from typing import Any

from bot.privacy.log_masking import install_record_masking
from bot.settings import env_bool, env_str

SECRET_HEADER = "X-Sotong-Action-Secret"
SECRET_ENV = "SOTONG_ACTION_SECRET"
INSECURE_ENV = "SOTONG_ACTIONS_INSECURE"
MIN_SECRET_LENGTH = 16
OPEN_PATHS = frozenset({"/health"})


def action_secret() -> str | None:
    """The shared secret from the environment; None only when SOTONG_ACTIONS_INSECURE=1."""
    secret = env_str(SECRET_ENV, "")
    if secret:
        if len(secret) < MIN_SECRET_LENGTH:
            raise SystemExit(f"{SECRET_ENV} is too short: use at least {MIN_SECRET_LENGTH} random characters")
        return secret
    if env_bool(INSECURE_ENV, False):
        return None
    raise SystemExit(
        f"bot.rasa_ext.action_server needs {SECRET_ENV} (the secret Rasa sends in {SECRET_HEADER}; "
        f"`make run` generates one into var/action_secret). For development only, "
        f"{INSECURE_ENV}=1 starts it without one."
    )


def require_secret(app: Any, secret: str) -> None:
    """A request middleware on `app` answering 401 to any request without the secret header."""
    from sanic import response

    expected = secret.encode("utf-8")

    async def check_secret(request: Any) -> Any:
        if request.path in OPEN_PATHS:
            return None
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogatepass")
        if hmac.compare_digest(given, expected):
            return None
        return response.json({"error": "unauthorized"}, status=401)

    app.register_middleware(check_secret, "request")


def configure_rasa_sdk(secret: str | None) -> None:
    """Hooks into rasa_sdk's create_app (it calls configure_cors right after making the app):
    no CORS, and the secret check when there is a secret."""
    import rasa_sdk.endpoint

    def configure(app: Any, cors_origins: Any = None) -> None:
        if cors_origins not in (None, "", "*", []):
            raise SystemExit("bot.rasa_ext.action_server serves Rasa only: --cors is not supported")
        if secret is not None:
            require_secret(app, secret)

    rasa_sdk.endpoint.configure_cors = configure


def main() -> None:
    install_record_masking()
    secret = action_secret()
    os.environ.setdefault("SANIC_HOST", "127.0.0.1")
    configure_rasa_sdk(secret)
    import rasa_sdk.__main__

    rasa_sdk.__main__.main()


if __name__ == "__main__":
    sys.exit(main())
