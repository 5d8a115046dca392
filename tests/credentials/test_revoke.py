"""Ending tokens: POST /v2/tokens/revoke (RFC 7009), regenerating a client's secret, deleting a client."""

import base64
import json
from urllib.parse import urlencode

import pytest
from django.test import Client

from credentials import secrets
from credentials.models import AccessToken, OAuthClient
from credentials.secrets import Kind
from tests.conftest import make_oauth_client

FORM = "application/x-www-form-urlencoded"


def basic(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def token_v2(client_id, secret):
    body = urlencode({"grant_type": "client_credentials"})
    return Client().post(
        "/v2/tokens", body, content_type=FORM, headers={"Authorization": basic(client_id, secret)}
    )


def issue_v1(client_id, secret):
    body = json.dumps({"clientId": client_id, "clientSecret": secret})
    return Client().post("/v1/tokens", body, content_type="application/json").json()


def refresh(refresh_token):
    body = json.dumps({"refreshToken": refresh_token})
    return Client().patch("/v1/tokens", body, content_type="application/json")


def whoami(access_token):
    return Client().get("/v1/whoami", headers={"X-Access-Token": access_token}).status_code


def revoke(client_id, secret, **params):
    body = urlencode(params)
    headers = {"Authorization": basic(client_id, secret)}
    return Client().post("/v2/tokens/revoke", body, content_type=FORM, headers=headers, CONTENT_TYPE=FORM)


@pytest.fixture
def oauth(group):
    client, secret = make_oauth_client(group)
    return client.client_id, secret


@pytest.fixture
def tokens(oauth):
    """An access token from /v2 and a pair from /v1, all issued to `oauth`."""
    pair = issue_v1(*oauth)
    return {
        "v2": token_v2(*oauth).json()["access_token"],
        "at": pair["accessToken"],
        "rt": pair["refreshToken"],
    }


def regenerate(client_id, **options):
    client = OAuthClient.objects.get(client_id=client_id)
    return client.regenerate_secret(client.version, None, **options)


def assert_invalid_grant(response):
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_regenerating_the_secret_revokes_every_access_token(oauth, tokens):
    regenerate(oauth[0])

    assert whoami(tokens["v2"]) == 401
    assert whoami(tokens["at"]) == 401


def test_regenerating_the_secret_revokes_refresh_tokens(oauth, tokens):
    regenerate(oauth[0])

    assert_invalid_grant(refresh(tokens["rt"]))


def test_regenerating_the_secret_ends_the_old_secret_at_once(oauth):
    new = regenerate(oauth[0])

    assert token_v2(*oauth).status_code == 401
    assert token_v2(oauth[0], new).status_code == 200


def test_planned_rotation_keeps_old_secret_and_tokens_during_the_grace_period(oauth, tokens):
    new = regenerate(oauth[0], grace_seconds=3600, revoke_tokens=False)

    assert token_v2(*oauth).status_code == 200
    assert token_v2(oauth[0], new).status_code == 200
    assert whoami(tokens["v2"]) == whoami(tokens["at"]) == 200
    assert refresh(tokens["rt"]).status_code == 200


def test_deleting_the_client_revokes_its_tokens(oauth, tokens):
    OAuthClient.objects.get(client_id=oauth[0]).delete()

    assert whoami(tokens["v2"]) == whoami(tokens["at"]) == 401
    assert_invalid_grant(refresh(tokens["rt"]))
    assert token_v2(*oauth).status_code == 401


def test_revoking_an_access_token_ends_it(oauth, tokens):
    response = revoke(*oauth, token=tokens["v2"])

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert whoami(tokens["v2"]) == 401
    assert whoami(tokens["at"]) == 200


def test_revoking_a_refresh_token_ends_its_whole_family(oauth, tokens):
    second = refresh(tokens["rt"]).json()

    assert revoke(*oauth, token=second["refreshToken"]).status_code == 200

    assert whoami(second["accessToken"]) == whoami(tokens["at"]) == 401
    assert_invalid_grant(refresh(second["refreshToken"]))
    assert whoami(tokens["v2"]) == 200


def test_a_wrong_token_type_hint_does_not_stop_revocation(oauth, tokens):
    assert revoke(*oauth, token=tokens["at"], token_type_hint="refresh_token").status_code == 200

    assert whoami(tokens["at"]) == 401


def test_revoking_with_form_credentials_works(oauth, tokens):
    body = urlencode({"token": tokens["v2"], "client_id": oauth[0], "client_secret": oauth[1]})

    response = Client().post("/v2/tokens/revoke", body, content_type=FORM)

    assert response.status_code == 200
    assert whoami(tokens["v2"]) == 401


@pytest.mark.parametrize(
    "token",
    [secrets.generate(Kind.ACCESS_TOKEN), secrets.generate(Kind.REFRESH_TOKEN), "garbage", "gpa_" + "A" * 49],
    ids=["unknown-access", "unknown-refresh", "garbage", "bad-checksum"],
)
def test_revoking_an_unknown_token_answers_exactly_like_a_real_revocation(oauth, tokens, token):
    real = revoke(*oauth, token=tokens["v2"])

    unknown = revoke(*oauth, token=token)

    assert (unknown.status_code, unknown.content) == (real.status_code, real.content) == (200, b"")
    assert whoami(tokens["at"]) == 200


def test_another_clients_tokens_are_not_revoked(group, oauth, tokens):
    other, other_secret = make_oauth_client(group, name="Refunds")

    assert revoke(other.client_id, other_secret, token=tokens["v2"]).status_code == 200
    assert revoke(other.client_id, other_secret, token=tokens["rt"]).status_code == 200

    assert whoami(tokens["v2"]) == whoami(tokens["at"]) == 200
    assert refresh(tokens["rt"]).status_code == 200


def test_missing_token_is_invalid_request(oauth, tokens):
    response = revoke(*oauth)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_bad_client_cannot_revoke(oauth, tokens):
    response = revoke(oauth[0], secrets.generate(Kind.CLIENT_SECRET), token=tokens["v2"])

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"].startswith("Basic")
    assert whoami(tokens["v2"]) == 200
    assert AccessToken.objects.filter(revoked_at__isnull=False).count() == 0
