"""konlpy morphological analyzers, one shared instance per analyzer and process.

The JVM that konlpy needs is started once per process (the first analyzer asked for
starts it) and every call goes through a per-analyzer lock, so the analyzers can be
used from Rasa's event loop, the action server's thread pool and tests alike.
"""
from __future__ import annotations

import threading
from typing import Callable, Dict, List, Tuple

Morpheme = Tuple[str, str]  # (surface or base form, POS tag)

SUPPORTED_ANALYZERS = ("okt", "komoran", "kkma", "hannanum", "mecab")


class AnalyzerUnavailable(RuntimeError):
    """The configured analyzer cannot be loaded on this machine."""


class _LockedAnalyzer:
    """Serialises calls into one konlpy analyzer instance."""

    def __init__(self, name: str, pos: Callable[[str], List[Morpheme]]) -> None:
        self.name = name
        self._pos = pos
        self._lock = threading.Lock()

    def pos(self, text: str) -> List[Morpheme]:
        with self._lock:
            return [(str(m), str(t)) for m, t in self._pos(text)]


_instances: Dict[str, _LockedAnalyzer] = {}
_instances_lock = threading.Lock()


def _build(name: str) -> Callable[[str], List[Morpheme]]:
    from konlpy import tag

    if name == "okt":
        okt = tag.Okt()
        # norm/stem off: we want surface forms we can find in the original text.
        return lambda text: okt.pos(text, norm=False, stem=False)
    if name == "komoran":
        return tag.Komoran().pos
    if name == "kkma":
        return tag.Kkma().pos
    if name == "hannanum":
        return tag.Hannanum().pos
    if name == "mecab":
        try:
            return tag.Mecab().pos
        except Exception as error:  # konlpy raises several kinds here
            raise AnalyzerUnavailable(
                "Mecab is not installed (needs mecab-ko, mecab-ko-dic and "
                f"mecab-python): {error}"
            ) from error
    raise AnalyzerUnavailable(
        f"Unknown analyzer '{name}'. Choose one of: {', '.join(SUPPORTED_ANALYZERS)}."
    )


def get_analyzer(name: str) -> _LockedAnalyzer:
    """Returns the process-wide analyzer `name`, creating it (and the JVM) once."""
    key = name.lower()
    with _instances_lock:
        if key not in _instances:
            try:
                _instances[key] = _LockedAnalyzer(key, _build(key))
            except AnalyzerUnavailable:
                raise
            except Exception as error:
                raise AnalyzerUnavailable(
                    f"Analyzer '{key}' could not start (is Java installed?): {error}"
                ) from error
        return _instances[key]
