"""Signing in: passwords hashed with Argon2, older PBKDF2 hashes upgraded."""

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.test import Client

from portal.settings import PASSWORD_HASHERS
from tests.conftest import PASSWORD

HERE = "203.0.113.7"


def sign_in(username, password, address=HERE):
    return Client(REMOTE_ADDR=address).post("/accounts/login/", {"username": username, "password": password})


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
