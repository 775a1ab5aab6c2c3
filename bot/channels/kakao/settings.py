"""Settings of the Kakao channel, read from its section in ``credentials.yml``.

```yaml
bot.channels.kakao.KakaoInput:
  secret_header: X-Sotong-Secret        # header Open Builder sends (skill settings → headers)
  secret: ${KAKAO_SKILL_SECRET}         # required, non-empty
  callback_threshold_seconds: 3.5       # answer (or defer) after this long; must be < 5
  turn_timeout_seconds: 55              # a turn running longer is abandoned
  callback_timeout_seconds: 10          # per callback POST
  callback_attempts: 2                  # callback POST tries
  callback_allowed_hosts: []            # hosts a callbackUrl may name; empty = Kakao's (KAKAO_CALLBACK_HOSTS)
  callback_allow_http: false            # true also allows http:// callback URLs (tests)
  callback_allow_private_networks: false  # true allows loopback/private addresses (local tests only)
  max_body_bytes: 65536                 # larger requests → 413
  max_utterance_chars: 2000             # longer utterances → polite "please shorten"
  max_nesting_depth: 32                 # deeper JSON → 400 (checked before parsing)
  continuation_ttl_seconds: 600         # how long "더 보기"/"답변 보기" answers are kept
  continuation_store_url: ""            # "" = this process's memory; redis://host:6379/1 = shared
  max_concurrent_turns: 4               # turns run at once; more wait in arrival order (0 = no limit)
```

``continuation_store_url`` defaults to the environment variable ``SOTONG_KAKAO_CONTINUATIONS_URL``
(the production profile sets it), so that one ``credentials.yml`` serves both profiles.

``max_concurrent_turns`` keeps the process responsive when it is saturated: Rasa runs NLU and
policies inside the event loop, so with every waiting turn running at once the 5-second guard's
timer could only fire after all of them had taken a step. Waiting turns wait without using CPU,
and the guard answers on time.
"""

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from bot.channels.kakao.continuations import REDIS_URL_SCHEMES
from bot.channels.limits import MAX_BODY_BYTES, MAX_NESTING_DEPTH, MAX_UTTERANCE_CHARS, RequestLimits
from bot.settings import env_str, parse_bool

KAKAO_TIME_LIMIT_SECONDS = 5.0
# Where Open Builder's single-use callback URLs point (AI chatbot callback guide; e.g.
# https://bot-api.kakao.com/v1/bots/<bot id>/callback/<token>). A callbackUrl naming any other
# host is not used unless ``callback_allowed_hosts`` says otherwise.
KAKAO_CALLBACK_HOSTS: tuple[str, ...] = ("bot-api.kakao.com",)
CONTINUATIONS_URL_VARIABLE = "SOTONG_KAKAO_CONTINUATIONS_URL"


class KakaoSettingsError(ValueError):
    """A setting in the channel's credentials section is missing or invalid."""


@dataclass(frozen=True)
class KakaoChannelSettings:
    secret: str
    secret_header: str = "X-Sotong-Secret"
    callback_threshold_seconds: float = 3.5
    turn_timeout_seconds: float = 55.0
    callback_timeout_seconds: float = 10.0
    callback_attempts: int = 2
    callback_allowed_hosts: tuple[str, ...] = ()
    callback_allow_http: bool = False
    callback_allow_private_networks: bool = False
    max_body_bytes: int = MAX_BODY_BYTES
    max_utterance_chars: int = MAX_UTTERANCE_CHARS
    max_nesting_depth: int = MAX_NESTING_DEPTH
    continuation_ttl_seconds: float = 600.0
    continuation_store_url: str = ""
    max_concurrent_turns: int = 4

    def __post_init__(self) -> None:
        if not isinstance(self.secret, str) or not self.secret.strip():
            raise KakaoSettingsError("the Kakao channel needs a non-empty 'secret' (set KAKAO_SKILL_SECRET)")
        if not isinstance(self.secret_header, str) or not self.secret_header.strip():
            raise KakaoSettingsError("'secret_header' must be a header name")
        if not 0 < self.callback_threshold_seconds < KAKAO_TIME_LIMIT_SECONDS:
            raise KakaoSettingsError(
                f"'callback_threshold_seconds' must be between 0 and {KAKAO_TIME_LIMIT_SECONDS} seconds"
            )
        if self.turn_timeout_seconds < self.callback_threshold_seconds:
            raise KakaoSettingsError("'turn_timeout_seconds' must not be below 'callback_threshold_seconds'")
        for name in ("callback_timeout_seconds", "continuation_ttl_seconds"):
            if getattr(self, name) <= 0:
                raise KakaoSettingsError(f"'{name}' must be positive")
        for name in ("callback_attempts", "max_body_bytes", "max_utterance_chars", "max_nesting_depth"):
            if getattr(self, name) < 1:
                raise KakaoSettingsError(f"'{name}' must be at least 1")
        if self.max_concurrent_turns < 0:
            raise KakaoSettingsError("'max_concurrent_turns' must be 0 (no limit) or more")
        redis_prefixes = tuple(f"{scheme}://" for scheme in REDIS_URL_SCHEMES)
        if self.continuation_store_url and not self.continuation_store_url.startswith(redis_prefixes):
            raise KakaoSettingsError("'continuation_store_url' must be empty (memory) or a redis:// URL")

    @property
    def callback_hosts(self) -> tuple[str, ...]:
        """The hosts a callbackUrl may name: the configured ones, or Kakao's."""
        return self.callback_allowed_hosts or KAKAO_CALLBACK_HOSTS

    @property
    def limits(self) -> RequestLimits:
        return RequestLimits(
            max_body_bytes=self.max_body_bytes,
            max_utterance_chars=self.max_utterance_chars,
            max_nesting_depth=self.max_nesting_depth,
        )

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> "KakaoChannelSettings":
        credentials = dict(credentials or {})
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(credentials) - set(known))
        if unknown:
            raise KakaoSettingsError(f"unknown Kakao channel setting(s): {', '.join(unknown)}")
        values = {}
        for name, value in credentials.items():
            if value is None:
                continue
            default = known[name].default
            try:
                if name == "callback_allowed_hosts":
                    if isinstance(value, str):
                        value = [value]
                    values[name] = tuple(str(h).strip().lower() for h in value if str(h).strip())
                elif isinstance(default, bool):
                    values[name] = parse_bool(name, value, default)
                elif isinstance(default, float):
                    values[name] = float(value)
                elif isinstance(default, int):
                    values[name] = int(value)
                else:
                    values[name] = str(value)
            except (TypeError, ValueError):
                raise KakaoSettingsError(f"Kakao channel setting '{name}' has an invalid value") from None
        if "continuation_store_url" not in values:
            values["continuation_store_url"] = env_str(CONTINUATIONS_URL_VARIABLE, "")
        if "secret" not in values:
            raise KakaoSettingsError("the Kakao channel needs a 'secret' (set KAKAO_SKILL_SECRET)")
        return cls(**values)
