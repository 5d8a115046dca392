"""The API pool (POOL=api): the API endpoints answer through its four middleware and its URLconf
exactly as through the portal's, with the same security headers; the portal's pages do not exist
there, and a portal session means nothing to it (docs/deploy.md, "Two pools")."""

import base64
import json
import re
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client, override_settings

from credentials.authentication import INVALID_CREDENTIALS
from groups.models import Action, Activity
from tests.conftest import (
    issue_access_token,
    make_api_key,
    make_oauth_client,
    token_identity,
)
from tests.portal.test_hardening import (
    assert_hardened_headers,
    https_client,
    https_settings,  # noqa: F401 (a fixture, used by name)
)

FORM = "application/x-www-form-urlencoded"
GRANT = urlencode({"grant_type": "client_credentials"})
HEX_ID = re.compile(r"[0-9a-f]{32}")
# What each pool's settings give (portal.settings): the portal's are the defaults of this run.
POOLS = {
    "portal": {},
    "api": {"MIDDLEWARE": settings.API_MIDDLEWARE, "ROOT_URLCONF": "portal.api_urls"},
}
SECURITY_HEADERS = (
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
    "X-Frame-Options",
    "Content-Security-Policy",
)
# The only headers the portal's middleware adds that the API pool's does not: the session's Vary
# (it has no session) and CommonMiddleware's Content-Length (gunicorn frames the body instead).
PORTAL_ONLY_HEADERS = {"Vary", "Content-Length"}


@pytest.fixture(params=list(POOLS))
def pool(request, settings):
    """The test runs twice: through the portal pool's middleware and URLconf, then the API pool's."""
    for name, value in POOLS[request.param].items():
        setattr(settings, name, value)
    return request.param


@pytest.fixture
def api_pool(settings):
    """Only the API pool's middleware and URLconf."""
    for name, value in POOLS["api"].items():
        setattr(settings, name, value)


def through(pool_name, send, make_client=Client):
    """`send(client)`'s response, the request served by `pool_name`'s middleware and URLconf."""
    with override_settings(**POOLS[pool_name]):
        return send(make_client())


