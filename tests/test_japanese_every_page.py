"""Every page of the portal in Japanese, for each role and signed out: no English sentence, label
or button of the project's own templates and messages anywhere on the page, its top bar, switcher
and footer included. The pages are tests/pages.py's, which the browser scan visits too, so a new
page is checked here as soon as it is added there."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client, RequestFactory
from django.urls import reverse

from groups.models import Invitation, Role
from portal.views import server_error
from tests.conftest import PASSWORD, make_group, make_user
from tests.pages import (
    ADMIN_TOTP_SECRET,
    LONG_GROUP,
    LONG_STAFF_USERNAME,
    LONG_USERNAME,
    LONG_WORD,
    RIGHTS,
    page_data,
)
from tests.test_japanese_pages import (  # noqa: F401  (fixtures)
    _english_left,
    _signed_in,
    catalogue,
    english_fragments,
    japanese,
)

# What tests/pages.py fills the pages with: values, not the templates' words.
VALUES = (
    LONG_GROUP,
    LONG_WORD,
    LONG_USERNAME,
    LONG_STAFF_USERNAME,
    "Card settlements",
    "Billing service",
    "Mobile app",
    "Checkout",
    "Partner portal",
    "Reporting",
    "Onboarding",
    "New starters",
    "Empty",
    "nobody-yet",
    "partner-data",
)


@pytest.fixture
def left(english_fragments):  # noqa: F811
    """The English fragments a response still shows, values aside."""
    return lambda response: _english_left(response, english_fragments, VALUES)


@pytest.mark.parametrize("role", list(RIGHTS))
def test_every_page_signed_in_is_in_japanese(japanese, left, db, role):  # noqa: F811
    users, full, pages = page_data()
    client = _signed_in(users[role])
    english = {}
    for each in pages:
        # Followed as the browser scan does: set up already, the app's page leads to Turn off.
        response = client.get(each.path, headers={"accept": "text/html"}, follow=True)
        assert response.status_code == each.expected(role), each.name
        english[each.name] = left(response)
    if "write" in RIGHTS[role]:  # the tab right after Create, showing the new keys once
        created = client.post(
            reverse("credentials:create-api-key", args=[full.slug]), {"name": "Reporting"}, follow=True
        )
        assert b'class="secret' in created.content
        english["auth-info-revealed"] = left(created)
    assert {name: found for name, found in english.items() if found} == {}


def test_every_page_signed_out_is_in_japanese(japanese, left, db, settings):  # noqa: F811
    make_user("olivia")
    client = Client()
    english = {
        "sign-in": left(client.get(reverse("login"))),
        "single-sign-on-failed": left(client.get(reverse("socialaccount_login_error"))),
        "single-sign-on-cancelled": left(client.get(reverse("socialaccount_login_cancelled"))),
        "not-found": left(client.get("/no-such-page/", headers={"accept": "text/html"})),
        "sign-in-refused": left(client.post(reverse("login"), {"username": "olivia", "password": "wrong"})),
    }
    oscar = make_user("oscar")
    _, token = Invitation.objects.invite(make_group("Payments"), LONG_USERNAME, Role.ADMIN, oscar)
    english["invitation"] = left(client.get(reverse("groups:invitation") + "?token=" + token, follow=True))
    english["invitation-unknown"] = left(
        Client().get(reverse("groups:invitation") + "?token=gpi_no-such-invitation", follow=True)
    )
    # Sign-in's second step, and a wrong code on it.
    TOTP.activate(make_user("tomas"), ADMIN_TOTP_SECRET)
    second = Client()
    english["sign-in-code"] = left(
        second.post(reverse("login"), {"username": "tomas", "password": PASSWORD}, follow=True)
    )
    english["sign-in-code-refused"] = left(second.post(reverse("mfa_authenticate"), {"code": "000000"}))
    signed_in = Client()
    signed_in.post(reverse("login"), {"username": "olivia", "password": PASSWORD})
    english["signed-out"] = left(signed_in.post(reverse("logout"), follow=True))
    for _ in range(settings.AXES_FAILURE_LIMIT):
        locked = Client().post(reverse("login"), {"username": "mallory", "password": "wrong"})
    assert locked.status_code == 429
    english["sign-in-locked"] = left(locked)
    english["server-error"] = left(server_error(RequestFactory().get("/groups/")))
    # With single sign-on configured, its button on the sign-in and password pages.
    settings.OIDC_ISSUER = "https://id.example.com"
    english["sign-in-single-sign-on"] = left(Client().get(reverse("login")))
    sora = _signed_in(make_user("sora"))
    english["reauthenticate-single-sign-on"] = left(sora.get(reverse("reauthenticate")))
    assert {name: found for name, found in english.items() if found} == {}


def test_djangos_own_messages_are_in_japanese_too(japanese, db):  # noqa: F811
    """The password validators and the password forms' errors come from Django's catalogue."""
    client = _signed_in(make_user("hanako"))
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "password", "new_password2": "passw0rd"},
    )
    page = response.content.decode()
    assert "確認用パスワードが一致しません。" in page
    assert "パスワードは最低 8 文字以上必要です。" in page  # the validators' help
