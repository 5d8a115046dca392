"""POST /v2/tokens: the OAuth 2.0 client credentials grant (RFC 6749 2.3.1, 3.2, 4.4, 5.1, 5.2)."""

import base64
import re
from urllib.parse import quote_plus, urlencode

import pytest
from django.test import Client

from credentials import secrets
from credentials.models import AccessToken, OAuthClient
from credentials.secrets import Kind
from tests.conftest import make_oauth_client, token_identity

FORM = "application/x-www-form-urlencoded"
# RFC 6749 5.2: error_description is %x20-21 / %x23-5B / %x5D-7E (no quote, backslash, CR, LF, TAB).
DESCRIPTION = re.compile(r"^[\x20-\x21\x23-\x5B\x5D-\x7E]*$")


def basic(client_id, secret):
    """An Authorization header as RFC 6749 2.3.1 and Appendix B want it: form-encoded, then base64."""
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}"
    return f"Basic {base64.b64encode(pair.encode()).decode()}"


def post(params=None, authorization=None, content_type=FORM, path="/v2/tokens", method="post"):
    """A token request as an HTTP client sends it: the Content-Type goes even with an empty body
    (Django's test client drops it then, so it is set in the environ too)."""
    headers = {"Authorization": authorization} if authorization else {}
    body = params if isinstance(params, str) else urlencode(params or {}, doseq=True)
    send = getattr(Client(), method)
    return send(path, body, content_type=content_type, headers=headers, CONTENT_TYPE=content_type)


@pytest.fixture
def oauth(group):
    return make_oauth_client(group)


def assert_issued(response):
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600)
    assert token_identity(body["access_token"]) is not None


def assert_invalid_client(response):
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"].startswith("Basic")


def test_basic_authentication_issues_an_access_token(oauth):
    client, secret = oauth

    response = post({"grant_type": "client_credentials"}, basic(client.client_id, secret))

    assert_issued(response)
    assert response.json()["access_token"].startswith("gpa_")
    assert AccessToken.objects.get().client == client


def test_form_fields_issue_an_access_token(oauth):
    client, secret = oauth
    params = {"grant_type": "client_credentials", "client_id": client.client_id, "client_secret": secret}

    assert_issued(post(params))


def test_grant_type_may_be_omitted_with_basic(oauth):
    client, secret = oauth

    assert_issued(post({}, basic(client.client_id, secret)))


def test_post_without_any_body_or_content_type_works_with_basic(oauth):
    """`curl -X POST -u id:secret .../v2/tokens` sends neither a body nor a Content-Type."""
    client, secret = oauth

    response = Client().generic(
        "POST", "/v2/tokens", headers={"Authorization": basic(client.client_id, secret)}
    )

    assert_issued(response)


def test_grant_type_may_be_omitted_with_form_fields(oauth):
    client, secret = oauth

    assert_issued(post({"client_id": client.client_id, "client_secret": secret}))


def test_success_is_json_and_never_cached(oauth):
    client, secret = oauth

    response = post({"grant_type": "client_credentials"}, basic(client.client_id, secret))

    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"


def test_no_refresh_token_is_issued(oauth):
    client, secret = oauth

    response = post({"grant_type": "client_credentials"}, basic(client.client_id, secret))

    assert "refresh_token" not in response.json()
    assert not client.token_families.exists()


def test_password_grant_is_unsupported(oauth):
    client, secret = oauth

    response = post(
        {"grant_type": "password", "username": "u", "password": "p"}, basic(client.client_id, secret)
    )

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    assert not AccessToken.objects.exists()


def test_basic_and_form_secret_together_is_invalid_request(oauth):
    client, secret = oauth

    response = post({"client_secret": secret}, basic(client.client_id, secret))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert not AccessToken.objects.exists()


def test_repeated_parameter_is_invalid_request(oauth):
    client, secret = oauth
    params = [("grant_type", "client_credentials"), ("grant_type", "client_credentials")]

    response = post(params, basic(client.client_id, secret))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_empty_grant_type_counts_as_omitted(oauth):
    client, secret = oauth

    assert_issued(post({"grant_type": ""}, basic(client.client_id, secret)))


