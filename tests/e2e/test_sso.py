"""Single sign-on against a real OpenID Connect provider (tests/oidc_provider: django-oauth-toolkit,
started by the fixture), in a real browser: the account is made at the first sign-on and its
identity-provider groups become portal memberships; a tampered ID token signs no one in."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from groups.models import Activity, Membership, Role
from tests.conftest import PASSWORD, make_group, make_member
from tests.e2e.conftest import shot
from tests.oidc_provider.launcher import PASSWORD as PROVIDER_PASSWORD
from tests.sso.conftest import oidc_provider, running_oidc_provider  # noqa: F401

pytestmark = pytest.mark.e2e
GROUP_MAP = "payments-owners=payments:owner payments-devs=payments:admin"


@pytest.fixture
def sso(settings, live_server, oidc_provider):  # noqa: F811
    """The portal signing on at the test provider, as OIDC_* in the environment would set it."""
    settings.OIDC_ISSUER = oidc_provider.issuer
    settings.OIDC_NAME = "Example ID"
    settings.OIDC_GROUP_MAP = GROUP_MAP
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "OAUTH_PKCE_ENABLED": True,
            "APPS": [
                {
                    "provider_id": "sso",
                    "name": "Example ID",
                    "client_id": oidc_provider.client_id,
                    "secret": oidc_provider.client_secret,
                    "settings": {"server_url": oidc_provider.issuer},
                }
            ],
        }
    }
    oidc_provider.allow_redirect_uri(f"{live_server.url}/accounts/oidc/sso/login/callback/")
    make_member(make_group("Payments"), Role.OWNER, "olivia")  # an owner of its own, not from the map
    return oidc_provider


def sign_on(page, username):
    page.goto("/accounts/login/")
    page.get_by_role("button", name="Sign in with Example ID").click()
    page.get_by_role("heading", name="Test identity provider").wait_for()  # the provider's own page
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PROVIDER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_the_first_sign_on_makes_the_account_and_maps_its_groups(page, sso, transactional_db):
    sso.add_user("hana", email="hana@example.com", name="Hana Sato", groups=["payments-devs", "unrelated"])
    sign_on(page, "hana")
    page.get_by_role("heading", name="Group List").wait_for()
    shot(page, "sso-signed-on")
    user = get_user_model().objects.get(username="hana")
    assert user.email == "hana@example.com" and not user.has_usable_password()
    assert Membership.objects.get(user=user, group__slug="payments").role == Role.ADMIN
    assert page.get_by_role("link", name="Payments").is_visible()
    assert Activity.objects.filter(action="member.added", target="hana as admin").exists()
    page.get_by_role("button", name="Sign out").click()

    # The identity provider's groups change: at the next sign-on, so does the membership.
    sso.add_user("hana", email="hana@example.com", groups=["payments-owners", "payments-devs"])
    sign_on(page, "hana")
    page.get_by_role("heading", name="Group List").wait_for()
    assert Membership.objects.get(user=user, group__slug="payments").role == Role.OWNER
    assert get_user_model().objects.filter(username="hana").count() == 1
    page.get_by_role("button", name="Sign out").click()

    sso.add_user("hana", email="hana@example.com", groups=[])
    sign_on(page, "hana")
    page.get_by_role("heading", name="Group List").wait_for()
    assert not Membership.objects.filter(user=user).exists()
    assert Membership.objects.filter(group__slug="payments", role=Role.OWNER).count() == 1  # olivia


@pytest.mark.parametrize("mode", ["wrong_audience", "expired", "bad_signature"])
def test_a_tampered_id_token_signs_no_one_in(page, sso, mode, transactional_db, caplog):
    sso.add_user("mallory", groups=["payments-owners"])
    sso.set_mode(mode)
    sign_on(page, "mallory")
    page.get_by_role("heading", name="Single sign-on failed").wait_for()
    shot(page, f"sso-refused-{mode}")
    assert not get_user_model().objects.filter(username="mallory").exists()
    # The operator's log says why; no token is in it.
    assert "single sign-on refused by" in caplog.text and "Invalid id_token" in caplog.text
    assert "eyJ" not in caplog.text
    page.goto("/groups/")
    page.get_by_role("heading", name="Sign in").wait_for()


def test_password_sign_in_can_be_turned_off(page, sso, settings, transactional_db):
    settings.PASSWORD_SIGN_IN = False  # olivia (an owner of Payments) has a password
    page.goto("/accounts/login/")
    assert page.get_by_role("button", name="Sign in with Example ID").is_visible()
    assert page.get_by_label("Password").count() == 0
    # A script that still posts a password is refused before any password is checked.
    response = Client().post("/accounts/login/", {"username": "olivia", "password": PASSWORD})
    assert response.status_code == 200
    assert "sign in with single sign-on" in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session
