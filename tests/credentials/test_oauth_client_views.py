"""The OAuth Information part of the Authentication Information tab: create, show, regenerate,
delete and unlock an OAuth client, as an owner, an admin, a viewer and an outsider."""

import base64
import re
from urllib.parse import urlencode

import pytest
from django.test import Client
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from credentials.models import Lockout, OAuthClient
from groups.models import Activity
from tests.conftest import client_for, issue_access_token, make_oauth_client, versioned

SECRET_IN_CLEAR = re.compile(r'data-secret="client-secret">(gps_[0-9A-Za-z]{49})<')
CLIENT_ID = re.compile(r"data-client-id>([^<]+)<")
FORM = "application/x-www-form-urlencoded"
HERE = "203.0.113.10"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The cast's five users are created with a password; the slow hasher only costs time here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def oauth(cast):
    return make_oauth_client(cast.group, created_by=cast.owner)


def base(oauth):
    return f"/groups/payments/oauth-clients/{oauth[0].public_id}"


def token_status(client_id, secret, address="127.0.0.1"):
    """The status of POST /v2/tokens with these credentials."""
    authorization = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    body = urlencode({"grant_type": "client_credentials"})
    headers = {"Authorization": authorization}
    return (
        Client().post("/v2/tokens", body, content_type=FORM, headers=headers, REMOTE_ADDR=address).status_code
    )


def post(user, path, data=None, **extra):
    """A portal form POST as a browser sends it, signed in as `user`."""
    return client_for(user).post(path, urlencode(data or {}), content_type=FORM, **extra)


def status_of_correct_secret(oauth, address=HERE):
    client, secret = oauth
    return token_status(client.client_id, secret, address)


def shown_secret(response):
    return SECRET_IN_CLEAR.search(response.content.decode()).group(1)


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owner_and_admin_create_a_client_and_see_its_secret(cast, role):
    response = post(
        getattr(cast, role), "/groups/payments/oauth-clients/new/", {"name": "Checkout"}, follow=True
    )

    assert response.status_code == 200
    assertContains(response, "OAuth client Checkout created. Copy its client secret now.")
    client = OAuthClient.objects.get(group=cast.group, name="Checkout")
    assert CLIENT_ID.search(response.content.decode()).group(1) == client.client_id
    assert shown_secret(response) == client.reveal_secret()
    assert token_status(client.client_id, shown_secret(response)) == 200


def test_create_response_is_never_cached(cast):
    response = post(cast.owner, "/groups/payments/oauth-clients/new/", {"name": "Checkout"})

    assert "no-store" in response["Cache-Control"]


def test_create_is_recorded_without_the_secret(cast):
    response = post(cast.owner, "/groups/payments/oauth-clients/new/", {"name": "Checkout"}, follow=True)

    activity = Activity.objects.get(group=cast.group, action="oauth_client.created")
    assert (activity.actor, activity.target) == (cast.owner, "Checkout")
    assert shown_secret(response) not in str(activity.__dict__)


def test_create_form_asks_for_a_name(cast):
    response = client_for(cast.admin).get("/groups/payments/oauth-clients/new/")

    assert response.status_code == 200
    assertContains(response, "Create an OAuth client")
    assertContains(response, 'name="name"')


def test_duplicate_name_is_refused(cast, oauth):
    response = post(cast.owner, "/groups/payments/oauth-clients/new/", {"name": "Checkout"})

    assert response.status_code == 200
    assertContains(response, "This group already has a credential with this name.")
    assert OAuthClient.objects.filter(group=cast.group).count() == 1
    assert not SECRET_IN_CLEAR.search(response.content.decode())


def test_tab_shows_client_id_but_never_a_secret_value(cast, oauth):
    client, secret = oauth

    response = client_for(cast.owner).get("/groups/payments/")

    assertContains(response, client.client_id)
    assertContains(response, "Client Secret")
    assertNotContains(response, secret)
    assertNotContains(response, 'data-secret="client-secret"')
    assertContains(response, secret[-4:])


def test_viewer_sees_the_client_but_no_secret_and_no_actions(cast, oauth):
    client, secret = oauth

    response = client_for(cast.viewer).get("/groups/payments/")

    assertContains(response, client.client_id)
    assertNotContains(response, secret)
    assertNotContains(response, f"{base(oauth)}/secret/show/")
    assertNotContains(response, f"{base(oauth)}/delete/")


def test_show_renders_the_secret_in_clear(cast, oauth):
    response = post(cast.admin, f"{base(oauth)}/secret/show/", follow=True)

    assert response.status_code == 200
    assert shown_secret(response) == oauth[1]
    assert "no-store" in response["Cache-Control"]


