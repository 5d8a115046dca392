"""The statements of the hot path: verification, client authentication and token writes.

Statements only: the rules that run them are the models' managers (credentials.models). They
take named parameters and run on Django's connection, so connecting, health checks,
transactions, query logging and database errors stay Django's. Hand-written rather than built by
the ORM, whose compilation costs more than the indexed lookup itself (docs/performance.md).
Table names are the models' (tests/credentials/test_sql.py checks them).
"""

from datetime import datetime

from django.db import connection

API_KEY = "credentials_apikey"
API_KEY_CREDENTIAL = "credentials_apikeycredential"
GROUP = "groups_group"
OAUTH_CLIENT = "credentials_oauthclient"
CLIENT_SECRET = "credentials_clientsecret"
ACCESS_TOKEN = "credentials_accesstoken"
TOKEN_FAMILY = "credentials_tokenfamily"
REFRESH_TOKEN = "credentials_refreshtoken"
LOCKOUT = "credentials_lockout"
KEY_USAGE = "credentials_keyusage"
CLIENT_USAGE = "credentials_clientusage"
ADDRESS_REFUSAL = "credentials_addressrefusal"


def one(statement, **params):
    """The first row of `statement` as {column: value}, or None."""
    with connection.cursor() as cursor:
        cursor.execute(statement, _adapted(params))
        row = cursor.fetchone()
        return None if row is None else dict(zip(_columns(statement, cursor), row, strict=True))


_column_names = {}


def _columns(statement, cursor):
    """The names of `statement`'s columns, read from the driver once per statement and process:
    psycopg builds its description anew at each read."""
    names = _column_names.get(statement)
    if names is None:
        names = _column_names[statement] = tuple(column[0] for column in cursor.description)
    return names


def run(statement, **params):
    """Run `statement`; returns the number of rows it changed."""
    with connection.cursor() as cursor:
        cursor.execute(statement, _adapted(params))
        return cursor.rowcount


def _adapted(params):
    """Datetimes as the backend stores them, so that SQL compares them as the ORM would."""
    adapt = connection.ops.adapt_datetimefield_value
    return {name: adapt(value) if isinstance(value, datetime) else value for name, value in params.items()}


def as_datetime(value):
    """A datetime column read by a statement here, as the ORM reads it (aware, UTC)."""
    convert = getattr(connection.ops, "convert_datetimefield_value", None)  # SQLite has one
    return value if convert is None or value is None else convert(value, None, connection)


# Verification: one indexed lookup by digest, joined to what an Identity names. The row of a key
# that may not pass (its credential expired, its group suspended) says why, for the metrics: the
# caller refuses it as a wrong key.
API_KEY_IDENTITY = (
    "SELECT k.id, k.digest, k.slot, c.name AS credential, c.expires_at, c.scopes, g.slug AS group_slug, "
    "g.name AS group_name, c.id AS credential_pk, c.rate_limit, c.allowed_networks, "
    "k.created_at AS key_created_at, g.max_credential_age_days, g.max_age_enforced, "
    "(k.last_used_at IS NULL OR k.last_used_at < %(stale_before)s) AS stale, "
    "(g.suspended_at IS NOT NULL) AS suspended, "
    "(c.expires_at IS NOT NULL AND c.expires_at <= %(now)s) AS expired "
    f"FROM {API_KEY} k JOIN {API_KEY_CREDENTIAL} c ON c.id = k.credential_id "
    f"JOIN {GROUP} g ON g.id = c.group_id WHERE k.digest = %(digest)s"
)

ACCESS_TOKEN_IDENTITY = (
    "SELECT a.digest, a.expires_at, a.scope, c.scopes, c.name AS credential, g.slug AS group_slug, "
    "g.name AS group_name, c.id AS credential_pk, c.rate_limit, c.allowed_networks, "
    "(g.suspended_at IS NOT NULL) AS suspended, (a.revoked_at IS NOT NULL) AS revoked, "
    "(a.expires_at <= %(now)s) AS expired "
    f"FROM {ACCESS_TOKEN} a JOIN {OAUTH_CLIENT} c ON c.id = a.client_id "
    f"JOIN {GROUP} g ON g.id = c.group_id WHERE a.digest = %(digest)s"
)

