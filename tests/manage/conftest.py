from datetime import timedelta

from django.test import Client
from django.utils import timezone

from automation.models import PersonalAccessToken

API = "/api/manage/v1"


def make_pat(user, read_only=False, days=30, name="script"):
    """A personal access token of `user`; returns its value."""
    expires_at = timezone.now() + timedelta(days=days)
    return PersonalAccessToken.objects.create_for(user, name, expires_at, read_only)[1]


def api_client(token=None):
    """A plain HTTP client (no session) sending `token` as a Bearer credential."""
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}") if token else Client()
