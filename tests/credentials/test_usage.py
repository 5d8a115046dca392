"""Usage of API key slots and client secrets: counted in memory where a credential is accepted,
added to the database by the flush, shown on the tab, and warned about before a regeneration."""

import base64
import json
import logging
from datetime import UTC, datetime, timedelta
from io import StringIO
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from credentials import sql, tab, usage
from credentials.models import (
    ClientSecret,
    ClientUsage,
    KeyUsage,
    OAuthClient,
    secret_rotation_warnings,
)
from credentials.verification import recently_verified
from groups.models import Action, Activity
from tests.conftest import client_for, make_api_key, make_oauth_client, versioned

FORM = "application/x-www-form-urlencoded"
HERE = "203.0.113.10"


@pytest.fixture
def key(cast):
    return make_api_key(cast.group, created_by=cast.owner)


@pytest.fixture
def oauth(cast):
    return make_oauth_client(cast.group, created_by=cast.owner)


def verify(value, times=1, path="/v1/verify"):
    for _ in range(times):
        assert Client().get(path, headers={"X-Api-Key": value}, REMOTE_ADDR=HERE).status_code in (200, 204)


def token_v2(client, secret, basic=True):
    if basic:
        authorization = "Basic " + base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
        body, headers = urlencode({"grant_type": "client_credentials"}), {"Authorization": authorization}
    else:
        body, headers = urlencode({"client_id": client.client_id, "client_secret": secret}), {}
    return Client().post("/v2/tokens", body, content_type=FORM, headers=headers, REMOTE_ADDR=HERE)


def token_v1(client, secret):
    body = json.dumps({"clientId": client.client_id, "clientSecret": secret})
    return Client().post("/v1/tokens", body, content_type="application/json", REMOTE_ADDR=HERE)


def key_counts(credential):
    """{slot: requests} from the usage table, over every hour."""
    counts = {}
    for slot, requests in KeyUsage.objects.filter(key__credential=credential).values_list(
        "key__slot", "requests"
    ):
        counts[slot] = counts.get(slot, 0) + requests
    return counts


def test_verifications_are_counted_by_slot_once_flushed(key):
    credential, values = key
    verify(values["primary"], 3)
    verify(values["secondary"], 2, path="/v1/whoami")

    assert not KeyUsage.objects.exists()  # nothing written by verification itself
    usage.counter.flush()

    assert key_counts(credential) == {"primary": 3, "secondary": 2}
    row = KeyUsage.objects.get(key__slot="secondary")
    assert (row.last_used_address, row.last_method) == (HERE, "whoami")
    assert row.hour == usage.hour_of(timezone.now())


def test_verifications_answered_from_memory_are_counted(key, settings, django_assert_num_queries):
    settings.VERIFY_CACHE_SECONDS = 60
    recently_verified.clear()
    credential, values = key
    verify(values["primary"])
    with django_assert_num_queries(0):
        verify(values["primary"], 4)
    recently_verified.clear()

    usage.counter.flush()

    assert key_counts(credential) == {"primary": 5}


def test_two_flushes_add_up(key):
    credential, values = key
    verify(values["primary"], 2)
    usage.counter.flush()
    verify(values["primary"], 3)
    usage.counter.flush()

    assert key_counts(credential) == {"primary": 5}
    assert KeyUsage.objects.count() == 1


def test_a_request_flushes_once_the_interval_has_passed(key, settings):
    settings.USAGE_FLUSH_SECONDS = 0
    credential, values = key

    verify(values["primary"], 2)

    assert key_counts(credential) == {"primary": 2}


def test_a_failed_flush_keeps_the_counts_and_fails_no_request(key, settings, caplog):
    credential, values = key
    verify(values["primary"], 2)
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {sql.KEY_USAGE} RENAME TO usage_away")
    settings.USAGE_FLUSH_SECONDS = 0

    with caplog.at_level(logging.WARNING, logger="credentials.usage"):
        verify(values["primary"])  # its flush fails; the request does not

    assert "Usage counts not written" in caplog.text
    assert values["primary"] not in caplog.text
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE usage_away RENAME TO {sql.KEY_USAGE}")
    usage.counter.flush()
    assert key_counts(credential) == {"primary": 3}


