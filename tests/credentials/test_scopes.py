"""Scopes: a group's services, credentials limited to some of them, checked at /v1/verify when the
gateway names one, and asked for at the token endpoints (RFC 6749 3.3)."""

import base64
import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from rest_framework.test import APIRequestFactory

from credentials.authentication import CredentialAuthentication
from credentials.models import AccessToken, ApiKeyCredential, OAuthClient, TokenFamily
from credentials.scopes import HasScope
from credentials.verification import recently_verified
from groups.models import Action, Activity, Service
from tests.conftest import make_group, make_oauth_client

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def group(db):
    group = make_group("Payments")
    for name in ("orders:read", "orders:write", "refunds"):
        Service.objects.create(group=group, name=name)
    return group


@pytest.fixture
def reader_key(group):
    """An API key credential limited to orders:read; its primary key's value."""
    _, values = ApiKeyCredential.create_with_keys(group, "Reader", None, scopes=["orders:read"])
    return values["primary"]


@pytest.fixture
def full_key(group):
    _, values = ApiKeyCredential.create_with_keys(group, "Everything", None)
    return values["primary"]


def verify(key=None, scope=None, token=None):
    headers = {"X-Api-Key": key} if key else {"X-Access-Token": token}
    if scope is not None:
        headers["X-Required-Scope"] = scope
    return Client().get("/v1/verify", headers=headers)


def v2_token(client, secret, **params):
    auth = "Basic " + base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    body = "&".join(f"{name}={value}" for name, value in params.items())
    return Client().post("/v2/tokens", body, content_type=FORM, headers={"Authorization": auth})


def v1_tokens(client, secret, **extra):
    body = json.dumps({"clientId": client.client_id, "clientSecret": secret, **extra})
    return Client().post("/v1/tokens", body, content_type="application/json")


def test_verify_refuses_a_scope_the_key_lacks_with_403_and_a_reason(reader_key):
    response = verify(reader_key, "orders:write")

    assert response.status_code == 403
    assert response["X-Auth-Refused"] == "scope"
    assert response.json()["error"] == "insufficient_scope"


def test_verify_accepts_a_scope_the_key_has(reader_key):
    assert verify(reader_key, "orders:read").status_code == 204


def test_verify_without_the_header_checks_no_scope(reader_key):
    assert verify(reader_key).status_code == 204


def test_an_unrestricted_key_passes_every_scope(full_key):
    assert verify(full_key, "orders:write").status_code == 204


def test_a_wrong_key_is_still_401_with_a_scope_header(group):
    assert verify("gpk_nothing", "orders:read").status_code == 401


def test_the_scope_is_checked_on_every_request_answered_from_memory(settings, reader_key):
    settings.VERIFY_CACHE_SECONDS = 1
    recently_verified.clear()

    assert verify(reader_key, "orders:read").status_code == 204
    assert verify(reader_key, "orders:write").status_code == 403
    recently_verified.clear()


def test_whoami_lists_the_granted_scopes_or_null_for_all(reader_key, full_key):
    limited = Client().get("/v1/whoami", headers={"X-Api-Key": reader_key}).json()
    unlimited = Client().get("/v1/whoami", headers={"X-Api-Key": full_key}).json()

    assert limited["scopes"] == ["orders:read"]
    assert unlimited["scopes"] is None


def test_v2_token_with_an_allowed_scope_answers_it_and_verify_enforces_it(group):
    client, secret = make_oauth_client(group)

    response = v2_token(client, secret, scope="orders:read")

    assert response.status_code == 200
    assert response.json()["scope"] == "orders:read"
    token = response.json()["access_token"]
    assert verify(token=token, scope="orders:read").status_code == 204
    assert verify(token=token, scope="orders:write").status_code == 403


def test_v2_token_with_a_scope_the_client_may_not_have_is_invalid_scope(group):
    client, secret = OAuthClient.create_with_secret(group, "Reader", None, scopes=["orders:read"])

    response = v2_token(client, secret, scope="orders:read orders:write")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert not AccessToken.objects.exists()


