"""Needs attention (credentials.attention): the items at each threshold, their cost, and where
they show (the Group List, the Authentication Information tab)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from accounts.models import Preference
from credentials import attention
from credentials.models import ApiKey, ApiKeyCredential, ClientSecret, ClientUsage, OAuthClient
from groups.models import Group
from tests.conftest import client_for, make_api_key, make_group, make_oauth_client

NOW = timezone.now()


def kinds(group):
    return [(item.kind, item.credential) for item in attention.items_for([group], NOW).get(group.slug, [])]


def age(credential, days):
    """Make an API key credential look issued `days` ago and never used."""
    when = NOW - timedelta(days=days)
    ApiKeyCredential.objects.filter(pk=credential.pk).update(created_at=when)
    ApiKey.objects.filter(credential=credential).update(created_at=when)


def age_client(client, days):
    when = NOW - timedelta(days=days)
    OAuthClient.objects.filter(pk=client.pk).update(created_at=when)
    ClientSecret.objects.filter(client=client).update(created_at=when)


@pytest.mark.parametrize(("days", "listed"), [(13, True), (14, True), (15, False)])
def test_an_api_key_credential_expiring_within_14_days_is_listed(cast, days, listed):
    credential, _ = make_api_key(cast.group)
    ApiKeyCredential.objects.filter(pk=credential.pk).update(expires_at=NOW + timedelta(days=days))

    assert kinds(cast.group) == ([(attention.EXPIRING, "Billing app")] if listed else [])


def test_an_expired_credential_is_not_listed_as_expiring(cast):
    credential, _ = make_api_key(cast.group)
    ApiKeyCredential.objects.filter(pk=credential.pk).update(expires_at=NOW - timedelta(minutes=1))

    assert kinds(cast.group) == []


@pytest.mark.parametrize(("days", "listed"), [(13, True), (14, True), (15, False)])
def test_a_current_client_secret_expiring_within_14_days_is_listed(cast, days, listed):
    client, _ = make_oauth_client(cast.group)
    ClientSecret.objects.filter(client=client).update(expires_at=NOW + timedelta(days=days))

    assert kinds(cast.group) == ([(attention.EXPIRING, "Checkout")] if listed else [])


@pytest.mark.parametrize(("hours", "listed"), [(23, True), (24, True), (25, False)])
def test_a_grace_period_ending_within_24_hours_is_listed(cast, hours, listed):
    client, _ = make_oauth_client(cast.group)
    client.regenerate_secret(client.version, cast.owner, grace_seconds=hours * 3600)
    ClientSecret.objects.filter(client=client, expires_at__isnull=False).update(
        expires_at=NOW + timedelta(hours=hours)
    )

    assert kinds(cast.group) == ([(attention.GRACE_ENDING, "Checkout")] if listed else [])


@pytest.mark.parametrize(("days", "listed"), [(89, False), (90, True), (91, True)])
def test_an_api_key_credential_never_used_since_issued_90_days_ago_is_listed(cast, days, listed):
    credential, _ = make_api_key(cast.group)
    age(credential, days)

    assert kinds(cast.group) == ([(attention.UNUSED, "Billing app")] if listed else [])


@pytest.mark.parametrize(("days", "listed"), [(89, False), (90, True), (91, True)])
def test_an_api_key_credential_last_used_90_days_ago_is_listed(cast, days, listed):
    credential, _ = make_api_key(cast.group)
    age(credential, 200)
    ApiKey.objects.filter(credential=credential, slot="primary").update(
        last_used_at=NOW - timedelta(days=days)
    )

    assert kinds(cast.group) == ([(attention.UNUSED, "Billing app")] if listed else [])


def test_a_credential_is_used_when_either_of_its_keys_is(cast):
    credential, _ = make_api_key(cast.group)
    age(credential, 200)
    ApiKey.objects.filter(credential=credential, slot="secondary").update(
        last_used_at=NOW - timedelta(days=1)
    )

    assert kinds(cast.group) == []


@pytest.mark.parametrize(("days", "listed"), [(89, False), (90, True), (91, True)])
def test_an_oauth_client_that_issued_no_token_for_90_days_is_listed(cast, days, listed):
    client, _ = make_oauth_client(cast.group)
    age_client(client, 200)
    secret = client.secrets.get()
    used = NOW - timedelta(days=days)
    ClientUsage.objects.create(
        client=client, secret_id=secret.pk, hour=used, last_used_at=used, last_method="x"
    )

    assert kinds(cast.group) == ([(attention.UNUSED, "Checkout")] if listed else [])


def test_a_new_oauth_client_is_not_unused(cast):
    make_oauth_client(cast.group)

    assert kinds(cast.group) == []


def test_a_suspended_group_says_so(cast):
    cast.group.suspend(cast.owner)

    assert kinds(cast.group) == [(attention.SUSPENDED, None)]


def test_the_number_of_queries_does_not_depend_on_the_number_of_credentials(cast):
    other = make_group("Ledger")

    def count():
        with CaptureQueriesContext(connection) as queries:
            attention.items_for(Group.objects.all(), NOW)
        return len(queries)

    few = count()
    for n in range(6):
        for group in (cast.group, other):
            credential, _ = make_api_key(group, f"key {n}")
            ApiKeyCredential.objects.filter(pk=credential.pk).update(expires_at=NOW + timedelta(days=3))
            client, _ = make_oauth_client(group, f"client {n}")
            age_client(client, 100)

    assert len(attention.items_for(Group.objects.all(), NOW)["payments"]) == 12
    assert count() == few <= 3


def expiring_key(group):
    credential, _ = make_api_key(group)
    ApiKeyCredential.objects.filter(pk=credential.pk).update(expires_at=NOW + timedelta(days=3))
    return credential


def test_the_group_list_shows_the_items_by_group_with_links_to_the_cards(cast):
    credential = expiring_key(cast.group)

    page = client_for(cast.viewer).get("/groups/")

    assertContains(page, "Needs attention")
    assertContains(page, '<a href="/groups/payments/">Payments</a>', html=True)
    assertContains(page, f'href="/groups/payments/#cred-{credential.public_id}"')
    assertContains(page, "Billing app expires at")
    assertNotContains(page, "gpk_")


def test_the_group_list_has_no_section_when_nothing_needs_attention(cast):
    make_api_key(cast.group)

    assertNotContains(client_for(cast.owner).get("/groups/"), "Needs attention")


def test_the_group_list_shows_only_the_users_groups(cast):
    expiring_key(make_group("Ledger"))

    assertNotContains(client_for(cast.owner).get("/groups/"), "Needs attention")
    assertContains(client_for(cast.staff).get("/groups/"), "Needs attention")


def test_the_tab_shows_its_groups_items_at_the_top_and_the_card_anchor_exists(cast):
    credential = expiring_key(cast.group)

    page = client_for(cast.viewer).get("/groups/payments/")

    assertContains(page, "Needs attention")
    assertContains(page, f'href="/groups/payments/#cred-{credential.public_id}"')
    assertContains(page, f'id="cred-{credential.public_id}"')
    content = page.content.decode()
    assert content.index("Needs attention") < content.index("API Key Information")


def test_the_tab_leaves_the_suspension_to_its_banner(cast):
    cast.group.suspend(cast.owner)

    assertNotContains(client_for(cast.owner).get("/groups/payments/"), "Needs attention")


def test_items_are_in_japanese_with_japan_time(cast):
    credential = expiring_key(cast.group)
    Preference.objects.create(user=cast.viewer, language="ja")

    page = client_for(cast.viewer).get("/groups/")

    assertContains(page, "要対応")
    expires = timezone.localtime(
        ApiKeyCredential.objects.get(pk=credential.pk).expires_at, timezone.get_fixed_timezone(540)
    )
    assertContains(page, f"{expires:%Y-%m-%d %H:%M} JST")


@pytest.mark.parametrize(("days", "listed"), [(29, False), (31, True)])
def test_values_older_than_the_groups_maximum_age_are_listed(cast, days, listed):
    cast.group.set_policy(30, False, None)
    credential, _ = make_api_key(cast.group)
    client, _ = make_oauth_client(cast.group)
    age(credential, days)
    age_client(client, days)
    ClientUsage.objects.all().delete()

    found = [kind for kind in kinds(cast.group) if kind[0] == attention.PAST_MAX_AGE]
    expected = [(attention.PAST_MAX_AGE, "Billing app"), (attention.PAST_MAX_AGE, "Checkout")]
    assert sorted(found) == (expected if listed else [])


def test_a_secret_replaced_by_a_new_one_is_not_past_the_age(cast):
    cast.group.set_policy(30, True, None)
    client, _ = make_oauth_client(cast.group)
    age_client(client, 40)
    client.regenerate_secret(client.version, None, grace_seconds=3600)

    assert (attention.PAST_MAX_AGE, "Checkout") not in kinds(cast.group)


def test_without_a_maximum_age_the_policy_costs_no_query(cast, django_assert_max_num_queries):
    make_api_key(cast.group)
    groups = list(Group.objects.all())
    with django_assert_max_num_queries(2):  # the two of expiring and unused, nothing for the age
        attention.items_for(groups, NOW)