def test_empty_form_secret_beside_basic_counts_as_omitted(oauth):
    client, secret = oauth

    assert_issued(post({"client_secret": "", "scope": ""}, basic(client.client_id, secret)))


def test_unknown_parameter_is_ignored(oauth):
    client, secret = oauth

    assert_issued(post({"grant_type": "client_credentials", "foo": "bar"}, basic(client.client_id, secret)))


def test_json_body_is_invalid_request(oauth):
    client, secret = oauth
    body = '{"grant_type": "client_credentials"}'

    response = post(body, basic(client.client_id, secret), content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert not AccessToken.objects.exists()


def test_client_secret_in_the_query_string_is_refused(oauth):
    client, secret = oauth
    query = urlencode({"client_id": client.client_id, "client_secret": secret})

    response = post({"grant_type": "client_credentials"}, path=f"/v2/tokens?{query}")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert not AccessToken.objects.exists()


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch", "trace"])
def test_other_methods_are_405_with_the_error_shape(oauth, method):
    client, secret = oauth

    response = getattr(Client(), method)(
        "/v2/tokens", headers={"Authorization": basic(client.client_id, secret)}
    )

    assert response.status_code == 405
    assert set(response.json()) == {"error", "error_description"}
    assert response.json()["error"] == "invalid_request"
    assert response["Cache-Control"] == "no-store"


def test_unknown_client_id_is_invalid_client(oauth):
    _, secret = oauth

    assert_invalid_client(post({}, basic(secrets.generate_client_id(), secret)))
    assert not AccessToken.objects.exists()


def test_wrong_secret_is_invalid_client(oauth):
    client, _ = oauth

    assert_invalid_client(post({}, basic(client.client_id, secrets.generate(Kind.CLIENT_SECRET))))
    assert not AccessToken.objects.exists()


def test_another_clients_secret_is_invalid_client(group, oauth):
    client, _ = oauth
    _, other_secret = make_oauth_client(group, name="Refunds")

    assert_invalid_client(post({}, basic(client.client_id, other_secret)))
    assert not AccessToken.objects.exists()


@pytest.mark.parametrize(
    "authorization",
    ["Basic not*base64!", "Basic " + base64.b64encode(b"no-colon-here").decode(), "Basic ", "Basic //79"],
    ids=["malformed-base64", "missing-colon", "empty", "not-utf8"],
)
def test_malformed_basic_header_is_invalid_client(oauth, authorization):
    response = post({"grant_type": "client_credentials"}, authorization)

    assert_invalid_client(response)
    assert not AccessToken.objects.exists()


def test_no_credentials_at_all_is_invalid_client(oauth):
    response = post({"grant_type": "client_credentials"})

    assert_invalid_client(response)
    assert not AccessToken.objects.exists()


def test_unknown_client_id_and_wrong_secret_answer_byte_identically(oauth):
    client, secret = oauth
    wrong = secrets.generate(Kind.CLIENT_SECRET)

    unknown = post({}, basic(secrets.generate_client_id(), secret))
    wrong_secret = post({}, basic(client.client_id, wrong))

    assert unknown.status_code == wrong_secret.status_code == 401
    assert unknown.content == wrong_secret.content
    per_response = {"Date", "X-Request-ID"}
    headers = [{k: v for k, v in r.headers.items() if k not in per_response} for r in (unknown, wrong_secret)]
    assert headers[0] == headers[1]


def test_every_kind_of_bad_client_authentication_gets_the_same_answer(oauth):
    client, secret = oauth
    headers = [
        basic(secrets.generate_client_id(), secret),
        basic(client.client_id, secrets.generate(Kind.CLIENT_SECRET)),
        "Basic not*base64!",
        "Basic " + base64.b64encode(client.client_id.encode()).decode(),
    ]

    responses = [post({"grant_type": "client_credentials"}, header) for header in headers]

    assert {(r.status_code, r.content, r["WWW-Authenticate"]) for r in responses} == {
        (401, responses[0].content, responses[0]["WWW-Authenticate"])
    }


def test_non_ascii_client_id_with_a_valid_secret_is_invalid_client(oauth):
    _, secret = oauth

    assert_invalid_client(post({"client_id": "clïent", "client_secret": secret}))
    assert not AccessToken.objects.exists()


def test_client_id_with_a_nul_byte_is_invalid_client(oauth):
    _, secret = oauth

    assert_invalid_client(post({"client_id": "gpc_\x00", "client_secret": secret}))
    assert not AccessToken.objects.exists()


def test_body_larger_than_the_limit_is_413(oauth, settings):
    client, secret = oauth
    padding = "x" * settings.TOKEN_REQUEST_MAX_BYTES

    response = post({"grant_type": "client_credentials", "pad": padding}, basic(client.client_id, secret))

    assert response.status_code == 413
    assert response.json()["error"] == "invalid_request"
    assert not AccessToken.objects.exists()


def test_client_id_with_reserved_characters_works_when_form_encoded_before_base64(oauth):
    client, secret = oauth
    OAuthClient.objects.filter(pk=client.pk).update(client_id="a+b:c%20")

    assert_issued(post({"grant_type": "client_credentials"}, basic("a+b:c%20", secret)))


def test_client_id_with_reserved_characters_sent_raw_is_refused(oauth):
    client, secret = oauth
    OAuthClient.objects.filter(pk=client.pk).update(client_id="a+b:c%20")
    raw = base64.b64encode(f"a+b:c%20:{secret}".encode()).decode()

    assert_invalid_client(post({"grant_type": "client_credentials"}, f"Basic {raw}"))
    assert not AccessToken.objects.exists()


def error_cases(client_id, secret):
    """(body, Authorization, content type, path, method) of requests that must fail."""
    good = basic(client_id, secret)
    odd = urlencode([('a"\\\n\té', "1"), ('a"\\\n\té', "2")])
    return {
        "unsupported-grant": ("grant_type=password", good, FORM, "/v2/tokens", "post"),
        "both-methods": (f"client_secret={secret}", good, FORM, "/v2/tokens", "post"),
        "repeated": ("grant_type=a&grant_type=b", good, FORM, "/v2/tokens", "post"),
        "repeated-odd-name": (odd, good, FORM, "/v2/tokens", "post"),
        "json": ('{"grant_type": "client_credentials"}', good, "application/json", "/v2/tokens", "post"),
        "query-secret": ("", None, FORM, f"/v2/tokens?client_secret={secret}", "post"),
        "unknown-client": ("", basic("gpc_nobody", secret), FORM, "/v2/tokens", "post"),
        "no-credentials": ("grant_type=client_credentials", None, FORM, "/v2/tokens", "post"),
        "too-large": ("pad=" + "x" * 9000, good, FORM, "/v2/tokens", "post"),
        "get": ("", good, FORM, "/v2/tokens", "get"),
        "put": ("", good, FORM, "/v2/tokens", "put"),
        "revoke-without-token": ("", good, FORM, "/v2/tokens/revoke", "post"),
    }


@pytest.mark.parametrize("case", list(error_cases("id", "secret")))
def test_every_error_description_uses_only_the_allowed_characters(oauth, case):
    client, secret = oauth
    body, authorization, content_type, path, method = error_cases(client.client_id, secret)[case]

    response = post(body, authorization, content_type, path, method)

    assert 400 <= response.status_code < 500
    assert set(response.json()) == {"error", "error_description"}
    assert DESCRIPTION.match(response.json()["error_description"])


def test_the_authenticated_client_is_the_stored_one(oauth):
    client, secret = oauth

    found = OAuthClient.objects.authenticate(client.client_id, secret, "127.0.0.1")

    assert found == client
    assert (found.group_id, found.name, found.public_id) == (client.group_id, client.name, client.public_id)
