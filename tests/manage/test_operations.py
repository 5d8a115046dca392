"""What the management API's operations do: the portal's model methods, rules and Activity."""

import json

import pytest
from django.utils import timezone

from credentials.models import AccessToken, Lockout
from groups.models import Action, Activity, Group, Invitation, Membership, Role
from tests.conftest import (
    backdate_activity,
    issue_access_token,
    key_identity,
    make_api_key,
    make_member,
    make_oauth_client,
)
from tests.manage.conftest import API, api_client, make_pat

G = f"{API}/groups/payments"


def send(client, method, url, data=None, **headers):
    return client.generic(method, url, json.dumps(data or {}), content_type="application/json", **headers)


@pytest.fixture
def owner(cast):
    return api_client(make_pat(cast.owner))


def test_a_reveal_is_recorded_as_the_portals_show(cast, owner):
    credential, values = make_api_key(cast.group)

    response = send(
        owner, "POST", f"{G}/api-keys/{credential.public_id}/primary/reveal/", REMOTE_ADDR="198.51.100.7"
    )

    assert response.json()["value"] == values["primary"]
    row = Activity.objects.get(action=Action.API_KEY_SHOWN)
    assert (row.actor, row.target, row.source_address) == (
        cast.owner,
        "Billing app primary key",
        "198.51.100.7",
    )


def test_reveal_follows_credentials_show(cast, owner, settings):
    settings.CREDENTIALS_SHOW = False
    credential, _ = make_api_key(cast.group)

    response = send(owner, "POST", f"{G}/api-keys/{credential.public_id}/primary/reveal/")

    assert response.status_code == 403
    assert not Activity.objects.filter(action=Action.API_KEY_SHOWN).exists()


def test_a_stale_version_changes_nothing(cast, owner):
    credential, values = make_api_key(cast.group)
    credential.regenerate("primary", credential.version, cast.admin)

    response = send(
        owner, "POST", f"{G}/api-keys/{credential.public_id}/secondary/regenerate/", {"version": 1}
    )

    assert response.status_code == 409 and response.json()["error"] == "conflict"
    assert "adam" in response.json()["error_description"]
    assert key_identity(values["secondary"]) is not None


def test_if_match_carries_the_version(cast, owner):
    credential, _ = make_api_key(cast.group)
    url = f"{G}/api-keys/{credential.public_id}/"

    assert send(owner, "DELETE", url, HTTP_IF_MATCH='"7"').status_code == 409
    assert send(owner, "DELETE", url, HTTP_IF_MATCH='"1"').status_code == 204
    assert Activity.objects.filter(action=Action.API_KEY_DELETED, actor=cast.owner).exists()


def test_the_last_owner_stays(cast, owner):
    url = f"{G}/members/olivia/"

    demoted = send(owner, "PATCH", url, {"role": "viewer"})
    removed = send(owner, "DELETE", url)

    assert demoted.status_code == removed.status_code == 409
    assert demoted.json()["error"] == "last_owner"
    assert Membership.objects.get(user=cast.owner).role == Role.OWNER
    assert Membership.objects.get(user=cast.owner).version == 1  # the claim rolled back too


def test_an_owner_changes_a_role_as_on_the_portal(cast, owner):
    response = send(owner, "PATCH", f"{G}/members/vera/", {"role": "admin", "version": 1})

    assert response.json()["role"] == "admin" and response.json()["version"] == 2
    row = Activity.objects.get(action=Action.MEMBER_ROLE_CHANGED)
    assert (row.actor, row.target) == (cast.owner, "vera to admin")


def test_an_owners_username_becomes_an_invitation_whoever_it_is(cast, owner):
    real = send(owner, "POST", f"{G}/members/", {"username": "oscar", "role": "admin"})
    made_up = send(owner, "POST", f"{G}/members/", {"username": "nobody", "role": "admin"})

    assert real.status_code == made_up.status_code == 202
    assert real.json().keys() == made_up.json().keys()
    assert Invitation.objects.filter(username="oscar").exists()
    assert not Membership.objects.filter(user=cast.outsider).exists()


def test_staff_create_a_group_with_its_owner(cast):
    response = send(
        api_client(make_pat(cast.staff)), "POST", f"{API}/groups/", {"name": "Fraud", "owner": "oscar"}
    )

    assert response.status_code == 201 and response.json()["slug"] == "fraud"
    assert Membership.objects.get(group__slug="fraud").user == cast.outsider
    assert Activity.objects.filter(action=Action.GROUP_CREATED, actor=cast.staff).exists()


def test_a_new_oauth_client_shows_its_secret_once(cast, owner):
    response = send(owner, "POST", f"{G}/oauth-clients/", {"name": "Partner"})

    body = response.json()
    assert body["client_secret"].startswith("gps_") and body["client_id"].startswith("gpc_")
    listed = send(owner, "GET", f"{G}/oauth-clients/").content.decode()
    assert body["client_secret"] not in listed and body["client_id"] in listed


