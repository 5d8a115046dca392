"""The SQL of the lookups that every service call makes, and of the token endpoints' writes,
written out once.

Measured on this project's hardware, Django's ORM spends about 1.3 ms compiling a select_related
lookup whose execution takes 0.07 ms (docs/performance.md). These statements are built once from
the models' table names and run on Django's connection, so connecting, health checks,
transactions and its exceptions stay Django's. Times are compared inside SQL, with the
parameter adapted by the backend; the one stored datetime read back (a token family's expiry)
goes through python_time.

Django's cursor wrapper cost 0.04 ms a statement here (a new wrapper per cursor, the conversion
of SQLite's placeholders at every call, lookups through the connection proxy): as much as SQLite
takes to run the statement itself. So the statements run on the driver's own cursor, in its
placeholder style, unless Django is recording queries (DEBUG, the tests' query counts) or an
execute_wrapper is installed: then they take Django's path, and are seen like any other.
"""

import fcntl
import logging
import os
import threading
from contextlib import nullcontext
from functools import cache

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections

logger = logging.getLogger(__name__)


def insert(statement, params):
    """Run an INSERT ... RETURNING id and return the new row's id."""
    return _execute(statement, params, lambda cursor: cursor.fetchone()[0])


def fetch_one(statement, params):
    return _execute(statement, params, lambda cursor: cursor.fetchone())


def update(statement, params):
    """Run an UPDATE and return the number of rows it changed."""
    return _execute(statement, params, lambda cursor: cursor.rowcount)


def _execute(statement, params, result):
    db = connections[DEFAULT_DB_ALIAS]
    if db.queries_logged or db.execute_wrappers:
        with db.cursor() as cursor:
            cursor.execute(statement(), params)
            return result(cursor)
    # What Django's cursor() does before it hands out a cursor, then the driver's cursor.
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    db.validate_no_broken_transaction()
    with db.wrap_database_errors:
        cursor = db.connection.cursor()
        try:
            cursor.execute(_native(statement, db.vendor), params)
            return result(cursor)
        finally:
            cursor.close()


@cache
def _native(statement, vendor):
    """The statement in the driver's placeholder style: SQLite's sqlite3 takes "?", psycopg "%s"."""
    return statement().replace("%s", "?") if vendor == "sqlite" else statement()


def db_time(value):
    """A datetime as the backend stores it, for comparisons inside SQL."""
    return connections[DEFAULT_DB_ALIAS].ops.adapt_datetimefield_value(value)


def python_time(value):
    """A datetime column as a statement here read it, converted as the ORM would (aware, UTC)."""
    convert = getattr(connection.ops, "convert_datetimefield_value", None)  # SQLite's, not PostgreSQL's
    return value if convert is None or value is None else convert(value, None, connection)


class WriterQueue:
    """An exclusive flock() on `path`, held around a write transaction: writers of every process
    that uses the same file wait in the kernel, and the next one wakes as soon as the previous
    one is done. Not re-entrant. Each process opens the file once (after a fork, again); if it
    cannot, its writers do not queue."""

    def __init__(self, path):
        self.path, self.threads, self.files = path, threading.Lock(), {}

    def _file(self):
        pid = os.getpid()
        if pid not in self.files:
            try:
                self.files[pid] = open(self.path, "ab")  # noqa: SIM115  (kept open: the lock lives on it)
            except OSError:
                self.files[pid] = None
        return self.files[pid]

    def __enter__(self):
        self.threads.acquire()  # threads of one process share the file: flock() cannot tell them apart
        try:
            if self._file() is not None:
                fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException:
            self.threads.release()
            raise

    def __exit__(self, *exc):
        try:
            if self._file() is not None:
                fcntl.flock(self._file(), fcntl.LOCK_UN)
        finally:
            self.threads.release()


_queues = {}


