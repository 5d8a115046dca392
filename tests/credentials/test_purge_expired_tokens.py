from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Submission
from credentials import secrets
from credentials.models import (
    AccessToken,
    AddressRefusal,
    ClientSecret,
    Lockout,
    RefreshToken,
    Reveal,
    TokenFamily,
)
from tests.conftest import (
    issue_access_token,
    make_api_key,
    make_group,
    make_oauth_client,
    make_user,
    token_identity,
)

pytestmark = pytest.mark.django_db


def purge():
    call_command("purge_expired_tokens", batch_size=2, duty=1, stdout=StringIO())


def past(**delta):
    return timezone.now() - timedelta(**delta)


def family_of(pair):
    return RefreshToken.objects.get(digest=secrets.digest(pair.refresh_token)).family_id


def test_expired_access_tokens_go_and_live_ones_stay():
    client, _ = make_oauth_client(make_group())
    expired = [issue_access_token(client)[0] for _ in range(5)]
    AccessToken.objects.filter(pk__in=[t.pk for t in expired]).update(expires_at=past(seconds=1))
    live, raw = issue_access_token(client)

    purge()

    assert list(AccessToken.objects.values_list("pk", flat=True)) == [live.pk]
    assert token_identity(raw).expires_at == live.expires_at


def test_refresh_token_still_rotates_after_its_access_token_was_purged():
    client, _ = make_oauth_client(make_group())
    pair = TokenFamily.objects.start(client.pk)
    access = AccessToken.objects.get(digest=secrets.digest(pair.access_token))
    AccessToken.objects.filter(pk=access.pk).update(expires_at=past(seconds=1))

    purge()

    assert not AccessToken.objects.filter(pk=access.pk).exists()
    assert RefreshToken.objects.rotate(pair.refresh_token, None).refresh_token.startswith("gpr_")


def test_expired_families_secrets_and_lockouts_go():
    client, _ = make_oauth_client(make_group())
    old_family = family_of(TokenFamily.objects.start(client.pk))
    TokenFamily.objects.filter(pk=old_family).update(expires_at=past(seconds=1))
    live_family = family_of(TokenFamily.objects.start(client.pk))
    client.regenerate_secret(client.version, None, grace_seconds=3600)
    ClientSecret.objects.filter(client=client, expires_at__isnull=False).update(expires_at=past(seconds=1))
    for address, locked_until in [("10.0.0.1", past(seconds=1)), ("10.0.0.2", past(seconds=-60))]:
        Lockout.objects.create(
            client_key=Lockout.key_for(client.client_id),
            address=address,
            last_failure_at=past(minutes=1),
            locked_until=locked_until,
        )
    Lockout.objects.create(
        client_key=Lockout.key_for(client.client_id), address="10.0.0.3", last_failure_at=past(days=1)
    )
    Lockout.objects.create(
        client_key=Lockout.key_for(client.client_id), address="10.0.0.4", last_failure_at=past(minutes=1)
    )

    purge()

    assert list(TokenFamily.objects.values_list("pk", flat=True)) == [live_family]
    assert not RefreshToken.objects.filter(family_id=old_family).exists()
    assert ClientSecret.objects.filter(client=client).count() == 1
    assert sorted(Lockout.objects.values_list("address", flat=True)) == ["10.0.0.2", "10.0.0.4"]


def test_reveals_and_submissions_go_once_stale(settings):
    group, user = make_group(), make_user("olivia")
    stale_reveal = Reveal.objects.seal(user, group, {("x", "primary"): "value"})
    Reveal.objects.filter(public_id=stale_reveal).update(created_at=past(seconds=settings.REVEAL_SECONDS + 1))
    fresh_reveal = Reveal.objects.seal(user, group, {("y", "primary"): "value"})
    Submission.objects.create(key="old", user=user, created_at=past(seconds=settings.SUBMISSION_MEMORY + 1))
    Submission.objects.create(key="new", user=user)

    purge()

    assert list(Reveal.objects.values_list("public_id", flat=True)) == [fresh_reveal]
    assert list(Submission.objects.values_list("key", flat=True)) == ["new"]


def test_address_refusals_older_than_the_kept_days_are_purged(cast):
    credential, _ = make_api_key(cast.group)
    now = timezone.now()
    for days in (1, 8):
        AddressRefusal.objects.create(
            api_key_credential=credential,
            hour=now - timedelta(days=days),
            refused=1,
            last_refused_at=now - timedelta(days=days),
        )

    call_command("purge_expired_tokens", duty=1, stdout=StringIO())

    assert AddressRefusal.objects.count() == 1
