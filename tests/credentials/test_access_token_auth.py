"""Calling services with an access token: X-Access-Token or Authorization: Bearer, never the URL."""

import pytest
from django.test import Client
from django.utils import timezone

from credentials import secrets
from credentials.models import AccessToken
from credentials.secrets import Kind
from tests.conftest import issue_access_token, make_group, make_oauth_client

IDENTITY = {
    "group": {"slug": "payments", "name": "Payments"},
    "auth": {"method": "access_token", "credential": "Checkout", "slot": None},
    "scopes": None,
}


@pytest.fixture
def oauth(db):
    client, _ = make_oauth_client(make_group())
    return client


@pytest.fixture
def token(oauth):
    _, raw = issue_access_token(oauth)
    return raw


@pytest.mark.parametrize("header", ["X-Access-Token", "Authorization"])
def test_whoami_accepts_the_token_in_either_header(token, header):
    value = token if header == "X-Access-Token" else f"Bearer {token}"

    response = Client().get("/v1/whoami", headers={header: value})

    assert response.status_code == 200
    assert response.json() == IDENTITY


def test_bearer_scheme_is_case_insensitive(token):
    response = Client().get("/v1/whoami", headers={"Authorization": f"bearer {token}"})

    assert response.status_code == 200


@pytest.mark.parametrize("header", ["X-Access-Token", "Authorization"])
def test_verify_answers_204_with_who_it_is(token, header):
    value = token if header == "X-Access-Token" else f"Bearer {token}"

    response = Client().get("/v1/verify", headers={header: value})

    assert response.status_code == 204
    assert response["X-Auth-Method"] == "access_token"
    assert response["X-Auth-Group"] == "payments"
    assert response["X-Auth-Credential"] == "Checkout"


@pytest.mark.parametrize("path", ["/v1/whoami", "/v1/verify"])
def test_token_in_the_query_string_is_refused(token, path):
    response = Client().get(path, {"access_token": token})

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_credentials"
    assert "WWW-Authenticate" in response


@pytest.mark.parametrize("path", ["/v1/whoami", "/v1/verify"])
def test_token_in_a_cookie_is_refused(token, path):
    client = Client()
    client.cookies["access_token"] = token

    assert client.get(path).status_code == 401


@pytest.mark.parametrize("path", ["/v1/whoami", "/v1/verify"])
def test_missing_credential_is_401_with_a_challenge(db, path):
    response = Client().get(path)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_credentials"
    assert "Bearer" in response["WWW-Authenticate"]


@pytest.mark.parametrize("path", ["/v1/whoami", "/v1/verify"])
@pytest.mark.parametrize(
    "value",
    ["garbage", "gpa_" + "A" * 49, "", "Bearer", "gpk_" + "A" * 49],
    ids=["garbage", "bad-checksum", "empty", "scheme-word", "other-prefix"],
)
def test_malformed_token_is_refused_without_a_query(db, django_assert_num_queries, path, value):
    with django_assert_num_queries(0):
        response = Client().get(path, headers={"X-Access-Token": value})

    assert response.status_code == 401


def test_malformed_bearer_token_is_refused_without_a_query(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = Client().get("/v1/whoami", headers={"Authorization": "Bearer gpa_not-a-token"})

    assert response.status_code == 401


@pytest.mark.parametrize("path", ["/v1/whoami", "/v1/verify"])
def test_unknown_revoked_and_garbage_tokens_get_identical_answers(oauth, path):
    token, revoked = issue_access_token(oauth)
    AccessToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    values = [secrets.generate(Kind.ACCESS_TOKEN), revoked, "garbage"]

    responses = [Client().get(path, headers={"X-Access-Token": value}) for value in values]

    assert {r.status_code for r in responses} == {401}
    assert len({r.content for r in responses}) == 1
    assert len({r["WWW-Authenticate"] for r in responses}) == 1


def test_verify_never_answers_429_for_many_bad_tokens(db):
    statuses = {
        Client()
        .get("/v1/verify", headers={"X-Access-Token": secrets.generate(Kind.ACCESS_TOKEN)})
        .status_code
        for _ in range(20)
    }

    assert statuses == {401}
