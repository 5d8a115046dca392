"""The shared cast: a group with an owner, an admin, a viewer, an outsider, and a staff user."""

import logging
import re
import threading
import uuid
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import URLResolver, get_resolver

from credentials import ratelimit, secrets, usage
from credentials.models import AccessToken, ApiKey, ApiKeyCredential, CredentialRefused, OAuthClient
from credentials.secrets import Kind
from groups.models import Action, Activity, Group, Membership, Role
from portal import context

PASSWORD = "correct horse battery staple 42"

# Anything shaped like a key, secret or token of this portal (see credentials/secrets.py).
SECRET_SHAPE = re.compile(r"gp[kasru]_[0-9A-Za-z]{49}")


class _RecordingHandler(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.leaks = []

    def emit(self, record):
        text = f"{record.getMessage()} {record.exc_text or ''}"
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        if SECRET_SHAPE.search(text):
            self.leaks.append(f"{record.name}: {SECRET_SHAPE.sub('<secret>', text)[:200]}")


# Figures a test wants shown after the run (pytest's capture hides what tests print when they pass),
# by label: a module whose tests pytest-django splits into two groups reports once, with its totals.
SUMMARY = {}


def report(label, figures):
    SUMMARY[label] = f"{label}: {figures}"


def pytest_terminal_summary(terminalreporter):
    for line in SUMMARY.values():
        terminalreporter.write_line(line)


# The management API's operations (automation.api), under /api/manage/v1/: in the same OpenAPI
# document, fuzzed with the others (tests/test_api_schema.py); hostile bodies in tests/manage/.
_M = "/api/manage/v1/groups"
MANAGE_OPERATIONS = [
    ("GET", f"{_M}/"),
    ("POST", f"{_M}/"),
    ("GET", f"{_M}/{{slug}}/"),
    ("POST", f"{_M}/{{slug}}/suspend/"),
    ("POST", f"{_M}/{{slug}}/resume/"),
    ("GET", f"{_M}/{{slug}}/policy/"),
    ("PUT", f"{_M}/{{slug}}/policy/"),
    ("GET", f"{_M}/{{slug}}/services/"),
    ("POST", f"{_M}/{{slug}}/services/"),
    ("DELETE", f"{_M}/{{slug}}/services/{{service}}/"),
    ("GET", f"{_M}/{{slug}}/members/"),
    ("POST", f"{_M}/{{slug}}/members/"),
    ("GET", f"{_M}/{{slug}}/members/{{username}}/"),
    ("PATCH", f"{_M}/{{slug}}/members/{{username}}/"),
    ("DELETE", f"{_M}/{{slug}}/members/{{username}}/"),
    ("GET", f"{_M}/{{slug}}/api-keys/"),
    ("POST", f"{_M}/{{slug}}/api-keys/"),
    ("GET", f"{_M}/{{slug}}/api-keys/{{public_id}}/"),
    ("DELETE", f"{_M}/{{slug}}/api-keys/{{public_id}}/"),
    ("POST", f"{_M}/{{slug}}/api-keys/{{public_id}}/expiry/"),
    ("POST", f"{_M}/{{slug}}/api-keys/{{public_id}}/scopes/"),
    ("POST", f"{_M}/{{slug}}/api-keys/{{public_id}}/rate-limit/"),
    ("GET", f"{_M}/{{slug}}/api-keys/{{public_id}}/networks/"),
    ("PUT", f"{_M}/{{slug}}/api-keys/{{public_id}}/networks/"),
    ("POST", f"{_M}/{{slug}}/api-keys/{{public_id}}/{{slot}}/regenerate/"),
    ("POST", f"{_M}/{{slug}}/api-keys/{{public_id}}/{{slot}}/reveal/"),
    ("GET", f"{_M}/{{slug}}/oauth-clients/"),
    ("POST", f"{_M}/{{slug}}/oauth-clients/"),
    ("GET", f"{_M}/{{slug}}/oauth-clients/{{public_id}}/"),
    ("DELETE", f"{_M}/{{slug}}/oauth-clients/{{public_id}}/"),
    ("POST", f"{_M}/{{slug}}/oauth-clients/{{public_id}}/secret/regenerate/"),
    ("POST", f"{_M}/{{slug}}/oauth-clients/{{public_id}}/scopes/"),
    ("POST", f"{_M}/{{slug}}/oauth-clients/{{public_id}}/rate-limit/"),
    ("GET", f"{_M}/{{slug}}/oauth-clients/{{public_id}}/networks/"),
    ("PUT", f"{_M}/{{slug}}/oauth-clients/{{public_id}}/networks/"),
    ("POST", f"{_M}/{{slug}}/oauth-clients/{{public_id}}/end-grace/"),
    ("POST", f"{_M}/{{slug}}/oauth-clients/{{public_id}}/unlock/"),
    ("GET", f"{_M}/{{slug}}/activity/"),
]

# The API operations, as documented in the OpenAPI schema (tests assert that both agree).
API_OPERATIONS = [
    ("POST", "/v2/tokens"),
    ("POST", "/v2/tokens/revoke"),
    ("POST", "/v1/tokens"),
    ("PATCH", "/v1/tokens"),
    ("GET", "/v1/whoami"),
    ("GET", "/v1/verify"),
    ("POST", "/v2/tokens/introspect"),
]


def url_patterns(patterns=None, prefix="", namespace=""):
    """Every URL pattern of the project: (namespaced name, route without the leading slash, view)."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from url_patterns(entry.url_patterns, route, inner)
        else:
            yield f"{namespace}{entry.name}", route, entry.callback


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_any_log_line():
    """Every log record of the whole run, at every level, is checked for a secret-shaped value."""
    handler = _RecordingHandler()
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield
    root.removeHandler(handler)
    root.setLevel(previous_level)
    assert not handler.leaks, f"secret-shaped values were logged: {handler.leaks}"


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    # The manifest storage needs `collectstatic`; tests render templates without it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    # Each test creates several users; the production hasher (Argon2) would make that slow.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def no_verification_memory(settings):
    # Tests check refusals right after a change; the one-second memory has tests of its own.
    settings.VERIFY_CACHE_SECONDS = 0


@pytest.fixture(autouse=True)
def no_request_left_current():
    # A real server closes every response, which ends its request (portal.context); a test client
    # that does not (schemathesis's WSGI one) would leave it current, and Activity written by the
    # next test's set-up would take its actor from a user that test never had.
    context._current.set(None)
    yield
    context._current.set(None)


@pytest.fixture(autouse=True)
def fresh_usage_counts():
    # Each test starts with no usage counted and a full USAGE_FLUSH_SECONDS before the next flush,
    # so that no test writes counts left by another (tests/credentials/test_usage.py flushes).
    usage.counter.pending.clear()
    usage.counter.flushed_at = usage.counter.clock()


@pytest.fixture(autouse=True)
def fresh_rate_limit_counts(settings, tmp_path):
    # Each test counts from zero in a store of its own: a SQLite file in its directory, or its own
    # keys in Redis (primary keys repeat from one test to the next).
    settings.RATE_LIMIT_PATH = str(tmp_path / "ratelimit.sqlite3")
    ratelimit.reset_store()
    if settings.REDIS_URL:
        prefix = f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:test:{uuid.uuid4().hex}"
        ratelimit._store = ratelimit.RedisStore(settings.REDIS_URL, prefix)
    yield
    ratelimit.reset_store()


def make_user(username, **extra):
    return get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)


def make_group(name="Payments", slug=None, description=""):
    return Group.objects.create(
        name=name, slug=slug or name.lower().replace(" ", "-"), description=description
    )


def make_member(group, role=Role.VIEWER, username=None):
    user = make_user(username or f"{role}-{group.slug}")
    Membership.objects.create(user=user, group=group, role=role)
    return user


def make_api_key(group, name="Billing app", created_by=None):
    """An API key credential in `group`; returns it and its values {slot: raw}."""
    return ApiKeyCredential.create_with_keys(group, name, created_by)


def make_oauth_client(group, name="Checkout", created_by=None):
    """An OAuth client in `group`; returns it and its secret's value."""
    return OAuthClient.create_with_secret(group, name, created_by)


def key_identity(value, address=None):
    """The Identity an API key value verifies as, or None if refused, through the model's lookup."""
    digest = secrets.digest_of(value, Kind.API_KEY)
    return None if digest is None else _or_none(ApiKey.objects.identity, digest, address)


def token_identity(value):
    """The Identity an access token verifies as, or None if refused, through the model's lookup."""
    digest = secrets.digest_of(value, Kind.ACCESS_TOKEN)
    return None if digest is None else _or_none(AccessToken.objects.identity, digest)


def _or_none(lookup, *args):
    try:
        return lookup(*args)
    except CredentialRefused:
        return None


def issue_access_token(client):
    """A new access token for `client`; returns its row and its value."""
    raw = AccessToken.objects.issue(client.pk)
    return AccessToken.objects.get(digest=secrets.digest(raw)), raw


def versioned(path, obj):
    """`path` with the version of `obj` that a page showing it now carries (Versioned.claim)."""
    version = type(obj).objects.values_list("version", flat=True).get(pk=obj.pk)
    return f"{path}?version={version}"


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def post_together(*posts, accept="application/json"):
    """Each (user, path, data) posted by its own client in its own thread, with its own database
    connection, released together by a barrier; the responses (or exceptions) in the same order."""
    barrier, answers = threading.Barrier(len(posts)), [None] * len(posts)

    def post(n, client, path, data):
        try:
            barrier.wait()
            answers[n] = client.post(path, data, HTTP_ACCEPT=accept)
        except Exception as error:  # the assertion shows it, rather than a lost thread
            answers[n] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=post, args=(n, client_for(user), path, data))
        for n, (user, path, data) in enumerate(posts)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def needs_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks: run with DATABASE_URL=postgres://...")


@pytest.fixture
def cast(db):
    group = make_group("Payments", description="Card payments team")
    return SimpleNamespace(
        group=group,
        owner=make_member(group, Role.OWNER, "olivia"),
        admin=make_member(group, Role.ADMIN, "adam"),
        viewer=make_member(group, Role.VIEWER, "vera"),
        outsider=make_user("oscar"),
        staff=make_user("stella", is_staff=True),
    )


# Audit events that record attempts and sign-ins, not changes to a group.
NOT_CHANGES = {
    Action.ACCESS_REFUSED,
    Action.SIGNED_IN,
    Action.SIGN_IN_FAILED,
    Action.SIGN_IN_LOCKED,
    Action.CLIENT_AUTH_FAILED,
}


def changes():
    """Activity rows that record changes (and Shows), without the attempts and sign-ins."""
    return Activity.objects.exclude(action__in=NOT_CHANGES)


def backdate_activity(rows, when):
    """Move Activity rows to `when`, for tests of time windows. On PostgreSQL the append-only
    trigger is lifted for this transaction only, as a superuser may (the tests' role is one)."""
    from django.db import transaction

    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        rows.update(created_at=when)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")
