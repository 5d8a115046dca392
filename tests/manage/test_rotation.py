"""Rotation without the browser: a token made on the portal's page, then plain HTTP only."""

import re

from django.test import Client

from credentials.models import ApiKey
from groups.models import Action
from tests.conftest import client_for, key_identity

API = "/api/manage/v1"


def test_a_script_rotates_a_secondary_key_with_a_token_made_on_the_portal(cast):
    browser = client_for(cast.admin)
    form = {"name": "rotation job", "lifetime": "30", "access": "write"}
    page = browser.post("/accounts/tokens/new/", form, follow=True)
    (token,) = re.findall(r"gpu_[0-9A-Za-z]{49}", page.content.decode())
    script = Client(HTTP_AUTHORIZATION=f"Bearer {token}")  # no cookie: a fresh client

    created = script.post(
        f"{API}/groups/payments/api-keys/", {"name": "Billing"}, content_type="application/json"
    )
    assert created.status_code == 201
    credential = created.json()
    regenerated = script.post(
        f"{API}/groups/payments/api-keys/{credential['id']}/secondary/regenerate/",
        {"version": credential["version"]},
        content_type="application/json",
    )
    assert regenerated.status_code == 200
    activity = script.get(f"{API}/groups/payments/activity/", {"action": Action.API_KEY_REGENERATED})

    assert activity.status_code == 200
    (row,) = activity.json()["results"]
    assert row["actor"] == "adam" and row["target"] == "Billing secondary key"
    assert row["source_address"] == "127.0.0.1"
    new_value = regenerated.json()["value"]
    assert key_identity(new_value).credential == "Billing"
    assert key_identity(credential["values"]["secondary"]) is None  # the old one is dead
    assert key_identity(credential["values"]["primary"]).slot == "primary"  # untouched
    assert not ApiKey.objects.filter(digest__contains=new_value).exists()
