"""Hostile requests at every API endpoint and portal form: a 4xx in the spec's shape, never a 5xx.

Oversized bodies (with an honest, a lying or no Content-Length), invalid UTF-8 in bodies and
headers, JSON bombs (nesting deep enough for RecursionError, huge numbers, many and duplicate
keys), wrong content types, NUL bytes and very long header values. The endpoints are the ones
the OpenAPI document and the URLconf list, so a new API URL cannot escape this file.

Each case is sent twice with LOCKOUT_THRESHOLD = 1: the first failure of a client ID already
takes the lockout path (which looks the client up by the ID sent), the second meets the lock.
"""

import base64
import json
import re
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

import pytest
from django.test import Client
from rest_framework.views import APIView

from credentials.models import AccessToken, ApiKeyCredential, Lockout, OAuthClient, RefreshToken
from groups.models import Group, Membership, Role
from tests.conftest import (
    API_OPERATIONS,
    PASSWORD,
    SECRET_SHAPE,
    changes,
    make_api_key,
    make_member,
    make_oauth_client,
    report,
    url_patterns,
)

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MB = 1024 * 1024

# The API operations, in the order of the expected-status columns of CASES below.
ENDPOINTS = API_OPERATIONS
TOKEN_PATHS = {"/v2/tokens", "/v2/tokens/revoke", "/v1/tokens", "/v2/tokens/introspect"}
SERVICE_PATHS = {"/v1/whoami", "/v1/verify"}
OAUTH_ERRORS = {"invalid_request", "invalid_client", "invalid_grant", "unsupported_grant_type"}
# RFC 6749 5.2: error_description may only use %x20-21 / %x23-5B / %x5D-7E.
DESCRIPTION = re.compile(r"[\x20\x21\x23-\x5B\x5D-\x7E]+")

# What each operation is sent when a case changes only headers: a request that would be
# well-formed, with credentials that do not exist.
NATURAL = {
    ("POST", "/v2/tokens"): (b"grant_type=client_credentials", FORM),
    ("POST", "/v2/tokens/revoke"): (b"token=gpa_unknown", FORM),
    ("POST", "/v1/tokens"): (b'{"clientId": "gpc_unknown", "clientSecret": "gps_wrong"}', JSON),
    ("PATCH", "/v1/tokens"): (b'{"refreshToken": "gpr_unknown"}', JSON),
    ("GET", "/v1/whoami"): (b"", ""),
    ("GET", "/v1/verify"): (b"", ""),
    ("POST", "/v2/tokens/introspect"): (b"token=gpa_unknown", FORM),
}


def latin1(raw):
    """Bytes as a WSGI server hands a header value to Django: each byte one latin-1 character."""
    return raw.decode("latin-1")


def basic(raw):
    return "Basic " + base64.b64encode(raw).decode()


@dataclass
class Case:
    """A hostile request; `expect` is the status for each of ENDPOINTS, in order."""

    name: str
    expect: tuple
    body: bytes | None = None  # None: the operation's NATURAL body
    content_type: str | None = None  # None: the operation's natural content type
    headers: dict = field(default_factory=dict)  # WSGI environ names

    def request(self, method, path):
        natural_body, natural_type = NATURAL[method, path]
        body = natural_body if self.body is None else self.body
        content_type = natural_type if self.content_type is None else self.content_type
        return body, content_type, self.headers


LIMIT = 8192  # TOKEN_REQUEST_MAX_BYTES, set by the `hostile` fixture whatever the environment says
PAD_FORM = b"grant_type=client_credentials&pad=" + b"a" * (5 * MB)
PAD_JSON = b'{"clientId": "gpc_unknown", "clientSecret": "gps_wrong", "pad": "' + b"a" * (5 * MB) + b'"}'
MANY_KEYS = ("{" + ", ".join(f'"k{i}": {i}' for i in range(600)) + "}").encode()
assert len(MANY_KEYS) < LIMIT

