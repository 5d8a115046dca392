"""POST /v2/tokens/introspect (RFC 7662): a live token of the caller's group is described; any
other token is exactly {"active": false}; client authentication and lockout as at /v2/tokens."""

import base64
import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils import timezone

from credentials import secrets
from credentials.models import AccessToken, OAuthClient
from credentials.secrets import Kind
from tests.conftest import issue_access_token, make_group, make_oauth_client
from tests.portal.test_api_pool import POOLS, through

FORM = "application/x-www-form-urlencoded"
INACTIVE = b'{"active":false}'


def basic(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def introspect(caller, token=None, client=None, **params):
    """POST /v2/tokens/introspect as `caller` (client ID, secret) with HTTP Basic."""
    body = urlencode({**({"token": token} if token is not None else {}), **params})
    headers = {"Authorization": basic(*caller)}
    return (client or Client()).post("/v2/tokens/introspect", body, content_type=FORM, headers=headers)


@pytest.fixture
def resource_server(group):
    """An OAuth client of the group that resource servers authenticate as."""
    client, secret = make_oauth_client(group, "Orders API")
    return client.client_id, secret


@pytest.fixture
def app(group):
    client, secret = make_oauth_client(group, "Checkout")
    return client, secret


def test_a_live_access_token_of_the_same_group_is_described(resource_server, app):
    client, _ = app
    row, token = issue_access_token(client)

    response = introspect(resource_server, token)

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "active": True,
        "client_id": client.client_id,
        "token_type": "Bearer",
        "exp": int(row.expires_at.timestamp()),
        "iat": int(row.created_at.timestamp()),
        "group": "payments",
        "credential": "Checkout",
    }


def test_a_client_may_introspect_its_own_token(app):
    client, secret = app
    _, token = issue_access_token(client)

    assert introspect((client.client_id, secret), token).json()["active"] is True


def test_a_revoked_token_is_inactive(resource_server, app):
    client, _ = app
    row, token = issue_access_token(client)
    AccessToken.objects.filter(pk=row.pk).update(revoked_at=timezone.now())

    assert introspect(resource_server, token).content == INACTIVE


def test_an_expired_token_is_inactive(resource_server, app):
    client, _ = app
    row, token = issue_access_token(client)
    AccessToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert introspect(resource_server, token).content == INACTIVE


def test_another_groups_token_is_inactive(resource_server, db):
    other, _ = make_oauth_client(make_group("Logistics"), "Dispatch")
    _, token = issue_access_token(other)

    response = introspect(resource_server, token)

    assert response.status_code == 200
    assert response.content == INACTIVE


@pytest.mark.parametrize(
    "garbage", ["garbage", "gpa_" + "A" * 49, secrets.generate(Kind.ACCESS_TOKEN), "gpk_x", "\x00"]
)
def test_garbage_and_unknown_tokens_are_inactive(resource_server, garbage):
    response = introspect(resource_server, garbage)

    assert response.status_code == 200
    assert response.content == INACTIVE


def test_a_refresh_token_is_described_until_it_is_used(resource_server, app):
    client, secret = app
    body = json.dumps({"clientId": client.client_id, "clientSecret": secret})
    pair = Client().post("/v1/tokens", body, content_type="application/json").json()

    described = introspect(resource_server, pair["refreshToken"], token_type_hint="refresh_token").json()
    Client().patch("/v1/tokens", json.dumps({"refreshToken": pair["refreshToken"]}), "application/json")

    assert described["active"] is True
    assert described["client_id"] == client.client_id
    assert "token_type" not in described
    assert introspect(resource_server, pair["refreshToken"]).content == INACTIVE


def test_a_deleted_clients_token_is_inactive(resource_server, app):
    client, _ = app
    _, token = issue_access_token(client)
    OAuthClient.objects.filter(pk=client.pk).delete()

    assert introspect(resource_server, token).content == INACTIVE


def test_without_a_token_it_is_invalid_request(resource_server):
    response = introspect(resource_server)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_a_wrong_secret_is_invalid_client(resource_server, app):
    _, token = issue_access_token(app[0])

    response = introspect((resource_server[0], secrets.generate(Kind.CLIENT_SECRET)), token)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"].startswith("Basic")
    assert token not in response.content.decode()


def test_form_client_authentication_works_too(resource_server, app):
    _, token = issue_access_token(app[0])
    client_id, secret = resource_server
    body = urlencode({"token": token, "client_id": client_id, "client_secret": secret})

    response = Client().post("/v2/tokens/introspect", body, content_type=FORM)

    assert response.json()["active"] is True


def test_failures_here_and_at_the_token_endpoint_share_one_lockout(resource_server, settings):
    settings.LOCKOUT_THRESHOLD = 3
    client_id = resource_server[0]
    wrong = (client_id, secrets.generate(Kind.CLIENT_SECRET))
    token_request = urlencode({"grant_type": "client_credentials"})

    for _ in range(2):
        assert introspect(wrong, "x").status_code == 401
    third = Client().post(
        "/v2/tokens", token_request, content_type=FORM, headers={"Authorization": basic(*wrong)}
    )
    locked = introspect(resource_server, "x")

    assert third.status_code == 401
    assert locked.status_code == 429
    assert locked.json()["error"] == "temporarily_unavailable"
    assert int(locked["Retry-After"]) > 0


@pytest.mark.parametrize("pool", list(POOLS))
def test_both_pools_answer(resource_server, app, pool):
    _, token = issue_access_token(app[0])

    response = through(pool, lambda client: introspect(resource_server, token, client=client))

    assert response.status_code == 200
    assert response.json()["active"] is True


def test_the_token_is_not_logged(resource_server, app, caplog):
    _, token = issue_access_token(app[0])

    with caplog.at_level("DEBUG"):
        introspect(resource_server, token)
        introspect((resource_server[0], "wrong"), token)

    assert token not in caplog.text
