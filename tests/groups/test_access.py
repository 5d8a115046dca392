"""Who gets what on every group-scoped URL, enumerated from the URLconf so a new URL cannot slip by."""

import re
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertRedirects

from credentials.models import ApiKey, ApiKeyCredential, ClientSecret, Lockout, OAuthClient
from groups.models import Group, Invitation, Membership, Role
from tests.conftest import (
    PASSWORD,
    changes,
    client_for,
    make_api_key,
    make_group,
    make_member,
    make_oauth_client,
    url_patterns,
)

KWARG = re.compile(r"<(?:[^>:]+:)?([^>]+)>")

# Names the matrix must find, so that it cannot pass by finding nothing.
KNOWN_NAMES = {
    "groups:members",
    "groups:member-add",
    "groups:member-role",
    "groups:member-remove",
    "groups:invitation-revoke",
    "groups:activity",
    "groups:activity-export",
    "credentials:auth-info",
    "credentials:create-api-key",
    "credentials:show-key",
    "credentials:regenerate-key",
    "credentials:delete-api-key",
    "credentials:create-oauth-client",
    "credentials:show-secret",
    "credentials:regenerate-secret",
    "credentials:delete-oauth-client",
    "credentials:unlock-oauth-client",
    "credentials:api-key-expiry",
    "credentials:suspend-group",
    "credentials:resume-group",
    "credentials:api-key-scopes",
    "credentials:oauth-client-scopes",
    "groups:services",
    "groups:service-add",
    "groups:service-remove",
}
# Pages a viewer may read, and downloads a viewer may take; every other group-scoped URL is a write.
READ_PAGES = {"groups:members", "groups:activity", "groups:services", "credentials:auth-info"}
GET_ONLY = {"groups:activity-export"}
# Actions that accept only POST answer a GET with 405 before looking the group up, and downloads
# (GET_ONLY) a POST. That tells an outsider nothing: a group that does not exist gets the same
# answer (checked below).
POST_ONLY = {
    "groups:member-add",
    "groups:service-add",
    "groups:invitation-revoke",
    "groups:member-role",
    "credentials:show-key",
    "credentials:show-secret",
    "credentials:unlock-oauth-client",
    "credentials:resume-group",
}
# Enough for every form behind these URLs to be valid, so only access control can stop the POST.
POST_DATA = {
    "name": "Intruder",
    "username": "oscar",
    "role": "owner",
    "grace_seconds": "0",
    "revoke_tokens": "on",
    "address": "127.0.0.1",
    "version": "1",
}


# The portal's group pages and actions. The management API's (api/manage/v1/…, a token rather than
# a session) are in tests/test_authorization_matrix.py and tests/manage/test_roles.py.
GROUP_ROUTES = sorted(
    (name, route)
    for name, route, _ in url_patterns()
    if "<slug:slug>" in route and not route.startswith("api/")
)
WRITE_ROUTES = [(name, route) for name, route in GROUP_ROUTES if name not in READ_PAGES | GET_ONLY]
# URLs that address a credential or a member inside the group.
OBJECT_ROUTES = [
    (name, route)
    for name, route in GROUP_ROUTES
    if re.search(r"<\w+:(public_id|username|invitation_id)>", route)
]
ROUTE_IDS = [name for name, _ in GROUP_ROUTES]
OBJECT_IDS = [name for name, _ in OBJECT_ROUTES]
WRITE_IDS = [name for name, _ in WRITE_ROUTES]


def url_for(name, route, **fill):
    kwargs = {}
    for kwarg in KWARG.findall(route):
        # A public_id under oauth-clients/ addresses an OAuth client, elsewhere an API key credential.
        source = "client_public_id" if kwarg == "public_id" and "oauth-clients/" in route else kwarg
        if source not in fill:
            pytest.fail(f"{name} ({route}) takes <{kwarg}>: teach the access matrix how to fill it")
        kwargs[kwarg] = fill[source]
    return reverse(name, kwargs=kwargs)


