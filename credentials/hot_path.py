"""The SQL of the lookups that every service call makes, written out once.

Measured on this project's hardware, Django's ORM spends about 1.3 ms compiling a select_related
lookup whose execution takes 0.07 ms (docs/performance.md). These statements are built once from
the models' table names and run through Django's own cursor, so connection handling,
parameter quoting and transactions stay Django's. Times are compared inside SQL, with the
parameter adapted by the backend, so that no stored datetime needs converting here.
"""

from functools import cache

from django.db import connection


def insert(statement, params):
    """Run an INSERT ... RETURNING id and return the new row's id."""
    return fetch_one(statement, params)[0]


def fetch_one(statement, params):
    with connection.cursor() as cursor:
        cursor.execute(statement(), params)
        return cursor.fetchone()


def db_time(value):
    """A datetime as the backend stores it, for comparisons inside SQL."""
    return connection.ops.adapt_datetimefield_value(value)


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
def client_secret():
    """Params: digest, now. Row: secret digest, client id, client_id, name, group id, for a secret
    that is current or still in its grace period."""
    t = _tables()
    return (
        "SELECT s.digest, c.id, c.client_id, c.name, c.group_id "
        f"FROM {t['secret']} s JOIN {t['client']} c ON c.id = s.client_id "
        "WHERE s.digest = %s AND (s.expires_at IS NULL OR s.expires_at > %s)"
    )


@cache
def lockout():
    """Params: now, client key, address. Row: id, whether the pair is locked now."""
    t = _tables()
    return (
        "SELECT l.id, (l.locked_until IS NOT NULL AND l.locked_until > %s) "
        f"FROM {t['lockout']} l WHERE l.client_key = %s AND l.address = %s"
    )


@cache
def new_access_token():
    """Params: client id, family id or None, digest, created, expires. Returns the new id."""
    t = _tables()
    return (
        f"INSERT INTO {t['token']} (client_id, family_id, digest, created_at, expires_at, revoked_at) "
        "VALUES (%s, %s, %s, %s, %s, NULL) RETURNING id"
    )


@cache
def new_token_family():
    """Params: client id, created, expires. Returns the new id."""
    t = _tables()
    return (
        f"INSERT INTO {t['family']} (client_id, created_at, expires_at, revoked_at) "
        "VALUES (%s, %s, %s, NULL) RETURNING id"
    )


@cache
def new_refresh_token():
    """Params: family id, parent id or None, access token id, digest, created. Returns the new id."""
    t = _tables()
    return (
        f"INSERT INTO {t['refresh']} (family_id, parent_id, access_token_id, digest, created_at, used_at, "
        "grace_used) VALUES (%s, %s, %s, %s, %s, NULL, %s) RETURNING id"
    )


@cache
def refresh_token():
    """Params: digest. Row: id, digest, family id."""
    return f"SELECT r.id, r.digest, r.family_id FROM {_tables()['refresh']} r WHERE r.digest = %s"
