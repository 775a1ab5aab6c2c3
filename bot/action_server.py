"""The action server with personal data masked in its logs.

    python -m bot.action_server --actions actions --port 5055     # same arguments as `rasa run actions`

`rasa run actions` configures logging itself and then imports the actions; a citizen's phone
number in an action's log line (or in a traceback) would reach the log unmasked. This entry
point installs the record-level masking of bot.log_masking first and then hands over to rasa_sdk's
own main, so everything else is exactly `rasa run actions`.
"""
from __future__ import annotations

from bot.log_masking import install_record_masking


def main() -> None:
    install_record_masking()
    import rasa_sdk.__main__

    rasa_sdk.__main__.main()


if __name__ == "__main__":
    main()