def test_counts_of_a_credential_deleted_before_the_flush_are_dropped(key):
    credential, values = key
    verify(values["primary"])
    credential.delete()

    usage.counter.flush()

    assert not KeyUsage.objects.exists()
    assert not usage.counter.pending


def test_counts_go_into_the_hour_they_happened_in(key):
    key_pk = key[0].key("primary").pk
    moment = [datetime(2026, 11, 29, 10, 59, 59, tzinfo=UTC).timestamp()]
    counter = usage.Counter(clock=lambda: moment[0])
    counter.count_key(key_pk, HERE, "verify")
    moment[0] += 1
    counter.count_key(key_pk, "198.51.100.7", "whoami")
    counter.count_key(key_pk, "198.51.100.7", "whoami")

    counter.flush()

    rows = KeyUsage.objects.order_by("hour").values_list("hour", "requests", "last_used_address")
    assert list(rows) == [
        (datetime(2026, 11, 29, 10, tzinfo=UTC), 1, HERE),
        (datetime(2026, 11, 29, 11, tzinfo=UTC), 2, "198.51.100.7"),
    ]


def test_the_purge_deletes_hours_older_than_seven_days(key, oauth):
    credential, values = key
    client, secret = oauth
    verify(values["primary"])
    token_v2(client, secret)
    usage.counter.flush()
    week_ago = usage.kept_since(timezone.now())
    KeyUsage.objects.create(
        key=credential.key("primary"), hour=week_ago - timedelta(hours=1), requests=9, last_used_at=week_ago
    )
    KeyUsage.objects.create(key=credential.key("secondary"), hour=week_ago, requests=4, last_used_at=week_ago)

    call_command("purge_expired_tokens", duty=1, stdout=StringIO())

    assert sorted(KeyUsage.objects.values_list("requests", flat=True)) == [1, 4]
    assert ClientUsage.objects.count() == 1


def test_token_requests_are_counted_by_secret_endpoint_and_client_authentication(oauth):
    client, secret = oauth
    assert token_v2(client, secret, basic=True).status_code == 200
    assert token_v2(client, secret, basic=False).status_code == 200
    assert token_v1(client, secret).status_code == 201
    assert token_v2(client, "gps_wrong").status_code == 401  # refused: not a use

    usage.counter.flush()

    row = ClientUsage.objects.get()
    assert (row.client, row.secret_id, row.requests) == (client, client.current_secret().pk, 3)
    assert (row.last_method, row.last_used_address) == ("/v1/tokens", HERE)


def test_the_last_method_names_the_client_authentication(oauth):
    client, secret = oauth
    token_v2(client, secret, basic=False)
    usage.counter.flush()

    assert ClientUsage.objects.get().last_method == "/v2/tokens client_secret_post"


def test_the_chart_has_a_bar_per_hour_with_requests_and_says_the_totals():
    first = datetime(2026, 11, 22, 12, tzinfo=UTC)
    series = [
        ("Primary key", "bar-primary", [(first, 3), (first + timedelta(hours=167), 1)]),
        ("Secondary key", "bar-secondary", [(first, 1), (first - timedelta(hours=1), 50)]),
    ]

    chart = tab._chart(first, series, "Requests")

    assert [(bar["css"], bar["x"]) for bar in chart["bars"]] == [
        ("bar-primary", "0.1"),
        ("bar-secondary", "0.1"),
        ("bar-primary", "167.1"),
    ]
    assert [bar["height"] for bar in chart["bars"]] == ["30.00", "10.00", "10.00"]
    assert chart["label"] == "Requests per hour, last 7 days: 55 in total (Primary key 4, Secondary key 51)"


