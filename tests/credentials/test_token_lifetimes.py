"""Token lifetimes against a controlled clock: access tokens last ACCESS_TOKEN_TTL from issue, and a
refresh chain ends REFRESH_TOKEN_TTL after its first issue however often it rotates (ASVS 10.4.8)."""

import base64
import json
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils import timezone

from credentials.models import TokenFamily
from tests.conftest import make_group, make_oauth_client

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def clock(monkeypatch):
    """timezone.now() under the test's control, starting at the real time."""
    state = SimpleNamespace(now=timezone.now())
    state.advance = lambda seconds: setattr(state, "now", state.now + timedelta(seconds=seconds))
    monkeypatch.setattr(timezone, "now", lambda: state.now)
    return state


@pytest.fixture
def oauth(db):
    return make_oauth_client(make_group())


def token_v2(client, secret):
    authorization = "Basic " + base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    body = urlencode({"grant_type": "client_credentials"})
    return Client().post("/v2/tokens", body, content_type=FORM, headers={"Authorization": authorization})


def issue_v1(client, secret):
    body = json.dumps({"clientId": client.client_id, "clientSecret": secret})
    return Client().post("/v1/tokens", body, content_type="application/json").json()


def refresh(refresh_token):
    body = json.dumps({"refreshToken": refresh_token})
    return Client().patch("/v1/tokens", body, content_type="application/json")


def whoami(access_token):
    return Client().get("/v1/whoami", headers={"X-Access-Token": access_token}).status_code


def test_access_token_works_until_one_second_before_its_hour_ends(clock, oauth):
    access_token = token_v2(*oauth).json()["access_token"]

    clock.advance(3599)

    assert whoami(access_token) == 200


def test_access_token_is_refused_when_its_hour_ends(clock, oauth):
    access_token = token_v2(*oauth).json()["access_token"]

    clock.advance(3600)

    assert whoami(access_token) == 401
    assert Client().get("/v1/verify", headers={"X-Access-Token": access_token}).status_code == 401


def test_conventional_access_token_also_lasts_exactly_an_hour(clock, oauth):
    access_token = issue_v1(*oauth)["accessToken"]

    clock.advance(3599)
    assert whoami(access_token) == 200
    clock.advance(1)
    assert whoami(access_token) == 401


def test_refreshed_access_token_lasts_an_hour_from_its_own_issue(clock, oauth):
    first = issue_v1(*oauth)
    clock.advance(3000)
    access_token = refresh(first["refreshToken"]).json()["accessToken"]

    clock.advance(3599)
    assert whoami(access_token) == 200
    clock.advance(1)
    assert whoami(access_token) == 401


def test_refresh_chain_ends_a_day_after_the_first_issue_however_often_it_rotates(clock, oauth):
    refresh_token = issue_v1(*oauth)["refreshToken"]
    for _ in range(28):  # every 50 minutes: the last rotation is at 23 h 20 min
        clock.advance(50 * 60)
        response = refresh(refresh_token)
        assert response.status_code == 200
        refresh_token = response.json()["refreshToken"]

    clock.advance(86400 + 1 - 28 * 50 * 60)
    response = refresh(refresh_token)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_refresh_one_second_before_the_chain_ends_still_works(clock, oauth):
    first = issue_v1(*oauth)

    clock.advance(86399)
    response = refresh(first["refreshToken"])

    assert response.status_code == 200
    assert response.json()["refreshTokenExpiresIn"] == 1


def test_refresh_token_expires_in_counts_down_and_never_resets(clock, oauth):
    refresh_token = issue_v1(*oauth)["refreshToken"]
    remaining = []
    for _ in range(3):
        clock.advance(3 * 3600)
        body = refresh(refresh_token).json()
        remaining.append(body["refreshTokenExpiresIn"])
        refresh_token = body["refreshToken"]

    assert remaining == [86400 - 3 * 3600, 86400 - 6 * 3600, 86400 - 9 * 3600]


def test_v2_tokens_never_carry_a_refresh_token(oauth):
    bodies = [token_v2(*oauth).json() for _ in range(3)]

    assert all(set(body) == {"access_token", "token_type", "expires_in"} for body in bodies)
    assert not TokenFamily.objects.exists()