def basic(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def post_form(client, path, body, authorization=None):
    headers = {"Authorization": authorization} if authorization else {}
    return client.post(path, body, content_type=FORM, headers=headers, CONTENT_TYPE=FORM)


def send_json(client, method, body):
    data = body if isinstance(body, str) else json.dumps(body)
    return getattr(client, method)("/v1/tokens", data, content_type="application/json")


# Every endpoint works the same on both pools.


def test_verify_accepts_an_api_key(cast, pool):
    credential, values = make_api_key(cast.group)

    response = Client().get("/v1/verify", headers={"X-Api-Key": values["primary"]})

    assert response.status_code == 204
    assert response.content == b""
    assert response["X-Auth-Group"] == "payments"
    assert response["X-Auth-Method"] == "api_key"
    assert response["X-Auth-Credential"] == credential.name
    assert response["Cache-Control"] == "no-store"


def test_verify_accepts_an_access_token(cast, pool):
    oauth_client, _ = make_oauth_client(cast.group)
    _, token = issue_access_token(oauth_client)

    response = Client().get("/v1/verify", headers={"X-Access-Token": token})

    assert response.status_code == 204
    assert (response["X-Auth-Group"], response["X-Auth-Method"]) == ("payments", "access_token")
    assert response["X-Auth-Credential"] == oauth_client.name


def test_verify_refuses_a_missing_credential(cast, pool):
    response = Client().get("/v1/verify")

    assert response.status_code == 401
    assert response.json() == INVALID_CREDENTIALS
    assert "X-Auth-Group" not in response


def test_whoami_answers_the_same_on_both_pools(cast):
    _, values = make_api_key(cast.group)
    oauth_client, _ = make_oauth_client(cast.group)
    _, token = issue_access_token(oauth_client)
    requests = [{"X-Api-Key": values["secondary"]}, {"Authorization": f"Bearer {token}"}]

    for headers in requests:
        answers = [through(name, lambda c, h=headers: c.get("/v1/whoami", headers=h)) for name in POOLS]

        assert [answer.status_code for answer in answers] == [200, 200]
        assert answers[0].content == answers[1].content
        assert answers[1].json()["group"] == {"slug": "payments", "name": "Payments"}


def test_v2_tokens_issues_an_access_token(cast, pool):
    oauth_client, secret = make_oauth_client(cast.group)

    response = post_form(Client(), "/v2/tokens", GRANT, basic(oauth_client.client_id, secret))

    assert response.status_code == 200
    body = response.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", settings.ACCESS_TOKEN_TTL)
    assert token_identity(body["access_token"]).credential == oauth_client.name


def test_v1_tokens_issues_then_refreshes_a_pair(cast, pool):
    oauth_client, secret = make_oauth_client(cast.group)
    client = Client()

    issued = send_json(client, "post", {"clientId": oauth_client.client_id, "clientSecret": secret})
    assert issued.status_code == 201
    refreshed = send_json(client, "patch", {"refreshToken": issued.json()["refreshToken"]})

    assert refreshed.status_code == 200
    access_token = refreshed.json()["accessToken"]
    whoami = client.get("/v1/whoami", headers={"X-Access-Token": access_token})
    assert whoami.json()["auth"]["credential"] == oauth_client.name


def test_v2_revoke_ends_an_access_token(cast, pool):
    oauth_client, secret = make_oauth_client(cast.group)
    _, token = issue_access_token(oauth_client)
    client = Client()

    response = post_form(
        client, "/v2/tokens/revoke", urlencode({"token": token}), basic(oauth_client.client_id, secret)
    )

    assert response.status_code == 200
    assert token_identity(token) is None
    assert client.get("/v1/verify", headers={"X-Access-Token": token}).status_code == 401


def test_healthz_answers(db, pool):
    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.content == b"ok"


# Errors in the spec's shape.


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type", "error"),
    [
        ("post", "/v2/tokens", "grant_type=password", FORM, "unsupported_grant_type"),
        ("post", "/v2/tokens", '{"grant_type": "client_credentials"}', "application/json", "invalid_request"),
        ("post", "/v2/tokens", "grant_type=a&grant_type=b", FORM, "invalid_request"),
        ("post", "/v2/tokens/revoke", "", FORM, "invalid_request"),
        ("post", "/v2/tokens/introspect", "", FORM, "invalid_request"),
        ("post", "/v1/tokens", "{not json", "application/json", "invalid_request"),
        ("patch", "/v1/tokens", "[]", "application/json", "invalid_request"),
        ("get", "/v2/tokens", "", FORM, "invalid_request"),
        ("delete", "/v1/tokens", "", FORM, "invalid_request"),
    ],
)
def test_bad_requests_get_the_same_spec_shaped_error_on_both_pools(
    cast, method, path, body, content_type, error
):
    """A malformed request is refused before any client is looked up, so both pools answer it alike."""
    oauth_client, secret = make_oauth_client(cast.group)
    authorization = basic(oauth_client.client_id, secret)

    def send(client):
        return getattr(client, method)(
            path, body, content_type=content_type, headers={"Authorization": authorization}
        )

    portal, api = (through(name, send) for name in POOLS)

    assert api.status_code == portal.status_code
    assert api.status_code in (400, 405)
    assert api["Content-Type"] == "application/json"
    assert api["Cache-Control"] == "no-store"
    assert set(api.json()) == {"error", "error_description"}
    assert api.json()["error"] == error
    assert api.content == portal.content


