"""Rate limits per credential: the counter, and how /v1/whoami, /v1/verify, the DRF class and the
decorator answer a credential over its limit."""

from unittest import mock

import pytest
from django.http import JsonResponse

from credentials import ratelimit
from credentials.authentication import credential_required
from credentials.models import Slot
from groups.models import Action, Activity
from tests.conftest import issue_access_token, make_api_key, make_oauth_client
from tests.credentials.test_authentication import call_drf

WHOAMI, VERIFY = "/v1/whoami", "/v1/verify"


@pytest.fixture
def limited_key(cast):
    """An API key credential limited to 3 requests per minute: (credential, {slot: value})."""
    credential, values = make_api_key(cast.group)
    credential.set_rate_limit(3, credential.version, cast.owner)
    return credential, values


class Clock:
    def __init__(self, now=1_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


def test_counter_lets_the_limit_through_and_refuses_the_next(tmp_path):
    store = ratelimit.SqliteStore(tmp_path / "counts.sqlite3", clock=Clock())

    decisions = [store.hit("k1", 5) for _ in range(7)]

    assert [d.allowed for d in decisions] == [True] * 5 + [False] * 2
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0, 0, 0]
    assert decisions[-1].reset == 60


def test_counter_is_exact_across_a_minute_boundary(tmp_path):
    clock = Clock(1_000_059.5)  # half a second before a minute begins
    store = ratelimit.SqliteStore(tmp_path / "counts.sqlite3", clock=clock)
    assert sum(store.hit("k1", 10).allowed for _ in range(10)) == 10

    clock.now += 1  # a new minute: a fixed window would start from zero here
    assert not store.hit("k1", 10).allowed
    clock.now += 58  # 59.0 s after the burst: its second is still in the window
    refused = store.hit("k1", 10)
    assert not refused.allowed and refused.reset == 1
    clock.now += 1  # 60 s after: it left
    assert store.hit("k1", 10).allowed


def test_counter_keeps_credentials_apart(tmp_path):
    store = ratelimit.SqliteStore(tmp_path / "counts.sqlite3", clock=Clock())
    store.hit("k1", 1)

    assert not store.hit("k1", 1).allowed
    assert store.hit("c1", 1).allowed


def test_retry_after_is_when_enough_seconds_left_the_window():
    buckets = [(100, 2), (130, 1)]

    decision = ratelimit.decide(3, buckets, 140.2, allowed=False)

    assert (decision.allowed, decision.remaining, decision.reset) == (False, 0, 20)


def test_whoami_over_the_limit_is_429_with_retry_after_and_ratelimit_fields(client, limited_key):
    headers = {"X-Api-Key": limited_key[1][Slot.PRIMARY]}
    passed = [client.get(WHOAMI, headers=headers) for _ in range(3)]

    response = client.get(WHOAMI, headers=headers)

    assert [r.status_code for r in passed] == [200, 200, 200]
    assert passed[0]["RateLimit-Limit"] == "3" and passed[0]["RateLimit-Remaining"] == "2"
    assert passed[0]["RateLimit-Policy"] == "3;w=60"
    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert response.json()["error_description"].isascii()
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response["RateLimit-Remaining"] == "0"
    assert response["RateLimit-Reset"] == response["Retry-After"]
    assert response["Cache-Control"] == "no-store"


def test_both_slots_count_together(client, limited_key):
    values = limited_key[1]
    for slot in (Slot.PRIMARY, Slot.SECONDARY, Slot.PRIMARY):
        assert client.get(WHOAMI, headers={"X-Api-Key": values[slot]}).status_code == 200

    assert client.get(WHOAMI, headers={"X-Api-Key": values[Slot.SECONDARY]}).status_code == 429


