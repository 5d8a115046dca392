"""A group's maximum credential age: marked on the tab when warned, refused at verification and
token issue when enforced, never served from memory past the age; past_max_age for reminders."""

import base64
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils import timezone

from credentials import policy
from credentials.models import AccessToken, ApiKey, ClientSecret, Lockout, Slot
from credentials.verification import recently_verified
from tests.conftest import client_for, key_identity, make_api_key, make_oauth_client

TAB = "/groups/payments/"


def age(credential_or_client, days, seconds=0):
    """Make every key or secret of it issued `days` days (and `seconds` seconds) ago."""
    when = timezone.now() - timedelta(days=days, seconds=seconds)
    if hasattr(credential_or_client, "keys"):
        ApiKey.objects.filter(credential=credential_or_client).update(created_at=when)
    else:
        ClientSecret.objects.filter(client=credential_or_client).update(created_at=when)


def token_v2(client, secret):
    basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    return Client().post(
        "/v2/tokens",
        urlencode({"grant_type": "client_credentials"}),
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": f"Basic {basic}"},
    )


def whoami(value):
    return Client().get("/v1/whoami", headers={"X-Api-Key": value})


def test_warned_keys_past_the_age_still_work(cast):
    credential, values = make_api_key(cast.group)
    cast.group.set_policy(30, False, cast.owner)
    age(credential, 31)

    assert whoami(values[Slot.PRIMARY]).status_code == 200


@pytest.mark.parametrize(("seconds", "status"), [(-5, 200), (5, 401)])
def test_enforced_keys_are_refused_from_the_age_on(cast, seconds, status):
    credential, values = make_api_key(cast.group)
    cast.group.set_policy(30, True, cast.owner)
    age(credential, 30, seconds)  # 5 s before or after reaching 30 days

    assert whoami(values[Slot.PRIMARY]).status_code == status


def test_the_identity_expires_when_the_key_passes_the_age(cast):
    credential, values = make_api_key(cast.group)
    cast.group.set_policy(30, True, cast.owner)
    age(credential, 29)

    expires_at = key_identity(values[Slot.PRIMARY]).expires_at

    assert abs(expires_at - (timezone.now() + timedelta(days=1))) < timedelta(seconds=5)


def test_the_memory_never_serves_a_key_past_the_age(cast, settings):
    settings.VERIFY_CACHE_SECONDS = 60
    recently_verified.clear()
    credential, values = make_api_key(cast.group)
    cast.group.set_policy(1, True, cast.owner)
    age(credential, 1, -0.3)  # passes the age in 0.3 s
    try:
        assert whoami(values[Slot.PRIMARY]).status_code == 200
        _, until = next(iter(recently_verified.entries.values()))
        assert until - recently_verified.clock() <= 0.3
    finally:
        recently_verified.clear()


def test_an_enforced_secret_past_the_age_is_refused_without_a_lockout_failure(cast):
    client, secret = make_oauth_client(cast.group)
    cast.group.set_policy(90, True, cast.owner)
    age(client, 91)

    response = token_v2(client, secret)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert not Lockout.objects.exists()
    assert not AccessToken.objects.exists()


def test_a_warned_secret_past_the_age_still_gets_tokens(cast):
    client, secret = make_oauth_client(cast.group)
    cast.group.set_policy(90, False, cast.owner)
    age(client, 91)

    assert token_v2(client, secret).status_code == 200


def test_a_regenerated_key_is_young_again(cast):
    credential, values = make_api_key(cast.group)
    cast.group.set_policy(30, True, cast.owner)
    age(credential, 31)

    new = credential.regenerate(Slot.PRIMARY, credential.version, cast.owner)

    assert whoami(new).status_code == 200
    assert whoami(values[Slot.SECONDARY]).status_code == 401


def test_past_max_age_lists_old_slots_and_secrets(cast):
    old_key, _ = make_api_key(cast.group, "Old")
    make_api_key(cast.group, "New")
    old_client, _ = make_oauth_client(cast.group, "Old client")
    make_oauth_client(cast.group, "New client")
    age(old_key, 40)
    age(old_client, 40)
    cast.group.set_policy(30, False, cast.owner)

    past = policy.past_max_age(cast.group, timezone.now())

    assert sorted((key.credential.name, key.slot) for key in past.keys) == [
        ("Old", "primary"),
        ("Old", "secondary"),
    ]
    assert [secret.client.name for secret in past.secrets] == ["Old client"]


def test_past_max_age_is_empty_without_a_policy(cast):
    credential, _ = make_api_key(cast.group)
    age(credential, 4000)

    assert not policy.past_max_age(cast.group, timezone.now())


def test_the_tab_marks_warned_values(cast):
    credential, _ = make_api_key(cast.group)
    client, _ = make_oauth_client(cast.group)
    age(credential, 40)
    age(client, 40)
    cast.group.set_policy(30, False, cast.owner)

    text = client_for(cast.viewer).get(TAB).content.decode()

    assert text.count("Older than the group's maximum age of 30 days: regenerate it.") == 3


def test_the_tab_says_since_when_enforced_values_are_refused(cast):
    credential, _ = make_api_key(cast.group)
    age(credential, 40)
    cast.group.set_policy(30, True, cast.owner)

    text = client_for(cast.viewer).get(TAB).content.decode()

    assert text.count("Refused since") == 2
    assert "older than the group's maximum age of 30 days. Regenerate it." in text
