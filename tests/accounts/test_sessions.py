"""How long a portal session lasts: 30 minutes idle, 12 hours after sign-in whatever the activity."""

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.accounts.conftest import age_session
from tests.conftest import client_for

ROOT = Path(__file__).resolve().parents[2]


def test_an_idle_session_ends_after_30_minutes(cast):
    client = client_for(cast.owner)
    age_session(client, seen_at=29 * 60)
    assert client.get("/groups/").status_code == 200
    age_session(client, seen_at=31 * 60)
    response = client.get("/groups/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_busy_session_still_ends_12_hours_after_sign_in(cast):
    client = client_for(cast.owner)
    age_session(client, signed_in_at=12 * 3600 - 60, seen_at=10)
    assert client.get("/groups/").status_code == 200
    age_session(client, signed_in_at=12 * 3600 + 1, seen_at=10)
    assert client.get("/groups/").status_code == 302


def test_activity_refreshes_the_idle_clock_at_most_once_a_minute(cast):
    client = client_for(cast.owner)
    age_session(client, seen_at=30)
    seen = client.session["seen_at"]
    client.get("/groups/")
    assert client.session["seen_at"] == seen
    age_session(client, seen_at=25 * 60)
    client.get("/groups/")
    assert time.time() - client.session["seen_at"] < 5


def test_a_sign_in_is_stamped_where_no_middleware_was_loaded(tmp_path):
    """The receivers connect in AccountsConfig.ready(), not when a middleware module happens to be
    imported: a session made by a script (make bench's, a shell) lasts like any other."""
    script = (
        "import django; django.setup()\n"
        "from django.core.management import call_command; call_command('migrate', verbosity=0)\n"
        "from django.contrib.auth import get_user_model; from django.test import Client\n"
        "client = Client(); client.force_login(get_user_model().objects.create(username='script'))\n"
        "print(sorted(client.session.keys()))\n"
    )
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
    env.pop("REDIS_URL", None)
    result = subprocess.run(  # noqa: S603 (this interpreter, a script of its own)
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    keys = result.stdout.strip().splitlines()[-1]
    assert all(stamp in keys for stamp in ("signed_in_at", "authenticated_at", "seen_at")), keys