def test_regenerating_a_secret_keeps_the_portals_choices(cast, owner):
    client, _ = make_oauth_client(cast.group)
    issue_access_token(client)
    url = f"{G}/oauth-clients/{client.public_id}/secret/regenerate/"

    assert send(owner, "POST", url, {"grace_seconds": 60}).status_code == 400
    response = send(owner, "POST", url, {"grace_seconds": 86400, "revoke_tokens": False})

    assert response.status_code == 200
    assert AccessToken.objects.filter(revoked_at=None).count() == 1
    assert send(owner, "GET", f"{G}/oauth-clients/{client.public_id}/").json()["previous_secret_expires_at"]
    row = Activity.objects.get(action=Action.OAUTH_SECRET_REGENERATED)
    assert row.target == "Checkout (the old secret stops working after 1 day; tokens kept)"


def test_regenerating_a_secret_revokes_tokens_by_default(cast, owner):
    client, _ = make_oauth_client(cast.group)
    issue_access_token(client)

    send(owner, "POST", f"{G}/oauth-clients/{client.public_id}/secret/regenerate/")

    assert not AccessToken.objects.filter(revoked_at=None).exists()


def test_unlock_lifts_a_lock(cast, owner):
    client, _ = make_oauth_client(cast.group)
    Lockout.objects.create(
        client_key=Lockout.key_for(client.client_id),
        address="192.0.2.1",
        failures=5,
        last_failure_at=timezone.now(),
    )
    url = f"{G}/oauth-clients/{client.public_id}/unlock/"

    assert send(owner, "POST", url, {"address": "192.0.2.1"}).json() == {"unlocked": True}
    assert send(owner, "POST", url, {"address": "192.0.2.1"}).json() == {"unlocked": False}
    assert Activity.objects.filter(action=Action.CLIENT_UNLOCKED, actor=cast.owner).count() == 1


def test_activity_is_filtered_and_paginated(cast, owner):
    for n in range(3):
        make_api_key(cast.group, f"Key {n}")
    backdate_activity(Activity.objects.filter(target="Key 0"), "2026-01-01T00:00:00Z")

    page = send(owner, "GET", f"{G}/activity/?action=api_key.created&since=2026-02-01&page_size=1").json()
    old = send(owner, "GET", f"{G}/activity/?until=2026-01-01").json()

    assert page["count"] == 2 and len(page["results"]) == 1 and page["next"]
    assert [row["target"] for row in old["results"]] == ["Key 0"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api-keys/", "[1, 2]"),
        ("POST", "/api-keys/", "{not json"),
        ("POST", "/api-keys/", '{"name": ""}'),
        ("POST", "/api-keys/", '{"name": {"x": 1}}'),
        ("POST", "/api-keys/", '{"name": "Billing app"}'),
        ("POST", "/api-keys/", '{"name": "\\u0000"}'),
        ("PATCH", "/members/vera/", '{"role": "emperor"}'),
        ("PATCH", "/members/vera/", '{"role": "admin", "version": "x"}'),
        ("PATCH", "/members/vera/", '{"role": "admin", "version": true}'),
        ("PATCH", "/members/vera/", '{"role": "admin", "version": 0}'),
        ("PATCH", "/members/vera/", '{"role": "admin", "version": [1]}'),
        ("POST", "/members/", '{"username": "a@example.com", "role": "admin"}'),
        ("POST", "/members/", '{"username": "' + "x" * 300 + '", "role": "admin"}'),
        ("GET", "/activity/?since=yesterday", ""),
        ("GET", "/activity/?action=nothing", ""),
        ("GET", "/activity/?page=999", ""),
        ("POST", "/oauth-clients/{client}/unlock/", '{"address": "not an address"}'),
        ("POST", "/oauth-clients/{client}/unlock/", "{}"),
        ("POST", "/oauth-clients/{client}/secret/regenerate/", '{"grace_seconds": "soon"}'),
    ],
)
def test_bad_input_is_a_clear_4xx(cast, owner, method, path, body):
    make_api_key(cast.group)
    client, _ = make_oauth_client(cast.group)
    url = G + path.format(client=client.public_id)

    response = owner.generic(method, url, body, content_type="application/json")

    assert 400 <= response.status_code < 500
    assert set(response.json()) == {"error", "error_description"}


def test_unknown_objects_are_404(cast, owner):
    make_member(cast.group, Role.VIEWER, "wanda")
    for url in (
        f"{API}/groups/nope/",
        f"{G}/members/nobody/",
        f"{G}/api-keys/00000000-0000-0000-0000-000000000000/",
        f"{G}/oauth-clients/00000000-0000-0000-0000-000000000000/",
    ):
        assert send(owner, "GET", url).status_code == 404, url
    assert Group.objects.count() == 1
