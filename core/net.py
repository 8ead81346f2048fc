"""The client's address, believed from X-Forwarded-For only when a trusted proxy says so.

Anyone can send an X-Forwarded-For header. Its entries are only as good as the
proxy that appended them, so the header is read only when the immediate peer
(REMOTE_ADDR) is one of settings.FLONIKS_TRUSTED_PROXIES (env TRUSTED_PROXIES;
none by default), and then from the right: each trusted proxy appended the address
it saw, and the right-most address that is not itself a trusted proxy is the client.
Everything that limits by client (sign-in limits, DRF throttles) asks client_ip()."""

from __future__ import annotations

import ipaddress
import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from django.http import HttpRequest

logger = logging.getLogger(__name__)
_warned_peers: set[str] = set()

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def trusted_networks(name: str, raw: str) -> tuple[Network, ...]:
    """Parse a comma-separated list of IPs and CIDRs; a bad item stops start-up, naming it."""
    networks: list[Network] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            if raw.strip():
                raise ImproperlyConfigured(f"{name}={raw!r} has an empty item; separate addresses with commas.")
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} item {item!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/24)."
            ) from None
    return tuple(networks)


def _address(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.9:51234"
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(address: Address | None) -> bool:
    return address is not None and any(address in network for network in settings.FLONIKS_TRUSTED_PROXIES)


def client_ip(request: HttpRequest | Any) -> str:
    """The address of the client that made this request, as far as it can be trusted."""
    meta = request.META
    peer_text = meta.get("REMOTE_ADDR", "") or ""
    peer = _address(peer_text)
    if not _trusted(peer):
        if peer is not None and peer.is_private and meta.get("HTTP_X_FORWARDED_FOR"):
            _warn_untrusted_proxy(str(peer))
        return str(peer) if peer is not None else peer_text
    client: Address | None = peer
    hops = [hop for hop in (meta.get("HTTP_X_FORWARDED_FOR", "") or "").split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # not written by a trusted proxy: keep the last address a trusted one vouched for
        client = address
        if not _trusted(address):
            break
    return str(client)


def _warn_untrusted_proxy(peer: str) -> None:
    """A private peer sending X-Forwarded-For is most likely our own proxy, left out of TRUSTED_PROXIES:
    then every client shares its address, and so its sign-in limits. Say so once per process and peer."""
    if peer in _warned_peers or len(_warned_peers) > 100:
        return
    _warned_peers.add(peer)
    logger.warning(
        "X-Forwarded-For came from %s, which is not in TRUSTED_PROXIES, so it is ignored and every client "
        "behind it counts as %s. If %s is your reverse proxy, add it to TRUSTED_PROXIES.",
        peer,
        peer,
        peer,
    )


def client_key(request: HttpRequest | Any) -> str:
    """What counts as one client when limiting: its address, or its /64 for IPv6 (a subscriber's
    usual allocation, within which an attacker could otherwise pick a fresh address per request)."""
    text = client_ip(request)
    address = _address(text)
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return text
