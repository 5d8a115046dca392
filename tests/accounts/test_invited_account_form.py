"""The form an invitee fills in: Django's UserCreationForm, checked against the invited address."""

import pytest

from accounts.forms import InvitedAccountForm, suggested_username
from tests.conftest import PASSWORD


@pytest.mark.parametrize(
    ("email", "username"),
    [
        ("ines@example.com", "ines"),
        ("Ivo.Smith+ops@example.com", "Ivo.Smith+ops"),
        ("o'neil@example.com", "oneil"),
    ],
)
def test_the_username_is_suggested_from_the_address(email, username):
    assert suggested_username(email) == username


def test_the_password_may_not_resemble_the_invited_address(db):
    form = InvitedAccountForm(
        "margarethe.schulz@example.com",
        {"username": "mschulz", "password1": "margarethe.schulz", "password2": "margarethe.schulz"},
    )

    assert not form.is_valid()
    assert "The password is too similar to the email address." in form.errors["password2"]


def test_the_account_gets_the_invited_address(db):
    form = InvitedAccountForm(
        "ines@example.com", {"username": "ines", "password1": PASSWORD, "password2": PASSWORD}
    )

    user = form.save()

    assert (user.username, user.email, user.check_password(PASSWORD)) == ("ines", "ines@example.com", True)
