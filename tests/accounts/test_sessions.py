"""How long a portal session lasts: 30 minutes idle, 12 hours after sign-in whatever the activity."""

import time

from tests.accounts.conftest import age_session
from tests.conftest import client_for


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
