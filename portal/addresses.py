"""The client's address, as verification, the lockout, Activity and django-axes all see it, and
whether it lies in a list of networks (a credential's allowed networks, METRICS_ALLOWED_NETWORKS)."""

import ipaddress
from functools import lru_cache

from django.conf import settings


def source_address(request):
    """The client's address: REMOTE_ADDR, or the nearest untrusted hop of X-Forwarded-For.

    X-Forwarded-For is believed only when the direct peer is a proxy listed in TRUSTED_PROXIES,
    and then read from the right: each trusted proxy appends the address it saw, so the first
    address from the right that is not itself a trusted proxy is the client. A header sent by
    the client cannot move this.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    trusted = settings.TRUSTED_PROXIES
    if remote not in trusted:
        return _valid_or_none(remote)
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed(hops):
        if hop and hop not in trusted:
            return _valid_or_none(hop)
    return _valid_or_none(remote)


@lru_cache(maxsize=4096)  # a client calls from the same address again and again
def _valid_or_none(address):
    """The address in its canonical form, or None if it is not an IP address."""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def within(networks, address):
    """Whether `address` (text, or None when unknown) lies in one of `networks` (ip_network objects)."""
    ip = _address(address or "")
    return ip is not None and any(ip in network for network in networks)


@lru_cache(maxsize=4096)
def _address(text):
    """The address `text` names (an IPv4-mapped IPv6 address as its IPv4 one), or None."""
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    return ip.ipv4_mapped if ip.version == 6 and ip.ipv4_mapped is not None else ip