def test_a_500_on_the_api_pool_is_the_generic_json_answer(cast, api_pool, settings):
    """A misconfiguration that makes every credential check raise: handler500 is the API pool's too."""
    oauth_client, secret = make_oauth_client(cast.group)
    settings.CREDENTIALS_DIGEST_KEY = None

    response = post_form(
        Client(raise_request_exception=False), "/v2/tokens", GRANT, basic(oauth_client.client_id, secret)
    )

    assert response.status_code == 500
    assert response.json() == {"error": "server_error"}
    assert response["Cache-Control"] == "no-store"


# The security headers and the request id.


def api_requests(cast):
    """One request of each kind of answer the API pool gives: (description, send) pairs."""
    _, values = make_api_key(cast.group)
    oauth_client, secret = make_oauth_client(cast.group)
    authorization = basic(oauth_client.client_id, secret)
    return [
        ("verify 204", lambda c: c.get("/v1/verify", headers={"X-Api-Key": values["primary"]})),
        ("verify 401", lambda c: c.get("/v1/verify", headers={"X-Api-Key": "nonsense"})),
        ("whoami 200", lambda c: c.get("/v1/whoami", headers={"X-Api-Key": values["primary"]})),
        ("token 200", lambda c: post_form(c, "/v2/tokens", GRANT, authorization)),
        ("token 400", lambda c: post_form(c, "/v2/tokens", "grant_type=password", authorization)),
        ("v1 token 405", lambda c: c.put("/v1/tokens")),
        ("healthz 200", lambda c: c.get("/healthz")),
        ("unknown path 404", lambda c: c.get("/v1/no-such-api")),
    ]


@pytest.mark.usefixtures("https_settings")
def test_api_answers_carry_the_same_security_headers_on_both_pools(cast):
    for description, send in api_requests(cast):
        portal, api = (through(name, send, https_client) for name in POOLS)

        assert api.status_code == portal.status_code, description
        assert_hardened_headers(api)
        for name in SECURITY_HEADERS:
            assert api[name] == portal[name], f"{description}: {name}"
        assert set(portal.headers) - set(api.headers) <= PORTAL_ONLY_HEADERS, description
        assert set(api.headers) - set(portal.headers) == set(), description
        if "Cache-Control" in portal:
            assert api["Cache-Control"] == portal["Cache-Control"], description


def test_every_api_pool_answer_has_a_request_id_of_its_own(cast, api_pool):
    ids = [send(Client())["X-Request-ID"] for _, send in api_requests(cast)]

    assert all(HEX_ID.fullmatch(given) for given in ids)
    assert len(set(ids)) == len(ids)


def test_the_api_pool_records_its_request_id_in_activity(cast, api_pool):
    oauth_client, _ = make_oauth_client(cast.group)

    response = post_form(Client(), "/v2/tokens", GRANT, basic(oauth_client.client_id, "not-the-secret"))

    assert response.status_code == 401
    row = Activity.objects.get(action=Action.CLIENT_AUTH_FAILED)
    assert row.request_id == response["X-Request-ID"]
    assert row.source_address == "127.0.0.1"


# The portal does not exist on the API pool.


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/accounts/login/",
        "/groups/",
        "/groups/payments/",
        "/admin/",
        "/admin/login/",
        "/api/docs/",
        "/api/schema/",
        "/static/portal/portal.css",
    ],
)
def test_portal_paths_are_404_on_the_api_pool_and_say_nothing(cast, api_pool, path):
    client = Client(raise_request_exception=False)
    client.force_login(cast.owner)
    unknown = client.get("/no-such-page")

    for response in (client.get(path), client.post(path, {"username": "olivia", "password": "x"})):
        assert response.status_code == 404
        body = response.content.decode()
        # The same page as for any unknown address: no traceback, no URL patterns, not even the path.
        assert body == unknown.content.decode()
        assert "Traceback" not in body
        assert "Set-Cookie" not in response.headers


def test_a_sign_in_attempt_to_the_api_pool_writes_nothing(cast, api_pool):
    """The API pool has neither the sign-in view nor axes: a password sent there is not even read."""
    response = Client().post("/accounts/login/", {"username": "olivia", "password": "wrong password"})

    assert response.status_code == 404
    assert not Activity.objects.filter(action=Action.SIGN_IN_FAILED).exists()


