"""Show and Regenerate ask for the password again after 15 minutes; the password page."""

import pytest
from django.urls import reverse

from accounts.sessions import password_is_fresh
from groups.models import Activity
from tests.accounts.conftest import age_session
from tests.conftest import PASSWORD, client_for, key_identity, make_api_key, make_oauth_client, versioned

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
    assert stale.post(regenerate).status_code == 200
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
    assert not Activity.objects.filter(action="api_key_shown").exists()


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
