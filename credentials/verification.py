"""The hot path: from a request's credential header to the group it authenticates, or None.

Each process remembers the identities it verified in the last VERIFY_CACHE_SECONDS (1 by
default), keyed by the credential's digest. Under load that answers almost every call without a
database query, and the spec's contract still holds: a regenerated key, a revoked token or a
deleted credential is refused by every worker within VERIFY_CACHE_SECONDS of the change.
Refusals are never remembered, so a new credential works at once.
"""

import time
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from credentials import secrets
from credentials.models import AccessToken, ApiKey
from portal.addresses import source_address

# Sent with every 401 so a client learns which credentials are accepted (RFC 6750 3).
WWW_AUTHENTICATE = 'Bearer realm="api", ApiKey realm="api", header="X-Api-Key"'


@dataclass(frozen=True)
class Identity:
    """Who a credential says the caller is: a group, by which method and credential."""

    group_slug: str
    group_name: str
    method: str
    credential: str
    slot: str | None

    # Lets DRF's IsAuthenticated accept an Identity as request.user.
    is_authenticated = True

    def as_dict(self):
        return {
            "group": {"slug": self.group_slug, "name": self.group_name},
            "auth": {"method": self.method, "credential": self.credential, "slot": self.slot},
        }


def _access_token(request):
    token = request.headers.get("X-Access-Token")
    if token is not None:
        return token
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def presents_credential(request):
    return "X-Api-Key" in request.headers or _access_token(request) is not None


class RecentlyVerified:
    """Identities this process verified lately, each kept for VERIFY_CACHE_SECONDS at most."""

    def __init__(self, capacity=10_000, clock=time.monotonic):
        self.capacity, self.clock, self.entries = capacity, clock, OrderedDict()

    def get(self, digest):
        entry = self.entries.get(digest)
        if entry is None:
            return None
        identity, until = entry
        if self.clock() >= until:
            del self.entries[digest]
            return None
        return identity

    def put(self, digest, identity):
        self.entries[digest] = (identity, self.clock() + settings.VERIFY_CACHE_SECONDS)
        self.entries.move_to_end(digest)
        while len(self.entries) > self.capacity:
            self.entries.popitem(last=False)

    def clear(self):
        self.entries.clear()


recently_verified = RecentlyVerified()


# Every frame below hides its variables from error reports: they hold the credential.
@sensitive_variables()
def identify(request):
    """The Identity for the request's X-Api-Key, X-Access-Token or Bearer header, or None.

    Only headers are read: a credential in a query string or a cookie is never accepted.
    """
    raw_key = request.headers.get("X-Api-Key")
    if raw_key is not None:
        return _remembered(raw_key, secrets.Kind.API_KEY, lambda digest: _api_key_identity(request, digest))
    raw_token = _access_token(request)
    if raw_token is not None:
        return _remembered(raw_token, secrets.Kind.ACCESS_TOKEN, _token_identity)
    return None


def _remembered(raw, kind, lookup):
    """The identity for `raw`: checked and digested once, then from memory or `lookup(digest)`."""
    digest = secrets.digest_of(raw, kind)
    if digest is None:
        return None
    if settings.VERIFY_CACHE_SECONDS <= 0:
        return lookup(digest)
    identity = recently_verified.get(digest)
    if identity is None:
        identity = lookup(digest)
        if identity is not None:
            recently_verified.put(digest, identity)
    return identity


def _api_key_identity(request, digest):
    key = ApiKey.objects.verify_digest(digest, source_address(request))
    if key is None:
        return None
    return Identity(key.group_slug, key.group_name, "api_key", key.credential_name, key.slot)


def _token_identity(digest):
    token = AccessToken.objects.verify_digest(digest)
    if token is None:
        return None
    return Identity(token.group_slug, token.group_name, "access_token", token.client_name, None)
