"""The Rasa server's entry point: Sotong's patches of Rasa first, then Rasa's own command line.

    python -m bot.server run --model models/x.tar.gz --enable-api --endpoints endpoints.yml ...

takes exactly the arguments of the `rasa` command (`run`, `shell`, `train`, ...: everything after
`bot.server` is handed to Rasa's CLI as is). Before Rasa parses them it calls
bot.rasa_ext.install(), which checks that the installed Rasa is a version the patches were
verified with and applies every patch of bot/rasa_ext (log masking, speed-ups, strict fail-safe,
failed-turn detection), whatever tracker and lock stores the endpoints file names. On an
unverified Rasa version it refuses to start with a message saying what to do; setting
SOTONG_RASA_UNVERIFIED_OK=1 starts it anyway (development only).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    from bot.rasa_ext import UnverifiedRasaVersion, install
    from bot.settings import SettingsError

    try:
        install()
    except (UnverifiedRasaVersion, SettingsError) as error:
        raise SystemExit(f"bot.server: {error}") from None
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *(sys.argv[1:] if argv is None else argv)]
    rasa_main()


if __name__ == "__main__":
    main()
