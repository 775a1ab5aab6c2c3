"""What every channel accepts before any parsing cost: bytes, nesting, Unicode, characters.

One mechanism for the Kakao skill route and the REST channel (and for JSON that travels inside
their strings, such as Kakao's ``clientExtra``):

* the body is read with a byte limit (``Content-Length`` and the streamed size), see
  :func:`read_body`;
* its nesting depth is measured by a linear scan before ``json.loads`` runs, so 100,000 ``[``
  cost one pass over the bytes instead of a ``RecursionError`` deep in the JSON decoder;
* it must be UTF-8, and no decoded string (key or value) may hold a lone surrogate such as
  ``"\\ud800"``: such text cannot be stored or encoded anywhere downstream;
* the channels then bound the user's text to ``max_utterance_chars``.

Every refusal is a :class:`RequestError` with an HTTP status, a stable code and a message that
says what is wrong; nothing else escapes these functions for any input.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from itertools import accumulate
from typing import Any

from sanic.request import Request

MAX_BODY_BYTES = 64 * 1024
MAX_UTTERANCE_CHARS = 2000
# Kakao's SkillPayload is about five levels deep; Rasa and the tracker store recurse over it.
MAX_NESTING_DEPTH = 32


class RequestError(Exception):
    """A request that cannot be served; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def to_json(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


def bad_request(code: str, message: str) -> RequestError:
    return RequestError(400, code, message)


@dataclass(frozen=True)
class RequestLimits:
    max_body_bytes: int = MAX_BODY_BYTES
    max_utterance_chars: int = MAX_UTTERANCE_CHARS
    max_nesting_depth: int = MAX_NESTING_DEPTH

    def __post_init__(self) -> None:
        for limit in fields(self):
            value = getattr(self, limit.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"'{limit.name}' must be a whole number of at least 1")

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> RequestLimits:
        """The limits named in a channel's credentials section (missing ones keep their default)."""
        values = {}
        for limit in fields(cls):
            value = settings.get(limit.name)
            if value is None:
                continue
            try:
                values[limit.name] = int(value)
            except (TypeError, ValueError):
                raise ValueError(f"'{limit.name}' must be a whole number of at least 1") from None
        return cls(**values)

    def too_large(self) -> RequestError:
        return RequestError(413, "body_too_large", f"the request body is larger than {self.max_body_bytes} bytes")


async def read_body(request: Request, limits: RequestLimits) -> bytes:
    """The body of a streamed Sanic request, refusing anything over ``max_body_bytes`` without
    reading it all (the declared ``Content-Length`` first, then the bytes as they arrive)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_body_bytes:
        raise limits.too_large()
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.stream.read()
        if chunk is None:
            break
        size += len(chunk)
        if size > limits.max_body_bytes:
            raise limits.too_large()
        chunks.append(chunk)
    return b"".join(chunks)


# A JSON string from its opening quote to its closing quote, or to the end of the text when it is
# not closed. The closing quote is optional so that a match never fails once it started: the
# scan stays linear even for unterminated strings full of escaped quotes.
_STRING_BYTES = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_STRING_TEXT = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
_BRACKETS_TEXT = re.compile(r"[\[\]{}]")


def nesting_depth(data: bytes | str) -> int:
    """The deepest ``[``/``{`` nesting of a JSON text, counted outside strings, in one linear pass.

    Meant for text that is then parsed: for malformed text the count may differ from any parse,
    which is harmless since the parser refuses that text anyway.
    """
    if isinstance(data, bytes):
        brackets = _STRING_BYTES.sub(b"", data).translate(None, _NOT_BRACKETS)
    else:
        brackets = "".join(_BRACKETS_TEXT.findall(_STRING_TEXT.sub("", data))).encode("ascii")
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


_SURROGATE = re.compile("[\ud800-\udfff]")


def holds_lone_surrogate(value: Any) -> bool:
    """Whether any string in a decoded JSON value (keys included) holds a lone surrogate.

    ``json.loads`` joins a valid ``\\ud83d\\ude00`` pair into one character, so any surrogate
    left in a decoded string is a lone one. Recursion is bounded by the nesting check.
    """
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(holds_lone_surrogate(k) or holds_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(holds_lone_surrogate(v) for v in value)
    return False


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: stored as Infinity, which strict JSON readers refuse
        raise ValueError(f"the number {text[:20]} is out of range")
    return value


def _too_deep(limits: RequestLimits) -> RequestError:
    return bad_request("too_deeply_nested", f"the JSON is nested deeper than {limits.max_nesting_depth} levels")


def _invalid_text() -> RequestError:
    return bad_request("invalid_text", "the request holds text that is not valid Unicode (a lone surrogate escape)")


def decode_json(body: bytes, limits: RequestLimits, what: str = "a JSON object") -> Any:
    """A request body as JSON after the size, nesting, encoding and Unicode checks.

    Raises :class:`RequestError` (400 or 413) saying what is wrong, and nothing else.
    """
    if len(body) > limits.max_body_bytes:
        raise limits.too_large()
    if not body.strip():
        raise bad_request("empty_body", f"the request body is empty; {what} is expected")
    if nesting_depth(body) > limits.max_nesting_depth:
        raise _too_deep(limits)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request("invalid_encoding", "the request body is not UTF-8") from None
    try:
        payload = json.loads(text, parse_constant=_no_constants, parse_float=_finite_float)
    except json.JSONDecodeError as error:
        raise bad_request(
            "malformed_json", f"the request body is not valid JSON: {error.msg} at position {error.pos}"
        ) from None
    except (ValueError, RecursionError) as error:  # e.g. a number with more digits than Python converts
        raise bad_request("malformed_json", f"the request body is not valid JSON: {str(error)[:120]}") from None
    if holds_lone_surrogate(payload):
        raise _invalid_text()
    return payload


def loads_embedded(text: str, max_depth: int = MAX_NESTING_DEPTH) -> Any:
    """JSON carried inside a string of an already checked request (Kakao's ``clientExtra``,
    block parameters). Raises ``ValueError`` for anything unusable: malformed, nested deeper
    than ``max_depth``, or decoding to a lone surrogate (escapes inside the string)."""
    if nesting_depth(text) > max_depth:
        raise ValueError(f"embedded JSON nested deeper than {max_depth} levels")
    try:
        value = json.loads(text, parse_constant=_no_constants, parse_float=_finite_float)
    except RecursionError:
        raise ValueError("embedded JSON nested too deeply") from None
    if holds_lone_surrogate(value):
        raise ValueError("embedded JSON holds a lone surrogate")
    return value


def check_rasa_payload(text: str, limits: RequestLimits) -> None:
    """Text that starts with ``/`` is a Rasa payload (``/intent{"entity": "value"}``) whose JSON
    part Rasa decodes itself: its nesting is bounded and it may not decode to a lone surrogate."""
    stripped = text.strip()
    if not stripped.startswith("/"):
        return
    if nesting_depth(stripped) > limits.max_nesting_depth:
        raise _too_deep(limits)
    start = stripped.find("{")
    if start < 0:
        return
    try:
        value, _ = json.JSONDecoder().raw_decode(stripped, start)
    except (ValueError, RecursionError):
        return  # Rasa ignores entities it cannot decode
    if holds_lone_surrogate(value):
        raise _invalid_text()


def check_utterance_length(text: str, limits: RequestLimits, field: str, error: type = RequestError) -> None:
    """Raises ``error`` (413, ``utterance_too_long``) when ``text`` is over ``max_utterance_chars``."""
    if len(text) > limits.max_utterance_chars:
        raise error(413, "utterance_too_long", f"'{field}' is longer than {limits.max_utterance_chars} characters")