def test_a_session_cookie_does_not_authenticate_on_the_api_pool(cast, api_pool):
    """A signed-in owner's browser calling the API pool: the cookie is not a credential."""
    client = Client()
    client.force_login(cast.owner)
    assert settings.SESSION_COOKIE_NAME in client.cookies

    response = client.get("/v1/whoami")

    assert response.status_code == 401
    assert response.json() == INVALID_CREDENTIALS
    assert "Set-Cookie" not in response.headers
    assert "Vary" not in response.headers


def test_the_api_pool_acts_for_no_user_even_with_a_session_cookie(cast, api_pool):
    oauth_client, _ = make_oauth_client(cast.group)
    _, values = make_api_key(cast.group)
    client = Client()
    client.force_login(cast.owner)

    whoami = client.get("/v1/whoami", headers={"X-Api-Key": values["primary"]})
    refused = post_form(client, "/v2/tokens", GRANT, basic(oauth_client.client_id, "not-the-secret"))

    assert whoami.status_code == 200
    assert whoami.content == Client().get("/v1/whoami", headers={"X-Api-Key": values["primary"]}).content
    assert refused.status_code == 401
    row = Activity.objects.get(action=Action.CLIENT_AUTH_FAILED)
    assert (row.actor, row.actor_name) == (None, "")


def test_the_token_endpoints_need_no_csrf_token_on_either_pool(cast):
    """The portal pool's CSRF middleware must not stand in the way of a browser-held session."""
    oauth_client, secret = make_oauth_client(cast.group)
    body = {"clientId": oauth_client.client_id, "clientSecret": secret}

    def send(client):
        client.force_login(cast.owner)
        return send_json(client, "post", body)

    for name in POOLS:
        assert through(name, send, lambda: Client(enforce_csrf_checks=True)).status_code == 201, name


# HTTPS on: plain HTTP is refused, not redirected, on the API pool too.


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/v2/tokens"),
        ("post", "/v2/tokens/revoke"),
        ("post", "/v2/tokens/introspect"),
        ("post", "/v1/tokens"),
        ("patch", "/v1/tokens"),
    ],
)
@pytest.mark.usefixtures("https_settings", "api_pool")
def test_plain_http_to_a_token_endpoint_is_refused_on_the_api_pool(cast, method, path):
    oauth_client, secret = make_oauth_client(cast.group)
    body = {"clientId": oauth_client.client_id, "clientSecret": secret}

    response = getattr(Client(HTTP_HOST="portal.example.com"), method)(
        path, body, content_type="application/json"
    )

    assert response.status_code == 400
    assert "Location" not in response
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "The token API answers only over HTTPS: use https://.",
    }


@pytest.mark.usefixtures("https_settings", "api_pool")
def test_plain_http_to_whoami_is_refused_and_verify_answers_on_the_api_pool(cast):
    """The gateway's check and the liveness probe may come over the private network in plain HTTP."""
    _, values = make_api_key(cast.group)
    key = {"X-Api-Key": values["primary"]}
    plain = Client(HTTP_HOST="portal.example.com")

    whoami = plain.get("/v1/whoami", headers=key)

    assert whoami.status_code == 400
    assert whoami.json()["error_description"] == "This API answers only over HTTPS: use https://."
    assert plain.get("/v1/verify", headers=key).status_code == 204
    assert plain.get("/healthz").status_code == 200
    assert https_client().get("/v1/whoami", headers=key).status_code == 200


@pytest.mark.usefixtures("https_settings", "api_pool")
def test_plain_http_to_anything_else_is_redirected_on_the_api_pool(db):
    response = Client(HTTP_HOST="portal.example.com").get("/groups/")

    assert response.status_code == 301
    assert response["Location"] == "https://portal.example.com/groups/"
