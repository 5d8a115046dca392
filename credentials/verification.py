"""The hot path: from a request's credential header to the Identity it authenticates, or None.

Each process remembers the identities it verified in the last VERIFY_CACHE_SECONDS (1 by
default), keyed by the credential's digest, and never past an access token's expiry. Under load
that answers almost every call without a database query, and the spec's contract still holds: a
regenerated key, a revoked token or a deleted credential is refused by every worker within
VERIFY_CACHE_SECONDS of the change. Refusals are never remembered, so a new credential works at
once.
"""

import threading
import time
from collections import OrderedDict

from django.conf import settings
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from credentials import networks, secrets, usage
from credentials.models import AccessToken, ApiKey
from portal import metrics
from portal.addresses import source_address

# Sent with every 401 so a client learns which credentials are accepted (RFC 6750 3).
WWW_AUTHENTICATE = 'Bearer realm="api", ApiKey realm="api", header="X-Api-Key"'


# The headers are read from META, as the WSGI server gave them: request.headers would first copy
# every header of the request into a new mapping, at each call of the hot path.
def _access_token(request):
    token = request.META.get("HTTP_X_ACCESS_TOKEN")
    if token is not None:
        return token
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def presents_credential(request):
    return "HTTP_X_API_KEY" in request.META or _access_token(request) is not None


class RecentlyVerified:
    """Identities this process verified lately, each kept for VERIFY_CACHE_SECONDS at most and
    never past its expiry. Safe under threaded workers: one lock around each use."""

    def __init__(self, capacity=10_000, clock=time.monotonic):
        self.capacity, self.clock, self.entries = capacity, clock, OrderedDict()
        self.lock = threading.Lock()

    def get(self, digest):
        with self.lock:
            identity, until = self.entries.get(digest, (None, 0))
            if identity is not None and self.clock() >= until:
                del self.entries[digest]
                return None
            return identity

    def put(self, digest, identity, read_at=None):
        """Remember `identity` from `read_at` (this memory's clock before the database was read;
        now if None): a change committed just after the read is then refused within the time."""
        seconds = settings.VERIFY_CACHE_SECONDS
        if identity.expires_at is not None:
            seconds = min(seconds, (identity.expires_at - timezone.now()).total_seconds())
        if seconds <= 0:
            return
        with self.lock:
            self.entries[digest] = (identity, (self.clock() if read_at is None else read_at) + seconds)
            self.entries.move_to_end(digest)
            while len(self.entries) > self.capacity:
                self.entries.popitem(last=False)

    def clear(self):
        with self.lock:
            self.entries.clear()


recently_verified = RecentlyVerified()


class AddressRefused(Exception):
    """A valid credential presented from outside its allowed networks: 403, not 401 (the
    callers in credentials.authentication and credentials.api.services answer it). `identity` is
    the credential's."""

    def __init__(self, identity):
        super().__init__()
        self.identity = identity


# Every frame below hides its variables from error reports: they hold the credential.
@sensitive_variables()
def identify(request):
    """The Identity for the request's X-Api-Key, X-Access-Token or Bearer header, or None.

    Only headers are read: a credential in a query string or a cookie is never accepted. Raises
    AddressRefused for a credential used from outside its allowed networks, however it was found,
    and CredentialRefused (credentials.models) for one expired, revoked or of a suspended group.
    """
    raw_key = request.META.get("HTTP_X_API_KEY")
    if raw_key is not None:
        digest, address = secrets.digest_of(raw_key, secrets.Kind.API_KEY), source_address(request)
        identity = _remembered(digest, lambda: ApiKey.objects.identity(digest, address))
        if identity is not None:  # counted however it was answered, from memory or the database
            _check_address(identity, address, usage.REFUSED_KEY)
            usage.counter.count_key(identity.key_pk, address, _endpoint(request))
        return identity
    raw_token = _access_token(request)
    if raw_token is not None:
        digest = secrets.digest_of(raw_token, secrets.Kind.ACCESS_TOKEN)
        identity = _remembered(digest, lambda: AccessToken.objects.identity(digest))
        if identity is not None and identity.networks is not None:
            _check_address(identity, source_address(request), usage.REFUSED_CLIENT)
        return identity
    return None


def _check_address(identity, address, kind):
    """AddressRefused, counted in memory (credentials.usage), unless `address` is in the
    credential's allowed networks or it has none."""
    if not networks.allows(identity.networks, address):
        usage.counter.count_refusal(kind, identity.credential_pk, address)
        raise AddressRefused(identity)


def _endpoint(request):
    """The name of the API the request called (verify, whoami), as the key's usage records it."""
    match = request.resolver_match
    return match.url_name if match is not None and match.url_name else "api"


def _remembered(digest, lookup):
    """The identity for `digest` (None for a malformed value: no query), from memory or `lookup()`."""
    if digest is None:
        return None
    if settings.VERIFY_CACHE_SECONDS <= 0:
        return lookup()
    identity = recently_verified.get(digest)
    metrics.child(metrics.VERIFICATION_MEMORY, "miss" if identity is None else "hit").inc()
    if identity is None:
        read_at = recently_verified.clock()
        identity = lookup()
        if identity is not None:
            recently_verified.put(digest, identity, read_at)
    return identity
