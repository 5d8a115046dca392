"""Hostile requests at every management API operation: a clear 4xx in the API's shape (or the
answer a GET gives anyway, its body unread), never a 5xx. The operations are the URLconf's."""

import re

import pytest

from groups.models import Service
from tests.conftest import (
    MANAGE_OPERATIONS,
    make_api_key,
    make_member,
    make_oauth_client,
    make_user,
    url_patterns,
)
from tests.manage.conftest import make_pat

MB = 1024 * 1024
JSON = "application/json"
BODIES = {
    "5 MB of JSON": (b'{"name": "' + b"a" * (5 * MB) + b'"}', JSON),
    "nesting deep enough for RecursionError": (b"[" * 100_000, JSON),
    "a huge number": (b'{"version": 1' + b"0" * 5000 + b"}", JSON),
    "invalid UTF-8": (b'{"name": "\xff\xfe"}', JSON),
    "not JSON": (b"{name: ", JSON),
    "a NUL byte": (b'{"name": "a\\u0000b", "username": "a\\u0000", "address": "\\u0000"}', JSON),
    "600 keys": (("{" + ", ".join(f'"k{i}": {i}' for i in range(600)) + "}").encode(), JSON),
    "an unknown content type": (b"<xml/>", "application/xml"),
    "a form with invalid UTF-8": (b"name=%ff%fe&role=%00", "application/x-www-form-urlencoded"),
}


def manage_routes():
    return sorted("/" + route for _, route, _ in url_patterns() if route.startswith("api/manage/"))


def test_every_url_of_the_management_api_is_listed():
    def as_route(path):
        return re.sub(r"\{(\w+)\}", lambda m: f"<{m[1]}>", path)

    listed = {as_route(path) for _, path in MANAGE_OPERATIONS}
    assert {re.sub(r"<\w+:(\w+)>", r"<\1>", route) for route in manage_routes()} == listed


@pytest.fixture
def filled(cast):
    make_member(cast.group, "viewer", "wanda")
    make_user("newbie")
    Service.objects.create(group=cast.group, name="orders:read")
    key, client = make_api_key(cast.group)[0], make_oauth_client(cast.group)[0]
    token = make_pat(cast.staff)

    def fill(path):
        values = {"slug": "payments", "username": "wanda", "slot": "primary", "service": "orders:read"}
        values["public_id"] = str(client.public_id if "oauth-clients" in path else key.public_id)
        return re.sub(r"\{(\w+)\}", lambda m: values[m[1]], path)

    return fill, token


@pytest.mark.parametrize("name", list(BODIES))
@pytest.mark.parametrize(
    ("method", "path"), MANAGE_OPERATIONS, ids=[f"{m} {p}" for m, p in MANAGE_OPERATIONS]
)
def test_a_hostile_body_is_never_a_5xx(client, filled, method, path, name):
    fill, token = filled
    body, content_type = BODIES[name]

    response = client.generic(
        method, fill(path), body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {token}"
    )

    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        assert set(response.json()) == {"error", "error_description"}


@pytest.mark.parametrize(
    "header",
    [b"Bearer \xff\xfe", b"Bearer " + b"gpu_" + b"a" * 10_000, b"Bearer gpu_\x00", b"\xff" * 100],
)
def test_a_hostile_authorization_header_is_401(client, header):
    response = client.get("/api/manage/v1/groups/", HTTP_AUTHORIZATION=header.decode("latin-1"))

    assert response.status_code == 401 and response.json()["error"] == "invalid_token"