def test_verify_over_the_limit_is_403_with_a_reason(client, limited_key):
    headers = {"X-Api-Key": limited_key[1][Slot.PRIMARY]}
    passed = [client.get(VERIFY, headers=headers) for _ in range(3)]

    response = client.get(VERIFY, headers=headers)

    assert [r.status_code for r in passed] == [204, 204, 204]
    assert passed[-1]["RateLimit-Remaining"] == "0"
    assert response.status_code == 403
    assert response["X-Auth-Refused"] == "rate-limited"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "X-Auth-Group" not in response


def test_access_tokens_of_a_client_count_together(client, cast):
    oauth_client, _ = make_oauth_client(cast.group)
    oauth_client.set_rate_limit(2, oauth_client.version, cast.owner)
    tokens = [issue_access_token(oauth_client)[1] for _ in range(3)]

    statuses = [client.get(WHOAMI, headers={"X-Access-Token": token}).status_code for token in tokens]

    assert statuses == [200, 200, 429]


def test_no_limit_means_no_fields_and_no_count(client, cast):
    _, values = make_api_key(cast.group)

    with mock.patch.object(ratelimit, "store") as store:
        response = client.get(WHOAMI, headers={"X-Api-Key": values[Slot.PRIMARY]})
        verified = client.get(VERIFY, headers={"X-Api-Key": values[Slot.PRIMARY]})

    assert response.status_code == 200 and verified.status_code == 204
    assert "RateLimit-Limit" not in response and "RateLimit-Limit" not in verified
    store.assert_not_called()


def test_answers_from_memory_are_counted(client, limited_key, settings):
    settings.VERIFY_CACHE_SECONDS = 60
    headers = {"X-Api-Key": limited_key[1][Slot.PRIMARY]}

    statuses = [client.get(VERIFY, headers=headers).status_code for _ in range(5)]

    assert statuses == [204, 204, 204, 403, 403]


def test_drf_class_over_the_limit_is_429(rf, limited_key):
    headers = {"X-Api-Key": limited_key[1][Slot.PRIMARY]}
    passed = [call_drf(rf, **headers)[0] for _ in range(3)]

    response, _ = call_drf(rf, **headers)

    assert [r.status_code for r in passed] == [200, 200, 200]
    assert passed[0]["RateLimit-Remaining"] == "2"
    assert response.status_code == 429
    assert response.data["error"] == "rate_limited"
    assert response["Retry-After"] == response["RateLimit-Reset"]


def test_decorator_over_the_limit_is_429(rf, limited_key):
    view = credential_required(lambda request: JsonResponse({}))
    request = lambda: rf.get("/report/", headers={"X-Api-Key": limited_key[1][Slot.PRIMARY]})  # noqa: E731
    passed = [view(request()) for _ in range(3)]

    response = view(request())

    assert passed[0]["RateLimit-Limit"] == "3"
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1


FAILING_STORES = {
    "sqlite": lambda: ratelimit.SqliteStore("/proc/no-such-place/counts.sqlite3"),
    "redis": lambda: ratelimit.RedisStore("redis://127.0.0.1:1/0", "nowhere"),  # refused at once
}


@pytest.mark.parametrize("kind", FAILING_STORES)
def test_store_failure_lets_requests_pass_and_warns_once(client, limited_key, caplog, kind):
    ratelimit._store, ratelimit.warnings.last = FAILING_STORES[kind](), None
    headers = {"X-Api-Key": limited_key[1][Slot.PRIMARY]}

    statuses = [client.get(WHOAMI, headers=headers).status_code for _ in range(5)]

    assert statuses == [200] * 5
    warned = [r.message for r in caplog.records if r.message.startswith("Rate limits are not applied")]
    assert len(warned) == 1


def test_changing_the_limit_is_recorded_and_versioned(cast, limited_key):
    credential, _ = limited_key

    credential.set_rate_limit(None, credential.version, cast.admin)

    credential.refresh_from_db()
    assert credential.rate_limit is None and credential.version == 3
    entry = Activity.objects.filter(action=Action.RATE_LIMIT_CHANGED).latest("id")
    assert entry.target == f"{credential.name} (no limit)"
    assert entry.actor == cast.admin
