"""Show and Regenerate ask for the password again after 15 minutes; the password page."""

import time

import pytest
from django.test import Client
from django.urls import reverse

from accounts.sessions import password_is_fresh
from groups.models import Activity
from tests.accounts.conftest import age_session
from tests.conftest import (
    PASSWORD,
    changes,
    client_for,
    key_identity,
    make_api_key,
    make_oauth_client,
    versioned,
)

EVIL = "https://evil.example"


@pytest.fixture
def stale(cast):
    """The owner, signed in with a password typed 16 minutes ago."""
    client = client_for(cast.owner)
    age_session(client, authenticated_at=16 * 60)
    return client


def key_urls(group, credential, slot="primary"):
    args = [group.slug, credential.public_id, slot]
    regenerate = versioned(reverse("credentials:regenerate-key", args=args), credential)
    return reverse("credentials:show-key", args=args), regenerate


def test_regenerate_asks_for_the_password_again_after_15_minutes(cast, stale):
    credential, values = make_api_key(cast.group)
    _, regenerate = key_urls(cast.group, credential)
    tab = reverse("credentials:auth-info", args=[cast.group.slug])

    page = stale.get(regenerate)
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("reauthenticate"))

    response = stale.post(regenerate)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('reauthenticate')}?next={tab.replace('/', '%2F')}"
    assert key_identity(values["primary"]) is not None, "nothing was regenerated"

    wrong = stale.post(response["Location"], {"password": "not it", "next": tab})
    assert wrong.status_code == 200
    assert "That is not your password." in wrong.content.decode()
    assert stale.post(regenerate).status_code == 302

    confirmed = stale.post(reverse("reauthenticate"), {"password": PASSWORD, "next": tab})
    assert confirmed.status_code == 302 and confirmed["Location"] == tab
    assert stale.post(regenerate).status_code == 302
    assert key_identity(values["primary"]) is None


def test_show_asks_for_the_password_again_and_copy_gets_its_address(cast, stale):
    credential, _ = make_api_key(cast.group)
    show, _ = key_urls(cast.group, credential)
    response = stale.post(show, HTTP_ACCEPT="application/json")
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "reauthentication_required"
    assert body["reauthenticate_url"].startswith(reverse("reauthenticate") + "?next=")
    assert stale.post(show).status_code == 302
    assert not Activity.objects.filter(action="api_key.shown").exists()


def test_secret_show_and_regenerate_ask_for_the_password_again(cast, stale):
    client, _ = make_oauth_client(cast.group)
    args = [cast.group.slug, client.public_id]
    for name in ("credentials:show-secret", "credentials:regenerate-secret"):
        response = stale.post(reverse(name, args=args))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("reauthenticate"))


def test_a_fresh_sign_in_needs_no_second_password(cast):
    credential, _ = make_api_key(cast.group)
    show, _ = key_urls(cast.group, credential)
    response = client_for(cast.owner).post(show, HTTP_ACCEPT="application/json")
    assert response.status_code == 200


def test_reauthentication_goes_back_only_to_this_site(cast, stale):
    response = stale.post(reverse("reauthenticate"), {"password": PASSWORD, "next": f"{EVIL}/steal"})
    assert response.status_code == 302
    assert response["Location"] == reverse("groups:list")


def test_reauthentication_rotates_the_session_key(cast, stale):
    before = stale.session.session_key
    stale.post(reverse("reauthenticate"), {"password": PASSWORD})
    assert stale.session.session_key != before
    assert password_is_fresh(type("R", (), {"session": stale.session})())


def every_change(cast):
    """Each change an administrator can make, as (path, data): none may happen on a stale password."""
    credential, _ = make_api_key(cast.group)
    client, _ = make_oauth_client(cast.group)
    key = f"/groups/payments/api-keys/{credential.public_id}"
    return {
        "create API key": ("/groups/payments/api-keys/new/", {"name": "Another"}),
        "create OAuth client": ("/groups/payments/oauth-clients/new/", {"name": "Another"}),
        "show": (f"{key}/primary/show/", {}),
        "regenerate": (f"{key}/primary/regenerate/", {"version": 1}),
        "delete": (f"{key}/delete/", {"version": 1}),
        "delete OAuth client": (f"/groups/payments/oauth-clients/{client.public_id}/delete/", {"version": 1}),
        "add member": (
            "/groups/payments/members/add/",
            {"username": cast.outsider.username, "role": "viewer"},
        ),
        "change role": ("/groups/payments/members/vera/role/", {"role": "admin", "version": 1}),
        "remove member": ("/groups/payments/members/vera/remove/", {"version": 1}),
    }


CHANGES = [
    "create API key",
    "create OAuth client",
    "show",
    "regenerate",
    "delete",
    "delete OAuth client",
    "add member",
    "change role",
    "remove member",
]


@pytest.mark.parametrize("change", CHANGES)
def test_every_change_asks_for_a_password_typed_lately(cast, settings, change):
    settings.REAUTHENTICATE_AFTER = 2
    path, data = every_change(cast)[change]
    owner = client_for(cast.owner)
    age_session(owner, authenticated_at=3)
    before = rows(cast)

    response = owner.post(path, data, headers={"Referer": "http://testserver/groups/payments/members/"})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/reauthenticate/?next=%2Fgroups%2Fpayments%2Fmembers%2F"
    assert rows(cast) == before


def test_after_a_real_wait_every_change_goes_to_the_password_page(cast, settings):
    """REAUTHENTICATE_AFTER=2 and a 3-second wait, with a password typed at sign-in (no session
    made older by hand): the seven kinds of change each redirect and change nothing."""
    settings.REAUTHENTICATE_AFTER = 2
    owner = Client()
    assert owner.post("/accounts/login/", {"username": "olivia", "password": PASSWORD}).status_code == 302
    changes_by_name = every_change(cast)
    before = rows(cast)

    time.sleep(3)

    for change in [
        "create API key",
        "show",
        "regenerate",
        "delete",
        "add member",
        "change role",
        "remove member",
    ]:
        path, data = changes_by_name[change]
        response = owner.post(path, data)
        assert response.status_code == 302, change
        assert response["Location"].startswith("/accounts/reauthenticate/?next="), change
    assert rows(cast) == before


def rows(cast):
    """What any change would alter: credentials, memberships with their roles, and Activity."""
    return (
        sorted(cast.group.api_key_credentials.values_list("name", "version")),
        sorted(cast.group.oauth_clients.values_list("name", "version")),
        sorted(cast.group.memberships.values_list("user__username", "role")),
        changes().count(),
    )


def test_a_post_without_a_referer_goes_back_to_the_group_page(cast, settings):
    settings.REAUTHENTICATE_AFTER = 2
    owner = client_for(cast.owner)
    age_session(owner, authenticated_at=3)

    response = owner.post("/groups/payments/api-keys/new/", {"name": "Another"})

    assert response["Location"] == "/accounts/reauthenticate/?next=%2Fgroups%2Fpayments%2F"
