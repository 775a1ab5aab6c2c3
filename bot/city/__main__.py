"""`python -m bot.city validate [--data-dir DIR]`: check the city data files, exit 1 on errors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.city.live import content_version
from bot.city.loader import CityDataError, default_data_dir, load_city_config


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.city", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="validate the city data files")
    validate.add_argument("--data-dir", default=None, help=f"default: {default_data_dir()}")
    args = parser.parse_args(argv)

    data_dir = args.data_dir or default_data_dir()
    try:
        config = load_city_config(data_dir)
    except CityDataError as error:
        print(f"{data_dir}: {error}", file=sys.stderr)
        return 1
    for warning in config.warnings:
        print(f"warning: {warning}")
    print(
        f"{data_dir}: OK — {len(config.departments)} departments, {len(config.agencies)} agencies, "
        f"{len(config.complaint_categories)} complaint categories, "
        f"{len(config.emergency_types)} emergency types, {len(config.districts)} districts "
        f"(version {content_version(Path(data_dir))})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
