"""The action server with personal data masked in its logs, without CORS.

    python -m bot.action_server --actions actions --port 5055     # same arguments as `rasa run actions`

`rasa run actions` configures logging itself and then imports the actions; a citizen's phone
number in an action's log line (or in a traceback) would reach the log unmasked. This entry
point installs the record-level masking of bot.log_masking first and then hands over to rasa_sdk's
own main, so everything else is exactly `rasa run actions`.

rasa_sdk always wraps its app in Sanic-CORS, for browsers calling the action server. Only Rasa
calls ours, on loopback or behind nginx, so the CORS middleware (a response middleware and header
matching on every action call) is left out; `--cors` is then refused rather than ignored.
"""
from __future__ import annotations

import sys

from bot.log_masking import install_record_masking


def _without_cors(_app, cors_origins=None) -> None:
    if cors_origins not in (None, "", "*", []):
        raise SystemExit("bot.action_server serves Rasa only: --cors is not supported")


def leave_out_cors() -> None:
    import rasa_sdk.endpoint

    rasa_sdk.endpoint.configure_cors = _without_cors


def main() -> None:
    install_record_masking()
    leave_out_cors()
    import rasa_sdk.__main__

    rasa_sdk.__main__.main()


if __name__ == "__main__":
    sys.exit(main())