@pytest.fixture
def target(cast):
    """A credential in the cast's group and the kwargs that address it and its owner."""
    credential, _ = make_api_key(cast.group)
    client, _ = make_oauth_client(cast.group)
    fill = {
        "slug": cast.group.slug,
        "public_id": credential.public_id,
        "client_public_id": client.public_id,
        "slot": "primary",
        "username": "olivia",
        "service": "orders:read",
        "invitation_id": Invitation.objects.invite(cast.group, "ines@example.com", Role.ADMIN, cast.owner)[
            0
        ].public_id,
    }
    return credential, fill


def state():
    """Everything a write could change, secrets by digest."""
    return (
        sorted(Group.objects.values_list("slug", "suspended_at")),
        sorted(Membership.objects.values_list("group__slug", "user__username", "role")),
        sorted(ApiKeyCredential.objects.values_list("public_id", "name", "expires_at")),
        sorted(ApiKey.objects.values_list("credential__public_id", "slot", "digest")),
        sorted(OAuthClient.objects.values_list("public_id", "name", "client_id")),
        sorted(ClientSecret.objects.values_list("client__public_id", "digest", "expires_at")),
        Lockout.objects.count(),
        sorted(Invitation.objects.values_list("email", "role", "accepted_at", "revoked_at")),
        changes().count(),
    )


def test_matrix_finds_every_known_group_url():
    assert KNOWN_NAMES.issubset(ROUTE_IDS)
    assert (READ_PAGES | GET_ONLY | POST_ONLY).issubset(KNOWN_NAMES)


@pytest.mark.parametrize(("name", "route"), GROUP_ROUTES, ids=ROUTE_IDS)
def test_matrix_knows_every_url_argument(name, route):
    url = url_for(
        name,
        route,
        slug="payments",
        public_id=uuid.uuid4(),
        client_public_id=uuid.uuid4(),
        slot="primary",
        username="olivia",
        service="orders:read",
        invitation_id=uuid.uuid4(),
    )

    assert url.startswith("/groups/payments/")


@pytest.mark.parametrize(("name", "route"), GROUP_ROUTES, ids=ROUTE_IDS)
def test_outsider_gets_404_on_post(cast, target, name, route):
    credential, fill = target
    client, before = client_for(cast.outsider), state()

    response = client.post(url_for(name, route, **fill), POST_DATA)
    missing = client.post(url_for(name, route, **{**fill, "slug": "no-such-group"}), POST_DATA)

    assert response.status_code == (405 if name in GET_ONLY else 404)
    assert missing.status_code == response.status_code
    assert state() == before
    assert ApiKeyCredential.objects.filter(pk=credential.pk).exists()


@pytest.mark.parametrize(("name", "route"), GROUP_ROUTES, ids=ROUTE_IDS)
def test_outsider_gets_404_on_get(cast, target, name, route):
    _, fill = target
    client, before = client_for(cast.outsider), state()

    response = client.get(url_for(name, route, **fill))
    missing = client.get(url_for(name, route, **{**fill, "slug": "no-such-group"}))

    assert response.status_code == (405 if name in POST_ONLY else 404)
    assert missing.status_code == response.status_code
    assert "Payments" not in response.content.decode()
    assert state() == before


@pytest.mark.parametrize(("name", "route"), OBJECT_ROUTES, ids=OBJECT_IDS)
def test_objects_of_another_group_are_404_through_ones_own_group(cast, target, name, route):
    _, fill = target
    other_owner = make_member(make_group("Logistics"), Role.OWNER, "lars")
    before = state()

    response = client_for(other_owner).post(url_for(name, route, **{**fill, "slug": "logistics"}), POST_DATA)

    assert response.status_code == 404
    assert state() == before


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("get", "credentials:create-api-key"),
        ("post", "credentials:create-api-key"),
        ("post", "credentials:show-key"),
        ("get", "credentials:regenerate-key"),
        ("post", "credentials:regenerate-key"),
        ("get", "credentials:delete-api-key"),
        ("post", "credentials:delete-api-key"),
        ("get", "credentials:create-oauth-client"),
        ("post", "credentials:create-oauth-client"),
        ("post", "credentials:show-secret"),
        ("get", "credentials:regenerate-secret"),
        ("post", "credentials:regenerate-secret"),
        ("get", "credentials:delete-oauth-client"),
        ("post", "credentials:delete-oauth-client"),
        ("post", "credentials:unlock-oauth-client"),
        ("post", "groups:member-add"),
        ("post", "groups:member-role"),
        ("get", "groups:member-remove"),
        ("post", "groups:member-remove"),
        ("post", "groups:invitation-revoke"),
        ("get", "groups:service-remove"),
        ("post", "groups:service-remove"),
    ],
)
def test_viewer_gets_403_on_every_write(cast, target, method, name):
    _, fill = target
    route = dict(GROUP_ROUTES)[name]
    before = state()

    response = getattr(client_for(cast.viewer), method)(url_for(name, route, **fill), POST_DATA)

    assert response.status_code == 403
    assert state() == before


