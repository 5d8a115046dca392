"""The client's address, as Activity, a key's "last used from", the token lockout and django-axes see it."""

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