def one_writer_at_a_time():
    """Around a write transaction of the token endpoints: on SQLite, the WriterQueue of the
    database file (`<database>-writers`, beside it); elsewhere, or inside a transaction already
    open, nothing.

    SQLite lets one writer in at a time (transactions here are IMMEDIATE) and makes the others
    poll: its busy handler sleeps 1, 2, 5, 10... ms between tries, so under a stream of token
    requests a worker sleeps on after the database is free, often until the other worker has
    taken it again. With two workers the queue raised PATCH /v1/tokens by half and POST
    /v1/tokens by a quarter; a single INSERT (POST /v2/tokens) holds the database too briefly to
    gain from it (docs/performance.md). It is only a queue: SQLite's own lock still keeps writers
    apart, whether or not they queued.
    """
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "sqlite" or db.in_atomic_block:
        return nullcontext()
    path = db.settings_dict["NAME"]
    if path not in _queues:
        _queues[path] = None if db.is_in_memory_db() else WriterQueue(f"{path}-writers")
    return nullcontext() if _queues[path] is None else _QueuedWrite(_queues[path])


class _QueuedWrite:
    def __init__(self, queue):
        self.queue = queue

    def __enter__(self):
        self.queue.__enter__()

    def __exit__(self, *exc):
        self.queue.__exit__(*exc)
        if exc[0] is None:
            checkpoint_now_and_then()


# SQLite's own checkpoints (wal_autocheckpoint, portal/settings.py) are the backstop.
CHECKPOINT_EVERY = 100
_writes = 0


def checkpoint_now_and_then():
    """After a token write has committed (and left the writer queue): on SQLite, every
    CHECKPOINT_EVERY such writes of this process, a PASSIVE checkpoint, which copies the WAL's
    pages back into the database file and syncs it while other writers go on.

    SQLite runs its automatic checkpoint inside the COMMIT that crosses the threshold, so the
    worker whose write it was would hold the writer queue through the copy and the fsync, and
    every other writer would wait: the tail of the token endpoints' latency.
    """
    global _writes
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "sqlite" or db.in_atomic_block:
        return
    _writes += 1
    if _writes % CHECKPOINT_EVERY:
        return
    try:
        with db.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except DatabaseError:  # the write is committed: its answer must still go out
        logger.warning("SQLite checkpoint failed; its automatic checkpoints remain", exc_info=True)


def _for_update():
    """Row locks where the database has them (PostgreSQL). SQLite has none: there, transactions
    are IMMEDIATE (portal/settings.py) and a writer holds the whole database until it commits."""
    return " FOR UPDATE" if connection.features.has_select_for_update else ""


def _tables():
    from credentials.models import (
        AccessToken,
        ApiKey,
        ApiKeyCredential,
        ClientSecret,
        Lockout,
        OAuthClient,
        RefreshToken,
        TokenFamily,
    )
    from groups.models import Group

    return {
        "key": ApiKey._meta.db_table,
        "credential": ApiKeyCredential._meta.db_table,
        "group": Group._meta.db_table,
        "token": AccessToken._meta.db_table,
        "client": OAuthClient._meta.db_table,
        "secret": ClientSecret._meta.db_table,
        "lockout": Lockout._meta.db_table,
        "family": TokenFamily._meta.db_table,
        "refresh": RefreshToken._meta.db_table,
    }


@cache
def api_key():
    """Params: stale-before time, digest.
    Row: id, digest, slot, stale, credential id, credential name, group slug, group name."""
    t = _tables()
    return (
        "SELECT k.id, k.digest, k.slot, (k.last_used_at IS NULL OR k.last_used_at < %s), "
        "c.id, c.name, g.slug, g.name "
        f"FROM {t['key']} k JOIN {t['credential']} c ON c.id = k.credential_id "
        f"JOIN {t['group']} g ON g.id = c.group_id WHERE k.digest = %s"
    )