@pytest.mark.parametrize(("name", "route"), WRITE_ROUTES, ids=WRITE_IDS)
def test_viewer_gets_403_on_every_write_url_in_the_urlconf(cast, target, name, route):
    _, fill = target
    before = state()

    response = client_for(cast.viewer).post(url_for(name, route, **fill), POST_DATA)

    assert response.status_code == 403
    assert state() == before


@pytest.mark.parametrize("name", sorted(READ_PAGES))
def test_viewer_reads_the_group_pages(cast, target, name):
    _, fill = target

    response = client_for(cast.viewer).get(url_for(name, dict(GROUP_ROUTES)[name], **fill))

    assertContains(response, "Group Information")
    assertContains(response, "Payments")


def csrf_client(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


@pytest.mark.parametrize(("name", "route"), GROUP_ROUTES, ids=ROUTE_IDS)
def test_post_without_csrf_token_is_refused(cast, target, name, route):
    _, fill = target
    before = state()

    response = csrf_client(cast.owner).post(url_for(name, route, **fill), POST_DATA)

    assertContains(response, "Form not accepted", status_code=403)
    assert state() == before


def test_new_group_without_csrf_token_is_refused(cast):
    before = state()

    response = csrf_client(cast.staff).post("/groups/new/", {"name": "Logistics", "owner": "oscar"})

    assertContains(response, "Form not accepted", status_code=403)
    assert state() == before


def test_logout_without_csrf_token_is_refused(cast):
    client = csrf_client(cast.owner)

    response = client.post("/accounts/logout/")

    assertContains(response, "Form not accepted", status_code=403)
    assert client.get("/groups/").status_code == 200


def test_password_change_without_csrf_token_is_refused(cast):
    data = {
        "old_password": PASSWORD,
        "new_password1": "an entirely new phrase 9",
        "new_password2": "an entirely new phrase 9",
    }

    response = csrf_client(cast.owner).post("/accounts/password_change/", data)

    assertContains(response, "Form not accepted", status_code=403)
    cast.owner.refresh_from_db()
    assert cast.owner.check_password(PASSWORD)


def test_post_with_csrf_token_is_accepted(cast):
    client = csrf_client(cast.owner)
    client.get("/groups/payments/members/")
    token = client.cookies["csrftoken"].value

    response = client.post("/groups/payments/members/add/", {**POST_DATA, "csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert cast.group.invitations.pending().filter(username="oscar", role=Role.OWNER).exists()


@pytest.mark.parametrize(("name", "route"), GROUP_ROUTES, ids=ROUTE_IDS)
def test_anonymous_user_is_redirected_to_login(client, target, name, route):
    _, fill = target
    url = url_for(name, route, **fill)
    before = state()

    for response in (client.get(url), client.post(url, POST_DATA)):
        assertRedirects(response, f"/accounts/login/?next={url}", fetch_redirect_response=False)
    assert state() == before


def test_unknown_group_is_404_for_members_and_staff(cast):
    for user in (cast.owner, cast.staff):
        assert client_for(user).get("/groups/no-such-group/").status_code == 404
        assert client_for(user).get("/groups/no-such-group/members/").status_code == 404
