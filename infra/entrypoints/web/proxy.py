"""Behind a reverse proxy: the client's address and scheme, from trusted proxies only.

A proxy (Caddy, nginx, an ingress controller) connects to the web process itself, so the
connection's peer is the proxy; it passes the browser's address and scheme in
``X-Forwarded-For`` and ``X-Forwarded-Proto``. Anyone can send those headers, so they are
believed only when the connection comes from an address in ``VANGNET_TRUSTED_PROXIES``
(:attr:`infra.config.settings.Settings.trusted_proxies`); from anyone else they are ignored.

- ``X-Forwarded-Proto``: the last value the trusted proxy appended (``http``/``https``, anything
  else ignored) becomes the request's scheme.
- ``X-Forwarded-For``: read from the right (the nearest hop first), skipping trusted proxies;
  the first address that is not a proxy is the client. A value that is not an IP address stops
  the walk (a forged or garbled entry is never taken as the client).

The servers' own proxy-header handling stays off (:mod:`infra.entrypoints.web.server`): this is the
one
place the rule lives, whichever server runs the app. Nothing in Vangnet decides anything on the
client's address today (logs carry none); the scheme feeds ``request.url``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from litestar.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """Addresses and CIDR blocks (``10.0.0.0/8``, ``127.0.0.1``, ``::1``). ValueError names
    the entry that is neither."""
    networks = []
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            msg = f"not an IP address or network: {entry!r}"
            raise ValueError(msg) from None
    return tuple(networks)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = value.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _header(scope: Scope, name: bytes) -> str | None:
    values = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == name]
    return ",".join(values) if values else None


class TrustedProxies:
    """Which peers may speak for the client."""

    def __init__(self, networks: Iterable[Network]) -> None:
        self.networks = tuple(networks)

    def trusts(self, host: str | None) -> bool:
        address = _address(host) if host else None
        return address is not None and any(address in net for net in self.networks)

    def client(self, forwarded_for: str) -> str | None:
        """The nearest address in ``X-Forwarded-For`` that is not a trusted proxy."""
        for hop in reversed(forwarded_for.split(",")):
            address = _address(hop)
            if address is None:
                return None
            if not any(address in net for net in self.networks):
                return str(address)
        return None


class ForwardedHeadersMiddleware:
    """ASGI middleware applying :class:`TrustedProxies` to the scope (``client``, ``scheme``)."""

    def __init__(self, app: ASGIApp, *, trusted: Iterable[Network] = ()) -> None:
        self.app = app
        self.proxies = TrustedProxies(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The app has no websockets: only http scopes are rewritten.
        if scope["type"] == "http" and self.proxies.networks:  # type: ignore[comparison-overlap]
            peer: Any = scope.get("client")
            if peer and self.proxies.trusts(peer[0]):
                scope = dict(scope)  # type: ignore[assignment]
                proto = _header(scope, b"x-forwarded-proto")
                if proto is not None:
                    last = proto.split(",")[-1].strip().lower()
                    if last in ("http", "https"):
                        scope["scheme"] = last
                forwarded_for = _header(scope, b"x-forwarded-for")
                if forwarded_for is not None:
                    client = self.proxies.client(forwarded_for)
                    if client is not None:
                        scope["client"] = (client, 0)
        await self.app(scope, receive, send)