@cache
def access_token():
    """Params: digest, now. Row: id, digest, client id, client name, group slug, group name,
    for live tokens only."""
    t = _tables()
    return (
        "SELECT a.id, a.digest, c.id, c.name, g.slug, g.name "
        f"FROM {t['token']} a JOIN {t['client']} c ON c.id = a.client_id "
        f"JOIN {t['group']} g ON g.id = c.group_id "
        "WHERE a.digest = %s AND a.revoked_at IS NULL AND a.expires_at > %s"
    )


@cache
def client_authentication():
    """Params: now, client key, address, secret digest (or None), now. Always one row: the
    (client key, address) pair's lockout id and whether it is locked now, or None and False; then
    the secret's digest, the client's id, client_id, name and group id for a secret with this
    digest that is current or still in its grace period, or five Nones."""
    t = _tables()
    return (
        "SELECT l.id AS lockout_id, (l.locked_until IS NOT NULL AND l.locked_until > %s) AS locked, "
        "s.digest, c.id AS client_pk, c.client_id, c.name, c.group_id FROM (SELECT 1) AS one "
        f"LEFT JOIN {t['lockout']} l ON l.client_key = %s AND l.address = %s "
        f"LEFT JOIN {t['secret']} s ON s.digest = %s AND (s.expires_at IS NULL OR s.expires_at > %s) "
        f"LEFT JOIN {t['client']} c ON c.id = s.client_id"
    )


# The columns the token tables' INSERTs fill, in the order of their values.
_ACCESS_COLUMNS = "(client_id, family_id, digest, created_at, expires_at, revoked_at)"
_FAMILY_COLUMNS = "(client_id, created_at, expires_at, revoked_at)"
_REFRESH_COLUMNS = "(family_id, parent_id, access_token_id, digest, created_at, used_at, grace_used)"


def in_one_statement():
    """Whether the token endpoints write in the statement that authenticates (PostgreSQL's
    data-modifying WITH queries; SQLite has none): one round trip to the server instead of up to
    seven, each of which cost about 0.5 ms (docs/performance.md)."""
    return connections[DEFAULT_DB_ALIAS].vendor == "postgresql"


def _authenticated(writes):
    """client_authentication, then `writes`: WITH queries that read `ok`, the client's id if and
    only if the credentials authenticate it (not locked, a secret with this digest, and that
    secret's client has this client ID), and end with one named `new`. A success also deletes the
    pair's lockout row, as client_auth does. Params: client_authentication's, the client ID, then
    those of `writes`. Row: client_authentication's, then `new`'s (Nones if it failed)."""
    return (
        f"WITH auth AS MATERIALIZED ({client_authentication()}), "
        "ok AS (SELECT client_pk AS id FROM auth WHERE NOT locked AND client_id = %s), "
        f"gone AS (DELETE FROM {_tables()['lockout']} "
        "WHERE id = (SELECT lockout_id FROM auth) AND EXISTS (SELECT FROM ok)), "
        f"{writes} SELECT auth.*, new.* FROM auth LEFT JOIN new ON TRUE"
    )


@cache
def authenticated_access_token():
    """PostgreSQL: POST /v2/tokens in one statement (_authenticated). Params of the write: digest,
    created, expires. Row: client_authentication's, then the new access token's id."""
    return _authenticated(
        f"new AS (INSERT INTO {_tables()['token']} {_ACCESS_COLUMNS} "
        "SELECT id, NULL, %s, %s, %s, NULL FROM ok RETURNING id)"
    )


@cache
def authenticated_token_pair():
    """PostgreSQL: POST /v1/tokens in one statement (_authenticated). Params of the writes: the
    family's created and expires; the access token's digest, created, expires; the refresh
    token's digest, created. Row: client_authentication's, then the new family's, access token's
    and refresh token's ids."""
    t = _tables()
    return _authenticated(
        f"family AS (INSERT INTO {t['family']} {_FAMILY_COLUMNS} "
        "SELECT id, %s, %s, NULL FROM ok RETURNING id, client_id), "
        f"access AS (INSERT INTO {t['token']} {_ACCESS_COLUMNS} "
        "SELECT client_id, id, %s, %s, %s, NULL FROM family RETURNING id, family_id), "
        f"new AS (INSERT INTO {t['refresh']} {_REFRESH_COLUMNS} "
        "SELECT family_id, NULL, id, %s, %s, NULL, FALSE FROM access "
        "RETURNING family_id, access_token_id, id)"
    )


