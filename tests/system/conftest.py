"""System tests: the portal under real gunicorn processes, with nginx, PostgreSQL and Redis.

They need what several processes can share: PostgreSQL (DATABASE_URL) and Redis (REDIS_URL).
Elsewhere, as on the embedded SQLite defaults, they are skipped with the reason printed, and so
are tests whose tool is missing (nginx, its njs module, PostgreSQL's initdb). Tests marked
`system(sqlite=True)` run on SQLite too: there their servers share a database file of the test's
own (`serve_client`).
REQUIRE_SYSTEM=1 (set by .ci/run for its PostgreSQL run) turns every such skip into a failure.

The servers use pytest-django's test database: data a test makes through the ORM under
`transactional_db` is committed, so the servers see it at once, and is flushed after the test.
"""

import glob
import json
import os
import pwd
import shutil
import subprocess
import sys
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from groups.models import Role
from tests.conftest import PASSWORD, make_api_key, make_group, make_member, make_oauth_client, report
from tests.system.support import GUNICORN, ROOT, Portal, Traffic

# The servers' verification memory (VERIFY_CACHE_SECONDS): the longest a changed credential may
# still be accepted. The test process itself runs with 0 (tests/conftest.py).
MEMORY_SECONDS = 0.5
# Variables of the test process that must not reach the servers.
NOT_FOR_SERVERS = {"DJANGO_ALLOW_ASYNC_UNSAFE", "PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST", "PYTEST_VERSION"}


def nginx_path():
    """nginx from Debian's packages (in /usr/sbin, which a non-root PATH may lack), or None."""
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    return found if os.path.exists(found) else None


# Prometheus's server, from Debian's prometheus package (tests/system/test_prometheus.py).
PROMETHEUS = "/usr/bin/prometheus"

# njs, from Debian's libnginx-mod-http-js: the gateway's cache key (deploy/nginx/gateway.js).
NJS_MODULE = "/usr/lib/nginx/modules/ngx_http_js_module.so"


