"""Client authentication at the token endpoints, with brute-force lockout (RFC 6749 2.3.1, 10.10).

Consecutive failures are counted per (client ID, source address) in a database row, updated under
a row lock, so every worker and server shares one exact count. LOCKOUT_THRESHOLD failures lock the
pair for LOCKOUT_SECONDS; owners see the lock on the client's row and can lift it.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from credentials import hot_path
from credentials.models import Lockout, OAuthClient
from groups.activity import record, source_address
from groups.models import Action


class InvalidClient(Exception):
    """Unknown client ID or wrong secret: the two are never told apart."""


class ClientLocked(Exception):
    def __init__(self, retry_after):
        super().__init__(retry_after)
        self.retry_after = retry_after


def authenticate_client(request, client_id, secret):
    """The OAuthClient these credentials belong to; raises ClientLocked or InvalidClient."""
    address = source_address(request) or ""
    now = timezone.now()
    failures = hot_path.fetch_one(
        hot_path.lockout, [hot_path.db_time(now), Lockout.key_for(client_id), address]
    )
    if failures is not None and failures[1]:
        locked_until = Lockout.objects.get(pk=failures[0]).locked_until
        raise ClientLocked(max(1, round((locked_until - now).total_seconds())))
    client = OAuthClient.objects.authenticate(client_id, secret)
    if client is None:
        _count_failure(request, client_id, address, now)
        raise InvalidClient()
    if failures is not None:
        Lockout.objects.filter(pk=failures[0]).delete()  # a success ends the run of failures
    return client


def _count_failure(request, client_id, address, now):
    with transaction.atomic():
        row, _ = Lockout.objects.select_for_update().get_or_create(
            client_key=Lockout.key_for(client_id), address=address, defaults={"last_failure_at": now}
        )
        # A run of failures ends when a lock has run out or the last failure is a lock period old.
        stale = now - timedelta(seconds=settings.LOCKOUT_SECONDS)
        if row.locked_until is not None or row.last_failure_at < stale:
            row.failures, row.locked_until = 0, None
        row.failures += 1
        row.last_failure_at = now
        newly_locked = row.failures >= settings.LOCKOUT_THRESHOLD
        if newly_locked:
            row.locked_until = now + timedelta(seconds=settings.LOCKOUT_SECONDS)
        row.save(update_fields=["failures", "last_failure_at", "locked_until"])
    # PostgreSQL refuses text with NUL bytes; no client has such an ID.
    if newly_locked and "\x00" not in client_id:
        client = OAuthClient.objects.select_related("group").filter(client_id=client_id).first()
        if client is not None:
            record(request, client.group, Action.CLIENT_LOCKED, f"{client.name} from {address or 'unknown'}")


def unlock(client, address):
    """Lift the lock of (client, address) and forget its failures. Returns whether one was lifted."""
    deleted, _ = Lockout.of(client.client_id, address).delete()
    return bool(deleted)


def active_lockouts(client_ids):
    """Current locks for these client IDs, as {client_id: [Lockout, ...]}."""
    keys = {Lockout.key_for(client_id): client_id for client_id in client_ids}
    by_client = {}
    locks = Lockout.objects.filter(client_key__in=keys, locked_until__gt=timezone.now())
    for lock in locks.order_by("locked_until"):
        by_client.setdefault(keys[lock.client_key], []).append(lock)
    return by_client