#       columns: POST /v2/tokens, POST /v2/tokens/revoke, POST /v1/tokens, PATCH /v1/tokens,
#                GET /v1/whoami, GET /v1/verify (POST /v2/tokens/introspect: added after the list)
CASES = [
    # Sizes and Content-Length.
    Case("one byte over the limit", (413, 413, 413, 413, 401, 401), b"a" * (LIMIT + 1)),
    Case("5 MB form, honest length", (413, 413, 413, 413, 401, 401), PAD_FORM, FORM),
    Case("5 MB JSON, honest length", (413, 413, 413, 413, 401, 401), PAD_JSON, JSON),
    # A lying Content-Length: Django reads only that many bytes, the rest is never parsed.
    Case(
        "5 MB form, Content-Length 40",
        (401, 401, 400, 400, 401, 401),
        PAD_FORM,
        FORM,
        {"CONTENT_LENGTH": "40"},
    ),
    Case(
        "5 MB JSON, Content-Length 40",
        (400, 400, 400, 400, 401, 401),
        PAD_JSON,
        JSON,
        {"CONTENT_LENGTH": "40"},
    ),
    # Chunked, as a WSGI server passes it on: no length at all, so Django reads nothing.
    Case("5 MB, no Content-Length", (401, 401, 400, 400, 401, 401), PAD_FORM, FORM, {"CONTENT_LENGTH": ""}),
    Case(
        "Content-Length '²' (a digit to str.isdigit)",
        (413, 413, 413, 413, 401, 401),
        headers={"CONTENT_LENGTH": "²"},
    ),
    Case(
        "Content-Length of 5000 digits",
        (413, 413, 413, 413, 401, 401),
        headers={"CONTENT_LENGTH": "9" * 5000},
    ),
    Case("negative Content-Length", (413, 413, 413, 413, 401, 401), headers={"CONTENT_LENGTH": "-1"}),
    # Invalid UTF-8 and odd text.
    Case(
        "invalid UTF-8 in a form body",
        (401, 401, 400, 400, 401, 401),
        b"grant_type=client_credentials&client_id=\xff\xfe\xc3\x28&client_secret=\xed\xa0\x80&token=\xff",
        FORM,
    ),
    Case(
        "invalid UTF-8 in a JSON body",
        (400, 400, 400, 400, 401, 401),
        b'{"clientId": "\xff\xfe", "clientSecret": "\xc3\x28", "refreshToken": "\xed\xa0\x80"}',
        JSON,
    ),
    Case(
        "lone surrogates in JSON escapes",
        (400, 400, 400, 400, 401, 401),
        b'{"clientId": "\\ud800", "clientSecret": "gps_\\udfff", "refreshToken": "gpr_\\ud800"}',
        JSON,
    ),
    Case("form in an unknown charset", (400, 400, 400, 400, 401, 401), content_type=FORM + "; charset=rot13"),
    # Django refuses a form in any charset but UTF-8 (the WHATWG URL standard's only one).
    Case(
        "form in UTF-16 with an odd byte",
        (400, 400, 400, 400, 401, 401),
        b"client_id=\x00a\x00b\xff",
        FORM + "; charset=utf-16",
    ),
    Case("JSON in an unknown charset", (400, 400, 401, 400, 401, 401), content_type=JSON + "; charset=rot13"),
    # JSON bombs. Python's json raises RecursionError, not ValueError, on deep nesting.
    Case("100000 nested arrays", (413, 413, 413, 413, 401, 401), b"[" * 100_000, JSON),
    Case("nested arrays up to the size limit", (400, 400, 400, 400, 401, 401), b"[" * LIMIT, JSON),
    Case(
        "nested objects up to the size limit", (400, 400, 400, 400, 401, 401), b'{"a":' * (LIMIT // 5), JSON
    ),
    Case("an 8000-digit number", (400, 400, 400, 400, 401, 401), b'{"clientId": ' + b"7" * 8000 + b"}", JSON),
    Case("a number too large for a float", (400, 400, 400, 400, 401, 401), b'{"clientId": 1e999999}', JSON),
    Case(
        "4000-character strings",
        (400, 400, 401, 400, 401, 401),
        json.dumps(
            {"clientId": "A" * 4000, "clientSecret": "gps_x", "refreshToken": "gpr_" + "A" * 3900}
        ).encode(),
        JSON,
    ),
    Case("600 keys", (400, 400, 400, 400, 401, 401), MANY_KEYS, JSON),
    Case(
        "duplicate keys",
        (400, 400, 401, 400, 401, 401),
        b'{"clientId": "gpc_a", "clientId": "gpc_b", "clientSecret": "gps_x", '
        b'"refreshToken": "gpr_a", "refreshToken": "gpr_b"}',
        JSON,
    ),
    Case("a JSON array", (400, 400, 400, 400, 401, 401), b'["clientId", "clientSecret"]', JSON),
    Case("JSON null", (400, 400, 400, 400, 401, 401), b"null", JSON),
    Case(
        "NUL escapes in JSON strings",
        (400, 400, 401, 400, 401, 401),
        b'{"clientId": "gpc_\\u0000", "clientSecret": "gps_\\u0000", "refreshToken": "gpr_\\u0000"}',
        JSON,
    ),
    Case("a raw NUL byte in JSON", (400, 400, 400, 400, 401, 401), b'{"clientId": "\x00"}', JSON),
    # Forms.
    Case(
        "NUL bytes in a form",
        (401, 401, 400, 400, 401, 401),
        b"client_id=gpc_%00&client_secret=gps_%00\x00&token=%00",
        FORM,
    ),
    Case(
        "a repeated form parameter",
        (400, 400, 400, 400, 401, 401),
        b"client_id=gpc_a&client_id=gpc_b&client_secret=gps_x&token=a&token=b",
        FORM,
    ),
    Case("1500 form fields", (400, 400, 400, 400, 401, 401), b"a&" * 1500, FORM),
    Case(
        "an 8000-character client_id",
        (401, 401, 400, 400, 401, 401),
        b"client_id=" + b"A" * 8000 + b"&client_secret=gps_x&token=x",
        FORM,
    ),
    # Content types.
    # A body without a Content-Type is not guessed at (a bare `curl -X POST` sends no body at all).
    Case("no content type", (400, 400, 400, 400, 401, 401), content_type=""),
    Case("text/plain", (400, 400, 400, 400, 401, 401), content_type="text/plain"),
    Case("application/xml", (400, 400, 400, 400, 401, 401), b"<a>&x;</a>", "application/xml"),
    Case(
        "multipart/form-data",
        (400, 400, 400, 400, 401, 401),
        b'--b\r\nContent-Disposition: form-data; name="client_id"\r\n\r\ngpc_x\r\n--b--\r\n',
        "multipart/form-data; boundary=b",
    ),
    Case("multipart without a boundary", (400, 400, 400, 400, 401, 401), b"--\r\n", "multipart/form-data"),
    Case("JSON to every operation", (400, 400, 401, 400, 401, 401), NATURAL["POST", "/v1/tokens"][0], JSON),
    # The revocation endpoint wants its token parameter before it authenticates the client.
    Case(
        "a form to every operation",
        (401, 400, 400, 400, 401, 401),
        b"client_id=gpc_x&client_secret=gps_x",
        FORM,
    ),
    # Not NUL: Django's own request object fails on a NUL charset (codecs.lookup raises
    # ValueError), before any view; gunicorn answers 400 to a NUL in any header.
    Case(
        "a content type of garbage",
        (400, 400, 400, 400, 401, 401),
        content_type=latin1(b"\xff/\xfe; charset=\xff"),
    ),
    # Headers.
    Case(
        "invalid UTF-8 in X-Api-Key",
        (401, 401, 401, 400, 401, 401),
        headers={"HTTP_X_API_KEY": latin1(b"gpk_\xc3\x28\xff")},
    ),
    Case(
        "invalid UTF-8 in X-Access-Token",
        (401, 401, 401, 400, 401, 401),
        headers={"HTTP_X_ACCESS_TOKEN": latin1(b"gpa_\xc3\x28\xff")},
    ),
    Case(
        "invalid UTF-8 in a Bearer token",
        (401, 401, 401, 400, 401, 401),
        headers={"HTTP_AUTHORIZATION": latin1(b"Bearer gpa_\xed\xa0\x80")},
    ),
    Case(
        "non-ASCII bytes in Basic",
        (401, 401, 401, 400, 401, 401),
        headers={"HTTP_AUTHORIZATION": latin1(b"Basic \xff\xfe\xc3\x28")},
    ),
    Case(
        "Basic of invalid UTF-8",
        (401, 401, 401, 400, 401, 401),
        headers={"HTTP_AUTHORIZATION": basic(b"gpc_\xff\xfe:gps_\xc3\x28")},
    ),
    Case(
        "Basic of base64 garbage",
        (401, 401, 401, 400, 401, 401),
        headers={"HTTP_AUTHORIZATION": "Basic !!*%$==="},
    ),
    Case(
        "Basic without a colon",
        (401, 401, 401, 400, 401, 401),
        headers={"HTTP_AUTHORIZATION": basic(b"gpc_x")},
    ),
    Case(
        "Basic with NUL bytes",
        (401, 401, 401, 400, 401, 401),
        headers={"HTTP_AUTHORIZATION": basic(b"gpc_\x00%00:gps_\x00")},
    ),
    Case(
        "Basic with encoded lone surrogates",
        (401, 401, 401, 400, 401, 401),
        headers={"HTTP_AUTHORIZATION": basic(b"gpc_%ED%A0%80:gps_%ED%A0%80")},
    ),
    Case("a 1 MB X-Api-Key", (401, 401, 401, 400, 401, 401), headers={"HTTP_X_API_KEY": "gpk_" + "A" * MB}),
    Case(
        "a 1 MB X-Access-Token",
        (401, 401, 401, 400, 401, 401),
        headers={"HTTP_X_ACCESS_TOKEN": "gpa_" + "A" * MB},
    ),
    Case(
        "a 1 MB Basic header",
        (401, 401, 401, 400, 401, 401),
        headers={"HTTP_AUTHORIZATION": basic(b"gpc_" + b"A" * MB + b":gps_x")},
    ),
    Case(
        "NUL bytes in credential headers",
        (401, 401, 401, 400, 401, 401),
        headers={"HTTP_X_API_KEY": "gpk_\x00", "HTTP_X_ACCESS_TOKEN": "\x00", "HTTP_AUTHORIZATION": "\x00"},
    ),
    Case(
        "200 headers of 8 KB",
        (401, 401, 401, 400, 401, 401),
        headers={f"HTTP_X_PAD_{i}": "p" * 8192 for i in range(200)},
    ),
    Case(
        "credentials and invalid UTF-8 in the query string",
        (400, 400, 401, 400, 401, 401),
        headers={"QUERY_STRING": latin1(b"client_secret=%ff%00&X-Api-Key=\xff&access_token=gpa_x")},
    ),
]
# POST /v2/tokens/introspect reads its request exactly as the revocation endpoint does (token before
# client authentication): its column is a copy of that one.
for case in CASES:
    case.expect = (*case.expect, case.expect[ENDPOINTS.index(("POST", "/v2/tokens/revoke"))])
CASE_IDS = [case.name for case in CASES]
ENDPOINT_IDS = [f"{method} {path}" for method, path in ENDPOINTS]
counted = {"requests": 0, "cells": set(), "portal": set()}


@pytest.fixture(scope="module", autouse=True)
def report_figures():
    yield
    if counted["requests"]:
        report(
            "abuse",
            f"{len(ENDPOINTS)} API operations x {len(CASES)} hostile requests = "
            f"{len(counted['cells'])} cells; portal: {len(PORTAL_FORMS)} forms x {len(PORTAL_BODIES)} "
            f"hostile bodies = {len(counted['portal'])} cells; {counted['requests']} requests, no 5xx",
        )


@pytest.fixture
def hostile(db, settings):
    settings.TOKEN_REQUEST_MAX_BYTES = LIMIT
    settings.LOCKOUT_THRESHOLD = 1  # every failure takes the lockout path at once


# One client for every API request (the token API sets no cookie) and one for the portal forms,
# signed in again for each test: each new Client loads the middleware again, and WhiteNoise then
# rescans the static files.
API_CLIENT, PORTAL_CLIENT = Client(), Client()


def send(method, path, body=b"", content_type="", **extra):
    response = API_CLIENT.generic(method, path, body, content_type=content_type, **extra)
    counted["requests"] += 1
    return response


def assert_token_error(response):
    """RFC 6749 5.2: {"error", "error_description"} as JSON, never cached."""
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "error_description"}
    assert DESCRIPTION.fullmatch(body["error_description"])
    assert "no-store" in response["Cache-Control"]
    if response.status_code == 401:
        assert body["error"] == "invalid_client"
        assert response["WWW-Authenticate"].startswith("Basic ")
    elif response.status_code == 429:
        assert body["error"] == "temporarily_unavailable"
        assert int(response["Retry-After"]) > 0
    else:
        assert body["error"] in OAUTH_ERRORS
    return body