def test_show_answers_json_to_copy(cast, oauth):
    response = post(cast.owner, f"{base(oauth)}/secret/show/", headers={"Accept": "application/json"})

    assert response.status_code == 200
    assert response.json() == {"value": oauth[1]}
    assert "no-store" in response["Cache-Control"]


def test_show_is_recorded(cast, oauth):
    post(cast.owner, f"{base(oauth)}/secret/show/")

    activity = Activity.objects.get(group=cast.group, action="oauth_client.secret_shown")
    assert (activity.actor, activity.target) == (cast.owner, "Checkout")
    assert oauth[1] not in activity.target


def test_show_needs_a_post(cast, oauth):
    response = client_for(cast.owner).get(f"{base(oauth)}/secret/show/")

    assert response.status_code == 405
    assertNotContains(response, oauth[1], status_code=405)


def test_show_turned_off_is_refused(cast, oauth, settings):
    settings.CREDENTIALS_SHOW = False

    response = post(cast.owner, f"{base(oauth)}/secret/show/")

    assert response.status_code == 403
    assertNotContains(response, oauth[1], status_code=403)


def test_regenerate_asks_how_long_the_old_secret_keeps_working(cast, oauth):
    response = client_for(cast.owner).get(f"{base(oauth)}/secret/regenerate/")

    assert response.status_code == 200
    for label in ("Now", "After 1 hour", "After 24 hours", "After 7 days"):
        assertContains(response, label)
    assertContains(response, 'name="revoke_tokens"')
    assertNotContains(response, oauth[1])


@pytest.mark.parametrize("grace", [0, 3600, 86400, 604800])
def test_regenerate_issues_a_new_secret_and_keeps_the_old_one_only_for_the_grace(cast, oauth, grace):
    client, old = oauth
    data = {"grace_seconds": grace, "revoke_tokens": "on"}

    response = post(cast.owner, versioned(f"{base(oauth)}/secret/regenerate/", oauth[0]), data, follow=True)

    assert response.status_code == 200
    new = shown_secret(response)
    assert new != old and token_status(client.client_id, new) == 200
    assert token_status(client.client_id, old) == (200 if grace else 401)
    assert ("Previous secret" in response.content.decode()) == bool(grace)
    assert "no-store" in response["Cache-Control"]


def test_regenerate_revokes_tokens_when_the_box_is_checked(cast, oauth):
    _, raw = issue_access_token(oauth[0])

    post(
        cast.owner,
        versioned(f"{base(oauth)}/secret/regenerate/", oauth[0]),
        {"grace_seconds": 0, "revoke_tokens": "on"},
    )

    assert client_for(cast.owner).get("/v1/whoami", headers={"X-Access-Token": raw}).status_code == 401


def test_regenerate_keeps_tokens_when_the_box_is_unchecked(cast, oauth):
    _, raw = issue_access_token(oauth[0])

    response = post(
        cast.owner,
        versioned(f"{base(oauth)}/secret/regenerate/", oauth[0]),
        {"grace_seconds": 3600},
        follow=True,
    )

    assertContains(response, "the old one stops working in 1 hour.")
    assertNotContains(response, "Tokens issued so far were revoked.")
    assert client_for(cast.owner).get("/v1/whoami", headers={"X-Access-Token": raw}).status_code == 200


def test_regenerate_with_an_unknown_grace_changes_nothing(cast, oauth):
    response = post(
        cast.owner, versioned(f"{base(oauth)}/secret/regenerate/", oauth[0]), {"grace_seconds": 5}
    )

    assert response.status_code == 200
    assert not SECRET_IN_CLEAR.search(response.content.decode())
    assert oauth[0].reveal_secret() == oauth[1]


def test_regenerate_is_recorded_without_the_secret(cast, oauth):
    response = post(
        cast.admin,
        versioned(f"{base(oauth)}/secret/regenerate/", oauth[0]),
        {"grace_seconds": 0},
        follow=True,
    )

    activity = Activity.objects.get(group=cast.group, action="oauth_client.secret_regenerated")
    target = "Checkout (the old secret stops working at once; tokens kept)"
    assert (activity.actor, activity.target) == (cast.admin, target)
    assert shown_secret(response) not in activity.target


def test_regenerate_records_the_grace_period_and_revocation_chosen(cast, oauth):
    post(
        cast.admin,
        versioned(f"{base(oauth)}/secret/regenerate/", oauth[0]),
        {"grace_seconds": 86400, "revoke_tokens": "on"},
    )

    activity = Activity.objects.get(group=cast.group, action="oauth_client.secret_regenerated")
    assert activity.target == "Checkout (the old secret stops working after 1 day; tokens revoked)"