def test_the_tab_shows_requests_per_slot_and_the_chart(cast, key):
    _, values = key
    verify(values["primary"], 3)
    verify(values["secondary"], 2)
    usage.counter.flush()

    response = client_for(cast.viewer).get("/groups/payments/")

    assertContains(response, '<span data-requests="primary">3</span> requests in 7 days', html=False)
    assertContains(response, '<span data-requests="secondary">2</span> requests in 7 days', html=False)
    assertContains(response, f"from {HERE} (verify)")
    assertContains(response, "Requests per hour, last 7 days: 5 in total (Primary key 3, Secondary key 2)")
    assert response.content.decode().count('class="bar-primary"') == 1


def test_the_tab_shows_tokens_issued_per_client(cast, oauth):
    client, secret = oauth
    token_v2(client, secret)
    token_v1(client, secret)
    usage.counter.flush()

    response = client_for(cast.viewer).get("/groups/payments/")

    assertContains(response, "<span data-tokens>2</span> tokens issued in 7 days", html=False)
    assertContains(response, "Last token issued")
    assertContains(response, f"from {HERE} (/v1/tokens)")


def test_the_warning_says_when_and_from_where_a_token_was_issued():
    now = timezone.now()

    warnings = secret_rotation_warnings(now - timedelta(minutes=3), "10.0.0.5", now)

    assert warnings == [
        "A token was issued with this secret 3\xa0minutes ago from 10.0.0.5: applications still using"
        " it will fail unless a grace period is chosen."
    ]


def test_no_warning_for_a_secret_unused_for_longer_than_a_token_lifetime(settings):
    now = timezone.now()
    settings.ACCESS_TOKEN_TTL, settings.RECENT_USE_WARNING = 3600, 600

    assert secret_rotation_warnings(now - timedelta(minutes=61), "10.0.0.5", now) == []
    assert secret_rotation_warnings(None, None, now) == []


def test_regenerate_warns_when_the_current_secret_is_in_use(cast, oauth):
    client, secret = oauth
    token_v2(client, secret)
    usage.counter.flush()
    path = f"/groups/payments/oauth-clients/{client.public_id}/secret/regenerate/"

    page = client_for(cast.admin).get(path)
    tab_page = client_for(cast.admin).get("/groups/payments/")

    assertContains(page, f"A token was issued with this secret less than a minute ago from {HERE}")
    assertContains(tab_page, '<template class="warnings"><li>A token was issued with this secret', html=False)


def test_regenerate_does_not_warn_about_an_unused_secret(cast, oauth):
    client, _ = oauth
    path = f"/groups/payments/oauth-clients/{client.public_id}/secret/regenerate/"

    assertNotContains(client_for(cast.admin).get(path), "A token was issued")


def regenerate_with_grace(cast, client):
    path = versioned(f"/groups/payments/oauth-clients/{client.public_id}/secret/regenerate/", client)
    response = client_for(cast.admin).post(
        path, urlencode({"grace_seconds": 3600}), content_type=FORM, follow=True
    )
    return response.context["messages"] and OAuthClient.objects.get(pk=client.pk)


def test_the_grace_row_says_whether_the_old_secret_is_still_used(cast, oauth):
    client, old = oauth
    regenerate_with_grace(cast, client)
    token_v2(client, old)
    token_v2(client, old)
    usage.counter.flush()

    response = client_for(cast.admin).get("/groups/payments/")

    assertContains(response, "still works until")
    assertContains(response, "2 tokens since the secret was regenerated.")
    assertContains(
        response, "Tokens issued per hour, last 7 days: 2 in total (Current secret 0, Previous secret 2)"
    )
    assert response.content.decode().count('class="bar-previous"') == 1
    assertContains(response, "End grace now</a>", html=False)