# Client authentication: always one row. The (client key, address) pair's failure record, if
# any, and whether it is locked; then the client owning a working (unexpired) secret with this
# digest, if any, and whether its group is suspended.
CLIENT_AUTHENTICATION = (
    "SELECT l.id AS lockout_id, (l.locked_until IS NOT NULL AND l.locked_until > %(now)s) AS locked, "
    "s.digest, s.id AS secret_pk, s.created_at AS secret_created_at, c.id AS client_pk, c.client_id, "
    "c.name, c.group_id, c.scopes, c.allowed_networks, g.max_credential_age_days, g.max_age_enforced, "
    "(g.suspended_at IS NOT NULL) AS suspended "
    "FROM (SELECT 1) AS one "
    f"LEFT JOIN {LOCKOUT} l ON l.client_key = %(client_key)s AND l.address = %(address)s "
    f"LEFT JOIN {CLIENT_SECRET} s ON s.digest = %(digest)s "
    "AND (s.expires_at IS NULL OR s.expires_at > %(now)s) "
    f"LEFT JOIN {OAUTH_CLIENT} c ON c.id = s.client_id "
    f"LEFT JOIN {GROUP} g ON g.id = c.group_id"
)

# A failed authentication, counted under the pair's row lock (an upsert), so that however many
# requests race, the LOCKOUT_THRESHOLD-th consecutive failure locks the pair. A run of failures
# starts again after a lock ran out or once the last failure is a lock period old. Returns the
# row if the failure was counted; no row if the pair was locked already (the lock stays).
_FAILURES = (
    f"CASE WHEN {LOCKOUT}.locked_until IS NOT NULL OR {LOCKOUT}.last_failure_at < %(stale_before)s "
    f"THEN 1 ELSE {LOCKOUT}.failures + 1 END"
)
COUNT_FAILURE = (
    f"INSERT INTO {LOCKOUT} (client_key, address, failures, last_failure_at, locked_until) "
    "VALUES (%(client_key)s, %(address)s, 1, %(now)s, "
    "CASE WHEN %(threshold)s <= 1 THEN %(locked_until)s END) "
    "ON CONFLICT (client_key, address) DO UPDATE SET "
    f"failures = {_FAILURES}, last_failure_at = %(now)s, "
    f"locked_until = CASE WHEN {_FAILURES} >= %(threshold)s THEN %(locked_until)s END "
    f"WHERE {LOCKOUT}.locked_until IS NULL OR {LOCKOUT}.locked_until <= %(now)s "
    "RETURNING failures, locked_until"
)

# The columns of the token tables' INSERTs, and their values by parameter name. A token's scope
# (NULL: the client's grant at use) is given by each statement: a family's tokens copy its own.
_ACCESS = "(client_id, family_id, scope, digest, created_at, expires_at, revoked_at)"
_ACCESS_VALUES = "%(access_digest)s, %(now)s, %(access_expires_at)s, NULL"
_FAMILY = "(client_id, scope, created_at, expires_at, revoked_at)"
_FAMILY_VALUES = "%(now)s, %(family_expires_at)s, NULL"
_REFRESH = "(family_id, parent_id, access_token_id, digest, created_at, used_at, grace_used)"
_REFRESH_VALUES = "%(refresh_digest)s, %(now)s, NULL, FALSE"

INSERT_ACCESS_TOKEN = (
    f"INSERT INTO {ACCESS_TOKEN} {_ACCESS} "
    f"VALUES (%(client_pk)s, %(family_id)s, %(scope)s, {_ACCESS_VALUES}) RETURNING id"
)
INSERT_TOKEN_FAMILY = (
    f"INSERT INTO {TOKEN_FAMILY} {_FAMILY} VALUES (%(client_pk)s, %(scope)s, {_FAMILY_VALUES}) RETURNING id"
)
INSERT_REFRESH_TOKEN = (
    f"INSERT INTO {REFRESH_TOKEN} {_REFRESH} "
    f"VALUES (%(family_id)s, %(parent_id)s, %(access_id)s, {_REFRESH_VALUES}) RETURNING id"
)


