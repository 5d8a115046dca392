"""Two-factor authentication (django-allauth's MFA): an authenticator app set up from the account's
page, sign-in's second step, recovery codes, and wrong codes counted with wrong passwords."""

import re

import pyotp
import pytest
from allauth.mfa.models import Authenticator
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.forms import PENDING_SECRET
from portal import encryption
from tests.conftest import PASSWORD, client_for, make_user

SECRET_ON_PAGE = re.compile(r'<code id="authenticator_secret" data-totp-secret>([A-Z2-7]+)</code>')


def turn_on_app(client):
    """Sets up an authenticator app as a person does; returns its key and the recovery codes."""
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = SECRET_ON_PAGE.search(page.content.decode())[1]
    done = client.post(reverse("mfa_activate_totp"), {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 302 and done["Location"] == reverse("mfa_view_recovery_codes")
    codes_page = client.get(done["Location"]).content.decode()
    codes = re.findall(r"<li><code>(\w+)</code></li>", codes_page)
    assert len(codes) == 10
    return secret, codes


def sign_in(client, username, password=PASSWORD):
    return client.post(reverse("login"), {"username": username, "password": password})


@pytest.fixture
def enrolled(db):
    """Olivia, with an authenticator app and her recovery codes."""
    user = make_user("olivia")
    secret, codes = turn_on_app(client_for(user))
    return user, secret, codes


def test_an_app_is_set_up_and_sign_in_then_asks_for_its_code(enrolled):
    _, secret, _ = enrolled
    client = Client()
    first = sign_in(client, "olivia")
    assert first.status_code == 302 and first["Location"] == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session, "not signed in before the second step"
    assert client.get(reverse("groups:list")).status_code == 302

    step = client.get(first["Location"])
    assert step.status_code == 200
    assert 'autocomplete="one-time-code"' in step.content.decode()
    done = client.post(reverse("mfa_authenticate"), {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 302 and done["Location"] == reverse("groups:list")
    assert client.get(reverse("groups:list")).status_code == 200


def test_the_key_is_stored_encrypted_and_never_in_the_session_in_clear(db):
    user = make_user("olivia")
    client = client_for(user)
    page = client.get(reverse("mfa_activate_totp")).content.decode()
    secret = SECRET_ON_PAGE.search(page)[1]
    session = client.session
    assert secret not in str(dict(session.items()))
    assert encryption.decrypt(session[PENDING_SECRET]) == secret

    client.post(reverse("mfa_activate_totp"), {"code": pyotp.TOTP(secret).now()})
    assert PENDING_SECRET not in client.session
    stored = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP).data
    assert secret not in str(stored)
    assert encryption.decrypt(stored["secret"]) == secret


def test_a_wrong_code_while_setting_up_turns_nothing_on(db):
    user = make_user("olivia")
    client = client_for(user)
    client.get(reverse("mfa_activate_totp"))
    refused = client.post(reverse("mfa_activate_totp"), {"code": "000000"})
    assert refused.status_code == 200
    assert not Authenticator.objects.filter(user=user).exists()


def test_a_wrong_code_is_refused_and_counted_as_a_failed_sign_in(enrolled):
    client = Client()
    sign_in(client, "olivia")
    refused = client.post(reverse("mfa_authenticate"), {"code": "123456"})
    assert refused.status_code == 200
    assert "_auth_user_id" not in client.session
    attempt = AccessAttempt.objects.get(username="olivia")
    assert attempt.failures_since_start == 1


def test_wrong_codes_lock_out_as_wrong_passwords_do(enrolled):
    _, secret, _ = enrolled
    client = Client()
    sign_in(client, "olivia")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post(reverse("mfa_authenticate"), {"code": "123456"}).status_code == 200
    locked = client.post(reverse("mfa_authenticate"), {"code": "123456"})
    assert locked.status_code == 429
    # Locked out: even the right code, and then the right password, are refused.
    again = client.post(reverse("mfa_authenticate"), {"code": pyotp.TOTP(secret).now()})
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session
    assert sign_in(Client(), "olivia").status_code == 429


def test_a_recovery_code_signs_in_once(enrolled):
    _, _, codes = enrolled
    client = Client()
    sign_in(client, "olivia")
    done = client.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert done.status_code == 302 and done["Location"] == reverse("groups:list")

    again = Client()
    sign_in(again, "olivia")
    refused = again.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert refused.status_code == 200
    assert "_auth_user_id" not in again.session
    assert again.post(reverse("mfa_authenticate"), {"code": codes[1]}).status_code == 302


def test_recovery_codes_are_shown_only_when_made(enrolled):
    user, _, codes = enrolled
    client = client_for(user)
    later = client.get(reverse("mfa_view_recovery_codes")).content.decode()
    assert not any(code in later for code in codes)
    client.post(reverse("mfa_generate_recovery_codes"))
    fresh = client.get(reverse("mfa_view_recovery_codes")).content.decode()
    new_codes = re.findall(r"<li><code>(\w+)</code></li>", fresh)
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)


def test_turning_the_app_off_needs_a_recent_password_and_then_sign_in_is_one_step(enrolled):
    user, _, _ = enrolled
    client = client_for(user)
    assert client.post(reverse("mfa_deactivate_totp")).status_code == 302
    assert not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    again = Client()
    assert sign_in(again, "olivia")["Location"] == reverse("groups:list")


def test_the_second_step_alone_signs_no_one_in(db):
    client = Client()
    response = client.post(reverse("mfa_authenticate"), {"code": "123456"})
    assert response.status_code in (302, 404)
    assert "_auth_user_id" not in client.session


def test_signing_in_without_a_second_factor_is_unchanged(db):
    make_user("vera")
    client = Client()
    response = sign_in(client, "vera")
    assert response.status_code == 302 and response["Location"] == reverse("groups:list")


def test_the_admin_site_signs_in_on_the_portals_page_second_step_included(db):
    staff = make_user("stella", is_staff=True, is_superuser=True)
    secret, _ = turn_on_app(client_for(staff))
    client = Client()
    to_sign_in = client.get("/admin/login/?next=/admin/")
    assert to_sign_in.status_code == 302 and to_sign_in["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    first = client.post(to_sign_in["Location"], {"username": "stella", "password": PASSWORD})
    assert first["Location"].startswith(reverse("mfa_authenticate"))
    assert client.get("/admin/").status_code == 302, "not in before the second step"
    done = client.post(reverse("mfa_authenticate"), {"code": pyotp.TOTP(secret).now()})
    assert done["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
