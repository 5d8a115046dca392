"""Usage of API key slots and client secrets: requests per hour and the last use of each.

Counted in each worker's memory where a credential is accepted (a dict increment under a lock,
also for identities answered from memory), and added to the database at most once per
USAGE_FLUSH_SECONDS and when the worker exits (gunicorn.conf.py): verification stays a read.
The counts hold ids, addresses and endpoint names, never a credential's value.
"""

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction

from credentials import sql

log = logging.getLogger(__name__)

HOUR_SECONDS = 3600
# How far back the tab shows usage; older hours are deleted by purge_expired_tokens.
KEPT = timedelta(days=7)
# Counts kept while the database refuses them: beyond this many (credential, hour) entries a
# worker drops the oldest hours rather than grow without end.
MAX_PENDING = 50_000

KEY, SECRET = "key", "secret"
# Requests refused from outside a credential's allowed networks, by API key credential or client.
REFUSED_KEY, REFUSED_CLIENT = "refused_key", "refused_client"
_UPSERT = {
    KEY: sql.ADD_KEY_USAGE,
    SECRET: sql.ADD_SECRET_USAGE,
    REFUSED_KEY: sql.ADD_KEY_REFUSALS,
    REFUSED_CLIENT: sql.ADD_CLIENT_REFUSALS,
}


def hour_of(moment):
    """The start of the UTC hour holding `moment`, an aware datetime."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def kept_since(now):
    """The first hour the tab shows: the hour `KEPT` before the current one's end."""
    return hour_of(now) - KEPT + timedelta(hours=1)


class Counter:
    """This process's counts not yet written: {(kind, owner pk, secret pk, hour): [requests,
    last time, last address, last method]}. Safe under threaded workers: one lock around each use."""

    def __init__(self, clock=time.time):
        self.clock = clock
        self.lock = threading.Lock()
        self.pending = {}
        self.flushed_at = clock()

    def count_key(self, key_pk, address, method):
        """A request accepted with API key `key_pk` (one slot of a credential)."""
        self._count((KEY, key_pk, None), address, method)

    def count_secret(self, client_pk, secret_pk, address, method):
        """A token issued to client `client_pk` authenticated with its secret `secret_pk`."""
        self._count((SECRET, client_pk, secret_pk), address, method)

    def count_refusal(self, kind, credential_pk, address):
        """A request of credential `credential_pk` (REFUSED_KEY: an API key credential,
        REFUSED_CLIENT: an OAuth client) refused from `address`, outside its allowed networks."""
        self._count((kind, credential_pk, None), address, "")

    def _count(self, what, address, method):
        now = self.clock()
        bucket = (*what, int(now // HOUR_SECONDS))
        with self.lock:
            entry = self.pending.get(bucket)
            if entry is None:
                self.pending[bucket] = [1, now, address, method]
            else:
                entry[0] += 1
                entry[1:] = now, address, method
            due = now - self.flushed_at >= settings.USAGE_FLUSH_SECONDS
            if due:
                self.flushed_at = now
        if due:
            self.flush()

    def flush(self):
        """Add the pending counts to the database: one upsert per (credential, secret, hour). A
        failure is logged and the counts kept for the next flush; it never reaches the caller."""
        with self.lock:
            pending, self.pending = self.pending, {}
            self.flushed_at = self.clock()
        if not pending:
            return
        try:
            with transaction.atomic():
                for (kind, owner, secret, hour), (requests, last_at, address, method) in pending.items():
                    sql.run(
                        _UPSERT[kind],
                        owner=owner,
                        secret=secret,
                        hour=datetime.fromtimestamp(hour * HOUR_SECONDS, UTC),
                        requests=requests,
                        last_used_at=datetime.fromtimestamp(last_at, UTC),
                        address=address or "",
                        method=method,
                    )
        except Exception as error:  # a request must not fail because of usage
            log.warning("Usage counts not written, kept for the next flush: %s", type(error).__name__)
            self._keep(pending)

    def _keep(self, unwritten):
        """Put counts that could not be written back, adding to any counted since."""
        with self.lock:
            for bucket, (requests, last_at, address, method) in unwritten.items():
                entry = self.pending.setdefault(bucket, [0, last_at, address, method])
                entry[0] += requests
                if last_at > entry[1]:
                    entry[1:] = last_at, address, method
            if len(self.pending) > MAX_PENDING:
                newest = sorted(self.pending, key=lambda bucket: bucket[3])[-MAX_PENDING:]
                self.pending = {bucket: self.pending[bucket] for bucket in newest}


counter = Counter()