def _authenticated(writes):
    """PostgreSQL: CLIENT_AUTHENTICATION, then `writes` (data-modifying WITH queries ending with one
    named `new`) for `ok`: the client, if the secret is its own, the pair has no failures on
    record and no policy applies (allowed networks, an enforced maximum age). Anything else writes
    nothing and the manager decides (credentials.models).

    The statement's transaction commits without waiting for the WAL flush (synchronous_commit off
    for it alone): a new token lost to a crash of PostgreSQL itself fails closed, its holder asks
    again, as when a token expires (docs/security.md, "Issued tokens")."""
    return (
        "WITH quick_commit AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true)), "
        f"auth AS MATERIALIZED ({CLIENT_AUTHENTICATION}), "
        "ok AS (SELECT client_pk AS id FROM auth "
        "WHERE lockout_id IS NULL AND client_id = %(client_id)s AND NOT suspended "
        "AND allowed_networks IS NULL AND NOT max_age_enforced), "
        f"{writes} SELECT auth.*, new.* FROM quick_commit, auth LEFT JOIN new ON TRUE"
    )


# POST /v2/tokens on PostgreSQL: authentication and the access token in one round trip. Only for
# requests without `scope` (NULL: the client's grant), which need no check before the write.
AUTHENTICATE_AND_ISSUE_ACCESS_TOKEN = _authenticated(
    f"new AS (INSERT INTO {ACCESS_TOKEN} {_ACCESS} SELECT id, NULL, NULL, {_ACCESS_VALUES} FROM ok "
    "RETURNING id AS access_id)"
)

# POST /v1/tokens on PostgreSQL: authentication, a new family and its first pair (no `scope`).
AUTHENTICATE_AND_ISSUE_TOKEN_PAIR = _authenticated(
    f"family AS (INSERT INTO {TOKEN_FAMILY} {_FAMILY} SELECT id, NULL, {_FAMILY_VALUES} FROM ok "
    "RETURNING id, client_id), "
    f"access AS (INSERT INTO {ACCESS_TOKEN} {_ACCESS} SELECT client_id, id, NULL, {_ACCESS_VALUES} "
    "FROM family RETURNING id, family_id), "
    f"new AS (INSERT INTO {REFRESH_TOKEN} {_REFRESH} SELECT family_id, NULL, id, {_REFRESH_VALUES} "
    "FROM access RETURNING family_id, access_token_id AS access_id, id AS refresh_id)"
)

# PATCH /v1/tokens, the usual case: the unused refresh token of a live family. Locks the family
# (every rotation of a family takes this lock first), marks the token used if it was not, and
# issues the next pair. No row and no change for any other token.
ROTATE_CURRENT = (
    "WITH family AS MATERIALIZED ("
    f"SELECT f.id, f.client_id, f.expires_at, f.scope FROM {TOKEN_FAMILY} f "
    f"JOIN {REFRESH_TOKEN} r ON r.family_id = f.id "
    "WHERE r.digest = %(digest)s AND f.revoked_at IS NULL AND f.expires_at > %(now)s FOR UPDATE OF f), "
    f"used AS (UPDATE {REFRESH_TOKEN} r SET used_at = %(now)s FROM family f "
    "WHERE r.family_id = f.id AND r.digest = %(digest)s AND r.used_at IS NULL "
    "RETURNING r.id, r.family_id, f.client_id, f.expires_at, f.scope), "
    f"access AS (INSERT INTO {ACCESS_TOKEN} {_ACCESS} SELECT client_id, family_id, scope, {_ACCESS_VALUES} "
    "FROM used RETURNING id), "
    f"new AS (INSERT INTO {REFRESH_TOKEN} {_REFRESH} SELECT u.family_id, u.id, a.id, {_REFRESH_VALUES} "
    "FROM used u, access a RETURNING id) "
    "SELECT u.family_id, u.client_id, u.expires_at AS family_expires_at, u.scope, a.id AS access_id, "
    f"new.id AS refresh_id, c.allowed_networks FROM used u JOIN {OAUTH_CLIENT} c ON c.id = u.client_id, "
    "access a, new"
)

