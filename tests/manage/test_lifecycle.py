"""The management API's lifecycle operations: expiry, services, rate limits, suspension and the
end of a grace period, each the portal's model method with its rules and Activity."""

import json

import pytest

from credentials.models import AccessToken, ApiKeyCredential, OAuthClient
from groups.models import Action, Activity, Group, Service
from tests.conftest import issue_access_token, key_identity, make_api_key, make_oauth_client
from tests.manage.conftest import API, api_client, make_pat

G = f"{API}/groups/payments"
FUTURE = "2099-01-31T00:00:00Z"


def send(client, method, url, data=None, **headers):
    return client.generic(method, url, json.dumps(data or {}), content_type="application/json", **headers)


@pytest.fixture
def owner(cast):
    Service.objects.create(group=cast.group, name="orders:read")
    Service.objects.create(group=cast.group, name="orders:write")
    return api_client(make_pat(cast.owner))


def test_a_credential_is_created_with_expiry_scopes_and_rate_limit(cast, owner):
    body = {"name": "Reporting", "expires_at": FUTURE, "scopes": ["orders:read"], "rate_limit": 120}

    response = send(owner, "POST", f"{G}/api-keys/", body)

    assert response.status_code == 201
    created = response.json()
    assert (created["expires_at"], created["scopes"], created["rate_limit"]) == (FUTURE, ["orders:read"], 120)
    credential = ApiKeyCredential.objects.get(name="Reporting")
    assert (credential.scopes, credential.rate_limit) == ("orders:read", 120)
    assert send(owner, "GET", f"{G}/api-keys/{credential.public_id}/").json()["scopes"] == ["orders:read"]


def test_omitted_settings_are_the_portals_defaults(cast, owner):
    response = send(owner, "POST", f"{G}/oauth-clients/", {"name": "Partner"})

    body = response.json()
    assert (body["secret_expires_at"], body["scopes"], body["rate_limit"]) == (None, None, None)
    assert OAuthClient.objects.get(name="Partner").scopes is None


def test_an_oauth_clients_secret_expires_as_asked(cast, owner):
    response = send(owner, "POST", f"{G}/oauth-clients/", {"name": "Partner", "expires_at": FUTURE})
    url = f"{G}/oauth-clients/{response.json()['id']}/secret/regenerate/"

    regenerated = send(owner, "POST", url, {"expires_at": "2098-06-30T12:00:00+09:00"})

    assert regenerated.status_code == 200
    assert response.json()["secret_expires_at"] == FUTURE
    read = send(owner, "GET", f"{G}/oauth-clients/{response.json()['id']}/").json()
    assert read["secret_expires_at"] == "2098-06-30T03:00:00Z"


def test_setting_the_expiry_is_recorded(cast, owner):
    credential, _ = make_api_key(cast.group)
    url = f"{G}/api-keys/{credential.public_id}/expiry/"

    response = send(owner, "POST", url, {"expires_at": FUTURE, "version": 1})
    never = send(owner, "POST", url, {"expires_at": None}, HTTP_IF_MATCH='"2"')

    assert response.json()["expires_at"] == FUTURE and response.json()["version"] == 2
    assert never.json()["expires_at"] is None and never.json()["version"] == 3
    targets = Activity.objects.filter(action=Action.API_KEY_EXPIRY_CHANGED, actor=cast.owner)
    assert sorted(targets.values_list("target", flat=True)) == [
        "Billing app (expires 2099-01-31 00:00 UTC)",
        "Billing app (expires never)",
    ]


def test_scopes_limit_a_credential_at_verification(cast, owner):
    credential, values = make_api_key(cast.group)

    response = send(
        owner, "POST", f"{G}/api-keys/{credential.public_id}/scopes/", {"scopes": ["orders:read"]}
    )

    assert response.json()["scopes"] == ["orders:read"]
    assert key_identity(values["primary"]).scopes == frozenset({"orders:read"})
    row = Activity.objects.get(action=Action.SCOPES_CHANGED)
    assert (row.actor, row.target) == (cast.owner, "Billing app (orders:read)")