def test_delete_asks_for_confirmation(cast, oauth):
    response = client_for(cast.owner).get(f"{base(oauth)}/delete/")

    assert response.status_code == 200
    assertContains(response, "Delete OAuth client Checkout?")
    assert OAuthClient.objects.filter(pk=oauth[0].pk).exists()


def test_delete_removes_the_client_and_its_secret_stops_working(cast, oauth):
    response = post(cast.owner, versioned(f"{base(oauth)}/delete/", oauth[0]), follow=True)

    assertRedirects(response, "/groups/payments/")
    assertContains(response, "OAuth client Checkout deleted")
    assert not OAuthClient.objects.filter(pk=oauth[0].pk).exists()
    assert token_status(oauth[0].client_id, oauth[1]) == 401


def test_delete_is_recorded(cast, oauth):
    post(cast.admin, versioned(f"{base(oauth)}/delete/", oauth[0]))

    activity = Activity.objects.get(group=cast.group, action="oauth_client.deleted")
    assert (activity.actor, activity.target) == (cast.admin, "Checkout")


def lock(oauth, address=HERE):
    for _ in range(5):
        token_status(oauth[0].client_id, "gps_wrong", address)


def test_tab_shows_a_lock_with_its_address(cast, oauth):
    lock(oauth)

    response = client_for(cast.owner).get("/groups/payments/")

    assertContains(response, "Locked")
    assertContains(response, HERE)
    assertContains(response, f'action="{base(oauth)}/unlock/"')


def test_unlock_lifts_the_lock_for_that_address(cast, oauth):
    lock(oauth)
    assert status_of_correct_secret(oauth) == 429

    response = post(cast.owner, f"{base(oauth)}/unlock/", {"address": HERE}, follow=True)

    assertRedirects(response, "/groups/payments/")
    assertContains(response, f"Checkout unlocked for {HERE}.")
    assert not Lockout.objects.filter(client_key=Lockout.key_for(oauth[0].client_id), address=HERE).exists()
    assert status_of_correct_secret(oauth) == 200


def test_unlock_is_recorded(cast, oauth):
    lock(oauth)

    post(cast.admin, f"{base(oauth)}/unlock/", {"address": HERE})

    activity = Activity.objects.get(group=cast.group, action="oauth_client.unlocked")
    assert (activity.actor, activity.target) == (cast.admin, f"Checkout from {HERE}")


def test_unlock_of_an_address_that_is_not_locked_changes_nothing(cast, oauth):
    lock(oauth)

    response = post(cast.owner, f"{base(oauth)}/unlock/", {"address": "192.0.2.1"}, follow=True)

    assertContains(response, "That address was not locked.")
    assert status_of_correct_secret(oauth) == 429
    assert not Activity.objects.filter(action="oauth_client.unlocked").exists()


ACTIONS = {
    "create-form": ("get", "/groups/payments/oauth-clients/new/", None),
    "create": ("post", "/groups/payments/oauth-clients/new/", {"name": "Intruder"}),
    "show": ("post", "{base}/secret/show/", None),
    "regenerate-form": ("get", "{base}/secret/regenerate/", None),
    "regenerate": ("post", "{base}/secret/regenerate/", {"grace_seconds": 0, "revoke_tokens": "on"}),
    "delete-form": ("get", "{base}/delete/", None),
    "delete": ("post", "{base}/delete/", None),
    "unlock": ("post", "{base}/unlock/", {"address": HERE}),
}


def perform(user, oauth, action):
    method, path, data = ACTIONS[action]
    if method == "post":
        return post(user, path.format(base=base(oauth)), data)
    return client_for(user).get(path.format(base=base(oauth)))


@pytest.mark.parametrize("action", list(ACTIONS))
def test_viewer_is_refused_every_action_and_sees_no_secret(cast, oauth, action):
    lock(oauth)

    response = perform(cast.viewer, oauth, action)

    assert response.status_code == 403
    assertNotContains(response, oauth[1], status_code=403)
    assert oauth[0].reveal_secret() == oauth[1]
    assert list(OAuthClient.objects.values_list("name", flat=True)) == ["Checkout"]
    assert status_of_correct_secret(oauth) == 429


@pytest.mark.parametrize("action", [*ACTIONS, "tab"])
def test_outsider_gets_404_for_every_page_and_action(cast, oauth, action):
    lock(oauth)
    user = cast.outsider

    response = client_for(user).get("/groups/payments/") if action == "tab" else perform(user, oauth, action)

    assert response.status_code == 404
    assertNotContains(response, oauth[1], status_code=404)
    assert oauth[0].reveal_secret() == oauth[1]
    assert status_of_correct_secret(oauth) == 429


def test_anonymous_visitor_is_sent_to_sign_in(cast, oauth):
    response = Client().post(f"{base(oauth)}/secret/show/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
