"""Allowed source networks of a credential: CIDR ranges, IPv4 or IPv6, separated by spaces.

Stored as text on the credential (NULL: anywhere), parsed once per verified identity and
compared with the request's source address (portal.addresses.source_address)."""

import ipaddress
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from portal import addresses

# The most ranges one credential may list: enough for a few offices and clouds, short to compare.
MAX_NETWORKS = 20


def cleaned(text):
    """The stored form of `text` (ranges in their normal form, space-separated), or None for blank:
    ValidationError names a range that is not one or too many ranges."""
    parts = (text or "").replace(",", " ").split()
    if not parts:
        return None
    if len(parts) > MAX_NETWORKS:
        raise ValidationError(_("List at most %(max)s ranges.") % {"max": MAX_NETWORKS})
    networks = []
    for part in parts:
        try:
            network = ipaddress.ip_network(part, strict=False)
        except ValueError:
            message = _("%(value)s is not an address range: write it as 10.0.0.0/8 or 2001:db8::/32.")
            raise ValidationError(message % {"value": part[:50]}) from None
        if network not in networks:
            networks.append(network)
    return " ".join(str(network) for network in networks)


@lru_cache(maxsize=1024)
def parsed(text):
    """The networks of a stored list as a tuple, or None (anywhere) for NULL. Cached: many
    identities of one credential share the same text."""
    if text is None:
        return None
    return tuple(ipaddress.ip_network(part, strict=False) for part in text.split())


def allows(networks, address):
    """Whether `address` (text, or None when unknown) lies in one of `networks` (None: anywhere)."""
    return networks is None or addresses.within(networks, address)