def initdb_path():
    """PostgreSQL's initdb from Debian's packages (newest major version), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return found[-1] if found else None


def _user_exists(name):
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _missing(tool):
    """Why tests needing `tool` cannot run here, or None."""
    if tool == "nginx" and nginx_path() is None:
        return "no nginx: install Debian's nginx package"
    if tool == "njs" and not os.path.exists(NJS_MODULE):
        return "no njs module for nginx: install Debian's libnginx-mod-http-js package"
    if tool == "prometheus" and not os.path.exists(PROMETHEUS):
        return "no /usr/bin/prometheus: install Debian's prometheus package"
    if tool == "initdb":
        if initdb_path() is None:
            return "no /usr/lib/postgresql/*/bin/initdb: install Debian's postgresql package"
        if os.geteuid() == 0 and not (shutil.which("runuser") and _user_exists("postgres")):
            return "initdb refuses root, and there is no runuser or no postgres user to run it as"
    return None


def _missing_services(item):
    on_own_sqlite = connection.vendor == "sqlite" and item.get_closest_marker("system").kwargs.get("sqlite")
    if connection.vendor != "postgresql" and not on_own_sqlite:
        return "needs PostgreSQL shared by several processes: set DATABASE_URL=postgres://..."
    if not on_own_sqlite and not os.environ.get("REDIS_URL"):
        return "needs Redis shared by several processes: set REDIS_URL=redis://..."
    if not GUNICORN.exists():
        return f"no gunicorn at {GUNICORN}: run `make test`, which installs it"
    return None


def pytest_collection_modifyitems(config, items):
    system = [item for item in items if item.get_closest_marker("system")]
    if not system:
        return
    for item in system:
        tools = [arg for marker in item.iter_markers("system") for arg in marker.args]
        reason = _missing_services(item) or next(filter(None, map(_missing, tools)), None)
        if reason is None:
            continue
        if os.environ.get("REQUIRE_SYSTEM") == "1":
            raise pytest.UsageError(f"REQUIRE_SYSTEM=1 but {item.nodeid} cannot run: {reason}")
        item.add_marker(pytest.mark.skip(reason=f"system test skipped: {reason}"))


@pytest.fixture(autouse=True)
def fast_password_hasher():
    """The servers run the production hashers, so a password set here must use them too.

    Overrides the suite's autouse fixture of the same name (MD5, which the servers would refuse).
    """


def _database_url():
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    return f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def server_env(**overrides):
    """The environment of a server: this run's keys (so values made here verify there), this run's
    Redis (if any), production-like settings (DEBUG off), and `overrides`."""
    env = {name: value for name, value in os.environ.items() if name not in NOT_FOR_SERVERS}
    env.update(
        SECRET_KEY=settings.SECRET_KEY,
        CREDENTIALS_DIGEST_KEY=settings.CREDENTIALS_DIGEST_KEY,
        CREDENTIALS_ENCRYPTION_KEY=",".join(settings.CREDENTIALS_ENCRYPTION_KEY),
        CACHE_KEY_PREFIX=f"{os.environ.get('CACHE_KEY_PREFIX', 'portal')}-system-{os.getpid()}",
        VERIFY_CACHE_SECONDS=str(MEMORY_SECONDS),
        DEBUG="false",
        LOG_LEVEL="INFO",
    )
    env.update(overrides)
    return env


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory, request):
    return tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])


@pytest.fixture(scope="session")
def static_files():
    """Collect static files as `make run` does: with DEBUG off, pages need the manifest."""
    command = [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"]
    subprocess.run(command, cwd=ROOT, env=server_env(), check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def start_portal(django_db_setup, static_files, log_dir):
    """Start portals on the test database; each is stopped when the module ends, and its logs must
    hold no secret."""
    started = []

    def start(name, workers=2, **env):
        overrides = {"DATABASE_URL": _database_url(), **env}
        portal = Portal(name, server_env(**overrides), log_dir, workers=workers)
        started.append(portal)
        return portal

    yield start
    for portal in started:
        portal.stop()
    leaks = [line for portal in started for line in portal.leaked_secrets()]
    assert not leaks, f"secret-shaped values in the servers' logs: {leaks}"


def seed(name="Payments"):
    """A group with an owner, an API key credential and an OAuth client, committed."""
    group = make_group(name)
    owner = make_member(group, Role.OWNER, f"owner-{group.slug}")
    credential, keys = make_api_key(group, "Billing service", owner)
    client, secret = make_oauth_client(group, "Checkout", owner)
    return SimpleNamespace(
        group=group,
        owner=owner,
        password=PASSWORD,
        credential=credential,
        keys=keys,
        client=client,
        secret=secret,
    )


def seed_database(database_url):
    """Migrate the database at `database_url` and seed it (seed_cluster.py) in a subprocess; its
    values come back through a pipe, never a log."""
    env = server_env(DATABASE_URL=database_url)
    command = [sys.executable, "tests/system/seed_cluster.py"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"seeding the database failed: {result.stderr[-1000:]}"
    return json.loads(result.stdout)


@pytest.fixture
def serve_client(start_portal, tmp_path):
    """Start a portal of `workers` workers serving an OAuth client: (portal, client ID, secret).

    On PostgreSQL the portal uses the test database; on SQLite, whose test database lives in this
    process's memory, a database file of its own (and a file cache beside it, without Redis).
    """

    def serve(workers=2):
        if connection.vendor == "postgresql":
            data = seed()
            return start_portal(tmp_path.name, workers), data.client.client_id, data.secret
        database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
        seeded = seed_database(database_url)
        cache = {} if os.environ.get("REDIS_URL") else {"CACHE_DIR": str(tmp_path / "cache")}
        portal = start_portal(tmp_path.name, workers, DATABASE_URL=database_url, **cache)
        return portal, seeded["client_id"], seeded["client_secret"]

    return serve


@pytest.fixture(scope="module")
def traffic(request):
    """Counts the module's requests; its summary line is printed at the end of the run."""
    counted = Traffic()
    yield counted
    report(request.module.LABEL, counted.summary())
