"""Signing in: passwords hashed with Argon2 (older PBKDF2 hashes upgraded), and the lockout per
(username, address) and per address (security-requirements.md B5)."""

import secrets
from datetime import timedelta

from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db.models import F
from django.test import Client

from groups.models import Action, Activity
from portal.settings import PASSWORD_HASHERS
from tests.conftest import PASSWORD

HERE, ELSEWHERE = "203.0.113.7", "198.51.100.9"


def sign_in(username, password, address=HERE):
    return Client(REMOTE_ADDR=address).post("/accounts/login/", {"username": username, "password": password})


def made_up_names(count):
    return [f"user-{secrets.token_hex(4)}" for _ in range(count)]


def test_an_old_pbkdf2_hash_signs_in_and_is_upgraded_to_argon2(cast, settings):
    settings.PASSWORD_HASHERS = PASSWORD_HASHERS  # the production list, not the suite's fast one
    user = get_user_model().objects.get(username="olivia")
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])

    assert sign_in("olivia", PASSWORD).status_code == 302

    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password(PASSWORD)
    assert sign_in("olivia", PASSWORD).status_code == 302


def test_made_up_usernames_from_one_address_lock_it_for_every_username(cast, settings):
    limit = settings.LOGIN_ADDRESS_FAILURE_LIMIT
    assert limit > settings.AXES_FAILURE_LIMIT
    names = made_up_names(limit)
    for name in names[:-1]:
        assert sign_in(name, "wrong password").status_code == 200
    # The failure that reaches the limit locks, and says so; then even the right password is refused.
    assert sign_in(names[-1], "wrong password").status_code == 429
    locked = sign_in("olivia", PASSWORD)
    assert locked.status_code == 429
    assert "Sign-in locked" in locked.content.decode()
    assert "30 minutes" in locked.content.decode()
    # The same user from another address signs in.
    assert sign_in("olivia", PASSWORD, address=ELSEWHERE).status_code == 302


def test_the_address_lock_answers_alike_for_known_and_unknown_usernames(cast, settings):
    for name in made_up_names(settings.LOGIN_ADDRESS_FAILURE_LIMIT):
        sign_in(name, "wrong password")

    known, unknown = sign_in("olivia", "wrong password"), sign_in("nobody-here", "wrong password")

    assert known.status_code == unknown.status_code == 429
    assert known.content == unknown.content


def test_the_username_and_address_pair_still_locks_at_its_own_limit(cast, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in("olivia", "wrong password").status_code == 200
    assert sign_in("olivia", "wrong password").status_code == 429
    assert sign_in("olivia", PASSWORD).status_code == 429
    # Only that pair: the address is far from its own limit, so another username signs in from it.
    assert sign_in("adam", PASSWORD).status_code == 302
    assert sign_in("olivia", PASSWORD, address=ELSEWHERE).status_code == 302


def test_signing_in_to_one_account_does_not_reset_the_address_count(cast, settings):
    names = made_up_names(settings.LOGIN_ADDRESS_FAILURE_LIMIT)
    for name in names[:-1]:
        sign_in(name, "wrong password")
    assert sign_in("olivia", PASSWORD).status_code == 302
    assert sign_in(names[-1], "wrong password").status_code == 429


def test_the_address_lock_ends_by_itself(cast, settings):
    for name in made_up_names(settings.LOGIN_ADDRESS_FAILURE_LIMIT):
        sign_in(name, "wrong password")
    assert sign_in("olivia", PASSWORD).status_code == 429

    cooled_off = F("attempt_time") - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    AccessAttempt.objects.update(attempt_time=cooled_off)

    assert sign_in("olivia", PASSWORD).status_code == 302


def test_an_address_lockout_is_recorded_without_naming_made_up_usernames(cast, settings):
    for name in made_up_names(settings.LOGIN_ADDRESS_FAILURE_LIMIT):
        sign_in(name, "wrong password")

    row = Activity.objects.get(action=Action.SIGN_IN_LOCKED)
    assert (row.target, row.source_address) == ("an unknown username", HERE)


def test_signing_out_leads_to_sign_in_saying_so(cast):
    client = Client()
    client.force_login(cast.owner)
    answer = client.post("/accounts/logout/", follow=True)
    assert answer.redirect_chain == [("/accounts/login/", 302)]
    assert "You are signed out." in answer.content.decode()
    assert client.get("/groups/").status_code == 302  # to Sign in: the session is gone