def test_an_oauth_clients_scopes_and_rate_limit(cast, owner):
    client, _ = make_oauth_client(cast.group)
    url = f"{G}/oauth-clients/{client.public_id}"

    scoped = send(owner, "POST", f"{url}/scopes/", {"scopes": []})
    limited = send(owner, "POST", f"{url}/rate-limit/", {"rate_limit": 30})

    assert scoped.json()["scopes"] == [] and limited.json()["rate_limit"] == 30
    client.refresh_from_db()
    assert (client.scopes, client.rate_limit, client.version) == ("", 30, 3)
    assert Activity.objects.filter(action=Action.RATE_LIMIT_CHANGED, actor=cast.owner).count() == 1


def test_a_rate_limit_is_set_and_cleared(cast, owner):
    credential, _ = make_api_key(cast.group)
    url = f"{G}/api-keys/{credential.public_id}/rate-limit/"

    assert send(owner, "POST", url, {"rate_limit": 60}).json()["rate_limit"] == 60
    assert send(owner, "POST", url, {"rate_limit": None}).json()["rate_limit"] is None
    targets = Activity.objects.filter(action=Action.RATE_LIMIT_CHANGED).values_list("target", flat=True)
    assert sorted(targets) == ["Billing app (60 requests per minute)", "Billing app (no limit)"]


@pytest.mark.parametrize("operation", ["expiry", "scopes", "rate-limit"])
def test_a_stale_version_changes_no_setting(cast, owner, operation):
    credential, _ = make_api_key(cast.group)
    credential.regenerate("primary", credential.version, cast.admin)
    body = {"expiry": {"expires_at": FUTURE}, "scopes": {"scopes": []}, "rate-limit": {"rate_limit": 5}}

    response = send(
        owner, "POST", f"{G}/api-keys/{credential.public_id}/{operation}/", {**body[operation], "version": 1}
    )

    assert response.status_code == 409 and response.json()["error"] == "conflict"
    credential.refresh_from_db()
    assert (credential.expires_at, credential.scopes, credential.rate_limit, credential.version) == (
        None,
        None,
        None,
        2,
    )


def test_a_stale_version_ends_no_grace_period(cast, owner):
    client, _ = make_oauth_client(cast.group)
    client.regenerate_secret(1, cast.admin, grace_seconds=3600)
    url = f"{G}/oauth-clients/{client.public_id}/end-grace/"

    stale = send(owner, "POST", url, {"version": 1})
    ended = send(owner, "POST", url, {"version": 2})
    again = send(owner, "POST", url)

    assert stale.status_code == 409
    assert ended.json() == {"ended": True, "version": 3}
    assert again.json() == {"ended": False, "version": 4}
    assert (
        send(owner, "GET", f"{G}/oauth-clients/{client.public_id}/").json()["previous_secret_expires_at"]
        is None
    )
    assert Activity.objects.filter(action=Action.OAUTH_GRACE_ENDED, actor=cast.owner).count() == 1


def test_suspend_and_resume_as_on_the_portal(cast, owner):
    client, _ = make_oauth_client(cast.group)
    issue_access_token(client)

    suspended = send(owner, "POST", f"{G}/suspend/")
    again = send(owner, "POST", f"{G}/suspend/")

    assert suspended.status_code == again.status_code == 200
    assert suspended.json()["suspended_at"] == again.json()["suspended_at"] is not None
    assert not AccessToken.objects.filter(revoked_at=None).exists()
    assert send(owner, "GET", f"{G}/").json()["suspended_at"] == suspended.json()["suspended_at"]
    assert send(owner, "POST", f"{G}/resume/").json()["suspended_at"] is None
    assert Group.objects.get().suspended_at is None
    actions = cast.group.activities.filter(actor=cast.owner).values_list("action", flat=True)
    assert sorted(actions) == [Action.GROUP_RESUMED, Action.GROUP_SUSPENDED]