# The same rule where the database has no data-modifying WITH (SQLite, whose write transactions
# here are IMMEDIATE and so already serialised): the token's family if it is live and the token
# unused, then MARK_USED and the two INSERTs.
CURRENT_REFRESH_TOKEN = (
    "SELECT r.id, r.family_id, f.client_id, f.expires_at AS family_expires_at, f.scope, c.allowed_networks "
    f"FROM {REFRESH_TOKEN} r JOIN {TOKEN_FAMILY} f ON f.id = r.family_id "
    f"JOIN {OAUTH_CLIENT} c ON c.id = f.client_id "
    "WHERE r.digest = %(digest)s AND r.used_at IS NULL AND f.revoked_at IS NULL AND f.expires_at > %(now)s"
)
MARK_USED = f"UPDATE {REFRESH_TOKEN} SET used_at = %(now)s WHERE id = %(id)s AND used_at IS NULL"


def _add_usage(table, owner_table, key_columns):
    """An upsert adding one worker's count of an hour to `table`'s row for (`key_columns`), and
    keeping the later of the two last uses. Nothing is written for an owner deleted meanwhile."""
    values = "%(owner)s, %(secret)s, " if "secret_id" in key_columns else "%(owner)s, "
    later = f"excluded.last_used_at > {table}.last_used_at"
    return (
        f"INSERT INTO {table} ({key_columns}, hour, requests, last_used_at, last_used_address, last_method) "
        f"SELECT {values}%(hour)s, %(requests)s, %(last_used_at)s, %(address)s, %(method)s "
        f"WHERE EXISTS (SELECT 1 FROM {owner_table} WHERE id = %(owner)s) "
        f"ON CONFLICT ({key_columns}, hour) DO UPDATE SET requests = {table}.requests + excluded.requests, "
        f"last_used_at = CASE WHEN {later} THEN excluded.last_used_at ELSE {table}.last_used_at END, "
        f"last_used_address = CASE WHEN {later} THEN excluded.last_used_address "
        f"ELSE {table}.last_used_address END, "
        f"last_method = CASE WHEN {later} THEN excluded.last_method ELSE {table}.last_method END"
    )


# Usage counts (credentials.usage): requests per hour of an API key slot, and of a client secret.
ADD_KEY_USAGE = _add_usage(KEY_USAGE, API_KEY, "key_id")
ADD_SECRET_USAGE = _add_usage(CLIENT_USAGE, OAUTH_CLIENT, "client_id, secret_id")


def _add_refusals(column, owner_table):
    """An upsert adding one worker's count of an hour's address refusals of one credential (in
    `column`), keeping the later last refusal; as _add_usage, nothing for a deleted credential."""
    later = f"excluded.last_refused_at > {ADDRESS_REFUSAL}.last_refused_at"
    return (
        f"INSERT INTO {ADDRESS_REFUSAL} ({column}, hour, refused, last_refused_at, last_refused_address) "
        "SELECT %(owner)s, %(hour)s, %(requests)s, %(last_used_at)s, %(address)s "
        f"WHERE EXISTS (SELECT 1 FROM {owner_table} WHERE id = %(owner)s) "
        f"ON CONFLICT ({column}, hour) DO UPDATE SET refused = {ADDRESS_REFUSAL}.refused + excluded.refused, "
        f"last_refused_at = CASE WHEN {later} THEN excluded.last_refused_at "
        f"ELSE {ADDRESS_REFUSAL}.last_refused_at END, "
        f"last_refused_address = CASE WHEN {later} THEN excluded.last_refused_address "
        f"ELSE {ADDRESS_REFUSAL}.last_refused_address END"
    )


# Refusals by address (credentials.usage): per API key credential, and per OAuth client.
ADD_KEY_REFUSALS = _add_refusals("api_key_credential_id", API_KEY_CREDENTIAL)
ADD_CLIENT_REFUSALS = _add_refusals("oauth_client_id", OAUTH_CLIENT)