def assert_service_error(response):
    """The service APIs' 401: {"error": "invalid_credentials", ...} with a challenge."""
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"] == "invalid_credentials"
    assert set(body) == {"error", "error_description"}
    assert "ApiKey" in response["WWW-Authenticate"]
    return body


def assert_api_error(path, response):
    assert 400 <= response.status_code < 500, response.content[:300]
    if path in SERVICE_PATHS:
        return assert_service_error(response)
    return assert_token_error(response)


# The management API takes a personal access token and answers in its own shape: its hostile
# requests are in tests/manage/test_hostile.py, which lists its operations the same way.
MANAGE_API = "/api/manage/"


def api_paths_in_urlconf():
    """Every URL served by a DRF view or under /vN/, except the OpenAPI document and its Swagger UI
    (drf-spectacular's views or subclasses of them, fuzzed by test_api_schema.py) and the management
    API."""

    for _, route, callback in url_patterns():
        route = "/" + route
        view_class = getattr(callback, "cls", None)
        is_api = isinstance(view_class, type) and issubclass(view_class, APIView)
        if is_api and any(base.__module__.startswith("drf_spectacular.") for base in view_class.__mro__):
            continue
        if route.startswith(MANAGE_API):
            continue
        if is_api or re.match(r"/v\d+/", route):
            yield route


