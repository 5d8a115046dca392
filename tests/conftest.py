"""The shared cast: a group with an owner, an admin, a viewer, an outsider, and a staff user."""

from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from credentials.models import ApiKeyCredential
from groups.models import Group, Membership, Role

PASSWORD = "correct horse battery staple 42"


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    # The manifest storage needs `collectstatic`; tests render templates without it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def make_user(username, **extra):
    return get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)


def make_group(name="Payments", slug=None, description=""):
    return Group.objects.create(
        name=name, slug=slug or name.lower().replace(" ", "-"), description=description
    )


def make_member(group, role=Role.VIEWER, username=None):
    user = make_user(username or f"{role}-{group.slug}")
    Membership.objects.create(user=user, group=group, role=role)
    return user


def make_api_key(group, name="Billing app", created_by=None):
    """An API key credential in `group`; returns it and its values {slot: raw}."""
    return ApiKeyCredential.create_with_keys(group, name, created_by)


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def cast(db):
    group = make_group("Payments", description="Card payments team")
    return SimpleNamespace(
        group=group,
        owner=make_member(group, Role.OWNER, "olivia"),
        admin=make_member(group, Role.ADMIN, "adam"),
        viewer=make_member(group, Role.VIEWER, "vera"),
        outsider=make_user("oscar"),
        staff=make_user("stella", is_staff=True),
    )
