"""Bulk rows for `make bench SCALE=N`: N access tokens (nine in ten expired), N/10 API key
credentials (two keys each) and N/100 OAuth clients, loaded with PostgreSQL's COPY.

The values are random stand-ins: only their digests and shapes matter to the lookups measured.
"""

import secrets
import uuid
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from credentials.models import AccessToken, ApiKey, ApiKeyCredential, OAuthClient
from groups.models import Group

GROUPS = 100


def _copy(table, columns, rows):
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _ids(model, **filters):
    return list(model.objects.filter(**filters).order_by("pk").values_list("pk", flat=True))


def seed(tokens):
    if connection.vendor != "postgresql":
        raise SystemExit("SCALE needs PostgreSQL: set DATABASE_URL=postgres://...")
    now = timezone.now()
    Group.objects.filter(slug__startswith="scale-").delete()
    Group.objects.bulk_create([Group(name=f"Scale {n}", slug=f"scale-{n}") for n in range(GROUPS)])
    groups = _ids(Group, slug__startswith="scale-")
    credentials, clients = tokens // 10, tokens // 100

    _copy(
        ApiKeyCredential._meta.db_table,
        ["public_id", "group_id", "name", "created_at"],
        ((uuid.uuid4(), groups[n % GROUPS], f"key-{n}", now) for n in range(credentials)),
    )
    credential_ids = _ids(ApiKeyCredential, group_id__in=groups)
    _copy(
        ApiKey._meta.db_table,
        ["credential_id", "slot", "digest", "encrypted", "hint", "created_at"],
        (
            (credential, slot, secrets.token_hex(32), "-", "gpk_…", now)
            for credential in credential_ids
            for slot in ("primary", "secondary")
        ),
    )
    _copy(
        OAuthClient._meta.db_table,
        ["public_id", "group_id", "name", "client_id", "created_at"],
        (
            (uuid.uuid4(), groups[n % GROUPS], f"client-{n}", f"gpc_scale{n:017d}", now)
            for n in range(clients)
        ),
    )
    client_ids = _ids(OAuthClient, group_id__in=groups)
    expired, live = now - timedelta(hours=2), now + timedelta(hours=1)
    _copy(
        AccessToken._meta.db_table,
        ["client_id", "digest", "created_at", "expires_at"],
        (
            (client_ids[n % len(client_ids)], secrets.token_hex(32), now, expired if n % 10 else live)
            for n in range(tokens)
        ),
    )
    # What autovacuum does soon after such a load: left to it, it would run during the
    # measurements and charge its work (and the first reads' hint-bit writes) to the lookups.
    with connection.cursor() as cursor:
        for model in (ApiKeyCredential, ApiKey, OAuthClient, AccessToken):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")


def query_plans(api_key, access_token):
    """EXPLAIN ANALYZE of the two verification lookups, as PostgreSQL runs them."""
    from credentials import secrets as portal_secrets
    from credentials import sql

    now = timezone.now()
    plans = {}
    with connection.cursor() as cursor:
        for name, statement, params in [
            (
                "api key",
                sql.API_KEY_IDENTITY,
                {"stale_before": now, "digest": portal_secrets.digest(api_key)},
            ),
            (
                "access token",
                sql.ACCESS_TOKEN_IDENTITY,
                {"digest": portal_secrets.digest(access_token), "now": now},
            ),
        ]:
            # Twice: the first planning in a new connection also loads the catalogs' caches, which a
            # worker's persistent connection has done long before.
            for _ in range(2):
                cursor.execute("EXPLAIN ANALYZE " + statement, params)
                plans[name] = "\n".join(row[0] for row in cursor.fetchall())
    return plans
