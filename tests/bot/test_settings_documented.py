"""config/sotong.env.example documents every environment variable Sotong reads: a SOTONG_* name used
in the code, scripts or configuration must be listed there, and a name listed there must still be
used (issue 15 point 5)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "sotong.env.example"
SCANNED_DIRS = ("bot", "actions", "scripts", "bench", "config")
SCANNED_SUFFIXES = {".py", ".sh", ".yml", ".yaml", ".example", ".env", ".html", ".j2", ".md", ".txt", ".conf", ""}
SOTONG_NAME = re.compile(r"\bSOTONG_[A-Z0-9_]+")
DOCUMENTED = re.compile(r"^#([A-Z][A-Z0-9_]*)=", re.MULTILINE)


def scanned_files() -> Iterator[Path]:
    """The code, scripts and configuration: bot/, actions/, scripts/, bench/, config/, the Makefile
    and the top-level YAML files (the example itself excepted)."""
    yield ROOT / "Makefile"
    yield from sorted(ROOT.glob("*.yml"))
    for directory in SCANNED_DIRS:
        for path in sorted((ROOT / directory).rglob("*")):
            if (
                path.is_file()
                and path.suffix in SCANNED_SUFFIXES
                and "__pycache__" not in path.parts
                and path != EXAMPLE
            ):
                yield path


def scanned_texts() -> dict[Path, str]:
    return {path: path.read_text(encoding="utf-8", errors="replace") for path in scanned_files()}


def used_sotong_names(texts: dict[Path, str]) -> dict[str, Path]:
    """SOTONG_* name → the first file naming it; prefixes written as SOTONG_STAFF_* are not names."""
    names: dict[str, Path] = {}
    for path, text in texts.items():
        for name in SOTONG_NAME.findall(text):
            if not name.endswith("_"):
                names.setdefault(name, path)
    return names


def documented_names() -> set[str]:
    return set(DOCUMENTED.findall(EXAMPLE.read_text(encoding="utf-8")))


def test_every_sotong_variable_in_use_is_documented():
    used = used_sotong_names(scanned_texts())
    missing = sorted(set(used) - documented_names())
    assert not missing, "add to config/sotong.env.example (# meaning, then #NAME=default):\n" + "\n".join(
        f"  {name}  (used in {used[name].relative_to(ROOT)})" for name in missing
    )


def test_every_documented_variable_is_still_used():
    texts = scanned_texts()
    unused = sorted(
        name for name in documented_names() if not any(re.search(rf"\b{name}\b", text) for text in texts.values())
    )
    assert not unused, "no longer read anywhere; remove from config/sotong.env.example: " + ", ".join(unused)


def test_each_documented_variable_is_listed_once_with_a_comment():
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    seen: set[str] = set()
    for number, line in enumerate(lines):
        match = DOCUMENTED.match(line)
        if not match:
            continue
        name = match.group(1)
        assert name not in seen, f"{name} is listed twice"
        seen.add(name)
        above = number - 1
        while above >= 0 and DOCUMENTED.match(lines[above]):  # a group of variables shares one comment
            above -= 1
        assert above >= 0 and lines[above].startswith("# "), f"{name} has no comment above it"


def test_the_scan_finds_names_in_python_shell_and_yaml():
    """The scan itself: names read by Python, by the shell scripts and by endpoints' ${...}."""
    used = used_sotong_names(scanned_texts())
    assert {"SOTONG_STAFF_COOKIE_SECURE", "SOTONG_RETENTION_EVERY_HOURS", "SOTONG_TRACKER_DB_HOST"} <= set(used)
    assert "SOTONG_STAFF_" not in used and "SOTONG_STAFF" not in used
