"""`manage.py rotate_encryption_key`: the copies behind Show move to a new key, nothing stops working."""

from io import StringIO

import pyotp
import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from credentials.models import ApiKey, ClientSecret, OAuthClient
from tests.conftest import SECRET_SHAPE, key_identity, make_api_key, make_group, make_oauth_client, make_user

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def rotate(*args):
    out = StringIO()
    call_command("rotate_encryption_key", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def stored(db, settings):
    settings.CREDENTIALS_ENCRYPTION_KEY = [OLD]
    group = make_group()
    credentials = [make_api_key(group, f"app {n}") for n in range(3)]
    clients = [make_oauth_client(group, f"client {n}") for n in range(2)]
    return credentials, clients


def test_rotation_moves_every_copy_to_the_new_key(stored, settings):
    credentials, clients = stored
    digests = sorted(ApiKey.objects.values_list("digest", flat=True))
    settings.CREDENTIALS_ENCRYPTION_KEY = [NEW, OLD]

    with pytest.raises(CommandError, match="8 stored copies are still under an older key"):
        rotate("--check")
    out = rotate("--batch-size", "2")
    assert "API keys: 6 re-encrypted, 0 unreadable" in out
    assert "client secrets: 2 re-encrypted, 0 unreadable" in out
    assert not SECRET_SHAPE.search(out)

    # With the old key gone, Show still gives every value, and every key still verifies.
    settings.CREDENTIALS_ENCRYPTION_KEY = [NEW]
    rotate("--check")
    for credential, values in credentials:
        for slot, value in values.items():
            assert credential.reveal(slot) == value
            assert key_identity(value) is not None
    for client, secret in clients:
        assert OAuthClient.objects.get(pk=client.pk).reveal_secret() == secret
    assert sorted(ApiKey.objects.values_list("digest", flat=True)) == digests


def test_a_second_run_changes_nothing(stored, settings):
    settings.CREDENTIALS_ENCRYPTION_KEY = [NEW, OLD]
    rotate()
    before = sorted(ClientSecret.objects.values_list("encrypted", flat=True))
    assert "API keys: 0 re-encrypted" in rotate()
    assert sorted(ClientSecret.objects.values_list("encrypted", flat=True)) == before


def test_a_copy_no_key_opens_is_reported_and_left_alone(stored, settings):
    settings.CREDENTIALS_ENCRYPTION_KEY = [NEW]
    with pytest.raises(CommandError, match="8 stored copies open with none of the configured keys"):
        rotate()
    settings.CREDENTIALS_ENCRYPTION_KEY = [OLD]
    credential, values = stored[0][0]
    assert credential.reveal("primary") == values["primary"]


def test_generate_key_prints_a_usable_key():
    key = rotate("--generate-key").strip()
    assert Fernet(key.encode()).decrypt(Fernet(key.encode()).encrypt(b"x")) == b"x"


def test_second_factors_move_to_the_new_key_and_keep_working(db, settings):
    settings.CREDENTIALS_ENCRYPTION_KEY = [OLD]
    user = make_user("olivia")
    secret = pyotp.random_base32()  # not another test's: allauth refuses a code used twice
    TOTP.activate(user, secret)
    codes = RecoveryCodes.activate(user).generate_codes()
    settings.CREDENTIALS_ENCRYPTION_KEY = [NEW, OLD]

    with pytest.raises(CommandError, match="2 stored copies are still under an older key"):
        rotate("--check")
    assert "second factors: 2 re-encrypted, 0 unreadable" in rotate()
    rotate("--check")  # nothing left

    settings.CREDENTIALS_ENCRYPTION_KEY = [NEW]  # the old key dropped: both still work
    app = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP).wrap()
    assert app.validate_code(pyotp.TOTP(secret).now())
    recovery = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES).wrap()
    assert recovery.validate_code(codes[0])
