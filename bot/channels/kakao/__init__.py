"""The Kakao i Open Builder skill channel: request parsing, reply rendering within Kakao's
limits, the 5-second guard and callback continuations.

`bot.channels.kakao.KakaoInput` (the name credentials.yml uses) is the channel class of
`bot.channels.kakao.channel`; it is imported on first use, so the channel's light modules
(texts, settings) do not pull in Rasa's server.
"""

from typing import Any

__all__ = ["KakaoInput"]


def __getattr__(name: str) -> Any:
    if name == "KakaoInput":
        from bot.channels.kakao.channel import KakaoInput

        return KakaoInput
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
