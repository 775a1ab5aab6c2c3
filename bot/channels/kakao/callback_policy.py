"""Where the Kakao channel may POST a late answer: Open Builder's callback host, nowhere else.

A ``callbackUrl`` comes from the request body, so without a policy anyone who can reach the
skill route could make the server POST to any address it can reach (the action server on
loopback, a cloud metadata service, the office network). :class:`CallbackPolicy` allows:

* ``https`` only (``allow_http`` adds ``http``, for local tests);
* hosts in ``allowed_hosts`` or below them (Kakao's callback host by default, see
  ``settings.KAKAO_CALLBACK_HOSTS``);
* public addresses only: loopback, private, shared (CGNAT), link-local (including the metadata
  address 169.254.169.254), multicast, reserved and unspecified addresses are refused, for
  IP literals at parse time and for names after DNS resolution right before the POST
  (``allow_private_networks`` lifts this, for tests against a local receiver).

:class:`CheckedResolver` is the resolver of the connection that POSTs: it drops every refused
address from the DNS answer, so the connection goes to an address that was checked, even if the
name resolves differently a moment later.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver
from aiohttp.resolver import DefaultResolver

from bot.channels.kakao.settings import KAKAO_CALLBACK_HOSTS


def public_address(address: str) -> bool:
    """Whether an IP address (text) is a public unicast address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is not None:
            ip = embedded
    return ip.is_global and not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified
    )


def _ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]").split("%", 1)[0]))
    except ValueError:
        return None


@dataclass(frozen=True)
class CallbackPolicy:
    allowed_hosts: tuple[str, ...] = KAKAO_CALLBACK_HOSTS
    allow_http: bool = False
    allow_private_networks: bool = False

    def address_allowed(self, address: str) -> bool:
        return self.allow_private_networks or public_address(address)

    def refusal(self, url: str) -> str | None:
        """Why ``url`` may not be used as a callback URL (``None`` when it may). No DNS."""
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").rstrip(".")
            _ = parts.port  # raises ValueError for a port that is not a number or out of range
        except ValueError:
            return "not a URL"
        schemes = ("https", "http") if self.allow_http else ("https",)
        if parts.scheme not in schemes:
            return f"scheme must be {' or '.join(schemes)}"
        if not host:
            return "no host"
        if not any(host == allowed or host.endswith("." + allowed) for allowed in self.allowed_hosts):
            return "host not allowed"
        literal = _ip_literal(host)
        if literal is not None and not self.address_allowed(literal):
            return "address not allowed"
        return None

    async def resolved_refusal(self, url: str) -> str | None:
        """:meth:`refusal`, then the host's DNS answer: refused when any address is not allowed."""
        reason = self.refusal(url)
        if reason is not None:
            return reason
        parts = urlsplit(url)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                parts.hostname, parts.port or 443, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError):
            return "host does not resolve"
        addresses = {info[4][0] for info in infos}
        if not addresses or not all(self.address_allowed(address) for address in addresses):
            return "host resolves to an address that is not allowed"
        return None


class CheckedResolver(AbstractResolver):
    """aiohttp resolver that keeps only the addresses a :class:`CallbackPolicy` allows."""

    def __init__(self, policy: CallbackPolicy) -> None:
        self.policy = policy
        self._resolver = DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[dict[str, Any]]:
        allowed = [
            entry
            for entry in await self._resolver.resolve(host, port, family)
            if self.policy.address_allowed(entry["host"])
        ]
        if not allowed:
            raise OSError(f"{host} resolves to no address a callback may be sent to")
        return allowed

    async def close(self) -> None:
        await self._resolver.close()
