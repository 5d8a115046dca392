import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from tests.conftest import make_user

User = get_user_model()


def sign_in(username, password):
    """What the login form does: authenticate with a request (django-axes requires one)."""
    return authenticate(RequestFactory().post("/accounts/login/"), username=username, password=password)


def ensure_admin():
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    return out.getvalue()


@pytest.fixture
def no_admin_env(monkeypatch):
    monkeypatch.delenv("ADMIN_USERNAME", raising=False)
    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)


def test_creates_superuser_from_environment(db, no_admin_env, monkeypatch):
    monkeypatch.setenv("ADMIN_USERNAME", "root")
    monkeypatch.setenv("ADMIN_PASSWORD", "a long chosen passphrase 7")

    output = ensure_admin()

    assert "Created administrator 'root' with the password from ADMIN_PASSWORD." in output
    assert "a long chosen passphrase 7" not in output
    admin = User.objects.get()
    assert (admin.username, admin.is_superuser, admin.is_staff) == ("root", True, True)
    assert sign_in(username="root", password="a long chosen passphrase 7") == admin


def test_prints_a_generated_one_time_password_when_none_is_set(db, no_admin_env):
    output = ensure_admin()

    match = re.search(r"Created administrator 'admin' with one-time password: (\S+)", output)
    assert match, output
    assert len(match.group(1)) >= 20
    admin = sign_in(username="admin", password=match.group(1))
    assert admin is not None and admin.is_superuser


def test_generated_passwords_differ(db, no_admin_env):
    first = re.search(r"password: (\S+)", ensure_admin()).group(1)
    User.objects.all().delete()
    second = re.search(r"password: (\S+)", ensure_admin()).group(1)

    assert first != second


def test_uses_admin_username_with_a_generated_password(db, no_admin_env, monkeypatch):
    monkeypatch.setenv("ADMIN_USERNAME", "root")

    output = ensure_admin()

    password = re.search(r"Created administrator 'root' with one-time password: (\S+)", output).group(1)
    assert sign_in(username="root", password=password).is_superuser


def test_does_nothing_the_second_time(db, no_admin_env):
    first_password = re.search(r"password: (\S+)", ensure_admin()).group(1)

    output = ensure_admin()

    assert "Sign in as admin" in output
    assert "Created" not in output
    assert first_password not in output
    assert User.objects.count() == 1
    assert sign_in(username="admin", password=first_password) is not None


def test_does_nothing_when_a_superuser_already_exists(db, no_admin_env, monkeypatch):
    make_user("existing", is_superuser=True, is_staff=True)
    monkeypatch.setenv("ADMIN_PASSWORD", "a long chosen passphrase 7")

    output = ensure_admin()

    assert "Sign in as existing" in output
    assert list(User.objects.values_list("username", flat=True)) == ["existing"]


def test_staff_user_who_is_not_superuser_does_not_count(db, no_admin_env):
    make_user("stella", is_staff=True)

    ensure_admin()

    assert User.objects.filter(username="admin", is_superuser=True).exists()


def test_refuses_when_a_plain_user_holds_the_admin_name(db, no_admin_env):
    make_user("admin")

    with pytest.raises(CommandError, match="exists but is not a superuser"):
        ensure_admin()

    assert not get_user_model().objects.filter(is_superuser=True).exists()
