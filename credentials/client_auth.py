"""Client authentication at the token endpoints, with brute-force lockout (RFC 6749 2.3.1, 10.10).

Failed attempts are counted per (client ID, source address) in the configured cache, which all
workers and servers share (Redis in production: INCR is atomic). Reaching LOCKOUT_THRESHOLD
consecutive failures locks the pair for LOCKOUT_SECONDS; the lock is a database row, so every
server sees it and owners can see and lift it on the client's row.
"""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from credentials.models import Lockout, OAuthClient
from groups.activity import record, source_address
from groups.models import Action


class InvalidClient(Exception):
    """Unknown client ID or wrong secret: the two are never told apart."""


class ClientLocked(Exception):
    def __init__(self, retry_after):
        super().__init__(retry_after)
        self.retry_after = retry_after


def _failures_key(client_id, address):
    # Client IDs are caller-controlled text: hash them into a safe, bounded cache key.
    pair = hashlib.sha256(f"{client_id}\0{address}".encode()).hexdigest()
    return f"client-auth-failures:{pair}"


def authenticate_client(request, client_id, secret):
    """The OAuthClient these credentials belong to; raises ClientLocked or InvalidClient."""
    address = source_address(request) or ""
    now = timezone.now()
    lock = Lockout.objects.filter(client_id=client_id, address=address, locked_until__gt=now).first()
    if lock is not None:
        raise ClientLocked(max(1, int((lock.locked_until - now).total_seconds())))
    client = OAuthClient.objects.authenticate(client_id, secret)
    key = _failures_key(client_id, address)
    if client is None:
        _count_failure(request, key, client_id, address, now)
        raise InvalidClient()
    cache.delete(key)
    return client


def _count_failure(request, key, client_id, address, now):
    cache.add(key, 0, timeout=settings.LOCKOUT_SECONDS)
    try:
        failures = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=settings.LOCKOUT_SECONDS)
        failures = 1
    if failures < settings.LOCKOUT_THRESHOLD:
        return
    cache.delete(key)
    until = now + timedelta(seconds=settings.LOCKOUT_SECONDS)
    Lockout.objects.update_or_create(client_id=client_id, address=address, defaults={"locked_until": until})
    client = OAuthClient.objects.select_related("group").filter(client_id=client_id).first()
    if client is not None:
        record(request, client.group, Action.CLIENT_LOCKED, f"{client.name} from {address or 'unknown'}")


def unlock(client, address):
    """Lift the lock of (client, address) and forget its failures. Returns whether one was lifted."""
    cache.delete(_failures_key(client.client_id, address))
    deleted, _ = Lockout.objects.filter(client_id=client.client_id, address=address).delete()
    return bool(deleted)


def active_lockouts(client_ids):
    """Current locks for these client IDs, as {client_id: [Lockout, ...]}."""
    by_client = {}
    locks = Lockout.objects.filter(client_id__in=client_ids, locked_until__gt=timezone.now())
    for lock in locks.order_by("locked_until"):
        by_client.setdefault(lock.client_id, []).append(lock)
    return by_client
