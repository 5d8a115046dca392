"""Brute-force lockout of client authentication per (client ID, source address) (RFC 6749 2.3.1)."""

import base64
import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils import timezone

from credentials import secrets
from credentials.models import AccessToken, ClientLocked, Lockout, TokenFamily
from credentials.secrets import Kind
from groups.models import Action, Activity
from tests.conftest import backdate_activity, changes, make_oauth_client

FORM = "application/x-www-form-urlencoded"
HERE, ELSEWHERE, PROXY = "203.0.113.10", "198.51.100.20", "10.0.0.254"


def attempt(client_id, secret, address=HERE, forwarded_for=None):
    """One POST /v2/tokens with HTTP Basic from `address`."""
    headers = {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    body = urlencode({"grant_type": "client_credentials"})
    return Client().post("/v2/tokens", body, content_type=FORM, headers=headers, REMOTE_ADDR=address)


def attempt_v1(client_id, secret, address=HERE):
    body = json.dumps({"clientId": client_id, "clientSecret": secret})
    return Client().post("/v1/tokens", body, content_type="application/json", REMOTE_ADDR=address)


def wrong():
    return secrets.generate(Kind.CLIENT_SECRET)


def fail(client_id, times, **where):
    return [attempt(client_id, wrong(), **where).status_code for _ in range(times)]


@pytest.fixture
def oauth(group):
    client, secret = make_oauth_client(group)
    return client.client_id, secret


def assert_locked(response, settings):
    assert response.status_code == 429
    assert response["Retry-After"].isdigit()
    assert 0 < int(response["Retry-After"]) <= settings.LOCKOUT_SECONDS
    assert response["Cache-Control"] == "no-store"


def test_five_wrong_secrets_lock_the_sixth_attempt(settings, oauth):
    client_id, _ = oauth

    assert fail(client_id, 5) == [401] * 5

    assert_locked(attempt(client_id, wrong()), settings)


def test_locked_pair_refuses_even_the_correct_secret(settings, oauth):
    fail(oauth[0], 6)

    assert_locked(attempt(*oauth), settings)
    assert_locked(attempt_v1(*oauth), settings)
    # Nothing issued: on PostgreSQL the refusal and the INSERTs are one statement.
    assert not AccessToken.objects.exists() and not TokenFamily.objects.exists()


def test_correct_secret_from_another_address_is_unaffected(oauth):
    fail(oauth[0], 6)

    assert attempt(*oauth, address=ELSEWHERE).status_code == 200


def test_four_failures_do_not_lock(oauth):
    fail(oauth[0], 4)

    assert attempt(*oauth).status_code == 200


def test_unknown_client_id_is_answered_exactly_like_a_known_one(oauth):
    unknown_id = secrets.generate_client_id()

    known = [attempt(oauth[0], wrong()) for _ in range(6)]
    unknown = [attempt(unknown_id, wrong()) for _ in range(6)]

    assert [r.status_code for r in known] == [r.status_code for r in unknown] == [401] * 5 + [429]
    assert [r.content for r in known] == [r.content for r in unknown]
    assert [set(r.headers) for r in known] == [set(r.headers) for r in unknown]


def test_long_unknown_client_id_is_counted_like_any_other(oauth):
    client_id = "gpc_" + "x" * 300

    assert fail(client_id, 6) == [401] * 5 + [429]


def test_a_success_ends_the_run_of_consecutive_failures(oauth):
    fail(oauth[0], 4)
    assert attempt(*oauth).status_code == 200

    assert fail(oauth[0], 4) == [401] * 4
    assert attempt(*oauth).status_code == 200


def test_forwarded_for_sent_by_the_client_does_not_move_the_counter(settings, oauth):
    statuses = [attempt(oauth[0], wrong(), forwarded_for=f"192.0.2.{n}").status_code for n in range(5)]

    assert statuses == [401] * 5
    assert_locked(attempt(*oauth, forwarded_for="192.0.2.99"), settings)
    assert_locked(attempt(*oauth), settings)


def test_forwarded_for_from_a_trusted_proxy_names_the_client(settings, oauth):
    settings.TRUSTED_PROXIES = [PROXY]
    fail(oauth[0], 5, address=PROXY, forwarded_for=HERE)

    assert_locked(attempt(*oauth, address=PROXY, forwarded_for=HERE), settings)
    assert attempt(*oauth, address=PROXY, forwarded_for=ELSEWHERE).status_code == 200
    assert Lockout.objects.get(locked_until__isnull=False).address == HERE


def test_conventional_method_is_locked_too(settings, oauth):
    statuses = [attempt_v1(oauth[0], wrong()).status_code for _ in range(5)]

    assert statuses == [401] * 5
    assert_locked(attempt_v1(*oauth), settings)
    assert attempt_v1(*oauth, address=ELSEWHERE).status_code == 201


def test_failures_at_both_token_endpoints_share_one_count(settings, oauth):
    fail(oauth[0], 3)
    assert [attempt_v1(oauth[0], wrong()).status_code for _ in range(2)] == [401] * 2

    assert_locked(attempt(*oauth), settings)


def test_lock_of_a_known_client_is_recorded_in_activity(group, oauth):
    fail(oauth[0], 5)

    activity = Activity.objects.get(group=group, action="oauth_client.locked")
    assert (activity.target, activity.source_address, activity.occurrences) == ("Checkout", HERE, 1)
    assert activity.actor is None


def test_correct_secret_works_again_once_the_lock_has_run_out(oauth):
    fail(oauth[0], 6)

    Lockout.objects.update(locked_until=timezone.now() - timedelta(seconds=1))

    assert attempt(*oauth).status_code == 200


def test_a_failure_arriving_while_locked_leaves_the_lock_as_it_was(oauth):
    fail(oauth[0], 5)
    before = Lockout.objects.get()

    with pytest.raises(ClientLocked):
        Lockout.objects.count_failure(oauth[0], HERE, timezone.now())

    after = Lockout.objects.get()
    assert (after.failures, after.locked_until) == (before.failures, before.locked_until)


def test_a_success_that_finds_a_fresh_lock_is_refused_and_keeps_it(oauth):
    fail(oauth[0], 5)
    key = Lockout.key_for(oauth[0])

    with pytest.raises(ClientLocked):
        Lockout.objects.succeeded(key, HERE, timezone.now())

    assert Lockout.objects.get(client_key=key).locked_until > timezone.now()


def test_the_fifth_failure_gets_401_and_locks_at_once(settings, oauth):
    statuses = fail(oauth[0], 5)

    assert statuses == [401] * 5
    assert Lockout.objects.get().locked_until is not None


def test_one_locked_row_per_client_and_window_however_many_addresses(group, oauth):
    for address in (HERE, ELSEWHERE, "192.0.2.1"):
        fail(oauth[0], 5, address=address)

    (activity,) = Activity.objects.filter(action="oauth_client.locked")
    assert (activity.target, activity.source_address, activity.occurrences) == ("Checkout", HERE, 3)


def test_a_lock_in_a_new_window_is_a_new_row(group, oauth):
    fail(oauth[0], 5)
    backdate_activity(Activity.objects.all(), timezone.now() - timedelta(hours=1))

    fail(oauth[0], 5, address=ELSEWHERE)

    assert Activity.objects.filter(action="oauth_client.locked").count() == 2


def test_locks_of_unknown_client_ids_record_nothing_and_are_purged(oauth):
    fail(secrets.generate_client_id(), 5)
    assert not changes().filter(action=Action.CLIENT_LOCKED).exists()

    Lockout.objects.update(locked_until=timezone.now() - timedelta(seconds=1))
    assert list(Lockout.objects.expired(timezone.now())) == list(Lockout.objects.all())