def test_v2_token_with_a_service_the_group_lacks_is_invalid_scope(group):
    client, secret = make_oauth_client(group)

    assert v2_token(client, secret, scope="shipping").json()["error"] == "invalid_scope"


def test_v2_token_without_scope_answers_as_before_for_an_unrestricted_client(group):
    client, secret = make_oauth_client(group)

    body = v2_token(client, secret).json()

    assert set(body) == {"access_token", "token_type", "expires_in"}


def test_v2_token_of_a_restricted_client_answers_its_grant(group):
    client, secret = OAuthClient.create_with_secret(group, "Reader", None, scopes=["orders:read", "refunds"])

    body = v2_token(client, secret).json()

    assert body["scope"] == "orders:read refunds"
    assert verify(token=body["access_token"], scope="orders:write").status_code == 403


def test_v1_tokens_take_scope_and_refresh_keeps_it(group):
    client, secret = make_oauth_client(group)

    issued = v1_tokens(client, secret, scope="refunds")
    assert issued.status_code == 201
    assert issued.json()["scope"] == "refunds"
    body = json.dumps({"refreshToken": issued.json()["refreshToken"]})
    refreshed = Client().patch("/v1/tokens", body, content_type="application/json")

    assert refreshed.status_code == 200
    assert refreshed.json()["scope"] == "refunds"
    assert verify(token=refreshed.json()["accessToken"], scope="orders:read").status_code == 403
    assert verify(token=refreshed.json()["accessToken"], scope="refunds").status_code == 204


def test_v1_tokens_with_a_disallowed_scope_is_invalid_scope(group):
    client, secret = OAuthClient.create_with_secret(group, "Reader", None, scopes=["orders:read"])

    response = v1_tokens(client, secret, scope="orders:write")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert not TokenFamily.objects.exists()


def test_v1_tokens_with_a_scope_that_is_not_text_is_invalid_request(group):
    client, secret = make_oauth_client(group)

    assert v1_tokens(client, secret, scope=["orders:read"]).json()["error"] == "invalid_request"


def test_introspection_answers_the_token_scope(group):
    client, secret = make_oauth_client(group)
    token = v2_token(client, secret, scope="orders:read").json()["access_token"]
    auth = "Basic " + base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()

    claims = (
        Client()
        .post("/v2/tokens/introspect", f"token={token}", content_type=FORM, headers={"Authorization": auth})
        .json()
    )

    assert claims["active"] is True
    assert claims["scope"] == "orders:read"


def test_narrowing_a_client_narrows_its_tokens_already_issued(group):
    client, secret = make_oauth_client(group)
    token = v2_token(client, secret).json()["access_token"]

    client.set_scopes(["refunds"], client.version, None)

    assert verify(token=token, scope="orders:read").status_code == 403
    assert verify(token=token, scope="refunds").status_code == 204
    assert Activity.objects.filter(action=Action.SCOPES_CHANGED, target="Checkout (refunds)").exists()


def test_removing_a_service_takes_it_out_of_every_credential(group):
    credential, _ = ApiKeyCredential.create_with_keys(group, "Both", None, scopes=["orders:read", "refunds"])
    client, _ = OAuthClient.create_with_secret(group, "Refunds", None, scopes=["refunds"])

    Service.objects.get(group=group, name="refunds").remove(None)

    credential.refresh_from_db()
    client.refresh_from_db()
    assert credential.scopes == "orders:read"
    assert client.scopes == ""
    assert Activity.objects.filter(action=Action.SERVICE_REMOVED, target="refunds").exists()


def test_drf_authentication_exposes_the_scopes_and_has_scope_checks_them(reader_key):
    request = APIRequestFactory().get("/", HTTP_X_API_KEY=reader_key)
    identity, auth = CredentialAuthentication().authenticate(request)
    request.auth = auth

    assert identity.scopes == frozenset({"orders:read"})
    assert HasScope("orders:read")().has_permission(request, None)
    assert not HasScope("orders:write")().has_permission(request, None)


def test_service_names_are_validated(group):
    for name in ("Orders", "orders:read:all", "orders read", ":read"):
        with pytest.raises(ValidationError):
            Service(group=group, name=name).full_clean()
