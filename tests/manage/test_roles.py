"""Every management operation, for each role, with a read-write token (and a read-only owner's):
the portal's rules, so non-members 404, viewers 403 on writes, read-only tokens 403 on writes."""

import json

import pytest

from groups.models import Role, Service
from tests.conftest import make_api_key, make_member, make_oauth_client, make_user
from tests.manage.conftest import API, api_client, make_pat

G = f"{API}/groups/payments"
#            owner, admin, viewer, outsider, staff, read-only owner
READ_ALL = (200, 200, 200, 404, 200, 200)
CREDENTIAL_WRITE = lambda ok: (ok, ok, 403, 404, ok, 403)  # noqa: E731
MEMBER_WRITE = lambda ok: (ok, 403, 403, 404, ok, 403)  # noqa: E731

OPERATIONS = [
    ("GET", f"{API}/groups/", None, (200, 200, 200, 200, 200, 200)),
    ("POST", f"{API}/groups/", {"name": "Fraud"}, (403, 403, 403, 403, 201, 403)),
    ("GET", f"{G}/", None, READ_ALL),
    ("POST", f"{G}/suspend/", {}, MEMBER_WRITE(200)),
    ("POST", f"{G}/resume/", {}, MEMBER_WRITE(200)),
    ("GET", f"{G}/policy/", None, READ_ALL),
    ("PUT", f"{G}/policy/", {"max_credential_age_days": 90, "max_age_enforced": True}, MEMBER_WRITE(200)),
    ("GET", f"{G}/services/", None, READ_ALL),
    ("POST", f"{G}/services/", {"name": "orders:write"}, MEMBER_WRITE(201)),
    ("DELETE", f"{G}/services/orders:read/", None, MEMBER_WRITE(204)),
    ("GET", f"{G}/members/", None, READ_ALL),
    ("POST", f"{G}/members/", {"username": "newbie", "role": "viewer"}, (202, 403, 403, 404, 201, 403)),
    ("GET", f"{G}/members/wanda/", None, READ_ALL),
    ("PATCH", f"{G}/members/wanda/", {"role": "admin"}, MEMBER_WRITE(200)),
    ("DELETE", f"{G}/members/wanda/", None, MEMBER_WRITE(204)),
    ("GET", f"{G}/api-keys/", None, READ_ALL),
    ("POST", f"{G}/api-keys/", {"name": "Reporting"}, CREDENTIAL_WRITE(201)),
    ("GET", f"{G}/api-keys/{{key}}/", None, READ_ALL),
    ("DELETE", f"{G}/api-keys/{{key}}/", None, CREDENTIAL_WRITE(204)),
    ("POST", f"{G}/api-keys/{{key}}/expiry/", {"expires_at": "2099-01-01T00:00:00Z"}, CREDENTIAL_WRITE(200)),
    ("POST", f"{G}/api-keys/{{key}}/scopes/", {"scopes": ["orders:read"]}, CREDENTIAL_WRITE(200)),
    ("POST", f"{G}/api-keys/{{key}}/rate-limit/", {"rate_limit": 60}, CREDENTIAL_WRITE(200)),
    ("GET", f"{G}/api-keys/{{key}}/networks/", None, READ_ALL),
    ("PUT", f"{G}/api-keys/{{key}}/networks/", {"allowed_networks": ["10.0.0.0/8"]}, CREDENTIAL_WRITE(200)),
    ("POST", f"{G}/api-keys/{{key}}/secondary/regenerate/", {}, CREDENTIAL_WRITE(200)),
    ("POST", f"{G}/api-keys/{{key}}/primary/reveal/", {}, CREDENTIAL_WRITE(200)),
    ("GET", f"{G}/oauth-clients/", None, READ_ALL),
    ("POST", f"{G}/oauth-clients/", {"name": "Partner"}, CREDENTIAL_WRITE(201)),
    ("GET", f"{G}/oauth-clients/{{client}}/", None, READ_ALL),
    ("DELETE", f"{G}/oauth-clients/{{client}}/", None, CREDENTIAL_WRITE(204)),
    (
        "POST",
        f"{G}/oauth-clients/{{client}}/secret/regenerate/",
        {"grace_seconds": 3600},
        CREDENTIAL_WRITE(200),
    ),
    ("POST", f"{G}/oauth-clients/{{client}}/scopes/", {"scopes": None}, CREDENTIAL_WRITE(200)),
    ("POST", f"{G}/oauth-clients/{{client}}/rate-limit/", {"rate_limit": None}, CREDENTIAL_WRITE(200)),
    ("GET", f"{G}/oauth-clients/{{client}}/networks/", None, READ_ALL),
    ("PUT", f"{G}/oauth-clients/{{client}}/networks/", {"allowed_networks": []}, CREDENTIAL_WRITE(200)),
    ("POST", f"{G}/oauth-clients/{{client}}/end-grace/", {}, CREDENTIAL_WRITE(200)),
    ("POST", f"{G}/oauth-clients/{{client}}/unlock/", {"address": "192.0.2.1"}, CREDENTIAL_WRITE(200)),
    ("GET", f"{G}/activity/", None, READ_ALL),
]
ROLES = ("owner", "admin", "viewer", "outsider", "staff", "read-only owner")


@pytest.fixture
def world(cast):
    make_member(cast.group, Role.VIEWER, "wanda")
    make_user("newbie")
    Service.objects.create(group=cast.group, name="orders:read")
    cast.key = make_api_key(cast.group)[0]
    cast.client = make_oauth_client(cast.group)[0]
    return cast


def token_of(world, role):
    if role == "read-only owner":
        return make_pat(world.owner, read_only=True)
    return make_pat(getattr(world, role))


def send(client, method, url, data):
    body = json.dumps(data) if data is not None else None
    return client.generic(method, url, body or "", content_type="application/json")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "path", "data", "expected"), OPERATIONS, ids=[f"{m} {p}" for m, p, *_ in OPERATIONS]
)
def test_each_role_gets_the_portals_answer(world, role, method, path, data, expected):
    url = path.format(key=world.key.public_id, client=world.client.public_id)

    response = send(api_client(token_of(world, role)), method, url, data)

    assert response.status_code == expected[ROLES.index(role)], response.content
    if response.status_code >= 400:
        assert set(response.json()) == {"error", "error_description"}
    if role == "outsider":
        assert "Payments" not in response.content.decode()


@pytest.mark.parametrize(
    ("method", "path", "data", "expected"), OPERATIONS, ids=[f"{m} {p}" for m, p, *_ in OPERATIONS]
)
def test_without_a_token_every_operation_is_401(world, method, path, data, expected):
    url = path.format(key=world.key.public_id, client=world.client.public_id)

    assert send(api_client(), method, url, data).status_code == 401