def test_the_table_lists_every_operation_of_the_schema(db):
    document = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()

    operations = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if not path.startswith(MANAGE_API)
    }

    assert operations == set(ENDPOINTS)
    assert set(NATURAL) == set(ENDPOINTS)


def test_the_table_lists_every_api_url_of_the_urlconf():
    assert set(api_paths_in_urlconf()) == {path for _, path in ENDPOINTS}


def test_every_case_has_a_status_for_every_operation():
    for case in CASES:
        assert len(case.expect) == len(ENDPOINTS), case.name
        assert all(400 <= status < 500 for status in case.expect), case.name
    assert len(set(CASE_IDS)) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize(("method", "path"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_hostile_request_gets_a_4xx_in_the_spec_shape(hostile, method, path, case):
    expected = case.expect[ENDPOINTS.index((method, path))]
    body, content_type, headers = case.request(method, path)
    before = token_state()

    first = send(method, path, body, content_type, **headers)
    again = send(method, path, body, content_type, **headers)

    assert first.status_code == expected, first.content[:300]
    assert_api_error(path, first)
    assert_api_error(path, again)
    # Once a failure is counted, whatever the client ID sent, the pair is locked.
    assert again.status_code in (first.status_code, 429)
    assert token_state() == before
    counted["cells"].add((method, path, case.name))


def token_state():
    return (
        OAuthClient.objects.count(),
        AccessToken.objects.count(),
        RefreshToken.objects.count(),
        ApiKeyCredential.objects.count(),
    )


OTHER_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
UNDOCUMENTED = sorted({(method, path) for _, path in ENDPOINTS for method in OTHER_METHODS} - set(ENDPOINTS))


@pytest.mark.parametrize(("method", "path"), UNDOCUMENTED, ids=[f"{m} {p}" for m, p in UNDOCUMENTED])
def test_undocumented_method_with_a_json_bomb_gets_405_or_401(hostile, method, path):
    response = send(method, path, b"[" * 100_000, JSON, HTTP_AUTHORIZATION=latin1(b"Basic \xff"))

    # DRF authenticates before it looks at the method: the service APIs say 401 first.
    assert response.status_code == (401 if path in SERVICE_PATHS else 405)
    assert_api_error(path, response)


@pytest.mark.parametrize("path", sorted({path for _, path in ENDPOINTS}))
def test_options_and_head_with_a_json_bomb_never_fail(hostile, path):
    options = send("OPTIONS", path, b"[" * 100_000, JSON)
    head = send("HEAD", path, b"[" * 100_000, JSON)

    if path in SERVICE_PATHS:
        assert [options.status_code, head.status_code] == [401, 401]
    else:
        assert [options.status_code, head.status_code] == [200, 405]  # OPTIONS: the Allow header only
        assert options.content == b"" and "POST" in options["Allow"]


@pytest.mark.parametrize(
    "credentials",
    [
        {"HTTP_AUTHORIZATION": basic(b"gpc_\x00%00:gps_x")},
        {"HTTP_AUTHORIZATION": basic("gpc_ünï☃:gps_x".encode())},
        {"HTTP_AUTHORIZATION": basic(b"gpc_%ED%A0%80%FF:gps_x")},
    ],
    ids=["NUL", "non-ASCII", "invalid UTF-8 escapes"],
)
def test_odd_client_ids_are_counted_and_locked_like_any_other(hostile, credentials):
    first = send("POST", "/v2/tokens", b"grant_type=client_credentials", FORM, **credentials)
    again = send("POST", "/v2/tokens", b"grant_type=client_credentials", FORM, **credentials)

    assert [first.status_code, again.status_code] == [401, 429]
    assert Lockout.objects.filter(locked_until__isnull=False).count() == 1


def test_deep_json_under_a_raised_size_limit_is_400_not_recursion(hostile, settings):
    settings.TOKEN_REQUEST_MAX_BYTES = 2 * MB  # the 100000 levels now reach json.loads

    for method in ("POST", "PATCH"):
        for bomb in (b"[" * 100_000, b'{"a":' * 100_000, b"[" * 50_000 + b"]" * 50_000):
            response = send(method, "/v1/tokens", bomb, JSON)

            assert response.status_code == 400
            assert assert_token_error(response)["error"] == "invalid_request"


def test_a_real_client_is_refused_when_its_request_is_hostile(hostile):
    """Valid credentials do not let a malformed request through, nor do they count as failures."""
    group = Group.objects.create(name="Abuse", slug="abuse")
    client, secret = make_oauth_client(group)
    header = basic(f"{client.client_id}:{secret}".encode())

    oversized = send("POST", "/v2/tokens", PAD_FORM, FORM, HTTP_AUTHORIZATION=header)
    as_json = send("POST", "/v2/tokens", b"[" * LIMIT, JSON, HTTP_AUTHORIZATION=header)
    too_many = send("POST", "/v2/tokens", b"a&" * 1500, FORM, HTTP_AUTHORIZATION=header)
    then = send("POST", "/v2/tokens", b"grant_type=client_credentials", FORM, HTTP_AUTHORIZATION=header)

    assert [oversized.status_code, as_json.status_code, too_many.status_code] == [413, 400, 400]
    assert then.status_code == 200
    assert not Lockout.objects.exists()


@pytest.mark.parametrize(
    "name",
    ["Billing\r\nX-Injected: yes", "Tab\tand\x01SOH\x7f", "Ünïcödé ☃ name"],
    ids=["CRLF", "controls", "unicode"],
)
def test_verify_answers_204_whatever_the_credential_is_named(hostile, name):
    """The admin's change form accepts any name; the gateway still gets 204 and one clean header."""
    group = Group.objects.create(name="Abuse", slug="abuse")
    credential, keys = make_api_key(group)
    ApiKeyCredential.objects.filter(pk=credential.pk).update(name=name)

    verified = send("GET", "/v1/verify", HTTP_X_API_KEY=keys["primary"])
    whoami = send("GET", "/v1/whoami", HTTP_X_API_KEY=keys["primary"])

    assert verified.status_code == 204
    assert not re.search(r"[\x00-\x1f\x7f]", verified["X-Auth-Credential"])
    assert verified["X-Auth-Group"] == "abuse"
    assert whoami.status_code == 200
    assert whoami.json()["auth"]["credential"] == name


# Portal forms: invalid UTF-8 and oversized posts get a 4xx or the form again, never a 5xx.
# Each page: who posts, where a re-rendered form may send them back (None: never redirects).
PORTAL_FORMS = {
    "/accounts/login/": (None, None),
    "/accounts/reauthenticate/": ("owner", None),
    "/accounts/password_change/": ("owner", None),
    "/groups/new/": ("staff", None),
    "/groups/payments/members/add/": ("owner", None),
    "/groups/payments/members/wanda/role/": ("owner", "/groups/payments/members/"),
    "/groups/payments/api-keys/new/": ("owner", None),
    "/groups/payments/oauth-clients/new/": ("owner", None),
    "/groups/payments/oauth-clients/{client}/secret/regenerate/": ("owner", None),
    "/groups/payments/oauth-clients/{client}/unlock/": ("owner", "/groups/payments/"),
}
FIELDS = [
    "name",
    "slug",
    "owner",
    "username",
    "role",
    "password",
    "old_password",
    "address",
    "grace_seconds",
    "version",
]
PORTAL_BODIES = {
    "invalid UTF-8": (b"&".join(f.encode() + b"=\xff\xfe\xc3\x28" for f in FIELDS), FORM, {}),
    "NUL bytes": (b"&".join(f.encode() + b"=a%00b\x00" for f in FIELDS), FORM, {}),
    "3 MB, over DATA_UPLOAD_MAX_MEMORY_SIZE": (b"name=" + b"a" * (3 * MB), FORM, {}),
    "5 MB, Content-Length 20": (b"unknown=" + b"a" * (5 * MB), FORM, {"CONTENT_LENGTH": "20"}),
    "1500 fields": (b"a&" * 1500, FORM, {}),
    "an unknown charset": (b"name=ok&username=\xff", FORM + "; charset=rot13", {}),
    "multipart without a boundary": (b"--\r\nname=ok", "multipart/form-data", {}),
    "a broken multipart body": (
        b"--b\r\nContent-Disposition: form-data; na",
        "multipart/form-data; boundary=b",
        {},
    ),
    "a JSON bomb": (b"[" * 100_000, JSON, {}),
}


def portal_state():
    """Every row a portal form could write, and the secrets by digest."""
    return (
        sorted(Group.objects.values_list("slug", "name")),
        sorted(Membership.objects.values_list("group__slug", "user__username", "role")),
        sorted(ApiKeyCredential.objects.values_list("group__slug", "name")),
        sorted(OAuthClient.objects.values_list("group__slug", "name", "client_id")),
        sorted(OAuthClient.objects.values_list("secrets__digest", flat=True)),
        Lockout.objects.count(),
        changes().count(),
    )


@pytest.mark.parametrize("body_name", list(PORTAL_BODIES))
@pytest.mark.parametrize("page", list(PORTAL_FORMS))
def test_portal_form_gets_4xx_or_the_form_again(cast, page, body_name):
    make_member(cast.group, Role.VIEWER, "wanda")
    oauth_client, _ = make_oauth_client(cast.group)
    who, redirect_to = PORTAL_FORMS[page]
    client = PORTAL_CLIENT
    client.cookies = SimpleCookie()
    if who:
        client.force_login(getattr(cast, who))
    body, content_type, extra = PORTAL_BODIES[body_name]
    url = page.format(client=oauth_client.public_id)
    before = portal_state()

    response = client.generic("POST", url, body, content_type=content_type, **extra)
    counted["requests"] += 1
    counted["portal"].add((page, body_name))

    assert response.status_code < 500
    if response.status_code == 200:
        assert b"<form" in response.content  # the form again, with its errors
    elif response.status_code in (301, 302):
        assert response["Location"] == redirect_to
    else:
        assert 400 <= response.status_code < 500
    assert portal_state() == before
    assert not SECRET_SHAPE.search(response.content.decode("utf-8", "replace"))


def test_login_with_hostile_bodies_never_signs_in(cast):
    client = Client()

    for body, content_type, extra in PORTAL_BODIES.values():
        response = client.generic("POST", "/accounts/login/", body, content_type=content_type, **extra)
        assert response.status_code < 500

    assert "_auth_user_id" not in client.session
    signed_in = client.post("/accounts/login/", {"username": "olivia", "password": PASSWORD})
    assert signed_in.status_code == 302
    assert client.session["_auth_user_id"] == str(cast.owner.pk)