@cache
def rotate_current_refresh_token():
    """PostgreSQL: the usual PATCH /v1/tokens in one statement. Locks the family of the refresh
    token with this digest if it is live, as lock_token_family does, marks the token used if it
    was not, and issues the new pair. Params: digest, now; now, digest; the access token's digest,
    created, expires; the refresh token's digest, created. Row, if the token was unused in a live
    family: the family's id and expiry, then the new access token's and refresh token's ids. No
    row and no change otherwise (unknown, used, expired or revoked)."""
    t = _tables()
    return (
        "WITH family AS MATERIALIZED ("
        f"SELECT f.id, f.client_id, f.expires_at FROM {t['family']} f "
        f"JOIN {t['refresh']} r ON r.family_id = f.id "
        "WHERE r.digest = %s AND f.revoked_at IS NULL AND f.expires_at > %s FOR UPDATE OF f), "
        f"used AS (UPDATE {t['refresh']} r SET used_at = %s FROM family f "
        "WHERE r.family_id = f.id AND r.digest = %s AND r.used_at IS NULL "
        "RETURNING r.id, r.family_id, f.client_id, f.expires_at), "
        f"access AS (INSERT INTO {t['token']} {_ACCESS_COLUMNS} "
        "SELECT client_id, family_id, %s, %s, %s, NULL FROM used RETURNING id), "
        f"new AS (INSERT INTO {t['refresh']} {_REFRESH_COLUMNS} "
        "SELECT u.family_id, u.id, a.id, %s, %s, NULL, FALSE FROM used u, access a RETURNING id) "
        "SELECT u.family_id, u.expires_at, a.id, new.id FROM used u, access a, new"
    )


@cache
def new_access_token():
    """Params: client id, family id or None, digest, created, expires. Returns the new id."""
    t = _tables()
    return f"INSERT INTO {t['token']} {_ACCESS_COLUMNS} VALUES (%s, %s, %s, %s, %s, NULL) RETURNING id"


@cache
def new_token_family():
    """Params: client id, created, expires. Returns the new id."""
    t = _tables()
    return f"INSERT INTO {t['family']} {_FAMILY_COLUMNS} VALUES (%s, %s, %s, NULL) RETURNING id"


@cache
def new_refresh_token():
    """Params: family id, parent id or None, access token id, digest, created. Returns the new id."""
    t = _tables()
    return f"INSERT INTO {t['refresh']} {_REFRESH_COLUMNS} VALUES (%s, %s, %s, %s, %s, NULL, %s) RETURNING id"


@cache
def refresh_token():
    """Params: digest. Row: id, digest, family id."""
    return f"SELECT r.id, r.digest, r.family_id FROM {_tables()['refresh']} r WHERE r.digest = %s"


@cache
def lock_token_family():
    """Params: now, family id. Row: client id, expires at, whether the family is live (neither
    revoked nor expired). Locks the family's row until the transaction ends."""
    return (
        "SELECT f.client_id, f.expires_at, (f.revoked_at IS NULL AND f.expires_at > %s) "
        f"FROM {_tables()['family']} f WHERE f.id = %s{_for_update()}"
    )


@cache
def use_refresh_token():
    """Params: now, id. Marks a refresh token used if it was not: one row changed, else none."""
    return f"UPDATE {_tables()['refresh']} SET used_at = %s WHERE id = %s AND used_at IS NULL"


@cache
def lock_used_refresh_token():
    """Params: start of the grace period, id. Row: whether its grace retry was spent, whether it
    was used within the grace period. Locks the token's row until the transaction ends."""
    return (
        f"SELECT r.grace_used, (r.used_at >= %s) FROM {_tables()['refresh']} r WHERE r.id = %s{_for_update()}"
    )