def test_end_grace_refuses_the_old_secret_at_both_token_endpoints(cast, oauth):
    client, old = oauth
    client = regenerate_with_grace(cast, client)
    assert token_v2(client, old).status_code == 200

    ended = client.end_grace(client.version, cast.admin)

    assert ended == 1
    assert token_v2(client, old).status_code == 401
    assert token_v1(client, old).status_code == 401
    assert ClientSecret.objects.filter(client=client).count() == 1
    activity = Activity.objects.get(action=Action.OAUTH_GRACE_ENDED)
    assert (activity.actor, activity.target) == (
        cast.admin,
        "Checkout (the previous secret is refused from now on)",
    )


def test_end_grace_page_asks_for_confirmation(cast, oauth):
    client, _ = oauth
    regenerate_with_grace(cast, client)

    response = client_for(cast.admin).get(
        f"/groups/payments/oauth-clients/{client.public_id}/secret/end-grace/"
    )

    assertContains(response, "End the grace period of Checkout")
    assert ClientSecret.objects.filter(client=client).count() == 2


def test_end_grace_view_ends_it_once(cast, oauth):
    client, old = oauth
    client = regenerate_with_grace(cast, client)
    path = versioned(f"/groups/payments/oauth-clients/{client.public_id}/secret/end-grace/", client)
    admin = client_for(cast.admin)

    response = admin.post(path, follow=True)
    again = admin.post(path, follow=True)

    assertContains(response, "Grace period of Checkout ended: the previous secret is refused.")
    assert again.status_code in (200, 409)
    assert token_v2(client, old).status_code == 401
    assert Activity.objects.filter(action=Action.OAUTH_GRACE_ENDED).count() == 1


def test_end_grace_is_refused_to_a_viewer_and_hidden_from_an_outsider(cast, oauth):
    client, _ = oauth
    regenerate_with_grace(cast, client)
    path = versioned(f"/groups/payments/oauth-clients/{client.public_id}/secret/end-grace/", client)

    assert client_for(cast.viewer).post(path).status_code == 403
    assert client_for(cast.outsider).post(path).status_code == 404
    assert ClientSecret.objects.filter(client=client).count() == 2


def test_counts_kept_after_failed_flushes_are_bounded_to_the_newest_hours(key, monkeypatch):
    monkeypatch.setattr(usage, "MAX_PENDING", 2)
    key_pk = key[0].key("primary").pk
    moment = [datetime(2026, 11, 29, 8, tzinfo=UTC).timestamp()]
    counter = usage.Counter(clock=lambda: moment[0])
    unwritten = {}
    for hour in range(3):
        unwritten[(usage.KEY, key_pk, None, int(moment[0] // 3600) + hour)] = [1, moment[0], HERE, "verify"]

    counter._keep(unwritten)

    assert sorted(bucket[3] for bucket in counter.pending) == [
        int(moment[0] // 3600) + 1,
        int(moment[0] // 3600) + 2,
    ]


def test_a_viewer_sees_the_grace_row_without_end_grace_now(cast, oauth):
    client, _ = oauth
    regenerate_with_grace(cast, client)

    response = client_for(cast.viewer).get("/groups/payments/")

    assertContains(response, "Not used since the secret was regenerated.")
    assertNotContains(response, "End grace now")


def test_the_purge_keeps_each_clients_last_hour(oauth, cast):
    client, _ = oauth
    idle, _ = OAuthClient.create_with_secret(cast.group, "Idle", None)
    week_ago = usage.kept_since(timezone.now())
    for owner, hours_before in ((client, 2), (client, 1), (idle, 30 * 24)):
        hour = week_ago - timedelta(hours=hours_before)
        ClientUsage.objects.create(
            client=owner, secret_id=0, hour=hour, requests=hours_before, last_used_at=hour
        )

    call_command("purge_expired_tokens", duty=1, stdout=StringIO())

    assert sorted(ClientUsage.objects.values_list("client__name", "requests")) == [
        ("Checkout", 1),
        ("Idle", 720),
    ]
