"""Where a webhook may be sent: public addresses only, unless the configuration allows a
network (``COALITION_WEBHOOK_ALLOW_NETWORKS``; the tests allow loopback).

A partner registers a URL; without this, a URL naming ``127.0.0.1``, ``10.0.0.5`` or
``169.254.169.254`` would have the deliverer send requests inside our own network on a
partner's behalf (server-side request forgery). The host is resolved and **every**
address it resolves to is checked, at registration and again before each connection
(``webhooks.deliverer`` resolves through :func:`check_addresses`, so a name that later
resolves elsewhere is refused at the moment it would be used).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from events.settings import webhook_allowed_networks

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TargetRefused(ValueError):
    """A webhook URL that may not be used; the message says why."""


def allowed_networks(names: Iterable[str] | None = None) -> tuple[Network, ...]:
    try:
        return tuple(ipaddress.ip_network(n, strict=False)
                     for n in (webhook_allowed_networks() if names is None else names))
    except ValueError as exc:
        raise RuntimeError(f"COALITION_WEBHOOK_ALLOW_NETWORKS: {exc}") from None


def check_url(url: str) -> tuple[str, int]:
    """The host and port of an ``http(s)://`` URL without credentials or fragment."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("url must start with https:// (or http://)")
    if not parts.hostname:
        raise TargetRefused("url has no host")
    if parts.username or parts.password:
        raise TargetRefused("url may not carry credentials")
    if parts.fragment:
        raise TargetRefused("url may not have a #fragment")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetRefused("url has an invalid port") from None
    return parts.hostname, port


def check_addresses(host: str, addresses: Iterable[str], allowed: tuple[Network, ...]) -> None:
    """Every address must be public, or in an allowed network."""
    found = list(addresses)
    if not found:
        raise TargetRefused(f"{host} resolves to no address")
    for text in found:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if any(address in net for net in allowed):
            continue
        if not address.is_global or address.is_multicast:
            kind = ("loopback" if address.is_loopback else "link-local" if address.is_link_local
                    else "private" if address.is_private else "not public")
            raise TargetRefused(f"{host} resolves to {address}, a {kind} address: refused")


async def resolve(host: str, port: int) -> list[str]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TargetRefused(f"{host} does not resolve ({exc.strerror})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def check_target(url: str, allowed: tuple[Network, ...] | None = None) -> None:
    """Refuse ``url`` unless its host resolves only to addresses it may reach."""
    host, port = check_url(url)
    check_addresses(host, await resolve(host, port), allowed_networks() if allowed is None else allowed)