def test_an_admin_may_not_suspend(cast, owner):
    response = send(api_client(make_pat(cast.admin)), "POST", f"{G}/suspend/")

    assert response.status_code == 403
    assert "owners can suspend" in response.json()["error_description"]
    assert Group.objects.get().suspended_at is None


def test_services_are_added_once_and_removed(cast, owner):
    credential, _ = make_api_key(cast.group)
    credential.set_scopes(["orders:read", "orders:write"], 1, cast.owner)

    added = send(owner, "POST", f"{G}/services/", {"name": "invoices"})
    twice = send(owner, "POST", f"{G}/services/", {"name": "invoices"})
    removed = send(owner, "DELETE", f"{G}/services/orders:write/")

    assert (added.status_code, twice.status_code, removed.status_code) == (201, 200, 204)
    names = [service["name"] for service in send(owner, "GET", f"{G}/services/").json()]
    assert names == ["invoices", "orders:read"]
    credential.refresh_from_db()
    assert credential.scopes == "orders:read"
    assert Activity.objects.filter(action=Action.SERVICE_ADDED, actor=cast.owner).count() == 1
    assert send(owner, "DELETE", f"{G}/services/orders:write/").status_code == 404


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api-keys/", {"name": "X", "expires_at": "2000-01-01T00:00:00Z"}),
        ("/api-keys/", {"name": "X", "expires_at": "tomorrow"}),
        ("/api-keys/", {"name": "X", "expires_at": 1893456000}),
        ("/api-keys/", {"name": "X", "expires_at": "9999-12-31T23:59:59-12:00"}),
        ("/api-keys/", {"name": "X", "scopes": ["payroll"]}),
        ("/api-keys/", {"name": "X", "scopes": "orders:read"}),
        ("/api-keys/", {"name": "X", "scopes": [1]}),
        ("/api-keys/", {"name": "X", "rate_limit": 0}),
        ("/api-keys/", {"name": "X", "rate_limit": "many"}),
        ("/api-keys/", {"name": "X", "rate_limit": 10**20}),
        ("/oauth-clients/", {"name": "X", "scopes": [None]}),
        ("/api-keys/{key}/expiry/", {}),
        ("/api-keys/{key}/expiry/", {"expires_at": FUTURE, "version": "x"}),
        ("/api-keys/{key}/scopes/", {}),
        ("/api-keys/{key}/scopes/", {"scopes": {"orders:read": True}}),
        ("/api-keys/{key}/rate-limit/", {}),
        ("/api-keys/{key}/rate-limit/", {"rate_limit": True}),
        ("/oauth-clients/{client}/scopes/", {"scopes": ["nope"]}),
        ("/oauth-clients/{client}/rate-limit/", {"rate_limit": -1}),
        ("/oauth-clients/{client}/secret/regenerate/", {"expires_at": "2000-01-01"}),
        ("/oauth-clients/{client}/end-grace/", {"version": 0}),
        ("/services/", {"name": "Orders Read"}),
        ("/services/", {}),
        ("/services/", {"name": ["orders:read"]}),
    ],
)
def test_bad_settings_are_a_clear_400(cast, owner, path, body):
    key, _ = make_api_key(cast.group)
    client, _ = make_oauth_client(cast.group)
    url = G + path.format(key=key.public_id, client=client.public_id)

    response = send(owner, "POST", url, body)

    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_request"
    assert not ApiKeyCredential.objects.filter(name="X").exists()


def test_scopes_need_services_first(cast):
    response = send(
        api_client(make_pat(cast.owner)), "POST", f"{G}/api-keys/", {"name": "X", "scopes": ["a"]}
    )

    assert response.status_code == 400
    assert "no services" in response.json()["error_description"]
