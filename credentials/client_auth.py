"""Client authentication at the token endpoints, with brute-force lockout (RFC 6749 2.3.1, 10.10).

Consecutive failures are counted per (client ID, source address) in a database row, updated under
a row lock, so every worker and server shares one exact count. LOCKOUT_THRESHOLD failures lock the
pair for LOCKOUT_SECONDS; owners see the lock on the client's row and can lift it.
"""

from datetime import timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils import timezone

from credentials import hot_path, secrets
from credentials.models import Lockout, OAuthClient
from credentials.secrets import Kind
from groups.activity import record
from groups.models import Action
from portal.addresses import source_address


class InvalidClient(Exception):
    """Unknown client ID or wrong secret: the two are never told apart."""


class ClientLocked(Exception):
    def __init__(self, retry_after):
        super().__init__(retry_after)
        self.retry_after = retry_after


def authenticate_client(request, client_id, secret, issue=None):
    """The OAuthClient these credentials belong to, or with `issue` what it issued to that client;
    raises ClientLocked or InvalidClient.

    One query (hot_path.client_authentication) finds both the pair's lockout and the secret, by
    its digest whatever the client ID: an unknown client ID and a wrong secret cost the same and
    cannot be told apart.

    `issue` (credentials.models.IssueAccessToken or IssueTokenPair) writes the tokens the request
    is for. On PostgreSQL its INSERTs are part of that one query (hot_path.in_one_statement), and
    run only if the credentials authenticate the client, as checked below; elsewhere they follow.
    """
    address = source_address(request) or ""
    now = timezone.now()
    digest = secrets.digest_of(secret, Kind.CLIENT_SECRET)  # None for garbage: it matches no row
    at = hot_path.db_time(now)
    params = [at, Lockout.key_for(client_id), address, digest, at]
    # PostgreSQL refuses text with NUL bytes; no client has such an ID.
    combined = issue is not None and hot_path.in_one_statement() and "\x00" not in client_id
    if combined:
        row = hot_path.fetch_one(issue.statement, [*params, client_id, *issue.params()])
    else:
        row = hot_path.fetch_one(hot_path.client_authentication, params)
    lockout_id, locked, found_digest, pk, found_client_id, name, group_id = row[:7]
    if locked:
        locked_until = Lockout.objects.get(pk=lockout_id).locked_until
        raise ClientLocked(max(1, round((locked_until - now).total_seconds())))
    if pk is None or not secrets.same(found_digest, digest) or not secrets.same(found_client_id, client_id):
        _count_failure(request, client_id, address, now)
        raise InvalidClient()
    if combined and row[7] is not None:  # issued, and the lockout row deleted, by the query
        return issue.written(row[7:])
    if lockout_id is not None:
        Lockout.objects.filter(pk=lockout_id).delete()  # a success ends the run of failures
    # As the ORM builds a row loaded with only(): the others are deferred, no defaults computed.
    # The values go in the model's field order.
    fields = ["id", "group_id", "name", "client_id"]
    client = OAuthClient.from_db(DEFAULT_DB_ALIAS, fields, [pk, group_id, name, client_id])
    return client if issue is None else issue.write(client)


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
    if newly_locked and "\x00" not in client_id:  # no client has such an ID (and PostgreSQL refuses it)
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
