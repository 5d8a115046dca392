"""Optional expiry of API key credentials and client secrets: never by default; an expired value
is refused exactly as a wrong one."""

import base64
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from credentials.models import ApiKeyCredential, ClientSecret, Lockout, OAuthClient, Slot
from credentials.verification import recently_verified
from groups.models import Action, Activity
from tests.conftest import client_for, key_identity, make_api_key, make_oauth_client, versioned


def whoami(value):
    return Client().get("/v1/whoami", headers={"X-Api-Key": value})


def token_v2(client, secret):
    basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    return Client().post(
        "/v2/tokens",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": f"Basic {basic}"},
    )


def expire(credential, when):
    ApiKeyCredential.objects.filter(pk=credential.pk).update(expires_at=when)


def test_keys_never_expire_by_default(cast):
    credential, values = make_api_key(cast.group)

    assert credential.expires_at is None
    assert whoami(values[Slot.PRIMARY]).status_code == 200


def test_an_expired_key_gets_the_same_401_as_a_wrong_one(cast):
    credential, values = make_api_key(cast.group)
    expire(credential, timezone.now() - timedelta(seconds=1))

    response = whoami(values[Slot.SECONDARY])

    assert response.status_code == 401
    assert response.json() == whoami("gpk_wrong").json()


def test_expiry_at_the_boundary(cast, monkeypatch):
    credential, values = make_api_key(cast.group)
    moment = timezone.now() + timedelta(hours=1)
    expire(credential, moment)

    monkeypatch.setattr(timezone, "now", lambda: moment - timedelta(microseconds=1))
    assert key_identity(values[Slot.PRIMARY]) is not None
    monkeypatch.setattr(timezone, "now", lambda: moment)
    assert key_identity(values[Slot.PRIMARY]) is None


def test_the_identity_carries_the_expiry(cast):
    credential, values = make_api_key(cast.group)
    moment = timezone.now() + timedelta(days=3)
    expire(credential, moment)

    assert key_identity(values[Slot.PRIMARY]).expires_at == moment


def test_the_memory_never_serves_an_expired_key(cast, settings):
    settings.VERIFY_CACHE_SECONDS = 60
    recently_verified.clear()
    credential, values = make_api_key(cast.group)
    expire(credential, timezone.now() + timedelta(seconds=0.3))
    try:
        assert whoami(values[Slot.PRIMARY]).status_code == 200
        digest = next(iter(recently_verified.entries))
        _, until = recently_verified.entries[digest]
        assert until - recently_verified.clock() <= 0.3
    finally:
        recently_verified.clear()


def test_create_with_an_expiry(cast):
    browser = client_for(cast.owner)

    browser.post(
        reverse("credentials:create-api-key", args=[cast.group.slug]), {"name": "Batch", "expires": "30"}
    )

    credential = ApiKeyCredential.objects.get(name="Batch")
    assert timedelta(days=29, hours=23) < credential.expires_at - timezone.now() <= timedelta(days=30)


def test_create_with_a_past_date_is_refused(cast):
    response = client_for(cast.owner).post(
        reverse("credentials:create-api-key", args=[cast.group.slug]),
        {"name": "Batch", "expires": "date", "expires_on": "2000-01-01"},
    )

    assert response.status_code == 200
    assert b"Choose today or a later date." in response.content
    assert not ApiKeyCredential.objects.filter(name="Batch").exists()


def test_change_the_expiry_from_the_tab(cast):
    credential, _ = make_api_key(cast.group)
    url = reverse("credentials:api-key-expiry", args=[cast.group.slug, credential.public_id])

    response = client_for(cast.admin).post(
        versioned(url, credential), {"expires": "date", "expires_on": "2099-12-31", "version": 1}, follow=True
    )

    assert b"expire 2099-12-31" in response.content or b"expire 2100-01-01" in response.content
    credential.refresh_from_db()
    assert credential.expires_at is not None and credential.version == 2
    assert Activity.objects.filter(
        action=Action.API_KEY_EXPIRY_CHANGED, target__startswith="Billing app"
    ).exists()


def test_a_stale_expiry_form_changes_nothing(cast):
    credential, _ = make_api_key(cast.group)
    credential.set_expiry(None, credential.version, cast.owner)
    url = reverse("credentials:api-key-expiry", args=[cast.group.slug, credential.public_id])

    client_for(cast.admin).post(url, {"expires": "30", "version": 1})

    credential.refresh_from_db()
    assert credential.expires_at is None


def test_viewers_may_not_change_an_expiry_and_outsiders_get_404(cast):
    credential, _ = make_api_key(cast.group)
    url = reverse("credentials:api-key-expiry", args=[cast.group.slug, credential.public_id])

    assert client_for(cast.viewer).post(url, {"expires": "30", "version": 1}).status_code == 403
    assert client_for(cast.outsider).post(url, {"expires": "30", "version": 1}).status_code == 404


@pytest.mark.parametrize(
    ("days", "shown"), [(None, None), (100, b"Expires "), (5, b"expiring-soon"), (-1, b"Expired ")]
)
def test_the_tab_shows_the_expiry(cast, days, shown):
    credential, _ = make_api_key(cast.group)
    expire(credential, None if days is None else timezone.now() + timedelta(days=days))

    page = client_for(cast.viewer).get(reverse("credentials:auth-info", args=[cast.group.slug]))

    if shown is None:
        assert b'class="expiry' not in page.content
    else:
        assert shown in page.content


def test_an_expired_client_secret_is_invalid_client(cast):
    client, secret = make_oauth_client(cast.group)
    ClientSecret.objects.filter(client=client).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = token_v2(client, secret)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert Lockout.objects.exists()  # counted as a wrong secret is: the two are indistinguishable


def test_a_client_created_with_an_expiry(cast):
    client_for(cast.owner).post(
        reverse("credentials:create-oauth-client", args=[cast.group.slug]),
        {"name": "Nightly", "expires": "90"},
    )

    client = OAuthClient.objects.get(name="Nightly")
    assert client.current_secret().expires_at > timezone.now() + timedelta(days=89)


def test_regenerate_with_an_expiry_and_a_grace_period(cast):
    client, old = make_oauth_client(cast.group)
    ClientSecret.objects.filter(client=client).update(expires_at=timezone.now() + timedelta(minutes=30))
    url = reverse("credentials:regenerate-secret", args=[cast.group.slug, client.public_id])

    client_for(cast.owner).post(url, {"grace_seconds": 86400, "expires": "30", "version": 1})

    client = OAuthClient.objects.get(pk=client.pk)
    new, previous = list(client.secrets.all())
    assert new.expires_at > timezone.now() + timedelta(days=29)
    # The old secret ends at the earlier of its own expiry and the grace period's end.
    assert previous.expires_at < timezone.now() + timedelta(minutes=31)
    assert client.current_secret() == new and client.old_secrets() == [previous]
    assert token_v2(client, old).status_code == 200


def test_end_grace_keeps_a_current_secret_that_has_an_expiry(cast):
    client, _ = make_oauth_client(cast.group)
    client.regenerate_secret(
        client.version, cast.owner, grace_seconds=3600, expires_at=timezone.now() + timedelta(days=9)
    )

    client.end_grace(client.version, cast.owner)

    assert ClientSecret.objects.filter(client=client).count() == 1
    assert client.current_secret().expires_at is not None
